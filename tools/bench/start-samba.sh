#!/usr/bin/env bash
# Starts (or stops) a private Samba smbd for benchmarks: bound to 127.0.0.1 only, its own
# smb.conf, state directories and tdbsam password database under $SAMBA_BASE, one share.
# Runs beside any system smbd (different port, pid and lock directories). Needs root (smbd
# switches to the share user per connection; the user is created if missing).
#
#   tools/bench/start-samba.sh          # (re)start; prints "smbd pid N listening on ..."
#   tools/bench/start-samba.sh stop     # stop the instance started from the same SAMBA_BASE
#
# Environment (defaults in brackets):
#   SAMBA_BASE [/var/tmp/rsmbd-bench/samba]  state, config, logs
#   SAMBA_SHARE_DIR [$SAMBA_BASE/share]      the shared directory
#   SAMBA_PORT [4457]  SAMBA_SHARE [share]  SAMBA_USER [smbbench]  SAMBA_PASS [Bench-Pass-1]
#   SAMBA_LOGLEVEL [0]  SAMBA_EXTRA_GLOBAL  extra lines for [global]
set -euo pipefail
BASE=${SAMBA_BASE:-/var/tmp/rsmbd-bench/samba}
SHARE_DIR=${SAMBA_SHARE_DIR:-$BASE/share}
PORT=${SAMBA_PORT:-4457}
SHARE=${SAMBA_SHARE:-share}
USER_=${SAMBA_USER:-smbbench}
PASS=${SAMBA_PASS:-Bench-Pass-1}
LOGLEVEL=${SAMBA_LOGLEVEL:-0}
PIDFILE=$BASE/smbd.pid

stop() {
    if [ -f "$PIDFILE" ]; then
        pid=$(cat "$PIDFILE")
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$PIDFILE"
    fi
}

if [ "${1:-}" = stop ]; then
    stop
    exit 0
fi

command -v smbd >/dev/null || { echo "smbd not found: apt-get install samba" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "start-samba.sh needs root (smbd changes to the share user)" >&2; exit 1; }
stop

# smbd binds with SO_REUSEPORT: another server on the same port would silently share the
# connections, so refuse to start beside one.
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "something already listens on 127.0.0.1:$PORT; choose another SAMBA_PORT" >&2
    exit 1
fi

mkdir -p "$BASE"/{private,lock,state,cache,pid,log,ncalrpc} "$SHARE_DIR"
chmod 700 "$BASE/private"
id "$USER_" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$USER_"
chown "$USER_": "$SHARE_DIR"
chmod 0775 "$SHARE_DIR"

cat > "$BASE/smb.conf" <<CONF
[global]
    netbios name = RSMBDBENCH
    workgroup = WORKGROUP
    server role = standalone server
    security = user
    passdb backend = tdbsam:$BASE/private/passdb.tdb
    map to guest = Never
    private dir = $BASE/private
    lock directory = $BASE/lock
    state directory = $BASE/state
    cache directory = $BASE/cache
    pid directory = $BASE/pid
    ncalrpc dir = $BASE/ncalrpc
    log file = $BASE/log/log.%m
    max log size = 10000
    log level = $LOGLEVEL
    interfaces = 127.0.0.1/8
    bind interfaces only = yes
    smb ports = $PORT
    disable netbios = yes
    load printers = no
    printing = bsd
    printcap name = /dev/null
    disable spoolss = yes
    server min protocol = SMB2_02
    server max protocol = SMB3
    server signing = auto
    server smb encrypt = if_required
${SAMBA_EXTRA_GLOBAL:-}

[$SHARE]
    path = $SHARE_DIR
    read only = no
    valid users = $USER_
    create mask = 0664
CONF

testparm -s "$BASE/smb.conf" >/dev/null 2>"$BASE/log/testparm.err" || { cat "$BASE/log/testparm.err" >&2; exit 1; }
printf '%s\n%s\n' "$PASS" "$PASS" | smbpasswd -c "$BASE/smb.conf" -s -a "$USER_" >/dev/null
smbpasswd -c "$BASE/smb.conf" -e "$USER_" >/dev/null

# Foreground mode in its own session, backgrounded; our own pid file.
setsid smbd -F --no-process-group -s "$BASE/smb.conf" -d "$LOGLEVEL" \
    </dev/null >>"$BASE/log/smbd.stdout" 2>&1 &
echo $! > "$PIDFILE"

for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        echo "smbd pid $(cat "$PIDFILE") listening on 127.0.0.1:$PORT share=$SHARE path=$SHARE_DIR user=$USER_"
        exit 0
    fi
    sleep 0.1
done
echo "smbd did not come up; see $BASE/log" >&2
exit 1
