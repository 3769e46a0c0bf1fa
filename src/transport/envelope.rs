//! Every refusal in the profile's envelope, including those no handler wrote:
//! axum's extractor rejections (Path, Query, Json: bad percent-encoding, wrong
//! types, unsupported media type; `text/plain`), the 404 of an unknown route,
//! the 405 of a known route with another method (empty bodies), the 413 of the
//! body limit, and (through [`crate::transport::listener`]) the 400, 414 and
//! 431 hyper itself answers to a request head it cannot parse.
//!
//! A profile gives its envelope as an [`Envelope`]: the JSON body of a refusal
//! with this status and message (each profile's `error.rs`). [`layer`] rewrites
//! every error response (status 400 and up) whose body is not JSON into that
//! envelope, keeping its status and headers (`Allow`, `Retry-After`, CORS); the
//! message is the rejection's own text when it had one (axum says what did not
//! parse), else [`default_message`].

use axum::{
    Router,
    body::Body,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::Response,
};

/// A profile's refusal body for a status and a message.
pub type Envelope = fn(StatusCode, &str) -> serde_json::Value;

/// The longest rejection text kept as the message (axum's are a line or two).
const MAX_MESSAGE: usize = 512;

/// What a refusal says when nothing more precise was said.
pub fn default_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Bad request",
        404 => "Not found",
        405 => "Method not allowed",
        413 => "Request body too large",
        414 => "URI too long",
        415 => "Unsupported media type",
        431 => "Request header fields too large",
        s if s >= 500 => "Internal server error",
        _ => status.canonical_reason().unwrap_or("Request refused"),
    }
}

/// Wraps `router` so that none of its error answers leaves outside `envelope`.
pub fn layer(router: Router, envelope: Envelope) -> Router {
    router.layer(axum::middleware::map_response_with_state(envelope, enforce))
}

/// A 413 also closes the connection: the rest of an oversized body is not
/// read (the listener drains it before closing, so the client reads the answer).
async fn enforce(State(envelope): State<Envelope>, response: Response) -> Response {
    let status = response.status();
    if status.as_u16() < 400 || is_json(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_MESSAGE)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let message = match (status, text) {
        // The body limit words it "length limit exceeded"; one text for all 413s.
        (StatusCode::PAYLOAD_TOO_LARGE, _) | (_, None) => default_message(status).to_owned(),
        (_, Some(t)) => t,
    };
    let body = serde_json::to_vec(&envelope(status, &message)).unwrap_or_default();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Response::from_parts(parts, Body::from(body))
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let v = v.trim_start().to_ascii_lowercase();
            v.starts_with("application/json") || v.starts_with("application/problem+json")
        })
}

/// A whole HTTP/1.1 response carrying `envelope`'s refusal for `status`, for
/// the listener to send in place of hyper's bodiless one; it closes the
/// connection.
pub fn raw_response(envelope: Envelope, status: StatusCode) -> Vec<u8> {
    let body = serde_json::to_vec(&envelope(status, default_message(status))).unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt;

    fn envelope(status: StatusCode, message: &str) -> serde_json::Value {
        serde_json::json!({"status": status.as_u16(), "message": message})
    }

    async fn answer(router: Router, uri: &str, method: &str) -> (StatusCode, String, String) {
        let req = axum::http::Request::builder()
            .uri(uri)
            .method(method)
            .body(Body::empty())
            .unwrap();
        let r = layer(router, envelope).oneshot(req).await.unwrap();
        let ct = r.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let status = r.status();
        let body = axum::body::to_bytes(r.into_body(), 10_000).await.unwrap();
        (status, ct, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn rejections_fallbacks_and_405s_are_enveloped() {
        let router = || {
            Router::new().route(
                "/n/{id}",
                get(|axum::extract::Path(id): axum::extract::Path<u64>| async move {
                    id.to_string()
                }),
            )
        };
        let (s, ct, body) = answer(router(), "/n/%ff", "GET").await;
        assert_eq!((s.as_u16(), ct.as_str()), (400, "application/json"));
        assert!(body.contains("\"status\":400"), "{body}");
        let (s, _, body) = answer(router(), "/nowhere", "GET").await;
        assert_eq!(s, 404);
        assert_eq!(body, r#"{"message":"Not found","status":404}"#);
        let (s, _, body) = answer(router(), "/n/1", "DELETE").await;
        assert_eq!(s, 405);
        assert!(body.contains("Method not allowed"), "{body}");
        // Successes pass untouched.
        let (s, ct, body) = answer(router(), "/n/7", "GET").await;
        assert_eq!(
            (s.as_u16(), ct.as_str(), body.as_str()),
            (200, "text/plain; charset=utf-8", "7")
        );
    }

    #[test]
    fn raw_responses_are_whole_http_answers() {
        let raw = String::from_utf8(raw_response(envelope, StatusCode::URI_TOO_LONG)).unwrap();
        assert!(raw.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{raw}");
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert_eq!(body, r#"{"message":"URI too long","status":414}"#);
    }
}
