#!/bin/bash
# SMB Direct (MS-SMBD) against rsmbd over soft-RoCE, in the test bed guest.
#   rdma.sh            mount -o rdma (3.1.1 and 3.0), DebugData shows RDMA, write/read/compare
#                      RSMBD_RDMA_MB MiB (default 256), fio 8 KiB QD1 with the client's default
#                      rdma_readwrite_threshold (4096: 8 KiB I/O goes by RDMA Read/Write) and
#                      with 65536 (8 KiB I/O inline in SMB Direct sends); fio 8 KiB QD16 (libaio,
#                      5 s) with both thresholds;
#                      multichannel: rdma,multichannel,max_channels=2 over two rxe links gives
#                      two SMB Direct channels (DebugData, `rsmbd status` transport=rdma), the
#                      server interfaces advertised RDMA_CAPABLE, I/O on both channels.
# Needs RSMBD_BIN (the host's build; the guest sees the host's /).
set -uo pipefail
. "$TESTBED_DIR/guest/lib.sh"
MB=${RSMBD_RDMA_MB:-256}
SHARE=/srv/rdma-share
MNT=/mnt/rdma

tb_say "network + soft-RoCE"
check "veth pairs" tb_net 2 || { summary; exit 1; }
check "rxe devices" tb_rxe || { summary; exit 1; }
rdma link show
# tb_rsmbd_start with two listen addresses (10.99.0.2 and 10.99.1.2, one per link).
BIN=${RSMBD_BIN:-$TESTBED_DIR/../../target/release/rsmbd}
rsmbd_start2() {
	mkdir -p /tmp/rsmbd "$SHARE" && chmod 0777 "$SHARE" && rm -f /tmp/rsmbd/users || return 1
	printf '%s\n' "$TB_PASS" | "$BIN" user add --users /tmp/rsmbd/users "$TB_USER" || return 1
	"$BIN" serve --listen "$TB_SERVER_IP:445" --listen 10.99.1.2:445 --share "$TB_SHARE=$SHARE" \
		--users /tmp/rsmbd/users >>"$TESTBED_JOB/rsmbd.log" 2>&1 </dev/null &
	echo $! >/tmp/rsmbd/pid
	tb_wait_listen '^10\.99\.1\.2:445$' || { tail -n 20 "$TESTBED_JOB/rsmbd.log"; return 1; }
}
check "rsmbd starts" rsmbd_start2 || { summary; exit 1; }
# The rdma_cm listener comes up just after the TCP one: give it a few seconds.
smbd_announced() {
	local i
	for i in $(seq 50); do
		grep -q "SMB Direct listening on $TB_SERVER_IP:5445" "$TESTBED_JOB/rsmbd.log" && return 0
		sleep 0.2
	done
	return 1
}
check "SMB Direct listener announced" smbd_announced

# The first rdma_resolve_addr after the devices come up can time out under TCG (the cifs
# client then tries port 445 and fails): try up to three times.
smbd_mount() { # VERS [OPTS]
	local i
	for i in 1 2 3; do
		timeout -k 5 120 mount -t cifs "//$TB_SERVER_IP/$TB_SHARE" "$MNT" \
			-o "vers=$1,username=$TB_USER,password=$TB_PASS,nosharesock,rdma${2:+,$2}" && return 0
		echo "mount attempt $i failed"; sleep 1
	done
	return 1
}
debugdata_rdma() {
	grep -E 'RDMA|SMBDirect' /proc/fs/cifs/DebugData | head -n 8
	grep -q 'RDMA' /proc/fs/cifs/DebugData && grep -q 'SMBDirect (in hex) protocol version: 100' /proc/fs/cifs/DebugData
}
write_read_compare() { # MB
	local n=$1
	dd if=/dev/urandom of=/tmp/rdma-src bs=1M count="$n" status=none || return 1
	local t0 t1
	t0=$(date +%s.%N)
	timeout -k 5 600 dd if=/tmp/rdma-src of="$MNT/big" bs=1M conv=fsync status=none || return 1
	t1=$(date +%s.%N)
	echo "write $n MiB: $(echo "$n / ($t1 - $t0)" | bc -l | cut -c1-6) MiB/s"
	cmp /tmp/rdma-src "$SHARE/big" || { echo "server-side file differs"; return 1; }
	echo 3 >/proc/sys/vm/drop_caches
	t0=$(date +%s.%N)
	timeout -k 5 600 cmp /tmp/rdma-src "$MNT/big" || return 1
	t1=$(date +%s.%N)
	echo "read+compare $n MiB: $(echo "$n / ($t1 - $t0)" | bc -l | cut -c1-6) MiB/s"
	rm -f "$MNT/big" /tmp/rdma-src
}

