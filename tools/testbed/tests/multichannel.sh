#!/bin/bash
# multichannel.sh -- run INSIDE the guest (tools/testbed/run-in-guest.sh): the Linux kernel
# client against rsmbd with one session over several channels (issue 8).
#
#   tb_net 2: client 10.99.0.1 <-> server 10.99.0.2 (veth0/veth1) and 10.99.1.1 <-> 10.99.1.2
#   (veth2/veth3); rsmbd listens on both server addresses (port 445) and advertises exactly
#   those two in FSCTL_QUERY_NETWORK_INTERFACE_INFO through `[[interface]]` entries with
#   rss = true. (Auto-discovery would advertise the client's addresses as well -- client and
#   server share one network namespace here -- and a veth has one receive queue, so no RSS:
#   cifs opens only one channel per non-RSS interface, 2 in all.)
#
# Cases (one `PASS name [-- info]` / `FAIL name -- reason` line each, last line
# `N passed, M failed`; exit 1 if anything failed):
#   mount            mount -t cifs vers=3.1.1,multichannel,max_channels=4,echo_interval=N
#   channels         /proc/fs/cifs/DebugData shows 4 channels (1 + "Extra Channels: 3"),
#                    connected to both server addresses
#   status-session   `rsmbd status --state-dir` shows one session with 4 channels, with their
#                    peer addresses on both client addresses
#   spread           after a multi-file copy (MC_FILES files of MC_FILE_MB MiB, cmp'ed on the
#                    server side) every channel of the session has nonzero requests and bytes
#   link-down        copy MC_BIG_MB MiB (cp + sync); once the server has received MC_DOWN_PCT %
#                    of it, the server side of pair 1 (veth3) goes down; the copy
#                    completes (and was still running when the link went down), more than
#                    1 MiB of it went over the other link afterwards, and cmp finds no
#                    difference, on the server and read back through the mount
#   survives         afterwards the same session (same id) is still there, with fewer
#                    channels alive, and a new file written and read back through the mount
#   umount
# Environment: MC_FILES (8), MC_FILE_MB (2), MC_BIG_MB (128), MC_DOWN_PCT (25), MC_ECHO (3),
#   MC_STEP_TIMEOUT (90 s per copy step), RSMBD_BIN.  Details go to $TESTBED_JOB/multichannel.log and rsmbd.log.
set -uo pipefail
: "${TESTBED_DIR:?run this inside the guest via tools/testbed/run-in-guest.sh}"
# shellcheck source-path=SCRIPTDIR/.. source=guest/lib.sh
. "$TESTBED_DIR/guest/lib.sh"

FILES=${MC_FILES:-8}
FILE_MB=${MC_FILE_MB:-2}
BIG_MB=${MC_BIG_MB:-128}
DOWN_PCT=${MC_DOWN_PCT:-25}
ECHO=${MC_ECHO:-3}
STEP_TIMEOUT=${MC_STEP_TIMEOUT:-90}
BIN=${RSMBD_BIN:-$TESTBED_DIR/../../target/release/rsmbd}
SHARE_DIR=/srv/share
MNT=/mnt/mc
STATE=/tmp/rsmbd/state
LOG=$TESTBED_JOB/multichannel.log
PASSED=0
FAILED=0

pass() { echo "PASS $1${2:+ -- $2}"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1 -- $2"; FAILED=$((FAILED + 1)); }
log() { printf '%s\n' "$*" >>"$LOG"; }
finish() {
	{
		echo "----- rsmbd status"; "$BIN" status --state-dir "$STATE" 2>&1
		echo "----- DebugData"; cat /proc/fs/cifs/DebugData 2>&1
		echo "----- dmesg"; dmesg | grep -E 'CIFS|cifs' | tail -n 40
	} >>"$LOG"
	tb_umount "$MNT"
	tb_rsmbd_stop
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ]
	exit
}
st() { timeout 20 "$BIN" status --state-dir "$STATE"; }
# diag WHAT: what the client and the server are doing, into the log (after a timeout)
diag() {
	local p
	{
		echo "===== diagnostics: $1"
		st 2>&1
		grep -E 'Extra Channels|Channel:|In Flight|Credits|credits|IP addr|\[RECONNECTING|DISCONNECTED|NEED' /proc/fs/cifs/DebugData
		ss -tni 2>&1 | grep -A1 ':445'
		for p in $(pgrep -x cp; pgrep -x cmp; pgrep -x sync); do echo "-- $p $(tr '\0' ' ' </proc/"$p"/cmdline)"; cat "/proc/$p/stack"; done
		dmesg | tail -n 20
	} >>"$LOG" 2>&1
}
# the channel lines of the (only) session in the status report
st_channels() { st | awk '/^session / { s++ } s == 1 && /^  channel / { print }'; }
# bytes received by the server's ends of the veth pairs
rx_bytes() { echo $(($(cat /sys/class/net/veth1/statistics/rx_bytes) + $(cat /sys/class/net/veth3/statistics/rx_bytes))); }

