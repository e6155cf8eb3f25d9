#!/bin/bash
# bench-channels.sh -- run INSIDE the guest by hand (informational figures, issue 8):
#   RSMBD_BIN=$PWD/target/release/rsmbd tools/testbed/run-in-guest.sh tools/testbed/tests/bench-channels.sh
#
# rsmbd on 10.99.0.2:445 and 10.99.1.2:445 (tb_net 2, the same `[[interface]]` setup as
# multichannel.sh), and rsmbd-bench (next to $RSMBD_BIN, or $RSMBD_BENCH_BIN) from the
# client side: 1 MiB sequential read and 8 KiB random read, one session with 1 channel vs
# 4 channels spread over both links (QD per session the same). Prints one RESULT line per
# run and a summary table. The guest is TCG: CPU-bound, the absolute numbers mean little.
# Environment: BENCH_SIZE (64m), BENCH_DURATION (5), BENCH_QD (8), BENCH_CHANNELS ("1 4").
set -uo pipefail
: "${TESTBED_DIR:?run this inside the guest via tools/testbed/run-in-guest.sh}"
# shellcheck source-path=SCRIPTDIR/.. source=guest/lib.sh
. "$TESTBED_DIR/guest/lib.sh"

BIN=${RSMBD_BIN:-$TESTBED_DIR/../../target/release/rsmbd}
BENCH=${RSMBD_BENCH_BIN:-$(dirname "$BIN")/rsmbd-bench}
SIZE=${BENCH_SIZE:-64m}
DUR=${BENCH_DURATION:-5}
QD=${BENCH_QD:-8}
CHANNELS=${BENCH_CHANNELS:-1 4}
STATE=/tmp/rsmbd/state
if [ ! -x "$BIN" ] || [ ! -x "$BENCH" ]; then echo "need $BIN and $BENCH (cargo build --release)"; exit 1; fi

tb_net 2 || exit 1
mkdir -p /tmp/rsmbd "$STATE" /srv/share && chmod 0777 /srv/share
printf '%s\n' "$TB_PASS" | "$BIN" user add --users /tmp/rsmbd/users "$TB_USER" >/dev/null || exit 1
cat >/tmp/rsmbd/rsmbd.toml <<EOF
[server]
listen = ["10.99.0.2:445", "10.99.1.2:445"]
state_dir = "$STATE"
users_file = "/tmp/rsmbd/users"
[[share]]
name = "$TB_SHARE"
path = "/srv/share"
[[interface]]
address = "10.99.0.2"
rss = true
[[interface]]
address = "10.99.1.2"
rss = true
EOF
"$BIN" serve --config /tmp/rsmbd/rsmbd.toml >>"$TESTBED_JOB/rsmbd.log" 2>&1 </dev/null &
spid=$!
if ! tb_wait_listen '^10\.99\.1\.2:445$' || ! tb_wait_listen '^10\.99\.0\.2:445$'; then
	echo "rsmbd not listening"; exit 1
fi

common=(--server "10.99.0.2:445,10.99.1.2:445" --user "$TB_USER" --password "$TB_PASS"
	--size "$SIZE" --duration "$DUR" --warmup 1 --qd "$QD" --server-pid "$spid")
"$BENCH" "${common[@]}" --prepare-only || exit 1
rc=0
results=()
for layout in seqread:1m randread:8k; do
	for ch in $CHANNELS; do
		out=$("$BENCH" "${common[@]}" --layout "${layout%:*}" --bs "${layout#*:}" --channels "$ch" 2>&1) || rc=1
		echo "$out"
		results+=("$(grep '^RESULT' <<<"$out")")
	done
done
echo
echo "summary (guest, TCG, 2 vCPU; QD $QD per session, ${DUR} s):"
printf '%s\n' "${results[@]}" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	printf "  %-28s %8s IOPS %8s MB/s  p50 %8s us  p99 %9s us  server %s us/op\n", v["label"], v["iops"], v["mbps"], v["p50_us"], v["p99_us"], v["server_us_op"] }'
kill "$spid"
exit $rc
