//! What chatsphere keeps per live WebSocket connection beside the hub's
//! registry: the token it was opened with (re-checked before every frame and
//! named by revocation) and the dialect its latest join chose (render.rs reads
//! it to word each delivery).

use std::sync::atomic::{AtomicU8, Ordering};

use axum::extract::ws::close_code;

use super::Ctx;

/// Which frames a connection speaks, chosen by its latest join frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// No join yet: the connection is in no room, so nothing is delivered to it.
    Unknown = 0,
    /// `join` / `message`: deliveries are `{type:"new_message", message}`.
    Server = 1,
    /// `join_room` / `new_message`: deliveries are flat `new_message` frames.
    Ui = 2,
}

/// One connection's state. The dialect is atomic because the renderer task reads
/// it while the connection's own frames change it.
pub struct ConnState {
    /// The API token the connection was opened with (re-checked per frame).
    pub token_id: i64,
    /// A client token: sees every room, and sends as its own user.
    pub client: bool,
    dialect: AtomicU8,
}

impl ConnState {
    pub fn new(token_id: i64, client: bool) -> Self {
        ConnState {
            token_id,
            client,
            dialect: AtomicU8::new(Dialect::Unknown as u8),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self.dialect.load(Ordering::Relaxed) {
            1 => Dialect::Server,
            2 => Dialect::Ui,
            _ => Dialect::Unknown,
        }
    }

    pub fn set_dialect(&self, d: Dialect) {
        self.dialect.store(d as u8, Ordering::Relaxed);
    }
}

/// Closes the live connections opened with a token that was just revoked (a
/// token revoked elsewhere is caught at the connection's next frame instead).
pub fn cut_off(ctx: &Ctx, user_id: i64, token_id: i64) {
    for c in ctx.hub.of_users(&[user_id]) {
        if ctx.conns.get(&c.id).is_some_and(|s| s.token_id == token_id) {
            c.close(close_code::POLICY, "token revoked");
        }
    }
}
