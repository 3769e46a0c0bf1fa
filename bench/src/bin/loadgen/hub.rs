//! The generator's connections and what they report to one shared [`Hub`].
//!
//! The generator is single-threaded (a current-thread runtime with a `LocalSet`),
//! so the hub is plain `Cell`/`RefCell` state: no atomics or locks on the path
//! every delivery takes. A delivery is any frame whose content carries the tag
//! `~T<seq>.<sent µs>~` that the sender put in; its latency is the generator's
//! clock now minus the clock at send, both read in this one process.

use std::{
    cell::{Cell, RefCell},
    net::SocketAddr,
    rc::Rc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, anyhow, bail};
use chatwire_bench::{sio, stats};
use futures_util::{SinkExt, StreamExt, stream};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::Target;

/// Which vocabulary the server speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Proto {
    /// expresschat: token in the handshake query, greeting `user-id` ..
    /// `group-chat-list`, groups and personal chats (chatwire, the Node peer's
    /// expresschat mode).
    Express,
    /// The room relay of targets.md: `joinRoom` / `sendMessage` ⇒ `newMessage`, no
    /// auth (the Node peer's relay mode, the ceiling).
    Relay,
}

/// A frame some driver is waiting for: (connection index, frame).
pub type CtlFrame = (usize, String);

#[derive(Default)]
pub struct Hub {
    pub start: Option<Instant>,
    /// Every delivery seen.
    pub total: Cell<u64>,
    /// Deliveries whose seq lies in [lo, hi): the measured messages.
    pub lo: Cell<u64>,
    pub hi: Cell<u64>,
    pub in_range: Cell<u64>,
    pub hist: RefCell<Option<Histogram<u64>>>,
    /// Servers the connections are spread over (connection n on server n mod
    /// nodes); above 1, deliveries are also split by whether the recipient is on
    /// the sender's (connection 0's) server or another.
    pub nodes: Cell<usize>,
    pub hist_local: RefCell<Option<Histogram<u64>>>,
    pub hist_remote: RefCell<Option<Histogram<u64>>>,
    /// Connections that ended (closed by the server, or an error).
    pub closed: Cell<u64>,
    /// Where non-delivery frames go while a driver waits for them.
    pub ctl: RefCell<Option<mpsc::UnboundedSender<CtlFrame>>>,
    /// Forward deliveries to `ctl` too (round-trip probes).
    pub forward_all: Cell<bool>,
}

impl Hub {
    pub fn new() -> Rc<Hub> {
        Rc::new(Hub {
            start: Some(Instant::now()),
            hist: RefCell::new(Some(stats::new_histogram())),
            nodes: Cell::new(1),
            ..Default::default()
        })
    }

    pub fn now_us(&self) -> u64 {
        self.start
            .map(|s| s.elapsed().as_micros() as u64)
            .unwrap_or(0)
    }

    /// The content a sender puts in message `seq`.
    pub fn tag(&self, seq: u64) -> String {
        format!("~T{seq}.{}~", self.now_us())
    }

    /// Starts measuring messages from `seq` on, with an empty histogram.
    pub fn measure_from(&self, seq: u64) {
        self.lo.set(seq);
        self.hi.set(u64::MAX);
        self.in_range.set(0);
        *self.hist.borrow_mut() = Some(stats::new_histogram());
        if self.nodes.get() > 1 {
            *self.hist_local.borrow_mut() = Some(stats::new_histogram());
            *self.hist_remote.borrow_mut() = Some(stats::new_histogram());
        }
    }

    /// Ends the measured range: messages from `seq` on are not measured.
    pub fn measure_until(&self, seq: u64) {
        self.hi.set(seq);
    }

    pub fn latency(&self) -> Value {
        match &*self.hist.borrow() {
            Some(h) => stats::summary(h),
            None => json!({"count": 0}),
        }
    }

