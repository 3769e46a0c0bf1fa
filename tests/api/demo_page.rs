//! The demo chat page of `examples/web/` on the expresschat listener: only when
//! asked (`CHATWIRE_DEMO_PAGE` / `--demo-page`), and served from the binary.

use chatwire::config::Profile;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn the_demo_page_is_off_by_default() {
    let app = spawn_app().await;
    let r = reqwest::get(app.url(Profile::Expresschat, "/demo/"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn the_demo_page_serves_the_files_of_examples_web() {
    let app = spawn_app_with(&["--demo-page"]).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // `/demo` moves to `/demo/`, so the page's relative links resolve under it.
    let r = client
        .get(app.url(Profile::Expresschat, "/demo"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(r.headers()["location"], "/demo/");
    let root = env!("CARGO_MANIFEST_DIR");
    for (path, file, mime) in [
        ("/demo/", "index.html", "text/html"),
        ("/demo/style.css", "style.css", "text/css"),
        ("/demo/app.js", "app.js", "text/javascript"),
        (
            "/demo/socket.io.min.js",
            "socket.io.min.js",
            "text/javascript",
        ),
    ] {
        let r = client
            .get(app.url(Profile::Expresschat, path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with(mime), "{path}: {content_type}");
        let on_disk = std::fs::read_to_string(format!("{root}/examples/web/{file}")).unwrap();
        assert_eq!(r.text().await.unwrap(), on_disk, "{path}");
    }
    // Only the expresschat listener serves it.
    let r = reqwest::get(app.url(Profile::Calls, "/demo/"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}
