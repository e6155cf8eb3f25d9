//! python smbprotocol against rsmbd (scripts in tests/python).
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
fn session_matrix_signing_and_encryption() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(&format!(
        "[[share]]\nname = \"share\"\npath = \"{0}/plain\"\n[[share]]\nname = \"sealed\"\npath = \"{0}/sealed\"\nencrypt = true\n",
        dir.path().display()
    ));
    run_script(&server, "session_matrix.py");
}
