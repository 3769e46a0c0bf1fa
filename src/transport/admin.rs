//! The server side of the Socket.IO admin UI (`@socket.io/admin-ui` 0.5.1, whose
//! Node server is `instrument(io, opts)` in its `dist/index.js`), on every Socket.IO
//! listener when `ADMIN_UI_USER` and `ADMIN_UI_PASSWORD` are set. Its page is served
//! at `/admin/` (`admin_page.rs`).
//!
//! Namespace `/admin`, as the Node server in development mode with basic auth:
//! - handshake `auth` `{username, password}` (checked against a bcrypt hash; the
//!   socket then gets `session` with an id it may reconnect with as `{sessionId}`)
//!   or `{sessionId}`; anything else is refused with `connect_error`
//!   "invalid credentials" (what the UI shows). Attempts are budgeted per client
//!   address (`LOGIN_PER_IP_PER_MINUTE`);
//! - on connect: `config {supportedFeatures}`, then `all_sockets`, then
//!   `server_stats` now and every 2 s;
//! - live: `socket_connected`, `socket_updated` (a transport upgrade, seen within
//!   2 s), `socket_disconnected`, `room_joined`, `room_left` — fed by
//!   `socketio.rs`, where chat sockets start and end and join and leave rooms;
//! - operations: `join` / `leave` `(nsp, room, filter?)` and `_disconnect`
//!   `(nsp, close, filter?)`, on the sockets in room `filter` (a socket id: every
//!   socket is shown in its own id's room, see `shown_rooms`) or on every socket of `nsp`. An ack, when
//!   asked for, says `{ok, sockets}` or `{ok: false, error}`; the UI asks none.
//!   Any other event (the Node server's `emit`, a chat event) is refused the same
//!   way and logged.
//!
//! Differences from the Node server (README, "Socket.IO admin UI"): no `EMIT`
//! feature (forged chat events), no `event_received` / `event_sent` (they would
//! copy private messages to the UI), `aggregatedEvents` carries connections and
//! disconnections only (no packet or byte counts), a socket may not be joined to
//! a delivery room (`user:`, `conv:`, `room:`, a socket id: that would hand it
//! another user's messages), and handshake headers and query parameters that carry
//! credentials (cookies, `Authorization`, `*token*`) are shown as `[redacted]`.
//! Chat sockets are listed once they are set up (`socketio::start_inbox`): a
//! socket refused after connect (expresschat's `auth-failure`) never shows.

use std::{
    collections::{HashMap, HashSet},
    net::{IpAddr, SocketAddr},
    sync::{Arc, LazyLock, Mutex, Weak},
    time::{Duration, Instant, SystemTime},
};

use axum::extract::ConnectInfo;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use socketioxide::{
    SocketIo,
    extract::{AckSender, Event, SocketRef, TryData},
    socket::{DisconnectReason, Sid},
};

use crate::config::{Config, Secret};
use crate::core::ratelimit::Limiter;

/// The admin UI's namespace (the UI's default).
pub const NAMESPACE: &str = "/admin";

/// What this server supports, in the Node server's words: the UI shows its
/// socket, room and event pages only with `ALL_EVENTS` (its "development mode").
const FEATURES: [&str; 8] = [
    "JOIN",
    "LEAVE",
    "DISCONNECT",
    "MJOIN",
    "MLEAVE",
    "MDISCONNECT",
    "AGGREGATED_EVENTS",
    "ALL_EVENTS",
];

/// How long a `session` id lets the UI back in without the password (as the
/// Node server's Redis store), and how many may be live at once.
const SESSION_TTL: Duration = Duration::from_secs(24 * 3600);
const MAX_SESSIONS: usize = 1000;
const STATS_EVERY: Duration = Duration::from_secs(2);
const MAX_ROOM_LEN: usize = 256;

/// When the process started, for `uptime`.
static STARTED: LazyLock<Instant> = LazyLock::new(Instant::now);

/// The listener's admin hub, when the admin UI is on; every request of a
/// Socket.IO listener carries it (an axum `Extension`), so a socket finds its
/// hub in its request parts.
#[derive(Clone, Default)]
pub struct Tap(pub Option<Arc<Hub>>);

