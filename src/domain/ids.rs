//! Instance ids: short and typeable. No 0/o, 1/l/i, so ids read aloud over a call survive.

const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
pub const ID_LEN: usize = 6;

/// A fresh random id (31^6 ≈ 887 million possibilities; the store rejects a repeat).
pub fn new_instance_id() -> String {
    let mut bytes = [0u8; ID_LEN];
    // getrandom only fails on exotic platforms without an entropy source.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes = (nanos as u64).to_le_bytes()[..ID_LEN]
            .try_into()
            .unwrap_or([7; ID_LEN]);
    }
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_and_from_the_unambiguous_alphabet() {
        let id = new_instance_id();
        assert_eq!(id.len(), ID_LEN);
        assert!(id.bytes().all(|b| ALPHABET.contains(&b)), "{id}");
        let many: std::collections::HashSet<String> = (0..200).map(|_| new_instance_id()).collect();
        assert!(many.len() > 195, "ids repeat too often");
    }
}
