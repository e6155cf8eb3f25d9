//! `rsmbd status` against a live server: a python smbprotocol client holds a session with an
//! open file (tests/python/status_hold.py) and a bare TCP connection idles beside it; the
//! report shows the session, its channel's counters, its tree and the open, and the idle
//! connection. Then: the owner-only rule of the control socket, and the message when no
//! server runs.
mod common;
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `rsmbd status --state-dir DIR` (optionally through a wrapper such as setpriv).
fn status(state_dir: &Path, wrapper: &[&str]) -> (bool, String) {
    let mut c = match wrapper.split_first() {
        Some((prog, args)) => {
            let mut c = Command::new(prog);
            c.args(args).arg(env!("CARGO_BIN_EXE_rsmbd"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_rsmbd")),
    };
    c.args(["status", "--state-dir"]).arg(state_dir);
    run_with_timeout(&mut c, Duration::from_secs(30))
}

/// The value of `key=` on a report line (bare values only).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split(' ')
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

fn num(line: &str, key: &str) -> u64 {
    field(line, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric {key}= in {line:?}"))
}

/// Starts tests/python/status_hold.py through `python` (a command running the interpreter)
/// against 127.0.0.1:`port`; returns it, its stdout and the SessionId it printed once ready.
fn hold_session(
    mut python: Command,
    port: &str,
    server: &TestServer,
) -> (
    std::process::Child,
    BufReader<std::process::ChildStdout>,
    String,
) {
    let script = format!("{}/tests/python/status_hold.py", env!("CARGO_MANIFEST_DIR"));
    let mut py = python
        .arg(script)
        .args(["127.0.0.1", port, USER, PASS])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python");
    let mut out = BufReader::new(py.stdout.take().unwrap());
    let mut ready = String::new();
    out.read_line(&mut ready).unwrap();
    let sid = ready
        .trim()
        .strip_prefix("READY session=")
        .unwrap_or_else(|| panic!("client not ready: {ready:?}; log:\n{}", server.log()))
        .to_string();
    (py, out, sid)
}

#[test]
fn status_shows_sessions_channels_and_opens() {
    let server = TestServer::start();
    let state = server.dir.path().join("state");
    let sock = state.join("control.sock");
    let mode = std::fs::metadata(&sock)
        .expect("control socket exists once the server listens")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "control socket mode");

    // A connection that never negotiates.
    let idle = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let idle_peer = idle.local_addr().unwrap().to_string();

    let (mut py, mut out, sid) =
        hold_session(Command::new(python()), &server.port.to_string(), &server);

    let (ok, text) = status(&state, &[]);
    assert!(ok, "rsmbd status failed: {text}");
    let lines: Vec<&str> = text.lines().collect();
    let header = lines[0];
    assert!(header.starts_with("rsmbd version="), "{text}");
    assert_eq!(num(header, "sessions"), 1, "{text}");
    assert_eq!(num(header, "opens"), 1, "{text}");
    assert_eq!(num(header, "connections"), 2, "{text}");

    let s = lines
        .iter()
        .position(|l| l.starts_with("session "))
        .unwrap_or_else(|| panic!("no session line:\n{text}"));
    let session = lines[s];
    assert_eq!(field(session, "id"), Some(sid.as_str()), "{text}");
    assert!(
        field(session, "user").is_some_and(|u| u == USER || u.ends_with(&format!("\\{USER}"))),
        "{text}"
    );
    assert_eq!(field(session, "dialect"), Some("3.1.1"), "{text}");
    assert_eq!(field(session, "state"), Some("valid"), "{text}");
    assert_eq!(num(session, "channels"), 1, "{text}");
    // The session's records are indented under it.
    let own: Vec<&str> = lines[s + 1..]
        .iter()
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim_start())
        .collect();
    let channel = own
        .iter()
        .find(|l| l.starts_with("channel "))
        .unwrap_or_else(|| panic!("no channel:\n{text}"));
    assert_eq!(field(channel, "transport"), Some("tcp"), "{text}");
    assert_eq!(
        field(channel, "local"),
        Some(format!("127.0.0.1:{}", server.port).as_str())
    );
    // NEGOTIATE, 2 SESSION_SETUP, TREE_CONNECT, CREATE, WRITE, READ at least.
    assert!(num(channel, "requests") >= 7, "{text}");
    assert!(
        num(channel, "bytes_in") >= 65536,
        "the 64 KiB WRITE: {text}"
    );
    assert!(
        num(channel, "bytes_out") >= 65536,
        "the 64 KiB READ: {text}"
    );
    assert!(
        own.iter()
            .any(|l| l.starts_with("tree ") && field(l, "share") == Some("share")),
        "{text}"
    );
    let open = own
        .iter()
        .find(|l| l.starts_with("open "))
        .unwrap_or_else(|| panic!("no open:\n{text}"));
    assert_eq!(field(open, "share"), Some("share"), "{text}");
    assert_eq!(field(open, "path"), Some("\\held.txt"), "{text}");
    assert_eq!(field(open, "type"), Some("file"), "{text}");
    assert_eq!(field(open, "rights"), Some("RW"), "{text}");

    let idle_line = lines
        .iter()
        .find(|l| l.starts_with("connection "))
        .unwrap_or_else(|| panic!("no idle connection:\n{text}"));
    assert_eq!(field(idle_line, "peer"), Some(idle_peer.as_str()), "{text}");
    assert_eq!(num(idle_line, "requests"), 0, "{text}");

    // Only root and the server's user: loosen the file modes so that only the server's
    // SO_PEERCRED check stands in the way of another user.
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root && Path::new("/usr/bin/setpriv").exists() {
        for d in [server.dir.path(), state.as_path()] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o711)).unwrap();
        }
        std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
        let (ok, text) = status(
            &state,
            &[
                "/usr/bin/setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--",
            ],
        );
        assert!(
            !ok,
            "a user other than root or the server's was answered: {text}"
        );
        // The server's own refusal (SO_PEERCRED), not the file mode's.
        assert!(
            text.contains("permission denied: only root or the server's user may ask"),
            "{text}"
        );
        assert!(!text.contains("session "), "{text}");
    } else {
        eprintln!("status: not root (or no setpriv): the non-owner refusal is not tested here");
    }

    // The client leaves: its session and open go.
    writeln!(py.stdin.take().unwrap()).unwrap();
    let mut done = String::new();
    out.read_line(&mut done).unwrap();
    assert_eq!(done.trim(), "DONE");
    assert!(py.wait().unwrap().success());
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (ok, text) = status(&state, &[]);
        assert!(ok, "{text}");
        let header = text.lines().next().unwrap_or_default().to_string();
        if num(&header, "sessions") == 0
            && num(&header, "opens") == 0
            && num(&header, "connections") == 0
        {
            break;
        }
        assert!(Instant::now() < deadline, "never emptied:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn status_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (ok, text) = status(&state, &[]);
    assert!(!ok, "{text}");
    assert!(text.contains("no server is running"), "{text}");

    // A socket file left by a server killed outright is replaced at the next start.
    let cfg = dir.path().join("rsmbd.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = [\"127.0.0.1:0\"]\nusers_file = \"{}\"\nstate_dir = \"{}\"\n\
             [[share]]\nname = \"share\"\npath = \"{}\"\n",
            dir.path().join("users").display(),
            state.display(),
            dir.path().join("share").display()
        ),
    )
    .unwrap();
    let start = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rsmbd"))
            .args(["serve", "--config"])
            .arg(&cfg)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("listening on "), "{line:?}");
        child
    };
    let mut first = start();
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(
        state.join("control.sock").exists(),
        "SIGKILL leaves the socket"
    );
    let (ok, text) = status(&state, &[]);
    assert!(!ok && text.contains("no server is running"), "{text}");
    let mut second = start();
    let (ok, text) = status(&state, &[]);
    let _ = second.kill();
    let _ = second.wait();
    assert!(ok, "{text}");
    assert!(text.starts_with("rsmbd version="), "{text}");
}

