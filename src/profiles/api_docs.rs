//! Every listener's description of its own REST API: the profile's OpenAPI
//! document at `/openapi.json` and Swagger UI reading it at `/docs`.
//!
//! The document comes from the code: each profile's `rest` module builds its
//! routes as a `utoipa_axum` `OpenApiRouter` from handlers annotated with
//! `#[utoipa::path]`, so the router it serves and the paths it documents are
//! one list (`OpenApiRouter::split_for_parts`). The Swagger UI files are
//! embedded in the binary at build time from the `utoipa-swagger-ui-vendored`
//! crate (the `vendored` feature: no download, no CDN), so `/docs` works with
//! no internet.

use utoipa::openapi::{
    OpenApi,
    security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_swagger_ui::SwaggerUi;

/// Where each listener serves its profile's OpenAPI document.
pub const DOC_PATH: &str = "/openapi.json";
/// Where each listener serves Swagger UI (`/docs` redirects to `/docs/`).
pub const UI_PATH: &str = "/docs";

/// `/openapi.json` and `/docs` for one profile's document.
pub fn routes(doc: OpenApi) -> axum::Router {
    SwaggerUi::new(UI_PATH).url(DOC_PATH, doc).into()
}

/// The document's title, version and description, and where to read more.
pub fn describe(doc: &mut OpenApi, profile: &str, description: &str) {
    doc.info.title = format!("chatwire: {profile}");
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.info.description = Some(format!(
        "{description}\n\nThe profile's differences from its original backend: \
         `docs/{profile}.md`. Realtime events (Socket.IO / WebSocket) are not part \
         of this document."
    ));
    doc.info.license = None;
}

/// The security schemes a profile's routes name in `security(...)`.
pub enum Scheme {
    /// `Authorization: Bearer <JWT>`.
    Bearer(&'static str),
    /// A cookie carrying a token: (cookie name, description).
    Cookie(&'static str, &'static str),
    /// A query parameter carrying a token: (parameter name, description).
    Query(&'static str, &'static str),
}

/// Adds security schemes under the given names to the document's components.
pub fn secure(doc: &mut OpenApi, schemes: &[(&str, Scheme)]) {
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, scheme) in schemes {
        let scheme = match scheme {
            Scheme::Bearer(description) => SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(*description))
                    .build(),
            ),
            Scheme::Cookie(cookie, description) => SecurityScheme::ApiKey(ApiKey::Cookie(
                ApiKeyValue::with_description(*cookie, *description),
            )),
            Scheme::Query(param, description) => SecurityScheme::ApiKey(ApiKey::Query(
                ApiKeyValue::with_description(*param, *description),
            )),
        };
        components.add_security_scheme(*name, scheme);
    }
}

/// Adds the refusals every operation shares, in the profile's refusal envelope
/// (the schema named `envelope`, which `transport::envelope` also uses for the
/// answers no handler writes): the 500 of an unexpected failure (the cause stays
/// in the server's log) to every operation that documents a refusal, since any
/// of them may meet a database error, and the 413 of a body over
/// `MAX_FRAME_BYTES` to every operation that takes a body. The listener-wide
/// ones (an unknown path, another method, a URI or headers too long) are told
/// in the document's description. Call it on the finished document.
pub fn refusals(doc: &mut OpenApi, envelope: &str) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let response = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(envelope)))
                    .build(),
            )
            .build()
    };
    let failure = response("An unexpected failure (the cause is in the server's log)");
    let too_large = response("The body is over `MAX_FRAME_BYTES` (the connection is then closed)");
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            let takes_body = op.request_body.is_some();
            let responses = &mut op.responses.responses;
            if takes_body {
                responses
                    .entry("413".to_owned())
                    .or_insert_with(|| too_large.clone().into());
            }
            if responses.keys().any(|status| !status.starts_with('2')) {
                responses
                    .entry("500".to_owned())
                    .or_insert_with(|| failure.clone().into());
            }
        }
    }
    let description = doc.info.description.get_or_insert_with(String::new);
    description.push_str(&format!(
        "\n\nEvery refusal is in the `{envelope}` envelope, also those no route writes: \
         an unknown path (404), a known path with another method (405, with `Allow`), \
         a path or query that does not parse (400), a URI over 64 KB (414), request \
         headers too large (431)."
    ));
}
