#!/usr/bin/env bash
# The reliability suite (issue 14): malformed input, the authorization matrix,
# SIGKILL/SIGTERM while sending, reconnect-and-catch-up, floods and slow readers
# with a canary, and a soak, against a chatwire binary on loopback.
#
#   tests/reliability/run.sh [--quick|--full]
#
# --quick (default, CI): small counts, a debug build, ~2 minutes.
# --full: targets.md's sizes (10k-connection soak for 10 minutes), a release build,
#         writes RELIABILITY.md. CHATWIRE_BIN overrides the binary; DATABASE_URL=postgres://...
#         runs it on PostgreSQL (a fresh database per server); RELIABILITY_* override counts
#         (see runner.mjs).
set -euo pipefail
cd "$(dirname "$0")/../.."
mode="${1:---quick}"
case "$mode" in
  --quick) profile=debug; flags=() ;;
  --full) profile=release; flags=(--release) ;;
  *) echo "usage: $0 [--quick|--full]" >&2; exit 2 ;;
esac
if [ -z "${CHATWIRE_BIN:-}" ]; then
  cargo build "${flags[@]}" --bin chatwire
  export CHATWIRE_BIN="$PWD/target/$profile/chatwire"
fi
if [ ! -d tests/e2e/node_modules ]; then
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
# the soak holds 10k connections on each side
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec node tests/reliability/runner.mjs "$mode"
