#!/bin/bash
# persistent.sh: the kernel cifs client keeps an open file across a SIGKILL and restart of rsmbd
# on a continuously available share (mount option `persistenthandles`), for vers=3.0 and 3.1.1.
#
# For each dialect: rsmbd serves share `share` with `continuous_availability = true` and its
# state in /tmp/rsmbd/state; a writer (python) opens /mnt/ca/pf-VERS.bin once and writes 32
# chunks of 64 KiB with an fsync after each; after chunk 8 rsmbd is SIGKILLed and started
# again (same address, same state directory) while the writer goes on; the writer's fsyncs
# and close must succeed, the file on the server must be byte-exact, and the restarted rsmbd
# must have restored the persistent handle and seen the client reclaim it (its log).
# Prints one PASS/FAIL line per check and `ALL CHECKS PASSED` at the end.
set -uo pipefail
. "$TESTBED_DIR/guest/lib.sh"
BIN=${RSMBD_BIN:-$TESTBED_DIR/../../target/release/rsmbd}
LOG=$TESTBED_JOB/rsmbd.log
CFG=/tmp/rsmbd/rsmbd.toml
DIR=/srv/ca

tb_net 1 || exit 1
mkdir -p /tmp/rsmbd "$DIR" && chmod 0777 "$DIR"
tb_rsmbd_config "$DIR" "continuous_availability = true" || exit 1

start() {
	RUST_LOG=info "$BIN" serve --config "$CFG" >>"$LOG" 2>&1 </dev/null &
	echo $! >/tmp/rsmbd/pid
	tb_wait_listen "^${TB_SERVER_IP//./\\.}:445\$" || { echo "rsmbd did not start"; tail -n 20 "$LOG"; return 1; }
}

# The writer: chunk k is sha256(k) repeated; waits for /tmp/go-VERS after chunk 8.
cat >/tmp/writer.py <<'EOF'
import hashlib, os, sys, time
path, go = sys.argv[1], sys.argv[2]
def chunk(k):
    s = hashlib.sha256(k.to_bytes(4, "little")).digest()
    return (s * 2048)[:65536]
fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
for k in range(32):
    os.write(fd, chunk(k))
    os.fsync(fd)
    if k == 8:
        open("/tmp/half", "w").close()
        while not os.path.exists(go):
            time.sleep(0.1)
os.close(fd)
with open(sys.argv[3], "wb") as f:
    for k in range(32):
        f.write(chunk(k))
print("writer done")
EOF

for vers in 3.0 3.1.1; do
	tb_say "vers=$vers"
	rm -f /tmp/half /tmp/go-$vers
	check "rsmbd starts ($vers)" start || continue
	check "mount vers=$vers,persistenthandles" tb_mount /mnt/ca "$vers" persistenthandles || { tb_rsmbd_stop; continue; }
	python3 /tmp/writer.py /mnt/ca/pf-$vers.bin /tmp/go-$vers /tmp/expected-$vers.bin &
	writer=$!
	for _ in $(seq 300); do [ -e /tmp/half ] && break; sleep 0.2; done
	check "writer reached the middle" test -e /tmp/half
	check "state record on disk" sh -c 'ls /tmp/rsmbd/state/persistent/*.ph'
	kill -9 "$(cat /tmp/rsmbd/pid)"
	wait "$(cat /tmp/rsmbd/pid)" 2>/dev/null
	mark=$(wc -l <"$LOG")
	check "rsmbd restarts" start
	touch /tmp/go-$vers
	for _ in $(seq 1200); do kill -0 "$writer" 2>/dev/null || break; sleep 0.2; done
	check "writer finished within 240 s" sh -c "! kill -0 $writer 2>/dev/null" || kill -9 "$writer"
	wait "$writer"; rc=$?
	check "writer's writes, fsyncs and close succeeded through the restart" test "$rc" = 0
	check "content byte-exact on the server" cmp "$DIR/pf-$vers.bin" /tmp/expected-$vers.bin
	check "handle restored and reclaimed" sh -c "tail -n +$((mark + 1)) '$LOG' | grep -q 'persistent handles restored' && tail -n +$((mark + 1)) '$LOG' | grep -q 'persistent handle reclaimed'"
	tb_umount /mnt/ca
	tb_rsmbd_stop
	rm -rf /tmp/rsmbd/state/persistent
done
dmesg | grep -i cifs | tail -n 15
summary