# ------------------------------------------------------------------ setup
: >"$LOG"
tb_net 2 >>"$LOG" 2>&1 || { fail setup "tb_net 2 failed"; finish; }
[ -x "$BIN" ] || { fail setup "rsmbd binary not found: $BIN"; finish; }
mkdir -p /tmp/rsmbd "$STATE" "$SHARE_DIR" && chmod 0777 "$SHARE_DIR"
printf '%s\n' "$TB_PASS" | "$BIN" user add --users /tmp/rsmbd/users "$TB_USER" >>"$LOG" 2>&1 ||
	{ fail setup "rsmbd user add failed"; finish; }
cat >/tmp/rsmbd/rsmbd.toml <<EOF
[server]
listen = ["10.99.0.2:445", "10.99.1.2:445"]
state_dir = "$STATE"
users_file = "/tmp/rsmbd/users"

[[share]]
name = "$TB_SHARE"
path = "$SHARE_DIR"

[[interface]]
address = "10.99.0.2"
speed = 10000000000
rss = true

[[interface]]
address = "10.99.1.2"
speed = 10000000000
rss = true
EOF
"$BIN" serve --config /tmp/rsmbd/rsmbd.toml >>"$TESTBED_JOB/rsmbd.log" 2>&1 </dev/null &
echo $! >/tmp/rsmbd/pid
if ! tb_wait_listen '^10\.99\.1\.2:445$' || ! tb_wait_listen '^10\.99\.0\.2:445$'; then
	fail setup "rsmbd is not listening on both addresses: $(tail -n 5 "$TESTBED_JOB/rsmbd.log" | tr '\n' ' ')"
	finish
fi
pass setup "rsmbd $("$BIN" --version 2>/dev/null), listening on 10.99.0.2:445 and 10.99.1.2:445"

# ------------------------------------------------------------------ mount + channels
modprobe cifs
mkdir -p "$MNT"
if ! tb_mount "$MNT" 3.1.1 "multichannel,max_channels=4,echo_interval=$ECHO" >>"$LOG" 2>&1; then
	fail mount "$(dmesg | grep CIFS | tail -n 3 | tr '\n' ' ')"
	finish
fi
pass mount "vers=3.1.1,multichannel,max_channels=4,echo_interval=$ECHO"

# cifs opens the extra channels in the background after the mount: wait up to 30 s.
nch=1
for _ in $(seq 60); do
	nch=$(tb_cifs_channels)
	[ "$nch" -ge 4 ] && break
	sleep 0.5
done
dbg=$(cat /proc/fs/cifs/DebugData)
log "----- DebugData after mount" "$dbg"
# one "Channel: N ... Connection id" block per extra channel; addresses as "IP addr: x"
ips=$(grep -oE '10\.99\.[01]\.2' <<<"$dbg" | sort -u | tr '\n' ' ')
if [ "$nch" = 4 ] && [[ $ips == *10.99.0.2* && $ips == *10.99.1.2* ]]; then
	pass channels "4 channels ($(grep -c 'Channel:' <<<"$dbg") extra-channel entries) to $ips"
else
	fail channels "DebugData shows $nch channel(s) to ${ips:-no server address}: $(grep -E 'Extra Channels|Channel:|IP addr|Server interfaces' <<<"$dbg" | tr -s ' \n' ' ')"
fi

chans=$(st_channels)
log "----- status after mount" "$(st 2>&1)"
nst=$(grep -c . <<<"$chans")
peers=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^peer=/) { sub(/^peer=/, "", $i); sub(/:[0-9]+$/, "", $i); print $i } }' <<<"$chans" | sort | uniq -c | tr -s ' \n' ' ')
if [ "$(st | grep -c '^session ')" = 1 ] && [ "$nst" = 4 ] &&
	grep -q 'peer=10\.99\.0\.1:' <<<"$chans" && grep -q 'peer=10\.99\.1\.1:' <<<"$chans"; then
	pass status-session "1 session, 4 channels, peers:$peers"