/// The admin UI's state on one listener.
pub struct Hub {
    io: SocketIo,
    user: String,
    /// bcrypt hash of the password (never the password itself).
    hash: String,
    sessions: Mutex<HashMap<String, Instant>>,
    attempts: Limiter<IpAddr>,
    /// Sockets the UI has been told of (by namespace and id): when they came and
    /// whether they were on WebSocket at the last look.
    tracked: Mutex<HashMap<(String, Sid), Tracked>>,
    events: Mutex<Vec<Aggregated>>,
    hostname: String,
}

struct Tracked {
    issued: SystemTime,
    websocket: bool,
}

/// One `aggregatedEvents` entry: how many of `type` (and `subType`) in a second.
#[derive(Serialize, Clone, Debug, PartialEq)]
struct Aggregated {
    timestamp: i64,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "subType", skip_serializing_if = "Option::is_none")]
    sub_type: Option<String>,
    count: u64,
}

/// Whether the admin UI is configured (both variables set).
pub fn enabled(cfg: &Config) -> bool {
    cfg.admin_ui_user.as_deref().is_some_and(|u| !u.is_empty())
        && !cfg.admin_ui_password.0.is_empty()
}

/// Checks the admin UI's settings and replaces a plain `ADMIN_UI_PASSWORD` by its
/// bcrypt hash (cost `BCRYPT_COST`), so only the hash stays in the config: called
/// once at start, before the listeners are built. A value that already is a bcrypt
/// hash is kept as it is.
pub async fn hash_config(cfg: &mut Config) -> anyhow::Result<()> {
    let user = cfg.admin_ui_user.as_deref().unwrap_or_default();
    match (user.is_empty(), cfg.admin_ui_password.0.is_empty()) {
        (true, true) => return Ok(()),
        (false, false) => {}
        _ => anyhow::bail!(
            "the admin UI needs both ADMIN_UI_USER and ADMIN_UI_PASSWORD (or neither)"
        ),
    }
    if is_bcrypt_hash(&cfg.admin_ui_password.0) {
        return Ok(());
    }
    let plain = std::mem::take(&mut cfg.admin_ui_password.0);
    let cost = cfg.bcrypt_cost;
    let hash = tokio::task::spawn_blocking(move || bcrypt::hash(plain, cost)).await??;
    cfg.admin_ui_password = Secret(hash);
    Ok(())
}

/// Whether `s` has the shape of a bcrypt hash (`$2b$10$` and 53 characters of
/// bcrypt's base64), the form `ADMIN_UI_PASSWORD` may also take.
pub fn is_bcrypt_hash(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 60
        && matches!(&s[..4], "$2a$" | "$2b$" | "$2x$" | "$2y$")
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && b[6] == b'$'
        && s[4..6].parse::<u32>().is_ok_and(|c| (4..=31).contains(&c))
        && b[7..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'/')
}

