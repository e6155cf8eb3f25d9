//! python smbprotocol against rsmbd: file semantics (tests/python/files_basic.py): share modes
//! across two connections, delete-on-close, offsets above 4 GiB, 100 MiB by hash, create
//! contexts, access checks; FSCTL_FILE_LEVEL_TRIM (tests/python/trim.py).
mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn files_basic() {
    let server = TestServer::start();
    let py = python();
    let script = format!("{}/tests/python/files_basic.py", env!("CARGO_MANIFEST_DIR"));
    let mut c = Command::new(py);
    c.arg(script)
        .args(["127.0.0.1", &server.port.to_string(), USER, PASS])
        .arg(&server.share_dir);
    let (ok, out) = run_with_timeout(&mut c, Duration::from_secs(300));
    assert!(
        ok,
        "files_basic.py failed:\n{out}\nserver log:\n{}",
        server.log()
    );
    assert!(out.contains(" passed, 0 failed"), "{out}");
}

/// FSCTL_FILE_LEVEL_TRIM (tests/python/trim.py): holes punched for trimmed pages, ranges
/// narrowed to pages, NumRangesProcessed, a byte-range lock stopping it, malformed requests.
#[test]
fn file_level_trim() {
    let server = TestServer::start();
    let script = format!("{}/tests/python/trim.py", env!("CARGO_MANIFEST_DIR"));
    let mut c = Command::new(python());
    c.arg(script)
        .args(["127.0.0.1", &server.port.to_string(), USER, PASS])
        .arg(&server.share_dir);
    let (ok, out) = run_with_timeout(&mut c, Duration::from_secs(120));
    assert!(ok, "trim.py failed:\n{out}\nserver log:\n{}", server.log());
    assert!(out.contains("5 passed, 0 failed"), "{out}");
}
