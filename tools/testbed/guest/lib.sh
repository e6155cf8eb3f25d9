# shellcheck shell=bash
# Helpers for guest scripts run by tools/testbed/run-in-guest.sh.
#   . "$TESTBED_DIR/guest/lib.sh"
#
# Network model (all inside the guest; the guest has no NIC): N veth pairs, pair i is
#   veth(2i)   "client" side 10.99.i.1/24   (rxe(2i)   after tb_rxe)
#   veth(2i+1) "server" side 10.99.i.2/24   (rxe(2i+1) after tb_rxe)
# Everything stays in init_net: rdma_rxe, cifs and ksmbd only work there.  Because both
# ends are local addresses, the kernel would short-cut client->server traffic through `lo`;
# by default ("wire" mode) policy routing forces it through the veth pair, so RoCE packets
# really leave rxe(2i) and arrive on rxe(2i+1), like between two hosts.
# TESTBED_NET_MODE=local keeps the loopback short-cut (RDMA then becomes same-device rxe
# loopback; ibv_rc_pingpong between two rxe devices fails with "Failed to modify QP to RTR").
#
# Servers (one at a time: all of them want TCP 445):
#   tb_samba_start DIR [NPAIRS]   Samba smbd, private config under /tmp/samba
#   tb_ksmbd_start DIR [NPAIRS]   ksmbd (SMB Direct-enabled module) + ksmbd.mountd
#   tb_rsmbd_start DIR [ADDR]     rsmbd from $RSMBD_BIN (default: <repo>/target/release/rsmbd)
#   tb_server_start SERVER DIR / tb_server_stop SERVER   (SERVER = samba|ksmbd|rsmbd)
# Every server exports DIR as share "share" to user $TB_USER / $TB_PASS.
# Client: tb_mount MNT VERS [EXTRA_OPTS] (mount -t cifs //$TB_SERVER_IP/share), tb_umount MNT.
# Measurement: tb_fio LABEL DIR [RW] [BS] [ENGINE] [QD] prints IOPS.
# Bookkeeping for ad-hoc scripts: check DESC CMD... / summary.

# shellcheck disable=SC2034  # for the scripts sourcing this file
TB_CLIENT_IP=10.99.0.1
TB_SERVER_IP=10.99.0.2
TB_SHARE=share
TB_USER=smbtest
TB_PASS=Passw0rd-testbed
TB_FAILS=0
: "${TESTBED_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${TESTBED_JOB:=/tmp}"

tb_say() { printf '\n=== %s\n' "$*"; }
# check DESC CMD...: run CMD, show it and its output, count PASS/FAIL
check() {
	local desc=$1 rc=0; shift
	printf -- '--- %s\n$ %s\n' "$desc" "$*"
	"$@" || rc=$?
	if [ $rc = 0 ]; then echo "PASS: $desc"; else echo "FAIL($rc): $desc"; TB_FAILS=$((TB_FAILS + 1)); fi
	return $rc
}
summary() {
	echo
	if [ "$TB_FAILS" = 0 ]; then echo "ALL CHECKS PASSED"; else echo "$TB_FAILS CHECK(S) FAILED"; fi
	[ "$TB_FAILS" = 0 ]
}

# tb_wait_listen ADDR_REGEX [SECS=20]: wait until a TCP socket listens on it (ss -ltn column 4)
tb_wait_listen() {
	local re=$1 secs=${2:-20} i
	for ((i = 0; i < secs * 5; i++)); do
		ss -Hltn | awk '{ print $4 }' | grep -Eq "$re" && return 0
		sleep 0.2
	done
	return 1
}

