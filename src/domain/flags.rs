//! Per-instance flags: `<hex:N>` placeholders in the template are filled from
//! HMAC-SHA256(secret, instance id), so a flag is unique per instance and reproducible from the
//! store's secret, yet not guessable from the id.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::catalog::{TemplatePart, parse_flag_template};

type HmacSha256 = Hmac<Sha256>;

/// Render `template` for `instance_id`. Each placeholder draws fresh bytes (counter-mode HMAC).
/// The template syntax is the catalog's (`parse_flag_template`); a template it rejects —
/// which the catalog never loads — is returned unchanged rather than half-filled.
pub fn render(template: &str, secret: &[u8], instance_id: &str) -> String {
    let Ok(parts) = parse_flag_template(template) else {
        return template.to_string();
    };
    let mut out = String::with_capacity(template.len() + 32);
    let mut counter = 0u32;
    for part in parts {
        match part {
            TemplatePart::Literal(text) => out.push_str(text),
            TemplatePart::Hex(len) => {
                let mut hex = String::new();
                while hex.len() < len {
                    hex.push_str(&hex::encode(block(secret, instance_id, counter)));
                    counter += 1;
                }
                out.push_str(&hex[..len]);
            }
        }
    }
    out
}

fn block(secret: &[u8], instance_id: &str, counter: u32) -> [u8; 32] {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return [0; 32],
    };
    mac.update(instance_id.as_bytes());
    mac.update(&counter.to_be_bytes());
    mac.finalize().into_bytes().into()
}

/// A new random secret for a store that has none.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    let _ = getrandom::fill(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_reproducible_and_distinct_per_instance() {
        let a = render("flag{<hex:16>}", b"s3cret", "abc234");
        assert_eq!(a, render("flag{<hex:16>}", b"s3cret", "abc234"));
        assert_ne!(a, render("flag{<hex:16>}", b"s3cret", "abc235"));
        assert_ne!(a, render("flag{<hex:16>}", b"other", "abc234"));
        assert_eq!(a.len(), "flag{}".len() + 16);
        assert!(a[5..21].bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn long_and_multiple_placeholders_are_filled() {
        let f = render("CTF{<hex:64>_<hex:8>}", b"k", "i");
        assert_eq!(f.len(), 4 + 64 + 1 + 8 + 1);
        assert_eq!(render("no placeholder", b"k", "i"), "no placeholder");
        assert_eq!(
            render("bad <hex:0> <hex:x>", b"k", "i"),
            "bad <hex:0> <hex:x>"
        );
    }
}
