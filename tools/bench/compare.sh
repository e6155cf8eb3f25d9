#!/usr/bin/env bash
# Side-by-side benchmark of rsmbd and Samba (issue 6): starts both on 127.0.0.1 with shares
# in the same scratch directory (same file system), runs the same layouts with rsmbd-bench
# against each, interleaved over several rounds (the server order alternates per round), and
# prints one table of medians: IOPS, the rsmbd/Samba IOPS ratio (median of the per-round
# ratios), server CPU time per operation and p99 latency.
#
#   tools/bench/compare.sh                 # default layouts, 10 s each, 3 rounds
#   DURATION=5 ROUNDS=1 tools/bench/compare.sh randread-8k-1x16
#
# Arguments: layout names to run (default: all of LAYOUTS below). Environment:
#   DURATION [10]  WARMUP [3]  ROUNDS [3]  SIZE [1g] (data file per server)
#   BENCH_BASE [/var/tmp/rsmbd-bench]  scratch directory (shares, configs, logs, results)
#   CARGO_TARGET_DIR  where the release build goes; NO_BUILD=1 skips `cargo build --release`
#   BENCH_PIN=1   pin the servers to CPU 0 and the client to CPU 1 (taskset)
#   BENCH_FS=xfs  put both shares on a loop-mounted XFS image under BENCH_BASE (root,
#                 xfsprogs), the usual file system for VM and database storage; default: the
#                 file system BENCH_BASE is on
#   SAMBA_PORT [4457]
#   SCALING=1     also run the connection-scaling layouts (1 to 256 connections at a total
#                 queue depth of 64 and 256)
#   BUSY_POLL=1   the client spins instead of sleeping in epoll_wait (rsmbd-bench --busy-poll):
#                 on loopback a server's send wakes a sleeping client and pays for it, which a
#                 real network does not charge to the server; client CPU per op then means nothing
#   RSMBD_BIN, BENCH_BIN  binaries to use instead of the release build's (e.g. to compare
#                 two rsmbd builds against Samba)
# Needs root for Samba (tools/bench/start-samba.sh); the rsmbd side runs anywhere.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
ROUNDS=${ROUNDS:-3}
SIZE=${SIZE:-1g}
BASE=${BENCH_BASE:-/var/tmp/rsmbd-bench}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SAMBA_PORT=${SAMBA_PORT:-4457}
PASS=Bench-Pass-1
CLIENT_OPTS=()
if [ "${BUSY_POLL:-0}" = 1 ]; then CLIENT_OPTS=(--busy-poll); fi

# name|rsmbd-bench arguments
LAYOUTS="
randread-8k-1x16|--layout randread --bs 8k --conns 1 --qd 16
randread-8k-16x1|--layout randread --bs 8k --conns 16 --qd 1
randwrite-8k-1x16|--layout randwrite --bs 8k --conns 1 --qd 16
randwrite-8k-16x1|--layout randwrite --bs 8k --conns 16 --qd 1
randread-8k-1x16-aes128gcm|--layout randread --bs 8k --conns 1 --qd 16 --encrypt aes-128-gcm
randread-8k-16x1-aes128gcm|--layout randread --bs 8k --conns 16 --qd 1 --encrypt aes-128-gcm
randwrite-8k-1x16-aes128gcm|--layout randwrite --bs 8k --conns 1 --qd 16 --encrypt aes-128-gcm
randwrite-8k-16x1-aes128gcm|--layout randwrite --bs 8k --conns 16 --qd 1 --encrypt aes-128-gcm
"
# Connection scaling at a fixed total queue depth (run with `SCALING=1` or by name).
SCALING_LAYOUTS="
scale-randread-8k-1x64|--layout randread --bs 8k --conns 1 --qd 64
scale-randread-8k-16x4|--layout randread --bs 8k --conns 16 --qd 4
scale-randread-8k-64x1|--layout randread --bs 8k --conns 64 --qd 1
scale-randread-8k-1x256|--layout randread --bs 8k --conns 1 --qd 256
scale-randread-8k-16x16|--layout randread --bs 8k --conns 16 --qd 16
scale-randread-8k-64x4|--layout randread --bs 8k --conns 64 --qd 4
scale-randread-8k-256x1|--layout randread --bs 8k --conns 256 --qd 1
"
if [ "${SCALING:-0}" = 1 ]; then
    LAYOUTS="$LAYOUTS$SCALING_LAYOUTS"
