//! rsmbd-bench: an SMB2/3 I/O benchmark client (issue 6).
//!
//! N connections x QD outstanding requests of random or sequential READ/WRITE over one
//! preallocated file, for a fixed duration after a warm-up. Prints IOPS, MB/s, latency
//! percentiles and CPU time per operation of the server (from /proc, `--server-pid`) and of
//! this client (getrusage). Reuses the server's own codecs: `rsmbd::wire` for messages,
//! `rsmbd::crypto` for the pre-auth hash, key derivation, signing and sealing, and
//! `rsmbd::auth` for NTLMv2. The last line of output is machine-readable (`RESULT k=v ...`);
//! `tools/bench/compare.sh` runs it against rsmbd and Samba side by side.
//!
//! Multichannel (`--channels N`, issue 8): every session gets N-1 more connections bound to
//! it (SMB2_SESSION_FLAG_BINDING, [`proto::Conn::bind`]), round-robin over the addresses of
//! `--server` (a comma-separated list), and the session's `--qd` outstanding requests are
//! spread over its channels.

mod cpu;
mod engine;
mod hist;
mod ntlm;
mod proto;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use rsmbd::crypto::Cipher;

use engine::{Link, Pattern, Stats, Timing, Workload};
use proto::{Conn, ConnectOpts};

/// Command line.
#[derive(Parser, Debug)]
#[command(name = "rsmbd-bench", version, about = "SMB2/3 I/O benchmark client")]
struct Args {
    /// Server address; with --channels, a comma-separated list the channels of each session
    /// dial round-robin (the first one carries the session's first channel).
    #[arg(long, default_value = "127.0.0.1:445")]
    server: String,
    /// Share name.
    #[arg(long, default_value = "share")]
    share: String,
    /// User name (DOMAIN\user accepted).
    #[arg(long, short = 'U', default_value = "tester")]
    user: String,
    /// Password (or RSMBD_BENCH_PASSWORD).
    #[arg(long, default_value = "")]
    password: String,
    /// Data file inside the share (created and filled up to --size when shorter).
    #[arg(long, default_value = "rsmbd-bench.dat")]
    file: String,
    /// Size of the data file (k, m, g suffixes).
    #[arg(long, default_value = "1g", value_parser = parse_size)]
    size: u64,
    /// randread, randwrite, randrw (mix, see --read-pct), seqread or seqwrite.
    #[arg(long, default_value = "randread")]
    layout: String,
    /// Bytes per operation (k, m suffixes).
    #[arg(long, default_value = "8k", value_parser = parse_size)]
    bs: u64,
    /// Percent of reads in randrw.
    #[arg(long, default_value_t = 70)]
    read_pct: u32,
    /// Sessions (each its own connection, session, tree connect and open).
    #[arg(long, default_value_t = 1)]
    conns: usize,
    /// Outstanding requests per session (spread over its channels).
    #[arg(long, default_value_t = 16)]
    qd: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Warm-up seconds before measuring.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Client worker threads (each runs one epoll loop over its share of the connections).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Never sleep waiting for responses (spin on `epoll_wait` with a zero timeout): the
    /// server's sends then never wake a sleeping client, which on loopback the server pays
    /// for. Each client thread uses a whole CPU, so client CPU per operation means nothing.
    #[arg(long)]
    busy_poll: bool,
    /// Sign every request.
    #[arg(long)]
    sign: bool,
    /// Encrypt every request: aes-128-gcm, aes-256-gcm, aes-128-ccm or aes-256-ccm.
    #[arg(long)]
    encrypt: Option<String>,
    /// 3.1.1, 3.0.2, 3.0 or 2.1.
    #[arg(long, default_value = "3.1.1")]
    dialect: String,
    /// Wrap NTLMSSP in SPNEGO (default: raw NTLMSSP).
    #[arg(long)]
    spnego: bool,
    /// Pid of the server, for its CPU time (with all its threads and child processes).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Channels per session (multichannel, 3.x): each session binds N-1 more connections.
    #[arg(long, default_value_t = 1)]
    channels: usize,
    /// Only create and fill the data file, then exit.
    #[arg(long)]
    prepare_only: bool,
    /// Label printed in the RESULT line.
    #[arg(long)]
    label: Option<String>,
}

/// Parses "8192", "8k", "64K", "1m", "1g".
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim().to_ascii_lowercase();
    let (num, mult) = match s.chars().last() {
        Some('k') => (&s[..s.len() - 1], 1u64 << 10),
        Some('m') => (&s[..s.len() - 1], 1 << 20),
        Some('g') => (&s[..s.len() - 1], 1 << 30),
        _ => (&s[..], 1),
    };
    num.parse::<u64>()
        .map(|n| n * mult)
        .map_err(|_| format!("bad size {s:?}"))
}

