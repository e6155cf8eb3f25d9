#!/bin/bash
# cifs-matrix.sh SERVER   (SERVER = samba | ksmbd | rsmbd) -- run INSIDE the guest:
#   tools/testbed/run-in-guest.sh tools/testbed/tests/cifs-matrix.sh samba
#
# Starts SERVER on 10.99.0.2:445 (one veth pair) and, for every dialect (vers=2.1, 3.0,
# 3.1.1) x option (plain, sign, seal), runs with the Linux cifs client:
#   mount          mount -t cifs, check the dialect/sign/seal in /proc/mounts
#   write-read-NMiB  write NMiB of random data, compare server-side file, drop the client
#                  cache, read back through the mount, compare
#   mkdir, rename, ls, unlink   namespace operations (checked on the server side too)
#   flock          flock(1) exclusive lock held by one process blocks another
#   fcntl          POSIX byte-range lock (guest/fcntl-lock.py) held by one process blocks an
#                  overlapping one, not a disjoint one; free after release
#   umount
#   fio-8k-randrw  fresh mount with cache=none, fio 8 KiB O_DIRECT randrw, prints IOPS
# Output: one line per case, "PASS server vers opts case [-- info]" or
# "FAIL server vers opts case -- reason", then "N passed, M failed".  Exit 1 if anything
# failed.  A combination the client or server does not support (e.g. vers=2.1 with seal:
# SMB 2.1 has no encryption) is reported as FAIL with the reason, never skipped.
# Per-case output: $TESTBED_JOB/matrix-SERVER.log (kept by run-in-guest.sh on failure).
#
# Environment: MATRIX_MB (default 256) size of the write/read test,
#   MATRIX_VERS (default "2.1 3.0 3.1.1"), MATRIX_OPTS (default "plain sign seal"),
#   FIO_RUNTIME (default 5 s), FIO_SIZE (default 16m), RSMBD_BIN (rsmbd binary).
# shellcheck disable=SC2015,SC2012  # `[ a ] && [ b ] || fail` intended; ls is what we test
set -euo pipefail
: "${TESTBED_DIR:?run this inside the guest via tools/testbed/run-in-guest.sh}"
# shellcheck source-path=SCRIPTDIR/.. source=guest/lib.sh
. "$TESTBED_DIR/guest/lib.sh"

MB=${MATRIX_MB:-256}
SHARE_DIR=/srv/share
MNT=/mnt/matrix
FMNT=/mnt/matrix-fio
SRC=/tmp/matrix-src.bin
INFO=/tmp/matrix-case.info

# ---------------------------------------------------------------- case bodies
# Each runs in its own process (this script re-invoked with --case) under `timeout`.
# Output goes to the case log; the last line is the FAIL reason; a line written to $INFO
# is appended to the PASS line.
fail() { echo "$*"; exit 1; }
ms() { date +%s%N | cut -c1-13; }
mibps() { awk -v mb="$1" -v t="$2" 'BEGIN { if (t < 1) t = 1; printf "%.1f MiB/s", mb * 1000 / t }'; }

case_mount() { # VERS OPTS
	local vers=$1 opts=$2 extra="" m dbg hex
	[ "$opts" = plain ] || extra=$opts
	local hint=""
	[[ $opts == seal && $vers == 2* ]] && hint=" (SMB 2.x has no encryption: seal needs vers>=3.0)"
	tb_mount "$MNT" "$vers" "$extra" ||
		fail "mount -t cifs vers=$vers${extra:+,$extra} failed$hint: $(dmesg | grep -E 'CIFS|ksmbd' | tail -n 2 | sed 's/^\[[ 0-9.]*\] //' | tr '\n' ' ')"
	m=$(awk -v d="$MNT" '$2 == d { print $4 }' /proc/mounts)
	echo "mount options: $m"
	[[ ,$m, == *,vers=$vers,* ]] || fail "mounted with other dialect: $m"
	# What was negotiated, from the client's view.  Only this mount is active (earlier
	# ones are unmounted, nosharesock), so DebugData describes exactly this connection:
	# "Dialect 0xNNN [signed]" per server, "SessionId: 0x... [signed]" per session,
	# "\\ip\share ... encrypted" per tree connect.
	dbg=$(cat /proc/fs/cifs/DebugData)
	echo "$dbg" | grep -A1 -E 'Dialect|SessionId|\\share ' || true
	hex=$(echo "$vers" | tr -d .); hex=${hex}000; hex=0x${hex:0:3}
	echo "$dbg" | grep -q "Dialect $hex" || fail "DebugData does not show dialect $hex"
	case $opts in
	sign) echo "$dbg" | grep -Eq "Dialect $hex.* signed|SessionId: 0x[0-9a-f]+.* signed" ||
		fail "session is not signed (DebugData)" ;;
	seal) [[ ,$m, == *,seal,* ]] || fail "mounted without seal: $m"
		echo "$dbg" | grep -A1 -F '\share ' | grep -q encrypted || fail "tree connect is not encrypted (DebugData)" ;;
	esac
}

