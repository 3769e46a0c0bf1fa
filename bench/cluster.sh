#!/usr/bin/env bash
# chatwire's two-node benchmark (issue 12): idle connections held and cross-node
# group fan-out, in one run, for four configurations on one PostgreSQL server:
#   chatwire-1n  chatwire as one process (no REDIS_URL)
#   chatwire-2n  two chatwire nodes in cluster mode (REDIS_URL, shared secrets)
#   node-1p      the Node peer (bench/node-peer, MODE=express) as one process
#   node-2p      the Node peer as two processes with @socket.io/redis-adapter
# and writes its section of BENCHMARKS.md (between the cluster markers; the
# single-node report of bench/run.sh around it is kept as it is).
#
#   bench/cluster.sh            the measured run (about 10 minutes plus the build)
#   QUICK=1 bench/cluster.sh    small sizes, a smoke run (bench/out/cluster-quick/)
#
# Environment: BENCH_OUT (default: BENCHMARKS.md; QUICK: bench/out/cluster-quick/
# BENCHMARKS.md), BENCH_PG_URL (an existing PostgreSQL server's admin URL instead of
# the private one this script starts on port 25433), CONFIGS (default:
# "chatwire-1n chatwire-2n node-1p node-2p"), IDLE_STEPS (per node), FANOUT_MEMBERS,
# FANOUT_RATES, SECS.
#
# Pinning: every server process (both nodes), PostgreSQL and Redis on core 0, the
# generators on core 1, so that two nodes get the CPU that one gets: on a 2-core
# machine this shows what the second node costs and holds, not throughput growing
# with nodes. Everything runs on loopback; every loop is bounded in count and time;
# everything started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
QUICK=${QUICK:-0}
CONFIGS=${CONFIGS:-chatwire-1n chatwire-2n node-1p node-2p}

if [[ $QUICK == 1 ]]; then
  IDLE_STEPS=${IDLE_STEPS:-200,1000}
  FANOUT_MEMBERS=${FANOUT_MEMBERS:-100,1000}
  FANOUT_RATES=${FANOUT_RATES:-200,20}
  SECS=${SECS:-2}
  RAW=$ROOT/bench/out/cluster-quick
  OUT=${BENCH_OUT:-$RAW/BENCHMARKS.md}
else
  # The fd limit is 20,000 per process (server and generator alike): 19,800 per
  # node leaves room for listeners, the database and the runtime's descriptors.
  IDLE_STEPS=${IDLE_STEPS:-5000,19800}
  FANOUT_MEMBERS=${FANOUT_MEMBERS:-1000,10000}
  FANOUT_RATES=${FANOUT_RATES:-100,10}
  SECS=${SECS:-5}
  RAW=$ROOT/bench/out/cluster
  OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
fi
max_of() { tr ',' '\n' <<<"$1" | sort -n | tail -1; }
PER_NODE=$(max_of "$IDLE_STEPS")
USERS=$((PER_NODE * 2))
if (($(max_of "$FANOUT_MEMBERS") > USERS)); then USERS=$(max_of "$FANOUT_MEMBERS"); fi
has() { [[ " $CONFIGS " == *" $1 "* ]]; }

ulimit -n "$(ulimit -Hn)"
mkdir -p "$RAW"
WORK=$(mktemp -d /tmp/chatwire-cluster-bench.XXXXXX)
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
stamp="$(date +%s)-$RANDOM"
# The shared secrets of cluster mode (README, "Cluster mode"): the same for every
# node. The generator mints access tokens with the first.
export JWT_ACCESS_SECRET="bench-access-$stamp" JWT_REFRESH_SECRET="bench-refresh-$stamp"
export MESSAGE_ENCRYPTION_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export API_TOKEN_SECRET="bench-api-$stamp"
export BENCH_JWT_SECRET=$JWT_ACCESS_SECRET

