//! Podman answers the Docker-compatible API in its own words. What it reports differently but
//! means the same is put in Docker's words here, so drift compares like with like; what really
//! differs is left as reported.

use crate::engine::{AppliedHardening, SecurityState};

/// The capabilities Podman gives a container by default (containers.conf's
/// `default_capabilities`). Asked to drop ALL, it reports this set as dropped instead.
const DEFAULT_CAPS: [&str; 14] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Put Podman's report of a container in Docker's words.
pub(super) fn in_docker_words(s: &mut SecurityState) {
    applied_in_docker_words(&mut s.applied);
    let a = &mut s.applied;
    // Podman says `bridge` for any bridge network; the network it means is the one attached.
    if let ("bridge", [only]) = (a.network_mode.as_str(), s.networks.as_slice()) {
        a.network_mode = only.name.clone();
    }
    if let Some(p) = s.proxy.as_mut().filter(|p| drops_all(&p.cap_drop, &[])) {
        p.cap_drop = vec!["ALL".to_string()];
    }
}

/// Put Podman's report of one container's settings in Docker's words (its dropped default set
/// is "ALL"), for drift and for the console's detail alike.
pub(super) fn applied_in_docker_words(a: &mut AppliedHardening) {
    if drops_all(&a.cap_drop, &a.cap_add) {
        a.cap_drop = vec!["ALL".to_string()];
    }
}

/// Every default capability is either dropped or explicitly added back: what `--cap-drop ALL`
/// (plus the additions) leaves. A set widened in containers.conf is listed as dropped too.
fn drops_all(dropped: &[String], added: &[String]) -> bool {
    let norm = |c: &String| {
        let c = c.trim().to_ascii_uppercase();
        c.strip_prefix("CAP_").map(str::to_string).unwrap_or(c)
    };
    let dropped: Vec<String> = dropped.iter().map(norm).collect();
    let added: Vec<String> = added.iter().map(norm).collect();
    dropped.iter().any(|c| c == "ALL")
        || DEFAULT_CAPS
            .iter()
            .all(|c| dropped.iter().chain(&added).any(|d| d == c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{AttachedNetwork, ProxyState};

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// As Podman 4.3 reports a container created with cap-drop ALL on network ctfdeck-x.
    fn reported() -> SecurityState {
        let mut s = SecurityState::default();
        s.applied.cap_drop = strings(&DEFAULT_CAPS);
        s.applied.network_mode = "bridge".into();
        s.networks = vec![AttachedNetwork {
            name: "ctfdeck-x".into(),
            ..AttachedNetwork::default()
        }];
        s.proxy = Some(ProxyState {
            cap_drop: strings(&DEFAULT_CAPS),
            ..ProxyState::default()
        });
        s
    }

    #[test]
    fn the_dropped_default_set_is_all_and_bridge_is_the_attached_network() {
        let mut s = reported();
        in_docker_words(&mut s);
        assert_eq!(s.applied.cap_drop, ["ALL"]);
        assert_eq!(s.applied.network_mode, "ctfdeck-x");
        assert_eq!(s.proxy.map(|p| p.cap_drop), Some(strings(&["ALL"])));
    }

    #[test]
    fn added_capabilities_count_and_a_kept_one_does_not_read_as_all() {
        let mut s = reported();
        s.applied.cap_drop.retain(|c| c != "NET_BIND_SERVICE");
        s.applied.cap_add = strings(&["CAP_NET_BIND_SERVICE"]);
        in_docker_words(&mut s);
        assert_eq!(s.applied.cap_drop, ["ALL"]);

        let mut s = reported();
        s.applied.cap_drop.retain(|c| c != "NET_RAW");
        in_docker_words(&mut s);
        assert_ne!(
            s.applied.cap_drop,
            ["ALL"],
            "NET_RAW kept is not ALL dropped"
        );
    }

    #[test]
    fn a_second_network_leaves_bridge_as_reported() {
        let mut s = reported();
        s.networks.push(AttachedNetwork {
            name: "podman".into(),
            ..AttachedNetwork::default()
        });
        in_docker_words(&mut s);
        assert_eq!(s.applied.network_mode, "bridge");
    }
}
