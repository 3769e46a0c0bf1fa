#!/usr/bin/env bash
# The whole test suite, as CI runs it: format, lints, the Rust tests, then the
# end-to-end tests that drive a real chatwire binary with the frontends' own
# clients (socket.io-client 4, ws, fetch) under node's test runner.
#
# Data tests run on SQLite by default; set DATABASE_URL=postgres://... to run them
# on PostgreSQL (each test creates its own fresh database on that server).
# CHATWIRE_TEST_SKIP_LINT=1 skips fmt and clippy (CI's second, PostgreSQL pass).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${CHATWIRE_TEST_SKIP_LINT:-0}" != 1 ]; then
  echo "== cargo fmt --check"
  cargo fmt --all -- --check
  echo "== cargo clippy"
  cargo clippy --workspace --all-targets -- -D warnings
fi

echo "== Rust tests (${DATABASE_URL:-sqlite})"
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi

echo "== end-to-end tests (${DATABASE_URL:-sqlite})"
cargo build --bin chatwire
# The tests spawn this binary; honour a CARGO_TARGET_DIR set by the caller.
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
export CHATWIRE_BIN="${CHATWIRE_BIN:-$target_dir/debug/chatwire}"
cd tests/e2e
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node --test --test-concurrency=2 ./*.test.mjs
# Cluster mode (README, "Cluster mode"): its start-up refusals on every pass; two
# nodes, a private redis-server and a fresh database only on PostgreSQL.
node --test ./cluster/config.test.mjs
if [[ "${DATABASE_URL:-}" == postgres* ]]; then
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "cluster tests: no redis-server; installing Debian's redis-server"
    timeout 600 apt-get update -q
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q redis-server
  fi
  node --test --test-concurrency=1 ./cluster/profiles.test.mjs ./cluster/limits.test.mjs ./cluster/failure.test.mjs
fi

echo "== reliability suite, quick (${DATABASE_URL:-sqlite})"
# malformed input, authorization matrix, kill rounds, catch-up, floods, a short soak;
# fails on a panic, crash, 5xx, lost confirmed message or accepted unauthorized request
CHATWIRE_BIN="$CHATWIRE_BIN" bash ../reliability/run.sh --quick

bash ../browser/run.sh # the demo chat page and the admin UI in headless Chromium (installs chromium if missing)

echo "== examples (each against a fresh server)"
cd ../..
CHATWIRE_BIN="$CHATWIRE_BIN" bash examples/run-all.sh
