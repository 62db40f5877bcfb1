#!/usr/bin/env bash
# Per-request counts that do not depend on the machine's load: system calls
# (perf's syscall tracepoints) and user-space instructions (callgrind) of one
# server under the passthrough-real exchange (64 connections of `loadgen
# -shape sdk`, fake upstream `-response openai`, the server with GOMAXPROCS=1
# on CPU 0).
#
#   loadtest/perreq.sh floor|floor-buffered|switchyard [real|shared]
#
# Environment: GW (gateway binary, default bin/switchyard), SECS (perf window,
# default 4), CALLGRIND=1 (also count instructions: the server runs under
# valgrind, 8 connections for 10 s). Needs perf; CALLGRIND needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${1:?floor, floor-buffered or switchyard} MODE=${2:-real}
GW=${GW:-bin/switchyard} SECS=${SECS:-4}
T=loadtest/bin
go build -trimpath -o $T/ ./loadtest/cmd/fakeupstream ./loadtest/cmd/bareproxy ./loadtest/cmd/loadgen
W=$(mktemp -d)
UPCPU=1; [ "$MODE" = shared ] && UPCPU=0
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
taskset -c $UPCPU $T/fakeupstream -response openai >"$W/up.out" 2>"$W/up.err" & PIDS+=($!)
sleep 0.3; UP=$(head -1 "$W/up.out")

start() { # start [wrapper...]: starts the target, sets SPID and ADDR
  case $TARGET in
  floor|floor-buffered)
    local extra=(); [ "$TARGET" = floor-buffered ] && extra=(-buffered)
    GOMAXPROCS=1 taskset -c 0 "$@" $T/bareproxy -upstream "$UP" "${extra[@]}" >"$W/srv.out" 2>"$W/srv.err" & SPID=$!
    for _ in $(seq 100); do [ -s "$W/srv.out" ] && break; sleep 0.2; done
    ADDR=$(head -1 "$W/srv.out");;
  switchyard)
    local ai=$((20000 + RANDOM % 10000)); local adm=$((ai + 1))
    # The config lives in a directory of its own: the gateway watches it.
    mkdir -p "$W/cfg"
    printf 'server: {accessLog: false}\nlisteners:\n  - {name: ai, address: 127.0.0.1, port: %d}\nroutes:\n  - name: default/ai\n    listeners: [ai]\n    rules:\n      - matches: [{path: {value: /v1}}]\n        backendRefs: [{name: default/fake}]\nbackends:\n  - name: default/fake\n    ai: {provider: openai-compatible, baseURL: "http://%s", maxConnections: 20000}\n' \
      "$ai" "$UP" >"$W/cfg/gw.yaml"
    GOMAXPROCS=1 taskset -c 0 "$@" "$GW" run -c "$W/cfg/gw.yaml" --admin 127.0.0.1:$adm --log-level warn \
      >"$W/srv.out" 2>"$W/srv.err" & SPID=$!
    for _ in $(seq 300); do curl -s -o /dev/null 127.0.0.1:$adm/readyz && break; sleep 0.2; done
    ADDR=127.0.0.1:$ai;;
  *) echo "perreq: unknown target $TARGET" >&2; exit 2;;
  esac
  PIDS+=("$SPID")
}
load() { # load CONNS DURATION OUT
  taskset -c 1 $T/loadgen -url "http://$ADDR/v1/chat/completions" -shape sdk -c "$1" -d "$2" -warmup 0s -q -o "$3"
}
requests() { sed -n 's/^  "requests": \([0-9]*\),/\1/p' "$1"; }

start
load 64 1s /dev/null # warm-up
EV=$(printf 'syscalls:sys_enter_%s,' read write epoll_pwait futex nanosleep)raw_syscalls:sys_enter,context-switches
perf stat -x, -e "$EV" -p "$SPID" -o "$W/perf.txt" -- sleep "$SECS" & PP=$!
load 64 "${SECS}s" "$W/res.json"
wait $PP || true
N=$(requests "$W/res.json")
echo "$TARGET ($MODE): $N requests; per request:"
awk -F, -v n="$N" '$1 ~ /^[0-9.]+$/ {printf "  %-32s %8.3f\n", $3, $1/n}' "$W/perf.txt"

if [ "${CALLGRIND:-}" = 1 ]; then
  kill "$SPID"; wait "$SPID" 2>/dev/null || true
  # Go's asynchronous preemption signals can crash callgrind (an assertion in
  # vgCallgrind_post_signal): off for this run.
  start env GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$W/cg.out"
  load 8 2s /dev/null # warm-up
  callgrind_control -i on "$SPID" >/dev/null 2>&1
  load 8 10s "$W/cg.json"
  callgrind_control -i off "$SPID" >/dev/null 2>&1
  callgrind_control -d "$SPID" >/dev/null 2>&1
  N=$(requests "$W/cg.json")
  IR=
  for _ in $(seq 50); do # the dump is written asynchronously
    IR=$(callgrind_annotate "$W/cg.out.1" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,) || true
    [ -n "$IR" ] && break
    sleep 0.2
  done
  echo "  user-space instructions          $((IR / N))  ($N requests; profile $W/cg.out.1)"
fi
