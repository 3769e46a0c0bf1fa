//! Socket.IO plumbing: building the layer with our limits, the per-user room, the
//! ordered inbox, and the one place sockets join and leave rooms ([`join`],
//! [`leave`], [`join_where`], [`leave_where`]), which the admin UI watches
//! (`admin.rs`).
//!
//! socketioxide runs every incoming event in its own task, so two events from one
//! socket can be handled out of order. It does run the *extractors* of an event
//! synchronously, in arrival order, before spawning. The [`Enqueue`] extractor uses
//! that moment to push the event into the socket's bounded inbox; one task at a
//! time (the task of the event that found the inbox unattended) then handles the
//! inbox in order until it is empty, so an idle socket holds no task. Handling
//! starts only from the connect handler (after the client got its CONNECT
//! packet), so events that arrive while the connect handler still works are
//! queued, not lost or reordered.

use std::{collections::VecDeque, convert::Infallible, future::Future, sync::Arc, time::Instant};

use futures_util::future::BoxFuture;

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
        .ws_read_buffer_size(WS_READ_BUFFER)
        .ping_interval(std::time::Duration::from_millis(
            cfg.socketio_ping_interval_ms,
        ))
        .ping_timeout(std::time::Duration::from_millis(
            cfg.socketio_ping_timeout_ms,
        ))
        .connect_timeout(std::time::Duration::from_millis(
            cfg.socketio_connect_timeout_ms,
        ))
        .build_layer();
    let tap = admin::Hub::install(cfg, &io);
    let layer = tower::ServiceBuilder::new()
        .layer(Extension(tap))
        .map_request(own_request_parts as fn(Request) -> Request)
        .layer(sio)
        .into_inner();
    (layer, io)
}

/// Bytes tungstenite reads from a WebSocket at a time, into a buffer every
/// connection keeps for its whole life (engineioxide's default: 4 KiB). Socket.IO
/// frames from chat clients are a few hundred bytes, so 1 KiB still takes several
/// per read; a larger frame grows the buffer to its size (issue 13: 3 KiB less
/// per idle connection).
const WS_READ_BUFFER: usize = 1024;

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
    let same = parts
        .extensions
        .get::<OriginalUri>()
        .map(|o| o.0 == parts.uri);
    if let Ok(uri) = owned_uri(&parts.uri) {
        parts.uri = uri;
    }
    match same {
        // Served at the root (the usual case): one copy for both.
        Some(true) => {
            parts.extensions.insert(OriginalUri(parts.uri.clone()));
        }
        Some(false) => {
            if let Some(OriginalUri(original)) = parts.extensions.get::<OriginalUri>()
                && let Ok(uri) = owned_uri(original)
            {
                parts.extensions.insert(OriginalUri(uri));
            }
        }
        None => {}
    }
    Request::from_parts(parts, body)
}

/// A copy of `uri` in an allocation of its own size (formatting grows a string
/// by doubling, and the URI keeps that whole string).
fn owned_uri(uri: &Uri) -> Result<Uri, axum::http::uri::InvalidUri> {
    let mut s = uri.to_string();
    s.shrink_to_fit();
    Uri::try_from(s)
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

/// What a handler of a pipelined inbox leaves to finish after it returns (a send's
/// commit and its outcome): see [`start_pipelined_inbox`].
pub type Tail = BoxFuture<'static, ()>;

type Handler = Arc<dyn Fn(Inbound) -> BoxFuture<'static, Option<Tail>> + Send + Sync>;

/// How a socket's events are handled: its profile (for metrics and logs), the
/// handler, and which events may start while earlier ones' tails are unfinished.
#[derive(Clone)]
struct Route {
    profile: &'static str,
    handler: Handler,
    pipelined: fn(&str) -> bool,
}

/// Most tails one socket keeps unfinished; the next event then waits for the oldest.
const MAX_TAILS: usize = 64;

/// A socket's inbox: its queued events and who handles them.
///
/// No task waits on an idle socket's inbox: the event whose arrival finds no one
/// handling the inbox hands it to its own task (the one socketioxide spawns for
/// every event), which handles the queued events in order until the queue is
/// empty. The state below decides, under one lock, that at most one task handles
/// a socket's events at a time, so they stay in arrival order. An idle socket
/// keeps this struct and nothing else (a parked worker task and its channel used
/// to cost a few KiB per connection: issue 13).
struct Inbox {
    capacity: usize,
    state: std::sync::Mutex<InboxState>,
}

struct InboxState {
    queue: VecDeque<Inbound>,
    /// Set by [`start_inbox`]; until then events only queue.
    handler: Option<Route>,
    /// A task is handling the queue.
    running: bool,
}

#[derive(Clone)]
struct InboxExt(Arc<Inbox>);

impl Inbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, InboxState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Handles queued events in order until the queue is empty. Only the task that
    /// set `running` calls this.
    ///
    /// A pipelined event's handler returns a tail (its send queued, the commit and
    /// its outcome still to come); the next event starts at once if it may
    /// ([`Route::pipelined`]), else after every tail, and tails finish in arrival
    /// order. The queue counts as handled only once its tails are finished.
    async fn drain(self: Arc<Self>) {
        let mut guard = Running(Some(self.clone()));
        let mut tails: VecDeque<(tracing::instrument::Instrumented<Tail>, Instant)> =
            VecDeque::new();
        let mut profile = "";
        loop {
            let next = {
                let mut st = self.lock();
                match (st.queue.pop_front(), st.handler.clone()) {
                    (Some(job), Some(route)) => Some((job, route)),
                    (job, _) => {
                        debug_assert!(job.is_none(), "running without a handler");
                        if tails.is_empty() {
                            st.running = false;
                            // Give an idle socket's queue memory back.
                            st.queue = VecDeque::new();
                            guard.0 = None;
                            return;
                        }
                        None
                    }
                }
            };
            // Queue empty with tails unfinished: finish them (events that arrive
            // meanwhile queue), then look again.
            let Some((job, route)) = next else {
                finish(&mut tails, profile, 0).await;
                continue;
            };
            profile = route.profile;
            if !(route.pipelined)(&job.event) {
                finish(&mut tails, profile, 0).await;
            }
            let started = job.received;
            // Event names come from clients, so they go into the span (logs), not
            // into metric labels (unbounded cardinality).
            let span =
                tracing::debug_span!("event", profile, event = %job.event, sid = %job.socket.id);
            let tail = (route.handler)(job).instrument(span.clone()).await;
            metrics::counter!("chatwire_events_total", "profile" => profile).increment(1);
            match tail {
                Some(tail) => {
                    tails.push_back((tail.instrument(span), started));
                    finish(&mut tails, profile, MAX_TAILS).await;
                }
                None => handled(profile, started),
            }
        }
    }
}