impl Hub {
    /// Registers namespace `/admin` on `io` and starts its stats when the admin UI
    /// is on; the [`Tap`] every request of the listener carries.
    pub fn install(cfg: &Config, io: &SocketIo) -> Tap {
        if !enabled(cfg) {
            return Tap(None);
        }
        LazyLock::force(&STARTED);
        let hub = Arc::new(Hub {
            io: io.clone(),
            user: cfg.admin_ui_user.clone().unwrap_or_default(),
            hash: cfg.admin_ui_password.0.clone(),
            sessions: Mutex::new(HashMap::new()),
            attempts: Limiter::per_minute(cfg.login_per_ip_per_minute),
            tracked: Mutex::new(HashMap::new()),
            events: Mutex::new(Vec::new()),
            hostname: hostname::get()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "localhost".to_owned()),
        });
        io.ns(
            NAMESPACE,
            socketioxide::handler::ConnectHandler::with(admin_connected, authenticate),
        );
        spawn_stats(Arc::downgrade(&hub));
        Tap(Some(hub))
    }

    /// The hub of the listener a socket came through, when the admin UI is on.
    pub fn of(socket: &SocketRef) -> Option<&Arc<Hub>> {
        socket
            .req_parts()
            .extensions
            .get::<Tap>()
            .and_then(|t| t.0.as_ref())
    }

    /// A socket is set up: listed from now on, announced as `socket_connected`.
    pub fn connected(&self, socket: &SocketRef) {
        let key = (socket.ns().to_owned(), socket.id);
        let tracked = Tracked {
            issued: SystemTime::now(),
            websocket: is_websocket(socket),
        };
        let shown = serialize(socket, &tracked);
        if let Ok(mut t) = self.tracked.lock() {
            t.insert(key.clone(), tracked);
        }
        // Closed meanwhile: its disconnect handler may have looked before the
        // insert, so it is taken back here (a socket is marked closed before its
        // disconnect handler runs).
        if !socket.connected() {
            if let Ok(mut t) = self.tracked.lock() {
                t.remove(&key);
            }
            return;
        }
        self.count("rawConnection", None);
        self.broadcast("socket_connected", &(shown, now_iso()));
    }

    /// A listed socket left: `socket_disconnected`, then `room_left` for each of
    /// its rooms (as the Node server's adapter does), so the UI's rooms stay right.
    pub fn disconnected(&self, socket: &SocketRef, reason: DisconnectReason) {
        let key = (socket.ns().to_owned(), socket.id);
        let was = self.tracked.lock().ok().and_then(|mut t| t.remove(&key));
        if was.is_none() {
            return;
        }
        let reason = reason_text(reason);
        self.count("rawDisconnection", Some(reason.to_owned()));
        let (nsp, id, at) = (socket.ns(), socket.id.to_string(), now_iso());
        self.broadcast("socket_disconnected", &(nsp, &id, reason, &at));
        for room in shown_rooms(socket) {
            self.broadcast("room_left", &(nsp, &room, &id, &at));
        }
    }

    /// `socket` joined `rooms` (those it was not in yet).
    pub fn joined(&self, socket: &SocketRef, rooms: &[String]) {
        self.rooms_changed(socket, rooms, "room_joined");
    }

    /// `socket` left `rooms` (those it was in).
    pub fn left(&self, socket: &SocketRef, rooms: &[String]) {
        self.rooms_changed(socket, rooms, "room_left");
    }

    /// An operation's join: `socket` joins `room` (and the UI hears of it).
    fn put_in(&self, socket: &SocketRef, room: &str) {
        if !shown_rooms(socket).iter().any(|r| r == room) {
            socket.join(room.to_owned());
            self.joined(socket, &[room.to_owned()]);
        }
    }

    /// An operation's leave: `socket` leaves `room` (and the UI hears of it).
    /// A socket stays in its own id's room (chatwire's is only shown, see `shown_rooms`).
    fn take_out(&self, socket: &SocketRef, room: &str) {
        if room != socket.id.to_string() && socket.rooms().iter().any(|r| r == room) {
            socket.leave(room.to_owned());
            self.left(socket, &[room.to_owned()]);
        }
    }

    fn rooms_changed(&self, socket: &SocketRef, rooms: &[String], event: &'static str) {
        if rooms.is_empty() || !self.is_tracked(socket) {
            return;
        }
        let (nsp, id, at) = (socket.ns(), socket.id.to_string(), now_iso());
        for room in rooms {
            self.broadcast(event, &(nsp, room, &id, &at));
        }
    }

    fn is_tracked(&self, socket: &SocketRef) -> bool {
        self.tracked
            .lock()
            .is_ok_and(|t| t.contains_key(&(socket.ns().to_owned(), socket.id)))
    }

    /// Emits to every socket of the admin namespace.
    fn broadcast<T: Serialize + ?Sized>(&self, event: &'static str, data: &T) {
        let Some(admins) = self.io.of(NAMESPACE) else {
            return;
        };
        for s in admins.sockets() {
            if let Err(e) = s.emit(event, data) {
                tracing::debug!(sid = %s.id, event, error = %e, "admin UI emit failed");
            }
        }
    }

    fn count(&self, kind: &'static str, sub_type: Option<String>) {
        let second = chrono::Utc::now().timestamp() * 1000;
        let Ok(mut events) = self.events.lock() else {
            return;
        };
        match events
            .iter_mut()
            .find(|e| e.timestamp == second && e.kind == kind && e.sub_type == sub_type)
        {
            Some(e) => e.count += 1,
            None => events.push(Aggregated {
                timestamp: second,
                kind,
                sub_type,
                count: 1,
            }),
        }
    }

    /// Every listed socket, in every namespace (`all_sockets`).
    fn all_sockets(&self) -> Vec<Value> {
        let Ok(tracked) = self.tracked.lock() else {
            return Vec::new();
        };
        self.io
            .nsps()
            .into_iter()
            .flat_map(|ns| ns.sockets())
            .filter_map(|s| {
                let t = tracked.get(&(s.ns().to_owned(), s.id))?;
                Some(serialize(&s, t))
            })
            .collect()
    }

    /// `server_stats`; also sends `socket_updated` for listed sockets whose
    /// transport changed since the last look (a polling client upgraded).
    fn stats(&self) -> Value {
        let mut clients = HashSet::new();
        let mut polling = HashSet::new();
        let mut namespaces = Vec::new();
        let mut upgraded = Vec::new();
        {
            let mut tracked = self.tracked.lock().ok();
            for ns in self.io.nsps() {
                let name = ns.ns_path().to_owned();
                let sockets = ns.sockets();
                namespaces.push(json!({"name": name, "socketsCount": sockets.len()}));
                for s in sockets {
                    let ws = is_websocket(&s);
                    clients.insert(s.id);
                    if !ws {
                        polling.insert(s.id);
                    }
                    if let Some(t) = tracked
                        .as_mut()
                        .and_then(|t| t.get_mut(&(name.clone(), s.id)))
                        && t.websocket != ws
                    {
                        t.websocket = ws;
                        upgraded.push(json!({"id": s.id.to_string(), "nsp": name, "transport": transport(ws)}));
                    }
                }
            }
        }
        for u in upgraded {
            self.broadcast("socket_updated", &u);
        }
        let aggregated = self
            .events
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default();
        json!({
            "serverId": self.hostname,
            "hostname": self.hostname,
            "pid": std::process::id(),
            "uptime": STARTED.elapsed().as_secs_f64(),
            "clientsCount": clients.len(),
            "pollingClientsCount": polling.len(),
            "aggregatedEvents": aggregated,
            "namespaces": namespaces,
        })
    }

    /// A new session id for a socket that gave the right credentials.
    fn new_session(&self) -> String {
        use rand::RngCore;
        let mut buf = [0u8; 16];
        rand::rng().fill_bytes(&mut buf);
        let id: String = buf.iter().map(|b| format!("{b:02x}")).collect();
        if let Ok(mut s) = self.sessions.lock() {
            s.retain(|_, at| at.elapsed() < SESSION_TTL);
            if s.len() >= MAX_SESSIONS
                && let Some(oldest) = s.iter().min_by_key(|(_, at)| **at).map(|(k, _)| k.clone())
            {
                s.remove(&oldest);
            }
            s.insert(id.clone(), Instant::now());
        }
        id
    }

    fn session_ok(&self, id: &str) -> bool {
        self.sessions
            .lock()
            .is_ok_and(|s| s.get(id).is_some_and(|at| at.elapsed() < SESSION_TTL))
    }

    /// The sockets of namespace `nsp` in room `filter`, or all of them.
    fn targets(&self, nsp: &str, filter: Option<&str>) -> Result<Vec<SocketRef>, &'static str> {
        let op = self.io.of(nsp).ok_or("unknown namespace")?;
        Ok(match filter {
            Some(room) => {
                // A socket id names the socket (its room is only shown, see `shown_rooms`).
                let named = room.parse::<Sid>().ok().and_then(|sid| op.get_socket(sid));
                let mut in_room = op.within(room.to_owned()).sockets();
                if let Some(s) = named
                    && !in_room.iter().any(|x| x.id == s.id)
                {
                    in_room.push(s);
                }
                in_room
            }
            None => op.sockets(),
        })
    }
}

