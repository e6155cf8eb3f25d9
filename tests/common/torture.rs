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
    run_listed(group, group, TestServer::start, torture);
}

/// Runs the pass list `tests/torture/<list>.pass` on a server from `start` (a suite's second
/// list, for another file system); fails on any regression or if the server dies.
pub fn run_listed_on(list: &str, start: impl Fn() -> TestServer) {
    run_listed(list, list, start, torture);
}

/// Runs `group`'s pass list on a server from `start`, each test through `run`; fails on any
/// regression or if the server dies. `label` names the run in the summary line.
fn run_listed(
    group: &str,
    label: &str,
    start: impl Fn() -> TestServer,
    run: impl Fn(&TestServer, &str) -> (bool, String),
) {
    let tests = list(group);
    assert!(
        !tests.is_empty(),
        "tests/torture/{group}.pass lists no tests"
    );
    let mut server = start();
    let mut failed = Vec::new();
    for t in &tests {
        let (ok, out) = run(&server, t);
        if !ok {
            failed.push(format!("--- {t}\n{}", tail(&out, 25)));
        }
        if !server.alive() {
            panic!("rsmbd died during {t}:\n{}", tail(&server.log(), 80));
        }
    }
    println!(
        "torture {label}: {} passed, {} failed",
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

/// [`run_group`] on a server from `start` (a share with options, or on another file system).
pub fn run_group_on(group: &str, start: impl Fn() -> TestServer) {
    run_listed(group, group, start, torture);
}

/// [`survey`] on a server from `start`.
pub fn survey_on(start: impl Fn() -> TestServer) {
    survey_with(start, torture);
}

/// Runs whole suites (comma-separated in RSMBD_TORTURE_SURVEY) and prints each test's result.
pub fn survey() {
    survey_with(TestServer::start, torture);
}

/// Runs the suites of RSMBD_TORTURE_SURVEY on a server from `start` (restarted if it dies),
/// each test through `run`, and prints every result (the whole output of failures too with
/// RSMBD_TORTURE_VERBOSE).
fn survey_with(start: impl Fn() -> TestServer, run: impl Fn(&TestServer, &str) -> (bool, String)) {
    let suites =
        std::env::var("RSMBD_TORTURE_SURVEY").expect("set RSMBD_TORTURE_SURVEY=smb2.x,smb2.y");
    let all = std::fs::read_to_string(format!(
        "{}/tests/torture/all-tests.txt",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut server = start();
    let (mut pass, mut fail) = (0, 0);
    for suite in suites.split(',') {
        for t in all
            .lines()
            .filter(|t| *t == suite || t.starts_with(&format!("{suite}.")))
        {
            let (ok, out) = run(&server, t);
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
                if std::env::var_os("RSMBD_TORTURE_VERBOSE").is_some() {
                    println!("{}", tail(&out, 60));
                }
            }
            if !server.alive() {
                println!("SERVER DIED at {t}: {}", tail(&server.log(), 20));
                server = start();
            }
        }
    }
    println!("survey: {pass} passed, {fail} failed");
}

/// A network namespace of its own, deleted on drop: rsmbd listens on 127.0.0.1:445 there, so
/// tests that dial port 445 whatever `-p` says reach it, and smbtorture may install iptables
/// rules (`torture:use_iptables=yes`) without touching the host.
pub struct Netns {
    /// Its name (for `ip netns exec`).
    pub name: String,
}

/// True when running as root (network namespaces and iptables need it).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Netns {
    /// Creates the namespace with its loopback up; panics with the reason if that is not
    /// possible (not root, no `ip`).
    pub fn create(tag: &str) -> Netns {
        assert!(
            is_root(),
            "this test needs root: it creates a network namespace (`ip netns add`) and runs \
             rsmbd on port 445 and iptables inside it; run it as root (CI: .ci/run)"
        );
        let ip = require_tool("ip", "iproute2");
        let name = format!("rsmbd-{tag}-{}", std::process::id());
        let _ = Command::new(&ip).args(["netns", "delete", &name]).status();
        let ok = Command::new(&ip)
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "`ip netns add {name}` failed");
        let ns = Netns { name };
        let ok = ns
            .command("ip")
            .args(["link", "set", "lo", "up"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "could not bring up the loopback of {}", ns.name);
        // The client acknowledges every segment at once (no delayed ACK): tests that block a
        // channel with iptables right after its last response would otherwise drop that ACK
        // too, leaving the server's TCP in loss recovery, unable to send anything more on the
        // channel -- an artefact of the test bed that no server could work around.
        let ok = ns
            .command("ip")
            .args([
                "route",
                "change",
                "table",
                "local",
                "local",
                "127.0.0.1",
                "dev",
                "lo",
                "proto",
                "kernel",
                "scope",
                "host",
                "src",
                "127.0.0.1",
                "quickack",
                "1",
            ])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "could not turn on quickack for 127.0.0.1 in {}",
            ns.name
        );
        ns
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }

    /// Starts rsmbd inside the namespace on 127.0.0.1:445, with the test share and user.
    pub fn start_server(&self) -> TestServer {
        self.start_server_with("")
    }

    /// [`Netns::start_server`] with `extra_toml` appended to the configuration.
    pub fn start_server_with(&self, extra_toml: &str) -> TestServer {
        use std::io::BufRead;
        let dir = tempfile::tempdir().expect("tempdir");
        let share_dir = dir.path().join("share");
        std::fs::create_dir_all(&share_dir).unwrap();
        let users = dir.path().join("users");
        add_user(&users, USER, PASS);
        let cfg = dir.path().join("rsmbd.toml");
        std::fs::write(
            &cfg,
            format!(
                "[server]\nlisten = [\"127.0.0.1:445\"]\nusers_file = \"{}\"\nstate_dir = \"{}\"\n\
                 [[share]]\nname = \"share\"\npath = \"{}\"\n{extra_toml}",
                users.display(),
                dir.path().join("state").display(),
                share_dir.display()
            ),
        )
        .unwrap();
        let stderr_log = dir.path().join("rsmbd.log");
        let mut child = self
            .command(env!("CARGO_BIN_EXE_rsmbd"))
            .args(["serve", "--config"])
            .arg(&cfg)
            .env(
                "RUST_LOG",
                std::env::var("RSMBD_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(&stderr_log).unwrap())
            .spawn()
            .expect("start rsmbd in the namespace");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.starts_with("listening on "),
            "rsmbd did not start in {}: {line:?}; log: {}",
            self.name,
            std::fs::read_to_string(&stderr_log).unwrap_or_default()
        );
        TestServer {
            child,
            port: 445,
            dir,
            share_dir,
            stderr_log,
        }
    }

    /// Runs one smbtorture test inside the namespace against `server` (port 445), with
    /// `torture:use_iptables=yes` so tests that "block" a channel drop its packets with
    /// iptables; true only if it passed.
    pub fn torture(&self, server: &TestServer, test: &str) -> (bool, String) {
        let bin = require_tool("smbtorture", "samba-testsuite");
        require_tool("iptables", "iptables");
        let cwd = server.dir.path().join("torture-cwd");
        let _ = std::fs::create_dir_all(&cwd);
        let mut c = self.command(bin);
        c.current_dir(&cwd).args([
            "//127.0.0.1/share",
            "-p",
            "445",
            "-U",
            &format!("{USER}%{PASS}"),
            "--option=torture:use_iptables=yes",
            test,
        ]);
        let (ok, out) = run_with_timeout(&mut c, Duration::from_secs(300));
        let passed = ok
            && !out.contains("\nskip:")
            && !out.contains("\nfailure:")
            && !out.contains("\nerror:")
            && out.contains("\nsuccess:");
        (passed, out)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
    }
}

/// [`run_group`] inside a network namespace of its own (see [`Netns`]).
pub fn run_group_netns(group: &str) {
    let ns = Netns::create(group);
    run_listed(
        group,
        &format!("{group} (netns)"),
        || ns.start_server(),
        |server, t| ns.torture(server, t),
    );
}

/// [`survey`] inside a network namespace (RSMBD_TORTURE_SURVEY as there).
pub fn survey_netns() {
    let ns = Netns::create("survey");
    survey_with(|| ns.start_server(), |server, t| ns.torture(server, t));
}