PIDS=()
SERVER_PIDS=()
REDIS_PID=""
PG_DIR=""
PG_BIN=""
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ -n $PG_DIR && -d $PG_DIR ]]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
  cp "$RESULTS" "$RAW/results.jsonl" 2>/dev/null || true
  mkdir -p "$RAW/logs" && find "$WORK" -maxdepth 1 -name '*.log' ! -name '*setup*' \
    -exec cp {} "$RAW/logs/" \; 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

SERVER_PIN=()
GEN_PIN=()
if command -v taskset >/dev/null && (($(nproc) >= 2)); then
  SERVER_PIN=(taskset -c 0)
  GEN_PIN=(taskset -c 1)
fi

# ---- build -------------------------------------------------------------------
log "building release binaries"
cargo build --release -q -p chatwire --bin chatwire
cargo build --release -q -p chatwire-bench
BIN=$ROOT/target/release
if [[ ! -d bench/node-peer/node_modules/@socket.io/redis-adapter ]]; then
  log "installing the Node peer's packages (npm ci)"
  (cd bench/node-peer && npm ci --no-audit --no-fund >/dev/null)
fi
if ! command -v redis-server >/dev/null; then
  log "installing redis-server (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
LOADGEN=("${GEN_PIN[@]}" "$BIN/loadgen")

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    if port_open "$1"; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1 after $2 s" >&2
  return 1
}
cpu_busy() {
  local u n s i w q sq st b1 t1 b2 t2
  read -r _ u n s i w q sq st _ </proc/stat
  b1=$((u + n + s + q + sq + st)) t1=$((u + n + s + i + w + q + sq + st))
  sleep "${1:-3}"
  read -r _ u n s i w q sq st _ </proc/stat
  b2=$((u + n + s + q + sq + st)) t2=$((u + n + s + i + w + q + sq + st))
  echo $(((b2 - b1) * 100 / (t2 - t1 + 1)))
}
# Others' work shares the machine: wait (at most 30 s) for it to be mostly idle
# before each configuration starts.
wait_quiet() {
  local i b
  for ((i = 0; i < 15; i++)); do
    b=$(cpu_busy 2)
    if ((b < 25)); then return 0; fi
  done
  log "machine still ${b}% busy after 30 s; measuring anyway"
}

REDIS_PORT=26391
REDIS_URL_=redis://127.0.0.1:$REDIS_PORT/
# A fresh, empty Redis for each configuration that uses it (no state of a previous
# configuration's nodes: presence, heartbeats, budgets), pinned with the servers.
start_redis() {
  stop_redis
  if port_open $REDIS_PORT; then
    echo "port $REDIS_PORT is taken" >&2
    return 1
  fi
  "${SERVER_PIN[@]}" redis-server --port $REDIS_PORT --bind 127.0.0.1 --save "" --appendonly no \
    --protected-mode no --maxclients 1000 >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  wait_port $REDIS_PORT 10
}
stop_redis() {
  if [[ -n $REDIS_PID ]]; then
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
    REDIS_PID=""
  fi
}
stop_servers() {
  local p
  for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  SERVER_PIDS=()
  stop_redis
  wait_quiet
}

