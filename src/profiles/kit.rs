//! The profile kit: the small pieces every profile needs, written once. Payload
//! parsing with the profile's own refusal text, ids sent as numbers or numeric
//! strings, timestamps, the credentials of a request (Bearer, `?token=`, cookies),
//! the auth cookie, counting refusals, and the task that renders bus events.

use std::{fmt::Display, future::Future, sync::Arc};

use axum::http::{HeaderMap, Uri, header};
use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, de::DeserializeOwned};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::core::{CoreRef, Error, Result, bus::Event};

/// ISO 8601 UTC with milliseconds (`2025-01-08T11:35:04.618Z`), as every
/// original serialized its dates (MongoDB documents and JavaScript `Date`).
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A text field that is set and not blank, trimmed.
pub fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Parses a payload into its typed shape; a mistyped one is `InvalidData` whose
/// text is `refusal` followed by what serde found wrong (each profile words its
/// refusals as its original did).
pub fn payload<T: DeserializeOwned>(value: Value, refusal: &str) -> Result<T> {
    serde_json::from_value(value).map_err(|e| Error::invalid(format!("{refusal}{e}")))
}

/// An id as a client sends it: a number or a numeric string. Anything else that
/// is a string (`"message-123"`), a fraction or null names nothing (`None`), so
/// it is answered as not found rather than as malformed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Id(pub Option<i64>);

impl Id {
    /// The id in a path segment or a string field.
    pub fn parse(s: &str) -> Id {
        Id(s.trim().parse().ok().filter(|n: &i64| *n > 0))
    }

    /// The id, or `NotFound(what)` when it names nothing.
    pub fn get(self, what: &'static str) -> Result<i64> {
        self.0.ok_or(Error::NotFound(what))
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an id (a number or a numeric string)")
            }
            fn visit_i64<E>(self, n: i64) -> std::result::Result<Id, E> {
                Ok(Id(Some(n).filter(|n| *n > 0)))
            }
            fn visit_u64<E>(self, n: u64) -> std::result::Result<Id, E> {
                Ok(Id(i64::try_from(n).ok().filter(|n| *n > 0)))
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<Id, E> {
                Ok(Id(None))
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<Id, E> {
                Ok(Id::parse(s))
            }
            fn visit_unit<E>(self) -> std::result::Result<Id, E> {
                Ok(Id(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// The token of `Authorization: Bearer <token>` (the scheme in any case).
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// A query parameter of the request, when set and not empty.
pub fn query_param(uri: &Uri, name: &str) -> Option<String> {
    form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// A cookie of the request, when set and not empty.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| Cookie::parse(c.trim().to_owned()).ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// The access token of a WebSocket or REST request: `Authorization: Bearer`, else
/// the `token` query parameter (browsers cannot set headers on a WebSocket).
pub fn request_token(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    bearer(headers).or_else(|| query_param(uri, "token"))
}

/// An auth cookie as every profile sets one: httpOnly, SameSite=Lax, path `/`,
/// living as long as the token it carries; `Secure` when configured.
pub fn auth_cookie(
    name: &'static str,
    value: String,
    ttl: std::time::Duration,
    secure: bool,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .max_age(cookie::time::Duration::seconds(ttl.as_secs() as i64))
        .build()
}

/// Counts and logs a refused request, event or frame (the client got its answer
/// on the profile's error channel already). `user` is None before anyone signed in.
pub fn count_refusal(
    profile: &'static str,
    code: &'static str,
    what: &str,
    user: Option<i64>,
    why: &dyn Display,
) {
    metrics::counter!("chatwire_errors_total", "profile" => profile, "code" => code).increment(1);
    tracing::debug!(profile, what, user, code, why = %why, "refused");
}

/// Renders every bus event with `render` until shutdown: the one task through
/// which a profile's connections receive what happened elsewhere.
pub fn spawn_renderer<F, Fut>(
    profile: &'static str,
    core: &CoreRef,
    shutdown: CancellationToken,
    render: F,
) where
    F: FnMut(Arc<Event>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let rx = core.bus.subscribe();
    tokio::spawn(async move {
        tokio::select! {
            _ = crate::core::bus::consume(profile, rx, render) => {}
            _ = shutdown.cancelled() => {}
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_numbers_or_numeric_strings() {
        let id = |v: Value| serde_json::from_value::<Id>(v).unwrap();
        assert_eq!(id(serde_json::json!(7)), Id(Some(7)));
        assert_eq!(id(serde_json::json!("7")), Id(Some(7)));
        assert_eq!(id(serde_json::json!("message-123")), Id(None));
        assert_eq!(id(serde_json::json!(-1)), Id(None));
        assert_eq!(id(serde_json::json!(1.5)), Id(None));
        assert_eq!(id(Value::Null), Id(None));
        assert!(serde_json::from_value::<Id>(serde_json::json!(true)).is_err());
        assert!(serde_json::from_value::<Id>(serde_json::json!({})).is_err());
    }

    #[test]
    fn credentials_come_from_bearer_query_or_cookie() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "bearer abc ".parse().unwrap());
        h.insert(header::COOKIE, "a=1; accessToken=tok".parse().unwrap());
        assert_eq!(bearer(&h).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "accessToken").as_deref(), Some("tok"));
        assert_eq!(cookie(&h, "missing"), None);
        let uri: Uri = "/ws?token=q&x=".parse().unwrap();
        assert_eq!(query_param(&uri, "token").as_deref(), Some("q"));
        assert_eq!(query_param(&uri, "x"), None);
        assert_eq!(request_token(&HeaderMap::new(), &uri).as_deref(), Some("q"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        let t = DateTime::parse_from_rfc3339("2025-01-08T11:35:04.618123Z").unwrap();
        assert_eq!(timestamp(t.with_timezone(&Utc)), "2025-01-08T11:35:04.618Z");
    }
}