    /// Latency of the deliveries to recipients on the sender's server (`local`) or on
    /// another (`remote`); None on one server.
    pub fn latency_split(&self, remote: bool) -> Option<Value> {
        let h = if remote {
            &self.hist_remote
        } else {
            &self.hist_local
        };
        h.borrow().as_ref().map(stats::summary)
    }

    fn on_frame(&self, idx: usize, frame: &str) {
        if let Some((seq, sent)) = frame
            .find("~T")
            .and_then(|pos| parse_tag(&frame[pos + 2..]))
        {
            self.total.set(self.total.get() + 1);
            if seq >= self.lo.get() && seq < self.hi.get() {
                self.in_range.set(self.in_range.get() + 1);
                let lat = self.now_us().saturating_sub(sent).max(1);
                if let Some(h) = self.hist.borrow_mut().as_mut() {
                    let _ = h.record(lat);
                }
                let nodes = self.nodes.get();
                if nodes > 1 {
                    let split = if idx.is_multiple_of(nodes) {
                        &self.hist_local
                    } else {
                        &self.hist_remote
                    };
                    if let Some(h) = split.borrow_mut().as_mut() {
                        let _ = h.record(lat);
                    }
                }
            }
            if !self.forward_all.get() {
                return;
            }
        }
        if let Some(tx) = &*self.ctl.borrow() {
            let _ = tx.send((idx, frame.to_owned()));
        }
    }

    /// Starts forwarding non-delivery frames; returns their receiver.
    pub fn listen(&self) -> mpsc::UnboundedReceiver<CtlFrame> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.ctl.borrow_mut() = Some(tx);
        rx
    }

    pub fn unlisten(&self) {
        *self.ctl.borrow_mut() = None;
        self.forward_all.set(false);
    }

    /// Waits until `total` reaches `want` or `within` passes; true when reached.
    pub async fn wait_total(&self, want: u64, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while self.total.get() < want {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        true
    }
}

fn parse_tag(s: &str) -> Option<(u64, u64)> {
    let dot = s.find('.')?;
    let end = s.find('~')?;
    Some((s[..dot].parse().ok()?, s[dot + 1..end].parse().ok()?))
}

/// One open connection, served by its own task.
pub struct Conn {
    /// The user id as the server shows it (`u7`), when the protocol has one.
    pub user: String,
    pub name: String,
    tx: mpsc::UnboundedSender<String>,
    closed: Rc<Cell<bool>>,
}

impl Conn {
    /// True once the server closed this connection (or it failed).
    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }

    pub fn send(&self, frame: String) {
        let _ = self.tx.send(frame);
    }

    pub fn emit(&self, event: &str, data: &Value) {
        self.send(sio::event(event, data));
    }
}

/// What a batch of connects did.
pub struct Connected {
    pub conns: Vec<Conn>,
    pub errors: Vec<String>,
    pub secs: f64,
    pub latency: Value,
}

/// The access token for user `n` (HS256, the claims chatwire's `auth.rs` checks).
pub fn mint(secret: &str, user: u64) -> Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let claims =
        json!({"sub": user.to_string(), "iat": now, "exp": now + 4 * 3600, "typ": "access"});
    Ok(jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )?)
}

async fn connect_one(t: &Target, addr: SocketAddr, n: usize) -> Result<(sio::Ws, String, String)> {
    let src = (t.sources > 0).then(|| sio::source(n, t.sources));
    match t.proto {
        Proto::Relay => {
            let ws = sio::open(addr, src, "", None).await?;
            Ok((ws, n.to_string(), format!("user{n}")))
        }
        Proto::Express => {
            let user = t.first_user + n as u64;
            let token = mint(&t.jwt_secret, user)?;
            let mut ws = sio::open(addr, src, &format!("&accessToken={token}"), None).await?;
            let within = Duration::from_secs(30);
            let who = sio::wait_event(&mut ws, "user-id", within).await?;
            sio::wait_event(&mut ws, "group-chat-list", within).await?;
            let id = who["userId"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| who["userId"].as_u64().map(|u| format!("u{u}")))
                .ok_or_else(|| anyhow!("user-id without userId: {who}"))?;
            let name = who["userName"].as_str().unwrap_or_default().to_owned();
            Ok((ws, id, name))
        }
    }
}

