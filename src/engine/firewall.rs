//! Host firewall rules for instance networks, where Docker's own rules fall short.
//!
//! Docker isolates bridge networks from each other in its FORWARD rules, but traffic from a
//! container to an address of the host itself goes through INPUT, which Docker leaves open.
//! With the engine's userland proxy (the default), every published port is a host socket: an
//! instance can reach another instance's published port at its gateway address, and any service
//! listening on the host. Cloud metadata (169.254.169.254) is routed out like any destination.
//!
//! ctfdeck names its bridges `ctfd-…` (see `docker/networks.rs`), so two fixed rules cover every
//! instance: in INPUT, only replies to connections the host opened are accepted from those
//! bridges (published ports still answer: the host opens those connections); first in FORWARD,
//! link-local and metadata addresses are refused. The rules live in their own chains, so
//! applying is idempotent and removing takes exactly them away. They need root.
//!
//! The FORWARD rules are reached from two places: Docker's DOCKER-USER (Docker inserts its own
//! accepting rules at the top of FORWARD as networks come, but consults DOCKER-USER first), and
//! the top of FORWARD itself (Podman's netavark inserts its accepting chains there, ahead of
//! DOCKER-USER, and a Podman-only host has no DOCKER-USER at all).
//!
//! Podman also needs one accepting rule: the bridge of an instance without egress (`ctfd-i-…`,
//! an `internal` network) carries the traffic between the instance and its port proxy, and where
//! `br_netfilter` is loaded (Docker loads it) bridged frames cross FORWARD, whose policy Docker
//! sets to DROP. Docker accepts that traffic itself; netavark adds nothing for internal networks.
//! `--physdev-is-bridged` matches only frames that stay on one bridge, so nothing is routed
//! between networks by it.

use std::process::Command;

/// Host-side bridge interfaces of ctfdeck's networks start with this.
pub const BRIDGE_PREFIX: &str = "ctfd-";
/// Interface match for every ctfdeck bridge (`+` is iptables' wildcard).
pub const BRIDGES: &str = "ctfd-+";
/// The bridges of internal networks (instances without egress) start with this.
pub const INTERNAL_PREFIX: &str = "ctfd-i-";
/// Interface match for the bridges of internal networks.
pub const INTERNAL_BRIDGES: &str = "ctfd-i-+";
pub const INPUT_CHAIN: &str = "CTFDECK-INPUT";
pub const FORWARD_CHAIN: &str = "CTFDECK-FORWARD";
/// Docker's chain for user rules: Docker inserts its own accepting rules at the top of FORWARD
/// as networks come, but always consults this chain first.
const DOCKER_USER: &str = "DOCKER-USER";
/// Podman's netavark names its chains so; ctfdeck's jump must come before theirs.
const NETAVARK: &str = "NETAVARK";
/// netavark's isolation chains only drop (traffic between its networks) or return: a jump to
/// them ahead of ctfdeck's shadows nothing. netavark puts it at the top of FORWARD whenever a
/// network comes.
const NETAVARK_ISOLATION: &str = "NETAVARK_ISOLATION";

/// The rules of each chain, as `iptables -S` prints them.
fn chain_rules(chain: &str) -> Vec<String> {
    let rules: &[&str] = if chain == INPUT_CHAIN {
        &[
            // Replies to what the host opened: the userland proxy's connections to published
            // ports, and exec/attach traffic.
            "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
            "-p tcp -j REJECT --reject-with tcp-reset",
            "-j DROP",
        ]
    } else {
        &[
            // Link-local, which holds the metadata service of most clouds (169.254.169.254).
            "-d 169.254.0.0/16 -j REJECT --reject-with icmp-port-unreachable",
            // Alibaba Cloud's metadata service.
            "-d 100.100.100.200/32 -j REJECT --reject-with icmp-port-unreachable",
            // Nothing routed from one ctfdeck bridge to another: an instance to another's
            // address or, through the engine's DNAT, its published port. Docker's isolation
            // rules drop this too; netavark's lose their jump from FORWARD when networks come
            // and go concurrently (seen under the attack suite), so this one stands for both.
            "-o ctfd-+ -m physdev ! --physdev-is-bridged -j DROP",
            // An instance and its port proxy, on the internal bridge they share.
            "-i ctfd-i-+ -m physdev --physdev-is-bridged -j ACCEPT",
        ]
    };
    rules.iter().map(|r| format!("-A {chain} {r}")).collect()
}

