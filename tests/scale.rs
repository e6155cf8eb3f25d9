//! Scale (issue 6): what idle connections cost the server, and tens of thousands of opens on
//! one session. Memory is measured from the server's VmRSS; no timing is asserted.
mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

/// Resident memory of a process in KiB.
fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Lets this process hold a few thousand sockets.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max.min(65536);
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
}

/// An SMB2 NEGOTIATE offering 2.0.2 and 2.1, in its Direct-TCP frame.
fn negotiate_frame(message_id: u64) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(b"\xfeSMB");
    m.extend_from_slice(&64u16.to_le_bytes()); // StructureSize
    m.extend_from_slice(&0u16.to_le_bytes()); // CreditCharge
    m.extend_from_slice(&0u32.to_le_bytes()); // Status
    m.extend_from_slice(&0u16.to_le_bytes()); // Command NEGOTIATE
    m.extend_from_slice(&1u16.to_le_bytes()); // CreditRequest
    m.extend_from_slice(&0u32.to_le_bytes()); // Flags
    m.extend_from_slice(&0u32.to_le_bytes()); // NextCommand
    m.extend_from_slice(&message_id.to_le_bytes());
    m.extend_from_slice(&[0u8; 4 + 4 + 8 + 16]); // Reserved, TreeId, SessionId, Signature
    m.extend_from_slice(&36u16.to_le_bytes()); // StructureSize
    m.extend_from_slice(&2u16.to_le_bytes()); // DialectCount
    m.extend_from_slice(&1u16.to_le_bytes()); // SecurityMode: signing enabled
    m.extend_from_slice(&0u16.to_le_bytes()); // Reserved
    m.extend_from_slice(&0u32.to_le_bytes()); // Capabilities
    m.extend_from_slice(&[0x5a; 16]); // ClientGuid
    m.extend_from_slice(&[0u8; 8]); // ClientStartTime
    m.extend_from_slice(&0x0202u16.to_le_bytes());
    m.extend_from_slice(&0x0210u16.to_le_bytes());
    let mut f = (m.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(&m);
    f
}

/// Reads one Direct-TCP frame and returns the SMB2 status of the message in it.
fn read_status(s: &mut TcpStream) -> u32 {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).expect("frame header");
    let mut msg = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut msg).expect("frame");
    u32::from_le_bytes(msg[8..12].try_into().unwrap())
}

#[test]
fn a_thousand_idle_connections_cost_under_64_kib_each() {
    raise_fd_limit();
    let server = TestServer::start();
    let pid = server.child.id();
    let addr = format!("127.0.0.1:{}", server.port);
    // Warm up: the first connection pays for lazily built tables and thread stacks.
    let mut warm: Vec<TcpStream> = Vec::new();
    for i in 0..8 {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(&negotiate_frame(0)).unwrap();
        assert_eq!(read_status(&mut s), 0, "warm-up negotiate {i}");
        warm.push(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    let before = rss_kib(pid);
    const N: u64 = 1000;
    let mut conns = Vec::new();
    for i in 0..N {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(&negotiate_frame(0)).unwrap();
        assert_eq!(read_status(&mut s), 0, "negotiate on connection {i}");
        conns.push(s);
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_kib(pid);
    let per_conn = after.saturating_sub(before) * 1024 / N;
    eprintln!("server RSS {before} KiB -> {after} KiB for {N} negotiated idle connections: {per_conn} bytes each");
    assert!(
        per_conn <= 64 * 1024,
        "{per_conn} bytes of server memory per idle connection (limit 64 KiB)"
    );
    // They are all still served.
    for (i, s) in conns.iter_mut().enumerate().step_by(97) {
        s.write_all(&negotiate_frame(1)).unwrap();
        // A second NEGOTIATE on a connection is a protocol error: the server drops it.
        let mut b = [0u8; 1];
        let r = s.read(&mut b);
        assert!(matches!(r, Ok(0) | Err(_)), "connection {i}: {r:?}");
    }
    let mut check = TcpStream::connect(&addr).unwrap();
    check.write_all(&negotiate_frame(0)).unwrap();
    assert_eq!(read_status(&mut check), 0);
}

#[test]
fn ten_thousand_opens_on_one_session() {
    let server = TestServer::start();
    let py = python();
    let script = format!("{}/tests/python/many_opens.py", env!("CARGO_MANIFEST_DIR"));
    let mut c = Command::new(py);
    c.arg(script)
        .args(["127.0.0.1", &server.port.to_string(), USER, PASS, "10000"]);
    let (ok, out) = run_with_timeout(&mut c, Duration::from_secs(600));
    assert!(
        ok,
        "many_opens.py failed:\n{out}\nserver log:\n{}",
        server.log()
    );
    assert!(out.contains("10000 opens held"), "{out}");
    let names = std::fs::read_dir(server.share_dir.join("many"))
        .unwrap()
        .count();
    assert_eq!(names, 10000);
}
