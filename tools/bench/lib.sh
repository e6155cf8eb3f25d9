# shellcheck shell=bash
# Shared by compare.sh and profile.sh (sourced, not run).

# bench_start_rsmbd BIN BASE SHARE_DIR PASS [PIN...]: starts a release rsmbd on 127.0.0.1 with
# its own config, users file (user `bench`) and state under BASE/rsmbd, serving SHARE_DIR as
# `share`; sets RS_PID and RS_PORT, or exits with where the log is.
bench_start_rsmbd() {
    local bin=$1 base=$2 share=$3 pass=$4
    shift 4
    mkdir -p "$share" "$base/rsmbd/state"
    rm -f "$base/rsmbd/users"
    printf '%s\n' "$pass" | "$bin" user add --users "$base/rsmbd/users" bench >/dev/null
    cat > "$base/rsmbd/rsmbd.toml" <<CONF
[server]
listen = ["127.0.0.1:0"]
users_file = "$base/rsmbd/users"
state_dir = "$base/rsmbd/state"

[[share]]
name = "share"
path = "$share"
CONF
    : > "$base/rsmbd/stdout"
    RUST_LOG=warn "$@" "$bin" serve --config "$base/rsmbd/rsmbd.toml" \
        >"$base/rsmbd/stdout" 2>"$base/rsmbd/log" &
    RS_PID=$!
    for _ in $(seq 1 100); do
        grep -q "listening on" "$base/rsmbd/stdout" && break
        sleep 0.1
    done
    RS_PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$base/rsmbd/stdout" | head -1)
    [ -n "$RS_PORT" ] || { echo "rsmbd did not start; see $base/rsmbd/log" >&2; exit 1; }
    echo "rsmbd pid $RS_PID on 127.0.0.1:$RS_PORT"
}

# bench_select_layouts ALL NAME...: prints the lines of ALL ("name|args" per line) whose name
# is given, in that order, or ALL itself when no name is; exits 2 on an unknown name.
bench_select_layouts() {
    local all=$1 want line sel=""
    shift
    [ $# -gt 0 ] || { printf '%s\n' "$all"; return; }
    for want in "$@"; do
        line=$(printf '%s\n' "$all" | grep "^$want|" || true)
        [ -n "$line" ] || { echo "unknown layout $want" >&2; exit 2; }
        sel="$sel$line"$'\n'
    done
    printf '%s' "$sel"
}

# bench_setup ROOT TARGET BASE: the release build (unless NO_BUILD=1), the binaries (RSMBD,
# BENCH; RSMBD_BIN and BENCH_BIN override), CPU pinning (SRV_PIN, CLI_PIN with BENCH_PIN=1)
# and the data directory (DATA: BASE, or with BENCH_FS=xfs a loop-mounted XFS image under
# BASE, then MOUNTED is its mount point, for bench_cleanup_fs).
# shellcheck disable=SC2034  # the variables are the function's output, used by its callers
bench_setup() {
    local root=$1 target=$2 base=$3
    if [ "${NO_BUILD:-0}" != 1 ]; then
        (cd "$root" && CARGO_TARGET_DIR=$target nice -n 10 cargo build --release --bin rsmbd --bin rsmbd-bench)
    fi
    RSMBD=${RSMBD_BIN:-$target/release/rsmbd}
    BENCH=${BENCH_BIN:-$target/release/rsmbd-bench}
    SRV_PIN=()
    CLI_PIN=()
    if [ "${BENCH_PIN:-0}" = 1 ]; then
        SRV_PIN=(taskset -c 0)
        CLI_PIN=(taskset -c 1)
    fi
    mkdir -p "$base"
    DATA=$base
    MOUNTED=""
    if [ "${BENCH_FS:-}" = xfs ]; then
        command -v mkfs.xfs >/dev/null || { echo "BENCH_FS=xfs needs mkfs.xfs: apt-get install xfsprogs" >&2; exit 1; }
        mkdir -p "$base/xfs"
        if ! mountpoint -q "$base/xfs"; then
            rm -f "$base/xfs.img"
            truncate -s 8G "$base/xfs.img"
            mkfs.xfs -q -f -m reflink=1 "$base/xfs.img"
            mount -o loop "$base/xfs.img" "$base/xfs"
            MOUNTED=$base/xfs
        fi
        DATA=$base/xfs
    elif [ -n "${BENCH_FS:-}" ]; then
        echo "BENCH_FS: only xfs is known" >&2
        exit 2
    fi
}

# bench_cleanup_fs BASE: unmounts and removes what bench_setup mounted.
bench_cleanup_fs() {
    if [ -n "${MOUNTED:-}" ]; then
        sleep 1
        umount "$MOUNTED" || true
        rm -f "$1/xfs.img"
    fi
}

# bench_serve_rsmbd BASE PASS SIZE: after bench_setup, starts rsmbd (bench_start_rsmbd, pinned
# with SRV_PIN) with an EXIT trap that stops it and unmounts what bench_setup mounted, and sets
# ARGS to the rsmbd-bench arguments that reach it (server, user, password, pid, file size).
# shellcheck disable=SC2034  # ARGS is the function's output
bench_serve_rsmbd() {
    local base=$1 pass=$2 size=$3
    RS_PID=""
    BENCH_CLEANUP_BASE=$base
    trap 'if [ -n "$RS_PID" ]; then kill "$RS_PID" 2>/dev/null || true; fi; bench_cleanup_fs "$BENCH_CLEANUP_BASE"' EXIT
    bench_start_rsmbd "$RSMBD" "$base" "$DATA/rsmbd-share" "$pass" "${SRV_PIN[@]}"
    ARGS=(--server "127.0.0.1:$RS_PORT" --user bench --password "$pass" --server-pid "$RS_PID" --size "$size")
}
