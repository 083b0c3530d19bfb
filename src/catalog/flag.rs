//! The flag definition: template syntax and where the flag is injected.
//!
//! The parsers here are public so the engine renders and injects exactly what was validated.

use std::path::{Component, Path, PathBuf};

use super::findings::Findings;
use super::model::Challenge;
use super::validate::is_valid_env_name;

/// Longest `<hex:N>` placeholder.
pub const MAX_HEX_DIGITS: usize = 64;

/// A piece of a flag template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart<'a> {
    Literal(&'a str),
    /// `<hex:N>`: N hex digits derived from the instance.
    Hex(usize),
}

/// Split a template such as `flag{<hex:16>}` into parts. Every `<…>` must be `<hex:N>` with
/// 1 ≤ N ≤ 64, and at least one must be present; otherwise all problems are returned.
pub fn parse_flag_template(template: &str) -> Result<Vec<TemplatePart<'_>>, Vec<String>> {
    let mut parts = Vec::new();
    let mut problems = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>').map(|c| open + c) else {
            break;
        };
        if open > 0 {
            parts.push(TemplatePart::Literal(&rest[..open]));
        }
        let inner = &rest[open + 1..close];
        match inner
            .strip_prefix("hex:")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) if (1..=MAX_HEX_DIGITS).contains(&n) => parts.push(TemplatePart::Hex(n)),
            Some(n) => problems.push(format!(
                "flag.template placeholder \"<{inner}>\" asks for {n} hex digits; use 1 to {MAX_HEX_DIGITS}"
            )),
            None => problems.push(format!(
                "flag.template placeholder \"<{inner}>\" is not supported (only <hex:N> is)"
            )),
        }
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(TemplatePart::Literal(rest));
    }
    if problems.is_empty() && !parts.iter().any(|p| matches!(p, TemplatePart::Hex(_))) {
        problems.push(format!(
            "flag.template {template:?} has no <hex:N> placeholder, so every instance would get the same flag (use \"static\" for that)"
        ));
    }
    if problems.is_empty() {
        Ok(parts)
    } else {
        Err(problems)
    }
}

/// Where the flag goes inside the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagInjection {
    /// An environment variable.
    Env(String),
    /// A file (absolute path inside the container).
    File(PathBuf),
}

/// Parse `env:NAME` or `file:/abs/path`.
pub fn parse_flag_inject(inject: &str) -> Result<FlagInjection, String> {
    if let Some(name) = inject.strip_prefix("env:") {
        if is_valid_env_name(name) {
            return Ok(FlagInjection::Env(name.to_string()));
        }
        return Err(format!(
            "flag.inject {inject:?}: {name:?} is not a valid environment variable name"
        ));
    }
    if let Some(path) = inject.strip_prefix("file:") {
        let p = Path::new(path);
        let clean = p
            .components()
            .skip(1)
            .all(|c| matches!(c, Component::Normal(_)));
        // The path travels into the instance and is written by a shell there: plain names
        // only, so no quote, space or newline can turn it into a command.
        let plain = path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-'));
        if p.has_root() && clean && plain && p.file_name().is_some() {
            return Ok(FlagInjection::File(p.to_path_buf()));
        }
        return Err(format!(
            "flag.inject {inject:?}: the file path must be absolute, without \"..\", made of letters, digits and . _ - / (e.g. \"file:/tmp/flag.txt\")"
        ));
    }
    Err(format!(
        "flag.inject {inject:?} must be \"env:NAME\" or \"file:/absolute/path\""
    ))
}

