//! Shared harness for integration tests: starts the real `rsmbd` binary on 127.0.0.1 with a
//! free port, a temporary share and a test user, and finds the client tools.
#![allow(dead_code)]
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The test user's name and password.
pub const USER: &str = "tester";
pub const PASS: &str = "Test-Pass-1";

/// A running server; killed on drop.
pub struct TestServer {
    pub child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub share_dir: PathBuf,
    pub stderr_log: PathBuf,
}

impl TestServer {
    /// Starts a server with the given extra config (TOML appended to the generated file).
    pub fn start_with(extra_toml: &str) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let share_dir = dir.path().join("share");
        std::fs::create_dir_all(&share_dir).unwrap();
        let users = dir.path().join("users");
        add_user(&users, USER, PASS);
        let cfg = dir.path().join("rsmbd.toml");
        let mut text = format!(
            "[server]\nlisten = [\"127.0.0.1:0\"]\nusers_file = \"{}\"\nstate_dir = \"{}\"\n{}\n",
            users.display(),
            dir.path().join("state").display(),
            extra_toml
        );
        if !extra_toml.contains("[[share]]") {
            text.push_str(&format!(
                "[[share]]\nname = \"share\"\npath = \"{}\"\n",
                share_dir.display()
            ));
        }
        std::fs::write(&cfg, text).unwrap();
        let stderr_log = dir.path().join("rsmbd.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_rsmbd"))
            .args(["serve", "--config"])
            .arg(&cfg)
            .env(
                "RUST_LOG",
                std::env::var("RSMBD_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_log).unwrap())
            .spawn()
            .expect("start rsmbd");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "rsmbd did not print its port: {line:?}; log: {}",
                    read(&stderr_log)
                )
            });
        TestServer {
            child,
            port,
            dir,
            share_dir,
            stderr_log,
        }
    }

    /// A server with the default test configuration.
    pub fn start() -> TestServer {
        TestServer::start_with("")
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        read(&self.stderr_log)
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Adds a user to a database file through the CLI.
pub fn add_user(db: &Path, name: &str, pass: &str) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rsmbd"))
        .args(["user", "add", "--users"])
        .arg(db)
        .arg(name)
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(c.stdin.take().unwrap(), "{pass}").unwrap();
    assert!(c.wait().unwrap().success(), "rsmbd user add failed");
}

/// Path of a required tool, or a panic telling what to install.
pub fn require_tool(name: &str, package: &str) -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("`{name}` is missing: install it with `apt-get install {package}` (see .ci/run)");
}

/// The Python interpreter that has `smbprotocol`.
pub fn python() -> PathBuf {
    let candidates = [
        std::env::var("RSMBD_TEST_PYTHON").ok().map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/python")),
        Some(PathBuf::from("python3")),
    ];
    for c in candidates.into_iter().flatten() {
        let ok = Command::new(&c)
            .args(["-c", "import smbprotocol, smbclient"])
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return c;
        }
    }
    panic!("python with smbprotocol not found: run `python3 -m venv target/venv && target/venv/bin/pip install smbprotocol` (see .ci/run) or set RSMBD_TEST_PYTHON");
}

/// Runs a command with a time limit; returns (success, stdout+stderr).
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> (bool, String) {
    let out_path = tempfile::NamedTempFile::new().unwrap();
    let f = out_path.reopen().unwrap();
    let mut child = cmd
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = std::fs::read_to_string(out_path.path()).unwrap_or_default();
    match status {
        Some(s) => (s.success(), text),
        None => (false, format!("TIMEOUT after {limit:?}\n{text}")),
    }
}

pub mod btrfs;
pub mod loopfs;
pub mod testbed;
pub mod torture;
pub mod xfs;