/// Sends `server_stats` to the admin namespace every 2 s while the hub lives.
fn spawn_stats(hub: Weak<Hub>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(STATS_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let Some(hub) = hub.upgrade() else { break };
            let watched = hub
                .io
                .of(NAMESPACE)
                .is_some_and(|ns| !ns.sockets().is_empty());
            if watched {
                let stats = hub.stats();
                hub.broadcast("server_stats", &stats);
            } else if let Ok(mut events) = hub.events.lock() {
                // Nobody watches: the counts would only pile up.
                events.clear();
            }
        }
    });
}

/// Why a connection to `/admin` was refused: the UI shows the text.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

/// The handshake `auth` of the admin UI.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AdminAuth {
    username: Option<String>,
    password: Option<String>,
    session_id: Option<String>,
}

/// A session id to hand to the socket once it is connected.
#[derive(Clone)]
struct NewSession(String);

/// The connect middleware of `/admin`: a known session id, or the user name and
/// password (bcrypt), within the address's attempt budget.
async fn authenticate(socket: SocketRef, TryData(auth): TryData<Value>) -> Result<(), Refused> {
    let invalid = || Refused("invalid credentials".to_owned());
    let hub = Hub::of(&socket).ok_or_else(invalid)?.clone();
    let auth: AdminAuth = auth
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    if let Some(id) = &auth.session_id
        && hub.session_ok(id)
    {
        return Ok(());
    }
    let (Some(user), Some(password)) = (auth.username, auth.password) else {
        return Err(invalid());
    };
    let ip = peer_ip(&socket);
    if let Err(e) = hub.attempts.check(&ip) {
        tracing::warn!(%ip, "admin UI: too many sign-in attempts");
        return Err(Refused(format!("too many attempts: {e}")));
    }
    let hash = hub.hash.clone();
    let good_password = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
        .await
        .is_ok_and(|r| r.unwrap_or(false));
    if !(good_password && constant_eq(user.as_bytes(), hub.user.as_bytes())) {
        tracing::info!(%ip, "admin UI: invalid credentials");
        return Err(invalid());
    }
    socket.extensions.insert(NewSession(hub.new_session()));
    Ok(())
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A socket of the admin UI is in: `session`, `config`, its own announcement,
/// `all_sockets`, `server_stats`, then the operations.
async fn admin_connected(socket: SocketRef) {
    let Some(hub) = Hub::of(&socket).cloned() else {
        let _ = socket.disconnect();
        return;
    };
    // Every socket is in its own id's room, as in Node, so `filter` can name it.
    socket.join(socket.id.to_string());
    if let Some(NewSession(id)) = socket.extensions.get::<NewSession>() {
        socket.extensions.remove::<NewSession>();
        let _ = socket.emit("session", &id);
    }
    let _ = socket.emit("config", &json!({ "supportedFeatures": FEATURES }));
    hub.connected(&socket);
    let _ = socket.emit("all_sockets", &hub.all_sockets());
    let _ = socket.emit("server_stats", &hub.stats());
    socket.on("join", on_join);
    socket.on("leave", on_leave);
    socket.on("_disconnect", on_disconnect);
    socket.on_fallback(async |s: SocketRef, Event(event): Event, ack: AckSender| {
        answer(&s, "unknown", Err(format!("unknown event {event:?}")), ack);
    });
    socket.on_disconnect(async |s: SocketRef, reason: DisconnectReason| {
        if let Some(hub) = Hub::of(&s) {
            hub.disconnected(&s, reason);
        }
    });
}

/// Every argument of an event, however many (a tuple for socketioxide's
/// extractors, so they are not cut to the first).
struct Args(Vec<Value>);

impl<'de> Deserialize<'de> for Args {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Seq;
        impl<'de> serde::de::Visitor<'de> for Seq {
            type Value = Args;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("the event's arguments")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Args, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(Args(out))
            }
        }
        d.deserialize_tuple(usize::MAX, Seq)
    }
}

