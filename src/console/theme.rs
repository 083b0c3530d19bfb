//! Themes: TOML files naming a style per slot. The four in `themes/` are built in; `--theme`
//! also accepts a path to a file of the same shape. Only the 16 ANSI colour names are accepted,
//! so every theme reads the same on a 16-colour terminal. `NO_COLOR` selects monochrome.

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::textfile::{self, ReadError, tomlfile};

pub const BUILT_IN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("monochrome", include_str!("../../themes/monochrome.toml")),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub base: Style,
    pub border: Style,
    pub border_focus: Style,
    pub title: Style,
    pub header: Style,
    pub selected: Style,
    pub marked: Style,
    pub dim: Style,
    pub ok: Style,
    pub warn: Style,
    pub bad: Style,
    pub countdown_ok: Style,
    pub countdown_warn: Style,
    pub countdown_critical: Style,
    pub banner: Style,
    pub popup: Style,
    pub popup_border: Style,
    pub popup_title: Style,
    pub danger: Style,
    pub key: Style,
    pub hint: Style,
    pub status: Style,
    pub flash_info: Style,
    pub flash_error: Style,
    pub matched: Style,
    pub input: Style,
}

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("unknown theme {name:?}: built-in themes are {known}, or give a path to a .toml file")]
    Unknown { name: String, known: String },
    /// A theme file that cannot be read or is not a valid theme, at the place of the problem.
    #[error("{0}")]
    Invalid(#[from] ReadError),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    styles: BTreeMap<String, StyleSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    mods: Vec<String>,
}

const SLOTS: &[&str] = &[
    "base",
    "border",
    "border_focus",
    "title",
    "header",
    "selected",
    "marked",
    "dim",
    "ok",
    "warn",
    "bad",
    "countdown_ok",
    "countdown_warn",
    "countdown_critical",
    "banner",
    "popup",
    "popup_border",
    "popup_title",
    "danger",
    "key",
    "hint",
    "status",
    "flash_info",
    "flash_error",
    "match",
    "input",
];

