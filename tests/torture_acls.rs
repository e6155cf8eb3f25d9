//! smbtorture: the smb2.acls suite. The passing tests are listed in tests/torture/acls.pass.
//! Also: descriptors enforced between two users (tests/python/acls_enforce.py).
mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn acls_suite() {
    common::torture::run_group("acls");
}

/// A second account for the two-user test.
const USER2: &str = "other";
const PASS2: &str = "Other-Pass-2";

#[test]
fn descriptors_enforced_between_users() {
    let dir = tempfile::tempdir().unwrap();
    let share = dir.path().join("share");
    std::fs::create_dir_all(&share).unwrap();
    let users = dir.path().join("users");
    add_user(&users, USER, PASS);
    add_user(&users, USER2, PASS2);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rsmbd"))
        .args(["serve", "--listen", "127.0.0.1:0", "--share"])
        .arg(format!("share={}", share.display()))
        .arg("--users")
        .arg(&users)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().rsplit(':').next().unwrap_or("").to_string();
    let script = format!(
        "{}/tests/python/acls_enforce.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut c = Command::new(python());
    c.arg(script)
        .args(["127.0.0.1", &port, USER, PASS, USER2, PASS2]);
    let (ok, out) = run_with_timeout(&mut c, Duration::from_secs(120));
    let _ = child.kill();
    let _ = child.wait();
    println!("{out}");
    assert!(ok && out.contains(" passed, 0 failed"), "{out}");
}
