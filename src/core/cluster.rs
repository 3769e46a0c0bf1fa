//! Cluster mode: several chatwire processes ("nodes") on one PostgreSQL and one
//! Redis. Redis and PostgreSQL are the distributed engine; nothing here decides
//! anything by itself.
//!
//! The bus rides Redis pub/sub: every event and membership notice a node
//! publishes goes, in publishing order and sealed with the shared
//! `MESSAGE_ENCRYPTION_KEY` (message contents never sit in Redis in clear), to one
//! channel; every node subscribes and feeds the other nodes' events into its own
//! local bus, so every profile's renderer works unchanged. A node's own events are
//! delivered locally at once and skipped when they come back from Redis.
//!
//! Order: one Redis channel keeps each node's events in its publishing order, but
//! two nodes that commit messages of one conversation at nearly the same time may
//! publish them in the other order. The node's pump therefore keeps each
//! conversation's `MessageCreated` events in sequence order (sequence numbers have
//! no gaps: the writer assigns `last_seq + 1` in the commit): an event whose
//! predecessor has not been seen yet waits at most [`HOLD`] for it. So does a
//! message of a conversation this node has not seen since it started (or for an
//! hour), unless it is the conversation's first: the node cannot know whether its
//! predecessor is still on the way. A predecessor later than that is delivered
//! late rather than lost (counted as `chatwire_bus_reorder_late_total`). A held
//! message is rendered for the connections in its room when it is released.
//!
//! Failure: the subscriber reconnects with backoff (at most [`MAX_BACKOFF`]
//! between tries, so delivery resumes within a few seconds of Redis being back);
//! while Redis is away the node keeps serving its own connections, other nodes'
//! events are not received and its own are not sent (counted), `/readyz` says
//! so and `chatwire_redis_up` is 0. No process exits because of Redis.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::{
    sync::mpsc,
    time::{Instant, sleep, sleep_until},
};

use super::bus::{Bus, Event, EventKind, Wire};
use super::crypto::MessageCipher;
use super::model::CallInfo;

/// How long a message waits for its conversation's earlier ones.
pub const HOLD: Duration = Duration::from_millis(250);
/// The longest pause between two attempts to reach Redis.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// A conversation idle this long is forgotten by the reorder stage.
const IDLE: Duration = Duration::from_secs(3600);
/// Conversations the reorder stage tracks at most (past it, idle ones go first).
const MAX_TRACKED: usize = 100_000;
/// Events and notices waiting for the Redis publisher.
const OUT_CAPACITY: usize = 65_536;
/// The one pub/sub channel of the bus.
const CHANNEL: &str = "chatwire:bus";
/// Associated data of a sealed bus envelope.
const AAD: &[u8] = b"chatwire:bus:v1";

/// What the nodes send each other on the bus channel.
#[derive(serde::Serialize, serde::Deserialize)]
struct Envelope {
    node: String,
    items: Vec<Wire>,
}

type Hook = Box<dyn Fn(i64) + Send + Sync>;

/// This node's link to the cluster.
pub struct Cluster {
    pub node_id: String,
    redis: ConnectionManager,
    up: Arc<AtomicBool>,
    /// Moves each time the bus subscription (re)connects: shared state this node
    /// keeps in Redis is written again then (Redis may have restarted empty).
    epoch: Arc<AtomicU64>,
    members_hook: Arc<OnceLock<Hook>>,
}

impl Cluster {
    /// Whether the bus subscription to Redis is live.
    pub fn redis_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// A Redis connection (reconnects by itself) for shared state.
    pub fn redis(&self) -> ConnectionManager {
        self.redis.clone()
    }

