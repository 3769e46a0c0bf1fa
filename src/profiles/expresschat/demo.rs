//! The demo chat page of `examples/web/` (`CHATWIRE_DEMO_PAGE`): static files,
//! not part of the REST API or its OpenAPI document.

use axum::{
    Router,
    http::header::{CACHE_CONTROL, CONTENT_TYPE},
    response::Redirect,
    routing::get,
};

/// The demo chat page of `examples/web/` at `/demo/` (`CHATWIRE_DEMO_PAGE`). Its
/// files are embedded at build time, so the binary serves them from any working
/// directory; `/demo` itself redirects, so the page's relative links resolve.
pub fn page() -> Router {
    macro_rules! web {
        ($file:literal) => {
            include_str!(concat!("../../../examples/web/", $file))
        };
    }
    const HTML: &str = "text/html; charset=utf-8";
    const CSS: &str = "text/css; charset=utf-8";
    const JS: &str = "text/javascript; charset=utf-8";
    const FILES: [(&str, &str, &str); 4] = [
        ("/demo/", HTML, web!("index.html")),
        ("/demo/style.css", CSS, web!("style.css")),
        ("/demo/app.js", JS, web!("app.js")),
        ("/demo/socket.io.min.js", JS, web!("socket.io.min.js")),
    ];
    let mut router = Router::new().route("/demo", get(|| async { Redirect::to("/demo/") }));
    for (path, mime, body) in FILES {
        let headers = [(CONTENT_TYPE, mime), (CACHE_CONTROL, "no-cache")];
        router = router.route(path, get(move || async move { (headers, body) }));
    }
    router
}