# tb_net [NPAIRS=1]
tb_net() {
	local n=${1:-1} i c s
	modprobe veth || return 1
	sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.all.accept_local=1 net.ipv4.conf.default.accept_local=1 || return 1
	for ((i = 0; i < n; i++)); do
		c=veth$((2 * i)); s=veth$((2 * i + 1))
		ip link add "$c" type veth peer name "$s" || return 1
		ip addr add "10.99.$i.1/24" dev "$c" || return 1
		ip addr add "10.99.$i.2/24" dev "$s" || return 1
		ip link set "$c" up && ip link set "$s" up || return 1
		if [ "${TESTBED_NET_MODE:-wire}" = wire ]; then
			# replies/requests between the two ends leave through the veth ...
			ip route add "10.99.$i.2/32" dev "$c" src "10.99.$i.1" table 200
			ip route add "10.99.$i.1/32" dev "$s" src "10.99.$i.2" table 200
			# ... and packets arriving on a veth are delivered locally
			ip rule add pref $((10 + 2 * i)) iif "$c" lookup local
			ip rule add pref $((11 + 2 * i)) iif "$s" lookup local
		fi
	done
	if [ "${TESTBED_NET_MODE:-wire}" = wire ]; then
		# table 200 before the local table for locally generated traffic
		ip rule add pref 1000 lookup 200
		ip rule add pref 1001 lookup local
		ip rule del pref 0 lookup local
	fi
	sleep 1   # carrier
}

