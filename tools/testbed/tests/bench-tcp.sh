#!/bin/bash
# bench-tcp.sh -- 8 KiB random I/O over TCP, rsmbd vs the kernel's ksmbd in one guest run
# (issue 6). By hand, with release builds of rsmbd and rsmbd-bench:
#   RSMBD_BIN=$PWD/target/release/rsmbd tools/testbed/run-in-guest.sh tools/testbed/tests/bench-tcp.sh
# CI: tests/testbed_bench.rs runs it with tiny durations and checks the table is complete.
#
# Both servers run at the same time on the server end of one veth pair (tb_net 1): ksmbd on
# 10.99.0.2:445 (tb_ksmbd_start), rsmbd on 10.99.0.2:$RSMBD_BENCH_PORT (4455), each exporting
# share "share" from its own directory of one file system mounted on /srv/bench-tcp: by
# default XFS on a loop device (RSMBD_BENCH_FS=xfs, the file system of VM and database storage,
# as tools/bench/compare.sh's BENCH_FS=xfs), or RSMBD_BENCH_FS=tmpfs. tmpfs has no
# non-blocking buffered I/O (preadv2/pwritev2 RWF_NOWAIT fail with EOPNOTSUPP), so rsmbd sends
# every tmpfs READ and WRITE through its blocking pool, which an in-kernel server never needs. Every layout runs against both, interleaved over rounds (the server order
# alternates per round); the table shows the median IOPS of each server and the median of the
# per-round rsmbd/ksmbd ratios:
#  (a) rsmbd-bench (tools/bench; $RSMBD_BENCH_BIN, default next to $RSMBD_BIN) straight over
#      TCP, 8 KiB randread and randwrite at 1 connection x QD16 and 16 connections x QD1,
#      unsigned and sealed with AES-128-GCM (SMB 3.1.1); p99 latency as the client saw it;
#  (b) fio through a cifs mount (vers=3.1.1, cache=none, O_DIRECT, one mount per server),
#      8 KiB randread and randwrite at QD1 (psync) and QD16 (libaio).
# The guest is TCG-emulated and client and servers share its 2 vCPUs: the figures are only
# meaningful relative to each other. Exit status 1 when any run failed (its cell says so).
#
# Environment (RSMBD_* and FIO_* reach the guest by themselves):
#   RSMBD_BENCH_ROUNDS [3]  RSMBD_BENCH_DURATION [1] s  RSMBD_BENCH_WARMUP [0.3] s
#   RSMBD_BENCH_SIZE [32m] rsmbd-bench data file   FIO_RUNTIME [1] s  FIO_SIZE [32m]
# The defaults take ~4-6 min in all under TCG (most of it process and session start-up);
# for steadier figures e.g. RSMBD_BENCH_ROUNDS=5 RSMBD_BENCH_DURATION=5 FIO_RUNTIME=5.
#   RSMBD_BENCH_LAYOUTS  space-separated subset of the layout names below (default: all)
#   RSMBD_BENCH_PORT [4455]  rsmbd's TCP port
#   RSMBD_BENCH_FS [xfs]  xfs (a 512 MiB image in the guest's memory) or tmpfs
# Results (one line per run) are also kept in $TESTBED_JOB/bench-tcp.results.
set -uo pipefail
: "${TESTBED_DIR:?run this inside the guest via tools/testbed/run-in-guest.sh}"
# shellcheck source-path=SCRIPTDIR/.. source=guest/lib.sh
. "$TESTBED_DIR/guest/lib.sh"

BIN=${RSMBD_BIN:-$TESTBED_DIR/../../target/release/rsmbd}
BENCH=${RSMBD_BENCH_BIN:-$(dirname "$BIN")/rsmbd-bench}
ROUNDS=${RSMBD_BENCH_ROUNDS:-3}
DUR=${RSMBD_BENCH_DURATION:-1}
WARM=${RSMBD_BENCH_WARMUP:-0.3}
SIZE=${RSMBD_BENCH_SIZE:-32m}
export FIO_RUNTIME=${FIO_RUNTIME:-1} FIO_SIZE=${FIO_SIZE:-32m}
RS_PORT=${RSMBD_BENCH_PORT:-4455}
BASE=/srv/bench-tcp
RESULTS=$TESTBED_JOB/bench-tcp.results
if [ ! -x "$BIN" ] || [ ! -x "$BENCH" ]; then
	echo "need $BIN and $BENCH (cargo build --release --bins; set RSMBD_BIN / RSMBD_BENCH_BIN)"
	exit 1
