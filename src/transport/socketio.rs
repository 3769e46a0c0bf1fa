//! Socket.IO plumbing: building the layer with our limits, the per-user room, the
//! ordered inbox, and the one place sockets join and leave rooms ([`join`],
//! [`leave`], [`join_where`], [`leave_where`]), which the admin UI watches
//! (`admin.rs`).
//!
//! socketioxide runs every incoming event in its own task, so two events from one
//! socket can be handled out of order. It does run the *extractors* of an event
//! synchronously, in arrival order, before spawning. The [`Enqueue`] extractor uses
//! that moment to push the event into the socket's bounded inbox; one worker per
//! socket then handles the inbox in order. The worker starts only from the connect
//! handler (after the client got its CONNECT packet), so events that arrive while
//! the connect handler still works are queued, not lost or reordered.

use std::{convert::Infallible, future::Future, sync::Arc, time::Instant};

use axum::{
    Extension,
    extract::{OriginalUri, Request},
    http::{HeaderMap, HeaderName, HeaderValue, Uri},
};
use serde::Serialize;
use socketioxide::{
    BroadcastError, SendError, SocketError, SocketIo,
    adapter::LocalAdapter,
    extract::{AckSender, Event, SocketRef, TryData},
    handler::FromMessageParts,
    layer::SocketIoLayer,
    socket::{DisconnectReason, Socket},
};
use socketioxide_core::Value;
use tokio::sync::mpsc;
use tower::{
    layer::util::{Identity, Stack},
    util::MapRequestLayer,
};
use tracing::Instrument;

use super::admin::{self, Tap};
use crate::config::Config;

/// The Socket.IO layer, behind [`own_request_parts`] and the admin UI's [`Tap`].
pub type Layer = Stack<
    SocketIoLayer,
    Stack<MapRequestLayer<fn(Request) -> Request>, Stack<Extension<Tap>, Identity>>,
>;

/// Builds a Socket.IO layer with chatwire's buffer and size limits, and the admin
/// UI's namespace `/admin` when it is configured (`ADMIN_UI_USER`). Every request
/// carries the listener's [`Tap`], so a socket finds its listener's admin hub in
/// its request parts.
pub fn layer(cfg: &Config) -> (Layer, SocketIo) {
    let (sio, io) = SocketIo::builder()
        .max_buffer_size(cfg.socket_buffer)
        .max_payload(cfg.max_frame_bytes as u64)
        .ws_max_message_size(cfg.max_frame_bytes)
        .build_layer();
    let tap = admin::Hub::install(cfg, &io);
    let layer = tower::ServiceBuilder::new()
        .layer(Extension(tap))
        .map_request(own_request_parts as fn(Request) -> Request)
        .layer(sio)
        .into_inner();
    (layer, io)
}

/// Gives the request its own copy of its URI and headers.
///
/// hyper parses them without copying: they are slices of the connection's read
/// buffer (8–16 KiB), and so is axum's `OriginalUri` extension. engineioxide keeps
/// every session's request parts for the session's whole life (`req_parts`), so
/// those slices kept each connection's whole read buffer alive (BENCHMARKS.md,
/// memory per idle connection). The copies cost a few hundred bytes.
fn own_request_parts(req: Request) -> Request {
    let (mut parts, body) = req.into_parts();
    let mut headers = HeaderMap::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(n, v);
        }
    }
    parts.headers = headers;
    if let Ok(uri) = Uri::try_from(parts.uri.to_string()) {
        parts.uri = uri;
    }
    if let Some(OriginalUri(original)) = parts.extensions.get::<OriginalUri>()
        && let Ok(uri) = Uri::try_from(original.to_string())
    {
        parts.extensions.insert(OriginalUri(uri));
    }
    Request::from_parts(parts, body)
}

/// The room every socket of a user joins: deliveries address users, not sockets.
pub fn user_room(user: i64) -> String {
    format!("user:{user}")
}

/// The room of a conversation (expresschat): its members' sockets join it, so a
/// message to a group of N is one room look-up instead of N.
pub fn conv_room(conv: i64) -> String {
    format!("conv:{conv}")
}

/// Puts `socket` in `rooms`. Every join of a chat socket goes through here (or
/// [`join_where`]), so the admin UI hears of it (`room_joined`).
pub fn join(socket: &SocketRef, rooms: impl IntoIterator<Item = String>) {
    let rooms: Vec<String> = rooms.into_iter().collect();
    match admin::Hub::of(socket) {
        Some(hub) => {
            let before = socket.rooms();
            let new: Vec<String> = rooms
                .iter()
                .filter(|r| !before.iter().any(|b| b == r.as_str()))
                .cloned()
                .collect();
            socket.join(rooms);
            hub.joined(socket, &new);
        }
        None => socket.join(rooms),
    }
}