    /// A Redis call, refused at once while the bus subscription says Redis is
    /// away (so nothing waits for a connection timeout then: every caller has a
    /// local fallback or fails fast), else bounded in time.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> redis::RedisResult<T> {
        if !self.redis_up() {
            return Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "Redis is away",
            )));
        }
        bounded(call).await
    }

    /// Moves each time the link to Redis is made again (see [`Cluster::resync_presence`]).
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Counts a connection of `user` on this node; how many the user has on
    /// every node together (1: the first anywhere).
    pub async fn presence_up(&self, user: i64) -> redis::RedisResult<i64> {
        self.presence_script(&PRESENCE_UP, user).await
    }

    /// Counts a closed connection of `user` on this node; how many the user still
    /// has on every node together (0: that was the last anywhere).
    pub async fn presence_down(&self, user: i64) -> redis::RedisResult<i64> {
        self.presence_script(&PRESENCE_DOWN, user).await
    }

    /// How many connections `user` has on every node together.
    pub async fn presence_count(&self, user: i64) -> redis::RedisResult<i64> {
        self.presence_script(&PRESENCE_COUNT, user).await
    }

    async fn presence_script(&self, script: &redis::Script, user: i64) -> redis::RedisResult<i64> {
        self.count_script(script, PRESENCE, user).await
    }

    async fn count_script(
        &self,
        script: &redis::Script,
        (hash, set): (&str, &str),
        user: i64,
    ) -> redis::RedisResult<i64> {
        let mut r = self.redis.clone();
        let mut inv = script.prepare_invoke();
        inv.key(format!("{hash}{user}"))
            .key(format!("{set}{}", self.node_id))
            .arg(&self.node_id)
            .arg(user);
        self.bounded(inv.invoke_async(&mut r)).await
    }

    /// Writes this node's connection counts (`(user, count)`) to Redis again,
    /// replacing whatever Redis held for this node.
    pub async fn resync_presence(&self, counts: &[(i64, usize)]) -> redis::RedisResult<()> {
        self.resync(PRESENCE, counts).await
    }

    async fn resync(
        &self,
        (hash, set): (&str, &str),
        counts: &[(i64, usize)],
    ) -> redis::RedisResult<()> {
        let mut r = self.redis.clone();
        let mut inv = RESYNC.prepare_invoke();
        inv.arg(&self.node_id).arg(hash).arg(set);
        for (u, c) in counts {
            inv.arg(*u).arg(*c);
        }
        self.bounded(inv.invoke_async(&mut r)).await
    }

    // --- Calls: ringing-capable connections per user per node, and the live calls.

    /// Counts a calls endpoint of `user` here; the user's endpoints on every node.
    pub async fn endpoints_up(&self, user: i64) -> redis::RedisResult<i64> {
        self.count_script(&PRESENCE_UP, ENDPOINTS, user).await
    }

    /// Counts a closed calls endpoint; the user's endpoints left on every node.
    pub async fn endpoints_down(&self, user: i64) -> redis::RedisResult<i64> {
        self.count_script(&PRESENCE_DOWN, ENDPOINTS, user).await
    }

    /// The user's calls endpoints on every node.
    pub async fn endpoints_count(&self, user: i64) -> redis::RedisResult<i64> {
        self.count_script(&PRESENCE_COUNT, ENDPOINTS, user).await
    }

    /// Writes this node's endpoint counts to Redis again.
    pub async fn resync_endpoints(&self, counts: &[(i64, usize)]) -> redis::RedisResult<()> {
        self.resync(ENDPOINTS, counts).await
    }

    /// The call `user` is in (0 while one is being set up), on any node.
    pub async fn call_of(&self, user: i64) -> redis::RedisResult<Option<i64>> {
        let mut r = self.redis.clone();
        self.bounded(
            redis::cmd("GET")
                .arg(busy_key(user))
                .query_async::<Option<i64>>(&mut r),
        )
        .await
    }

    /// Marks both users busy (call 0: being set up), or neither when one already is.
    pub async fn call_reserve(&self, a: i64, b: i64) -> redis::RedisResult<bool> {
        let mut r = self.redis.clone();
        let mut inv = CALL_RESERVE.prepare_invoke();
        inv.key(busy_key(a)).key(busy_key(b)).arg(CALL_TTL_SECS);
        self.bounded(inv.invoke_async::<i64>(&mut r))
            .await
            .map(|n| n == 1)
    }

    /// Frees both users if they are (still) in `call`.
    pub async fn call_release(&self, users: [i64; 2], call: i64) -> redis::RedisResult<()> {
        let mut r = self.redis.clone();
        let mut inv = CALL_RELEASE.prepare_invoke();
        inv.key(busy_key(users[0]))
            .key(busy_key(users[1]))
            .arg(call);
        self.bounded(inv.invoke_async::<i64>(&mut r))
            .await
            .map(|_| ())
    }

    /// Stores a ringing call, its parties busy with it, and its ring deadline.
    pub async fn call_start(&self, info: &CallInfo, ring: Duration) -> redis::RedisResult<()> {
        let json = serde_json::to_string(info).map_err(json_err)?;
        let mut r = self.redis.clone();
        let mut inv = CALL_START.prepare_invoke();
        inv.key(call_key(info.id))
            .key(busy_key(info.caller_id))
            .key(busy_key(info.callee_id))
            .arg(info.id)
            .arg(json)
            .arg(ring.as_millis() as u64)
            .arg(CALL_TTL_SECS);
        self.bounded(inv.invoke_async::<i64>(&mut r))
            .await
            .map(|_| ())
    }

    /// The live call `id`, if any node holds it.
    pub async fn call_get(&self, id: i64) -> redis::RedisResult<Option<CallInfo>> {
        let mut r = self.redis.clone();
        let v: Option<String> = self
            .bounded(redis::cmd("GET").arg(call_key(id)).query_async(&mut r))
            .await?;
        v.map(|j| serde_json::from_str(&j).map_err(json_err))
            .transpose()
    }

    /// Removes the live call `id` when it is in `status` (any when None) and, when
    /// `callee` is given, called them: exactly one caller gets it.
    pub async fn call_take(
        &self,
        id: i64,
        status: Option<&str>,
        callee: Option<i64>,
    ) -> redis::RedisResult<Option<CallInfo>> {
        let mut r = self.redis.clone();
        let mut inv = CALL_TAKE.prepare_invoke();
        inv.key(call_key(id))
            .arg(status.unwrap_or(""))
            .arg(callee.map(|c| c.to_string()).unwrap_or_default())
            .arg(id);
        let v: Option<String> = self.bounded(inv.invoke_async(&mut r)).await?;
        v.map(|j| serde_json::from_str(&j).map_err(json_err))
            .transpose()
    }

    /// The callee accepts the ringing call `id`: the call after the change, or
    /// None when it is not ringing for them.
    pub async fn call_accept(
        &self,
        id: i64,
        callee: i64,
        at: chrono::DateTime<chrono::Utc>,
    ) -> redis::RedisResult<Option<CallInfo>> {
        let mut r = self.redis.clone();
        let at = serde_json::to_value(at).map_err(json_err)?;
        let mut inv = CALL_ACCEPT.prepare_invoke();
        inv.key(call_key(id))
            .arg(callee)
            .arg(at.as_str().unwrap_or_default())
            .arg(id);
        let v: Option<String> = self.bounded(inv.invoke_async(&mut r)).await?;
        v.map(|j| serde_json::from_str(&j).map_err(json_err))
            .transpose()
    }

    /// Calls whose ring deadline passed, each given to exactly one node.
    pub async fn calls_due(&self) -> redis::RedisResult<Vec<i64>> {
        let mut r = self.redis.clone();
        self.bounded(CALLS_DUE.prepare_invoke().invoke_async(&mut r))
            .await
    }

    /// Users left with no calls endpoint by a dead node, each given to one node.
    pub async fn call_orphans(&self) -> redis::RedisResult<Vec<i64>> {
        let mut r = self.redis.clone();
        self.bounded(
            redis::cmd("LPOP")
                .arg(ORPHANS)
                .arg(100)
                .query_async::<Option<Vec<i64>>>(&mut r),
        )
        .await
        .map(Option::unwrap_or_default)
    }

    /// Beats this node's heart; the nodes whose heart stopped ([`NODE_TTL`]).
    pub async fn heartbeat(&self) -> redis::RedisResult<Vec<String>> {
        let mut r = self.redis.clone();
        let mut inv = HEARTBEAT.prepare_invoke();
        inv.arg(&self.node_id).arg(NODE_TTL.as_millis() as u64);
        self.bounded(inv.invoke_async(&mut r)).await
    }

    /// Forgets a dead node's connections; the users who have none left anywhere.
    /// Safe to race: one caller gets the users, the others nothing.
    pub async fn sweep_node(&self, node: &str) -> redis::RedisResult<Vec<i64>> {
        let mut r = self.redis.clone();
        let mut inv = SWEEP.prepare_invoke();
        inv.arg(node);
        self.bounded(inv.invoke_async(&mut r)).await
    }

    /// Takes one request from the budget stored at `key` (GCRA: one request per
    /// `period_ms`, `burst` usable at once), in one round trip; 0 when allowed,
    /// else the milliseconds until a request is free.
    pub async fn take(&self, key: &str, period_ms: u64, burst: u32) -> redis::RedisResult<u64> {
        let mut r = self.redis.clone();
        let mut inv = GCRA.prepare_invoke();
        inv.key(format!("chatwire:rl:{key}"))
            .arg(period_ms.max(1))
            .arg(burst.max(1));
        self.bounded(inv.invoke_async(&mut r)).await
    }

    /// What to do when another node says a conversation's memberships changed
    /// (the member cache forgets it). Set once, by the core.
    pub fn on_members_changed(&self, f: impl Fn(i64) + Send + Sync + 'static) {
        let _ = self.members_hook.set(Box::new(f));
    }
}

