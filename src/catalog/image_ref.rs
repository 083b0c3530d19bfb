//! Image references in the one form the engine stores them, so that `busybox:1.36`,
//! `library/busybox:1.36` and `docker.io/library/busybox:1.36` are seen as the same tag.

/// `busybox` → `docker.io/library/busybox:latest`; `registry:5000/a/b:1` stays as written.
pub fn normalize_image(reference: &str) -> String {
    let reference = reference.trim();
    let (name, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (reference, None),
    };
    let (first, rest) = name.split_once('/').unwrap_or(("", name));
    let is_domain =
        !first.is_empty() && (first.contains('.') || first.contains(':') || first == "localhost");
    let (domain, path) = if is_domain {
        (first, rest.to_string())
    } else if first.is_empty() {
        ("docker.io", format!("library/{rest}"))
    } else {
        ("docker.io", name.to_string())
    };
    let domain = if domain == "index.docker.io" {
        "docker.io"
    } else {
        domain
    };
    let last = path.rsplit('/').next().unwrap_or_default();
    let tag = if digest.is_none() && !last.contains(':') {
        ":latest"
    } else {
        ""
    };
    let digest = digest.map(|d| format!("@{d}")).unwrap_or_default();
    format!("{domain}/{path}{tag}{digest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_image_normalize_alike() {
        let base = "docker.io/library/busybox:1.36";
        for spelling in [
            "busybox:1.36",
            "library/busybox:1.36",
            "docker.io/library/busybox:1.36",
            "index.docker.io/library/busybox:1.36",
            " busybox:1.36 ",
        ] {
            assert_eq!(normalize_image(spelling), base, "{spelling}");
        }
        assert_eq!(
            normalize_image("busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(normalize_image("ctfdeck/web:1"), "docker.io/ctfdeck/web:1");
        assert_eq!(
            normalize_image("localhost:5000/web"),
            "localhost:5000/web:latest"
        );
        assert_eq!(
            normalize_image("ghcr.io/a/b@sha256:00"),
            "ghcr.io/a/b@sha256:00"
        );
        assert_ne!(
            normalize_image("busybox:1.36"),
            normalize_image("busybox:1.35")
        );
    }
}