fn parse_cipher(s: &str) -> Result<Cipher, String> {
    match s.to_ascii_lowercase().as_str() {
        "aes-128-gcm" => Ok(Cipher::Aes128Gcm),
        "aes-256-gcm" => Ok(Cipher::Aes256Gcm),
        "aes-128-ccm" => Ok(Cipher::Aes128Ccm),
        "aes-256-ccm" => Ok(Cipher::Aes256Ccm),
        _ => Err(format!("unknown cipher {s:?}")),
    }
}

fn parse_dialect(s: &str) -> Result<u16, String> {
    match s {
        "3.1.1" | "311" => Ok(0x0311),
        "3.0.2" | "302" => Ok(0x0302),
        "3.0" | "300" => Ok(0x0300),
        "2.1" | "210" => Ok(0x0210),
        _ => Err(format!(
            "unsupported dialect {s:?} (3.1.1, 3.0.2, 3.0 or 2.1)"
        )),
    }
}

fn parse_layout(s: &str, read_pct: u32) -> Result<Pattern, String> {
    match s {
        "randread" => Ok(Pattern::RandRead),
        "randwrite" => Ok(Pattern::RandWrite),
        "randrw" | "mix" => Ok(Pattern::Mix {
            read_pct: read_pct.min(100),
        }),
        "seqread" => Ok(Pattern::SeqRead),
        "seqwrite" => Ok(Pattern::SeqWrite),
        _ => Err(format!(
            "unknown layout {s:?} (randread, randwrite, randrw, seqread, seqwrite)"
        )),
    }
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("rsmbd-bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(a: &Args) -> Result<bool, String> {
    let dialect = parse_dialect(&a.dialect)?;
    let addrs: Vec<String> = a
        .server
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if addrs.is_empty() {
        return Err("--server names no address".into());
    }
    if a.channels == 0 || a.channels > 32 {
        return Err("--channels must be 1..=32".into());
    }
    if a.channels > 1 && dialect < 0x0300 {
        return Err("--channels > 1 (multichannel) needs dialect 3.x".into());
    }
    let cipher = a.encrypt.as_deref().map(parse_cipher).transpose()?;
    if cipher.is_some() && dialect < 0x0300 {
        return Err("encryption needs dialect 3.x".into());
    }
    let pattern = parse_layout(&a.layout, a.read_pct)?;
    if a.bs == 0 || a.bs > 8 << 20 || a.conns == 0 || a.qd == 0 || a.threads == 0 {
        return Err("--bs, --conns, --qd and --threads must be positive (bs <= 8 MiB)".into());
    }
    if a.size < a.bs {
        return Err("--size is smaller than --bs".into());
    }
    let o = ConnectOpts {
        addr: addrs[0].clone(),
        share: a.share.clone(),
        user: a.user.clone(),
        password: if a.password.is_empty() {
            std::env::var("RSMBD_BENCH_PASSWORD").unwrap_or_default()
        } else {
            a.password.clone()
        },
        dialect,
        sign: a.sign,
        cipher,
        spnego: a.spnego,
        file: a.file.clone(),
    };

    // Connect; the first connection prepares the file.
    let mut first = Conn::connect(&o)?;
    if first.file_size < a.size {
        let t = Instant::now();
        eprintln!(
            "rsmbd-bench: filling {} from {} to {} bytes...",
            a.file, first.file_size, a.size
        );
        first.fill_to(a.size)?;
        eprintln!("rsmbd-bench: filled in {:.1} s", t.elapsed().as_secs_f64());
    }
    if a.prepare_only {
        return Ok(true);
    }
    let bs = a.bs as u32;
    if bs > first.max_read.min(first.max_write) {
        return Err(format!(
            "--bs {bs} exceeds the server's MaxReadSize/MaxWriteSize ({}/{})",
            first.max_read, first.max_write
        ));
    }
    let w = Workload {
        pattern,
        bs,
        span: a.size.min(first.file_size) / a.bs * a.bs,
    };
    let mut sessions = vec![first];
    for _ in 1..a.conns {
        sessions.push(Conn::connect(&o)?);
    }
    // Every session's channels: its own connection, then N-1 bound ones; each with its share
    // of the session's QD (at least 1).
    let mut conns: Vec<(Conn, usize)> = Vec::new();
    for s in sessions {
        let mut bound = Vec::new();
        for ch in 1..a.channels {
            bound.push(s.bind(&o, &addrs[ch % addrs.len()], ch)?);
        }
        for (ch, c) in std::iter::once(s).chain(bound).enumerate() {
            let qd = (a.qd / a.channels + usize::from(ch < a.qd % a.channels)).max(1);
            conns.push((c, qd));
        }
    }
    if a.channels > 1 {
        eprintln!(
            "rsmbd-bench: {} session(s) x {} channels over {}",
            a.conns,
            a.channels,
            addrs.join(", ")
        );
    }
    let total = conns.len();
    let mut per_thread: Vec<Vec<Link>> = (0..a.threads.min(total)).map(|_| Vec::new()).collect();
    let n = per_thread.len();
    for (i, (c, qd)) in conns.into_iter().enumerate() {
        per_thread[i % n].push(Link::new(c, &w, qd, i, total)?);
    }

    let base = Instant::now();
    let warm_end = base + Duration::from_secs_f64(a.warmup.max(0.0));
    let end = warm_end + Duration::from_secs_f64(a.duration.max(0.1));
    let t = Timing {
        base,
        warm_end,
        end,
        busy_poll: a.busy_poll,
    };
    let handles: Vec<_> = per_thread
        .into_iter()
        .map(|links| std::thread::spawn(move || engine::run(links, w, t)))
        .collect();
    sleep_until(warm_end);
    let srv0 = a.server_pid.and_then(cpu::sample_tree);
    let cli0 = cpu::self_seconds();
    let m0 = Instant::now();
    sleep_until(end);
    let srv1 = a.server_pid.and_then(cpu::sample_tree);
    let cli1 = cpu::self_seconds();
    let elapsed = m0.elapsed().as_secs_f64();
    let mut stats = Stats::default();
    let mut open_links = Vec::new();
    for h in handles {
        let (s, links) = h.join().map_err(|_| "worker thread panicked")?;
        stats.merge(&s);
        open_links.push(links);
    }
    drop(open_links);

    let ops = stats.ops.max(1) as f64;
    let iops = stats.ops as f64 / elapsed;
    let mbps = stats.bytes as f64 / elapsed / 1e6;
    let us = |q: f64| stats.hist.quantile(q) as f64 / 1000.0;
    let srv_s = match (&srv0, &srv1) {
        (Some(x), Some(y)) => Some(cpu::tree_seconds_between(x, y)),
        _ => None,
    };
    let srv_us = srv_s.map(|s| s * 1e6 / ops);
    let cli_us = (cli1 - cli0) * 1e6 / ops;
    let enc = a.encrypt.as_deref().unwrap_or("none");
    let label = a.label.clone().unwrap_or_else(|| {
        format!(
            "{}-{}-{}x{}{}{}{}",
            a.layout,
            fmt_size(a.bs),
            a.conns,
            a.qd,
            if a.channels > 1 {
                format!("-{}ch", a.channels)
            } else {
                String::new()
            },
            if a.sign { "-signed" } else { "" },
            a.encrypt
                .as_deref()
                .map(|e| format!("-{e}"))
                .unwrap_or_default()
        )
    });
    println!(
        "{label}: dialect {} sign {} encrypt {enc}, {} sessions x {} channel(s), QD {} per session, {:.1} s measured after {:.1} s warm-up",
        a.dialect,
        if a.sign { "yes" } else { "no" },
        a.conns,
        a.channels,
        a.qd,
        elapsed,
        a.warmup
    );
    println!(
        "  {} ops ({} reads), {:.0} IOPS, {:.1} MB/s, errors {}",
        stats.ops, stats.reads, iops, mbps, stats.errors
    );
    println!(
        "  latency us: p50 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}",
        us(0.5),
        us(0.99),
        us(0.999),
        stats.hist.max() as f64 / 1000.0
    );
    match srv_us {
        Some(s) => println!(
            "  CPU per op: server {s:.1} us, client {cli_us:.1} us (server {:.2} s, client {:.2} s)",
            srv_s.unwrap_or(0.0),
            cli1 - cli0
        ),
        None => println!(
            "  CPU per op: client {cli_us:.1} us (client {:.2} s); pass --server-pid for the server's",
            cli1 - cli0
        ),
    }
    if a.busy_poll {
        println!("  the client busy-polled: its CPU per op is its whole CPU, not its cost");
    }
    if let Some(e) = &stats.first_error {
        println!("  first error: {e}");
    }
    // A spinning client's CPU time says nothing about its cost per operation.
    let cli_field = if a.busy_poll {
        "na".to_string()
    } else {
        format!("{cli_us:.2}")
    };
    println!(
        "RESULT label={label} iops={iops:.0} mbps={mbps:.1} p50_us={:.1} p99_us={:.1} p999_us={:.1} server_us_op={} client_us_op={cli_field} errors={} ops={}",
        us(0.5),
        us(0.99),
        us(0.999),
        srv_us.map(|s| format!("{s:.1}")).unwrap_or_else(|| "na".into()),
        stats.errors,
        stats.ops
    );
    Ok(stats.errors == 0 && stats.ops > 0)
}

fn fmt_size(b: u64) -> String {
    if b >= 1 << 20 && b.is_multiple_of(1 << 20) {
        format!("{}m", b >> 20)
    } else if b >= 1 << 10 && b.is_multiple_of(1 << 10) {
        format!("{}k", b >> 10)
    } else {
        b.to_string()
    }
}
