//! A ctfcli challenge, turned into the native model. What ctfcli has no field for comes from
//! the `x-ctfdeck` block, the Dockerfile, or a default — and every default taken is said as a
//! warning, so `catalog check` shows what the challenge will really run with.

use std::collections::BTreeMap;
use std::path::Path;

use crate::catalog::findings::Findings;
use crate::catalog::locate::Position;
use crate::catalog::model::{
    Challenge, ContainerSpec, FlagSpec, LifetimeSpec, PortSpec, Protocol, SCHEMA_VERSION, SmokeSpec,
};

use super::dockerfile::{self, Declared};
use super::fields::{self, error, warning};
use super::tree::{Node, Value};
use super::xblock::{KEY, XCtfdeck};

/// Port assumed for an HTTP challenge that declares none: unprivileged, as instances run
/// without capabilities.
const DEFAULT_HTTP_PORT: u32 = 8080;
/// Port assumed for any other challenge that declares none.
const DEFAULT_TCP_PORT: u32 = 1337;

/// Where the image comes from.
enum ImageSource {
    /// `image: .` or a relative folder: build it.
    Build(String),
    /// A registry reference: use it as is (pulled when missing).
    Registry(String),
}

/// The native challenge, or `None` when the file describes no container to run (a warning
/// says so) or a field could not be read (an error says which).
pub fn convert(
    folder: &Path,
    source: &Path,
    root: &Node,
    x: XCtfdeck,
    out: &mut Findings<'_>,
) -> Option<Challenge> {
    let errors_before = error_count(out);
    let name = fields::text(root, "name", out).unwrap_or_default();
    let id = x.id.clone().unwrap_or_else(|| slug(&folder_name(folder)));
    let image = image_source(root, folder, out)?;
    let image_at = root.get("image").map_or(root.at, |n| n.at);
    let declared = match &image {
        ImageSource::Build(context) => {
            std::fs::read_to_string(folder.join(context).join("Dockerfile"))
                .map(|text| dockerfile::declared(&text))
                .unwrap_or_default()
        }
        ImageSource::Registry(_) => Declared::default(),
    };
    let protocol = protocol(root, out);
    let named = named_port(root);
    let ports = ports(&x, &declared, &image, protocol, named, image_at, out);
    let user = user(&x, &declared, &image, image_at, out);
    let flag = flag(root, &x, out);
    let lifetime = lifetime(root, &x, out);
    let smoke = smoke(root, &x, out);

    let (image, build) = match image {
        ImageSource::Build(context) => (
            x.image
                .clone()
                .unwrap_or_else(|| format!("ctfdeck/{id}:latest")),
            Some(context),
        ),
        ImageSource::Registry(reference) => (reference, None),
    };
    let challenge = Challenge {
        json_schema: None,
        schema_version: SCHEMA_VERSION,
        id,
        name,
        category: fields::text(root, "category", out).unwrap_or_default(),
        difficulty: x.difficulty.unwrap_or_default(),
        points: fields::points(root, out),
        tags: fields::string_list(root, "tags", out),
        author: fields::author(root, out),
        description: fields::text(root, "description", out).unwrap_or_default(),
        hints: fields::hints(root, out),
        learning_objectives: x.learning_objectives,
        estimated_minutes: x.estimated_minutes,
        container: ContainerSpec {
            image,
            build,
            build_network: x.build_network,
            ports,
            env: x.env,
            command: x.command,
            user,
            resources: x.resources,
            security: x.security,
            healthcheck: x.healthcheck,
        },
        flag,
        lifetime,
        smoke,
        dir: folder.to_path_buf(),
        source: source.to_path_buf(),
        imported_fields: kept_fields(root),
    };
    // A field that could not be read leaves the challenge incomplete; the shared checks run
    // once the file converts, so the author is not shown consequences of the same mistake.
    (error_count(out) == errors_before).then_some(challenge)
}

fn error_count(out: &Findings<'_>) -> usize {
    out.diagnostics.iter().filter(|d| d.is_error()).count()
}

/// Everything but our own block, as written: ctfcli's fields ctfdeck does not use (files,
/// requirements, state, all flags…) and whatever else the author put there.
fn kept_fields(root: &Node) -> BTreeMap<String, serde_json::Value> {
    root.entries()
        .unwrap_or_default()
        .iter()
        .filter(|e| e.key != KEY)
        .map(|e| (e.key.clone(), e.value.to_json()))
        .collect()
}

