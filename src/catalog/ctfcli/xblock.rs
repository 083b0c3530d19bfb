//! The `x-ctfdeck` block: what a ctfcli file can say about running the challenge that ctfcli
//! itself has no field for. Its fields have the same names and shapes as in `challenge.json`;
//! unknown fields are errors here (unlike in the rest of the file), because a typo in a
//! setting meant for ctfdeck should not be silently ignored.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::catalog::model::{
    BuildNetworkRequest, Difficulty, FlagSpec, Healthcheck, LifetimeSpec, PortSpec, Resources,
    SecuritySpec,
};

use super::tree::{SyntaxError, describe_error};

/// The key of the block in `challenge.yml`.
pub const KEY: &str = "x-ctfdeck";

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XCtfdeck {
    /// Defaults to the folder name.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub difficulty: Option<Difficulty>,
    #[serde(default)]
    pub estimated_minutes: Option<u32>,
    #[serde(default)]
    pub learning_objectives: Vec<String>,
    /// Tag of the image built from the folder; defaults to `ctfdeck/<id>:latest`.
    #[serde(default)]
    pub image: Option<String>,
    /// Network access for the build, as in `challenge.json`; defaults to the admin's.
    #[serde(default)]
    pub build_network: Option<BuildNetworkRequest>,
    /// Defaults to the Dockerfile's `EXPOSE`, else one port chosen by protocol.
    #[serde(default)]
    pub ports: Option<Vec<PortSpec>>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Defaults to the Dockerfile's numeric `USER`, else the admin default.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default)]
    pub security: SecuritySpec,
    /// A healthcheck run inside the container (ctfcli's own `healthcheck` is the solve script).
    #[serde(default)]
    pub healthcheck: Option<Healthcheck>,
    /// Overrides `flags`, e.g. for a dynamic flag per instance.
    #[serde(default)]
    pub flag: Option<FlagSpec>,
    #[serde(default)]
    pub lifetime: Option<LifetimeSpec>,
    #[serde(default)]
    pub smoke: Option<XSmoke>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XSmoke {
    /// Overrides ctfcli's `healthcheck`.
    #[serde(default)]
    pub check: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
}

/// Only the block; every other key of the file is left to the tolerant reader.
#[derive(Deserialize)]
struct Document {
    #[serde(rename = "x-ctfdeck", default)]
    block: Option<XCtfdeck>,
}

/// Read the block from the whole file, so that errors carry their position in it.
pub fn read(text: &str) -> Result<XCtfdeck, SyntaxError> {
    serde_saphyr::from_str_with_options::<Document>(text, super::tree::options())
        .map(|doc| doc.block.unwrap_or_default())
        .map_err(|err| describe_error(&err))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::catalog::model::Protocol;

    #[test]
    fn the_block_reads_like_challenge_json_and_tolerates_numbers_as_text() {
        let x = read(
            "name: x\nx-ctfdeck:\n  user: 1000\n  ports:\n    - {container: \"8080\", protocol: http}\n  lifetime: {default: 30m}\n  smoke: {timeout: 20s}\n",
        )
        .unwrap();
        assert_eq!(x.user.as_deref(), Some("1000"));
        let ports = x.ports.unwrap();
        assert_eq!(ports[0].container, 8080);
        assert_eq!(ports[0].protocol, Protocol::Http);
        assert_eq!(
            x.lifetime.unwrap().default,
            Some(Duration::from_secs(30 * 60))
        );
        assert_eq!(x.smoke.unwrap().timeout, Some(Duration::from_secs(20)));
        assert_eq!(x.security, SecuritySpec::default());
    }

    #[test]
    fn a_missing_block_is_empty() {
        assert_eq!(read("name: x\n").unwrap(), XCtfdeck::default());
    }

    #[test]
    fn typos_in_the_block_are_errors_at_their_position() {
        let err = read("name: x\nx-ctfdeck:\n  memroy: 1g\n").unwrap_err();
        assert_eq!((err.at.line, err.at.column), (3, 3));
        assert!(err.message.contains("unknown field `memroy`"), "{err:?}");
    }
}
