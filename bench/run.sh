#!/usr/bin/env bash
# chatwire's benchmark suite: chatwire against the Node.js + socket.io 4 peer
# (bench/node-peer) and the raw Rust WebSocket ceiling (bench/src/bin/ceiling.rs),
# all driven by one generator (bench/src/bin/loadgen) in one run, and BENCHMARKS.md
# written from what this run measured.
#
#   bench/run.sh            the whole suite (about 10-15 minutes plus the build)
#   QUICK=1 bench/run.sh    small sizes, a smoke run (writes bench/out/quick/ only)
#
# Environment: BENCH_OUT (default: BENCHMARKS.md at the repository root; QUICK
# runs default to bench/out/quick/BENCHMARKS.md), BENCH_PG_URL (an existing
# PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres, instead of
# the private cluster this script starts on port 25432), BENCH_SKIP_PG=1.
# BEFORE_BIN: a chatwire binary built from an earlier commit (BEFORE_COMMIT names
# it), measured beside the current one in every chatwire scenario, for the report's
# before/after table. To build one:
#   git worktree add /tmp/cw-before <commit> && \
#     cargo build --release --manifest-path /tmp/cw-before/Cargo.toml --target-dir /tmp/cw-before/target
#
# Everything runs on loopback; every loop is bounded in count and time; servers
# started here are killed on exit. Servers (and the private PostgreSQL) are pinned
# to core 0 and the generator to core 1 with taskset when the machine has 2+ cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
QUICK=${QUICK:-0}

if [[ $QUICK == 1 ]]; then
  IDLE_STEPS=${IDLE_STEPS:-500,2000}
  FANOUT_MEMBERS=${FANOUT_MEMBERS:-100,1000}
  FANOUT_RATES=${FANOUT_RATES:-1000,100}
  DM_PAIRS=${DM_PAIRS:-50}
  DM_RATES=${DM_RATES:-500}
  SECS=${SECS:-2}
  RAW=$ROOT/bench/out/quick
  OUT=${BENCH_OUT:-$RAW/BENCHMARKS.md}
else
  # The fd limit is 20,000 per process: 19,800 leaves room for listeners, the
  # database and the runtime's own descriptors.
  IDLE_STEPS=${IDLE_STEPS:-1000,5000,19800}
  FANOUT_MEMBERS=${FANOUT_MEMBERS:-100,1000,10000}
  FANOUT_RATES=${FANOUT_RATES:-1000,100,10}
  DM_PAIRS=${DM_PAIRS:-200}
  DM_RATES=${DM_RATES:-500,2000,4000,6000,8000}
  SECS=${SECS:-5}
  RAW=$ROOT/bench/out
  OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
fi
max_of() { tr ',' '\n' <<<"$1" | sort -n | tail -1; }
USERS=$(max_of "$IDLE_STEPS")
if (($(max_of "$FANOUT_MEMBERS") > USERS)); then USERS=$(max_of "$FANOUT_MEMBERS"); fi
if ((DM_PAIRS * 2 > USERS)); then USERS=$((DM_PAIRS * 2)); fi

mkdir -p "$RAW"
WORK=$(mktemp -d /tmp/chatwire-bench.XXXXXX)
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
JWT_SECRET="bench-access-$(date +%s)-$RANDOM"
export BENCH_JWT_SECRET=$JWT_SECRET

PIDS=()
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
  # Server logs (not the set-up ones, which hold every verification link).
  mkdir -p "$RAW/logs" && find "$WORK" -maxdepth 1 -name '*.log' ! -name '*setup*' \
    -exec cp {} "$RAW/logs/" \; 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

SERVER_PIN=()
GEN_PIN=()
if command -v taskset >/dev/null && (( $(nproc) >= 2 )); then
  SERVER_PIN=(taskset -c 0)
  GEN_PIN=(taskset -c 1)
fi

# ---- build -------------------------------------------------------------------
log "building release binaries"
cargo build --release -q -p chatwire --bin chatwire
cargo build --release -q -p chatwire-bench
BIN=$ROOT/target/release
if [[ ! -d bench/node-peer/node_modules ]]; then
  log "installing the Node peer's packages (npm ci)"
  (cd bench/node-peer && npm ci --no-audit --no-fund >/dev/null)
fi

LOADGEN=("${GEN_PIN[@]}" "$BIN/loadgen")
BEFORE=${BEFORE_BIN:-}
if [[ -n $BEFORE && ! -x $BEFORE ]]; then
  echo "BEFORE_BIN=$BEFORE is not an executable" >&2
  exit 1
