//! rsmbd-tcp-floor: what the kernel's TCP path alone allows on this machine (issue 6's
//! connection-scaling line).
//!
//! A server that does nothing but answer each fixed-size request with a fixed-size reply, the
//! sizes of an 8 KiB SMB2 READ (a 117-byte request, an 8,276-byte response, framing included),
//! and a client that keeps `--qd` requests outstanding on each of `--conns` connections. Both
//! are one thread with one epoll loop in this process, the server pinned to CPU 0 and the
//! client to CPU 1 (as `compare.sh` with `BENCH_PIN=1`), and both batch as rsmbd does: one
//! `recv` for whatever arrived and one `write` for all the replies it asked for. No file
//! system, no parsing, no allocation: the IOPS it reaches at a layout is the most any server
//! can reach there over loopback TCP on this machine, and its server CPU per operation is the
//! least. `tools/bench/floor.sh` runs it over the scaling layouts beside rsmbd.
//!
//! Hand-written on libc's epoll rather than on tokio: the floor must not include a runtime's
//! cost, and the loop is forty lines.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

/// Command line.
#[derive(Parser, Debug)]
#[command(
    name = "rsmbd-tcp-floor",
    about = "loopback TCP request/response floor"
)]
struct Args {
    /// Connections.
    #[arg(long, default_value_t = 1)]
    conns: usize,
    /// Requests outstanding per connection.
    #[arg(long, default_value_t = 1)]
    qd: usize,
    /// Request bytes (an SMB2 READ with its 4-byte Direct-TCP header).
    #[arg(long, default_value_t = 117)]
    request: usize,
    /// Reply bytes (an 8 KiB SMB2 READ response with its header).
    #[arg(long, default_value_t = 8276)]
    reply: usize,
    /// Seconds measured (after one second of warm-up).
    #[arg(long, default_value_t = 3)]
    duration: u64,
    /// The client spins instead of sleeping in epoll_wait (rsmbd-bench --busy-poll).
    #[arg(long)]
    busy_poll: bool,
    /// Label of the RESULT line.
    #[arg(long, default_value = "floor")]
    label: String,
}

fn main() -> ExitCode {
    let a = Args::parse();
    if a.conns == 0 || a.qd == 0 || a.qd > 256 || a.request == 0 || a.reply == 0 {
        eprintln!(
            "rsmbd-tcp-floor: --conns, --request and --reply must be positive, --qd 1 to 256"
        );
        return ExitCode::from(2);
    }
    match run(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rsmbd-tcp-floor: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(a: &Args) -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut clients = Vec::with_capacity(a.conns);
    let mut accepted = Vec::with_capacity(a.conns);
    for _ in 0..a.conns {
        clients.push(TcpStream::connect(addr)?);
        accepted.push(listener.accept()?.0);
    }
    let (request, reply) = (a.request, a.reply);
    // The client's phase (warm-up, measuring, done), which the server follows, so that both
    // count CPU time and operations over the same window.
    let phase = Arc::new(AtomicU8::new(WARMING));
    let server = std::thread::spawn({
        let phase = phase.clone();
        move || -> std::io::Result<(u64, Duration)> {
            pin(0);
            serve(accepted, request, reply, &phase)
        }
    });
    pin(1);
    let driven = drive(&mut clients, a, &phase);
    phase.store(DONE, Ordering::Release);
    drop(clients);
    let (served, server_cpu) = server
        .join()
        .map_err(|_| std::io::Error::other("server"))??;
    let (ops, client_cpu) = driven?;
    let iops = ops as f64 / a.duration as f64;
    let per = |cpu: Duration, n: u64| cpu.as_secs_f64() * 1e6 / n.max(1) as f64;
    // A spinning client's CPU time is its whole window, not its cost (as rsmbd-bench).
    let client = match a.busy_poll {
        true => "na".to_string(),
        false => format!("{:.2}", per(client_cpu, ops)),
    };
    println!(
        "RESULT label={} iops={:.0} server_us_op={:.2} client_us_op={client} conns={} qd={} ops={ops}",
        a.label,
        iops,
        per(server_cpu, served),
        a.conns,
        a.qd
    );
    Ok(())
}

/// Phases of a run, set by the client.
const WARMING: u8 = 0;
const MEASURING: u8 = 1;
const DONE: u8 = 2;

/// Pins the calling thread to `cpu` (best effort: a one-CPU machine keeps both on CPU 0).
fn pin(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET stays inside it; 0 means this thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// An epoll set over `socks` (non-blocking, TCP_NODELAY), readable events only.
fn epoll_over(socks: &[TcpStream]) -> std::io::Result<i32> {
    // SAFETY: plain system call.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return Err(std::io::Error::last_os_error());
    }
    for (i, s) in socks.iter().enumerate() {
        s.set_nonblocking(true)?;
        s.set_nodelay(true)?;
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: i as u64,
        };
        // SAFETY: ep and the socket are open; ev is valid.
        unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, s.as_raw_fd(), &mut ev) };
    }
    Ok(ep)
}