fi

# name|kind|arguments: kind bench = rsmbd-bench arguments, fio = RW ENGINE QD for tb_fio
ALL_LAYOUTS="
randread-8k-1x16|bench|--layout randread --bs 8k --conns 1 --qd 16
randread-8k-16x1|bench|--layout randread --bs 8k --conns 16 --qd 1
randwrite-8k-1x16|bench|--layout randwrite --bs 8k --conns 1 --qd 16
randwrite-8k-16x1|bench|--layout randwrite --bs 8k --conns 16 --qd 1
randread-8k-1x16-aes128gcm|bench|--layout randread --bs 8k --conns 1 --qd 16 --encrypt aes-128-gcm
randread-8k-16x1-aes128gcm|bench|--layout randread --bs 8k --conns 16 --qd 1 --encrypt aes-128-gcm
randwrite-8k-1x16-aes128gcm|bench|--layout randwrite --bs 8k --conns 1 --qd 16 --encrypt aes-128-gcm
randwrite-8k-16x1-aes128gcm|bench|--layout randwrite --bs 8k --conns 16 --qd 1 --encrypt aes-128-gcm
cifs-fio-randread-8k-qd1|fio|randread psync 1
cifs-fio-randwrite-8k-qd1|fio|randwrite psync 1
cifs-fio-randread-8k-qd16|fio|randread libaio 16
cifs-fio-randwrite-8k-qd16|fio|randwrite libaio 16
"
LAYOUTS=$ALL_LAYOUTS
if [ -n "${RSMBD_BENCH_LAYOUTS:-}" ]; then
	LAYOUTS=""
	for want in $RSMBD_BENCH_LAYOUTS; do
		line=$(grep "^$want|" <<<"$ALL_LAYOUTS") || { echo "unknown layout $want"; exit 2; }
		LAYOUTS="$LAYOUTS$line"$'\n'
	done
fi
need_fio=0
grep -q '|fio|' <<<"$LAYOUTS" && need_fio=1

cleanup() {
	tb_umount /mnt/bench-rsmbd
	tb_umount /mnt/bench-ksmbd
	tb_rsmbd_stop
	tb_ksmbd_stop
	umount "$BASE" 2>/dev/null
	rm -f /tmp/bench-tcp.img
}
trap cleanup EXIT
T0=$(date +%s)
tb_net 1 || { echo "network setup failed"; exit 1; }
FS=${RSMBD_BENCH_FS:-xfs}
mkdir -p "$BASE" || exit 1
case $FS in
tmpfs) mount -t tmpfs -o size=1g bench-tcp "$BASE" || { echo "tmpfs on $BASE failed"; exit 1; } ;;
xfs)
	# The guest loads loop and xfs on demand only (see reflink.sh).
	{ modprobe loop && modprobe xfs && truncate -s 512M /tmp/bench-tcp.img &&
		mkfs.xfs -q -f /tmp/bench-tcp.img && mount -o loop /tmp/bench-tcp.img "$BASE"; } ||
		{ echo "xfs on $BASE failed"; exit 1; }
	;;
*) echo "RSMBD_BENCH_FS: xfs or tmpfs"; exit 2 ;;
esac
tb_ksmbd_start "$BASE/ksmbd" || exit 1
tb_rsmbd_start "$BASE/rsmbd" "$TB_SERVER_IP:$RS_PORT" || exit 1
echo "servers: $(tb_server_version rsmbd | head -n 1) on $TB_SERVER_IP:$RS_PORT;" \
	"$(tb_server_version ksmbd) on $TB_SERVER_IP:445; shares on $FS $BASE"

addr() { case $1 in rsmbd) echo "$TB_SERVER_IP:$RS_PORT" ;; ksmbd) echo "$TB_SERVER_IP:445" ;; esac; }
bench_common() {
	echo --server "$(addr "$1")" --share "$TB_SHARE" --user "$TB_USER" --password "$TB_PASS" --size "$SIZE"
}
for s in rsmbd ksmbd; do
	# shellcheck disable=SC2046
	timeout -k 5 300 "$BENCH" $(bench_common $s) --prepare-only >/dev/null ||
		{ echo "$s: rsmbd-bench --prepare-only failed"; exit 1; }
	if [ $need_fio = 1 ]; then
		opts=cache=none
		[ $s = rsmbd ] && opts=$opts,port=$RS_PORT
		ok=0
		for _ in 1 2 3; do tb_mount /mnt/bench-$s 3.1.1 "$opts" && { ok=1; break; }; sleep 1; done
		[ $ok = 1 ] || { echo "$s: cifs mount failed"; exit 1; }
	fi
