#!/usr/bin/env bash
# Connection scaling against the loopback TCP floor (issue 6: "IOPS stays within 10% from 1 to
# 256 connections at the same total queue depth"). For each scaling layout, interleaved over
# ROUNDS rounds: rsmbd-bench against a release rsmbd (server on CPU 0, client on CPU 1), and
# rsmbd-tcp-floor, a server that only answers 117-byte requests with 8,276-byte replies (the
# sizes of an 8 KiB READ) over the same loopback TCP, with the same pinning and batching and
# nothing else. Prints one table of medians: IOPS and server CPU per operation of each, and
# each layout's IOPS as a fraction of one connection at the same total queue depth. When the
# floor itself falls below 0.9 at a layout, no server can hold the line there on this machine.
#
#   tools/bench/floor.sh
#   ROUNDS=1 DURATION=2 tools/bench/floor.sh scale-randread-8k-1x64 scale-randread-8k-64x1
#
# Environment: ROUNDS [3], DURATION [2] s (+1 s warm-up), SIZE [256m], BUSY_POLL=1 (both
# clients spin instead of sleeping in epoll_wait), BENCH_FS=xfs, BENCH_BASE
# [/var/tmp/rsmbd-floor], NO_BUILD=1, RSMBD_BIN, BENCH_BIN, FLOOR_BIN. Needs 2 CPUs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-2}
SIZE=${SIZE:-256m}
BASE=${BENCH_BASE:-/var/tmp/rsmbd-floor}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PASS=Bench-Pass-1
[ "$(nproc)" -ge 2 ] || { echo "floor.sh needs 2 CPUs (server and client pinned apart)" >&2; exit 1; }
BUSY=()
if [ "${BUSY_POLL:-0}" = 1 ]; then BUSY=(--busy-poll); fi

# name|conns qd
LAYOUTS="
scale-randread-8k-1x64|1 64
scale-randread-8k-16x4|16 4
scale-randread-8k-64x1|64 1
scale-randread-8k-1x256|1 256
scale-randread-8k-16x16|16 16
scale-randread-8k-64x4|64 4
scale-randread-8k-256x1|256 1
"
if [ $# -gt 0 ]; then
    LAYOUTS=$(bench_select_layouts "$LAYOUTS" "$@")
fi

BENCH_PIN=1 bench_setup "$ROOT" "$TARGET" "$BASE"
if [ "${NO_BUILD:-0}" != 1 ]; then
    (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET nice -n 10 cargo build --release --bin rsmbd-tcp-floor)
fi
FLOOR=${FLOOR_BIN:-$TARGET/release/rsmbd-tcp-floor}
bench_serve_rsmbd "$BASE" "$PASS" "$SIZE"
"$BENCH" "${ARGS[@]}" --prepare-only

RESULTS=$BASE/floor-$(date +%Y%m%d-%H%M%S).txt
: > "$RESULTS"
echo "results: $RESULTS"
for round in $(seq 1 "$ROUNDS"); do
    while IFS='|' read -r name layout; do
        [ -n "$name" ] || continue
        read -r conns qd <<<"$layout"
        line=$("${CLI_PIN[@]}" "$BENCH" "${ARGS[@]}" --duration "$DURATION" --warmup 1 \
            --label "$name" --layout randread --bs 8k --conns "$conns" --qd "$qd" "${BUSY[@]}" 2>&1 \
            | grep '^RESULT ' || true)
        [ -n "$line" ] || line="RESULT label=$name iops=0 errors=failed"
        echo "round=$round server=rsmbd total=$((conns * qd)) $line" | tee -a "$RESULTS"
        line=$("$FLOOR" --conns "$conns" --qd "$qd" --duration "$DURATION" --label "$name" \
            "${BUSY[@]}" 2>&1 | grep '^RESULT ' || true)
        [ -n "$line" ] || line="RESULT label=$name iops=0 errors=failed"
        echo "round=$round server=floor total=$((conns * qd)) $line" | tee -a "$RESULTS"
    done <<< "$LAYOUTS"
done

echo
echo "rsmbd vs the loopback TCP floor, $ROUNDS rounds x ${DURATION} s, medians, server on CPU 0 and client on CPU 1${BUSY[*]:+, busy-polling clients}; $(nproc) CPUs, $(date -u +%Y-%m-%d)"
awk "$(cat "$HERE/results.awk")"'
{
    l = fields(); s = f["server"]
    iops[l, s] = iops[l, s] " " f["iops"]
    cpu[l, s] = cpu[l, s] " " f["server_us_op"]
    total[l] = f["total"]
}
END {
    for (k = 1; k <= nl; k++) {
        l = order[k]
        if (l ~ /-1x[0-9]+$/) ref[total[l]] = l
    }
    printf "| layout | floor IOPS | floor us/op | floor / 1 conn | rsmbd IOPS | rsmbd us/op | rsmbd / 1 conn | rsmbd / floor |\n"
    printf "|---|---:|---:|---:|---:|---:|---:|---:|\n"
    for (k = 1; k <= nl; k++) {
        l = order[k]; r = ref[total[l]]
        fi = med(iops[l, "floor"]); ri = med(iops[l, "rsmbd"])
        fr = (r != "" && med(iops[r, "floor"]) > 0) ? sprintf("%.2f", fi / med(iops[r, "floor"])) : "-"
        rr = (r != "" && med(iops[r, "rsmbd"]) > 0) ? sprintf("%.2f", ri / med(iops[r, "rsmbd"])) : "-"
        printf "| %s | %.0f | %.2f | %s | %.0f | %.1f | %s | %.2f |\n", l, fi, med(cpu[l, "floor"]),
            fr, ri, med(cpu[l, "rsmbd"]), rr, (fi > 0 ? ri / fi : 0)
    }
}' "$RESULTS"
