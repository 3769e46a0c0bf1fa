//! orgchat over a raw WebSocket at `/`: the upgrade needs a valid access token
//! (`?token=` or `Authorization: Bearer`; refused with 401 otherwise); client
//! frames are `{"event": name, "data": {...}}`, handled in arrival order by the
//! shared event table; failures answer `{"type": "error", "message"}` and keep the
//! connection open.

use std::sync::Arc;

use axum::{
    Json,
    extract::{
        State,
        ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    Ctx,
    realtime::{self, Link},
    wire::error_message,
};
use crate::core::{Error, identity::auth, identity::organizations, presence};
use crate::transport::ws::{self, Conn, Frame};

/// `GET /` with a WebSocket upgrade.
pub async fn upgrade(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    uri: Uri,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        return (
            StatusCode::UPGRADE_REQUIRED,
            Json(json!({"message": "This endpoint expects a WebSocket upgrade"})),
        )
            .into_response();
    };
    let user_id = match authenticate(&ctx, &headers, &uri).await {
        Ok(u) => u,
        Err(message) => {
            return (StatusCode::UNAUTHORIZED, Json(json!({"message": message}))).into_response();
        }
    };
    let hub = ctx.hub.clone();
    ws::limit(upgrade, ctx.max_frame_bytes).on_upgrade(move |socket| async move {
        let fctx = ctx.clone();
        let opened = async {
            let _ = presence::connected(&ctx.core, user_id).await;
        };
        ws::run(socket, hub, user_id, opened, move |conn, frame| {
            let ctx = fctx.clone();
            async move { on_frame(&ctx, &conn, frame).await }
        })
        .await;
        let _ = presence::disconnected(&ctx.core, user_id).await;
    })
}

async fn authenticate(ctx: &Ctx, headers: &HeaderMap, uri: &Uri) -> Result<i64, &'static str> {
    let token = crate::profiles::kit::request_token(headers, uri)
        .ok_or("Unauthorized: no token provided")?;
    let user_id = auth::verify_access(&ctx.core, &token)
        .map_err(|_| "Unauthorized: invalid or expired token")?;
    organizations::member(&ctx.core, user_id)
        .await
        .map_err(|_| "Unauthorized: invalid or expired token")?;
    Ok(user_id)
}

async fn on_frame(ctx: &Ctx, conn: &Arc<Conn>, frame: Frame) {
    let (event, data) = match parse(frame) {
        Ok(parsed) => parsed,
        Err(message) => {
            super::count_error(&Error::invalid(""), "", conn.user_id);
            conn.send_json(&json!({"type": "error", "message": message}));
            return;
        }
    };
    let link = Link::Raw(conn);
    if let Err(e) = realtime::handle(ctx, &link, conn.user_id, &event, data).await {
        super::count_error(&e, &event, conn.user_id);
        conn.send_json(&json!({"type": "error", "message": error_message(&e), "event": event}));
    }
}

/// A frame's event name and data (`Err` when `data` is absent, so the event can
/// say which payload it wanted).
type Parsed = (String, Result<Value, String>);

fn parse(frame: Frame) -> Result<Parsed, &'static str> {
    let text = match frame {
        Frame::Text(t) => t,
        Frame::Binary(_) => return Err("Binary frames are not supported; send JSON text"),
    };
    let value: Value = serde_json::from_str(&text).map_err(|_| "Invalid JSON")?;
    let Value::Object(mut obj) = value else {
        return Err("A frame must be a JSON object {\"event\", \"data\"}");
    };
    let event = match obj.remove("event") {
        Some(Value::String(e)) if !e.is_empty() => e,
        _ => return Err("A frame needs an \"event\" name (a string)"),
    };
    let data = obj
        .remove("data")
        .ok_or_else(|| "data is required".to_owned());
    Ok((event, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_or_say_why_not() {
        let t = |s: &str| parse(Frame::Text(s.into()));
        assert_eq!(t("nope").unwrap_err(), "Invalid JSON");
        assert!(t("[1]").is_err());
        assert!(t(r#"{"event": 3}"#).is_err());
        let (e, d) = t(r#"{"event":"joinRoom","data":{"roomId":1}}"#).unwrap();
        assert_eq!(e, "joinRoom");
        assert_eq!(d.unwrap(), json!({"roomId": 1}));
        assert!(t(r#"{"event":"joinRoom"}"#).unwrap().1.is_err());
    }
}
