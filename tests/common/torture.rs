//! smbtorture (samba-testsuite 4.17) runner shared by the `torture_*` test files.
//!
//! Each group keeps the smbtorture tests rsmbd passes in `tests/torture/<group>.pass`; every
//! one of them must keep passing (a regression fails CI). To see how suites stand, run
//! `RSMBD_TORTURE_SURVEY=smb2.session,smb2.credits cargo test --test torture_session survey -- --ignored --nocapture`.
use super::*;
use std::process::Command;
use std::time::Duration;

/// Runs one smbtorture test against `server`; true only if it passed (skips are not passes).
pub fn torture(server: &TestServer, test: &str) -> (bool, String) {
    let bin = require_tool("smbtorture", "samba-testsuite");
    let cwd = server.dir.path().join("torture-cwd");
    let _ = std::fs::create_dir_all(&cwd);
    let mut c = Command::new(bin);
    c.current_dir(&cwd).args([
        "//127.0.0.1/share",
        "-p",
        &server.port.to_string(),
        "-U",
        &format!("{USER}%{PASS}"),
        test,
    ]);
    let (ok, out) = run_with_timeout(&mut c, Duration::from_secs(150));
    let passed = ok
        && !out.contains("\nskip:")
        && !out.contains("\nfailure:")
        && !out.contains("\nerror:")
        && out.contains("\nsuccess:");
    (passed, out)
}

fn list(group: &str) -> Vec<String> {
    let path = format!("{}/tests/torture/{group}.pass", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs every test of `tests/torture/<group>.pass` against a fresh server; fails on any
/// regression.
pub fn run_group(group: &str) {
    let tests = list(group);
    assert!(
        !tests.is_empty(),
        "tests/torture/{group}.pass lists no tests"
    );
    let mut server = TestServer::start();
    let mut failed = Vec::new();
    for t in &tests {
        let (ok, out) = torture(&server, t);
        if !ok {
            failed.push(format!("--- {t}\n{}", tail(&out, 25)));
        }
        if !server.alive() {
            panic!("rsmbd died during {t}:\n{}", tail(&server.log(), 80));
        }
    }
    println!(
        "torture {group}: {} passed, {} failed",
        tests.len() - failed.len(),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "regressions:\n{}\nserver log tail:\n{}",
        failed.join("\n"),
        tail(&server.log(), 60)
    );
}

/// Runs whole suites (comma-separated in RSMBD_TORTURE_SURVEY) and prints each test's result.
pub fn survey() {
    let suites =
        std::env::var("RSMBD_TORTURE_SURVEY").expect("set RSMBD_TORTURE_SURVEY=smb2.x,smb2.y");
    let all = std::fs::read_to_string(format!(
        "{}/tests/torture/all-tests.txt",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut server = TestServer::start();
    let (mut pass, mut fail) = (0, 0);
    for suite in suites.split(',') {
        for t in all
            .lines()
            .filter(|t| *t == suite || t.starts_with(&format!("{suite}.")))
        {
            let (ok, out) = torture(&server, t);
            if ok {
                pass += 1;
                println!("PASS {t}");
            } else {
                fail += 1;
                let why: Vec<&str> = out
                    .lines()
                    .filter(|l| {
                        l.starts_with("failure")
                            || l.starts_with("error")
                            || l.starts_with("skip")
                            || l.contains("TIMEOUT")
                    })
                    .take(2)
                    .collect();
                println!("FAIL {t} {}", why.join(" | "));
            }
            if !server.alive() {
                println!("SERVER DIED at {t}: {}", tail(&server.log(), 20));
                server = TestServer::start();
            }
        }
    }
    println!("survey: {pass} passed, {fail} failed");
}
