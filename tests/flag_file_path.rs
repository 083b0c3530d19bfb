#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A flag file path reaches the instance as one file name, whatever it holds. The catalog
//! refuses paths with quotes; this is the layer under it, for a definition that got past.

mod common;

use std::sync::Arc;

use common::{Fixture, load_catalog, repo};
use ctfdeck::catalog::Catalog;
use ctfdeck::domain::{Actor, Lifecycle};
use ctfdeck::store::Store;

#[tokio::test(flavor = "multi_thread")]
async fn a_quote_in_the_flag_file_path_runs_nothing_in_the_instance() {
    let mut f = Fixture::new().await;
    let mut challenge = load_catalog(&repo().join("challenges"))
        .get("nc-calc")
        .expect("nc-calc")
        .clone();
    // Written into a `sh -c '… > '{path}''` script, this would leave the quotes and run the
    // rest: from the image's working folder /chal, up and into the tmpfs, then `touch`.
    let name = "a';cd ..;cd tmp;touch pwned;: '";
    challenge.flag.inject = format!("file:/tmp/{name}");
    f.lifecycle = Lifecycle::new(
        f.engine.shared(),
        Store::open(&f.store_path()).unwrap(),
        Arc::new(Catalog {
            root: repo().join("challenges"),
            challenges: vec![challenge],
        }),
        f.lifecycle.policy().clone(),
        Actor::admin("tester"),
    )
    .unwrap();

    let instance = f.spawn("nc-calc", "team:quotes").await;
    let container = instance.container_id.clone().unwrap();
    let listing = f
        .engine
        .exec_with_env(&container, &["ls", "-1a", "/tmp"], &[])
        .await
        .unwrap();
    let files: Vec<&str> = listing.output.lines().map(str::trim).collect();
    assert!(
        !files.contains(&"pwned"),
        "the path ran a command: {files:?}"
    );
    assert!(files.contains(&name), "{files:?}");
    let written = f
        .engine
        .exec_with_env(&container, &["cat", &format!("/tmp/{name}")], &[])
        .await
        .unwrap();
    assert_eq!(Some(written.output.as_str()), instance.flag.as_deref());
    f.cleanup().await;
}