/// (parent chain, jump rule) for each of ctfdeck's chains.
fn jumps() -> [(&'static str, Vec<String>); 2] {
    let jump = |chain: &str| vec!["-i".into(), BRIDGES.into(), "-j".into(), chain.into()];
    [
        ("INPUT", jump(INPUT_CHAIN)),
        ("FORWARD", jump(FORWARD_CHAIN)),
    ]
}

/// The jump rule as `iptables -S` prints it.
fn printed(parent: &str, rule: &[String]) -> String {
    format!("-A {parent} {}", rule.join(" "))
}

/// Rule numbers (1-based) of `wanted` in `parent`, and whether a netavark jump comes before
/// the first of them.
fn positions(parent: &str, wanted: &str) -> Result<(Vec<usize>, bool), FirewallError> {
    let out = iptables(&["-S", parent])?;
    if !out.status.success() {
        run(&["-S", parent])?;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let rules: Vec<&str> = text.lines().filter(|l| l.starts_with("-A ")).collect();
    let found: Vec<usize> = rules
        .iter()
        .enumerate()
        .filter(|(_, r)| **r == wanted)
        .map(|(i, _)| i + 1)
        .collect();
    let first = found.first().copied().unwrap_or(usize::MAX);
    let shadowed = rules
        .iter()
        .take(first.saturating_sub(1))
        .any(|r| shadows(r));
    Ok((found, shadowed))
}

/// Whether a rule ahead of ctfdeck's jump may accept what ctfdeck's chain would refuse.
fn shadows(rule: &str) -> bool {
    rule.contains(&format!("-j {NETAVARK}")) && !rule.contains(&format!("-j {NETAVARK_ISOLATION}"))
}

/// What is in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FirewallStatus {
    pub input_rules: bool,
    pub input_jump: bool,
    pub forward_rules: bool,
    pub forward_jump: bool,
}

impl FirewallStatus {
    pub fn complete(&self) -> bool {
        self.input_rules && self.input_jump && self.forward_rules && self.forward_jump
    }

    /// What is missing, for messages; empty when complete.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if !self.input_rules || !self.input_jump {
            out.push("instance → host (published ports of other instances, host services)");
        }
        if !self.forward_rules || !self.forward_jump {
            out.push(
                "instance → link-local and cloud metadata addresses, and → other instances on Podman; on Podman, the port proxy of an instance without egress",
            );
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error(
        "cannot run iptables ({0}); the host firewall needs the iptables command on the engine's host"
    )]
    Missing(String),
    #[error("iptables {args} failed: {message}{hint}")]
    Failed {
        args: String,
        message: String,
        hint: &'static str,
    },
}

fn iptables(args: &[&str]) -> Result<std::process::Output, FirewallError> {
    // -w: wait for the xtables lock instead of failing while Docker updates its rules.
    Command::new("iptables")
        .arg("-w")
        .args(args)
        .output()
        .map_err(|e| FirewallError::Missing(e.to_string()))
}

fn run(args: &[&str]) -> Result<(), FirewallError> {
    let out = iptables(args)?;
    if out.status.success() {
        return Ok(());
    }
    let message = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let hint = if message.contains("Permission denied") || message.contains("must be root") {
        " (the host firewall needs root: run it with sudo)"
    } else if message.contains("physdev") {
        " (the kernel's xt_physdev module is missing: modprobe xt_physdev)"
    } else {
        ""
    };
    Err(FirewallError::Failed {
        args: args.join(" "),
        message,
        hint,
    })
}

/// True when the command succeeds, false when it fails as a "no such rule/chain" would; errors
/// for permission problems, so that "cannot tell" never reads as "absent".
fn check(args: &[&str]) -> Result<bool, FirewallError> {
    let out = iptables(args)?;
    if out.status.success() {
        return Ok(true);
    }
    let message = String::from_utf8_lossy(&out.stderr);
    if message.contains("Permission denied") || message.contains("must be root") {
        return run(args).map(|()| false);
    }
    Ok(false)
}