/// A node whose heart has not beaten for this long is dead: its connections are
/// forgotten and its users who are nowhere else are announced offline.
pub const NODE_TTL: Duration = Duration::from_secs(15);
/// How often a node beats its heart and looks for dead nodes.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// Key prefixes of a per-user, per-node count: the user's hash (node -> count)
/// and the node's set of users.
const PRESENCE: (&str, &str) = ("chatwire:presence:", "chatwire:node_users:");
const ENDPOINTS: (&str, &str) = ("chatwire:endpoints:", "chatwire:node_endpoints:");
/// Users whose last calls endpoint was on a dead node (their calls end).
const ORPHANS: &str = "chatwire:calls:orphans";
/// Live calls and busy marks expire after a day whatever happens.
const CALL_TTL_SECS: u64 = 86_400;

fn busy_key(user: i64) -> String {
    format!("chatwire:busy:{user}")
}

fn call_key(id: i64) -> String {
    format!("chatwire:call:{id}")
}

fn json_err(e: serde_json::Error) -> redis::RedisError {
    redis::RedisError::from((redis::ErrorKind::Client, "bad JSON in Redis", e.to_string()))
}

/// A Redis call that gives up after a while (Redis away must not stall a
/// connection's handshake).
async fn bounded<T>(call: impl Future<Output = redis::RedisResult<T>>) -> redis::RedisResult<T> {
    match tokio::time::timeout(Duration::from_secs(2), call).await {
        Ok(r) => r,
        Err(_) => Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "Redis did not answer in time",
        ))),
    }
}

