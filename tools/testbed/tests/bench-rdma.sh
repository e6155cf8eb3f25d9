#!/bin/bash
# 8 KiB random I/O over SMB Direct (soft-RoCE), rsmbd vs ksmbd in the same guest run
# (by hand: tools/testbed/run-in-guest.sh tools/testbed/tests/bench-rdma.sh with RSMBD_BIN set).
# For each server: fio randread/randwrite 8 KiB at QD1 (psync) with the client's default
# rdma_readwrite_threshold (RDMA placement) and at QD1 and QD16 (libaio) with 65536 (inline;
# rsmbd's RDMA placement at QD>1 breaks the client's QP, see tests/testbed_rdma.rs).
# Prints each figure and the rsmbd/ksmbd IOPS ratio. FIO_RUNTIME (default 5 s) per run.
set -uo pipefail
. "$TESTBED_DIR/guest/lib.sh"
SHARE=/srv/bench-rdma
MNT=/mnt/bench-rdma
declare -A IOPS

tb_net 1 && tb_rxe || { echo "network/rxe setup failed"; exit 1; }
modprobe cifs
mkdir -p "$MNT"
mount_rdma() {
	local i
	for i in 1 2 3; do
		timeout -k 5 120 mount -t cifs "//$TB_SERVER_IP/$TB_SHARE" "$MNT" \
			-o "vers=3.1.1,username=$TB_USER,password=$TB_PASS,nosharesock,rdma,cache=none" && return 0
		sleep 1
	done
	return 1
}
run() { # SERVER
	local srv=$1 thr rw qd engine line
	for thr in 4096 65536; do
		echo "$thr" >/proc/fs/cifs/rdma_readwrite_threshold
		mount_rdma || { echo "$srv: mount failed"; return 1; }
		grep -q RDMA /proc/fs/cifs/DebugData || { echo "$srv: not RDMA"; return 1; }
		chmod 0666 "$SHARE"/* 2>/dev/null
		for qd in 1 16; do
			[ "$thr" = 4096 ] && [ "$qd" = 16 ] && continue
			engine=psync; [ "$qd" = 1 ] || engine=libaio
			for rw in randread randwrite; do
				line=$(FIO_SIZE=${FIO_SIZE:-8m} tb_fio "$srv-$rw-qd$qd-thr$thr" "$MNT" $rw 8k $engine $qd) || { echo "$line"; continue; }
				echo "$line"
				IOPS[$srv-$rw-qd$qd-thr$thr]=$(echo "$line" | sed -E 's/.*(read|write) ([0-9]+) IOPS.*/\2/')
			done
		done
		tb_umount "$MNT"
	done
}
tb_rsmbd_start "$SHARE" || exit 1
sleep 2
run rsmbd
tb_rsmbd_stop
rm -rf "${SHARE:?}"/*
tb_ksmbd_start "$SHARE" || exit 1
run ksmbd
tb_ksmbd_stop
echo "=== rsmbd / ksmbd IOPS over SMB Direct (8 KiB)"
for k in randread-qd1-thr4096 randwrite-qd1-thr4096 randread-qd1-thr65536 randwrite-qd1-thr65536 \
	randread-qd16-thr65536 randwrite-qd16-thr65536; do
	r=${IOPS[rsmbd-$k]:-} s=${IOPS[ksmbd-$k]:-}
	if [ -n "$r" ] && [ -n "$s" ] && [ "$s" != 0 ]; then
		echo "$k: rsmbd $r ksmbd $s ratio $(echo "scale=2; $r / $s" | bc)"
	else
		echo "$k: rsmbd ${r:--} ksmbd ${s:--} ratio -"
	fi
done
