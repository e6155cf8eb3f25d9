//! python smbprotocol against rsmbd: directory leases (tests/python/dir_lease.py; MS-SMB2
//! 3.3.5.9.11, src/server/dir_lease.rs): granted R or RH on SMB 3.1.1, broken to none when a
//! child is created, deleted or renamed (by the same client with another lease key, or by
//! another client), and not broken by a child made with the directory's key as its
//! ParentLeaseKey.
mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn dir_lease() {
    let server = TestServer::start();
    let py = python();
    let script = format!("{}/tests/python/dir_lease.py", env!("CARGO_MANIFEST_DIR"));
    let mut c = Command::new(py);
    c.arg(script)
        .args(["127.0.0.1", &server.port.to_string(), USER, PASS]);
    let (ok, out) = run_with_timeout(&mut c, Duration::from_secs(120));
    assert!(
        ok,
        "dir_lease.py failed:\n{out}\nserver log:\n{}",
        server.log()
    );
    assert!(out.contains(" passed, 0 failed"), "{out}");
}
