//! `ADD` instructions that make the engine fetch a URL. The engine downloads those itself, in
//! the host's own network namespace: no build network setting applies, and a URL such as
//! `http://127.0.0.1:…` reaches services that listen on the host's loopback only. Sources
//! written with variables are refused too, since a build argument can hold such a URL.

/// One refused `ADD` source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAdd {
    /// 1-based line where the instruction starts.
    pub line: usize,
    pub source: String,
}

impl std::fmt::Display for RemoteAdd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = if self.source.contains('$') {
            "uses a variable, which may name a URL"
        } else {
            "is a URL the engine would fetch from the host itself"
        };
        write!(
            f,
            "Dockerfile line {}: ADD source {:?} {why}; fetch with RUN (and container.build_network) or COPY a file from the folder",
            self.line, self.source
        )
    }
}

/// The `ADD` (and `ONBUILD ADD`) sources of `dockerfile` that are URLs or hold variables.
pub fn remote_adds(dockerfile: &str) -> Vec<RemoteAdd> {
    let mut found = Vec::new();
    for (line, instruction) in instructions(dockerfile) {
        let mut words = instruction.trim_start();
        let mut keyword = split_word(&mut words);
        if keyword.eq_ignore_ascii_case("ONBUILD") {
            keyword = split_word(&mut words);
        }
        if !keyword.eq_ignore_ascii_case("ADD") {
            continue;
        }
        for source in sources(words) {
            if is_remote(&source) {
                found.push(RemoteAdd { line, source });
            }
        }
    }
    found
}

fn is_remote(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    lower.contains("://") || lower.starts_with("git@") || source.contains('$')
}

/// The first whitespace-separated word of `rest`, which is advanced past it.
fn split_word<'a>(rest: &mut &'a str) -> &'a str {
    let text = rest.trim_start();
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    let (word, tail) = text.split_at(end);
    *rest = tail;
    word
}

/// Every argument but the last (the destination), flags (`--chown=…`) left out. The JSON form
/// (`["src", "dest"]`) is read as JSON.
fn sources(args: &str) -> Vec<String> {
    let args = args.trim();
    let mut words: Vec<String> = if args.starts_with('[') {
        match serde_json::from_str::<Vec<String>>(args) {
            Ok(words) => words,
            Err(_) => args.split_whitespace().map(str::to_string).collect(),
        }
    } else {
        args.split_whitespace().map(str::to_string).collect()
    };
    words.retain(|w| !w.starts_with("--"));
    words.pop();
    words
}

/// Logical instructions with the line they start on: comments dropped, continuations joined
/// (with the escape character a `# escape=` directive sets).
fn instructions(text: &str) -> Vec<(usize, String)> {
    let escape = escape_char(text);
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (current.is_empty() && trimmed.is_empty()) {
            continue;
        }
        if current.is_empty() {
            start = i + 1;
        }
        match trimmed.strip_suffix(escape) {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                out.push((start, std::mem::take(&mut current)));
            }
        }
    }
    if !current.trim().is_empty() {
        out.push((start, current));
    }
    out
}

/// `\` unless a parser directive at the top says `# escape=` otherwise.
fn escape_char(text: &str) -> char {
    for line in text.lines() {
        let Some(directive) = line.trim().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = directive.split_once('=') else {
            break;
        };
        if key.trim().eq_ignore_ascii_case("escape")
            && let Some(c) = value.trim().chars().next()
        {
            return c;
        }
    }
    '\\'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources_of(text: &str) -> Vec<(usize, String)> {
        remote_adds(text)
            .into_iter()
            .map(|r| (r.line, r.source))
            .collect()
    }

    #[test]
    fn urls_and_variables_in_add_are_found() {
        let text = "FROM busybox:1.36\n\
                    ADD app.tar.gz /srv/\n\
                    COPY http.txt /x\n\
                    add --chown=1000:1000 http://127.0.0.1:8000/key /key\n\
                    ARG U=http://169.254.169.254/\n\
                    ADD $U /meta\n\
                    ADD [\"https://example.org/a\", \"local\", \"/dst/\"]\n\
                    ONBUILD ADD HTTP://10.0.0.1/x /x\n\
                    ADD \\\n  git@github.com:a/b.git /b\n";
        assert_eq!(
            sources_of(text),
            [
                (4, "http://127.0.0.1:8000/key".to_string()),
                (6, "$U".to_string()),
                (7, "https://example.org/a".to_string()),
                (8, "HTTP://10.0.0.1/x".to_string()),
                (9, "git@github.com:a/b.git".to_string()),
            ]
        );
        let shown = remote_adds(text)[0].to_string();
        assert!(
            shown.starts_with("Dockerfile line 4: ADD source"),
            "{shown}"
        );
    }

    #[test]
    fn the_escape_directive_changes_continuations() {
        let text = "# escape=`\nFROM busybox:1.36\nADD `\n  http://127.0.0.1/x `\n  /x\n";
        assert_eq!(sources_of(text), [(3, "http://127.0.0.1/x".to_string())]);
    }

    #[test]
    fn local_sources_pass() {
        assert!(
            remote_adds("FROM x\nADD a b /c/\nADD [\"a\", \"/b\"]\nRUN echo http://x\n").is_empty()
        );
    }
}