/// A client that vanishes without a FIN or RST (its packets dropped by iptables in a network
/// namespace the test creates, as after a power loss or a pulled cable) is noticed by the
/// server's dead-peer detection (`dead_peer_timeout_secs`, keepalive probes and
/// TCP_USER_TIMEOUT): its connection closes and its session with its open goes, so the
/// file's share mode and locks are free again. Without it the session would stay for hours.
#[test]
fn vanished_client_is_dropped() {
    require_tool("iptables", "iptables");
    let ns = common::torture::Netns::create("deadpeer");
    let server = ns.start_server_with("[limits]\ndead_peer_timeout_secs = 10\n");
    let state = server.dir.path().join("state");
    let (mut py, _out, _sid) = hold_session(ns.command(python()), "445", &server);
    let sessions = || {
        let (ok, text) = run_with_timeout(
            ns.command(env!("CARGO_BIN_EXE_rsmbd"))
                .args(["status", "--state-dir"])
                .arg(&state),
            Duration::from_secs(30),
        );
        assert!(ok, "rsmbd status failed: {text}");
        (num(text.lines().next().unwrap_or(""), "sessions"), text)
    };
    assert_eq!(sessions().0, 1);

    // From now on nothing the client sends reaches the server: the server's keepalive probes
    // go unanswered.
    let ok = ns
        .command("iptables")
        .args(["-A", "INPUT", "-p", "tcp", "--dport", "445", "-j", "DROP"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "iptables failed");
    let t0 = Instant::now();
    let (mut n, mut text) = sessions();
    while n != 0 && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(500));
        (n, text) = sessions();
    }
    let took = t0.elapsed();
    let _ = py.kill();
    let _ = py.wait();
    assert_eq!(
        n,
        0,
        "the vanished client's session is still there after {took:?}:\n{text}\nlog:\n{}",
        server.log()
    );
    // Not before the probes could have failed (half the timeout idle, then TCP_USER_TIMEOUT).
    assert!(
        took >= Duration::from_secs(4),
        "dropped after only {took:?}"
    );
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("open ")),
        "{text}"
    );
}
