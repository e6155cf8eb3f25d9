#!/bin/bash
# 8 KiB random I/O over SMB Direct (soft-RoCE), rsmbd vs ksmbd in the same guest run
# (by hand: tools/testbed/run-in-guest.sh tools/testbed/tests/bench-rdma.sh with RSMBD_BIN set
# to a release build; a debug build is 3-5x slower and says nothing about the server).
# For each server: fio randread/randwrite 8 KiB at QD1 (psync) and QD16 (libaio), with the
# client's default rdma_readwrite_threshold 4096 (8 KiB I/O placed by RDMA Read/Write,
# RDMA_V1_INVALIDATE) and with 65536 (8 KiB inline in SMB Direct sends).
# The servers alternate for RSMBD_BENCH_ROUNDS rounds (default 2: rsmbd, ksmbd, rsmbd, ksmbd)
# and each figure is the best of its rounds, so load on the (shared, emulated) host skews
# neither side; prints each run and the rsmbd/ksmbd IOPS ratio per case.
# FIO_RUNTIME (default 5 s) per run.
set -uo pipefail
. "$TESTBED_DIR/guest/lib.sh"
SHARE=/srv/bench-rdma
MNT=/mnt/bench-rdma
ROUNDS=${RSMBD_BENCH_ROUNDS:-2}
CASES="randread-qd1-thr4096 randwrite-qd1-thr4096 randread-qd16-thr4096 randwrite-qd16-thr4096
randread-qd1-thr65536 randwrite-qd1-thr65536 randread-qd16-thr65536 randwrite-qd16-thr65536"
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
run() { # SERVER ROUND
	local srv=$1 round=$2 thr rw qd engine line k v
	for thr in 4096 65536; do
		echo "$thr" >/proc/fs/cifs/rdma_readwrite_threshold
		mount_rdma || { echo "$srv: mount failed"; return 1; }
		grep -q RDMA /proc/fs/cifs/DebugData || { echo "$srv: not RDMA"; tb_umount "$MNT"; return 1; }
		chmod 0666 "$SHARE"/* 2>/dev/null
		for qd in 1 16; do
			engine=psync; [ "$qd" = 1 ] || engine=libaio
			for rw in randread randwrite; do
				k=$rw-qd$qd-thr$thr
				line=$(FIO_SIZE=${FIO_SIZE:-8m} tb_fio "$srv-r$round-$k" "$MNT" $rw 8k $engine $qd) || { echo "$line"; continue; }
				echo "$line"
				v=$(echo "$line" | sed -E 's/.*(read|write) ([0-9]+) IOPS.*/\2/')
				[ "${IOPS[$srv-$k]:-0}" -ge "$v" ] || IOPS[$srv-$k]=$v
			done
		done
		tb_umount "$MNT"
	done
}
for round in $(seq "$ROUNDS"); do
	rm -rf "${SHARE:?}"/*
	tb_rsmbd_start "$SHARE" || exit 1
	sleep 2
	run rsmbd "$round"
	tb_rsmbd_stop
	rm -rf "${SHARE:?}"/*
	# A second start needs a fresh user database (ksmbd.adduser -a refuses an existing
	# user) and a freshly loaded module.
	if [ "$round" -gt 1 ]; then
		rm -f /etc/ksmbd/ksmbdpwd.db /run/ksmbd.lock
		modprobe -r ksmbd 2>/dev/null
	fi
	tb_ksmbd_start "$SHARE" || { echo "ksmbd start failed (round $round)"; break; }
	run ksmbd "$round"
	tb_ksmbd_stop
done
echo 4096 >/proc/fs/cifs/rdma_readwrite_threshold
echo "=== rsmbd / ksmbd IOPS over SMB Direct (8 KiB, best of $ROUNDS rounds each)"
for k in $CASES; do
	r=${IOPS[rsmbd-$k]:-} s=${IOPS[ksmbd-$k]:-}
	if [ -n "$r" ] && [ -n "$s" ] && [ "$s" != 0 ]; then
		echo "$k: rsmbd $r ksmbd $s ratio $(echo "scale=2; $r / $s" | bc)"
	else
		echo "$k: rsmbd ${r:--} ksmbd ${s:--} ratio -"
	fi
done