else
	fail status-session "expected 1 session with 4 channels on both client addresses: $(st 2>&1 | grep -E '^session|channel' | tr '\n' '|')"
fi
sid=$(st | awk '/^session / { print $2; exit }')

# ------------------------------------------------------------------ I/O spreads over all channels
# (waits for its own children only: rsmbd and the watchdog are children of this shell too)
spread() {
	local i pids=()
	for ((i = 0; i < FILES; i++)); do
		head -c $((FILE_MB << 20)) /dev/urandom >"/tmp/src.$i" || return 1
	done
	for ((i = 0; i < FILES; i++)); do
		timeout -k 5 "$STEP_TIMEOUT" cp "/tmp/src.$i" "$MNT/f.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	timeout -k 5 "$STEP_TIMEOUT" sync -f "$MNT"
	for ((i = 0; i < FILES; i++)); do cmp "/tmp/src.$i" "$SHARE_DIR/f.$i" || return 1; done
	echo 3 >/proc/sys/vm/drop_caches
	pids=()
	for ((i = 0; i < FILES; i++)); do
		timeout -k 5 "$STEP_TIMEOUT" cat "$MNT/f.$i" >/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}"
	for ((i = 0; i < FILES; i++)); do cmp "/tmp/src.$i" "$MNT/f.$i" || return 1; done
	rm -f /tmp/src.*
}
( sleep $((STEP_TIMEOUT - 10)); diag "spread still running after $((STEP_TIMEOUT - 10)) s" ) &
watch=$!
chans0=$(st_channels)
t0=$(date +%s%N)
if ! spread >>"$LOG" 2>&1; then
	fail spread "copy of $FILES x $FILE_MB MiB failed or differs"
