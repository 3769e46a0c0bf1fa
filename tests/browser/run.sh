#!/usr/bin/env bash
# Browser end-to-end tests: the demo chat page (examples/web/) and the Socket.IO admin
# UI (/admin/) in headless Chromium,
# driven by playwright-core under node's test runner, against a chatwire binary
# (CHATWIRE_BIN, default target/debug/chatwire; `cargo build` first).
#
# Installs what is missing: Debian's chromium with apt-get (needs root, as CI has;
# nothing downloads a browser of its own), and the npm packages of this folder and
# of tests/e2e (whose helpers.mjs the tests share). Every step is time-bounded.
#
#   bash tests/browser/run.sh
#   CHATWIRE_BROWSER_SCREENSHOTS=always bash tests/browser/run.sh   # keep screenshots of a pass too
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
echo "== browser tests (${DATABASE_URL:-sqlite})"

export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM_PATH" ]; then
  echo "browser tests: no $CHROMIUM_PATH; installing Debian's chromium"
  timeout 600 apt-get update -q
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q chromium
fi

export CHATWIRE_BIN="${CHATWIRE_BIN:-$ROOT/target/debug/chatwire}"
[ -x "$CHATWIRE_BIN" ] || { echo "browser tests: no chatwire binary at $CHATWIRE_BIN (cargo build, or set CHATWIRE_BIN)" >&2; exit 1; }

npm_ci() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    timeout 300 npm ci --no-audit --no-fund --loglevel=error
  fi
}
(cd "$ROOT/tests/e2e" && npm_ci)
cd "$HERE" && npm_ci
timeout 600 node --test --test-concurrency=1 ./*.test.mjs