case_write_read() {
	local t0 t1 t2 w r
	t0=$(ms)
	cp "$SRC" "$MNT/big.bin" || fail "write failed"
	sync -f "$MNT/big.bin" 2>/dev/null || sync
	t1=$(ms)
	cmp "$SRC" "$SHARE_DIR/big.bin" || fail "server-side file differs from what was written"
	echo 3 >/proc/sys/vm/drop_caches
	t1b=$(ms)
	cmp "$SRC" "$MNT/big.bin" || fail "data read back through the mount differs"
	t2=$(ms)
	w=$(mibps "$MB" $((t1 - t0))); r=$(mibps "$MB" $((t2 - t1b)))
	rm -f "$MNT/big.bin" || fail "rm big.bin failed"
	echo "write $w, read $r" >"$INFO"
}

case_mkdir() {
	rm -rf "${MNT:?}/d" 2>/dev/null || true
	mkdir "$MNT/d" || fail "mkdir d failed"
	mkdir "$MNT/d/sub" || fail "mkdir d/sub failed"
	mkdir "$MNT/d" 2>/dev/null && fail "second mkdir d succeeded (expected EEXIST)"
	[ -d "$SHARE_DIR/d/sub" ] || fail "d/sub not on the server side"
	[ -d "$MNT/d/sub" ] || fail "d/sub not visible through the mount"
}

case_rename() {
	echo hello >"$MNT/d/a" || fail "create d/a failed"
	mv "$MNT/d/a" "$MNT/d/b" || fail "rename d/a -> d/b failed"
	[ ! -e "$MNT/d/a" ] || fail "d/a still exists after rename"
	[ "$(cat "$MNT/d/b")" = hello ] || fail "d/b has wrong content"
	[ -f "$SHARE_DIR/d/b" ] && [ ! -e "$SHARE_DIR/d/a" ] || fail "rename not done on the server side"
	mv "$MNT/d/sub" "$MNT/d/sub2" || fail "rename directory d/sub -> d/sub2 failed"
	[ -d "$SHARE_DIR/d/sub2" ] || fail "directory rename not done on the server side"
	echo other >"$MNT/d/c" || fail "create d/c failed"
	mv -f "$MNT/d/c" "$MNT/d/b" || fail "rename over an existing file failed"
	[ "$(cat "$MNT/d/b")" = other ] || fail "replace-rename: d/b has wrong content"
}

case_ls() {
	local i want got
	for i in $(seq 1 40); do : >"$MNT/d/f$i" || fail "create d/f$i failed"; done
	want=$( (echo b; echo sub2; seq 1 40 | sed 's/^/f/') | LC_ALL=C sort | tr '\n' ' ')
	got=$(ls -1 "$MNT/d" | LC_ALL=C sort | tr '\n' ' ') || fail "ls failed"
	[ "$got" = "$want" ] || fail "ls lists [$got], expected [$want]"
	ls -la "$MNT/d" >/dev/null || fail "ls -la failed"
	[ "$(stat -c %s "$MNT/d/b")" = 6 ] || fail "stat size of d/b is not 6"
}

case_unlink() {
	local i
	rm "$MNT/d/b" || fail "unlink d/b failed"
	[ ! -e "$MNT/d/b" ] && [ ! -e "$SHARE_DIR/d/b" ] || fail "d/b still exists after unlink"
	for i in $(seq 1 40); do rm "$MNT/d/f$i" || fail "unlink d/f$i failed"; done
	rmdir "$MNT/d/sub2" || fail "rmdir d/sub2 failed"
	rmdir "$MNT/d" || fail "rmdir d failed (not empty?)"
	[ ! -e "$SHARE_DIR/d" ] || fail "d still exists on the server side"
	[ -z "$(ls -A "$MNT")" ] || fail "share not empty after unlink: $(ls -A "$MNT" | tr '\n' ' ')"
}

# wait_file FILE SECS
wait_file() { local i; for ((i = 0; i < $2 * 10; i++)); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }

case_flock() {
	local f=$MNT/flock.dat ready=/tmp/flock.ready pid rc=0
	: >"$f" || fail "create $f failed"
	rm -f "$ready"
	flock -x "$f" -c "touch $ready; sleep 5" &
	pid=$!
	wait_file "$ready" 30 || { kill $pid 2>/dev/null; fail "holder could not take flock -x (flock(2) on cifs)"; }
	flock -n -x "$f" true && { kill $pid 2>/dev/null; fail "second process got flock -x while the first held it"; }
	flock -n -s "$f" true && { kill $pid 2>/dev/null; fail "second process got flock -s while the first held -x"; }
	wait $pid || fail "holder process failed"
	flock -n -x "$f" true || rc=$?
	[ $rc = 0 ] || fail "flock -x refused after the holder exited (rc $rc)"
	rm -f "$f"
}

case_fcntl() {
	local f=$MNT/fcntl.dat ready=/tmp/fcntl.ready pid rc=0 py=$TESTBED_DIR/guest/fcntl-lock.py
	head -c 4096 /dev/zero >"$f" || fail "create $f failed"
	rm -f "$ready"
	python3 "$py" hold "$f" 0 100 6 "$ready" &
	pid=$!
	wait_file "$ready" 30 || { kill $pid 2>/dev/null; fail "holder could not take F_SETLK [0,100)"; }
	python3 "$py" try "$f" 50 100 || rc=$?
	[ $rc = 1 ] || { kill $pid 2>/dev/null; fail "overlapping F_SETLK [50,150) from a second process: exit $rc, expected 1 (conflict)"; }
	rc=0; python3 "$py" try "$f" 200 100 || rc=$?
	[ $rc = 0 ] || { kill $pid 2>/dev/null; fail "disjoint F_SETLK [200,300) refused (exit $rc)"; }
	wait $pid || fail "holder process failed"
	rc=0; python3 "$py" try "$f" 0 100 || rc=$?
	[ $rc = 0 ] || fail "F_SETLK [0,100) refused after the holder released it (exit $rc)"
	rm -f "$f"
}

case_umount() {
	umount "$MNT" || fail "umount failed: $(fuser -vm "$MNT" 2>&1 | tail -n 3 | tr '\n' ' ')"
}

case_seal_refused() { # VERS: seal over a 2.x dialect must not mount (no encryption in 2.x)
	if tb_mount "$MNT" "$1" seal 2>/dev/null; then
		tb_umount "$MNT"
		fail "vers=$1 with seal mounted, but SMB $1 cannot encrypt"
	fi
	echo "refused as expected"
}

case_fio() { # VERS OPTS
	local vers=$1 opts=$2 extra=cache=none line
	[ "$opts" = plain ] || extra="$opts,cache=none"
	local hint=""
	[[ $opts == seal && $vers == 2* ]] && hint=" (SMB 2.x has no encryption: seal needs vers>=3.0)"
	tb_mount "$FMNT" "$vers" "$extra" || fail "mount -t cifs vers=$vers,$extra failed$hint"
	line=$(tb_fio "fio" "$FMNT" randrw 8k psync 1) || { tb_umount "$FMNT"; fail "${line:-fio failed}"; }
	echo "$line"
	rm -f "$FMNT/fio.dat"
	umount "$FMNT" || fail "umount after fio failed"
	echo "${line#fio: }" >"$INFO"
}

if [ "${1:-}" = --case ]; then
	shift
	fn=$1; shift
	"case_$fn" "$@"
	exit 0
fi

# ---------------------------------------------------------------- driver
SERVER=${1:-}
case $SERVER in samba | ksmbd | rsmbd) ;; *) echo "usage: $0 samba|ksmbd|rsmbd" >&2; exit 2 ;; esac
LOG=$TESTBED_JOB/matrix-$SERVER.log
: >"$LOG"
NPASS=0 NFAIL=0
SELF=$(readlink -f "$0")

report() { # STATUS VERS OPTS CASE [TEXT]
	local line="$1 $SERVER $2 $3 $4${5:+ -- $5}"
	echo "$line"; echo "$line" >>"$LOG"
	if [ "$1" = PASS ]; then NPASS=$((NPASS + 1)); else NFAIL=$((NFAIL + 1)); fi
}