/// Opens connections `from..to` (indices into the target's users) with at most
/// `t.concurrency` handshakes in flight, and starts a task for each.
pub async fn connect_range(t: &Target, hub: &Rc<Hub>, from: usize, to: usize) -> Result<Connected> {
    let addrs: Vec<SocketAddr> = t
        .addr
        .iter()
        .map(|a| a.parse().with_context(|| format!("--addr {a}")))
        .collect::<Result<_>>()?;
    if addrs.is_empty() {
        bail!("--addr: no address");
    }
    let addrs = &addrs;
    let started = Instant::now();
    let mut hist = stats::new_histogram();
    let mut conns = Vec::with_capacity(to - from);
    let mut errors = Vec::new();
    let mut results = stream::iter(from..to)
        .map(|n| async move {
            let t0 = Instant::now();
            let addr = addrs[n % addrs.len()];
            let r = tokio::time::timeout(Duration::from_secs(60), connect_one(t, addr, n)).await;
            (n, t0.elapsed(), r)
        })
        .buffered(t.concurrency.max(1));
    while let Some((n, took, r)) = results.next().await {
        match r {
            Ok(Ok((ws, user, name))) => {
                let _ = hist.record(took.as_micros().max(1) as u64);
                let (tx, rx) = mpsc::unbounded_channel();
                let closed = Rc::new(Cell::new(false));
                tokio::task::spawn_local(run(ws, rx, hub.clone(), n, closed.clone()));
                conns.push(Conn {
                    user,
                    name,
                    tx,
                    closed,
                });
            }
            Ok(Err(e)) => errors.push(format!("conn {n}: {e:#}")),
            Err(_) => errors.push(format!("conn {n}: timed out")),
        }
    }
    Ok(Connected {
        conns,
        errors,
        secs: started.elapsed().as_secs_f64(),
        latency: stats::summary(&hist),
    })
}

/// The task of one connection: answers pings, reports frames to the hub, writes
/// what the driver queues (everything queued goes out with one flush).
async fn run(
    mut ws: sio::Ws,
    mut rx: mpsc::UnboundedReceiver<String>,
    hub: Rc<Hub>,
    idx: usize,
    closed: Rc<Cell<bool>>,
) {
    loop {
        tokio::select! {
            m = ws.next() => match m {
                Some(Ok(Message::Text(t))) => {
                    let s = t.as_str();
                    if s == "2" {
                        if ws.send(Message::text("3")).await.is_err() {
                            break;
                        }
                    } else {
                        hub.on_frame(idx, s);
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            out = rx.recv() => match out {
                Some(frame) => {
                    if ws.feed(Message::text(frame)).await.is_err() {
                        break;
                    }
                    while let Ok(frame) = rx.try_recv() {
                        if ws.feed(Message::text(frame)).await.is_err() {
                            break;
                        }
                    }
                    if ws.flush().await.is_err() {
                        break;
                    }
                }
                // The driver dropped this connection: close it.
                None => {
                    let _ = ws.close(None).await;
                    return;
                }
            },
        }
    }
    closed.set(true);
    hub.closed.set(hub.closed.get() + 1);
}

/// Waits for a control frame matching `pred`, at most `within`.
pub async fn wait_ctl(
    rx: &mut mpsc::UnboundedReceiver<CtlFrame>,
    within: Duration,
    mut pred: impl FnMut(usize, &str) -> bool,
) -> Result<CtlFrame> {
    tokio::time::timeout(within, async {
        while let Some((i, f)) = rx.recv().await {
            if pred(i, &f) {
                return Ok((i, f));
            }
        }
        bail!("control channel closed")
    })
    .await
    .map_err(|_| anyhow!("timed out after {within:?}"))?
}
