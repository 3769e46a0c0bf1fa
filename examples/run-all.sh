#!/usr/bin/env bash
# Runs every example against a fresh chatwire: a temporary SQLite database with
# the demo users and a chatsphere client token, all five profiles on free ports.
# Fails when one example fails. The server is stopped on exit.
#
#   bash examples/run-all.sh                       # uses target/debug/chatwire
#   CHATWIRE_BIN=target/release/chatwire bash examples/run-all.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
BIN="${CHATWIRE_BIN:-$ROOT/target/debug/chatwire}"
EXAMPLES=(expresschat calls orgchat chatsphere testcore)
EXAMPLE_TIMEOUT=30 # seconds per example (each also gives up by itself after 15 s)

[[ -x "$BIN" ]] || { echo "run-all: no chatwire binary at $BIN (cargo build, or set CHATWIRE_BIN)" >&2; exit 1; }
cd "$HERE"
if [[ ! -d node_modules ]]; then
  echo "run-all: npm ci"
  timeout 300 npm ci --no-audit --no-fund >&2
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/chatwire-examples.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export DATABASE_URL="sqlite://$TMP/chatwire.db?mode=rwc"
for p in EXPRESSCHAT CALLS ORGCHAT CHATSPHERE TESTCORE; do export "CHATWIRE_${p}_ADDR=127.0.0.1:0"; done

# The demo users (alice@example.com, bob@example.com) and chatsphere's first client token.
(cd "$TMP" && CHATWIRE_LOG=warn timeout 60 "$BIN" demo)
CHATSPHERE_CLIENT_TOKEN="$(cd "$TMP" && CHATWIRE_LOG=warn timeout 60 "$BIN" token create --client --username examples-admin | tail -n1)"
export CHATSPHERE_CLIENT_TOKEN

# Start the server; it prints `chatwire: <profile> <url>` per listener on stdout.
(cd "$TMP" && exec "$BIN" serve >"$TMP/stdout" 2>"$TMP/server.log") &
SERVER_PID=$!
for _ in $(seq 200); do
  [[ "$(grep -c '^chatwire: [a-z]* http' "$TMP/stdout" || true)" -ge ${#EXAMPLES[@]} ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "run-all: chatwire exited early:" >&2; cat "$TMP/server.log" >&2; exit 1; }
  sleep 0.1
done
for p in "${EXAMPLES[@]}"; do
  url="$(sed -n "s|^chatwire: $p \(http[^ ]*\).*|\1|p" "$TMP/stdout")"
  [[ -n "$url" ]] || { echo "run-all: no listener line for $p within 20 s" >&2; cat "$TMP/server.log" >&2; exit 1; }
  export "${p^^}_URL=$url"
done

failed=()
for p in "${EXAMPLES[@]}"; do
  echo
  echo "=== $p ($(printenv "${p^^}_URL"))"
  if ! timeout "$EXAMPLE_TIMEOUT" node "$p.mjs"; then
    failed+=("$p")
  fi
done

echo
if ((${#failed[@]})); then
  echo "run-all: FAILED: ${failed[*]}" >&2
  echo "--- server log (last 40 lines) ---" >&2
  tail -n 40 "$TMP/server.log" >&2
  exit 1
fi
echo "run-all: all ${#EXAMPLES[@]} examples passed"
