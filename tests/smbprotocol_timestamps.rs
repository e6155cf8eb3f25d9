//! python smbprotocol against rsmbd: LastWriteTime freeze/thaw, explicit times, the delayed
//! update after a write and CLOSE keeping the reported time (tests/python/timestamps.py).
mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn write_time_rules() {
    let server = TestServer::start();
    let script = format!("{}/tests/python/timestamps.py", env!("CARGO_MANIFEST_DIR"));
    let mut c = Command::new(python());
    c.arg(script)
        .args(["127.0.0.1", &server.port.to_string(), USER, PASS]);
    let (ok, out) = run_with_timeout(&mut c, Duration::from_secs(120));
    println!("{out}");
    assert!(
        ok,
        "timestamps.py failed:\n{out}\nserver log:\n{}",
        server.log()
    );
    assert!(out.contains(" passed, 0 failed"), "{out}");
    // The kept times reached the file itself.
    let meta = std::fs::metadata(server.share_dir.join("ts_explicit")).unwrap();
    let secs = meta
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(secs, 946_684_800, "2000-01-01 on disk");
}
