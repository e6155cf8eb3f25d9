//! Persistent handles on a continuously available share survive a SIGKILL and restart of rsmbd
//! (src/server/persistent.rs): tests/python/persistent_kill.py opens persistent handles (one
//! with a byte-range lock, one with a lease, one with a 2 s timeout, one renamed and one
//! marked delete-on-close while open, one whose lease break timed out) and writes; rsmbd is
//! SIGKILLed mid-write and restarted on the same port and state directory, with a corrupt
//! record planted in the store; the client reclaims its handles with DH2C (another user
//! cannot), finishes the file, which must be byte-exact on disk, and the expired handle and
//! its record are gone.
mod common;
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_config(dir: &Path, port: u16) -> PathBuf {
    let cfg = dir.join("rsmbd.toml");
    let text = format!(
        "[server]\nlisten = [\"127.0.0.1:{port}\"]\nusers_file = \"{}\"\nstate_dir = \"{}\"\n\
         [limits]\noplock_break_timeout_secs = 2\n\
         [[share]]\nname = \"ca\"\npath = \"{}\"\ncontinuous_availability = true\n",
        dir.join("users").display(),
        dir.join("state").display(),
        dir.join("share").display(),
    );
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// Starts rsmbd on `port` (0: any); answers it with the port it listens on.
fn start(dir: &Path, port: u16) -> Server {
    let cfg = write_config(dir, port);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("rsmbd.log"))
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rsmbd"))
        .args(["serve", "--config"])
        .arg(&cfg)
        .env(
            "RUST_LOG",
            std::env::var("RSMBD_TEST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("start rsmbd");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("rsmbd did not start: {line:?}\n{}", log_of(dir)));
    Server { child, port }
}

fn log_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("rsmbd.log")).unwrap_or_default()
}

fn records(dir: &Path, suffix: &str) -> Vec<String> {
    std::fs::read_dir(dir.join("state/persistent"))
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(suffix))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits for the next line from the script that starts with `prefix`.
fn expect_line(rx: &mpsc::Receiver<String>, prefix: &str, seen: &mut Vec<String>) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                seen.push(l.clone());
                if l.starts_with(prefix) {
                    return l;
                }
            }
            Err(_) => panic!("no `{prefix}` line from the script; output so far:\n{seen:#?}"),
        }
    }
}

fn tell(stdin: &mut ChildStdin, line: &str) {
    writeln!(stdin, "{line}").unwrap();
    stdin.flush().unwrap();
}

#[test]
fn persistent_handle_survives_sigkill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("share")).unwrap();
    add_user(&d.join("users"), USER, PASS);
    add_user(&d.join("users"), "other", "Other-Pass-2");
    let mut server = start(d, 0);
    let port = server.port;
    let mut script = Command::new(python())
        .arg(format!(
            "{}/tests/python/persistent_kill.py",
            env!("CARGO_MANIFEST_DIR")
        ))
        .args(["127.0.0.1", &port.to_string(), USER, PASS])
        .args(["other", "Other-Pass-2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start persistent_kill.py");
    let mut stdin = script.stdin.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = script.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    expect_line(&rx, "OPENED", &mut seen);
    // Each persistent open has its record before the client heard of it.
    assert_eq!(records(d, ".ph").len(), 6, "records after CREATE");
    expect_line(&rx, "WROTE 6", &mut seen);
    // SIGKILL mid-write.
    let _ = server.child.kill();
    let _ = server.child.wait();
    drop(server);
    // A corrupt record and a truncated one must be rejected without harm.
    std::fs::write(
        d.join("state/persistent/00000000deadbeef.ph"),
        b"RSMBPH\x01\x00garbage",
    )
    .unwrap();
    let good = records(d, ".ph").pop().unwrap();
    let bytes = std::fs::read(d.join("state/persistent").join(&good)).unwrap();
    let torn = "0000000000000001.ph";
    std::fs::write(
        d.join("state/persistent").join(torn),
        &bytes[..bytes.len() / 2],
    )
    .unwrap();
    let lost = expect_line(&rx, "LOST", &mut seen);
    eprintln!("client lost the server at: {lost}");
    // Restart on the same port and state directory (retry while the port is in TIME_WAIT).
    let start_at = Instant::now();
    server = loop {
        let s = std::panic::catch_unwind(|| start(d, port));
        match s {
            Ok(s) => break s,
            Err(_) if start_at.elapsed() < Duration::from_secs(20) => {
                std::thread::sleep(Duration::from_millis(200))
            }
            Err(e) => std::panic::resume_unwind(e),
        }
    };
    assert_eq!(server.port, port);
    assert_eq!(records(d, ".corrupt").len(), 2, "corrupt records set aside");
    let log = log_of(d);
    assert!(log.contains("persistent-handle record rejected"), "{log}");
    tell(&mut stdin, "RESTARTED");
    let done = expect_line(&rx, "DONE", &mut seen);
    let sha = done.trim_start_matches("DONE ").trim().to_string();
    // Byte-exact on disk.
    let on_disk = std::fs::read(d.join("share/big.bin")).unwrap();
    assert_eq!(on_disk.len(), 48 * 65536);
    let digest = ring_sha256(&on_disk);
    assert_eq!(
        digest, sha,
        "big.bin on disk differs from what the client wrote"
    );
    // Closed handles lost their records; the expiring one goes after its 2 s.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        records(d, ".ph").is_empty(),
        "records left: {:?}",
        records(d, ".ph")
    );
    tell(&mut stdin, "EXPIRED");
    drop(stdin);
    let status = script.wait().unwrap();
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(5)) {
        seen.push(l);
    }
    let out = seen.join("\n");
    println!("{out}");
    assert!(
        status.success() && out.contains(" passed, 0 failed"),
        "{out}\nserver log:\n{}",
        log_of(d)
    );
    assert!(server.child.try_wait().unwrap().is_none(), "rsmbd died");
}

/// SHA-256 as lowercase hex, via the system's `sha256sum` (coreutils).
fn ring_sha256(b: &[u8]) -> String {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), b).unwrap();
    let out = Command::new("sha256sum").arg(f.path()).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}