/// `(nsp, room, filter?)` of `join` / `leave`, checked.
fn room_op(
    args: Result<Args, impl std::fmt::Display>,
) -> Result<(String, String, Option<String>), String> {
    let Args(a) = args.map_err(|e| format!("bad arguments: {e}"))?;
    let nsp = a
        .first()
        .and_then(Value::as_str)
        .ok_or("nsp must be a string")?;
    let room = a
        .get(1)
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty() && r.len() <= MAX_ROOM_LEN)
        .ok_or("room must be a non-empty string of at most 256 bytes")?;
    let filter = filter_arg(a.get(2))?;
    Ok((nsp.to_owned(), room.to_owned(), filter))
}

fn filter_arg(v: Option<&Value>) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_ROOM_LEN => Ok(Some(s.clone())),
        Some(_) => Err("filter must be a room name (a socket id) or absent".to_owned()),
    }
}

/// A room chatwire delivers through: a user's (`user:`), a conversation's
/// (`conv:`, expresschat), an orgchat room's (`room:`), or a socket's own.
fn delivery_room(room: &str) -> bool {
    room.starts_with("user:")
        || room.starts_with("conv:")
        || room.starts_with("room:")
        || room.parse::<Sid>().is_ok()
}

async fn on_join(socket: SocketRef, TryData(args): TryData<Args>, ack: AckSender) {
    let outcome = room_op(args).and_then(|(nsp, room, filter)| {
        if delivery_room(&room) {
            return Err(format!(
                "room {room:?} delivers chat messages: a socket cannot be added to it"
            ));
        }
        let hub = Hub::of(&socket).ok_or("admin UI is off")?;
        let targets = hub.targets(&nsp, filter.as_deref())?;
        for s in &targets {
            hub.put_in(s, &room);
        }
        Ok(targets.len())
    });
    answer(&socket, "join", outcome, ack);
}