CW_PORTS=(3710 3711)
NODE_PORTS=(4210 4211)
NAMES=(a b)
# chatwire node i (0 or 1): expresschat only, on loopback. cluster=1: REDIS_URL.
start_chatwire() { # i cluster level logfile
  local i=$1
  local -a cl=()
  if [[ $2 == 1 ]]; then cl=(REDIS_URL="$REDIS_URL_" CHATWIRE_NODE_ID="${NAMES[$i]}"); fi
  env DATABASE_URL="$CW_DB" CHATWIRE_PROFILES=expresschat "${cl[@]}" \
    CHATWIRE_EXPRESSCHAT_ADDR=127.0.0.1:${CW_PORTS[$i]} PUBLIC_URL=http://127.0.0.1:${CW_PORTS[$i]} \
    CHATWIRE_LOG="$3" CHATWIRE_LOG_FORMAT=json BCRYPT_COST=4 ACCESS_TOKEN_TTL_SECS=14400 \
    MESSAGES_PER_MINUTE=1000000 \
    "${SERVER_PIN[@]}" "$BIN/chatwire" serve >"$4.out" 2>"$4" &
  SERVER_PIDS+=($!)
  PIDS+=($!)
  wait_port "${CW_PORTS[$i]}" 60
}
start_node() { # i redis(0|1) logfile
  local i=$1
  local -a rd=()
  if [[ $2 == 1 ]]; then rd=(REDIS_URL="$REDIS_URL_"); fi
  (cd bench/node-peer && exec env PORT="${NODE_PORTS[$i]}" MODE=express DATABASE_URL="$NODE_DB" \
    SEED_USERS="$USERS" JWT_SECRET="$JWT_ACCESS_SECRET" "${rd[@]}" "${SERVER_PIN[@]}" node server.js) >"$3" 2>&1 &
  SERVER_PIDS+=($!)
  PIDS+=($!)
  wait_port "${NODE_PORTS[$i]}" 120
}
# Starts configuration $1's servers; sets ADDRS (comma list) and SPIDS.
start_config() { # config logprefix
  case $1 in
    chatwire-1n) start_chatwire 0 0 warn "$WORK/$2-a.log" ;;
    chatwire-2n)
      start_redis
      # One at a time: the first runs the migrations.
      start_chatwire 0 1 warn "$WORK/$2-a.log"
      start_chatwire 1 1 warn "$WORK/$2-b.log"
      wait_redis_up
      ;;
    node-1p) start_node 0 0 "$WORK/$2-a.log" ;;
    node-2p)
      start_redis
      start_node 0 1 "$WORK/$2-a.log"
      start_node 1 1 "$WORK/$2-b.log"
      ;;
  esac
  local ports
  case $1 in chatwire-*) ports=("${CW_PORTS[@]}") ;; *) ports=("${NODE_PORTS[@]}") ;; esac
  ADDRS="127.0.0.1:${ports[0]}"
  SPIDS="${SERVER_PIDS[0]}"
  if ((${#SERVER_PIDS[@]} > 1)); then
    ADDRS="$ADDRS,127.0.0.1:${ports[1]}"
    SPIDS="$SPIDS,${SERVER_PIDS[1]}"
  fi
}
wait_redis_up() {
  local i p ok
  for ((i = 0; i < 100; i++)); do
    ok=1
    for p in "${CW_PORTS[@]}"; do
      curl -fs "http://127.0.0.1:$p/readyz" | grep -q "redis: up" || ok=0
    done
    if ((ok)); then return 0; fi
    sleep 0.1
  done
  echo "the nodes do not report Redis up" >&2
  return 1
}

# ---- PostgreSQL ------------------------------------------------------------------
PG_URL_BASE=${BENCH_PG_URL:-}
if [[ -z $PG_URL_BASE ]]; then
  PG_BIN=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
  PG_DIR=$(mktemp -d /tmp/chatwire-cluster-bench-pg.XXXXXX)
  chown postgres "$PG_DIR" && chmod 700 "$PG_DIR"
  log "starting a private PostgreSQL on port 25433 (pinned with the servers)"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR" -A trust -U postgres >/dev/null
  runuser -u postgres -- "${SERVER_PIN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR" -w -t 60 -l "$PG_DIR/server.log" \
    -o "-p 25433 -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=120" start >/dev/null
  PG_URL_BASE=postgres://postgres@127.0.0.1:25433/postgres
fi
PG_VERSION=$(psql "$PG_URL_BASE" -Atc 'SHOW server_version')
PG_HOSTPORT=${PG_URL_BASE%/*}
for db in cwbench_cluster_chatwire cwbench_cluster_node; do
  psql "$PG_URL_BASE" -qc "DROP DATABASE IF EXISTS $db" >/dev/null
  psql "$PG_URL_BASE" -qc "CREATE DATABASE $db" >/dev/null
done
CW_DB=$PG_HOSTPORT/cwbench_cluster_chatwire
NODE_DB=$PG_HOSTPORT/cwbench_cluster_node

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_BEFORE=$(cpu_busy)
log "load average before: $LOAD_BEFORE; machine busy ${BUSY_BEFORE}%"

# ---- chatwire's users: sign-up + verification link -------------------------------
if has chatwire-1n || has chatwire-2n; then
  log "creating $USERS chatwire users (POST /signup + verification link)"
  start_chatwire 0 0 info "$WORK/chatwire-setup.log"
  timeout 900 "${LOADGEN[@]}" setup --addr 127.0.0.1:${CW_PORTS[0]} --log "$WORK/chatwire-setup.log" \
    --users "$USERS" --concurrency 16 >>"$RESULTS"
  stop_servers
fi

# ---- idle: one generator per server process ---------------------------------------
for cfg in $CONFIGS; do
  log "idle: $cfg, steps $IDLE_STEPS per process"
  start_config "$cfg" "$cfg-idle"
  IFS=, read -r -a addrs <<<"$ADDRS"
  IFS=, read -r -a spids <<<"$SPIDS"
  proto=express
  gpids=()
  for i in "${!addrs[@]}"; do
    timeout 600 "${LOADGEN[@]}" idle --addr "${addrs[$i]}" --proto $proto --label "$cfg" \
      --steps "$IDLE_STEPS" --first-user $((1 + i * PER_NODE)) --server-pid "${spids[$i]}" \
      --tag "node=${NAMES[$i]}" --tag db=postgres >"$WORK/idle-$cfg-$i.jsonl" &
    gpids+=($!)
  done
  for p in "${gpids[@]}"; do wait "$p" || log "an idle generator of $cfg failed (exit $?)"; done
  cat "$WORK"/idle-"$cfg"-*.jsonl >>"$RESULTS"
  stop_servers
done

# ---- group fan-out: one generator, members alternating between the processes ------
for cfg in $CONFIGS; do
  log "fan-out: $cfg, rooms $FANOUT_MEMBERS"
  start_config "$cfg" "$cfg-fanout"
  timeout 900 "${LOADGEN[@]}" fanout --addr "$ADDRS" --proto express --label "$cfg" \
    --server-pid "$SPIDS" --members "$FANOUT_MEMBERS" --rates "$FANOUT_RATES" --secs "$SECS" \
    --tag db=postgres >>"$RESULTS" || log "the fan-out generator of $cfg failed (exit $?)"
  stop_servers
done

# ---- the report -------------------------------------------------------------------
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
pkg_v() { node -p "require('$ROOT/bench/node-peer/node_modules/$1/package.json').version" 2>/dev/null || echo absent; }
cat >"$WORK/meta.json" <<EOF
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "commit": "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)",
  "dirty": $(if [[ -n $(git status --porcelain 2>/dev/null | head -1) ]]; then echo true; else echo false; fi),
  "rustc": "$(rustc --version)",
  "node": "$(node --version)",
  "socket_io": "$(pkg_v socket.io)",
  "redis_adapter": "$(pkg_v @socket.io/redis-adapter)",
  "redis_client": "$(pkg_v redis)",
  "redis_server": "$(redis-server --version | grep -o 'v=[0-9.]*' | cut -d= -f2)",
  "postgres": "$PG_VERSION",
  "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)",
  "cores": $(nproc),
  "mem_gib": $(awk '/MemTotal/ {printf "%.0f", $2/1048576}' /proc/meminfo),
  "fd_limit": $(ulimit -Hn),
  "load_before": "$LOAD_BEFORE",
  "load_after": "$LOAD_AFTER",
  "busy_before_pct": $BUSY_BEFORE,
  "quick": $QUICK,
  "configs": "$CONFIGS",
  "idle_steps": "$IDLE_STEPS",
  "fanout_members": "$FANOUT_MEMBERS",
  "fanout_rates": "$FANOUT_RATES",
  "secs": $SECS
}
EOF
cp "$WORK/meta.json" "$RAW/meta.json"
"$BIN/loadgen" cluster-report --results "$RESULTS" --meta "$WORK/meta.json" \
  --analysis "$ROOT/bench/cluster-analysis.md" --out "$OUT"
log "wrote $OUT"
