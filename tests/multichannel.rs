//! python smbprotocol against rsmbd: multichannel (tests/python/multichannel.py): one 3.1.1
//! session bound to 4 connections, interleaved CREATE/WRITE/READ/CLOSE with every response's
//! signature checked against its channel's own key, the loss of one channel, LOGOFF on one
//! channel ending the session on all, and ChannelSequence/replay detection (MS-SMB2 3.3.5.2.10).
mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn multichannel_binding_and_replay() {
    let server = TestServer::start();
    let py = python();
    let script = format!(
        "{}/tests/python/multichannel.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut c = Command::new(py);
    c.arg(script)
        .args(["127.0.0.1", &server.port.to_string(), USER, PASS])
        .arg(&server.share_dir);
    let (ok, out) = run_with_timeout(&mut c, Duration::from_secs(180));
    assert!(
        ok,
        "multichannel.py failed:\n{out}\nserver log:\n{}",
        server.log()
    );
    assert!(out.contains(" passed, 0 failed"), "{out}");
}