/// Finishes the oldest tails until at most `keep` are left.
async fn finish(
    tails: &mut VecDeque<(tracing::instrument::Instrumented<Tail>, Instant)>,
    profile: &'static str,
    keep: usize,
) {
    while tails.len() > keep {
        let Some((tail, started)) = tails.pop_front() else {
            return;
        };
        tail.await;
        handled(profile, started);
    }
}

fn handled(profile: &'static str, received: Instant) {
    metrics::histogram!("chatwire_handler_seconds", "profile" => profile)
        .record(received.elapsed().as_secs_f64());
}

/// Clears `running` when a handler panics (or the runtime drops the task), so the
/// next event handles the queue again.
struct Running(Option<Arc<Inbox>>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(inbox) = self.0.take() {
            inbox.lock().running = false;
        }
    }
}

/// Extractor that moves the event into the socket's inbox (see module docs). It
/// carries the inbox when this event's task is to handle the queue.
pub struct Enqueue(Option<Arc<Inbox>>);

impl FromMessageParts<LocalAdapter> for Enqueue {
    type Error = Infallible;
    fn from_message_parts(
        socket: &Arc<Socket>,
        v: &mut Value,
        ack: &Option<i64>,
    ) -> Result<Self, Infallible> {
        let event = match Event::from_message_parts(socket, v, ack) {
            Ok(Event(e)) => e,
            Err(_) => return Ok(Enqueue(None)),
        };
        let TryData(data) = TryData::<serde_json::Value>::from_message_parts(socket, v, ack)
            .unwrap_or_else(|e| match e {});
        let Ok(ack) = AckSender::from_message_parts(socket, v, ack);
        let Ok(sref) = SocketRef::from_message_parts(socket, v, &None);
        let Some(InboxExt(inbox)) = socket.extensions.get::<InboxExt>() else {
            return Ok(Enqueue(None));
        };
        let job = Inbound {
            socket: sref.clone(),
            event,
            data: data.map_err(|e| e.to_string()),
            ack,
            received: Instant::now(),
        };
        let mut st = inbox.lock();
        if st.queue.len() >= inbox.capacity {
            drop(st);
            // A client that keeps this many events unprocessed is flooding us.
            metrics::counter!("chatwire_inbox_overflow_total").increment(1);
            tracing::warn!(sid = %sref.id, "inbox full; disconnecting");
            let _ = sref.disconnect();
            return Ok(Enqueue(None));
        }
        st.queue.push_back(job);
        let start = st.handler.is_some() && !st.running;
        st.running |= start;
        drop(st);
        Ok(Enqueue(start.then_some(inbox)))
    }
}

/// Called from a connect middleware: creates the inbox and routes every event to it.
///
/// The socket joins no room named after its own id (Node's sockets do): that room
/// cost about 0.3 KiB per connection in socketioxide's room map (issue 13), and
/// chatwire only needed it for "everyone but the sender", which `emit_to_users` asks
/// as a broadcast from the sender's socket. The admin UI shows the room as Node does
/// (`admin::shown_rooms`).
pub fn prepare_inbox(socket: &SocketRef, capacity: usize) {
    socket.extensions.insert(InboxExt(Arc::new(Inbox {
        capacity: capacity.max(1),
        state: std::sync::Mutex::new(InboxState {
            queue: VecDeque::new(),
            handler: None,
            running: false,
        }),
    })));
    socket.on_fallback(async |Enqueue(inbox): Enqueue| {
        if let Some(inbox) = inbox {
            inbox.drain().await;
        }
    });
}