fi

wait_port() { # port seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1 after $2 s" >&2
  return 1
}

# How busy the machine is without us: share of all cores over 3 s, and the top
# processes of a `top` snapshot (other engineers' builds and tests share it).
cpu_busy() {
  local u n s i w q sq st b1 t1 b2 t2
  read -r _ u n s i w q sq st _ </proc/stat
  b1=$((u + n + s + q + sq + st)) t1=$((u + n + s + i + w + q + sq + st))
  sleep "${1:-3}"
  read -r _ u n s i w q sq st _ </proc/stat
  b2=$((u + n + s + q + sq + st)) t2=$((u + n + s + i + w + q + sq + st))
  echo $(((b2 - b1) * 100 / (t2 - t1 + 1)))
}
top_now() { top -bn1 -o %CPU 2>/dev/null | sed -n '8,10p' | awk '{printf "%s %s%%; ", $12, $9}'; }
# Other engineers' builds and tests share the machine: before each server starts,
# wait (at most 30 s) for the machine to be mostly idle, so that bursts of their
# work fall between measurements rather than into them.
wait_quiet() {
  local i b
  for ((i = 0; i < 15; i++)); do
    b=$(cpu_busy 2)
    if ((b < 25)); then return 0; fi
  done
  log "machine still ${b}% busy after 30 s; measuring anyway"
}

SERVER_PID=""
stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
  wait_quiet
}

CW_PORT=3700
NODE_PORT=4200
CEIL_PORT=4100
# chatwire: expresschat only, on loopback; `level` is its log filter. Its per-user
# message budget is raised (MESSAGES_PER_MINUTE, default 30,000): the Node peer has
# none, and the fan-out sender alone sends more than that in a minute. CW_BIN
# picks the binary (the current build unless set: BEFORE_BIN's runs set it).
start_chatwire() { # db_url level logfile
  stop_server
  env DATABASE_URL="$1" CHATWIRE_PROFILES=expresschat \
    CHATWIRE_EXPRESSCHAT_ADDR=127.0.0.1:$CW_PORT PUBLIC_URL=http://127.0.0.1:$CW_PORT \
    CHATWIRE_LOG="$2" CHATWIRE_LOG_FORMAT=json BCRYPT_COST=4 \
    JWT_ACCESS_SECRET="$JWT_SECRET" JWT_REFRESH_SECRET="$JWT_SECRET-refresh" \
    ACCESS_TOKEN_TTL_SECS=14400 MESSAGES_PER_MINUTE=1000000 \
    "${SERVER_PIN[@]}" "${CW_BIN:-$BIN/chatwire}" serve >"$3.out" 2>"$3" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_port $CW_PORT 60
}
start_node() { # mode db_url seed_users logfile
  stop_server
  (cd bench/node-peer && exec env PORT=$NODE_PORT MODE="$1" DATABASE_URL="$2" SEED_USERS="$3" \
    JWT_SECRET="$JWT_SECRET" "${SERVER_PIN[@]}" node server.js) >"$4" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_port $NODE_PORT 120
}
start_ceiling() {
  stop_server
  "${SERVER_PIN[@]}" "$BIN/ceiling" --addr 127.0.0.1:$CEIL_PORT >"$WORK/ceiling.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_port $CEIL_PORT 10
}
# The pid to read RSS and CPU from (node's `exec` and taskset keep the pid).
gen() { # generator args..., results appended
  timeout 600 "${LOADGEN[@]}" "$@" --server-pid "$SERVER_PID" >>"$RESULTS"
}

# ---- the measured system -----------------------------------------------------
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_BEFORE=$(cpu_busy)
TOP_BEFORE=$(top_now)
log "load average before: $LOAD_BEFORE; machine busy ${BUSY_BEFORE}% ($TOP_BEFORE)"

# ---- chatwire's users: sign-up + verification link (SQLite) ---------------------
CW_DB="sqlite://$WORK/chatwire.db?mode=rwc"
NODE_DB="$WORK/node-peer.db"
log "creating $USERS chatwire users (POST /signup + verification link)"
start_chatwire "$CW_DB" info "$WORK/chatwire-setup.log"
timeout 900 "${LOADGEN[@]}" setup --addr 127.0.0.1:$CW_PORT --log "$WORK/chatwire-setup.log" \
  --users "$USERS" >>"$RESULTS"
stop_server
MEASURE_LOG=warn

