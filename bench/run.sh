#!/usr/bin/env bash
# Benchmarks (`make bench`): builds the release server and the load generator, starts the server on a
# fresh database and a free port, and the Node peer of bench/peer/ on its own fresh database and free
# port, runs examples/loadgen.rs against both, writes docs/BENCHMARKS.md.
#
# Knobs (environment):
#   BENCH_QUICK=1        a ~1.5 minute check, written to target/bench/BENCHMARKS.quick.md (unless BENCH_OUT)
#   BENCH_SCENARIOS      comma separated, default all of: held, fanout-json, fanout-html, throughput,
#                        throughput-peer, views. `throughput-peer` is the write path side by side with the
#                        Node peer (Liveboard, Node, Liveboard, Node, … at 0 and at 100 subscribers); it
#                        replaces the plain `throughput` run. `held` runs against both servers.
#   BENCH_ROUNDS         side-by-side rounds per subscriber count (default 3)
#   BENCH_TP_SECS        seconds per throughput run (default 10, quick 3)
#   BENCH_WARMUP_SECS    closed-loop warm-up of each server before the side-by-side (default 2, quick 1)
#   BENCH_FANOUT_N       e.g. 100,1000,5000,10000;  BENCH_SECS: fanout write phase
#   BENCH_HELD_STEPS, BENCH_HELD_MAX   the held-connections ramp (capped by the open-files limit)
#   BENCH_PEER=0         no Node peer (the comparison is then skipped)
#   BENCH_OUT            where the report goes
# Iterating on the write path, only the comparison (about 1.5 minutes after the build):
#   BENCH_SCENARIOS=throughput-peer BENCH_ROUNDS=3 BENCH_TP_SECS=5 make bench
#
# Everything it starts, it stops: both servers by their PIDs on exit, the generator under a time limit.
# All traffic is on 127.0.0.x.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD

# Tens of thousands of sockets need as many file descriptors (inherited by servers and generator).
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "bench: open files limit $(ulimit -n)"

# The knobs this run was given, to print the exact command in the report.
command=""
for k in BENCH_QUICK BENCH_SCENARIOS BENCH_ROUNDS BENCH_TP_SECS BENCH_WARMUP_SECS BENCH_FANOUT_N BENCH_SECS \
    BENCH_RATE BENCH_HELD_STEPS BENCH_HELD_MAX BENCH_VIEW_SUBS BENCH_VIEW_WRITES BENCH_PEER; do
    if [[ -n "${!k:-}" ]]; then command+="$k=${!k} "; fi
done
export BENCH_COMMAND="${command}make bench"

cargo build --release --bin liveboard --example loadgen

# The peer is wanted unless switched off or no scenario that uses it was asked for.
want_peer=0
if [[ "${BENCH_PEER:-1}" != 0 ]]; then
    case ",${BENCH_SCENARIOS:-throughput-peer}," in
        *,throughput-peer,* | *,held,*) want_peer=1 ;;
    esac
fi
if [[ $want_peer == 1 ]] && ! command -v node >/dev/null; then
    echo "bench: no node on PATH: the comparison with the Node peer is skipped" >&2
    want_peer=0
fi

