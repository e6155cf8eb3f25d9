#!/usr/bin/env bash
# Server-side copy benchmark (issue 9): COPYCHUNK, ODX and DUPLICATE_EXTENTS copies of 1 GiB and
# 8 GiB files on an XFS (reflink=1) loop image, rsmbd against Samba 4.17 serving another
# directory of the same image. Needs root (loop mount), xfsprogs, samba, python smbprotocol.
#
#   tools/bench/copy-bench.sh [SIZES_MIB...]      (default: 1024 8192)
#
# Env: RSMBD_BIN (default: target/release/rsmbd, else target/debug/rsmbd; the copy work is
#      in the kernel either way), PYTHON (default /opt/rsmbd-venv/bin/python),
#      IMG_GB (sparse image size, default: 2 x the largest size + 4), REPS (default 3),
#      WORK (scratch dir, default: a mktemp -d under /var/tmp), NO_SAMBA=1.
#      Samba is started by tools/bench/start-samba.sh (the repo's private smbd).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SIZES=("${@:-1024}")
[ $# -eq 0 ] && SIZES=(1024 8192)
PY=${PYTHON:-/opt/rsmbd-venv/bin/python}
BIN=${RSMBD_BIN:-}
if [ -z "$BIN" ]; then
    for b in "${CARGO_TARGET_DIR:-$ROOT/target}/release/rsmbd" "${CARGO_TARGET_DIR:-$ROOT/target}/debug/rsmbd"; do
        [ -x "$b" ] && { BIN=$b; break; }
    done
fi
[ -x "${BIN:-}" ] || { echo "no rsmbd binary: cargo build, or set RSMBD_BIN" >&2; exit 1; }
command -v mkfs.xfs >/dev/null || { echo "needs mkfs.xfs (apt-get install xfsprogs)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (loop mount)" >&2; exit 1; }
MAX=0; for s in "${SIZES[@]}"; do [ "$s" -gt "$MAX" ] && MAX=$s; done
IMG_GB=${IMG_GB:-$(( 2 * MAX / 1024 + 4 ))}
WORK=${WORK:-$(mktemp -d /var/tmp/copy-bench.XXXXXX)}
SAMBA_SH="$(cd "$(dirname "$0")" && pwd)/start-samba.sh"
MNT=$WORK/mnt
RSMBD_PID=
cleanup() {
    [ -n "$RSMBD_PID" ] && kill "$RSMBD_PID" 2>/dev/null || true
    [ "${NO_SAMBA:-0}" = 1 ] || SAMBA_BASE=$MNT/samba "$SAMBA_SH" stop >/dev/null 2>&1 || true
    mountpoint -q "$MNT" && umount -l "$MNT"
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$MNT"
chmod 0755 "$WORK"
truncate -s "${IMG_GB}G" "$WORK/xfs.img"
mkfs.xfs -q -f -m reflink=1 "$WORK/xfs.img"
mount -o loop "$WORK/xfs.img" "$MNT"
mkdir -p "$MNT/rs"
chmod 0777 "$MNT" "$MNT/rs"

printf 'Test-Pass-1\n' | "$BIN" user add --users "$WORK/users" tester >/dev/null
cat >"$WORK/rsmbd.toml" <<CONF
[server]
listen = ["127.0.0.1:0"]
users_file = "$WORK/users"
state_dir = "$WORK/state"
[[share]]
name = "share"
path = "$MNT/rs"
CONF
"$BIN" serve --config "$WORK/rsmbd.toml" >"$WORK/rsmbd.out" 2>"$WORK/rsmbd.log" &
RSMBD_PID=$!
for _ in $(seq 50); do grep -q "listening on" "$WORK/rsmbd.out" && break; sleep 0.1; done
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/rsmbd.out" | head -1)
[ -n "$PORT" ] || { echo "rsmbd did not start:"; cat "$WORK/rsmbd.log"; exit 1; } >&2

SAMBA_JSON='"samba_port": 0'
if [ "${NO_SAMBA:-0}" != 1 ]; then
    SPORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    SAMBA_BASE=$MNT/samba SAMBA_PORT=$SPORT "$SAMBA_SH" >/dev/null
    SAMBA_JSON="\"samba_port\": $SPORT, \"samba_user\": \"smbbench\", \"samba_password\": \"Bench-Pass-1\", \"samba_dir\": \"$MNT/samba/share\""
fi
SIZES_JSON=$(IFS=,; echo "${SIZES[*]}")
echo "rsmbd $BIN on 127.0.0.1:$PORT, XFS reflink image ${IMG_GB} GiB at $MNT"
"$PY" "$HERE/copy_bench.py" "{\"host\": \"127.0.0.1\", \"user\": \"tester\", \"password\": \"Test-Pass-1\", \
\"port\": $PORT, \"share_dir\": \"$MNT/rs\", $SAMBA_JSON, \"sizes_mib\": [$SIZES_JSON], \"reps\": ${REPS:-3}}"
echo
echo "rsmbd counters:"
"$BIN" status --state-dir "$WORK/state" 2>&1 | grep -i '^share\|error' || true