# ---- idle connections, connect rate, RSS per connection -------------------------
log "idle: steps $IDLE_STEPS"
start_chatwire "$CW_DB" $MEASURE_LOG "$WORK/chatwire-idle.log"
gen idle --addr 127.0.0.1:$CW_PORT --proto express --label chatwire --steps "$IDLE_STEPS" --tag db=sqlite
if [[ -n $BEFORE ]]; then
  CW_BIN=$BEFORE start_chatwire "$CW_DB" $MEASURE_LOG "$WORK/chatwire-before-idle.log"
  gen idle --addr 127.0.0.1:$CW_PORT --proto express --label chatwire-before --steps "$IDLE_STEPS" --tag db=sqlite
fi
start_node express "$NODE_DB" "$USERS" "$WORK/node-idle.log"
gen idle --addr 127.0.0.1:$NODE_PORT --proto express --label node --steps "$IDLE_STEPS" --tag db=sqlite
start_node relay "" 0 "$WORK/node-relay-idle.log"
gen idle --addr 127.0.0.1:$NODE_PORT --proto relay --label node-relay --steps "$IDLE_STEPS"
start_ceiling
gen idle --addr 127.0.0.1:$CEIL_PORT --proto relay --label ceiling --steps "$IDLE_STEPS"

# ---- group fan-out --------------------------------------------------------------
FAN=(--members "$FANOUT_MEMBERS" --rates "$FANOUT_RATES" --secs "$SECS")
log "fan-out: rooms $FANOUT_MEMBERS"
start_chatwire "$CW_DB" $MEASURE_LOG "$WORK/chatwire-fanout.log"
gen fanout --addr 127.0.0.1:$CW_PORT --proto express --label chatwire "${FAN[@]}" --tag db=sqlite
if [[ -n $BEFORE ]]; then
  CW_BIN=$BEFORE start_chatwire "$CW_DB" $MEASURE_LOG "$WORK/chatwire-before-fanout.log"
  gen fanout --addr 127.0.0.1:$CW_PORT --proto express --label chatwire-before "${FAN[@]}" --tag db=sqlite
fi
start_node express "$NODE_DB" "$USERS" "$WORK/node-fanout.log"
gen fanout --addr 127.0.0.1:$NODE_PORT --proto express --label node "${FAN[@]}" --tag db=sqlite
start_node relay "" 0 "$WORK/node-relay-fanout.log"
gen fanout --addr 127.0.0.1:$NODE_PORT --proto relay --label node-relay "${FAN[@]}"
start_ceiling
gen fanout --addr 127.0.0.1:$CEIL_PORT --proto relay --label ceiling "${FAN[@]}"

# ---- persisted direct messages: SQLite ------------------------------------------
DM=(--pairs "$DM_PAIRS" --rates "$DM_RATES" --secs "$SECS")
log "direct messages on SQLite: $DM_PAIRS pairs"
# Users beyond the fan-out's, so the pairs' chats are new.
start_chatwire "$CW_DB" $MEASURE_LOG "$WORK/chatwire-dm.log"
gen dm --addr 127.0.0.1:$CW_PORT --proto express --label chatwire "${DM[@]}" --tag db=sqlite
if [[ -n $BEFORE ]]; then
  CW_BIN=$BEFORE start_chatwire "$CW_DB" $MEASURE_LOG "$WORK/chatwire-before-dm.log"
  gen dm --addr 127.0.0.1:$CW_PORT --proto express --label chatwire-before "${DM[@]}" --tag db=sqlite
fi
start_node express "$NODE_DB" "$USERS" "$WORK/node-dm.log"
gen dm --addr 127.0.0.1:$NODE_PORT --proto express --label node "${DM[@]}" --tag db=sqlite
stop_server