fn folder_name(folder: &Path) -> String {
    folder
        .file_name()
        .map(|n| n.to_os_string())
        .or_else(|| {
            folder
                .canonicalize()
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_os_string()))
        })
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A folder name as an id: lowercase ASCII letters and digits, other runs of characters
/// become one dash (`Web_Login 2` → `web-login-2`).
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn image_source(root: &Node, folder: &Path, out: &mut Findings<'_>) -> Option<ImageSource> {
    let Some(node) = root.get("image").filter(|n| !n.is_null()) else {
        warning(
            out,
            root.at,
            "no `image`: not a container challenge, so ctfdeck skips it (`image: .` builds this folder)",
        );
        return None;
    };
    let Some(text) = node.text().map(|t| t.trim().to_string()) else {
        error(
            out,
            node.at,
            format!(
                "`image` should be \".\" (build this folder), a folder inside it, or an image reference, not {}",
                node.kind()
            ),
        );
        return None;
    };
    let is_path = text == "."
        || text.starts_with("./")
        || text.starts_with("../")
        || text.starts_with('/')
        || folder.join(&text).is_dir();
    Some(if is_path {
        ImageSource::Build(text)
    } else {
        ImageSource::Registry(text)
    })
}

/// From `protocol`, else guessed from `connection_info`; TCP when neither says.
fn protocol(root: &Node, out: &mut Findings<'_>) -> Protocol {
    if let Some(node) = root.get("protocol").filter(|n| !n.is_null()) {
        let text = node.text().unwrap_or_default().trim().to_ascii_lowercase();
        return match text.as_str() {
            "http" => Protocol::Http,
            "tcp" => Protocol::Tcp,
            "https" => {
                warning(
                    out,
                    node.at,
                    "protocol https: readiness is checked with a TCP connect (ctfdeck's HTTP probe speaks plain HTTP)",
                );
                Protocol::Tcp
            }
            other => {
                warning(
                    out,
                    node.at,
                    format!(
                        "protocol {other:?} is not http or tcp; readiness is checked with a TCP connect"
                    ),
                );
                Protocol::Tcp
            }
        };
    }
    let info = root
        .get("connection_info")
        .and_then(Node::text)
        .unwrap_or_default();
    if info.trim_start().starts_with("http://") {
        Protocol::Http
    } else {
        Protocol::Tcp
    }
}

fn ports(
    x: &XCtfdeck,
    declared: &Declared,
    image: &ImageSource,
    protocol: Protocol,
    named: Option<(u32, Position)>,
    at: Position,
    out: &mut Findings<'_>,
) -> Vec<PortSpec> {
    if let Some(ports) = &x.ports {
        return ports.clone();
    }
    if !declared.exposed.is_empty() {
        let ports: Vec<PortSpec> = declared
            .exposed
            .iter()
            .map(|&container| PortSpec {
                container,
                protocol,
            })
            .collect();
        warning(
            out,
            at,
            format!(
                "container port {} taken from the Dockerfile's EXPOSE; set {KEY}.ports to choose",
                describe_ports(&ports)
            ),
        );
        return ports;
    }
    let why = match image {
        ImageSource::Build(_) => "no EXPOSE in the Dockerfile".to_string(),
        ImageSource::Registry(reference) => format!("image {reference} is not built here"),
    };
    if let Some((container, info_at)) = named {
        let port = PortSpec {
            container,
            protocol,
        };
        warning(
            out,
            info_at,
            format!(
                "no {KEY}.ports and {why}: container port {} taken from connection_info; set {KEY}.ports if the challenge listens elsewhere",
                describe_ports(std::slice::from_ref(&port))
            ),
        );
        return vec![port];
    }
    let container = match protocol {
        Protocol::Http => DEFAULT_HTTP_PORT,
        Protocol::Tcp => DEFAULT_TCP_PORT,
    };
    let port = PortSpec {
        container,
        protocol,
    };
    warning(
        out,
        at,
        format!(
            "no {KEY}.ports and {why}: assuming container port {}; set {KEY}.ports if the challenge listens elsewhere",
            describe_ports(std::slice::from_ref(&port))
        ),
    );
    vec![port]
}

/// The port `connection_info` names, with where it is: `nc host 9322`, `host:9322`,
/// `http://host:8080/path`. Placeholders such as `{port}` name none.
fn named_port(root: &Node) -> Option<(u32, Position)> {
    let node = root.get("connection_info")?;
    port_in_connection_info(&node.text()?).map(|port| (port, node.at))
}