else
	t1=$(date +%s%N)
	chans=$(st_channels)
	log "----- status after copy" "$(st 2>&1)"
	# per channel (conn=N): requests and data bytes (in + out) during the copy; echoes
	# (every echo_interval) also count as requests, so a channel must have moved >= 64 KiB.
	per=$(printf '%s\n' "$chans0" "----" "$chans" | awk '
		function kv(k,   i, v) { for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { v = $i; sub(/^[a-z_]+=/, "", v); return v } return "" }
		/^----/ { after = 1; next }
		!after { r0[kv("conn")] = kv("requests"); b0[kv("conn")] = kv("bytes_in") + kv("bytes_out"); next }
		{ c = kv("conn"); r = kv("requests") - r0[c]; b = kv("bytes_in") + kv("bytes_out") - b0[c]
		  printf "conn=%s peer=%s requests=+%d bytes=+%d%s\n", c, kv("peer"), r, b, (r > 0 && b >= 65536 ? "" : " IDLE") }')
	log "----- per-channel I/O during the copy" "$per"
	if [ "$(grep -c . <<<"$per")" = 4 ] && ! grep -q IDLE <<<"$per"; then
		pass spread "$((FILES * FILE_MB)) MiB written+read in $(((t1 - t0) / 1000000)) ms; $(tr '\n' '|' <<<"$per")"
	else
		fail spread "expected I/O on 4 channels: $(tr '\n' '|' <<<"$per")"
	fi
fi
kill $watch 2>/dev/null

# ------------------------------------------------------------------ one link down mid-copy
head -c $((BIG_MB << 20)) /dev/urandom >/tmp/big.src
# little dirty page cache: cp is paced by the writeback, so the copy lasts the transfer
sysctl -qw vm.dirty_bytes=$((8 << 20)) vm.dirty_background_bytes=$((2 << 20))
in0=$(rx_bytes)
t0=$(date +%s%N)
# the copy = cp + sync (cp alone may only fill the client's page cache)
( timeout -k 5 "$STEP_TIMEOUT" cp /tmp/big.src "$MNT/big.bin" &&
	timeout -k 5 "$STEP_TIMEOUT" sync -f "$MNT/big.bin" ) >>"$LOG" 2>&1 &
cpid=$!
# Take the link down once the server side has received DOWN_PCT % of the data (bytes received
# by the server's veths since the copy began: cheap to poll, and neither the file's size nor
# its allocation tell, the client writing out of order over several channels).
landed=0
for _ in $(seq $((STEP_TIMEOUT * 20))); do
	landed=$(($(rx_bytes) - in0))
	[ "$landed" -ge $(((BIG_MB << 20) * DOWN_PCT / 100)) ] && break
	kill -0 $cpid 2>/dev/null || break
	sleep 0.05
done
ip link set veth3 down
tdown=$(date +%s%N)
landed=$(($(rx_bytes) - in0))
running=yes
kill -0 $cpid 2>/dev/null || running=no
before=$(st_channels)
log "----- veth3 down after $(((tdown - t0) / 1000000)) ms, $((landed >> 20)) MiB received, copy running: $running" "$before"
rc=0
wait $cpid || rc=$?
t1=$(date +%s%N)
after=$(st_channels)
# data bytes each channel moved after the link went down
moved=$(printf '%s\n' "$before" "----" "$after" | awk '
	function kv(k,   i, v) { for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { v = $i; sub(/^[a-z_]+=/, "", v); return v } return "" }
	/^----/ { after = 1; next }
	!after { b0[kv("conn")] = kv("bytes_in") + kv("bytes_out"); next }
	{ p = kv("peer"); sub(/:[0-9]+$/, "", p); m[p] += kv("bytes_in") + kv("bytes_out") - b0[kv("conn")] }
	END { for (p in m) printf "%s:+%d ", p, m[p] }')
# data that went over the surviving link (10.99.0.x) after the other one went down
survived=$(grep -oE '10\.99\.0\.1:\+[0-9]+' <<<"$moved" | cut -d+ -f2)
log "----- bytes per client address after the link went down: $moved"
if [ "$running" != yes ] || [ "$landed" -ge $(((BIG_MB << 20) * 9 / 10)) ]; then
	fail link-down "the copy was over before the link went down ($((landed >> 20)) MiB received): raise MC_BIG_MB"
elif [ $rc != 0 ]; then
	fail link-down "cp/sync exit status $rc after $(((t1 - t0) / 1000000)) ms: $(dmesg | grep CIFS | tail -n 3 | tr '\n' ' ')"
elif ! cmp /tmp/big.src "$SHARE_DIR/big.bin" >>"$LOG" 2>&1; then
	fail link-down "the server-side copy differs from the source"
else
	echo 3 >/proc/sys/vm/drop_caches
	if [ "${survived:-0}" -lt $((1 << 20)) ]; then
		fail link-down "copy complete, but less than 1 MiB went over 10.99.0.x after the link went down: $moved"
	elif timeout -k 5 120 cmp /tmp/big.src "$MNT/big.bin" >>"$LOG" 2>&1; then
		pass link-down "$BIG_MB MiB copied in $(((t1 - t0) / 1000000)) ms, veth3 (10.99.1.2) down at $(((tdown - t0) / 1000000)) ms with $((landed >> 20)) MiB received; read back identical; bytes moved after: $moved"
	else
		fail link-down "reading back through the mount differs or failed"
	fi
fi
rm -f /tmp/big.src
sysctl -qw vm.dirty_ratio=20 vm.dirty_background_ratio=10

# ------------------------------------------------------------------ the session survives
log "----- status after link down" "$(st 2>&1)"
log "----- DebugData after link down" "$(cat /proc/fs/cifs/DebugData)"
sid2=$(st | awk '/^session / { print $2; exit }')
nsess=$(st | grep -c '^session ')
alive=$(st_channels | grep -c 'peer=10\.99\.0\.1:')
if [ -n "$sid" ] && [ "$sid2" = "$sid" ] && [ "$nsess" = 1 ] && [ "$alive" -ge 1 ] &&
	echo survivor >"$MNT/after.txt" && [ "$(cat "$SHARE_DIR/after.txt")" = survivor ] &&
	[ -f "$MNT/big.bin" ]; then
	pass survives "session $sid2 still there with $(st_channels | grep -c .) channel(s), $alive on 10.99.0.x; new file written"
else
	fail survives "session before ${sid:-none}, after ${sid2:-none} ($nsess session(s), $alive channel(s) on 10.99.0.x)"
fi

if umount "$MNT"; then pass umount; else fail umount "$(dmesg | tail -n 2 | tr '\n' ' ')"; fi
finish
