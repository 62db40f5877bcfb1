#!/usr/bin/env bash
# Load-test comparison of Switchyard against a direct connection, a bare
# fasthttp reverse proxy (the floor) and, when node is present, the Portkey
# gateway. Called by `make bench` (which builds bin/switchyard first).
# Writes loadtest/results/report.md and loadtest/results/latency.png.
#
# Environment:
#   BENCH_REPS      repetitions (default 3)
#   BENCH_DURATION  measured window per run (default 2500ms)
#   BENCH_WARMUP    warm-up per run (default 500ms)
#   BENCH_ONLY      comma-separated scenario names (default all)
#   BENCH_NO_PEER=1 skip the Portkey peer
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
GO=${GO:-go}

[ -x bin/switchyard ] || { echo "run.sh: bin/switchyard missing: run make build" >&2; exit 1; }

echo "run.sh: building the load-test tools" >&2
mkdir -p loadtest/bin loadtest/results
$GO build -trimpath -o loadtest/bin/ ./loadtest/cmd/fakeupstream ./loadtest/cmd/bareproxy ./loadtest/cmd/loadgen ./loadtest/cmd/bench \
  ./loadtest/cmd/fakepicker ./loadtest/cmd/tcprelay ./loadtest/cmd/h2relay ./loadtest/cmd/l4bench

# 10,000 concurrent streams need ~20,000 descriptors in a proxy (client +
# upstream side): raise the soft limit to the hard one (Go does the same for
# its own processes; the memory-10k scenario is sized to fit 20,000).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "run.sh: open files limit $(ulimit -n)" >&2

# The peer: @portkey-ai/gateway from npm, installed once into loadtest/.peer
# (gitignored). Skipped without node/npm or when the install fails.
PEER=loadtest/.peer
if [ "${BENCH_NO_PEER:-}" != 1 ] && command -v node >/dev/null && command -v npm >/dev/null; then
  if [ ! -f "$PEER/node_modules/@portkey-ai/gateway/build/start-server.js" ]; then
    echo "run.sh: installing @portkey-ai/gateway@1.15.2 into $PEER" >&2
    mkdir -p "$PEER"
    timeout 300 npm install --no-audit --no-fund --prefix "$PEER" @portkey-ai/gateway@1.15.2 >"$PEER/npm.log" 2>&1 ||
      echo "run.sh: npm install failed (see $PEER/npm.log): the peer is skipped" >&2
  fi
elif [ "${BENCH_NO_PEER:-}" = 1 ]; then
  PEER=/nonexistent
fi

# Pinning: with two or more CPUs the servers under test (gateway, bare proxy,
# peer) get CPU 0 and the fake upstream and the load generator CPU 1, so that
# the generator never steals CPU from what it measures and the server CPU per
# request is not blurred by the client's. With one CPU nothing is pinned.
SERVER_CPUS=""; CLIENT_CPUS=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  SERVER_CPUS=0; CLIENT_CPUS=1
fi

# The TCP and gRPC scenarios (cmd/l4bench): the gateway and the bare TCP
# relay on the server CPUs, the upstreams and the load on the client ones.
# Skipped with BENCH_ONLY unless it names l4.
if [ -z "${BENCH_ONLY:-}" ] || [[ ",${BENCH_ONLY}," == *",l4,"* ]]; then
  ${CLIENT_CPUS:+taskset -c "$CLIENT_CPUS"} loadtest/bin/l4bench -switchyard "$ROOT/bin/switchyard" \
    -relay "$ROOT/loadtest/bin/tcprelay" -h2relay "$ROOT/loadtest/bin/h2relay" -server-cpus "$SERVER_CPUS" -out "$ROOT/loadtest/results/l4.md" \
    -d "${BENCH_DURATION:-2500ms}" 2>/dev/null
  [ "${BENCH_ONLY:-}" = l4 ] && exit 0
fi

exec loadtest/bin/bench \
  -switchyard "$ROOT/bin/switchyard" -tools "$ROOT/loadtest/bin" -peer "$PEER" -out "$ROOT/loadtest/results" \
  -reps "${BENCH_REPS:-3}" -d "${BENCH_DURATION:-2500ms}" -warmup "${BENCH_WARMUP:-500ms}" \
  -server-cpus "$SERVER_CPUS" -client-cpus "$CLIENT_CPUS" ${BENCH_ONLY:+-only "$BENCH_ONLY"}
