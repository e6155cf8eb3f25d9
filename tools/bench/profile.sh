#!/usr/bin/env bash
# Where rsmbd's time goes per 8 KiB operation (issue 6's profile): starts a release rsmbd like
# compare.sh, and for each layout runs rsmbd-bench while `perf stat` counts the server's system
# calls and context switches and `perf record` samples where its CPU time goes. Prints, per
# layout: IOPS, server CPU us/op, system calls per operation by kind, context switches per
# operation, and the share of server CPU time in user space, in the TCP send path (writev),
# receive (recv), file I/O (preadv2/pwrite*), epoll_wait and futex.
# Heap allocations per operation are measured by tests/alloc_steady.rs, not here.
#
#   tools/bench/profile.sh                         # default layouts
#   DURATION=4 tools/bench/profile.sh randread-8k-64x1
#
# Environment: DURATION [8] (after 1 s, (DURATION-2)/2 s counted, then as long sampled), SIZE [256m], BENCH_BASE
# [/var/tmp/rsmbd-profile], BENCH_PIN=1 (server on CPU 0, client on CPU 1), BENCH_FS=xfs (a
# loop-mounted XFS image, as compare.sh), BUSY_POLL=1 (the client spins: rsmbd-bench --busy-poll),
# NO_BUILD=1, RSMBD_BIN, BENCH_BIN. Needs perf
# (apt-get install linux-perf) and root (kernel tracepoints).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
DURATION=${DURATION:-8}
SIZE=${SIZE:-256m}
BASE=${BENCH_BASE:-/var/tmp/rsmbd-profile}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PASS=Bench-Pass-1
command -v perf >/dev/null || { echo "profile.sh needs perf: apt-get install linux-perf" >&2; exit 1; }
[ "$DURATION" -ge 4 ] || { echo "DURATION must be at least 4" >&2; exit 2; }

LAYOUTS="
randread-8k-1x16|--layout randread --bs 8k --conns 1 --qd 16
randread-8k-16x1|--layout randread --bs 8k --conns 16 --qd 1
randwrite-8k-1x16|--layout randwrite --bs 8k --conns 1 --qd 16
randwrite-8k-16x1|--layout randwrite --bs 8k --conns 16 --qd 1
randread-8k-1x16-aes128gcm|--layout randread --bs 8k --conns 1 --qd 16 --encrypt aes-128-gcm
randwrite-8k-1x16-aes128gcm|--layout randwrite --bs 8k --conns 1 --qd 16 --encrypt aes-128-gcm
randread-8k-1x64|--layout randread --bs 8k --conns 1 --qd 64
randread-8k-64x1|--layout randread --bs 8k --conns 64 --qd 1
randread-8k-256x1|--layout randread --bs 8k --conns 256 --qd 1
"
if [ $# -gt 0 ]; then
    LAYOUTS=$(bench_select_layouts "$LAYOUTS" "$@")
fi

bench_setup "$ROOT" "$TARGET" "$BASE"
bench_serve_rsmbd "$BASE" "$PASS" "$SIZE"
if [ "${BUSY_POLL:-0}" = 1 ]; then ARGS+=(--busy-poll); fi
"$BENCH" "${ARGS[@]}" --prepare-only

EVENTS=raw_syscalls:sys_enter,context-switches
for sc in recvfrom writev preadv2 pwritev2 pwrite64 pread64 epoll_wait futex; do
    EVENTS=$EVENTS,syscalls:sys_enter_$sc
done
WIN=$(((DURATION - 2) / 2))
printf '| layout | IOPS | server us/op | syscalls/op | recv | writev | file | epoll_wait | futex | cswitch/op | user %% | send %% | recv %% | file %% | epoll %% | futex %% |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
while IFS='|' read -r name args; do
    [ -n "$name" ] || continue
    stat=$BASE/$name.stat
    data=$BASE/$name.perf
    # shellcheck disable=SC2086
    "${CLI_PIN[@]}" "$BENCH" "${ARGS[@]}" --duration "$DURATION" --warmup 0 --label "$name" $args \
        > "$BASE/$name.out" 2>&1 &
    bpid=$!
    sleep 1
    # Every thread of the server exists by now (the blocking pool has grown), so -p sees them all.
    # Counting and sampling one after the other: tracepoints would weigh on the samples.
    perf stat -x, -e "$EVENTS" -p "$RS_PID" -o "$stat" -- sleep "$WIN"
    perf record -q -g -p "$RS_PID" -o "$data" -- sleep "$WIN" >/dev/null 2>&1 || true
    wait "$bpid" || true
    res=$(grep '^RESULT ' "$BASE/$name.out" || true)
    [ -n "$res" ] || { echo "| $name | failed: see $BASE/$name.out |"; continue; }
    iops=$(sed -E 's/.* iops=([0-9.]+).*/\1/' <<<"$res")
    us=$(sed -E 's/.* server_us_op=([0-9.]+).*/\1/' <<<"$res")
    # Children percentages of the syscall entry points and the user/kernel split.
    perf report -i "$data" --children --sort sym -g none 2>/dev/null > "$data.sym" || true
    perf report -i "$data" --no-children --sort dso -g none 2>/dev/null > "$data.dso" || true
    awk -F, -v iops="$iops" -v win="$WIN" -v name="$name" -v us="$us" -v symf="$data.sym" -v dsof="$data.dso" '
    function pct(pat,   line, n, a, t) {
        t = 0
        while ((getline line < symf) > 0) if (line ~ pat) { n = split(line, a, " "); t += a[1] + 0 }
        close(symf)
        return t
    }
    {
        ev = $3; c = $1 + 0
        sub(/syscalls:sys_enter_/, "", ev)
        n[ev] = c
    }
    END {
        ops = iops * win
        if (ops <= 0) ops = 1
        user = 0
        while ((getline line < dsof) > 0) if (line ~ /%/ && line !~ /kernel/) { split(line, a, " "); user += a[1] + 0 }
        file = n["preadv2"] + n["pwritev2"] + n["pwrite64"] + n["pread64"]
        printf "| %s | %.0f | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n",
            name, iops, us, n["raw_syscalls:sys_enter"] / ops, n["recvfrom"] / ops, n["writev"] / ops,
            file / ops, n["epoll_wait"] / ops, n["futex"] / ops, n["context-switches"] / ops, user,
            pct(" do_writev$"), pct(" __sys_recvfrom$"),
            pct(" (do_preadv|do_pwritev|__x64_sys_pwrite64|__x64_sys_pread64)$"), pct(" do_epoll_wait$"),
            pct(" do_futex$")
    }' "$stat"
done <<< "$LAYOUTS"
