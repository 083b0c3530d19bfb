#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Attacks carried by a challenge's image rather than run inside it: an `EXPOSE` of a port the
//! catalog does not list (a shell on 4444), and `org.ctfdeck.*` labels that speak for ctfdeck —
//! denying egress the profile allows (so that a proxy publishes instead of the instance),
//! claiming to be a port proxy (so that an instance without egress publishes nothing), naming
//! another owner or other ports. Only the catalog's ports are published, and only ctfdeck's
//! own labels count.

mod attack_support;
mod common;

use std::collections::HashMap;
use std::process::Command;

use attack_support::{Lab, attack_catalog, host_probe};
use bollard::models::ContainerInspectResponse;
use ctfdeck::store::InstanceRecord;

const IMAGES: [&str; 3] = [
    "ctfdeck-attack/exposed:latest",
    "ctfdeck-attack/relabelled:latest",
    "ctfdeck-attack/companion:latest",
];

/// The fixture images, built through the real `ctfdeck build`, removed on drop.
struct Images;

impl Images {
    fn build() -> Images {
        common::ensure_images();
        let images = Images;
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(common::bin())
            .arg("--store")
            .arg(dir.path().join("build.db"))
            .arg("--catalog")
            .arg(attack_catalog())
            .args([
                "build",
                "target-exposed",
                "target-relabelled",
                "target-companion",
            ])
            .output()
            .expect("run ctfdeck build");
        assert!(
            out.status.success(),
            "ctfdeck build failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        images
    }
}

impl Drop for Images {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rmi", "-f"])
            .args(IMAGES)
            .output();
    }
}

/// The port proxy of an instance without egress, if there is one.
async fn proxy_of(lab: &Lab, rec: &InstanceRecord) -> Option<ContainerInspectResponse> {
    let filters = HashMap::from([(
        "label".to_string(),
        vec![
            "org.ctfdeck.companion=egress-proxy".to_string(),
            format!("org.ctfdeck.instance={}", rec.id),
        ],
    )]);
    let client = lab.engine.client();
    let list = client
        .list_containers(Some(
            bollard::query_parameters::ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap();
    let id = list.into_iter().find_map(|c| c.id)?;
    Some(
        client
            .inspect_container(
                &id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .unwrap(),
    )
}

/// The container ports an inspected container publishes on the host, with their bindings.
fn published(c: &ContainerInspectResponse) -> Vec<(String, String, u16)> {
    let mut out: Vec<(String, String, u16)> = c
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.clone())
        .unwrap_or_default()
        .into_iter()
        .flat_map(|(key, bindings)| {
            bindings
                .unwrap_or_default()
                .into_iter()
                .filter_map(move |b| {
                    Some((
                        key.clone(),
                        b.host_ip.unwrap_or_default(),
                        b.host_port?.parse().ok()?,
                    ))
                })
        })
        .filter(|(_, ip, _)| !ip.contains(':'))
        .collect();
    out.sort();
    out
}

fn labels_of(c: &ContainerInspectResponse) -> HashMap<String, String> {
    c.config
        .as_ref()
        .and_then(|c| c.labels.clone())
        .unwrap_or_default()
}

/// `ctfdeck list --json` on the lab's store: what staff see.
fn listed_ports(lab: &Lab, rec: &InstanceRecord) -> Vec<(u16, String, u16)> {
    let out = Command::new(common::bin())
        .arg("--store")
        .arg(lab.dir.path().join("ctfdeck.db"))
        .arg("--catalog")
        .arg(attack_catalog())
        .args(["list", "--json"])
        .env_remove("CTFDECK_CONFIG")
        .output()
        .expect("run ctfdeck list");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == rec.id.as_str())
        .unwrap_or_else(|| panic!("{} is listed: {list:#}", rec.id));
    row["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["container"].as_u64().unwrap() as u16,
                p["host_ip"].as_str().unwrap().to_string(),
                p["host_port"].as_u64().unwrap() as u16,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_catalogs_ports_and_ctfdecks_own_labels_count() {
    let _images = Images::build();
    let lab = Lab::new("127.0.0.1").await;

    // Strict profile, image exposing a shell on 4444 and labels of its own.
    let exposed = lab.spawn("target-exposed", "team:img1").await;
    // The shell is really there (so an unpublished 4444 is not just an empty port)…
    let shell = lab.sh(&exposed, "echo id | nc -w 3 127.0.0.1 4444").await;
    assert!(shell.output.contains("uid="), "{}", shell.output);
    // …but the proxy publishes the catalog's 8080 alone, where the lab binds, and it answers.
    let proxy = proxy_of(&lab, &exposed).await.expect("a port proxy");
    let bound = published(&proxy);
    assert_eq!(bound.len(), 1, "{bound:?}");
    let (key, ip, port) = &bound[0];
    assert_eq!((key.as_str(), ip.as_str()), ("8080/tcp", "127.0.0.1"));
    assert!(host_probe("127.0.0.1", *port, true).is_some_and(|l| l.contains("HTTP/1.")));
    assert_eq!(
        listed_ports(&lab, &exposed),
        [(8080, "127.0.0.1".to_string(), *port)]
    );
    let inst = lab.inspect(&exposed).await;
    assert!(published(&inst).is_empty(), "{:?}", published(&inst));
    let l = labels_of(&inst);
    assert_eq!(l["org.ctfdeck.owner"], "team:img1");
    assert_eq!(l["org.ctfdeck.ports"], "8080");
    assert_eq!(l["org.ctfdeck.proxy.bind"], "127.0.0.1");
    assert_eq!(l["org.ctfdeck.future"], "");

    // Default profile (egress allowed), same image claiming egress is denied: no proxy, the
    // instance publishes 8080 itself on an ordinary network, and that is the port listed.
    let open = lab.spawn("target-relabelled", "team:img2").await;
    assert!(proxy_of(&lab, &open).await.is_none(), "a proxy was made");
    let inst = lab.inspect(&open).await;
    let bound = published(&inst);
    assert_eq!(bound.len(), 1, "{bound:?}");
    let (key, ip, port) = &bound[0];
    assert_eq!((key.as_str(), ip.as_str()), ("8080/tcp", "127.0.0.1"));
    assert!(host_probe("127.0.0.1", *port, true).is_some_and(|l| l.contains("HTTP/1.")));
    assert_eq!(
        listed_ports(&lab, &open),
        [(8080, "127.0.0.1".to_string(), *port)]
    );
    let l = labels_of(&inst);
    assert_eq!(l["org.ctfdeck.egress"], "");
    assert_eq!(l["org.ctfdeck.proxy.image"], "");
    let network = lab
        .engine
        .client()
        .inspect_network(
            &format!("ctfdeck-{}", open.id),
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        .unwrap();
    assert_ne!(network.internal, Some(true), "egress as the profile says");

    // Strict profile, image claiming to be a port proxy: it still gets its proxy and port.
    let comp = lab.spawn("target-companion", "team:img3").await;
    let proxy = proxy_of(&lab, &comp).await.expect("a port proxy");
    let bound = published(&proxy);
    assert_eq!(bound.len(), 1, "{bound:?}");
    let port = bound[0].2;
    assert!(host_probe("127.0.0.1", port, true).is_some_and(|l| l.contains("HTTP/1.")));
    assert_eq!(
        listed_ports(&lab, &comp),
        [(8080, "127.0.0.1".to_string(), port)]
    );
    assert_eq!(
        labels_of(&lab.inspect(&comp).await)["org.ctfdeck.companion"],
        ""
    );
    lab.finish().await;
}
