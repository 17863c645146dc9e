#!/usr/bin/env bash
# Benchmarks (`make bench`): builds the release server and the load generator, starts the server on a
# fresh database and a free port, runs examples/loadgen.rs against it, writes docs/BENCHMARKS.md.
#
# Knobs (environment): BENCH_QUICK=1 for a ~1 minute check (written to target/bench/BENCHMARKS.quick.md
# unless BENCH_OUT says otherwise); BENCH_SCENARIOS=held,fanout-json,fanout-html,throughput,views;
# BENCH_FANOUT_N=100,1000,5000,10000; BENCH_SECS (fanout write phase); BENCH_HELD_MAX; BENCH_OUT.
# Everything it starts, it stops: the server by its PID on exit, the generator under a time limit.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD

# Tens of thousands of sockets need as many file descriptors (inherited by server and generator).
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "bench: open files limit $(ulimit -n)"

cargo build --release --bin liveboard --example loadgen

tmp=$(mktemp -d "${TMPDIR:-/tmp}/liveboard-bench.XXXXXX")
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

export DATABASE_URL="sqlite://$tmp/bench.db"
export LIVEBOARD_PASSWORD="bench-password-$RANDOM$RANDOM"
export BENCH_USER=bench
target/release/liveboard create-user "$BENCH_USER" --admin

# A free port: ask the kernel for one, then hand it to the server.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
    shuf -i 20000-32000 -n 1)
base="http://127.0.0.1:$port"

HOST=127.0.0.1 PORT="$port" RUST_LOG=warn \
    WS_MAX_PER_USER=200000 WS_MAX_TOTAL=200000 BOARD_MAX_CARDS=0 \
    target/release/liveboard >"$tmp/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 1 100); do
    if curl -fsS "$base/health" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "bench: the server exited:" >&2
        cat "$tmp/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
curl -fsS "$base/health" >/dev/null

if [[ "${BENCH_QUICK:-}" == 1 ]]; then
    out=${BENCH_OUT:-$root/target/bench/BENCHMARKS.quick.md}
else
    out=${BENCH_OUT:-$root/docs/BENCHMARKS.md}
fi
mkdir -p "$(dirname "$out")"

commit=$(git rev-parse --short HEAD 2>/dev/null || true)
if [[ -n "$commit" ]] && [[ -n "$(git status --porcelain -- src templates migrations 2>/dev/null)" ]]; then
    commit="$commit (with uncommitted changes)"
fi
export BENCH_COMMIT="$commit"
export BENCH_DATE
BENCH_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')

echo "bench: server pid $server_pid on $base; results to $out"
timeout --signal=TERM 1500 target/release/examples/loadgen --base "$base" --pid "$server_pid" --out "$out"

if grep -qiE 'panicked|ERROR' "$tmp/server.log"; then
    echo "bench: the server logged errors:" >&2
    grep -m 20 -iE 'panicked|ERROR' "$tmp/server.log" >&2 || true
fi
echo "bench: done, see $out"