/// Writes all of `buf` (the socket buffers are far larger than one round of replies, so this
/// spins only if the peer stops reading).
fn write_all(s: &mut TcpStream, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        match s.write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::hint::spin_loop(),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The server: per readable socket, one read of what arrived and one write of a reply per
/// complete request in it. Returns the requests answered and the thread's CPU time while the
/// client was measuring.
fn serve(
    mut socks: Vec<TcpStream>,
    request: usize,
    reply: usize,
    phase: &AtomicU8,
) -> std::io::Result<(u64, Duration)> {
    let ep = epoll_over(&socks)?;
    let mut start: Option<(u64, Duration)> = None;
    let mut partial = vec![0usize; socks.len()];
    let mut inbuf = vec![0u8; 1 << 20];
    let out = vec![0x5au8; reply * 256];
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; 64];
    let mut answered = 0u64;
    loop {
        match phase.load(Ordering::Acquire) {
            MEASURING if start.is_none() => start = Some((answered, thread_cpu())),
            DONE => break,
            _ => {}
        }
        // SAFETY: events is a valid buffer of 64 entries.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), 64, 50) };
        for ev in events.iter().take(n.max(0) as usize) {
            let i = ev.u64 as usize;
            let got = match socks[i].read(&mut inbuf) {
                Ok(0) => continue,
                Ok(g) => g,
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(_) => continue,
            };
            let bytes = partial[i] + got;
            let whole = (bytes / request).min(256);
            partial[i] = bytes - whole * request;
            if whole > 0 {
                if write_all(&mut socks[i], &out[..whole * reply]).is_err() {
                    continue;
                }
                answered += whole as u64;
            }
        }
    }
    // SAFETY: closing our epoll descriptor.
    unsafe { libc::close(ep) };
    let (a0, cpu0) = start.unwrap_or((answered, thread_cpu()));
    Ok((answered - a0, thread_cpu() - cpu0))
}

/// The client: `qd` requests outstanding per connection; each reply read lets one more go, all
/// that one read freed in one write. Returns the replies counted in the `--duration` window
/// after the warm-up, and the thread's CPU time in it.
fn drive(socks: &mut [TcpStream], a: &Args, phase: &AtomicU8) -> std::io::Result<(u64, Duration)> {
    let mut cpu0 = None;
    let ops = drive_loop(socks, a, phase, &mut cpu0)?;
    Ok((ops, cpu0.map_or(Duration::ZERO, |c| thread_cpu() - c)))
}

/// [`drive`]'s loop; sets `cpu0` when the measured window starts.
fn drive_loop(
    socks: &mut [TcpStream],
    a: &Args,
    phase: &AtomicU8,
    cpu0: &mut Option<Duration>,
) -> std::io::Result<u64> {
    let ep = epoll_over(socks)?;
    let req = vec![0xa5u8; a.request * a.qd];
    let mut partial = vec![0usize; socks.len()];
    let mut inbuf = vec![0u8; 1 << 20];
    for s in socks.iter_mut() {
        write_all(s, &req[..a.request * a.qd])?;
    }
    let start = Instant::now();
    let warm_end = start + Duration::from_secs(1);
    let end = warm_end + Duration::from_secs(a.duration);
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; 64];
    let mut counted = 0u64;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let timeout = if a.busy_poll { 0 } else { 50 };
        // SAFETY: events is a valid buffer of 64 entries.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), 64, timeout) };
        let measuring = now >= warm_end;
        if measuring && cpu0.is_none() {
            *cpu0 = Some(thread_cpu());
            phase.store(MEASURING, Ordering::Release);
        }
        for ev in events.iter().take(n.max(0) as usize) {
            let i = ev.u64 as usize;
            let got = match socks[i].read(&mut inbuf) {
                Ok(0) => return Err(std::io::Error::other("server closed")),
                Ok(g) => g,
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            };
            let bytes = partial[i] + got;
            let whole = bytes / a.reply;
            partial[i] = bytes - whole * a.reply;
            if whole > 0 {
                write_all(&mut socks[i], &req[..whole * a.request])?;
                if measuring {
                    counted += whole as u64;
                }
            }
        }
    }
    // SAFETY: closing our epoll descriptor.
    unsafe { libc::close(ep) };
    Ok(counted)
}
