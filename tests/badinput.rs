//! Bad-input corpus (issue 3): raw TCP clients that break the protocol. Each case asserts the
//! defined outcome (an error status or a disconnect, as MS-SMB2 3.3.5.2 says) and that the
//! server is still alive and answers a fresh client's NEGOTIATE afterwards.
mod common;
use common::*;
use rsmbd::wire::echo::EchoRequest;
use rsmbd::wire::negotiate::{Dialect, NegotiateRequest};
use rsmbd::wire::session_setup::SessionSetupRequest;
use rsmbd::wire::{Bytes, BytesMut, Command, Header, HEADER_LEN};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command as Process;
use std::time::{Duration, Instant};

const STATUS_SUCCESS: u32 = 0;
const STATUS_INVALID_PARAMETER: u32 = 0xC000_000D;

fn connect(server: &TestServer) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// A Direct-TCP frame around `msg`.
fn frame(msg: &[u8]) -> Vec<u8> {
    let mut f = (msg.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(msg);
    f
}

fn header(command: Command, message_id: u64, credits: u16) -> Header {
    Header {
        command,
        message_id,
        credits,
        credit_charge: 1,
        ..Header::default()
    }
}

fn message(h: &Header, body: impl FnOnce(&mut BytesMut)) -> Vec<u8> {
    let mut out = BytesMut::new();
    h.encode(&mut out);
    body(&mut out);
    out.to_vec()
}

fn negotiate_msg(message_id: u64, credits: u16) -> Vec<u8> {
    let req = NegotiateRequest {
        security_mode: 1,
        capabilities: 0,
        client_guid: Default::default(),
        client_start_time: 0,
        dialects: vec![Dialect(0x0202), Dialect(0x0210), Dialect(0x0300)],
        negotiate_contexts: vec![],
    };
    message(&header(Command::NEGOTIATE, message_id, credits), |o| {
        req.encode(o)
    })
}

fn echo_msg(message_id: u64, credits: u16) -> Vec<u8> {
    message(&header(Command::ECHO, message_id, credits), |o| {
        EchoRequest.encode(o)
    })
}

fn session_setup_msg(message_id: u64, blob: &[u8]) -> Vec<u8> {
    let req = SessionSetupRequest {
        flags: 0,
        security_mode: 1,
        capabilities: 0,
        channel: 0,
        previous_session_id: 0,
        security_buffer: Bytes::copy_from_slice(blob),
    };
    message(&header(Command::SESSION_SETUP, message_id, 1), |o| {
        req.encode(o)
    })
}

/// Reads one frame; `None` when the server closed the connection (or reset it).
fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    match s.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
            panic!("no answer and no disconnect within the read timeout")
        }
        Err(_) => return None,
    }
    let n = u32::from_be_bytes(len) as usize;
    let mut msg = vec![0u8; n];
    s.read_exact(&mut msg).ok()?;
    Some(msg)
}

/// The response header of one frame.
fn response(s: &mut TcpStream) -> Option<Header> {
    read_frame(s).map(|m| Header::decode(&m).expect("response header"))
}