# run_case VERS OPTS NAME TIMEOUT FN [ARGS...] -> 0 on PASS
run_case() {
	local vers=$1 opts=$2 name=$3 secs=$4 out rc=0 reason; shift 4
	out=$(mktemp /tmp/case.XXXXXX)
	rm -f "$INFO"
	{ echo; echo "##### $SERVER $vers $opts $name"; } >>"$LOG"
	local t0=$SECONDS
	timeout -k 10 "$secs" "$SELF" --case "$@" >"$out" 2>&1 </dev/null || rc=$?
	cat "$out" >>"$LOG"
	echo "(exit status $rc, $((SECONDS - t0)) s)" >>"$LOG"
	if [ $rc = 0 ]; then
		report PASS "$vers" "$opts" "$name" "$(cat "$INFO" 2>/dev/null || true)"
	else
		if [ $rc = 124 ] || [ $rc = 137 ]; then
			reason="timed out after ${secs} s"
		else
			reason=$(grep -v '^[[:space:]]*$' "$out" | tail -n 1 | cut -c1-300)
			reason=${reason:-exit status $rc}
		fi
		report FAIL "$vers" "$opts" "$name" "$reason"
	fi
	rm -f "$out"
	return $rc
}

T0=$SECONDS
echo "cifs matrix against $SERVER: MATRIX_MB=$MB, kernel $(uname -r), log $LOG"
tb_net 1 >>"$LOG" 2>&1 || { report FAIL - - network "tb_net failed"; echo "$NPASS passed, $NFAIL failed"; exit 1; }
modprobe cifs
dd if=/dev/urandom of="$SRC" bs=1M count="$MB" status=none
mkdir -p "$SHARE_DIR"

VERSIONS=${MATRIX_VERS:-2.1 3.0 3.1.1}
OPTIONS=${MATRIX_OPTS:-plain sign seal}
LATER="write-read-${MB}MiB mkdir rename ls unlink flock fcntl umount"

if out=$(tb_server_start "$SERVER" "$SHARE_DIR" 2>&1); then
	report PASS - - server-start "$(tb_server_version "$SERVER" 2>/dev/null | head -n 1)"
	SERVER_UP=1
else
	echo "$out" >>"$LOG"
	report FAIL - - server-start "$(echo "$out" | grep -v '^[[:space:]]*$' | tail -n 1)"
	SERVER_UP=0
fi

for vers in $VERSIONS; do
	for opts in $OPTIONS; do
		if [ $SERVER_UP = 0 ]; then
			for c in mount $LATER fio-8k-randrw; do report FAIL "$vers" "$opts" "$c" "not run: server did not start"; done
			continue
		fi
		if [[ $opts == seal && $vers == 2* ]]; then
			# SMB 2.x has no encryption: the one case is that the client refuses the mount.
			run_case "$vers" "$opts" seal-refused 120 seal_refused "$vers" || true
			continue
		fi
		if run_case "$vers" "$opts" mount 120 mount "$vers" "$opts"; then
			run_case "$vers" "$opts" "write-read-${MB}MiB" $((120 + MB * 4)) write_read || true
			run_case "$vers" "$opts" mkdir 120 mkdir || true
			run_case "$vers" "$opts" rename 120 rename || true
			run_case "$vers" "$opts" ls 180 ls || true
			run_case "$vers" "$opts" unlink 180 unlink || true
			run_case "$vers" "$opts" flock 120 flock || true
			run_case "$vers" "$opts" fcntl 120 fcntl || true
			run_case "$vers" "$opts" umount 60 umount || { umount -l "$MNT" 2>/dev/null || true; }
			rm -rf "${SHARE_DIR:?}"/* 2>/dev/null || true
			run_case "$vers" "$opts" fio-8k-randrw $((${FIO_RUNTIME:-5} + 240)) fio "$vers" "$opts" ||
				{ umount -l "$FMNT" 2>/dev/null || true; }
		else
			tb_umount "$MNT" # the mount may exist but have failed verification
			for c in $LATER; do report FAIL "$vers" "$opts" "$c" "not run: mount failed"; done
			# the cache=none mount is independent of the first one: still try it
			run_case "$vers" "$opts" fio-8k-randrw $((${FIO_RUNTIME:-5} + 240)) fio "$vers" "$opts" ||
				{ umount -l "$FMNT" 2>/dev/null || true; }
		fi
		rm -rf "${SHARE_DIR:?}"/* 2>/dev/null || true
	done
done

[ $SERVER_UP = 0 ] || tb_server_stop "$SERVER" >>"$LOG" 2>&1 || true
{ echo; echo "##### dmesg (cifs/ksmbd)"; dmesg | grep -Ei 'cifs|ksmbd|smb' | tail -n 100; } >>"$LOG" 2>&1 || true
echo "matrix wall time: $((SECONDS - T0)) s"
echo "$NPASS passed, $NFAIL failed"
[ "$NFAIL" = 0 ]