# ---- persisted direct messages: PostgreSQL --------------------------------------
PG_VERSION=""
if [[ ${BENCH_SKIP_PG:-0} != 1 ]]; then
  PG_URL_BASE=${BENCH_PG_URL:-}
  if [[ -z $PG_URL_BASE ]] && command -v pg_ctl >/dev/null && command -v runuser >/dev/null \
    && id postgres >/dev/null 2>&1; then
    PG_BIN=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
    # Its own directory: the postgres user cannot enter $WORK (mode 700, root's).
    PG_DIR=$(mktemp -d /tmp/chatwire-bench-pg.XXXXXX)
    chown postgres "$PG_DIR" && chmod 700 "$PG_DIR"
    log "starting a private PostgreSQL on port 25432 (pinned with the servers)"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR" -A trust -U postgres >/dev/null
    runuser -u postgres -- "${SERVER_PIN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR" -w -t 60 -l "$PG_DIR/server.log" \
      -o "-p 25432 -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=100" start >/dev/null
    PG_URL_BASE=postgres://postgres@127.0.0.1:25432/postgres
  fi
  if [[ -n $PG_URL_BASE ]]; then
    PG_VERSION=$(psql "$PG_URL_BASE" -Atc 'SHOW server_version' 2>/dev/null || echo unknown)
    PG_HOSTPORT=${PG_URL_BASE%/*}
    for db in cwbench_chatwire cwbench_node; do
      psql "$PG_URL_BASE" -qc "DROP DATABASE IF EXISTS $db" >/dev/null
      psql "$PG_URL_BASE" -qc "CREATE DATABASE $db" >/dev/null
    done
    log "direct messages on PostgreSQL $PG_VERSION: $DM_PAIRS pairs"
    start_chatwire "$PG_HOSTPORT/cwbench_chatwire" info "$WORK/chatwire-pg-setup.log"
    timeout 600 "${LOADGEN[@]}" setup --addr 127.0.0.1:$CW_PORT --log "$WORK/chatwire-pg-setup.log" \
      --users $((DM_PAIRS * 2)) >/dev/null
    start_chatwire "$PG_HOSTPORT/cwbench_chatwire" $MEASURE_LOG "$WORK/chatwire-pg.log"
    gen dm --addr 127.0.0.1:$CW_PORT --proto express --label chatwire "${DM[@]}" --tag db=postgres
    if [[ -n $BEFORE ]]; then
      CW_BIN=$BEFORE start_chatwire "$PG_HOSTPORT/cwbench_chatwire" $MEASURE_LOG "$WORK/chatwire-before-pg.log"
      gen dm --addr 127.0.0.1:$CW_PORT --proto express --label chatwire-before "${DM[@]}" --tag db=postgres
    fi
    start_node express "$PG_HOSTPORT/cwbench_node" $((DM_PAIRS * 2)) "$WORK/node-pg.log"
    gen dm --addr 127.0.0.1:$NODE_PORT --proto express --label node "${DM[@]}" --tag db=postgres
    stop_server
  else
    log "no PostgreSQL: skipping its scenario"
  fi
fi

# ---- the report -----------------------------------------------------------------
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_AFTER=$(cpu_busy)
log "load average after: $LOAD_AFTER; machine busy ${BUSY_AFTER}%"
node_v=$(node --version)
pkg_v() { node -p "require('$ROOT/bench/node-peer/node_modules/$1/package.json').version" 2>/dev/null || echo absent; }
cat >"$WORK/meta.json" <<EOF
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "commit": "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)",
  "before_commit": "${BEFORE_COMMIT:-}",
  "dirty": $(if [[ -n $(git status --porcelain 2>/dev/null | head -1) ]]; then echo true; else echo false; fi),
  "rustc": "$(rustc --version)",
  "node": "$node_v",
  "socket_io": "$(pkg_v socket.io)",
  "better_sqlite3": "$(pkg_v better-sqlite3)",
  "pg": "$(pkg_v pg)",
  "bufferutil": "$(pkg_v bufferutil)",
  "postgres": "$PG_VERSION",
  "kernel": "$(uname -sr)",
  "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)",
  "cores": $(nproc),
  "mem_gib": $(awk '/MemTotal/ {printf "%.0f", $2/1048576}' /proc/meminfo),
  "fd_limit": $(ulimit -Hn),
  "pinned": $(if [[ ${#SERVER_PIN[@]} -gt 0 ]]; then echo true; else echo false; fi),
  "load_before": "$LOAD_BEFORE",
  "load_after": "$LOAD_AFTER",
  "top_before": "$TOP_BEFORE",
  "busy_before_pct": $BUSY_BEFORE,
  "busy_after_pct": $BUSY_AFTER,
  "quick": $QUICK,
  "idle_steps": "$IDLE_STEPS",
  "fanout_members": "$FANOUT_MEMBERS",
  "fanout_rates": "$FANOUT_RATES",
  "dm_pairs": $DM_PAIRS,
  "dm_rates": "$DM_RATES",
  "secs": $SECS
}
EOF
"$BIN/loadgen" report --results "$RESULTS" --meta "$WORK/meta.json" \
  --analysis "$ROOT/bench/analysis.md" --out "$OUT" --charts "$RAW/charts"
cp "$WORK/meta.json" "$RAW/meta.json"
log "wrote $OUT"