async fn on_leave(socket: SocketRef, TryData(args): TryData<Args>, ack: AckSender) {
    let outcome = room_op(args).and_then(|(nsp, room, filter)| {
        let hub = Hub::of(&socket).ok_or("admin UI is off")?;
        let targets = hub.targets(&nsp, filter.as_deref())?;
        for s in &targets {
            hub.take_out(s, &room);
        }
        Ok(targets.len())
    });
    answer(&socket, "leave", outcome, ack);
}

/// `_disconnect (nsp, close, filter?)`: `close` also ends the client's other
/// namespaces (chatwire's socket ids are the connection's).
async fn on_disconnect(socket: SocketRef, TryData(args): TryData<Args>, ack: AckSender) {
    let outcome = (|| {
        let Args(a) = args.map_err(|e| format!("bad arguments: {e}"))?;
        let nsp = a
            .first()
            .and_then(Value::as_str)
            .ok_or("nsp must be a string")?;
        let close = match a.get(1) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err("close must be a boolean".to_owned()),
        };
        let filter = filter_arg(a.get(2))?;
        let hub = Hub::of(&socket).ok_or("admin UI is off")?;
        let targets = hub.targets(nsp, filter.as_deref())?;
        let n = targets.len();
        for s in targets {
            let id = s.id;
            tracing::info!(admin = %socket.id, sid = %id, nsp, close, "admin UI: disconnecting a socket");
            let _ = s.disconnect();
            if close {
                for ns in hub.io.nsps() {
                    if let Some(other) = ns.get_socket(id) {
                        let _ = other.disconnect();
                    }
                }
            }
        }
        Ok(n)
    })();
    answer(&socket, "_disconnect", outcome, ack);
}

/// Acks the outcome of an operation (when the caller asked) and logs a refusal.
fn answer(socket: &SocketRef, op: &'static str, outcome: Result<usize, String>, ack: AckSender) {
    let body = match outcome {
        Ok(n) => json!({"ok": true, "sockets": n}),
        Err(e) => {
            tracing::warn!(admin = %socket.id, op, error = %e, "admin UI operation refused");
            json!({"ok": false, "error": e})
        }
    };
    let _ = ack.send(&body);
}

fn is_websocket(s: &SocketRef) -> bool {
    matches!(s.transport_type(), socketioxide::TransportType::Websocket)
}

fn transport(websocket: bool) -> &'static str {
    if websocket { "websocket" } else { "polling" }
}

/// The Node server's words for why a socket left.
fn reason_text(r: DisconnectReason) -> &'static str {
    match r {
        DisconnectReason::TransportClose => "transport close",
        DisconnectReason::MultipleHttpPollingError | DisconnectReason::TransportError => {
            "transport error"
        }
        DisconnectReason::PacketParsingError => "parse error",
        DisconnectReason::HeartbeatTimeout => "ping timeout",
        DisconnectReason::ClientNSDisconnect => "client namespace disconnect",
        DisconnectReason::ServerNSDisconnect => "server namespace disconnect",
        DisconnectReason::ClosingServer => "server shutting down",
    }
}

fn now_iso() -> String {
    iso(SystemTime::now())
}

fn iso(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn peer_ip(s: &SocketRef) -> IpAddr {
    s.req_parts()
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// Header and query names whose values are credentials, never shown.
fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "cookie" | "authorization" | "proxy-authorization" | "x-api-key"
    ) || n.contains("token")
        || n.contains("password")
        || n.contains("secret")
}