pub(super) fn check(ch: &Challenge, out: &mut Findings<'_>) {
    let flag = &ch.flag;
    match (&flag.template, &flag.static_value) {
        (Some(_), Some(_)) => out.error_at_key(
            "/flag/static",
            "flag sets both \"template\" and \"static\"; keep exactly one",
        ),
        (None, None) => out.error(
            "/flag",
            "flag needs exactly one of \"template\" (e.g. \"flag{<hex:16>}\") or \"static\"",
        ),
        (Some(template), None) => {
            if let Err(problems) = parse_flag_template(template) {
                for problem in problems {
                    out.error("/flag/template", problem);
                }
            }
        }
        (None, Some(value)) => {
            if value.trim().is_empty() {
                out.error("/flag/static", "flag.static must not be empty");
            }
        }
    }
    match parse_flag_inject(&flag.inject) {
        Err(problem) => out.error("/flag/inject", problem),
        Ok(FlagInjection::File(path)) => {
            let tmpfs = &ch.container.security.tmpfs;
            let inside = tmpfs
                .keys()
                .any(|mount| path.starts_with(mount) && path != Path::new(mount));
            if !inside {
                let mounts = if tmpfs.is_empty() {
                    "there are none".to_string()
                } else {
                    tmpfs.keys().cloned().collect::<Vec<_>>().join(", ")
                };
                out.error(
                    "/flag/inject",
                    format!(
                        "flag.inject {:?}: the root filesystem is read-only, so the flag file must be inside a tmpfs mount ({mounts})",
                        flag.inject
                    ),
                );
            }
        }
        Ok(FlagInjection::Env(_)) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Case;
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_split_into_literals_and_hex() {
        assert_eq!(
            parse_flag_template("flag{<hex:16>_<hex:4>}"),
            Ok(vec![
                TemplatePart::Literal("flag{"),
                TemplatePart::Hex(16),
                TemplatePart::Literal("_"),
                TemplatePart::Hex(4),
                TemplatePart::Literal("}"),
            ])
        );
        assert_eq!(
            parse_flag_template("<hex:64>"),
            Ok(vec![TemplatePart::Hex(64)])
        );
        // everything from a `<` to the next `>` is a placeholder; a `<` with no `>` is literal
        assert!(parse_flag_template("a<b").is_err_and(|p| p[0].contains("no <hex:N>")));
        assert_eq!(
            parse_flag_template("a<b <hex:1>"),
            Err(vec![
                "flag.template placeholder \"<b <hex:1>\" is not supported (only <hex:N> is)"
                    .to_string()
            ])
        );
    }

    #[test]
    fn bad_templates_report_every_problem() {
        let Err(problems) = parse_flag_template("flag{<hex:0><hex:65><rand:8><hex:>}") else {
            panic!("expected problems");
        };
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].contains("asks for 0 hex digits"));
        assert!(problems[1].contains("asks for 65 hex digits"));
        assert!(problems[2].contains("\"<rand:8>\" is not supported"));

        let Err(problems) = parse_flag_template("flag{static}") else {
            panic!("expected problems");
        };
        assert!(problems[0].contains("has no <hex:N> placeholder"));
    }

    #[test]
    fn inject_targets_parse() {
        assert_eq!(
            parse_flag_inject("env:FLAG"),
            Ok(FlagInjection::Env("FLAG".into()))
        );
        assert_eq!(
            parse_flag_inject("file:/tmp/flag.txt"),
            Ok(FlagInjection::File("/tmp/flag.txt".into()))
        );
        assert!(parse_flag_inject("env:9LIVES").is_err());
        assert!(parse_flag_inject("file:tmp/flag").is_err());
        assert!(parse_flag_inject("file:/tmp/../etc/flag").is_err());
        for injected in [
            "file:/tmp/x';touch /tmp/pwned;'",
            "file:/tmp/a b",
            "file:/tmp/a\nb",
            "file:/tmp/$(id)",
            "file:/tmp/\"x\"",
            "file:/tmp/x`id`",
        ] {
            assert!(
                parse_flag_inject(injected).is_err_and(|e| e.contains("letters, digits")),
                "{injected}"
            );
        }
        assert_eq!(
            parse_flag_inject("file:/tmp/flags/flag-1_a.txt"),
            Ok(FlagInjection::File("/tmp/flags/flag-1_a.txt".into()))
        );
        assert!(parse_flag_inject("stdin").is_err());
    }

    #[test]
    fn exactly_one_of_template_and_static() {
        let both =
            Case::with(|v| v["flag"] = json!({"template": "flag{<hex:8>}", "static": "flag{x}"}));
        both.expect_error_at_key("/flag/static", "sets both \"template\" and \"static\"");
        let neither = Case::with(|v| v["flag"] = json!({"inject": "env:FLAG"}));
        neither.expect_error("/flag", "flag needs exactly one of");
        let empty = Case::with(|v| v["flag"] = json!({"static": ""}));
        empty.expect_error("/flag/static", "flag.static must not be empty");
        let fine = Case::with(|v| v["flag"] = json!({"static": "flag{same_for_all}"}));
        assert_eq!(fine.errors(), 0);
    }

    #[test]
    fn template_problems_point_at_the_template() {
        let case = Case::with(|v| v["flag"]["template"] = json!("flag{<uuid>}"));
        case.expect_error("/flag/template", "\"<uuid>\" is not supported");
    }

    #[test]
    fn file_injection_must_land_in_a_tmpfs() {
        let outside = Case::with(|v| v["flag"]["inject"] = json!("file:/flag.txt"));
        outside.expect_error("/flag/inject", "must be inside a tmpfs mount (/tmp)");
        let mount_itself = Case::with(|v| v["flag"]["inject"] = json!("file:/tmp"));
        mount_itself.expect_error("/flag/inject", "must be inside a tmpfs mount");
        let sibling = Case::with(|v| v["flag"]["inject"] = json!("file:/tmpx/flag"));
        sibling.expect_error("/flag/inject", "must be inside a tmpfs mount");
        let inside = Case::with(|v| v["flag"]["inject"] = json!("file:/tmp/flag.txt"));
        assert_eq!(inside.errors(), 0);
        let quoted = Case::with(|v| v["flag"]["inject"] = json!("file:/tmp/f';id;'"));
        quoted.expect_error("/flag/inject", "made of letters, digits");
        let bad_env = Case::with(|v| v["flag"]["inject"] = json!("env:my-flag"));
        bad_env.expect_error("/flag/inject", "not a valid environment variable name");
    }
}