impl Theme {
    /// The theme to use: monochrome when `NO_COLOR` is set, else `requested`, else dark.
    pub fn select(requested: Option<&str>, no_color: bool) -> Result<Theme, ThemeError> {
        if no_color {
            return Theme::built_in("monochrome");
        }
        match requested {
            None => Theme::built_in("dark"),
            Some(name) if BUILT_IN.iter().any(|(n, _)| *n == name) => Theme::built_in(name),
            Some(path) if path.ends_with(".toml") || Path::new(path).is_file() => {
                let text = textfile::read(Path::new(path))?;
                Theme::parse(Path::new(path), &text)
            }
            Some(name) => Err(ThemeError::Unknown {
                name: name.to_string(),
                known: BUILT_IN
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    pub fn built_in(name: &str) -> Result<Theme, ThemeError> {
        let (_, text) =
            BUILT_IN
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| ThemeError::Unknown {
                    name: name.to_string(),
                    known: String::new(),
                })?;
        Theme::parse(&Path::new("themes").join(format!("{name}.toml")), text)
    }

    /// `NO_COLOR` set to anything but the empty string, per no-color.org.
    pub fn no_color_env() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }

    /// A theme file's text; `path` names it in errors, which are placed where the problem is.
    pub fn parse(path: &Path, text: &str) -> Result<Theme, ThemeError> {
        textfile::on_reader_stack(path, || Theme::parse_here(path, text))?
    }

    fn parse_here(path: &Path, text: &str) -> Result<Theme, ThemeError> {
        let file: ThemeFile = tomlfile::parse(path, text)?;
        let files = [(path.to_path_buf(), text.to_string())];
        let invalid = |keys: &[&str], message: String| {
            ThemeError::Invalid(tomlfile::error_at_key(&files, keys, &message))
        };
        if let Some(unknown) = file.styles.keys().find(|k| !SLOTS.contains(&k.as_str())) {
            return Err(invalid(
                &["styles", unknown],
                format!(
                    "unknown style slot {unknown:?}; slots: {}",
                    SLOTS.join(", ")
                ),
            ));
        }
        let style = |slot: &str| -> Result<Style, ThemeError> {
            let spec = file
                .styles
                .get(slot)
                .ok_or_else(|| invalid(&["styles"], format!("missing style slot {slot:?}")))?;
            to_style(spec)
                .map_err(|(field, m)| invalid(&["styles", slot, field], format!("{slot}: {m}")))
        };
        Ok(Theme {
            name: file.name.clone(),
            base: style("base")?,
            border: style("border")?,
            border_focus: style("border_focus")?,
            title: style("title")?,
            header: style("header")?,
            selected: style("selected")?,
            marked: style("marked")?,
            dim: style("dim")?,
            ok: style("ok")?,
            warn: style("warn")?,
            bad: style("bad")?,
            countdown_ok: style("countdown_ok")?,
            countdown_warn: style("countdown_warn")?,
            countdown_critical: style("countdown_critical")?,
            banner: style("banner")?,
            popup: style("popup")?,
            popup_border: style("popup_border")?,
            popup_title: style("popup_title")?,
            danger: style("danger")?,
            key: style("key")?,
            hint: style("hint")?,
            status: style("status")?,
            flash_info: style("flash_info")?,
            flash_error: style("flash_error")?,
            matched: style("match")?,
            input: style("input")?,
        })
    }
}

/// The style, or the field that is wrong and why.
fn to_style(spec: &StyleSpec) -> Result<Style, (&'static str, String)> {
    let mut style = Style::default();
    if let Some(fg) = &spec.fg {
        style = style.fg(color(fg).map_err(|m| ("fg", m))?);
    }
    if let Some(bg) = &spec.bg {
        style = style.bg(color(bg).map_err(|m| ("bg", m))?);
    }
    for m in &spec.mods {
        style = style.add_modifier(match m.as_str() {
            "bold" => Modifier::BOLD,
            "dim" => Modifier::DIM,
            "italic" => Modifier::ITALIC,
            "underlined" => Modifier::UNDERLINED,
            "reversed" => Modifier::REVERSED,
            other => return Err(("mods", format!("unknown modifier {other:?}"))),
        });
    }
    Ok(style)
}

/// The 16 ANSI colours and `reset`; nothing that needs 256 colours or true colour.
fn color(name: &str) -> Result<Color, String> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "reset" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" => Color::Gray,
        "darkgray" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        other => {
            return Err(format!(
                "colour {other:?} is not one of the 16 ANSI names (black, red, …, lightcyan, white) or reset"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_parses_with_every_slot() {
        for (name, _) in BUILT_IN {
            let t = Theme::built_in(name).unwrap();
            assert_eq!(t.name, *name);
        }
    }

    #[test]
    fn no_color_wins_and_monochrome_has_no_colour() {
        let t = Theme::select(Some("light"), true).unwrap();
        assert_eq!(t.name, "monochrome");
        for (_, text) in BUILT_IN.iter().filter(|(n, _)| *n == "monochrome") {
            assert!(!text.contains("fg =") && !text.contains("bg ="));
        }
    }

    #[test]
    fn bad_themes_are_explained() {
        let err = Theme::select(Some("neon"), false).unwrap_err().to_string();
        assert!(
            err.contains("dark, light, high-contrast, monochrome"),
            "{err}"
        );
        let parse = |text: &str| {
            Theme::parse(Path::new("t.toml"), text)
                .unwrap_err()
                .to_string()
        };
        let err = parse("name = \"t\"\n[styles]\nbase = { fg = \"#ff0000\" }");
        assert!(err.starts_with("t.toml:3:10: base: "), "{err}");
        assert!(err.contains("16 ANSI"), "{err}");
        let err = parse("name = \"t\"\n[styles]\nbase = { mods = [\"blink\"] }");
        assert_eq!(err, "t.toml:3:10: base: unknown modifier \"blink\"");
        let err = parse("name = \"t\"\n[styles]\nbsae = {}");
        assert!(
            err.starts_with("t.toml:3:1: unknown style slot \"bsae\""),
            "{err}"
        );
        let err = parse("name = \"t\"\n[styles]\nbase = {}");
        assert_eq!(err, "t.toml:2:2: missing style slot \"border\"");
        let err = parse("name = \"t\"\nstyle = 1");
        assert!(
            err.starts_with("t.toml:2:1: unknown field `style`"),
            "{err}"
        );
    }
}