fn chain_matches(chain: &str) -> Result<bool, FirewallError> {
    let out = iptables(&["-S", chain])?;
    if !out.status.success() {
        let message = String::from_utf8_lossy(&out.stderr);
        if message.contains("Permission denied") || message.contains("must be root") {
            run(&["-S", chain])?;
        }
        return Ok(false);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let have: Vec<&str> = text.lines().filter(|l| l.starts_with("-A ")).collect();
    Ok(have
        == chain_rules(chain)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>())
}

/// Read what is in place. Needs root, like every iptables read.
pub fn status() -> Result<FirewallStatus, FirewallError> {
    let [(input_parent, input_jump), (forward_parent, forward_jump)] = jumps();
    let with = |parent: &str, rule: &[String]| {
        let mut args = vec!["-C", parent];
        args.extend(rule.iter().map(String::as_str));
        check(&args)
    };
    // A jump behind netavark's is never reached for Podman's networks: not in place. Where
    // Docker runs, its DOCKER-USER must jump there too.
    let forward_first = with(forward_parent, &forward_jump)?
        && !positions(forward_parent, &printed(forward_parent, &forward_jump))?.1
        && (!check(&["-S", DOCKER_USER])? || check(&docker_user_jump("-C"))?);
    Ok(FirewallStatus {
        input_rules: chain_matches(INPUT_CHAIN)?,
        input_jump: with(input_parent, &input_jump)?,
        forward_rules: chain_matches(FORWARD_CHAIN)?,
        forward_jump: forward_first,
    })
}

/// Install (or repair) the rules. Idempotent: a chain already holding exactly its rules is left
/// untouched, so re-applying never opens a window without them.
pub fn apply() -> Result<FirewallStatus, FirewallError> {
    for chain in [INPUT_CHAIN, FORWARD_CHAIN] {
        if chain_matches(chain)? {
            continue;
        }
        if !check(&["-S", chain])? {
            run(&["-N", chain])?;
        }
        run(&["-F", chain])?;
        for rule in chain_rules(chain) {
            let args: Vec<&str> = rule.split(' ').collect();
            run(&args)?;
        }
    }
    for (parent, rule) in jumps() {
        let mut args = vec!["-C", parent];
        args.extend(rule.iter().map(String::as_str));
        let (found, shadowed) = positions(parent, &printed(parent, &rule))?;
        if check(&args)? && !shadowed {
            continue;
        }
        // First the new jump at the top, then the old ones below it go: never a moment without.
        let mut insert = vec!["-I", parent, "1"];
        insert.extend(rule.iter().map(String::as_str));
        run(&insert)?;
        for number in found.iter().rev() {
            run(&["-D", parent, &(number + 1).to_string()])?;
        }
    }
    if check(&["-S", DOCKER_USER])? && !check(&docker_user_jump("-C"))? {
        let mut insert = docker_user_jump("-I");
        insert.insert(2, "1");
        run(&insert)?;
    }
    status()
}

/// `iptables <op> DOCKER-USER` with the jump to the FORWARD rules.
fn docker_user_jump(op: &str) -> Vec<&str> {
    vec![op, DOCKER_USER, "-i", BRIDGES, "-j", FORWARD_CHAIN]
}

/// Take the DOCKER-USER jump away, every copy of it.
fn remove_docker_user_jump() -> Result<(), FirewallError> {
    while check(&docker_user_jump("-C"))? {
        run(&docker_user_jump("-D"))?;
    }
    Ok(())
}

/// Take ctfdeck's rules away (the jumps, then the chains).
pub fn remove() -> Result<(), FirewallError> {
    for (parent, rule) in jumps() {
        let mut args = vec!["-C", parent];
        args.extend(rule.iter().map(String::as_str));
        while check(&args)? {
            let mut delete = vec!["-D", parent];
            delete.extend(rule.iter().map(String::as_str));
            run(&delete)?;
        }
    }
    remove_docker_user_jump()?;
    for chain in [INPUT_CHAIN, FORWARD_CHAIN] {
        if check(&["-S", chain])? {
            run(&["-F", chain])?;
            run(&["-X", chain])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_written_as_iptables_prints_them() {
        assert_eq!(
            chain_rules(INPUT_CHAIN),
            [
                "-A CTFDECK-INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
                "-A CTFDECK-INPUT -p tcp -j REJECT --reject-with tcp-reset",
                "-A CTFDECK-INPUT -j DROP",
            ]
        );
        assert!(chain_rules(FORWARD_CHAIN)[0].contains("-d 169.254.0.0/16"));
        assert_eq!(
            chain_rules(FORWARD_CHAIN)[2],
            format!("-A CTFDECK-FORWARD -o {BRIDGES} -m physdev ! --physdev-is-bridged -j DROP")
        );
        assert_eq!(
            chain_rules(FORWARD_CHAIN)[3],
            format!(
                "-A CTFDECK-FORWARD -i {INTERNAL_BRIDGES} -m physdev --physdev-is-bridged -j ACCEPT"
            )
        );
        let [(input, jump), (forward, forward_jump)] = jumps();
        assert_eq!((input, forward), ("INPUT", "FORWARD"));
        assert_eq!(jump.join(" "), "-i ctfd-+ -j CTFDECK-INPUT");
        assert_eq!(
            printed(forward, &forward_jump),
            "-A FORWARD -i ctfd-+ -j CTFDECK-FORWARD"
        );
        assert_eq!(BRIDGES, format!("{BRIDGE_PREFIX}+"));
        assert_eq!(INTERNAL_BRIDGES, format!("{INTERNAL_PREFIX}+"));
        assert!(INTERNAL_PREFIX.starts_with(BRIDGE_PREFIX));
    }

    #[test]
    fn only_netavarks_accepting_chains_shadow_the_jump() {
        assert!(shadows(
            "-A FORWARD -m comment --comment \"netavark firewall plugin rules\" -j NETAVARK_FORWARD"
        ));
        assert!(!shadows("-A FORWARD -j NETAVARK_ISOLATION_1"));
        assert!(!shadows("-A FORWARD -j DOCKER-USER"));
    }

    #[test]
    fn missing_parts_are_named() {
        let none = FirewallStatus::default();
        assert!(!none.complete());
        assert_eq!(none.missing().len(), 2);
        let all = FirewallStatus {
            input_rules: true,
            input_jump: true,
            forward_rules: true,
            forward_jump: true,
        };
        assert!(all.complete() && all.missing().is_empty());
    }
}