fi
ALL_LAYOUTS="$LAYOUTS$SCALING_LAYOUTS"
if [ $# -gt 0 ]; then
    LAYOUTS=$(bench_select_layouts "$ALL_LAYOUTS" "$@")
fi

bench_setup "$ROOT" "$TARGET" "$BASE"
RS_PID=""
cleanup() {
    if [ -n "$RS_PID" ]; then kill "$RS_PID" 2>/dev/null || true; fi
    SAMBA_BASE=$BASE/samba "$HERE/start-samba.sh" stop || true
    bench_cleanup_fs "$BASE"
}
trap cleanup EXIT

# rsmbd: release build, its own config, users file and state under $BASE/rsmbd.
bench_start_rsmbd "$RSMBD" "$BASE" "$DATA/rsmbd-share" "$PASS" "${SRV_PIN[@]}"

# Samba: a private smbd; its share beside rsmbd's.
SAMBA_BASE=$BASE/samba SAMBA_SHARE_DIR=$DATA/samba-share SAMBA_PORT=$SAMBA_PORT SAMBA_PASS=$PASS \
    "${SRV_PIN[@]}" "$HERE/start-samba.sh"
SB_PID=$(cat "$BASE/samba/smbd.pid")

# args for each server: address, user, pid
server_args() {
    case $1 in
        rsmbd) echo "--server 127.0.0.1:$RS_PORT --user bench --server-pid $RS_PID" ;;
        samba) echo "--server 127.0.0.1:$SAMBA_PORT --user smbbench --server-pid $SB_PID" ;;
    esac
}

for s in rsmbd samba; do
    # shellcheck disable=SC2046
    "$BENCH" $(server_args $s) --password "$PASS" --size "$SIZE" --prepare-only
done

RESULTS=$BASE/results-$(date +%Y%m%d-%H%M%S).txt
: > "$RESULTS"
echo "results: $RESULTS"
for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order="rsmbd samba"; else order="samba rsmbd"; fi
    while IFS='|' read -r name args; do
        [ -n "$name" ] || continue
        for s in $order; do
            # shellcheck disable=SC2046,SC2086
            line=$("${CLI_PIN[@]}" "$BENCH" $(server_args $s) --password "$PASS" --size "$SIZE" \
                --duration "$DURATION" --warmup "$WARMUP" --label "$name" "${CLIENT_OPTS[@]}" $args 2>&1 \
                | grep '^RESULT ' || true)
            [ -n "$line" ] || line="RESULT label=$name iops=0 errors=failed"
            echo "round=$round server=$s $line" | tee -a "$RESULTS"
        done
    done <<< "$LAYOUTS"
done

echo
echo "rsmbd vs Samba $(smbd --version 2>/dev/null | head -1), shares on $(df -T "$DATA" | awk 'NR==2 {print $2}'), $ROUNDS rounds x ${DURATION} s (+${WARMUP} s warm-up), medians; $(nproc) CPUs, $(date -u +%Y-%m-%d)"
awk "$(cat "$HERE/results.awk")"'
{
    l = fields(); s = f["server"]
    iops[l, s] = iops[l, s] " " f["iops"]
    cpu[l, s] = cpu[l, s] " " f["server_us_op"]
    p99[l, s] = p99[l, s] " " f["p99_us"]
    cli[s] = cli[s] " " f["client_us_op"]
    clil[l, s] = clil[l, s] " " f["client_us_op"]
    if (f["errors"] != "0") err[l, s] = 1
    by[l, s, f["round"]] = f["iops"]
}
END {
    printf "| layout | rsmbd IOPS | Samba IOPS | ratio | rsmbd us/op | Samba us/op | rsmbd p99 us | Samba p99 us |\n"
    printf "|---|---:|---:|---:|---:|---:|---:|---:|\n"
    for (k = 1; k <= nl; k++) {
        l = order[k]
        printf "| %s | %.0f%s | %.0f%s | %.2f | %.1f | %.1f | %.0f | %.0f |\n", l,
            med(iops[l, "rsmbd"]), (err[l, "rsmbd"] ? " (errors)" : ""),
            med(iops[l, "samba"]), (err[l, "samba"] ? " (errors)" : ""),
            med(ratios(l, "rsmbd", "samba")), med(cpu[l, "rsmbd"]), med(cpu[l, "samba"]),
            med(p99[l, "rsmbd"]), med(p99[l, "samba"])
    }
    if (cli["rsmbd"] ~ /na/) {
        printf "\nthe client busy-polled (BUSY_POLL=1): its CPU per op is not measured\n"
        exit
    }
    printf "\nclient CPU per op (median over all runs): against rsmbd %.1f us, against Samba %.1f us\n", med(cli["rsmbd"]), med(cli["samba"])
    printf "client us/op per layout (rsmbd / Samba):"
    for (k = 1; k <= nl; k++) printf " %s %.1f/%.1f;", order[k], med(clil[order[k], "rsmbd"]), med(clil[order[k], "samba"])
    printf "\n"
}
' "$RESULTS"
