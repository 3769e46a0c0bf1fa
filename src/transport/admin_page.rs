//! The Socket.IO admin UI's page (`@socket.io/admin-ui` 0.5.1, its `ui/dist`
//! build without source maps) at `/admin/` on every Socket.IO listener when the
//! admin UI is on, so it works without the hosted site (admin.socket.io). The files
//! are a committed copy in `vendor/socket.io-admin-ui/` (MIT, its LICENSE beside
//! them), embedded at build time: `cargo run` needs no npm. `tests/browser` pins
//! the same npm version and checks the copy is byte-identical; to update it, see
//! `vendor/socket.io-admin-ui/README.md`.
//!
//! The page links the Material Design icon font from jsDelivr (`@mdi/font@latest`);
//! chatwire serves `index.html` with that link pointing at its own copy
//! (`vendor/mdi-font/`, `@mdi/font` 7.4.47: the CSS and its woff2 font), so the
//! icon-only buttons (disconnect, leave) show with no internet. Roboto still comes
//! from Google Fonts; offline the page falls back to the system's sans-serif.

use axum::{
    Router,
    http::header::{CACHE_CONTROL, CONTENT_TYPE},
    response::Redirect,
    routing::get,
};

macro_rules! ui {
    ($file:literal) => {
        include_bytes!(concat!("../../vendor/socket.io-admin-ui/dist/", $file))
    };
}

/// Every file of the build: path under `/admin/`, media type, bytes.
pub const FILES: [(&str, &str, &[u8]); 8] = [
    ("index.html", "text/html; charset=utf-8", ui!("index.html")),
    ("favicon.png", "image/png", ui!("favicon.png")),
    (
        "css/app.6e3b9661.css",
        "text/css; charset=utf-8",
        ui!("css/app.6e3b9661.css"),
    ),
    (
        "css/chunk-vendors.9f55d012.css",
        "text/css; charset=utf-8",
        ui!("css/chunk-vendors.9f55d012.css"),
    ),
    (
        "img/logo-dark.3727fec5.svg",
        "image/svg+xml",
        ui!("img/logo-dark.3727fec5.svg"),
    ),
    (
        "img/logo-light.73342c25.svg",
        "image/svg+xml",
        ui!("img/logo-light.73342c25.svg"),
    ),
    (
        "js/app.0d7d7845.js",
        "text/javascript; charset=utf-8",
        ui!("js/app.0d7d7845.js"),
    ),
    (
        "js/chunk-vendors.934c03ff.js",
        "text/javascript; charset=utf-8",
        ui!("js/chunk-vendors.934c03ff.js"),
    ),
];

/// The icon font's stylesheet as the page links it from the CDN, and where
/// chatwire serves its own copy (relative to `/admin/`; the stylesheet finds its
/// font at `../fonts/`, i.e. `/admin/mdi/fonts/`).
const MDI_CDN: &str =
    "https://cdn.jsdelivr.net/npm/@mdi/font@latest/css/materialdesignicons.min.css";
const MDI_LOCAL: &str = "mdi/css/materialdesignicons.min.css";

/// The icon font's files, served under `/admin/mdi/`.
pub const MDI_FILES: [(&str, &str, &[u8]); 2] = [
    (
        "css/materialdesignicons.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../vendor/mdi-font/css/materialdesignicons.min.css"),
    ),
    (
        "fonts/materialdesignicons-webfont.woff2",
        "font/woff2",
        include_bytes!("../../vendor/mdi-font/fonts/materialdesignicons-webfont.woff2"),
    ),
];

/// The page with its icon font linked from this listener.
fn index_html() -> Vec<u8> {
    let page = String::from_utf8_lossy(FILES[0].2);
    page.replace(MDI_CDN, MDI_LOCAL).into_bytes()
}

/// `/admin/` and its files; `/admin` redirects so the page's relative links
/// resolve. The page is `index.html` (no cache); the other files are named by
/// their content's hash, so they may be kept.
pub fn router() -> Router {
    let mut router = Router::new().route("/admin", get(|| async { Redirect::to("/admin/") }));
    for (file, mime, body) in FILES {
        let (path, cache) = if file == "index.html" {
            ("/admin/".to_owned(), "no-cache")
        } else {
            (
                format!("/admin/{file}"),
                "public, max-age=604800, immutable",
            )
        };
        let headers = [(CONTENT_TYPE, mime), (CACHE_CONTROL, cache)];
        if file == "index.html" {
            let page = index_html();
            router = router.route(&path, get(move || async move { (headers, page) }));
        } else {
            router = router.route(&path, get(move || async move { (headers, body) }));
        }
    }
    for (file, mime, body) in MDI_FILES {
        let headers = [
            (CONTENT_TYPE, mime),
            (CACHE_CONTROL, "public, max-age=604800"),
        ];
        let path = format!("/admin/mdi/{file}");
        router = router.route(&path, get(move || async move { (headers, body) }));
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list above names every file of the vendored build, and only those.
    #[test]
    fn every_vendored_file_is_served() {
        let root = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/vendor/socket.io-admin-ui/dist"
        );
        let mut on_disk = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(root)];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else {
                    let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                    on_disk.push(rel);
                }
            }
        }
        on_disk.sort();
        let mut listed: Vec<String> = FILES.iter().map(|(f, _, _)| f.to_string()).collect();
        listed.sort();
        assert_eq!(listed, on_disk);
    }

    /// The served page links the icon font from the listener, not the CDN.
    #[test]
    fn the_page_links_its_own_icon_font() {
        assert_eq!(FILES[0].0, "index.html");
        let page = String::from_utf8(index_html()).unwrap();
        assert!(!page.contains(MDI_CDN));
        assert!(
            page.contains(&format!("href={MDI_LOCAL}"))
                || page.contains(&format!("href=\"{MDI_LOCAL}\"")),
            "{page}"
        );
    }
}