// Presence in Redis: `chatwire:presence:{user}` is a hash node -> live
// connections; `chatwire:node_users:{node}` the users a node has connections of
// (to forget them when the node dies); `chatwire:nodes` a sorted set of node ->
// last heartbeat (Redis time, ms). Scripts run atomically. They name keys they
// build themselves, so they need one Redis (not Redis Cluster).
static PRESENCE_UP: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('SADD', KEYS[2], ARGV[2])
local total = 0
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(v) end
return total",
    )
});

static PRESENCE_DOWN: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SREM', KEYS[2], ARGV[2])
end
local total = 0
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(v) end
return total",
    )
});

static PRESENCE_COUNT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local total = 0
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(v) end
return total",
    )
});

static RESYNC: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local node, hash, set = ARGV[1], ARGV[2], ARGV[3] .. ARGV[1]
for _, u in ipairs(redis.call('SMEMBERS', set)) do
  redis.call('HDEL', hash .. u, node)
end
redis.call('DEL', set)
for i = 4, #ARGV, 2 do
  redis.call('HSET', hash .. ARGV[i], node, ARGV[i + 1])
  redis.call('SADD', set, ARGV[i])
end
return 1",
    )
});

// A budget in Redis (GCRA, as governor's): the key holds the theoretical arrival
// time of the next request (Redis time, ms); it expires when the budget is full.
static GCRA: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local period = tonumber(ARGV[1])
local tau = period * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - tau
if now < allow_at then return allow_at - now end
local new_tat = tat + period
redis.call('SET', KEYS[1], new_tat, 'PX', math.max(1, new_tat - now))
return 0",
    )
});

static HEARTBEAT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', 'chatwire:nodes', now, ARGV[1])
return redis.call('ZRANGEBYSCORE', 'chatwire:nodes', '-inf', now - tonumber(ARGV[2]))",
    )
});

// Forgets a dead node: its presence (returns the users now on no node) and its
// calls endpoints (users now with none go to the orphans list, whose calls end).
static SWEEP: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local node = ARGV[1]
local function forget(hash, set)
  local gone = {}
  for _, u in ipairs(redis.call('SMEMBERS', set .. node)) do
    redis.call('HDEL', hash .. u, node)
    if redis.call('HLEN', hash .. u) == 0 then table.insert(gone, tonumber(u)) end
  end
  redis.call('DEL', set .. node)
  return gone
end
local offline = forget('chatwire:presence:', 'chatwire:node_users:')
for _, u in ipairs(forget('chatwire:endpoints:', 'chatwire:node_endpoints:')) do
  redis.call('RPUSH', 'chatwire:calls:orphans', u)
end
redis.call('ZREM', 'chatwire:nodes', node)
return offline",
    )
});

static CALL_RESERVE: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], '0', 'EX', ARGV[1])
redis.call('SET', KEYS[2], '0', 'EX', ARGV[1])
return 1",
    )
});

static CALL_RELEASE: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end
end
return 1",
    )
});