# tb_rxe: one soft-RoCE device per veth (rxeK on vethK)
tb_rxe() {
	local d k
	modprobe rdma_rxe && modprobe ib_uverbs && modprobe rdma_ucm || return 1
	for d in /sys/class/net/veth*; do
		k=${d##*/veth}
		rdma link add "rxe$k" type rxe netdev "veth$k" || return 1
	done
}

# the test user in the guest's (throw-away) /etc/passwd
tb_unix_user() {
	id "$TB_USER" >/dev/null 2>&1 || useradd -M -d /tmp -s /usr/sbin/nologin "$TB_USER"
}

# tb_samba_start DIR [NPAIRS=1]
tb_samba_start() {
	local dir=$1 n=${2:-1} i ifaces=""
	for ((i = 0; i < n; i++)); do ifaces="$ifaces \"10.99.$i.2;capability=RSS,speed=10000000000\""; done
	mkdir -p /tmp/samba/{private,state,cache,lock,pid,ncalrpc,log} "$dir" || return 1
	chmod 0777 "$dir"
	cat >/tmp/samba/smb.conf <<-EOF
	[global]
	  netbios name = TESTBED
	  workgroup = WORKGROUP
	  server role = standalone server
	  interfaces = $ifaces
	  bind interfaces only = yes
	  smb ports = 445
	  disable netbios = yes
	  server min protocol = SMB2_10
	  server multi channel support = yes
	  private dir = /tmp/samba/private
	  state directory = /tmp/samba/state
	  cache directory = /tmp/samba/cache
	  lock directory = /tmp/samba/lock
	  pid directory = /tmp/samba/pid
	  ncalrpc dir = /tmp/samba/ncalrpc
	  log file = /tmp/samba/log/log.%m
	  log level = 1
	  passdb backend = tdbsam:/tmp/samba/private/passdb.tdb
	  map to guest = never
	  load printers = no
	  printing = bsd
	  printcap name = /dev/null
	  disable spoolss = yes
	[$TB_SHARE]
	  path = $dir
	  read only = no
	  valid users = $TB_USER
	EOF
	tb_unix_user || return 1
	printf '%s\n%s\n' "$TB_PASS" "$TB_PASS" | smbpasswd -c /tmp/samba/smb.conf -s -a "$TB_USER" >/dev/null || return 1
	smbd -D -s /tmp/samba/smb.conf || return 1
	tb_wait_listen "^${TB_SERVER_IP//./\\.}:445\$" && return 0
	echo "smbd is not listening on $TB_SERVER_IP:445"; tail -n 20 /tmp/samba/log/log.smbd; return 1
}
tb_samba_stop() {
	[ -f /tmp/samba/pid/smbd.pid ] && kill "$(cat /tmp/samba/pid/smbd.pid)" 2>/dev/null
	sleep 1
}

# tb_ksmbd_start DIR [NPAIRS=1]
tb_ksmbd_start() {
	local dir=$1 n=${2:-1} i ifaces=""
	for ((i = 0; i < n; i++)); do ifaces="$ifaces veth$((2 * i + 1))"; done
	modprobe ksmbd || return 1
	mkdir -p /etc/ksmbd "$dir" || return 1
	chmod 0777 "$dir"
	cat >/etc/ksmbd/ksmbd.conf <<-EOF
	[global]
	  netbios name = TESTBED
	  workgroup = WORKGROUP
	  bind interfaces only = yes
	  interfaces = $ifaces
	  server multi channel support = yes
	  server min protocol = SMB2_10
	[$TB_SHARE]
	  path = $dir
	  read only = no
	  valid users = $TB_USER
	EOF
	tb_unix_user || return 1
	ksmbd.adduser -a "$TB_USER" -p "$TB_PASS" >/dev/null || return 1
	ksmbd.mountd || return 1
	tb_wait_listen ':445$' && return 0
	echo "ksmbd is not listening on 445"; dmesg | tail -n 20; return 1
}
tb_ksmbd_stop() { ksmbd.control -s >/dev/null 2>&1; sleep 1; }

# tb_rsmbd_start DIR [LISTEN=$TB_SERVER_IP:445]
# The binary is $RSMBD_BIN (host path; the guest sees the host's /), default
# <repo>/target/release/rsmbd.  Log: $TESTBED_JOB/rsmbd.log (kept with the job directory).
tb_rsmbd_start() {
	local dir=$1 listen=${2:-$TB_SERVER_IP:445}
	local bin=${RSMBD_BIN:-$TESTBED_DIR/../../target/release/rsmbd}
	[ -x "$bin" ] || { echo "rsmbd binary not found or not executable: $bin (set RSMBD_BIN; note the host's /tmp is not visible in the guest)"; return 1; }
	mkdir -p /tmp/rsmbd "$dir" || return 1
	chmod 0777 "$dir"
	rm -f /tmp/rsmbd/users
	printf '%s\n' "$TB_PASS" | "$bin" user add --users /tmp/rsmbd/users "$TB_USER" ||
		{ echo "rsmbd user add failed"; return 1; }
	"$bin" serve --listen "$listen" --share "$TB_SHARE=$dir" --users /tmp/rsmbd/users \
		>>"$TESTBED_JOB/rsmbd.log" 2>&1 </dev/null &
	echo $! >/tmp/rsmbd/pid
	local port=${listen##*:} host=${listen%:*}
	if tb_wait_listen "^${host//./\\.}:$port\$"; then return 0; fi
	echo "rsmbd is not listening on $listen"
	kill -0 "$(cat /tmp/rsmbd/pid)" 2>/dev/null || echo "rsmbd exited"
	tail -n 20 "$TESTBED_JOB/rsmbd.log"
	return 1
}
# tb_rsmbd_config DIR [SHARE_LINES]: the test user in /tmp/rsmbd/users and a config file
# /tmp/rsmbd/rsmbd.toml serving DIR as $TB_SHARE on $TB_SERVER_IP:445 (SHARE_LINES are added
# to the share's table), for tests that start `rsmbd serve --config` themselves.
tb_rsmbd_config() {
	local dir=$1 extra=${2:-}
	local bin=${RSMBD_BIN:-$TESTBED_DIR/../../target/release/rsmbd}
	mkdir -p /tmp/rsmbd || return 1
	printf '%s\n' "$TB_PASS" | "$bin" user add --users /tmp/rsmbd/users "$TB_USER" || return 1
	cat >/tmp/rsmbd/rsmbd.toml <<EOF
[server]
listen = ["$TB_SERVER_IP:445"]
users_file = "/tmp/rsmbd/users"
state_dir = "/tmp/rsmbd/state"
[[share]]
name = "$TB_SHARE"
path = "$dir"
$extra
EOF
}
tb_rsmbd_stop() {
	local pid
	pid=$(cat /tmp/rsmbd/pid 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
	kill -9 "$pid" 2>/dev/null
}

# tb_server_start SERVER DIR / tb_server_stop SERVER
tb_server_start() {
	case $1 in
	samba) tb_samba_start "$2" ;;
	ksmbd) tb_ksmbd_start "$2" ;;
	rsmbd) tb_rsmbd_start "$2" ;;
	*) echo "unknown server $1 (samba|ksmbd|rsmbd)"; return 1 ;;
	esac
}
tb_server_stop() {
	case $1 in
	samba) tb_samba_stop ;;
	ksmbd) tb_ksmbd_stop ;;
	rsmbd) tb_rsmbd_stop ;;
	esac
}
# tb_server_version SERVER: one line
tb_server_version() {
	case $1 in
	samba) smbd --version ;;
	ksmbd) echo "ksmbd $(modinfo -n ksmbd), ksmbd-tools $(ksmbd.mountd -V 2>&1 | grep -o '[0-9][0-9.]*' | head -n 1)" ;;
	rsmbd) "${RSMBD_BIN:-$TESTBED_DIR/../../target/release/rsmbd}" --version 2>/dev/null || echo rsmbd ;;
	esac
}

