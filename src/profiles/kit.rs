//! The profile kit: the small pieces every profile needs, written once. Payload
//! parsing with the profile's own refusal text, ids sent as numbers or numeric
//! strings, timestamps, a history page as a client asks for it, the credentials
//! of a request (Bearer, `?token=`, cookies), the auth cookie, counting refusals,
//! and the task that renders bus events.

use std::{fmt::Display, future::Future, sync::Arc};

use axum::http::{HeaderMap, Uri, header};
use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, de::DeserializeOwned};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::core::{CoreRef, Error, Result, bus::Event, messages::Cursor};

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

/// An id is a number or a numeric string in the OpenAPI documents.
impl utoipa::PartialSchema for Id {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Integer))
            .item(ObjectBuilder::new().schema_type(Type::String))
            .description(Some("An id: a number or a numeric string"))
            .into()
    }
}

impl utoipa::ToSchema for Id {}

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

/// A history page as a client asks for it (issue 14, defect 11): `after` and
/// `before` name messages in the profile's own id form, `limit` is a count. The
/// texts are kept as sent, each under the name the client used (for refusals);
/// a profile reads the ids its own way ([`PageAsk::cursor`]). When none is set
/// the client asked for its original answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageAsk {
    pub after: Option<String>,
    pub before: Option<String>,
    pub limit: Option<String>,
    /// The names of the three fields as this profile spells them.
    names: [&'static str; 3],
}

/// The field names of a page in a query string and in most payloads.
pub const PAGE_FIELDS: [&str; 3] = ["after", "before", "limit"];

impl PageAsk {
    /// `after`, `before` and `limit` of a query string; empty values are absent.
    pub fn from_query(query: Option<&str>) -> PageAsk {
        let mut ask = PageAsk::none(PAGE_FIELDS);
        for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let slot = match k.as_ref() {
                "after" => &mut ask.after,
                "before" => &mut ask.before,
                "limit" => &mut ask.limit,
                _ => continue,
            };
            let v = v.trim();
            if !v.is_empty() {
                *slot = Some(v.to_owned());
            }
        }
        ask
    }

    /// The fields `names` (after, before, limit) of a JSON payload: a string or
    /// a number is its text, null or absent is absent, anything else is refused.
    pub fn from_json(v: &Value, names: [&'static str; 3]) -> Result<PageAsk> {
        let mut ask = PageAsk::none(names);
        let slots = [&mut ask.after, &mut ask.before, &mut ask.limit];
        for (name, slot) in names.into_iter().zip(slots) {
            *slot = match v.get(name) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.trim().to_owned()),
                Some(Value::Number(n)) => Some(number_text(n)),
                Some(_) => {
                    return Err(Error::invalid(format!(
                        "{name} must be a string or a number"
                    )));
                }
            };
        }
        Ok(ask)
    }

    fn none(names: [&'static str; 3]) -> PageAsk {
        PageAsk {
            after: None,
            before: None,
            limit: None,
            names,
        }
    }

    /// True when the client asked for nothing of the kind.
    pub fn is_empty(&self) -> bool {
        self.after.is_none() && self.before.is_none() && self.limit.is_none()
    }

    /// The count asked for: a string of digits (one too large for a number reads
    /// as the largest, and the core clamps it); zero, a sign, a fraction or a
    /// word is refused.
    pub fn limit(&self) -> Result<Option<u64>> {
        let Some(text) = &self.limit else {
            return Ok(None);
        };
        let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        match text.parse::<u64>() {
            _ if !digits => {}
            Ok(0) => {}
            Ok(n) => return Ok(Some(n)),
            Err(_) => return Ok(Some(u64::MAX)),
        }
        Err(Error::invalid(format!(
            "{} must be a positive integer",
            self.names[2]
        )))
    }

    /// The bounds as message ids, each read by `id` (the profile's reading of a
    /// message id as it shows them); a bound that reads as none is refused.
    pub fn cursor(&self, id: impl Fn(&str) -> Option<i64>) -> Result<Cursor> {
        let read = |text: &Option<String>, name: &str| match text {
            None => Ok(None),
            Some(t) => id(t)
                .map(Some)
                .ok_or_else(|| Error::invalid(format!("{name} must be a message id"))),
        };
        Ok(Cursor {
            after: read(&self.after, self.names[0])?,
            before: read(&self.before, self.names[1])?,
        })
    }
}

/// A JSON number as a client wrote it; a whole number too large for an integer
/// (JavaScript's `1e20`) is written out in digits, so a huge limit is clamped
/// like the same digits in a query.
fn number_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f >= 0.0 => format!("{f:.0}"),
        _ => n.to_string(),
    }
}

/// A message id as most profiles show it: a positive integer.
pub fn numeric_id(text: &str) -> Option<i64> {
    Id::parse(text).0
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
    fn page_asks_from_queries_and_payloads() {
        let q = PageAsk::from_query(Some("after=12&limit=&token=x&before=%2030"));
        assert_eq!(q.after.as_deref(), Some("12"));
        assert_eq!(q.before.as_deref(), Some("30"));
        assert_eq!(q.limit, None);
        assert!(PageAsk::from_query(None).is_empty());
        assert!(PageAsk::from_query(Some("limit=")).is_empty());
        let v = serde_json::json!({"After": "m4", "Limit": 10, "Before": null});
        let j = PageAsk::from_json(&v, ["After", "Before", "Limit"]).unwrap();
        assert_eq!(
            (j.after.as_deref(), j.before.as_deref()),
            (Some("m4"), None)
        );
        assert_eq!(j.limit().ok(), Some(Some(10)));
        let huge = serde_json::json!({"limit": 1e20, "before": 2.5, "after": -3});
        let h = PageAsk::from_json(&huge, PAGE_FIELDS).unwrap();
        assert_eq!(h.limit().ok(), Some(Some(u64::MAX)));
        assert_eq!(
            (h.before.as_deref(), h.after.as_deref()),
            (Some("2.5"), Some("-3"))
        );
        let bad = serde_json::json!({"after": [1]});
        assert_eq!(
            PageAsk::from_json(&bad, PAGE_FIELDS)
                .unwrap_err()
                .to_string(),
            "after must be a string or a number"
        );
    }

    #[test]
    fn page_limits_and_cursors_refuse_what_is_not_a_count_or_an_id() {
        let ask = |q: &str| PageAsk::from_query(Some(q));
        assert_eq!(ask("limit=7").limit().ok(), Some(Some(7)));
        assert_eq!(
            ask("limit=99999999999999999999999").limit().ok(),
            Some(Some(u64::MAX))
        );
        for bad in [
            "limit=-1",
            "limit=1.5",
            "limit=ten",
            "limit=%2B3",
            "limit=0",
            "limit=00",
        ] {
            assert_eq!(
                ask(bad).limit().unwrap_err().to_string(),
                "limit must be a positive integer",
                "{bad}"
            );
        }
        assert_eq!(
            ask("after=5&before=9").cursor(numeric_id).ok(),
            Some(Cursor {
                after: Some(5),
                before: Some(9)
            })
        );
        for bad in ["after=-5", "after=0", "after=x", "after=1e3"] {
            assert_eq!(
                ask(bad).cursor(numeric_id).unwrap_err().to_string(),
                "after must be a message id",
                "{bad}"
            );
        }
        assert_eq!(
            ask("before=abc")
                .cursor(numeric_id)
                .unwrap_err()
                .to_string(),
            "before must be a message id"
        );
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
