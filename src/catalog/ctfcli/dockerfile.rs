//! The little a ctfcli import needs from a Dockerfile: the ports it `EXPOSE`s and the `USER`
//! it runs as, both taken from the final build stage (the one that becomes the image).

/// What the final stage of a Dockerfile declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declared {
    /// TCP ports of `EXPOSE`, in order, without duplicates. UDP ports and ports given as
    /// build variables (`$PORT`) are left out: ctfdeck cannot publish or resolve them.
    pub exposed: Vec<u32>,
    /// The last `USER`, as written.
    pub user: Option<String>,
}

pub fn declared(dockerfile: &str) -> Declared {
    let mut stage = Declared::default();
    for instruction in instructions(dockerfile) {
        let (word, args) = instruction
            .split_once(char::is_whitespace)
            .unwrap_or((instruction.as_str(), ""));
        match word.to_ascii_uppercase().as_str() {
            // A new stage: what earlier stages declared does not reach the final image.
            "FROM" => stage = Declared::default(),
            "EXPOSE" => {
                for item in args.split_whitespace() {
                    let (port, proto) = item.split_once('/').unwrap_or((item, "tcp"));
                    if !proto.eq_ignore_ascii_case("tcp") {
                        continue;
                    }
                    if let Ok(port) = port.parse::<u32>()
                        && !stage.exposed.contains(&port)
                    {
                        stage.exposed.push(port);
                    }
                }
            }
            "USER" => {
                let user = args.trim();
                if !user.is_empty() {
                    stage.user = Some(user.to_string());
                }
            }
            _ => {}
        }
    }
    stage
}

/// Logical instructions: comments dropped, `\` continuations joined.
fn instructions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(start) => {
                current.push_str(start);
                current.push(' ');
            }
            None => {
                // Comment lines inside a continuation are skipped, as Docker does.
                if !trimmed.starts_with('#') {
                    current.push_str(trimmed);
                }
                out.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposed_tcp_ports_and_the_user_of_the_final_stage() {
        let d = declared(
            "FROM builder AS build\nEXPOSE 9999\nUSER 0\n\nFROM busybox:1.36\n# EXPOSE 1\nexpose 8080/tcp 53/udp \\\n  8443 8080\nUSER 1000:1000\n",
        );
        assert_eq!(d.exposed, [8080, 8443]);
        assert_eq!(d.user.as_deref(), Some("1000:1000"));
    }

    #[test]
    fn variables_and_missing_declarations_give_nothing() {
        let d = declared("FROM scratch\nEXPOSE $PORT\nCMD [\"/app\"]\n");
        assert_eq!(d, Declared::default());
        assert_eq!(declared(""), Declared::default());
    }
}