/// The port in a ctfcli `connection_info` line, if it names one.
pub(super) fn port_in_connection_info(info: &str) -> Option<u32> {
    let info = info.trim();
    let port = |text: &str| {
        text.parse::<u32>()
            .ok()
            .filter(|p| (1..=65_535).contains(p))
    };
    if let Some((_, rest)) = info.split_once("://") {
        let authority = rest.split(['/', '?', '#', ' ']).next().unwrap_or_default();
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        return host_port.rsplit_once(':').and_then(|(_, p)| port(p));
    }
    let words: Vec<&str> = info.split_whitespace().collect();
    if let Some(found) = words.iter().rev().find_map(|w| port(w))
        && words.len() > 1
    {
        return Some(found);
    }
    words.iter().rev().find_map(|w| {
        w.rsplit_once(':')
            .and_then(|(host, p)| (!host.is_empty()).then(|| port(p)).flatten())
    })
}

fn describe_ports(ports: &[PortSpec]) -> String {
    ports
        .iter()
        .map(|p| format!("{}/{}", p.container, p.protocol.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `x-ctfdeck.user`, else the Dockerfile's numeric non-root `USER`, else the admin default.
fn user(
    x: &XCtfdeck,
    declared: &Declared,
    image: &ImageSource,
    at: Position,
    out: &mut Findings<'_>,
) -> Option<String> {
    if x.user.is_some() {
        return x.user.clone();
    }
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let why = match (image, declared.user.as_deref()) {
        (ImageSource::Registry(reference), _) => format!("image {reference} is not built here"),
        (ImageSource::Build(_), None) => "the Dockerfile has no USER".to_string(),
        (ImageSource::Build(_), Some(user)) => {
            let (uid, gid) = user.split_once(':').unwrap_or((user, "0"));
            let non_root = uid.bytes().any(|b| b != b'0');
            if numeric(uid) && numeric(gid) && non_root {
                return Some(user.to_string());
            }
            format!("the Dockerfile's USER {user} is not a numeric non-root uid")
        }
    };
    warning(
        out,
        at,
        format!(
            "no {KEY}.user and {why}: runs as the admin's default non-root user ([container] user)"
        ),
    );
    None
}

/// `x-ctfdeck.flag`, else the first static flag of `flags`.
fn flag(root: &Node, x: &XCtfdeck, out: &mut Findings<'_>) -> FlagSpec {
    if let Some(flag) = &x.flag {
        return flag.clone();
    }
    let spec = |value: Option<String>| FlagSpec {
        template: None,
        static_value: value,
        inject: "env:FLAG".to_string(),
    };
    let node = root.get("flags").filter(|n| !n.is_null());
    let items: Vec<&Node> = match node.map(|n| &n.value) {
        None => Vec::new(),
        Some(Value::Seq(items)) => items.iter().collect(),
        Some(_) => node.into_iter().collect(),
    };
    let mut regex = 0;
    for item in items {
        if let Some(text) = item.text() {
            return spec(Some(text));
        }
        let kind = item
            .get("type")
            .and_then(Node::text)
            .unwrap_or_else(|| "static".to_string());
        let content = item.get("content").and_then(Node::text);
        match (kind.as_str(), content) {
            ("static", Some(content)) => return spec(Some(content)),
            ("regex", Some(_)) => regex += 1,
            _ => {}
        }
    }
    let also = if regex > 0 {
        format!(" ({regex} regex flag(s) are kept for the scoreboard)")
    } else {
        String::new()
    };
    error(
        out,
        node.map_or(root.at, |n| n.at),
        format!(
            "no static flag: each instance needs one flag its solve script can print; add one to `flags` or set {KEY}.flag{also}"
        ),
    );
    spec(None)
}

fn lifetime(root: &Node, x: &XCtfdeck, out: &mut Findings<'_>) -> LifetimeSpec {
    if let Some(lifetime) = &x.lifetime {
        return lifetime.clone();
    }
    let at = root.get(KEY).map_or(root.at, |n| n.at);
    warning(
        out,
        at,
        format!(
            "no {KEY}.lifetime: instances get the configured default lifetime, extension and renewals"
        ),
    );
    LifetimeSpec::default()
}

/// `x-ctfdeck.smoke.check`, else ctfcli's `healthcheck` (its solve script).
fn smoke(root: &Node, x: &XCtfdeck, out: &mut Findings<'_>) -> Option<SmokeSpec> {
    let block = x.smoke.clone().unwrap_or_default();
    let check = block
        .check
        .or_else(|| fields::text(root, "healthcheck", out))?;
    Some(SmokeSpec {
        check,
        timeout: block.timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_become_ids() {
        assert_eq!(slug("web-login"), "web-login");
        assert_eq!(slug("Web_Login 2"), "web-login-2");
        assert_eq!(slug("--Zoë's Pwn!"), "zo-s-pwn");
        assert_eq!(slug("ÉÉ"), "");
    }
}
