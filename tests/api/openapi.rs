//! Each listener's `/openapi.json` (issue 15) and the routes it serves are the
//! same list, both ways:
//! - the document and the router come from one `OpenApiRouter` per profile
//!   (`split_for_parts`), so a REST route added with `routes!` is in both; the
//!   source check below keeps the REST modules from adding a route any other way;
//! - every documented path and method is probed on the running listener and
//!   must be answered by its route: not as a path nobody serves is (the
//!   profile's fallback), and not as a method the path does not have (405, or
//!   the fallback where the profile sends those there);
//! - every other method on a documented path is *not* served.
//!
//! The answers' bodies are checked against the schemas by the end-to-end test
//! `tests/e2e/openapi.test.mjs`.

use std::path::Path;

use chatwire::config::Profile;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app_with};

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// An answer, compared whole: status and body.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: StatusCode,
    body: String,
}

async fn send(app: &TestApp, p: Profile, method: &str, path: &str) -> Answer {
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
    let r = reqwest::Client::new()
        .request(method, app.url(p, path))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("request");
    Answer {
        status: r.status(),
        body: r.text().await.unwrap_or_default(),
    }
}

async fn document(app: &TestApp, p: Profile) -> Value {
    let r = reqwest::get(app.url(p, "/openapi.json")).await.unwrap();
    assert_eq!(r.status(), 200, "{p}: /openapi.json");
    r.json().await.unwrap()
}

/// A documented path with its parameters filled in.
fn concrete(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').expect("closed parameter") + open;
        out.push_str(&rest[..open]);
        out.push_str("probe1");
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The path, method pairs of a document.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                ops.push((path.clone(), m.to_owned()));
            }
        }
    }
    ops
}

/// Probes every documented operation and every other method of its paths.
async fn served_as_documented(app: &TestApp, p: Profile, expected: &[&str]) {
    let doc = document(app, p).await;
    let ops = operations(&doc);
    let listed: Vec<String> = ops.iter().map(|(p, m)| format!("{m} {p}")).collect();
    assert_eq!(listed, expected, "{p}: the documented operations");
    for (path, method) in &ops {
        let url = concrete(path);
        // What this listener answers for this method on a path nobody serves.
        let unserved = send(app, p, method, &format!("/not-served{url}")).await;
        let got = send(app, p, method, &url).await;
        assert_ne!(got, unserved, "{p}: {method} {path} answered as unserved");
        assert_ne!(
            got.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{p}: {method} {path} answered 405: {}",
            got.body
        );
    }
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    for path in paths {
        let url = concrete(path);
        for m in METHODS {
            if doc["paths"][path].get(m).is_some() {
                continue;
            }
            let unserved = send(app, p, m, &format!("/not-served{url}")).await;
            let got = send(app, p, m, &url).await;
            assert!(
                got.status == StatusCode::METHOD_NOT_ALLOWED || got == unserved,
                "{p}: {m} {path} is served ({} {}) but not documented",
                got.status,
                got.body
            );
        }
    }
    // The document's own routes are no profile route.
    for own in ["/openapi.json", "/docs", "/docs/"] {
        assert!(doc["paths"].get(own).is_none(), "{p}: {own} documented");
    }
}

async fn app() -> TestApp {
    // Many probes from one address: testcore's budget must not answer them.
    spawn_app_with(&["--testcore-rate-limit=1000000"]).await
}