static CALL_START: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[4])
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[4])
redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[4])
redis.call('ZADD', 'chatwire:rings', now + tonumber(ARGV[3]), ARGV[1])
return 1",
    )
});

static CALL_TAKE: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local v = redis.call('GET', KEYS[1])
if not v then return false end
local c = cjson.decode(v)
if ARGV[1] ~= '' and c.status ~= ARGV[1] then return false end
if ARGV[2] ~= '' and tostring(c.callee_id) ~= ARGV[2] then return false end
redis.call('DEL', KEYS[1])
redis.call('ZREM', 'chatwire:rings', ARGV[3])
return v",
    )
});

static CALL_ACCEPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local v = redis.call('GET', KEYS[1])
if not v then return false end
local c = cjson.decode(v)
if c.status ~= 'ringing' or tostring(c.callee_id) ~= ARGV[1] then return false end
c.status = 'accepted'
c.answered_at = ARGV[2]
local out = cjson.encode(c)
redis.call('SET', KEYS[1], out, 'KEEPTTL')
redis.call('ZREM', 'chatwire:rings', ARGV[3])
return out",
    )
});

static CALLS_DUE: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', 'chatwire:rings', '-inf', now, 'LIMIT', 0, 100)
local out = {}
for _, id in ipairs(due) do
  redis.call('ZREM', 'chatwire:rings', id)
  table.insert(out, tonumber(id))
end
return out",
    )
});

/// Connects this node to the cluster: the bus it must use and the link. Redis
/// need not be up yet (the connection is made, and remade, in the background).
pub fn start(
    url: &str,
    node_id: String,
    cipher: MessageCipher,
    bus_capacity: usize,
) -> anyhow::Result<(Bus, Arc<Cluster>)> {
    let client = redis::Client::open(url).map_err(|e| anyhow::anyhow!("REDIS_URL: {e}"))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(1)
        .set_max_delay(MAX_BACKOFF);
    let redis = ConnectionManager::new_lazy_with_config(client.clone(), config)
        .map_err(|e| anyhow::anyhow!("REDIS_URL: {e}"))?;
    let (pump_tx, pump_rx) = mpsc::unbounded_channel();
    let (out_tx, out_rx) = mpsc::channel(OUT_CAPACITY);
    let (remote_tx, remote_rx) = mpsc::channel(1024);
    let bus = Bus::clustered(bus_capacity, pump_tx, out_tx);
    // Echoes are recognised by this process, not by the configurable node name:
    // two processes given one name by mistake still hear each other.
    let instance = format!("{node_id}/{}", uuid::Uuid::new_v4().simple());
    let up = Arc::new(AtomicBool::new(false));
    let epoch = Arc::new(AtomicU64::new(0));
    let members_hook: Arc<OnceLock<Hook>> = Arc::default();
    metrics::gauge!("chatwire_redis_up").set(0.0);
    tokio::spawn(pump(bus.clone(), pump_rx, remote_rx, members_hook.clone()));
    tokio::spawn(publish(
        redis.clone(),
        instance.clone(),
        cipher.clone(),
        up.clone(),
        out_rx,
    ));
    tokio::spawn(subscribe(
        client,
        instance,
        cipher,
        up.clone(),
        epoch.clone(),
        remote_tx,
    ));
    tracing::info!(node = %node_id, "cluster mode: bus on Redis");
    Ok((
        bus,
        Arc::new(Cluster {
            node_id,
            redis,
            up,
            epoch,
            members_hook,
        }),
    ))
}

/// Sends what this node publishes to Redis, in order, many items per PUBLISH.
async fn publish(
    mut redis: ConnectionManager,
    node: String,
    cipher: MessageCipher,
    up: Arc<AtomicBool>,
    mut rx: mpsc::Receiver<Wire>,
) {
    let mut batch = Vec::with_capacity(256);
    while rx.recv_many(&mut batch, 256).await > 0 {
        let n = batch.len() as u64;
        if !up.load(Ordering::Relaxed) {
            // Redis is away: the other nodes cannot hear this now.
            metrics::counter!("chatwire_cluster_dropped_total").increment(n);
            batch.clear();
            continue;
        }
        let env = Envelope {
            node: node.clone(),
            items: std::mem::take(&mut batch),
        };
        let payload = match serde_json::to_string(&env)
            .map_err(|e| e.to_string())
            .and_then(|json| cipher.seal(&json, AAD).map_err(|e| e.to_string()))
        {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "bus envelope not encoded");
                continue;
            }
        };
        batch = env.items;
        batch.clear();
        let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
            .arg(CHANNEL)
            .arg(payload)
            .query_async(&mut redis)
            .await;
        match sent {
            Ok(_) => {
                metrics::counter!("chatwire_cluster_events_total", "dir" => "out").increment(n)
            }
            Err(e) => {
                metrics::counter!("chatwire_redis_errors_total", "op" => "publish").increment(1);
                metrics::counter!("chatwire_cluster_dropped_total").increment(n);
                tracing::warn!(error = %e, events = n, "bus events not published to Redis");
            }
        }
    }
}