/// Called from the connect handler: from now on the inbox's events are handled in
/// order with `handle`, starting with those that arrived meanwhile.
pub fn start_inbox<F, Fut>(socket: &SocketRef, profile: &'static str, handle: F)
where
    F: Fn(Inbound) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let handler: Handler = Arc::new(move |job| {
        let fut = handle(job);
        Box::pin(async move {
            fut.await;
            None
        })
    });
    start(socket, profile, |_| false, handler);
}

/// As [`start_inbox`], for a profile whose sends may overlap their commits: for an
/// event that `pipelined` accepts, `handle` may return a [`Tail`] (the rest of the
/// event's work, such as awaiting its message's commit and reporting a refusal).
/// The next pipelined event starts before that tail finishes; any other event
/// starts only after every tail; tails finish in arrival order. So a burst of one
/// socket's messages is queued for the writer together (one batch, not one each),
/// while every outcome still comes out in arrival order.
pub fn start_pipelined_inbox<F, Fut>(
    socket: &SocketRef,
    profile: &'static str,
    pipelined: fn(&str) -> bool,
    handle: F,
) where
    F: Fn(Inbound) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<Tail>> + Send + 'static,
{
    let handler: Handler = Arc::new(move |job| Box::pin(handle(job)));
    start(socket, profile, pipelined, handler);
}

fn start(socket: &SocketRef, profile: &'static str, pipelined: fn(&str) -> bool, handler: Handler) {
    let Some(InboxExt(inbox)) = socket.extensions.get::<InboxExt>() else {
        return;
    };
    let start = {
        let mut st = inbox.lock();
        if st.handler.is_some() {
            return;
        }
        st.handler = Some(Route {
            profile,
            handler,
            pipelined,
        });
        let start = !st.queue.is_empty() && !st.running;
        st.running |= start;
        start
    };
    // The socket is set up (its user's rooms joined, greeted): the admin UI sees it.
    if let Some(hub) = admin::Hub::of(socket) {
        hub.connected(socket);
    }
    if start {
        tokio::spawn(inbox.drain());
    }
}

/// Called from the disconnect handler: no more events enter the inbox (those
/// already queued are still handled), and the admin UI hears the socket is gone.
pub fn close_inbox(socket: &SocketRef, reason: DisconnectReason) {
    // The queued events hold the socket: a queue nobody handles (the socket
    // closed before its connect handler started the inbox) must go with it.
    if let Some(InboxExt(inbox)) = socket.extensions.remove::<InboxExt>() {
        let mut st = inbox.lock();
        if !st.running {
            st.queue.clear();
        }
    }
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
    // A broadcast from a socket skips that socket (socketioxide's `except(sid)` would
    // skip the sockets in a room named `sid`, and sockets are in none). A sender gone
    // meanwhile is in no room any more.
    let sender = except
        .and_then(|s| s.parse::<socketioxide::socket::Sid>().ok())
        .and_then(|sid| io.get_socket(sid));
    let op = match sender {
        Some(s) => s.to(rooms),
        None => io.to(rooms),
    };
    match op.emit(event, data).await {
        Ok(()) => metrics::counter!("chatwire_deliveries_total", "event" => event).increment(n),
        Err(e) => broadcast_failed(&e, event),
    }
}

/// Shutdown: tells every connected client the server disconnects it (a
/// Socket.IO DISCONNECT packet: the client's `disconnect` reason is `io server
/// disconnect`, and it does not reconnect on its own to a server going away),
/// lets polling clients collect that packet for a moment, then closes every
/// underlying Engine.IO connection.
pub async fn close(io: &SocketIo) {
    let mut any = false;
    for ns in io.nsps() {
        any |= !ns.clone().sockets().is_empty();
        if let Err(e) = ns.disconnect().await {
            tracing::debug!(error = %e, "disconnect at shutdown");
        }
    }
    // A long-polling client has its GET pending and gets the packet at once; a
    // bounded pause covers one between two polls.
    if any {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    io.close().await;
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

    #[test]
    fn owned_parts_share_one_copy_of_an_unchanged_uri() {
        let uri = "/socket.io/?EIO=4&transport=websocket";
        let mut req = Request::builder()
            .uri(uri)
            .body(axum::body::Body::empty())
            .unwrap();
        req.extensions_mut()
            .insert(OriginalUri(Uri::from_static(uri)));
        let out = own_request_parts(req);
        assert_eq!(out.uri().to_string(), uri);
        assert_eq!(
            out.extensions().get::<OriginalUri>().map(|u| &u.0),
            Some(out.uri())
        );
    }
}
