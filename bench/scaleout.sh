#!/usr/bin/env bash
# Scale-out benchmark on this one box: Redis, a writer and two edges (release builds), and two load
# generators at once, one per edge, each with its own user and board, so the sockets are spread over
# two edges and every write goes through an edge (edge → writer → Redis stream → edges). Then the
# same generator against the writer alone (sockets and writes direct) for the figure without the broker.
# Writes target/bench/SCALEOUT.md (fanout rows of examples/loadgen.rs's report, one set per run).
#
# Knobs (environment): SCALEOUT_N (subscribers per edge, default 1000), BENCH_SECS (write phase, 10),
# BENCH_SCENARIOS (default fanout-json,fanout-html). It claims nothing beyond what it measured here.
# Everything it starts, it stops by its PID on exit.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
command -v redis-server >/dev/null || { echo "scaleout: redis-server is missing (make test-deps)" >&2; exit 1; }

cargo build --release --bin liveboard --example loadgen
bin=$root/target/release/liveboard
gen=$root/target/release/examples/loadgen

tmp=$(mktemp -d "${TMPDIR:-/tmp}/liveboard-scaleout.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_health() {
    for _ in $(seq 1 200); do
        curl -fsS "$1/health" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "scaleout: $1 did not come up; logs in $tmp" >&2
    tail -20 "$tmp"/*.log >&2
    exit 1
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$tmp/redis.log" 2>&1 &
pids+=($!)

export DATABASE_URL="sqlite://$tmp/bench.db"
export LIVEBOARD_PASSWORD="bench-password-$RANDOM$RANDOM"
"$bin" create-user bench-a --admin >/dev/null
"$bin" create-user bench-b --admin >/dev/null
"$bin" create-user bench-w --admin >/dev/null

common=(env HOST=127.0.0.1 RUST_LOG=warn REDIS_URL="redis://127.0.0.1:$redis_port/0" CLUSTER_SECRET="scaleout-$RANDOM$RANDOM"
    WS_MAX_PER_USER=200000 WS_MAX_TOTAL=200000 BOARD_MAX_CARDS=0 LOGIN_ATTEMPTS_PER_MINUTE=10000)
wport=$(free_port)
"${common[@]}" LIVEBOARD_ROLE=writer NODE_ID=writer PORT="$wport" "$bin" >"$tmp/writer.log" 2>&1 &
wpid=$!
pids+=("$wpid")
writer="http://127.0.0.1:$wport"
wait_health "$writer"
declare -A edge_pid edge_url
for e in a b; do
    port=$(free_port)
    "${common[@]}" LIVEBOARD_ROLE=edge NODE_ID="edge-$e" WRITER_URL="$writer" PORT="$port" "$bin" >"$tmp/edge-$e.log" 2>&1 &
    edge_pid[$e]=$!
    pids+=("${edge_pid[$e]}")
    edge_url[$e]="http://127.0.0.1:$port"
    wait_health "${edge_url[$e]}"
done

export BENCH_SCENARIOS=${BENCH_SCENARIOS:-fanout-json,fanout-html}
export BENCH_FANOUT_N=${SCALEOUT_N:-1000}
export BENCH_SECS=${BENCH_SECS:-10}
echo "scaleout: $BENCH_FANOUT_N subscribers on each of two edges, writes through each edge"
for e in a b; do
    BENCH_USER="bench-$e" timeout --signal=TERM 900 "$gen" --base "${edge_url[$e]}" --pid "${edge_pid[$e]}" \
        --out "$tmp/edge-$e.md" >"$tmp/gen-$e.log" 2>&1 &
    pids+=($!)
    eval "gen_$e=\$!"
done
# shellcheck disable=SC2154
wait "$gen_a" && wait "$gen_b" || { echo "scaleout: a generator failed" >&2; tail -20 "$tmp"/gen-*.log >&2; exit 1; }
echo "scaleout: the same against the writer alone (no edge, no broker on the path)"
BENCH_USER=bench-w timeout --signal=TERM 900 "$gen" --base "$writer" --pid "$wpid" --out "$tmp/writer.md" >"$tmp/gen-w.log" 2>&1

out=${SCALEOUT_OUT:-$root/target/bench/SCALEOUT.md}
mkdir -p "$(dirname "$out")"
rows() { grep -E '^\| (JSON|HTML)' "$1" || true; }
header='| protocol | subscribers | writes | p50 | p99 | max | delivered / expected | resyncs | CPU µs per frame: server / generator | server RSS | load avg | notes |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|'
{
    echo "# Scale-out run ($(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo
    echo "One box ($(nproc) cores): Redis, a writer and two edges; two generators at once, one per edge."
    echo "Latency is write sent (through the edge) → frame received on that edge's sockets: it includes"
    echo "the forwarding hop, the writer's commit, the relay, Redis and the edge's stream read."
    echo "Server CPU and RSS are the edge's. Both runs share the box, so each edge had about half of it."
    echo
    for e in a b; do
        echo "## Edge $e ($BENCH_FANOUT_N subscribers, writes through edge $e)"
        echo
        echo "$header"
        rows "$tmp/edge-$e.md"
        echo
    done
    echo "## The writer alone (sockets and writes direct; the relay still runs)"
    echo
    echo "$header"
    rows "$tmp/writer.md"
    echo
    echo "Single-process figures on this machine are in docs/BENCHMARKS.md."
} >"$out"
cat "$out"
