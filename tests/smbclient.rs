//! Debian's smbclient against rsmbd: every dialect with each protection level, share
//! listing, and a wrong password.
mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

fn smbclient(port: u16, args: &[&str]) -> (bool, String) {
    let bin = require_tool("smbclient", "smbclient");
    let mut c = Command::new(bin);
    c.args([
        "-p",
        &port.to_string(),
        "--option=client min protocol=SMB2_02",
    ])
    .args(args);
    run_with_timeout(&mut c, Duration::from_secs(30))
}

fn ls(port: u16, dialect: &str, protection: &str) -> (bool, String) {
    smbclient(
        port,
        &[
            "//127.0.0.1/share",
            "-U",
            &format!("{USER}%{PASS}"),
            "-m",
            dialect,
            &format!("--client-protection={protection}"),
            "-c",
            "ls",
        ],
    )
}

#[test]
fn every_dialect_and_protection_lists_the_share() {
    let mut server = TestServer::start();
    std::fs::write(server.share_dir.join("hello.txt"), b"hi").unwrap();
    let mut failures = Vec::new();
    for dialect in ["SMB2_02", "SMB2_10", "SMB3_00", "SMB3_02", "SMB3_11"] {
        let mut prots = vec!["off", "sign"];
        if dialect.starts_with("SMB3") {
            prots.push("encrypt");
        }
        for p in prots {
            let (ok, out) = ls(server.port, dialect, p);
            if !ok || !out.contains("hello.txt") {
                failures.push(format!("{dialect}/{p}: {out}"));
            }
        }
    }
    assert!(server.alive(), "server died: {}", server.log());
    assert!(
        failures.is_empty(),
        "failures:\n{}\nserver log:\n{}",
        failures.join("\n"),
        server.log()
    );
}

#[test]
fn wrong_password_is_logon_failure() {
    let server = TestServer::start();
    let (ok, out) = smbclient(
        server.port,
        &[
            "//127.0.0.1/share",
            "-U",
            &format!("{USER}%wrong"),
            "-c",
            "ls",
        ],
    );
    assert!(!ok);
    assert!(out.contains("NT_STATUS_LOGON_FAILURE"), "{out}");
    let (ok, out) = smbclient(
        server.port,
        &["//127.0.0.1/share", "-U", "nobody%x", "-c", "ls"],
    );
    assert!(!ok);
    assert!(out.contains("NT_STATUS_LOGON_FAILURE"), "{out}");
}

#[test]
fn share_list_shows_the_share() {
    let server = TestServer::start_with(&format!(
        "[[share]]\nname = \"share\"\npath = \"{0}/a\"\ncomment = \"first share\"\n[[share]]\nname = \"Data2\"\npath = \"{0}/b\"\n",
        std::env::temp_dir().join(format!("rsmbd-L-{}", std::process::id())).display()
    ));
    let (ok, out) = smbclient(
        server.port,
        &["-L", "//127.0.0.1", "-U", &format!("{USER}%{PASS}")],
    );
    assert!(ok, "{out}\n{}", server.log());
    for want in ["share", "first share", "Data2", "IPC$"] {
        assert!(out.contains(want), "missing {want}: {out}");
    }
}
