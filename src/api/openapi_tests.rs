//! docs/openapi.json against the real router: every documented path and method is routed,
//! every routed one is documented, every error code the API can answer is documented, and the
//! answers the router gives to a few requests per operation are among that operation's
//! documented responses, with their documented codes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::Request;
use serde_json::Value;
use tower::ServiceExt;

use crate::domain::Actor;
use crate::domain::tokens::{TokenRole, add_token};
use crate::store::Store;

use super::errors::CODES;
use super::fuzz_tests::app;
use super::routes;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Each (path, method) the document describes, with its operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(METHODS.contains(&method.as_str()), "{path}: {method}");
            out.push((path.clone(), method.to_uppercase(), operation.clone()));
        }
    }
    out
}

/// A response's documented error codes (from `x-error-codes`).
fn codes_of(response: &Value) -> Vec<String> {
    response["x-error-codes"]
        .as_array()
        .map(|codes| {
            codes
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_route_is_documented_and_every_documented_route_is_routed() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(path, method, _)| (path, method))
        .collect();
    let routed: BTreeSet<(String, String)> = routes()
        .into_iter()
        .map(|(path, method, _)| (path.to_string(), method.to_string()))
        .collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routed, not documented: {undocumented:?}"
    );
    assert!(unrouted.is_empty(), "documented, not routed: {unrouted:?}");
}

#[test]
fn the_documented_error_codes_are_the_ones_the_api_answers() {
    let doc = document();
    let mut documented = BTreeSet::new();
    for (path, method, operation) in operations(&doc) {
        for (status, response) in operation["responses"].as_object().unwrap() {
            let status: u16 = status.parse().unwrap();
            let codes = codes_of(response);
            // Every error answer names its codes; /healthz's 503 is its report, not an error.
            let is_error = status >= 400 && path != "/healthz";
            assert_eq!(
                is_error,
                !codes.is_empty(),
                "{method} {path} {status}: error codes"
            );
            documented.extend(codes.into_iter().map(|c| (status, c)));
        }
    }
    for (status, codes) in doc["x-errors-outside-routes"].as_object().unwrap() {
        let status: u16 = status.parse().unwrap();
        for code in codes.as_array().unwrap() {
            documented.insert((status, code.as_str().unwrap().to_string()));
        }
    }
    let answered: BTreeSet<(u16, String)> = CODES
        .iter()
        .map(|(status, code)| (*status, code.to_string()))
        .collect();
    let undocumented: Vec<_> = answered.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&answered).collect();
    assert!(
        undocumented.is_empty(),
        "answered, not documented: {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "documented, never answered: {unknown:?}"
    );
}

#[test]
fn every_operation_answers_only_what_it_documents() {
    let doc = document();
    let dir = tempfile::tempdir().unwrap();
    let (router, board) = app(dir.path());
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    let prom = add_token(&store, &Actor::admin("t"), "prom", TokenRole::Metrics).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Who asks: nobody, a metrics token, a scoreboard without an owner, one with an owner.
    let callers: [&[(&str, String)]; 4] = [
        &[],
        &[("authorization", format!("Bearer {prom}"))],
        &[("authorization", format!("Bearer {board}"))],
        &[
            ("authorization", format!("Bearer {board}")),
            ("x-ctfdeck-owner", "team:red".to_string()),
        ],
    ];
    let bodies: [&[u8]; 3] = [
        b"",
        b"{\"challenge\": ",
        br#"{"challenge": "nope", "flag": "x"}"#,
    ];
    let mut asked = 0;
    for (path, method, operation) in operations(&doc) {
        let responses = operation["responses"].as_object().unwrap();
        for caller in callers {
            for body in bodies {
                let mut request = Request::builder()
                    .method(method.as_str())
                    .uri(path.replace("{id}", "zzzzzz"));
                for (name, value) in caller {
                    request = request.header(*name, value.as_str());
                }
                let request = request.body(Body::from(body.to_vec())).unwrap();
                let response = rt.block_on(router.clone().oneshot(request)).unwrap();
                let status = response.status().as_u16();
                let bytes = rt
                    .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
                    .unwrap();
                let documented = responses
                    .get(&status.to_string())
                    .unwrap_or_else(|| panic!("{method} {path}: {status} is not documented"));
                if status >= 400 {
                    let json: Value = serde_json::from_slice(&bytes).unwrap();
                    let code = json["error"]["code"].as_str().unwrap().to_string();
                    assert!(
                        codes_of(documented).contains(&code),
                        "{method} {path}: {status} {code} is not documented"
                    );
                }
                asked += 1;
            }
        }
    }
    assert_eq!(asked, 12 * 4 * 3);
}
