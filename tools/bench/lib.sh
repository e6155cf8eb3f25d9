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