modprobe cifs
for vers in 3.1.1 3.0; do
	tb_say "vers=$vers rdma"
	mkdir -p "$MNT"
	if check "mount vers=$vers rdma" smbd_mount "$vers"; then
		check "DebugData shows the RDMA transport ($vers)" debugdata_rdma
		check "write/read/compare ${MB} MiB ($vers)" write_read_compare "$MB"
		tb_umount "$MNT"
	fi
done

tb_say "fio 8 KiB QD1 over SMB Direct"
for thr in default 65536; do
	old=$(cat /proc/fs/cifs/rdma_readwrite_threshold 2>/dev/null || echo 4096)
	[ "$thr" = default ] || echo "$thr" >/proc/fs/cifs/rdma_readwrite_threshold
	echo "rdma_readwrite_threshold=$(cat /proc/fs/cifs/rdma_readwrite_threshold 2>/dev/null)"
	if check "mount for fio (threshold $thr)" smbd_mount 3.1.1 cache=none; then
		chmod 0666 "$SHARE"/* 2>/dev/null
		FIO_SIZE=${FIO_SIZE:-8m} check "fio randread 8k QD1 (threshold $thr)" tb_fio "rdma-randread-thr-$thr" "$MNT" randread 8k psync 1
		FIO_SIZE=${FIO_SIZE:-8m} check "fio randwrite 8k QD1 (threshold $thr)" tb_fio "rdma-randwrite-thr-$thr" "$MNT" randwrite 8k psync 1
		# QD16: with the default threshold many RDMA_V1_INVALIDATE requests are in flight;
		# each token must reach the client no later than its own response (else the client
		# re-registers a buffer still valid and its QP breaks: register_mr_done status=5).
		FIO_RUNTIME=5 FIO_SIZE=${FIO_SIZE:-8m} check "fio randread 8k QD16 libaio (threshold $thr)" tb_fio "rdma-randread-qd16-thr-$thr" "$MNT" randread 8k libaio 16
		FIO_RUNTIME=5 FIO_SIZE=${FIO_SIZE:-8m} check "fio randwrite 8k QD16 libaio (threshold $thr)" tb_fio "rdma-randwrite-qd16-thr-$thr" "$MNT" randwrite 8k libaio 16
		tb_umount "$MNT"
	fi
	echo "$old" >/proc/fs/cifs/rdma_readwrite_threshold 2>/dev/null
done
tb_say "multichannel: two SMB Direct channels"
# `rsmbd status` channel lines: "channel conn=N transport=rdma ... requests=N ..."
rdma_channel_requests() {
	"$BIN" status | awk '$1 == "channel" && $3 == "transport=rdma" {
		for (i = 1; i <= NF; i++) if ($i ~ /^requests=/) { sub("requests=", "", $i); print $i } }'
}
two_channels() {
	local i
	for i in $(seq 50); do [ "$(tb_cifs_channels)" = 2 ] && break; sleep 0.2; done
	grep -E 'Extra Channels|Capabilities|IPv4|CONNECTED' /proc/fs/cifs/DebugData
	"$BIN" status | grep -E '^ *(session|channel)'
	[ "$(tb_cifs_channels)" = 2 ] && [ "$(rdma_channel_requests | wc -l)" = 2 ]
}
rdma_advertised() { # the server's addresses come back RDMA_CAPABLE
	awk '/Server interfaces:/ { s = 1 } s && /Capabilities:/ { c = $0 } s && /IPv4:/ { print $2, c }' \
		/proc/fs/cifs/DebugData | grep -E '^10\.99\.[01]\.2 .*rdma' | sort -u | wc -l | grep -qx 2
}
io_on_both_channels() {
	local before after
	before=$(rdma_channel_requests | tr '\n' ' ')
	write_read_compare 8 || return 1
	after=$(rdma_channel_requests | tr '\n' ' ')
	echo "requests per channel: before $before after $after"
	set -- $before $after
	[ $# = 4 ] && [ $(($3 - $1)) -ge 5 ] && [ $(($4 - $2)) -ge 5 ]
}
if check "mount rdma,multichannel,max_channels=2" smbd_mount 3.1.1 multichannel,max_channels=2; then
	check "two SMB Direct channels (DebugData, rsmbd status)" two_channels
	check "interfaces advertised RDMA_CAPABLE" rdma_advertised
	check "I/O on both RDMA channels" io_on_both_channels
	tb_umount "$MNT"
fi
dmesg | grep -E 'CIFS|smbd|rxe' | tail -n 15
tb_rsmbd_stop
echo "--- rsmbd log tail"; tail -n 15 "$TESTBED_JOB/rsmbd.log"
summary
