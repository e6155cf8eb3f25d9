//! Smoke test of the benchmark client (tools/bench, issue 6): a short run against a test
//! server must complete operations without errors, plain and encrypted. No timing is
//! asserted; the numbers of a CI machine mean nothing.
mod common;

use std::process::Command;

use common::{TestServer, PASS, USER};

/// Runs rsmbd-bench against `srv` with `extra` arguments and returns the RESULT fields.
fn bench(srv: &TestServer, extra: &[&str]) -> Vec<(String, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_rsmbd-bench"))
        .args(["--server", &format!("127.0.0.1:{}", srv.port)])
        .args(["--user", USER, "--password", PASS, "--share", "share"])
        .args(["--size", "4m", "--duration", "1", "--warmup", "0.3"])
        .args(["--server-pid", &srv.child.id().to_string()])
        .args(extra)
        .output()
        .expect("run rsmbd-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "rsmbd-bench {extra:?} failed ({}):\n{stdout}\n{stderr}\nserver log:\n{}",
        out.status,
        srv.log()
    );
    // With --channels N every session bound N-1 more connections: rsmbd-bench says so only
    // after the server signed each binding response with that channel's own key.
    if let Some(i) = extra.iter().position(|a| *a == "--channels") {
        let want = format!("1 session(s) x {} channels", extra[i + 1]);
        assert!(stderr.contains(&want), "no {want:?} in:\n{stderr}");
    }
    result_fields(&stdout, "RESULT ")
}

/// The k=v fields of the first line of `stdout` that starts with `prefix` (a RESULT line).
fn result_fields(stdout: &str, prefix: &str) -> Vec<(String, String)> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line:\n{stdout}"));
    line.split_whitespace()
        .skip(1)
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn field<'a>(r: &'a [(String, String)], key: &str) -> &'a str {
    r.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {key} in {r:?}"))
}

fn assert_ran(r: &[(String, String)]) {
    assert_eq!(field(r, "errors"), "0", "{r:?}");
    let iops: f64 = field(r, "iops").parse().unwrap();
    assert!(iops > 0.0, "{r:?}");
    assert!(field(r, "ops").parse::<u64>().unwrap() > 0, "{r:?}");
    assert_ne!(field(r, "server_us_op"), "na", "{r:?}");
}

#[test]
fn mixed_8k_plain_two_connections() {
    let srv = TestServer::start();
    let r = bench(&srv, &["--layout", "randrw", "--conns", "2", "--qd", "4"]);
    assert_ran(&r);
    let data = std::fs::metadata(srv.share_dir.join("rsmbd-bench.dat")).unwrap();
    assert_eq!(data.len(), 4 << 20);
}

/// `--busy-poll` (the client never sleeps, see tools/bench/engine.rs) completes operations on
/// several connections at queue depth 1 and reports no client CPU per operation, which a
/// spinning client cannot measure.
#[test]
fn busy_poll_runs_and_reports_no_client_cpu() {
    let srv = TestServer::start();
    let r = bench(
        &srv,
        &[
            "--layout",
            "randread",
            "--conns",
            "4",
            "--qd",
            "1",
            "--busy-poll",
        ],
    );
    assert_ran(&r);
    assert_eq!(field(&r, "client_us_op"), "na", "{r:?}");
}

#[test]
fn encrypted_and_signed_runs() {
    let srv = TestServer::start();
    assert_ran(&bench(
        &srv,
        &[
            "--layout",
            "randread",
            "--qd",
            "8",
            "--encrypt",
            "aes-128-gcm",
        ],
    ));
    assert_ran(&bench(
        &srv,
        &[
            "--layout",
            "randwrite",
            "--qd",
            "2",
            "--sign",
            "--dialect",
            "2.1",
        ],
    ));
}

#[test]
fn two_channels_per_session_signed_and_encrypted() {
    let srv = TestServer::start();
    let r = bench(
        &srv,
        &[
            "--layout",
            "randrw",
            "--qd",
            "4",
            "--channels",
            "2",
            "--sign",
        ],
    );
    assert_ran(&r);
    assert_eq!(field(&r, "label"), "randrw-8k-1x4-2ch-signed");
    assert_ran(&bench(
        &srv,
        &[
            "--layout",
            "seqread",
            "--bs",
            "1m",
            "--qd",
            "2",
            "--channels",
            "2",
            "--dialect",
            "3.0",
            "--encrypt",
            "aes-128-ccm",
        ],
    ));
}

#[test]
fn multichannel_needs_smb3() {
    let out = Command::new(env!("CARGO_BIN_EXE_rsmbd-bench"))
        .args(["--channels", "2", "--dialect", "2.1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("multichannel"));
}

/// rsmbd-tcp-floor (tools/bench/floor.rs, the loopback TCP floor beside which floor.sh sets
/// rsmbd's connection scaling) answers every request of several pipelined connections, and
/// refuses a queue depth it cannot keep.
#[test]
fn tcp_floor_runs_and_checks_its_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_rsmbd-tcp-floor"))
        .args([
            "--conns",
            "4",
            "--qd",
            "2",
            "--duration",
            "1",
            "--label",
            "smoke",
        ])
        .output()
        .expect("run rsmbd-tcp-floor");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = result_fields(&stdout, "RESULT label=smoke ");
    assert!(field(&r, "ops").parse::<u64>().unwrap() > 0, "{r:?}");
    assert!(field(&r, "iops").parse::<f64>().unwrap() > 0.0, "{r:?}");
    assert!(
        field(&r, "server_us_op").parse::<f64>().unwrap() > 0.0,
        "{r:?}"
    );
    assert_eq!(field(&r, "conns"), "4");
    for bad in [["--qd", "0"], ["--qd", "257"], ["--conns", "0"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_rsmbd-tcp-floor"))
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}

/// tools/bench/floor.sh runs rsmbd and the TCP floor side by side and prints its table, each
/// layout's IOPS against one connection's (ratio 1.00 for the one-connection layout).
#[test]
fn floor_script_prints_its_table() {
    let base = tempfile::tempdir().unwrap();
    let script = format!("{}/tools/bench/floor.sh", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(script)
        .args(["scale-randread-8k-1x64", "scale-randread-8k-16x4"])
        .env("NO_BUILD", "1")
        .env("RSMBD_BIN", env!("CARGO_BIN_EXE_rsmbd"))
        .env("BENCH_BIN", env!("CARGO_BIN_EXE_rsmbd-bench"))
        .env("FLOOR_BIN", env!("CARGO_BIN_EXE_rsmbd-tcp-floor"))
        .env("BENCH_BASE", base.path())
        .env("ROUNDS", "1")
        .env("DURATION", "1")
        .env("SIZE", "4m")
        .output()
        .expect("run floor.sh (bash)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "floor.sh failed:\n{stdout}\n{stderr}");
    for layout in ["scale-randread-8k-1x64", "scale-randread-8k-16x4"] {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(&format!("| {layout} |")))
            .unwrap_or_else(|| panic!("no row for {layout}:\n{stdout}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        // | layout | floor IOPS | floor us/op | floor / 1 conn | rsmbd IOPS | ...
        assert!(cells[2].parse::<f64>().unwrap() > 0.0, "{row}");
        assert!(cells[5].parse::<f64>().unwrap() > 0.0, "{row}");
        if layout.ends_with("1x64") {
            assert_eq!((cells[4], cells[7]), ("1.00", "1.00"), "{row}");
        }
    }
}