# tb_mount MNT VERS [EXTRA_OPTS]: mount //$TB_SERVER_IP/share on MNT with cifs.
# EXTRA_OPTS: comma-separated cifs options, e.g. "seal", "sign,cache=none", "rdma".
# nosharesock: every mount gets its own TCP connection and session (no reuse of a
# session negotiated with other options).
tb_mount() {
	local mnt=$1 vers=$2 extra=${3:-}
	modprobe cifs || return 1
	mkdir -p "$mnt" || return 1
	mount -t cifs "//$TB_SERVER_IP/$TB_SHARE" "$mnt" \
		-o "vers=$vers,username=$TB_USER,password=$TB_PASS,nosharesock${extra:+,$extra}"
}
tb_umount() {
	mountpoint -q "$1" || return 0
	umount "$1" 2>/dev/null || umount -l "$1"
}

# tb_fio LABEL DIR [RW=randrw] [BS=8k] [ENGINE=psync] [QD=1]
# O_DIRECT fio job on DIR/fio.dat (mount DIR with cache=none), FIO_SIZE (default 16m),
# FIO_RUNTIME seconds (default 5).  Prints "LABEL: read N IOPS (...), write M IOPS (...)".
# A watchdog fails the call if fio is still running 120 s after its runtime (hung I/O).
tb_fio() {
	local label=$1 dir=$2 rw=${3:-randrw} bs=${4:-8k} engine=${5:-psync} qd=${6:-1}
	local rt=${FIO_RUNTIME:-5} size=${FIO_SIZE:-16m} out rc=0
	out=$(mktemp /tmp/fio.XXXXXX.json)
	timeout -k 5 $((rt + 120)) fio --name=tb --directory="$dir" --filename=fio.dat --size="$size" \
		--bs="$bs" --rw="$rw" --ioengine="$engine" --iodepth="$qd" --direct=1 \
		--time_based --runtime="$rt" --output-format=json --output="$out" >/dev/null 2>&1 || rc=$?
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		echo "$label: fio hung (still running $((rt + 120)) s after its ${rt} s runtime)"
		dmesg | grep -E 'CIFS|ksmbd|rxe' | tail -n 10
		rm -f "$out"; return 1
	fi
	if [ $rc != 0 ]; then
		echo "$label: fio exit status $rc"; tail -n 5 "$out"; rm -f "$out"; return 1
	fi
	python3 "$TESTBED_DIR/guest/fio-iops.py" "$label" "$out" || rc=1
	rm -f "$out"
	return $rc
}

# number of channels of the (single) cifs session, from /proc/fs/cifs/DebugData
tb_cifs_channels() {
	awk '/Extra Channels:/ { x = $3 } END { print (x == "" ? 1 : x + 1) }' /proc/fs/cifs/DebugData
}