/// Listens to the bus channel, reconnecting with backoff, and hands the other
/// nodes' items to the pump.
async fn subscribe(
    client: redis::Client,
    node: String,
    cipher: MessageCipher,
    up: Arc<AtomicBool>,
    epoch: Arc<AtomicU64>,
    remote: mpsc::Sender<Vec<Wire>>,
) {
    let mut backoff = MIN_BACKOFF;
    let mut failures = 0u64;
    loop {
        let connected = async {
            let mut ps = client.get_async_pubsub().await?;
            ps.subscribe(CHANNEL).await?;
            redis::RedisResult::Ok(ps)
        };
        match tokio::time::timeout(Duration::from_secs(2), connected).await {
            Ok(Ok(ps)) => {
                up.store(true, Ordering::Relaxed);
                epoch.fetch_add(1, Ordering::SeqCst);
                metrics::gauge!("chatwire_redis_up").set(1.0);
                tracing::info!(node = %node, "Redis connected: cross-node delivery on");
                backoff = MIN_BACKOFF;
                failures = 0;
                let mut stream = ps.into_on_message();
                while let Some(msg) = stream.next().await {
                    let Some(env) = open(&cipher, msg.get_payload_bytes()) else {
                        continue;
                    };
                    if env.node == node {
                        continue;
                    }
                    metrics::counter!("chatwire_cluster_events_total", "dir" => "in")
                        .increment(env.items.len() as u64);
                    if remote.send(env.items).await.is_err() {
                        return;
                    }
                }
                up.store(false, Ordering::Relaxed);
                metrics::gauge!("chatwire_redis_up").set(0.0);
                metrics::counter!("chatwire_redis_outages_total").increment(1);
                tracing::error!(node = %node, "Redis connection lost: serving local connections only, reconnecting");
            }
            Ok(Err(e)) => {
                failures += 1;
                metrics::counter!("chatwire_redis_errors_total", "op" => "subscribe").increment(1);
                // The first failure and then one in thirty (about a minute) are logged.
                if failures % 30 == 1 {
                    tracing::error!(error = %e, failures, "Redis unreachable, retrying");
                }
            }
            Err(_) => {
                failures += 1;
                metrics::counter!("chatwire_redis_errors_total", "op" => "subscribe").increment(1);
                if failures % 30 == 1 {
                    tracing::error!(failures, "Redis did not answer, retrying");
                }
            }
        }
        sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn open(cipher: &MessageCipher, payload: &[u8]) -> Option<Envelope> {
    let sealed = std::str::from_utf8(payload).ok()?;
    let json = match cipher.open(sealed, AAD) {
        Ok(j) => j,
        Err(e) => {
            // Another MESSAGE_ENCRYPTION_KEY: a node of another cluster, or a
            // misconfigured one. Never rendered.
            metrics::counter!("chatwire_redis_errors_total", "op" => "open").increment(1);
            tracing::error!(
                error = e,
                "bus envelope from Redis not opened (do all nodes share MESSAGE_ENCRYPTION_KEY?)"
            );
            return None;
        }
    };
    match serde_json::from_str(&json) {
        Ok(env) => Some(env),
        Err(e) => {
            metrics::counter!("chatwire_redis_errors_total", "op" => "decode").increment(1);
            tracing::error!(error = %e, "bus envelope from Redis not decoded (are all nodes the same version?)");
            None
        }
    }
}

/// Merges local and remote events into the local bus, each conversation's
/// messages in sequence order; applies the other nodes' membership notices.
async fn pump(
    bus: Bus,
    mut local: mpsc::UnboundedReceiver<Arc<Event>>,
    mut remote: mpsc::Receiver<Vec<Wire>>,
    members_hook: Arc<OnceLock<Hook>>,
) {
    let mut order = Reorder::new(HOLD);
    let mut out = Vec::new();
    loop {
        let deadline = order.next_deadline();
        tokio::select! {
            ev = local.recv() => match ev {
                Some(ev) => order.push(ev, Instant::now(), &mut out),
                None => break,
            },
            items = remote.recv() => match items {
                Some(items) => {
                    for w in items {
                        match w {
                            Wire::Event(ev) => order.push(ev, Instant::now(), &mut out),
                            Wire::MembersChanged(conv) => {
                                if let Some(f) = members_hook.get() {
                                    f(conv);
                                }
                            }
                        }
                    }
                }
                None => break,
            },
            _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                order.expire(Instant::now(), &mut out);
            }
        }
        for ev in out.drain(..) {
            bus.deliver(ev);
        }
    }
}

/// One conversation's place in the reorder stage.
struct Conv {
    /// The sequence number due next; None: not known yet.
    next: Option<i64>,
    held: BTreeMap<i64, Arc<Event>>,
    /// When the oldest held message started waiting.
    waiting_since: Option<Instant>,
    seen: Instant,
}

/// Keeps each conversation's `MessageCreated` events in sequence order, holding
/// one whose predecessor is missing for at most `hold`.
pub struct Reorder {
    hold: Duration,
    convs: HashMap<i64, Conv>,
}

impl Reorder {
    pub fn new(hold: Duration) -> Self {
        Reorder {
            hold,
            convs: HashMap::new(),
        }
    }

    /// Takes an event; what may be delivered now is appended to `out`, in order.
    pub fn push(&mut self, ev: Arc<Event>, now: Instant, out: &mut Vec<Arc<Event>>) {
        let EventKind::MessageCreated(m) = &ev.kind else {
            out.push(ev);
            return;
        };
        let (conv, seq) = (m.conversation.id, m.seq);
        if self.convs.len() >= MAX_TRACKED && !self.convs.contains_key(&conv) {
            self.forget_idle(now);
        }
        let c = self.convs.entry(conv).or_insert_with(|| Conv {
            next: None,
            held: BTreeMap::new(),
            waiting_since: None,
            seen: now,
        });
        c.seen = now;
        match c.next {
            Some(n) if seq < n => {
                // Its turn has passed (it came after the hold), or a duplicate.
                metrics::counter!("chatwire_bus_reorder_late_total").increment(1);
                out.push(ev);
            }
            Some(n) if seq == n => {
                out.push(ev);
                c.next = Some(seq + 1);
                while let Some(e) = c.next.and_then(|n| c.held.remove(&n)) {
                    out.push(e);
                    c.next = c.next.map(|n| n + 1);
                }
                c.waiting_since = (!c.held.is_empty()).then_some(now);
            }
            // Nothing comes before a conversation's first message.
            None if seq == 1 => {
                out.push(ev);
                c.next = Some(2);
            }
            _ => {
                c.held.insert(seq, ev);
                c.waiting_since.get_or_insert(now);
            }
        }
    }

    /// When the oldest wait ends, if anything waits.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.convs
            .values()
            .filter_map(|c| c.waiting_since)
            .min()
            .map(|t| t + self.hold)
    }

    /// Delivers, in order, what waited `hold` or longer: its predecessors are
    /// given up on.
    pub fn expire(&mut self, now: Instant, out: &mut Vec<Arc<Event>>) {
        for c in self.convs.values_mut() {
            let Some(since) = c.waiting_since else {
                continue;
            };
            if now.duration_since(since) < self.hold {
                continue;
            }
            if c.next.is_some() {
                metrics::counter!("chatwire_bus_reorder_gaps_total").increment(1);
            }
            let held = std::mem::take(&mut c.held);
            for (seq, e) in held {
                out.push(e);
                c.next = Some(seq + 1);
            }
            c.waiting_since = None;
        }
    }

    fn forget_idle(&mut self, now: Instant) {
        self.convs
            .retain(|_, c| c.waiting_since.is_some() || now.duration_since(c.seen) < IDLE);
        if self.convs.len() >= MAX_TRACKED {
            self.convs.retain(|_, c| c.waiting_since.is_some());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{Audience, ConvRef, Kind, MessageOut};

    fn msg(conv: i64, seq: i64) -> Arc<Event> {
        Arc::new(Event {
            audience: Audience::Users(vec![1, 2].into()),
            origin: None,
            kind: EventKind::MessageCreated(MessageOut {
                id: seq,
                conversation: ConvRef {
                    id: conv,
                    kind: Kind::Direct,
                    name: None,
                    organization_id: None,
                },
                seq,
                sender_id: 1,
                sender_name: "a".into(),
                content: format!("m{seq}"),
                kind: "text".into(),
                is_encrypted: false,
                client_ref: None,
                created_at: chrono::Utc::now(),
                updated_at: chrono::Utc::now(),
            }),
        })
    }

    fn seqs(out: &[Arc<Event>]) -> Vec<i64> {
        out.iter()
            .map(|e| match &e.kind {
                EventKind::MessageCreated(m) => m.seq,
                _ => -1,
            })
            .collect()
    }

    #[test]
    fn a_later_message_waits_for_its_predecessor() {
        let mut r = Reorder::new(HOLD);
        let t = Instant::now();
        let mut out = Vec::new();
        r.push(msg(1, 5), t, &mut out);
        assert!(
            out.is_empty(),
            "the first message of an unknown conversation waits"
        );
        r.push(msg(1, 4), t, &mut out);
        assert!(out.is_empty());
        r.expire(t + HOLD, &mut out);
        assert_eq!(seqs(&out), [4, 5]);
        out.clear();
        // Known now: 7 waits for 6, and 6 releases both at once.
        r.push(msg(1, 7), t + HOLD, &mut out);
        assert!(out.is_empty());
        r.push(msg(1, 6), t + HOLD, &mut out);
        assert_eq!(seqs(&out), [6, 7]);
        out.clear();
        r.push(msg(1, 8), t + HOLD, &mut out);
        assert_eq!(seqs(&out), [8], "in order: no wait");
        assert_eq!(r.next_deadline(), None);
        out.clear();
        r.push(msg(9, 1), t, &mut out);
        assert_eq!(seqs(&out), [1], "nothing precedes a first message: no wait");
        r.push(msg(9, 2), t, &mut out);
        assert_eq!(seqs(&out), [1, 2]);
    }

    #[test]
    fn a_missing_predecessor_is_given_up_after_the_hold() {
        let mut r = Reorder::new(HOLD);
        let t = Instant::now();
        let mut out = Vec::new();
        r.push(msg(2, 1), t, &mut out);
        r.expire(t + HOLD, &mut out);
        out.clear();
        r.push(msg(2, 3), t + HOLD, &mut out);
        assert!(out.is_empty());
        assert_eq!(r.next_deadline(), Some(t + HOLD + HOLD));
        r.expire(t + HOLD + HOLD / 2, &mut out);
        assert!(out.is_empty(), "not before the hold ends");
        r.expire(t + HOLD + HOLD, &mut out);
        assert_eq!(seqs(&out), [3]);
        out.clear();
        r.push(msg(2, 2), t + HOLD * 3, &mut out);
        assert_eq!(seqs(&out), [2], "late, but delivered");
    }

    #[test]
    fn conversations_do_not_wait_for_each_other_and_other_events_pass() {
        let mut r = Reorder::new(HOLD);
        let t = Instant::now();
        let mut out = Vec::new();
        r.push(msg(1, 1), t, &mut out);
        r.push(msg(2, 1), t, &mut out);
        r.expire(t + HOLD, &mut out);
        out.clear();
        r.push(msg(1, 3), t + HOLD, &mut out);
        r.push(msg(2, 2), t + HOLD, &mut out);
        let typing = Arc::new(Event {
            audience: Audience::Room(1),
            origin: None,
            kind: EventKind::Typing {
                conversation: None,
                user_id: 1,
                user_name: "a".into(),
                typing: true,
            },
        });
        r.push(typing, t + HOLD, &mut out);
        assert_eq!(seqs(&out), [2, -1]);
    }

    #[test]
    fn envelopes_round_trip_sealed() {
        let cipher = MessageCipher::random();
        let env = Envelope {
            node: "n1".into(),
            items: vec![Wire::Event(msg(3, 9)), Wire::MembersChanged(3)],
        };
        let sealed = cipher
            .seal(&serde_json::to_string(&env).unwrap(), AAD)
            .unwrap();
        // Quoted: the sealed form never has a quote, so a random ciphertext cannot
        // match by chance (it contained `m9` about once in ten runs), while the JSON
        // in clear always would.
        assert!(
            !sealed.contains("\"content\"") && !sealed.contains("\"m9\""),
            "contents are not in clear"
        );
        let back = open(&cipher, sealed.as_bytes()).unwrap();
        assert_eq!(back.node, "n1");
        assert!(matches!(back.items[1], Wire::MembersChanged(3)));
        assert_eq!(
            seqs(&[match &back.items[0] {
                Wire::Event(e) => e.clone(),
                _ => unreachable!(),
            }]),
            [9]
        );
        assert!(open(&MessageCipher::random(), sealed.as_bytes()).is_none());
    }
}
