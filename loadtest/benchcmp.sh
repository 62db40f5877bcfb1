#!/usr/bin/env bash
# Before/after comparison of Go benchmarks with benchstat: runs the benchmarks
# of the working tree and of a git revision (checked out in a temporary
# worktree) alternately, COUNT times each, and prints benchstat's table.
#
#   loadtest/benchcmp.sh [BASE]           BASE defaults to HEAD~1
#
# Environment:
#   BENCH     benchmark regexp (default: the hot-path benchmarks below;
#             BenchmarkStreamsHeld waits for 1,000 streams to time out per
#             op: run it with BENCHTIME=1x)
#   PKGS      packages (default ./router/... ./providers/...)
#   COUNT     runs per side (default 6)
#   BENCHTIME go test -benchtime (default 1s)
# Raw outputs go to loadtest/results/benchcmp/{old,new}.txt (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
GO=${GO:-go}
BASE=${1:-HEAD~1}
BENCH=${BENCH:-'BenchmarkPassthrough$|BenchmarkInspect|BenchmarkStreamTTFB|BenchmarkLookup$|BenchmarkTranslate|BenchmarkCountChat$'}
PKGS=${PKGS:-./router/... ./providers/...}
COUNT=${COUNT:-6}
BENCHTIME=${BENCHTIME:-1s}
OUT=loadtest/results/benchcmp
mkdir -p "$OUT" bin

(cd tools && $GO build -o ../bin/benchstat golang.org/x/perf/cmd/benchstat)

WT=$(mktemp -d)
trap 'git worktree remove --force "$WT" >/dev/null 2>&1 || rm -rf "$WT"' EXIT
git worktree add --detach "$WT" "$BASE" >/dev/null
echo "benchcmp: $BASE ($(git rev-parse --short "$BASE")) against the working tree, $COUNT runs each" >&2

: >"$OUT/old.txt"
: >"$OUT/new.txt"
for i in $(seq "$COUNT"); do
  echo "benchcmp: run $i/$COUNT" >&2
  # shellcheck disable=SC2086 # PKGS is a list
  (cd "$WT" && $GO test -run '^$' -bench "$BENCH" -benchmem -benchtime "$BENCHTIME" -count 1 $PKGS) >>"$OUT/old.txt"
  # shellcheck disable=SC2086
  $GO test -run '^$' -bench "$BENCH" -benchmem -benchtime "$BENCHTIME" -count 1 $PKGS >>"$OUT/new.txt"
done
"$ROOT/bin/benchstat" "$OUT/old.txt" "$OUT/new.txt"