/// Takes `socket` out of `rooms` (the admin UI hears `room_left`).
pub fn leave(socket: &SocketRef, rooms: impl IntoIterator<Item = String>) {
    let rooms: Vec<String> = rooms.into_iter().collect();
    match admin::Hub::of(socket) {
        Some(hub) => {
            let before = socket.rooms();
            let gone: Vec<String> = rooms
                .iter()
                .filter(|r| before.iter().any(|b| b == r.as_str()))
                .cloned()
                .collect();
            socket.leave(rooms);
            hub.left(socket, &gone);
        }
        None => socket.leave(rooms),
    }
}

/// Puts every socket of namespace `/` that is in any of `within` in `room`.
pub fn join_where(io: &SocketIo, within: Vec<String>, room: String) {
    if within.is_empty() {
        return;
    }
    for s in io.to(within).sockets() {
        join(&s, [room.clone()]);
    }
}

/// Takes every socket of namespace `/` that is in any of `within` out of `room`.
pub fn leave_where(io: &SocketIo, within: Vec<String>, room: String) {
    if within.is_empty() {
        return;
    }
    for s in io.to(within).sockets() {
        leave(&s, [room.clone()]);
    }
}

/// One received event, waiting in a socket's inbox.
pub struct Inbound {
    pub socket: SocketRef,
    pub event: String,
    /// The first argument, or an error when it was not valid JSON.
    pub data: Result<serde_json::Value, String>,
    pub ack: AckSender,
    pub received: Instant,
}

#[derive(Clone)]
// Boxed: a tokio channel allocates its first block of 32 slots when it is made,
// so a small slot keeps an idle socket's inbox small.
struct InboxTx(mpsc::Sender<Box<Inbound>>);

/// The receiving end, parked in the extensions until the worker starts.
#[derive(Clone)]
struct InboxRx(Arc<std::sync::Mutex<Option<mpsc::Receiver<Box<Inbound>>>>>);

/// Extractor that moves the event into the socket's inbox (see module docs).
pub struct Enqueue;

impl FromMessageParts<LocalAdapter> for Enqueue {
    type Error = Infallible;
    fn from_message_parts(
        socket: &Arc<Socket>,
        v: &mut Value,
        ack: &Option<i64>,
    ) -> Result<Self, Infallible> {
        let event = match Event::from_message_parts(socket, v, ack) {
            Ok(Event(e)) => e,
            Err(_) => return Ok(Enqueue),
        };
        let TryData(data) = TryData::<serde_json::Value>::from_message_parts(socket, v, ack)
            .unwrap_or_else(|e| match e {});
        let Ok(ack) = AckSender::from_message_parts(socket, v, ack);
        let Ok(sref) = SocketRef::from_message_parts(socket, v, &None);
        let Some(InboxTx(tx)) = socket.extensions.get::<InboxTx>() else {
            return Ok(Enqueue);
        };
        let job = Inbound {
            socket: sref.clone(),
            event,
            data: data.map_err(|e| e.to_string()),
            ack,
            received: Instant::now(),
        };
        if tx.try_send(Box::new(job)).is_err() {
            // A client that keeps this many events unprocessed is flooding us.
            metrics::counter!("chatwire_inbox_overflow_total").increment(1);
            tracing::warn!(sid = %sref.id, "inbox full; disconnecting");
            let _ = sref.disconnect();
        }
        Ok(Enqueue)
    }
}

/// Called from a connect middleware: creates the inbox and routes every event to it.
/// The socket also joins a room named after its own id: socketioxide's
/// `except(sid)` skips the sockets *in that room*, and sockets join none by default,
/// so without it "everyone but the sender" would include the sender.
pub fn prepare_inbox(socket: &SocketRef, capacity: usize) {
    socket.join(socket.id.to_string());
    let (tx, rx) = mpsc::channel(capacity.max(1));
    socket.extensions.insert(InboxTx(tx));
    socket
        .extensions
        .insert(InboxRx(Arc::new(std::sync::Mutex::new(Some(rx)))));
    socket.on_fallback(async |_: Enqueue| {});
}

/// Called from the connect handler: starts the worker that handles the inbox in
/// order with `handle`. The worker ends when the socket disconnects.
pub fn start_inbox<F, Fut>(socket: &SocketRef, profile: &'static str, mut handle: F)
where
    F: FnMut(Inbound) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let Some(InboxRx(slot)) = socket.extensions.get::<InboxRx>() else {
        return;
    };
    let Some(mut rx) = slot.lock().ok().and_then(|mut s| s.take()) else {
        return;
    };
    socket.extensions.remove::<InboxRx>();
    // The socket is set up (its user's rooms joined, greeted): the admin UI sees it.
    if let Some(hub) = admin::Hub::of(socket) {
        hub.connected(socket);
    }
    tokio::spawn(async move {
        while let Some(job) = rx.recv().await {
            let started = job.received;
            // Event names come from clients, so they go into the span (logs), not
            // into metric labels (unbounded cardinality).
            let span =
                tracing::debug_span!("event", profile, event = %job.event, sid = %job.socket.id);
            handle(*job).instrument(span).await;
            metrics::counter!("chatwire_events_total", "profile" => profile).increment(1);
            metrics::histogram!("chatwire_handler_seconds", "profile" => profile)
                .record(started.elapsed().as_secs_f64());
        }
    });
}