# Installs the peer's pinned packages (npm ci from the committed lock file), only when the lock file or
# Node changed since the last install: better-sqlite3 compiles SQLite, which takes minutes here.
install_peer() {
    local dir=bench/peer stamp
    stamp="$(node --version) $(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    if [[ -f "$dir/node_modules/.bench-installed" ]] && [[ "$(cat "$dir/node_modules/.bench-installed")" == "$stamp" ]] &&
        (cd "$dir" && node -e "require('better-sqlite3'); require('ws')" 2>/dev/null); then
        return
    fi
    echo "bench: installing the Node peer's packages (npm ci in $dir)"
    (cd "$dir" && npm ci --no-audit --no-fund)
    echo "$stamp" >"$dir/node_modules/.bench-installed"
}
if [[ $want_peer == 1 ]]; then
    install_peer
    BENCH_PEER_VERSION=$(cd bench/peer && node -e "
        const D = require('better-sqlite3');
        const v = new D(':memory:').prepare('select sqlite_version() v').get().v;
        console.log('Node ' + process.version + ', ws ' + require('ws/package.json').version +
            ', better-sqlite3 ' + require('better-sqlite3/package.json').version + ' (SQLite ' + v + ')');")
    export BENCH_PEER_VERSION
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/liveboard-bench.XXXXXX")
server_pid=""
peer_pid=""
# Stops one process by its PID: TERM, up to 10 s, then KILL.
stop_pid() {
    local pid=$1
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
}
cleanup() {
    stop_pid "$server_pid"
    stop_pid "$peer_pid"
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# A free port: ask the kernel for one, then hand it to the server.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
        shuf -i 20000-32000 -n 1
}

# Waits (up to 10 s) until $1/health answers, or fails with the log $3 if PID $2 exited.
wait_health() {
    for _ in $(seq 1 100); do
        if curl -fsS "$1/health" >/dev/null 2>&1; then return 0; fi
        if ! kill -0 "$2" 2>/dev/null; then
            echo "bench: the server at $1 exited:" >&2
            cat "$3" >&2
            exit 1
        fi
        sleep 0.1
    done
    curl -fsS "$1/health" >/dev/null
}

export DATABASE_URL="sqlite://$tmp/bench.db"
export LIVEBOARD_PASSWORD="bench-password-$RANDOM$RANDOM"
export BENCH_USER=bench
target/release/liveboard create-user "$BENCH_USER" --admin

port=$(free_port)
base="http://127.0.0.1:$port"
HOST=127.0.0.1 PORT="$port" RUST_LOG=warn \
    WS_MAX_PER_USER=200000 WS_MAX_TOTAL=200000 BOARD_MAX_CARDS=0 \
    target/release/liveboard >"$tmp/server.log" 2>&1 &
server_pid=$!
wait_health "$base" "$server_pid" "$tmp/server.log"

peer_args=()
if [[ $want_peer == 1 ]]; then
    peer_port=$(free_port)
    while [[ "$peer_port" == "$port" ]]; do peer_port=$(free_port); done
    peer_base="http://127.0.0.1:$peer_port"
    # The peer creates the same user (BENCH_USER, LIVEBOARD_PASSWORD) in its own database.
    HOST=127.0.0.1 PORT="$peer_port" PEER_DB="$tmp/peer.db" node bench/peer/server.js >"$tmp/peer.log" 2>&1 &
    peer_pid=$!
    wait_health "$peer_base" "$peer_pid" "$tmp/peer.log"
    peer_args=(--peer-base "$peer_base" --peer-pid "$peer_pid")
    echo "bench: Node peer pid $peer_pid on $peer_base ($BENCH_PEER_VERSION)"
fi

if [[ "${BENCH_QUICK:-}" == 1 ]]; then
    out=${BENCH_OUT:-$root/target/bench/BENCHMARKS.quick.md}
else
    out=${BENCH_OUT:-$root/docs/BENCHMARKS.md}
fi
mkdir -p "$(dirname "$out")"

commit=$(git rev-parse --short HEAD 2>/dev/null || true)
if [[ -n "$commit" ]] && [[ -n "$(git status --porcelain -- src templates migrations bench/peer examples 2>/dev/null)" ]]; then
    commit="$commit (with uncommitted changes)"
fi
export BENCH_COMMIT="$commit"
export BENCH_DATE
BENCH_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')

echo "bench: server pid $server_pid on $base; results to $out"
timeout --signal=TERM 1500 target/release/examples/loadgen --base "$base" --pid "$server_pid" --out "$out" "${peer_args[@]}"

for log in server peer; do
    [[ -f "$tmp/$log.log" ]] || continue
    if grep -qiE 'panicked|ERROR' "$tmp/$log.log"; then
        echo "bench: the $log logged errors:" >&2
        grep -m 20 -iE 'panicked|ERROR' "$tmp/$log.log" >&2 || true
    fi
done
echo "bench: done, see $out"