/// True once the server has closed the connection (within the read timeout).
fn disconnected(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// A fresh client completes a NEGOTIATE round trip and the process is alive.
fn still_serving(server: &mut TestServer) {
    assert!(server.alive(), "rsmbd died:\n{}", server.log());
    let mut s = connect(server);
    s.write_all(&frame(&negotiate_msg(0, 1))).unwrap();
    let h = response(&mut s).expect("NEGOTIATE answered");
    assert_eq!(h.command, Command::NEGOTIATE);
    assert_eq!(h.status, STATUS_SUCCESS);
}

/// Sends raw bytes on a fresh connection and expects a disconnect.
fn expect_disconnect(server: &mut TestServer, bytes: &[u8], what: &str) {
    let mut s = connect(server);
    let _ = s.write_all(bytes);
    assert!(
        disconnected(&mut s),
        "{what}: the server kept the connection"
    );
    still_serving(server);
}

/// A negotiated connection.
fn negotiated(server: &TestServer) -> TcpStream {
    let mut s = connect(server);
    s.write_all(&frame(&negotiate_msg(0, 1))).unwrap();
    let h = response(&mut s).expect("NEGOTIATE answered");
    assert_eq!(h.status, STATUS_SUCCESS);
    s
}

#[test]
fn truncated_headers() {
    let mut server = TestServer::start();
    let full = negotiate_msg(0, 1);
    for cut in [0usize, 4, 30, HEADER_LEN - 1] {
        expect_disconnect(
            &mut server,
            &frame(&full[..cut]),
            &format!("header cut at {cut}"),
        );
    }
    // Unknown protocol id.
    expect_disconnect(&mut server, &frame(b"\xfeSMX0123456789"), "bad protocol id");
}

#[test]
fn negotiate_offsets_outside_the_message() {
    let mut server = TestServer::start();
    // DialectCount far beyond the body.
    let mut m = negotiate_msg(0, 1);
    m[HEADER_LEN + 2..HEADER_LEN + 4].copy_from_slice(&1000u16.to_le_bytes());
    let mut s = connect(&server);
    s.write_all(&frame(&m)).unwrap();
    let h = response(&mut s).expect("an error response");
    assert_eq!(h.status, STATUS_INVALID_PARAMETER);
    still_serving(&mut server);
    // A 3.1.1 NEGOTIATE whose NegotiateContextOffset points past the end.
    let req = NegotiateRequest {
        security_mode: 1,
        capabilities: 0,
        client_guid: Default::default(),
        client_start_time: 0,
        dialects: vec![Dialect(0x0311)],
        negotiate_contexts: vec![],
    };
    let mut m = message(&header(Command::NEGOTIATE, 0, 1), |o| req.encode(o));
    m[HEADER_LEN + 28..HEADER_LEN + 32].copy_from_slice(&0xFFF0u32.to_le_bytes());
    m[HEADER_LEN + 32..HEADER_LEN + 34].copy_from_slice(&3u16.to_le_bytes());
    let mut s = connect(&server);
    s.write_all(&frame(&m)).unwrap();
    let h = response(&mut s).expect("an error response");
    assert!(h.status >= 0xC000_0000, "status {:#x}", h.status);
    still_serving(&mut server);
}

#[test]
fn next_command_loops_misaligned_and_out_of_range() {
    let mut server = TestServer::start();
    let mut base = negotiated(&server);
    drop(base.write_all(&[]));
    let echo = echo_msg(1, 1);
    // Misaligned NextCommand.
    let mut m = echo.clone();
    m.resize(72, 0);
    m[20..24].copy_from_slice(&65u32.to_le_bytes());
    m.extend_from_slice(&echo_msg(2, 1));
    base.write_all(&frame(&m)).unwrap();
    assert!(disconnected(&mut base), "misaligned NextCommand accepted");
    still_serving(&mut server);
    // NextCommand beyond the message.
    let mut s = negotiated(&server);
    let mut m = echo.clone();
    m[20..24].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    s.write_all(&frame(&m)).unwrap();
    assert!(disconnected(&mut s), "NextCommand out of range accepted");
    still_serving(&mut server);
    // An endless-looking chain: thousands of elements, each pointing to the next.
    let mut s = negotiated(&server);
    let mut m = Vec::new();
    for i in 0..5000u64 {
        let mut e = echo_msg(1 + i, 1);
        e.resize(72, 0);
        e[20..24].copy_from_slice(&72u32.to_le_bytes());
        m.extend_from_slice(&e);
    }
    s.write_all(&frame(&m)).unwrap();
    assert!(disconnected(&mut s), "a 5000-element chain was accepted");
    still_serving(&mut server);
}

#[test]
fn oversized_credit_requests_stay_within_max_credits() {
    let max = 512u32;
    let mut server = TestServer::start_with(&format!("[limits]\nmax_credits = {max}\n"));
    let mut s = connect(&server);
    s.write_all(&frame(&negotiate_msg(0, 65535))).unwrap();
    let h = response(&mut s).expect("NEGOTIATE answered");
    let mut held = u32::from(h.credits);
    assert!(held <= max, "granted {held} > {max}");
    for mid in 1..=20u64 {
        s.write_all(&frame(&echo_msg(mid, 65535))).unwrap();
        let h = response(&mut s).expect("ECHO answered");
        assert_eq!(h.status, STATUS_SUCCESS);
        held = held - 1 + u32::from(h.credits);
        assert!(held <= max, "client holds {held} credits > {max}");
    }
    still_serving(&mut server);
}

#[test]
fn bogus_session_setup_blobs() {
    let mut server = TestServer::start();
    let huge_der = [0x60u8, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x06, 0x06, 0x2b];
    let blobs: Vec<(&str, Vec<u8>)> = vec![
        (
            "garbage",
            (0..200u32).map(|i| (i * 37 % 251) as u8).collect(),
        ),
        ("truncated NTLM", b"NTLMSSP\0\x01\0".to_vec()),
        ("NTLM AUTHENTICATE without NEGOTIATE", {
            let mut b = b"NTLMSSP\0\x03\0\0\0".to_vec();
            b.extend_from_slice(&[0xFF; 64]);
            b
        }),
        ("huge DER length", huge_der.to_vec()),
        ("DER nesting", [0x60u8, 0x80].repeat(500)),
    ];
    for (what, blob) in blobs {
        let mut s = negotiated(&server);
        s.write_all(&frame(&session_setup_msg(1, &blob))).unwrap();
        // Dropping the connection is an acceptable answer too.
        if let Some(h) = response(&mut s) {
            assert!(
                h.status >= 0xC000_0000,
                "{what}: status {:#x}, wanted an error",
                h.status
            );
        }
        still_serving(&mut server);
    }
}

#[test]
fn invalid_signatures_on_a_signed_session() {
    let mut server = TestServer::start();
    let script = format!(
        "{}/tests/python/badinput_signing.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut c = Process::new(python());
    c.arg(script)
        .args(["127.0.0.1", &server.port.to_string(), USER, PASS]);
    let (ok, out) = run_with_timeout(&mut c, Duration::from_secs(120));
    assert!(
        ok && out.contains(" passed, 0 failed"),
        "{out}\n{}",
        server.log()
    );
    still_serving(&mut server);
}

#[test]
fn huge_length_prefixes_disconnect() {
    let mut server = TestServer::start();
    for len in [16u32 << 20, (16 << 20) + 1, 0x00FF_FFFF, u32::MAX] {
        let mut s = connect(&server);
        s.write_all(&len.to_be_bytes()).unwrap();
        let _ = s.write_all(b"\xfeSMB");
        assert!(disconnected(&mut s), "length {len:#x} accepted");
        still_serving(&mut server);
    }
}

#[test]
fn one_byte_a_second_is_disconnected() {
    let mut server = TestServer::start_with("[limits]\nframe_timeout_secs = 2\n");
    let mut s = connect(&server);
    let msg = frame(&negotiate_msg(0, 1));
    let start = Instant::now();
    let mut dropped = false;
    for b in &msg {
        if s.write_all(std::slice::from_ref(b)).is_err() {
            dropped = true;
            break;
        }
        s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let mut buf = [0u8; 1];
        match s.read(&mut buf) {
            Ok(0) => {
                dropped = true;
                break;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {}
            _ => {
                dropped = true;
                break;
            }
        }
        if start.elapsed() > Duration::from_secs(15) {
            break;
        }
    }
    assert!(dropped, "a client sending one byte a second was kept");
    assert!(start.elapsed() < Duration::from_secs(10));
    still_serving(&mut server);
}

#[test]
fn half_open_flood_does_not_starve_others() {
    let mut server = TestServer::start_with("[limits]\nidle_timeout_secs = 2\n");
    let mut idle: Vec<TcpStream> = (0..500)
        .map(|_| {
            let s = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s
        })
        .collect();
    // A normal client is served while the 500 sit there.
    still_serving(&mut server);
    // The idle ones are dropped after the idle timeout.
    std::thread::sleep(Duration::from_secs(3));
    let closed = idle.iter_mut().map(disconnected).filter(|d| *d).count();
    assert_eq!(closed, idle.len(), "idle connections still open");
    still_serving(&mut server);
}

#[test]
fn request_before_negotiate_disconnects() {
    let mut server = TestServer::start();
    expect_disconnect(
        &mut server,
        &frame(&echo_msg(0, 1)),
        "ECHO before NEGOTIATE",
    );
    expect_disconnect(
        &mut server,
        &frame(&session_setup_msg(0, b"NTLMSSP\0")),
        "SESSION_SETUP before NEGOTIATE",
    );
}

#[test]
fn message_id_reuse_disconnects() {
    let mut server = TestServer::start();
    let mut s = negotiated(&server);
    s.write_all(&frame(&echo_msg(0, 1))).unwrap();
    assert!(disconnected(&mut s), "MessageId 0 reused");
    still_serving(&mut server);
    let mut s = negotiated(&server);
    s.write_all(&frame(&echo_msg(1, 1))).unwrap();
    assert_eq!(response(&mut s).map(|h| h.status), Some(STATUS_SUCCESS));
    s.write_all(&frame(&echo_msg(1, 1))).unwrap();
    assert!(disconnected(&mut s), "MessageId 1 reused");
    still_serving(&mut server);
}