/// Called from the disconnect handler: closes the inbox so the worker ends after
/// the events already queued, and tells the admin UI the socket is gone.
pub fn close_inbox(socket: &SocketRef, reason: DisconnectReason) {
    socket.extensions.remove::<InboxTx>();
    socket.extensions.remove::<InboxRx>();
    if let Some(hub) = admin::Hub::of(socket) {
        hub.disconnected(socket, reason);
    }
}

/// Emits to one socket, logging (not failing) when its buffer is full or it is gone.
pub fn emit<T: Serialize + ?Sized>(socket: &SocketRef, event: &'static str, data: &T) {
    if let Err(e) = socket.emit(event, data) {
        if matches!(e, SendError::Socket(SocketError::InternalChannelFull)) {
            slow_consumers_closed(1, event);
        }
        metrics::counter!("chatwire_emit_errors_total").increment(1);
        tracing::debug!(sid = %socket.id, event, error = %e, "emit failed");
    }
}

/// A socket whose send buffer is full has stopped reading: the patched
/// socketioxide (vendor/socketioxide) closes it, so it reconnects and re-fetches
/// instead of staying connected with a gap in what it received. Counted and said.
fn slow_consumers_closed(n: usize, event: &'static str) {
    metrics::counter!("chatwire_slow_consumers_closed_total").increment(n as u64);
    tracing::warn!(
        sockets = n,
        event,
        "socket send buffer full: closing the socket (the client reconnects and re-fetches)"
    );
}

/// Counts what a broadcast could not deliver.
fn broadcast_failed(e: &BroadcastError, event: &'static str) {
    if let BroadcastError::Socket(errs) = e {
        let full = errs
            .iter()
            .filter(|e| matches!(e, SocketError::InternalChannelFull))
            .count();
        if full > 0 {
            slow_consumers_closed(full, event);
        }
    }
    metrics::counter!("chatwire_emit_errors_total").increment(1);
    tracing::debug!(event, error = %e, "broadcast emit failed");
}

/// Emits to every socket in `room` except the sockets of `except_user`;
/// `recipients` (the users addressed) only feeds the delivery counter.
pub async fn emit_to_room_except_user<T: Serialize + ?Sized>(
    io: &SocketIo,
    room: String,
    except_user: i64,
    recipients: usize,
    event: &'static str,
    data: &T,
) {
    match io
        .to(room)
        .except(user_room(except_user))
        .emit(event, data)
        .await
    {
        Ok(()) => metrics::counter!("chatwire_deliveries_total", "event" => event)
            .increment(recipients as u64),
        Err(e) => broadcast_failed(&e, event),
    }
}

/// Emits to every socket of the given users, except `except` when given.
pub async fn emit_to_users<T: Serialize + ?Sized>(
    io: &SocketIo,
    users: impl IntoIterator<Item = i64>,
    except: Option<&str>,
    event: &'static str,
    data: &T,
) {
    let rooms: Vec<String> = users.into_iter().map(user_room).collect();
    if rooms.is_empty() {
        return;
    }
    let n = rooms.len() as u64;
    let mut op = io.to(rooms);
    if let Some(sid) = except.and_then(|s| s.parse::<socketioxide::socket::Sid>().ok()) {
        op = op.except(sid);
    }
    match op.emit(event, data).await {
        Ok(()) => metrics::counter!("chatwire_deliveries_total", "event" => event).increment(n),
        Err(e) => broadcast_failed(&e, event),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_parts_keep_what_the_handshake_reads() {
        let mut req = Request::builder()
            .uri("/socket.io/?EIO=4&transport=websocket&accessToken=a%20b")
            .header("cookie", "access_token=x")
            .header("cookie", "refresh_token=y")
            .header("x-custom-name", "v")
            .body(axum::body::Body::empty())
            .unwrap();
        req.extensions_mut()
            .insert(OriginalUri(Uri::from_static("/socket.io/?EIO=4")));
        let out = own_request_parts(req);
        assert_eq!(
            out.uri().to_string(),
            "/socket.io/?EIO=4&transport=websocket&accessToken=a%20b"
        );
        let cookies: Vec<_> = out.headers().get_all("cookie").iter().collect();
        assert_eq!(cookies, ["access_token=x", "refresh_token=y"]);
        assert_eq!(out.headers()["x-custom-name"], "v");
        assert_eq!(
            out.extensions()
                .get::<OriginalUri>()
                .map(|u| u.0.to_string()),
            Some("/socket.io/?EIO=4".to_owned())
        );
    }
}
