//! The command line as scripts drive it.
mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn rsmbd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rsmbd"))
}

#[test]
fn check_config_reports_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[server]\nmin_dialect = \"9.9\"\n[[share]]\nname = \"x\"\npath = \"relative\"\n",
    )
    .unwrap();
    let out = rsmbd().arg("check-config").arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2, column 15"), "{err}");
    assert!(err.contains("line 5, column 8"), "{err}");
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[[share]]\nname = \"x\"\npath = \"/srv/x\"\n").unwrap();
    assert!(rsmbd()
        .arg("check-config")
        .arg(&good)
        .status()
        .unwrap()
        .success());
    let syntax = dir.path().join("syntax.toml");
    std::fs::write(&syntax, "[server\n").unwrap();
    let out = rsmbd().arg("check-config").arg(&syntax).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
}

#[test]
fn serve_with_a_bad_config_exits_non_zero_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[limits]\nmax_credits = 1\n").unwrap();
    let out = rsmbd()
        .args(["serve", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("max_credits") && !err.contains("panicked"),
        "{err}"
    );
    let out = rsmbd()
        .args(["serve", "--listen", "nonsense"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn user_database_is_private_and_managed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users");
    add_user(&db, "alice", "pw-1");
    add_user(&db, "bob", "pw-2");
    assert_eq!(
        std::fs::metadata(&db).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&db).unwrap();
    assert!(!text.contains("pw-1"), "passwords must not be stored");
    let out = rsmbd()
        .args(["user", "list", "--users"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "alice\nbob\n");
    assert!(rsmbd()
        .args(["user", "del", "--users"])
        .arg(&db)
        .arg("alice")
        .status()
        .unwrap()
        .success());
    let out = rsmbd()
        .args(["user", "list", "--users"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "bob\n");
    assert!(!rsmbd()
        .args(["user", "del", "--users"])
        .arg(&db)
        .arg("nobody")
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success());
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let mut server = TestServer::start();
    let pid = server.child.id() as i32;
    assert!(server.alive());
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(status)) = server.child.try_wait() {
            assert!(status.success(), "exit status {status:?}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server did not stop within 10 s of SIGTERM");
}

#[test]
fn server_guid_persists_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let cfg = format!("state_dir = \"{}\"\n", state.display());
    let mut seen = Vec::new();
    for _ in 0..2 {
        let mut c = rsmbd()
            .args(["serve", "--listen", "127.0.0.1:0", "--share"])
            .arg(format!("s={}", dir.path().join("share").display()))
            .arg("--config")
            .arg({
                let p = dir.path().join("c.toml");
                std::fs::write(
                    &p,
                    format!(
                        "[server]\n{cfg}users_file = \"{}\"\n",
                        dir.path().join("u").display()
                    ),
                )
                .unwrap();
                p
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(c.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert!(line.starts_with("listening on 127.0.0.1:"), "{line}");
        c.kill().unwrap();
        c.wait().unwrap();
        seen.push(std::fs::read(state.join("server-guid")).unwrap());
    }
    assert_eq!(seen[0].len(), 16);
    assert_eq!(seen[0], seen[1], "the GUID changed across a restart");
}