/// A socket as the UI lists it (the Node server's `serialize`).
fn serialize(s: &SocketRef, t: &Tracked) -> Value {
    let parts = s.req_parts();
    let mut headers = serde_json::Map::new();
    for name in parts.headers.keys() {
        let value = if secret_name(name.as_str()) {
            "[redacted]".to_owned()
        } else {
            parts
                .headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        };
        headers.insert(name.as_str().to_owned(), Value::String(value));
    }
    let mut query = serde_json::Map::new();
    let mut shown_query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()) {
        let v = if secret_name(&k) {
            "[redacted]".into()
        } else {
            v
        };
        shown_query.append_pair(&k, &v);
        query.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    let shown_query = shown_query.finish();
    let url = if shown_query.is_empty() {
        parts.uri.path().to_owned()
    } else {
        format!("{}?{shown_query}", parts.uri.path())
    };
    let header = |n: &str| parts.headers.get(n).and_then(|v| v.to_str().ok());
    let address = header("cf-connecting-ip")
        .or_else(|| header("x-forwarded-for"))
        .map(str::to_owned)
        .unwrap_or_else(|| peer_ip(s).to_string());
    let id = s.id.to_string();
    let issued_ms = t
        .issued
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    json!({
        "id": id,
        "clientId": id.chars().take(12).collect::<String>(),
        "transport": transport(t.websocket),
        "nsp": s.ns(),
        "data": {},
        "handshake": {
            "address": address,
            "headers": headers,
            "query": query,
            "issued": issued_ms,
            "secure": header("x-forwarded-proto") == Some("https"),
            "time": iso(t.issued),
            "url": url,
            "xdomain": header("origin").is_some(),
        },
        "rooms": shown_rooms(s),
    })
}

/// A socket's rooms as the UI shows them: first its own id's, which every socket
/// is in with Node (chatwire's chat sockets do not join it: issue 13, `prepare_inbox`).
fn shown_rooms(s: &SocketRef) -> Vec<String> {
    let own = s.id.to_string();
    let mut rooms = vec![own.clone()];
    rooms.extend(
        s.rooms()
            .into_iter()
            .map(|r| r.into_owned())
            .filter(|r| *r != own),
    );
    rooms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_hashes_are_recognised() {
        let h = bcrypt::hash("pw", 4).unwrap();
        assert!(is_bcrypt_hash(&h));
        assert!(is_bcrypt_hash(
            "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
        ));
        for not in [
            "",
            "password123",
            "$2b$10$short",
            &h[..59],
            &format!("{h}x"),
        ] {
            assert!(!is_bcrypt_hash(not), "{not}");
        }
        assert!(!is_bcrypt_hash(&h.replacen("$2b$04$", "$2b$99$", 1)));
        assert!(!is_bcrypt_hash(&h.replacen("$2b$", "$3b$", 1)));
    }

    #[tokio::test]
    async fn a_plain_password_is_replaced_by_its_hash() {
        let mut cfg = Config::from_env().unwrap();
        cfg.bcrypt_cost = 4;
        hash_config(&mut cfg).await.unwrap();
        assert!(!enabled(&cfg), "off by default");
        cfg.admin_ui_user = Some("admin".into());
        cfg.admin_ui_password = Secret("s3cret pass".into());
        hash_config(&mut cfg).await.unwrap();
        assert!(is_bcrypt_hash(&cfg.admin_ui_password.0));
        assert!(bcrypt::verify("s3cret pass", &cfg.admin_ui_password.0).unwrap());
        let kept = cfg.admin_ui_password.0.clone();
        hash_config(&mut cfg).await.unwrap();
        assert_eq!(cfg.admin_ui_password.0, kept, "a hash is kept as it is");
        cfg.admin_ui_password = Secret(String::new());
        assert!(
            hash_config(&mut cfg).await.is_err(),
            "a user without a password"
        );
    }

    #[test]
    fn delivery_rooms_are_recognised() {
        for r in ["user:1", "conv:9", "room:3"] {
            assert!(delivery_room(r));
        }
        assert!(delivery_room(&Sid::new().to_string()));
        assert!(!delivery_room("ops-watch"));
    }

    #[test]
    fn credentials_are_secret_names() {
        for n in [
            "Cookie",
            "authorization",
            "accessToken",
            "refresh_token",
            "token",
        ] {
            assert!(secret_name(n), "{n}");
        }
        for n in ["user-agent", "EIO", "transport", "origin"] {
            assert!(!secret_name(n), "{n}");
        }
    }
}