#[tokio::test]
async fn expresschat_serves_exactly_its_document() {
    let app = app().await;
    served_as_documented(
        &app,
        Profile::Expresschat,
        &[
            "get /Verify",
            "post /login",
            "post /logout",
            "post /resend",
            "post /signup",
            "post /update-access-token",
            "get /verify",
        ],
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn calls_serves_exactly_its_document() {
    let app = app().await;
    served_as_documented(
        &app,
        Profile::Calls,
        &[
            "post /api/auth/login",
            "post /api/auth/register",
            "get /api/calls",
            "get /api/messages",
            "post /api/messages",
        ],
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn orgchat_serves_exactly_its_document() {
    let app = app().await;
    served_as_documented(
        &app,
        Profile::Orgchat,
        &[
            "post /api/auth/login",
            "post /api/auth/refresh-token",
            "post /api/auth/register",
            "get /api/chat",
            "post /api/chat",
            "get /api/chat/{room_id}/messages",
        ],
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn chatsphere_serves_exactly_its_document() {
    let app = app().await;
    served_as_documented(
        &app,
        Profile::Chatsphere,
        &[
            "get /api/auth/profile",
            "put /api/auth/profile",
            "get /api/health",
            "get /api/messages",
            "get /api/messages/user",
            "get /api/rooms",
            "post /api/rooms",
            "get /api/rooms/{id}",
            "delete /api/rooms/{id}",
            "get /api/rooms/{id}/messages",
            "post /api/rooms/{id}/messages",
            "post /api/rooms/{id}/users",
            "post /api/tokens/client",
            "post /api/tokens/user",
            "delete /api/tokens/{id}",
            "put /api/tokens/{id}/revoke",
            "get /api/users",
            "post /api/users",
            "get /api/users/{id}/messages",
        ],
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn testcore_serves_exactly_its_document() {
    let app = app().await;
    served_as_documented(
        &app,
        Profile::Testcore,
        &[
            "get /api/v1/chat/ChatQuery/{college}/{branch}",
            "post /api/v1/chat/ChatQuery/{college}/{branch}",
            "put /api/v1/chat/ChatQuery/{college}/{branch}",
            "get /api/v1/chat/ChatQuery/{room}",
            "post /api/v1/chat/ChatQuery/{room}",
            "put /api/v1/chat/ChatQuery/{room}",
            "post /api/v1/chat/connectChat/{college}/{branch}",
            "post /api/v1/chat/connectChat/{room}",
            "post /api/v1/chat/createChat",
            "get /api/v1/chat/getChat",
            "post /api/v1/user/login",
            "post /api/v1/user/register",
            "get /api/v1/user/signup",
            "post /api/v1/user/signup",
        ],
    )
    .await;
    app.stop().await;
}

/// Every listener's document names the profile, its auth schemes and error
/// envelope, and every operation (but two that cannot fail) documents at least
/// one refusal and the 500 of an unexpected failure in that envelope, and every
/// operation with a body the 413 of one over the limit.
#[tokio::test]
async fn documents_name_their_auth_and_refusals() {
    let app = app().await;
    let schemes: [(Profile, &[&str], &str); 5] = [
        (
            Profile::Expresschat,
            &["accessCookie", "refreshCookie", "accessQuery"],
            "Refusal",
        ),
        (Profile::Calls, &["bearer"], "RestError"),
        (Profile::Orgchat, &["bearer", "tokenQuery"], "ErrorBody"),
        (
            Profile::Chatsphere,
            &["bearer", "tokenQuery", "tokenCookie"],
            "ErrorBody",
        ),
        (
            Profile::Testcore,
            &["bearer", "tokenQuery", "accessCookie", "chatCookie"],
            "Failure",
        ),
    ];
    for (p, names, envelope) in schemes {
        let doc = document(&app, p).await;
        assert_eq!(doc["info"]["title"], format!("chatwire: {p}"));
        for n in names {
            assert!(
                doc["components"]["securitySchemes"].get(*n).is_some(),
                "{p}: scheme {n}"
            );
        }
        assert!(
            doc["components"]["schemas"].get(envelope).is_some(),
            "{p}: {envelope}"
        );
        let mut ids = std::collections::BTreeSet::new();
        for (path, method) in operations(&doc) {
            let op = &doc["paths"][&path][&method];
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(ids.insert(id.clone()), "{p}: operationId {id} twice");
            // Every route but chatsphere's health and expresschat's logout can refuse.
            let refusals = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .filter(|s| !s.starts_with('2'))
                .count();
            let open = (p == Profile::Chatsphere && path == "/api/health")
                || (p == Profile::Expresschat && path == "/logout");
            assert!(open || refusals > 0, "{p}: {method} {path} has no refusal");
            // A body over the limit is the profile's envelope too.
            if op.get("requestBody").is_some() {
                assert_eq!(
                    op["responses"]["413"]["content"]["application/json"]["schema"]["$ref"],
                    format!("#/components/schemas/{envelope}"),
                    "{p}: {method} {path}: 413"
                );
            }
            // An unexpected failure is the profile's envelope too.
            if !open {
                assert_eq!(
                    op["responses"]["500"]["content"]["application/json"]["schema"]["$ref"],
                    format!("#/components/schemas/{envelope}"),
                    "{p}: {method} {path}: 500"
                );
            }
            // A route that names a security requirement names a known scheme.
            for req in op["security"].as_array().into_iter().flatten() {
                for scheme in req.as_object().unwrap().keys() {
                    assert!(
                        doc["components"]["securitySchemes"].get(scheme).is_some(),
                        "{p}: {method} {path} names {scheme}"
                    );
                }
            }
        }
    }
    app.stop().await;
}

/// The REST modules add routes only through `routes!` (documented); a plain
/// `.route(` there would serve a path the document does not have. The profile
/// roots (`mod.rs`) add only their realtime endpoints and the demo page.
#[test]
fn rest_routes_are_added_only_through_the_document() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/profiles");
    let rest_files = [
        "expresschat/rest.rs",
        "calls/rest.rs",
        "orgchat/rest.rs",
        "chatsphere/rest.rs",
        "chatsphere/accounts.rs",
        "testcore/rest/mod.rs",
        "testcore/rest/chat.rs",
        "testcore/rest/user.rs",
    ];
    for f in rest_files {
        let text = std::fs::read_to_string(root.join(f)).unwrap();
        let plain = text
            .lines()
            .filter(|l| l.contains(".route(") || l.contains(".nest("))
            .filter(|l| !l.contains("/demo"))
            .count();
        assert_eq!(plain, 0, "{f}: a route outside `routes!`");
    }
    let allowed = [
        ("expresschat/mod.rs", &[][..]),
        ("calls/mod.rs", &[][..]),
        ("orgchat/mod.rs", &["\"/\""][..]),
        ("chatsphere/mod.rs", &[][..]),
        ("testcore/mod.rs", &["\"/ws1/\"", "\"/ws1\"", "\"/\""][..]),
    ];
    for (f, paths) in allowed {
        let text = std::fs::read_to_string(root.join(f)).unwrap();
        let routes: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(".route("))
            .map(str::trim)
            .collect();
        assert_eq!(
            routes.len(),
            paths.len(),
            "{f}: routes outside the document: {routes:?}"
        );
        for (line, path) in routes.iter().zip(paths) {
            assert!(line.contains(path), "{f}: {line}");
        }
    }
}