done
echo "prepared in $(($(date +%s) - T0)) s: rsmbd-bench file $SIZE, fio file $FIO_SIZE;" \
	"$ROUNDS round(s) x ${DUR} s (+${WARM} s warm-up) per rsmbd-bench run, ${FIO_RUNTIME} s per fio run"

# run_one SERVER NAME KIND ARGS: one measurement; prints a RESULT line with server and round
run_one() {
	local s=$1 name=$2 kind=$3 args=$4 out iops p99
	if [ "$kind" = bench ]; then
		# shellcheck disable=SC2046,SC2086
		out=$(timeout -k 5 "$(awk -v d="$DUR" -v w="$WARM" 'BEGIN { printf "%d", d + w + 120 }')" \
			"$BENCH" $(bench_common "$s") --duration "$DUR" --warmup "$WARM" --label "$name" $args 2>&1)
		line=$(grep '^RESULT ' <<<"$out")
		if [ -z "$line" ]; then
			echo "$s $name: rsmbd-bench failed: $(tail -n 3 <<<"$out" | tr '\n' ' ')" >&2
			line="RESULT label=$name iops=0 p99_us=- errors=failed"
		fi
		echo "server=$s $line"
	else
		# shellcheck disable=SC2086
		set -- $args
		chmod 0666 /mnt/bench-"$s"/* "$BASE/$s"/* 2>/dev/null
		out=$(tb_fio "$name" /mnt/bench-"$s" "$1" 8k "$2" "$3" 2>&1)
		iops=$(sed -nE 's/.*(read|write) ([0-9]+) IOPS.*/\2/p' <<<"$out" | head -n 1)
		p99=-
		if [ -z "$iops" ]; then
			echo "$s $name: $out" >&2
			echo "server=$s RESULT label=$name iops=0 p99_us=- errors=failed"
		else
			echo "server=$s RESULT label=$name iops=$iops p99_us=$p99 errors=0"
		fi
	fi
}

: >"$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) = 1 ]; then order="rsmbd ksmbd"; else order="ksmbd rsmbd"; fi
	while IFS='|' read -r name kind args; do
		[ -n "$name" ] || continue
		for s in $order; do
			t=$(date +%s.%N)
			line=$(run_one "$s" "$name" "$kind" "$args")
			echo "round=$round $line secs=$(awk -v t="$t" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - t }')" |
				tee -a "$RESULTS"
		done
	done <<<"$LAYOUTS"
done

echo
echo "=== rsmbd / ksmbd over TCP, 8 KiB, $ROUNDS round(s), medians (TCG guest: relative figures only); $(($(date +%s) - T0)) s"
awk "$(cat "$TESTBED_DIR/../bench/results.awk")"'
function cell(l, s) { return err[l, s] ? "failed" : sprintf("%.0f", med(iops[l, s])) }
function lat(l, s,   m) { m = med(p99[l, s]); return (m == "" || err[l, s]) ? "-" : sprintf("%.0f", m) }
{
	l = fields(); s = f["server"]
	if (f["errors"] != "0" || f["iops"] + 0 <= 0) { err[l, s] = 1; bad = 1; next }
	iops[l, s] = iops[l, s] " " f["iops"]
	if (f["p99_us"] != "-") p99[l, s] = p99[l, s] " " f["p99_us"]
	by[l, s, f["round"]] = f["iops"]
}
END {
	printf "| layout | rsmbd IOPS | ksmbd IOPS | ratio | rsmbd p99 us | ksmbd p99 us |\n"
	printf "|---|---:|---:|---:|---:|---:|\n"
	for (k = 1; k <= nl; k++) {
		l = order[k]; r = ratios(l, "rsmbd", "ksmbd")
		ratio = (r == "" || err[l, "rsmbd"] || err[l, "ksmbd"]) ? "-" : sprintf("%.2f", med(r))
		printf "| %s | %s | %s | %s | %s | %s |\n", l, cell(l, "rsmbd"), cell(l, "ksmbd"), ratio, lat(l, "rsmbd"), lat(l, "ksmbd")
	}
	exit bad
}
' "$RESULTS"
