//! python smbprotocol against rsmbd: renames, streams, EAs, times, sparse reads, wildcards
//! and a 100,000-entry directory listed with small buffers (tests/python/info_files.py).
mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

/// Entries of the big directory, created directly on disk before listing over SMB.
const BIG: usize = 100_000;

#[test]
fn info_files_and_big_directory() {
    let server = TestServer::start();
    let big = server.share_dir.join("big");
    std::fs::create_dir(&big).unwrap();
    for i in 0..BIG {
        std::fs::File::create(big.join(format!("f{i:06}"))).unwrap();
    }
    let py = python();
    let script = format!("{}/tests/python/info_files.py", env!("CARGO_MANIFEST_DIR"));
    let mut c = Command::new(py);
    c.arg(script).args([
        "127.0.0.1",
        &server.port.to_string(),
        USER,
        PASS,
        "big",
        &BIG.to_string(),
    ]);
    let (ok, out) = run_with_timeout(&mut c, Duration::from_secs(600));
    println!("{out}");
    assert!(
        ok,
        "info_files.py failed:\n{out}\nserver log:\n{}",
        server.log()
    );
    assert!(out.contains(" passed, 0 failed"), "{out}");
}
