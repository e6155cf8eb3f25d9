//! python smbprotocol against rsmbd: byte-range locks across sessions (tests/python/locks_*.py).
mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

fn run_script(server: &TestServer, script: &str) {
    let py = python();
    let path = format!("{}/tests/python/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut c = Command::new(py);
    c.arg(path)
        .args(["127.0.0.1", &server.port.to_string(), USER, PASS]);
    let (ok, out) = run_with_timeout(&mut c, Duration::from_secs(300));
    assert!(ok, "{script} failed:\n{out}\nserver log:\n{}", server.log());
    assert!(out.contains(" passed, 0 failed"), "{out}");
}

#[test]
fn lock_conflicts_across_sessions() {
    let server = TestServer::start();
    run_script(&server, "locks_conflict.py");
}
