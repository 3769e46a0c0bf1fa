//! Raw WebSocket plumbing for the profiles that are not Socket.IO (orgchat,
//! chatsphere, testcore); it knows no profile's frames.
//!
//! - [`Hub`]: the per-profile registry of live connections, keyed by user id (a
//!   user may have many tabs) and by joined room (rooms are joined per connection).
//! - [`run`]: serves one upgraded connection. Frames are handled one at a time in
//!   arrival order (the handler is awaited before the next frame is read), so a
//!   connection's events never overtake each other. A writer task per connection
//!   owns the sending half; everything sent to a connection goes through its
//!   bounded queue, so deliveries never wait on a slow client.
//! - Limits: frames and messages above the configured size are refused by the
//!   protocol layer and the connection is closed with 1009; a client that lets its
//!   queue fill up is closed with 1008; a silent one is closed after [`IDLE`]; one
//!   that sends frames faster than its [`FloodLimit`] is closed with 1008 (the
//!   raw-WebSocket side of Socket.IO's full-inbox cut-off).

use std::{
    collections::HashSet,
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use dashmap::DashMap;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::core::bus::ConnId;

/// How often the server pings an idle connection.
pub const PING_EVERY: Duration = Duration::from_secs(25);
/// A connection from which nothing (not even a pong) arrived for this long is closed.
pub const IDLE: Duration = Duration::from_secs(60);

/// How fast a connection may send frames: `burst` at once, then `per_second`
/// (a token bucket). Frames are handled one at a time, so a flooder is slowed by
/// its own backlog but never stopped by it; past this bound it is closed.
#[derive(Clone, Copy, Debug)]
pub struct FloodLimit {
    pub burst: u32,
    pub per_second: u32,
}

impl FloodLimit {
    /// `INBOX_CAPACITY` frames at once (as many events as a Socket.IO connection
    /// may have waiting), then `WS_FRAMES_PER_SECOND`.
    pub fn from_config(cfg: &crate::config::Config) -> FloodLimit {
        FloodLimit {
            burst: u32::try_from(cfg.inbox_capacity).unwrap_or(u32::MAX),
            per_second: cfg.ws_frames_per_second,
        }
    }
}

/// One connection's allowance against its [`FloodLimit`]: a few words on the
/// reading task's stack, no lock.
struct FloodMeter {
    limit: FloodLimit,
    tokens: f64,
    last: Instant,
}

impl FloodMeter {
    fn new(limit: FloodLimit, now: Instant) -> FloodMeter {
        FloodMeter {
            limit,
            tokens: f64::from(limit.burst.max(1)),
            last: now,
        }
    }

    /// Spends one frame's allowance at `now`; false when there is none left
    /// (the connection sent more than `burst` frames beyond `per_second`).
    fn admit(&mut self, now: Instant) -> bool {
        let refill = now.saturating_duration_since(self.last).as_secs_f64()
            * f64::from(self.limit.per_second);
        self.tokens = (self.tokens + refill).min(f64::from(self.limit.burst.max(1)));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A frame a client sent, for the profile to parse.
pub enum Frame {
    Text(String),
    Binary(Bytes),
}

/// One live connection.
pub struct Conn {
    pub id: u64,
    pub user_id: i64,
    tx: mpsc::Sender<Message>,
    closing: CancellationToken,
    /// Why the server closes it (code, reason), set once by [`Conn::close`].
    close_frame: Mutex<Option<(u16, String)>>,
    /// Rooms this connection joined. A std mutex: held only for a set operation,
    /// never across an await.
    rooms: Mutex<HashSet<i64>>,
}

impl Conn {
    /// The id the bus uses for this connection.
    pub fn conn_id(&self) -> ConnId {
        ConnId(format!("ws-{}", self.id))
    }

    /// Queues a text frame. A full queue means the client does not read: it is
    /// closed (1008) rather than left to grow without bound.
    pub fn send_text(&self, text: impl Into<Utf8Bytes>) {
        match self.tx.try_send(Message::Text(text.into())) {
            Ok(()) => {}
            // Said once: further deliveries to a connection already closing
            // would repeat the line for every message.
            Err(mpsc::error::TrySendError::Full(_)) if !self.closing.is_cancelled() => {
                metrics::counter!("chatwire_emit_errors_total").increment(1);
                tracing::warn!(
                    conn = self.id,
                    user = self.user_id,
                    "send queue full; closing"
                );
                self.close(close_code::POLICY, "send queue full");
            }
            Err(mpsc::error::TrySendError::Full(_)) => {}
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Queues a JSON text frame.
    pub fn send_json<T: Serialize + ?Sized>(&self, value: &T) {
        match serde_json::to_string(value) {
            Ok(s) => self.send_text(s),
            Err(e) => tracing::error!(error = %e, "frame does not serialize"),
        }
    }

    /// Closes the connection with a code and a reason (frames queued before are
    /// dropped: the close is sent next).
    pub fn close(&self, code: u16, reason: &str) {
        if let Ok(mut slot) = self.close_frame.lock()
            && slot.is_none()
        {
            *slot = Some((code, reason.to_owned()));
        }
        self.closing.cancel();
    }

    pub fn rooms(&self) -> Vec<i64> {
        self.rooms
            .lock()
            .map(|r| r.iter().copied().collect())
            .unwrap_or_default()
    }

    pub fn in_room(&self, room: i64) -> bool {
        self.rooms.lock().is_ok_and(|r| r.contains(&room))
    }
}

/// The live connections of one profile's listener.
pub struct Hub {
    profile: &'static str,
    queue: usize,
    /// The close code for a frame above the size limit (1009), a text frame
    /// that is not UTF-8 (1007) or a flood (1008), unless the profile wants its
    /// own for every refusal (see [`Hub::with_oversize_code`]).
    refusal_code: Option<u16>,
    flood: FloodLimit,
    next: AtomicU64,
    conns: DashMap<u64, Arc<Conn>>,
    by_user: DashMap<i64, HashSet<u64>>,
    by_room: DashMap<i64, HashSet<u64>>,
    idle: Notify,
}

impl Hub {
    /// `queue` is how many frames a connection may have waiting to be written;
    /// `flood` how fast it may send.
    pub fn new(profile: &'static str, queue: usize, flood: FloodLimit) -> Arc<Hub> {
        Self::build(profile, queue, flood, None)
    }

    /// As [`Hub::new`], closing a connection that sends an oversized frame, a
    /// text frame that is not UTF-8 or a flood with `code` instead of 1009 / 1007
    /// / 1008 (testcore closes every refused frame with 4000 and a reason).
    pub fn with_oversize_code(
        profile: &'static str,
        queue: usize,
        flood: FloodLimit,
        code: u16,
    ) -> Arc<Hub> {
        Self::build(profile, queue, flood, Some(code))
    }

    fn build(
        profile: &'static str,
        queue: usize,
        flood: FloodLimit,
        refusal_code: Option<u16>,
    ) -> Arc<Hub> {
        Arc::new(Hub {
            profile,
            queue: queue.max(1),
            refusal_code,
            flood,
            next: AtomicU64::new(1),
            conns: DashMap::new(),
            by_user: DashMap::new(),
            by_room: DashMap::new(),
            idle: Notify::new(),
        })
    }

    pub fn len(&self) -> usize {
        self.conns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    fn register(&self, user_id: i64) -> (Arc<Conn>, mpsc::Receiver<Message>) {
        let (tx, rx) = mpsc::channel(self.queue);
        let conn = Arc::new(Conn {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            user_id,
            tx,
            closing: CancellationToken::new(),
            close_frame: Mutex::new(None),
            rooms: Mutex::new(HashSet::new()),
        });
        self.conns.insert(conn.id, conn.clone());
        self.by_user.entry(user_id).or_default().insert(conn.id);
        (conn, rx)
    }

    fn unregister(&self, conn: &Conn) {
        for room in conn.rooms() {
            self.leave(conn, room);
        }
        self.by_user.remove_if_mut(&conn.user_id, |_, set| {
            set.remove(&conn.id);
            set.is_empty()
        });
        self.conns.remove(&conn.id);
        if self.conns.is_empty() {
            self.idle.notify_waiters();
        }
    }

    /// Adds the connection to a room's live feed.
    pub fn join(&self, conn: &Conn, room: i64) {
        if let Ok(mut r) = conn.rooms.lock() {
            r.insert(room);
        }
        self.by_room.entry(room).or_default().insert(conn.id);
    }

    /// Removes the connection from a room's live feed.
    pub fn leave(&self, conn: &Conn, room: i64) {
        if let Ok(mut r) = conn.rooms.lock() {
            r.remove(&room);
        }
        self.by_room.remove_if_mut(&room, |_, set| {
            set.remove(&conn.id);
            set.is_empty()
        });
    }

    fn collect(&self, ids: impl IntoIterator<Item = u64>) -> Vec<Arc<Conn>> {
        ids.into_iter()
            .filter_map(|id| self.conns.get(&id).map(|c| c.clone()))
            .collect()
    }

    /// Every connection of these users.
    pub fn of_users(&self, users: &[i64]) -> Vec<Arc<Conn>> {
        let ids: Vec<u64> = users
            .iter()
            .filter_map(|u| {
                self.by_user
                    .get(u)
                    .map(|s| s.iter().copied().collect::<Vec<_>>())
            })
            .flatten()
            .collect();
        self.collect(ids)
    }

    /// Every connection that joined the room.
    pub fn in_room(&self, room: i64) -> Vec<Arc<Conn>> {
        let ids: Vec<u64> = self
            .by_room
            .get(&room)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        self.collect(ids)
    }

    /// Sends one text frame to each of `conns`, counting deliveries.
    pub fn send_all(&self, conns: &[Arc<Conn>], event: &'static str, text: &str) {
        if conns.is_empty() {
            return;
        }
        let frame = Utf8Bytes::from(text.to_owned());
        for c in conns {
            c.send_text(frame.clone());
        }
        metrics::counter!("chatwire_deliveries_total", "event" => event)
            .increment(conns.len() as u64);
    }

    /// Closes every connection (server shutdown) and waits, at most `grace`, until
    /// they are gone.
    pub async fn close_all(&self, grace: Duration) {
        let all: Vec<Arc<Conn>> = self.conns.iter().map(|c| c.clone()).collect();
        for c in &all {
            c.close(close_code::AWAY, "server shutting down");
        }
        let deadline = tokio::time::Instant::now() + grace;
        while !self.conns.is_empty() {
            let idle = self.idle.notified();
            if self.conns.is_empty() {
                break;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                break;
            }
        }
    }
}

/// Applies the frame and message size limit to an upgrade, and the read buffer's
/// size.
pub fn limit(ws: WebSocketUpgrade, max_frame_bytes: usize) -> WebSocketUpgrade {
    ws.max_message_size(max_frame_bytes)
        .max_frame_size(max_frame_bytes)
        .read_buffer_size(READ_BUFFER)
}

/// Bytes tungstenite reads from a connection at a time, into a buffer the
/// connection keeps for its whole life. Its default, 128 KiB, made every raw
/// WebSocket connection that had received a frame hold about 120 KiB of RSS (the
/// reliability soak: 1.2 GB for 10,000 connections); chat frames are a few hundred
/// bytes, and a larger frame grows the buffer to its size. The Socket.IO side reads
/// 1 KiB at a time the same way (`socketio::WS_READ_BUFFER`).
const READ_BUFFER: usize = 4 * 1024;

/// Serves one upgraded connection of `user_id` until it closes: registers it
/// (first, so a shutdown from now on closes it cleanly), awaits `opened`, runs
/// the writer task, and hands every text or binary frame to `handle` in order.
pub async fn run<H, Fut>(
    socket: WebSocket,
    hub: Arc<Hub>,
    user_id: i64,
    opened: impl Future<Output = ()>,
    mut handle: H,
) where
    H: FnMut(Arc<Conn>, Frame) -> Fut,
    Fut: Future<Output = ()>,
{
    let (conn, rx) = hub.register(user_id);
    let profile = hub.profile;
    metrics::gauge!("chatwire_connections", "profile" => profile).increment(1.0);
    let (sink, mut stream) = socket.split();
    let writer = tokio::spawn(write_loop(sink, rx, conn.clone()));
    opened.await;
    let mut last_seen = Instant::now();
    let mut meter = FloodMeter::new(hub.flood, last_seen);
    // Whether the server closes (shutdown, limits) rather than the client.
    let mut server_closes = true;
    loop {
        let next = tokio::select! {
            next = stream.next() => next,
            _ = conn.closing.cancelled() => break,
            _ = tokio::time::sleep_until((last_seen + IDLE).into()) => {
                conn.close(close_code::POLICY, "idle timeout");
                break;
            }
        };
        last_seen = Instant::now();
        let counted = matches!(&next, Some(Ok(m)) if !matches!(m, Message::Close(_)));
        if counted && !meter.admit(last_seen) {
            // Closed at once, so said once per connection.
            metrics::counter!("chatwire_flooders_closed_total", "profile" => profile).increment(1);
            tracing::warn!(
                profile,
                conn = conn.id,
                user = user_id,
                "frames faster than the flood limit; closing"
            );
            conn.close(
                hub.refusal_code.unwrap_or(close_code::POLICY),
                "too many frames",
            );
            break;
        }
        let frame = match next {
            Some(Ok(Message::Text(t))) => Frame::Text(t.as_str().to_owned()),
            Some(Ok(Message::Binary(b))) => Frame::Binary(b),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None => {
                server_closes = false;
                break;
            }
            Some(Err(e)) => {
                // axum does not re-export tungstenite's error type; its text is
                // the only way to tell "too big" from a broken connection.
                let text = e.to_string();
                if text.contains("Space limit exceeded") || text.contains("too long") {
                    metrics::counter!("chatwire_errors_total", "profile" => profile, "code" => "FRAME_TOO_LARGE").increment(1);
                    conn.close(
                        hub.refusal_code.unwrap_or(close_code::SIZE),
                        "frame too large",
                    );
                } else if text.contains("UTF-8") {
                    // RFC 6455 7.4.1: 1007 for "data not consistent with the type".
                    metrics::counter!("chatwire_errors_total", "profile" => profile, "code" => "INVALID_UTF8").increment(1);
                    conn.close(
                        hub.refusal_code.unwrap_or(close_code::INVALID),
                        "text frame is not UTF-8",
                    );
                } else {
                    server_closes = false;
                    tracing::debug!(conn = conn.id, error = %text, "websocket read failed");
                }
                break;
            }
        };
        let started = Instant::now();
        let span = tracing::debug_span!("frame", profile, conn = conn.id, user = user_id);
        tracing::Instrument::instrument(handle(conn.clone(), frame), span).await;
        metrics::counter!("chatwire_events_total", "profile" => profile).increment(1);
        metrics::histogram!("chatwire_handler_seconds", "profile" => profile)
            .record(started.elapsed().as_secs_f64());
    }
    conn.closing.cancel();
    // The writer sends the close frame, if any, then ends; only then is the
    // connection gone from the hub, so a shutdown waiting for an empty hub lets
    // every close frame out first.
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    if server_closes {
        // Read until the client's close reply: dropping a socket with unread data
        // makes the kernel reset it, which can destroy the close frame in flight.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(m)) = stream.next().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
    hub.unregister(&conn);
    metrics::gauge!("chatwire_connections", "profile" => profile).decrement(1.0);
}

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Message>,
    conn: Arc<Conn>,
) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            biased;
            _ = conn.closing.cancelled() => break,
            msg = rx.recv() => match msg {
                Some(m) => {
                    if sink.send(m).await.is_err() {
                        conn.closing.cancel();
                        return;
                    }
                }
                None => break,
            },
            _ = ping.tick() => {
                if sink.send(Message::Ping(Bytes::new())).await.is_err() {
                    conn.closing.cancel();
                    return;
                }
            }
        }
    }
    let frame = conn.close_frame.lock().ok().and_then(|mut f| f.take());
    if let Some((code, reason)) = frame {
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    }
    let _ = sink.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_a_burst_beyond_the_steady_pace() {
        let limit = FloodLimit {
            burst: 3,
            per_second: 10,
        };
        let t0 = Instant::now();
        let mut m = FloodMeter::new(limit, t0);
        assert!((0..3).all(|_| m.admit(t0)), "the burst passes at once");
        assert!(!m.admit(t0), "one more at the same moment is a flood");
        // 100 ms later one frame's allowance is back, and only one.
        let t1 = t0 + Duration::from_millis(100);
        assert!(m.admit(t1));
        assert!(!m.admit(t1));
        // A steady 10 frames a second goes on for ever.
        let mut m = FloodMeter::new(limit, t0);
        assert!((1..=1000).all(|i| m.admit(t0 + Duration::from_millis(100 * i))));
        // Resting refills the burst, never more.
        let later = t0 + Duration::from_secs(3600);
        let mut m = FloodMeter::new(limit, t0);
        assert_eq!((0..10).filter(|_| m.admit(later)).count(), 3);
    }
}
