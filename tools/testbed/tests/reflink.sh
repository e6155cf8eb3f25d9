#!/bin/bash
# reflink.sh: copies on a Linux cifs mount of rsmbd become server-side copies. rsmbd serves a
# share on a loop-mounted XFS (reflink=1) image; through a vers=3.1.1 mount,
# `cp --reflink=always` (FICLONE -> FSCTL_DUPLICATE_EXTENTS_TO_FILE) and copy_file_range(2)
# (-> FSCTL_SRV_COPYCHUNK) copy a 16 MiB file; both copies must be byte-exact, the clone must
# share its extents with the source on the server (filefrag), and the share's counters in
# `rsmbd status` must show the bytes copied by each FSCTL. Prints PASS/FAIL lines and
# `ALL CHECKS PASSED` at the end.
set -uo pipefail
. "$TESTBED_DIR/guest/lib.sh"
BIN=${RSMBD_BIN:-$TESTBED_DIR/../../target/release/rsmbd}
LOG=$TESTBED_JOB/rsmbd.log
CFG=/tmp/rsmbd/rsmbd.toml
DIR=/srv/xfs
MB=16
fails=0
check() { if eval "$2"; then echo "PASS $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi; }

tb_net 1 || exit 1
mkdir -p /tmp/rsmbd "$DIR"
# The guest loads loop and xfs on demand only: no /dev/loop-control before `modprobe loop`.
modprobe loop && modprobe xfs && truncate -s 320M /tmp/xfs.img &&
	mkfs.xfs -q -f -m reflink=1 /tmp/xfs.img && LOOP=$(losetup -f --show /tmp/xfs.img) &&
	mount -t xfs "$LOOP" "$DIR" && chmod 0777 "$DIR" || { echo "FAIL xfs image"; exit 1; }
tb_rsmbd_config "$DIR" || exit 1
"$BIN" serve --config "$CFG" >>"$LOG" 2>&1 </dev/null &
tb_wait_listen "^${TB_SERVER_IP//./\\.}:445\$" || { echo "rsmbd did not start"; tail -n 20 "$LOG"; exit 1; }
dd if=/dev/urandom of="$DIR/src" bs=1M count=$MB status=none && sync
tb_mount /mnt/s 3.1.1 || exit 1

tb_say "cp --reflink=always (FSCTL_DUPLICATE_EXTENTS_TO_FILE)"
check "reflink copy" "cp --reflink=always /mnt/s/src /mnt/s/ref"
check "reflink copy is byte-exact" "cmp $DIR/src $DIR/ref"
check "reflink copy shares extents" "filefrag -v $DIR/ref | grep -q shared"

tb_say "copy_file_range (FSCTL_SRV_COPYCHUNK)"
check "copy_file_range copy" "python3 -c '
import os, sys
s = os.open(\"/mnt/s/src\", os.O_RDONLY)
d = os.open(\"/mnt/s/cfr\", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
left = os.fstat(s).st_size
while left:
    n = os.copy_file_range(s, d, left)
    assert n > 0
    left -= n
os.close(d)
'"
check "copy_file_range copy is byte-exact" "cmp $DIR/src $DIR/cfr"
tb_umount /mnt/s

tb_say "rsmbd status"
line=$("$BIN" status --state-dir /tmp/rsmbd/state | grep "^share name=$TB_SHARE ")
echo "$line"
val() { printf '%s\n' "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
bytes=$((MB << 20))
check "duplicate_extents_bytes counts the clone" "[ \"$(val duplicate_extents_bytes)\" -ge $bytes ]"
check "copychunk_bytes counts the copy_file_range" "[ \"$(val copychunk_bytes)\" -ge $bytes ]"
check "both copies cloned on the server" "[ \"$(val clone_bytes)\" -ge $((2 * bytes)) ]"
kill "$(pgrep -f "$BIN serve --config $CFG")" 2>/dev/null
sleep 0.5
umount "$DIR" && losetup -d "$LOOP"
if [ $fails = 0 ]; then echo "ALL CHECKS PASSED"; else echo "$fails CHECKS FAILED"; exit 1; fi
