//! The measured path: each worker thread drives its connections with one epoll loop over
//! non-blocking sockets, keeping QD requests outstanding per connection (pipelined with
//! sequential MessageIds, MS-SMB2 3.2.4.1.3, within the credits granted, 3.2.5.1.4).
//!
//! Nothing here allocates per operation: requests are stamped from a pre-encoded template
//! (MessageId, credits asked, offset patched in place), signed or sealed in place into a
//! reused send buffer, responses are parsed (and decrypted) in place in a reused receive
//! buffer, and latencies go into a fixed histogram. One clock read per received batch.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::Instant;

use rsmbd::crypto::{try_seal_message, unseal_message, Signer};
use rsmbd::wire::header::flags;
use rsmbd::wire::read::{Channel, ReadRequest};
use rsmbd::wire::write::WriteRequest;
use rsmbd::wire::{Bytes, BytesMut, Command, Header, HEADER_LEN};

use crate::hist::Histogram;
use crate::proto::{credit_charge, Conn, Crypt, STATUS_PENDING, STATUS_SUCCESS};

/// Which operations a workload issues and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// Random aligned reads.
    RandRead,
    /// Random aligned writes.
    RandWrite,
    /// Random aligned reads and writes, `read_pct` percent reads.
    Mix {
        /// Percent of reads.
        read_pct: u32,
    },
    /// Sequential reads (each connection from its own starting point).
    SeqRead,
    /// Sequential writes.
    SeqWrite,
}

/// The workload of one run.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// Operation pattern.
    pub pattern: Pattern,
    /// Bytes per operation.
    pub bs: u32,
    /// Bytes of the file the workload touches (from offset 0).
    pub span: u64,
}

/// Results of one worker (or all, merged).
#[derive(Default)]
pub struct Stats {
    /// Operations completed inside the measured window.
    pub ops: u64,
    /// Of which reads.
    pub reads: u64,
    /// Bytes moved inside the measured window.
    pub bytes: u64,
    /// Responses with an error status or unexpected form, warm-up included.
    pub errors: u64,
    /// The first error seen.
    pub first_error: Option<String>,
    /// Latency of operations completed inside the measured window.
    pub hist: Histogram,
}

impl Stats {
    /// Adds another worker's results.
    pub fn merge(&mut self, o: &Stats) {
        self.ops += o.ops;
        self.reads += o.reads;
        self.bytes += o.bytes;
        self.errors += o.errors;
        if self.first_error.is_none() {
            self.first_error.clone_from(&o.first_error);
        }
        self.hist.merge(&o.hist);
    }

    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(what);
        }
    }
}

/// When the phases of a run start and end.
#[derive(Clone, Copy)]
pub struct Timing {
    /// Zero of the latency clock.
    pub base: Instant,
    /// End of warm-up, start of measurement.
    pub warm_end: Instant,
    /// End of measurement.
    pub end: Instant,
    /// Poll without sleeping (`--busy-poll`): the worker never waits in `epoll_wait`, so a
    /// server's send never has to wake it. On loopback that wake-up (and the cross-CPU
    /// interrupt behind it) runs in the *server's* send path and is charged to the server;
    /// with a real network it is the client machine's work.
    pub busy_poll: bool,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    busy: bool,
    write: bool,
    mid: u64,
    start_ns: u64,
}

/// One connection on the measured path.
pub struct Link {
    sock: TcpStream,
    session_id: u64,
    next_mid: u64,
    credits: u32,
    charge: u16,
    signer: Option<Signer>,
    crypt: Option<Crypt>,
    slots: Vec<Slot>,
    inflight: usize,
    rbuf: Vec<u8>,
    rlen: usize,
    wbuf: Vec<u8>,
    wpos: usize,
    scratch: Vec<u8>,
    read_tmpl: Vec<u8>,
    write_tmpl: Vec<u8>,
    rng: u64,
    seq_next: u64,
    dead: bool,
    want_out: bool,
}

/// Header offsets patched per request.
const OFF_CREDITS: usize = 14;
const OFF_MID: usize = 24;
/// Offset field of READ and WRITE bodies (body offset 8).
const OFF_FILE_OFFSET: usize = HEADER_LEN + 8;

impl Link {
    /// Prepares a connection for the workload (templates, buffers; the socket turns
    /// non-blocking). `qd` requests are kept outstanding on it; `index`/`count` place its
    /// sequential cursor.
    pub fn new(
        c: Conn,
        w: &Workload,
        qd: usize,
        index: usize,
        count: usize,
    ) -> Result<Link, String> {
        c.sock.set_nonblocking(true).map_err(|e| e.to_string())?;
        let charge = credit_charge(c.large_mtu, w.bs);
        let header = |command: Command| {
            let mut out = BytesMut::with_capacity(HEADER_LEN + 64 + w.bs as usize);
            Header {
                credit_charge: charge,
                status: 0,
                command,
                credits: charge,
                flags: if c.signer.is_some() { flags::SIGNED } else { 0 },
                next_command: 0,
                message_id: 0,
                async_id: 0,
                process_id: 0xFEFF,
                tree_id: c.tree_id,
                session_id: c.session_id,
                signature: [0; 16],
            }
            .encode(&mut out);
            out
        };
        let mut r = header(Command::READ);
        ReadRequest {
            padding: 0x50,
            flags: 0,
            length: w.bs,
            offset: 0,
            file_id: c.file_id,
            minimum_count: 0,
            channel: Channel::NONE,
            remaining_bytes: 0,
            read_channel_info: Bytes::new(),
        }
        .encode(&mut r);
        let mut wr = header(Command::WRITE);
        let data: Vec<u8> = (0..w.bs).map(|i| (i * 31 + 7) as u8).collect();
        WriteRequest {
            offset: 0,
            file_id: c.file_id,
            channel: Channel::NONE,
            remaining_bytes: 0,
            flags: 0,
            data: Bytes::from(data),
            write_channel_info: Bytes::new(),
        }
        .encode(&mut wr);
        let frame = HEADER_LEN + 64 + w.bs as usize + 64;
        let blocks = (w.span / w.bs as u64).max(1);
        let mut seed = [0u8; 8];
        getrandom::getrandom(&mut seed).map_err(|e| e.to_string())?;
        Ok(Link {
            session_id: c.session_id,
            next_mid: c.next_mid,
            credits: c.credits,
            charge,
            signer: c.signer,
            crypt: c.crypt,
            slots: vec![Slot::default(); qd],
            inflight: 0,
            rbuf: vec![0; (4 * frame).max(1 << 20)],
            rlen: 0,
            wbuf: Vec::with_capacity(qd * frame + 4096),
            wpos: 0,
            scratch: Vec::with_capacity(frame),
            read_tmpl: r.to_vec(),
            write_tmpl: wr.to_vec(),
            rng: u64::from_le_bytes(seed) | 1,
            seq_next: (blocks * index as u64 / count.max(1) as u64) * w.bs as u64,
            dead: false,
            want_out: false,
            sock: c.sock,
        })
    }

    #[inline]
    fn next_rand(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Appends one request to the send buffer; false when no slot or credit is free.
    fn issue(&mut self, w: &Workload, now_ns: u64, stats: &mut Stats) -> bool {
        if self.inflight >= self.slots.len() || self.credits < self.charge as u32 {
            return false;
        }
        let Some(slot) = self.slots.iter().position(|s| !s.busy) else {
            return false;
        };
        let bs = w.bs as u64;
        let blocks = (w.span / bs).max(1);
        let (write, offset) = match w.pattern {
            Pattern::RandRead => (false, (self.next_rand() % blocks) * bs),
            Pattern::RandWrite => (true, (self.next_rand() % blocks) * bs),
            Pattern::Mix { read_pct } => {
                let r = self.next_rand();
                ((r >> 40) % 100 >= read_pct as u64, (r % blocks) * bs)
            }
            Pattern::SeqRead | Pattern::SeqWrite => {
                let o = self.seq_next;
                self.seq_next = if o + 2 * bs > blocks * bs { 0 } else { o + bs };
                (w.pattern == Pattern::SeqWrite, o)
            }
        };
        let mid = self.next_mid;
        let charge = self.charge as u32;
        // Ask for more than the charge while the window is short of QD requests.
        let window = self.credits + self.inflight as u32 * charge;
        let target = (self.slots.len() as u32 + 4) * charge;
        let ask = charge + target.saturating_sub(window).min(256);
        self.next_mid += charge as u64;
        self.credits -= charge;
        let tmpl = if write {
            &self.write_tmpl
        } else {
            &self.read_tmpl
        };
        let patch = |m: &mut [u8]| {
            m[OFF_CREDITS..OFF_CREDITS + 2].copy_from_slice(&(ask as u16).to_le_bytes());
            m[OFF_MID..OFF_MID + 8].copy_from_slice(&mid.to_le_bytes());
            m[OFF_FILE_OFFSET..OFF_FILE_OFFSET + 8].copy_from_slice(&offset.to_le_bytes());
        };
        if let Some(c) = &self.crypt {
            self.scratch.clear();
            self.scratch.extend_from_slice(tmpl);
            patch(&mut self.scratch);
            let Some(nonce) = c.nonces.next() else {
                stats.error("nonces exhausted".into());
                self.dead = true;
                return false;
            };
            let start = self.wbuf.len();
            let len = (self.scratch.len() + rsmbd::crypto::TRANSFORM_HEADER_LEN) as u32;
            self.wbuf.extend_from_slice(&len.to_be_bytes());
            if try_seal_message(
                &c.seal,
                &nonce,
                self.session_id,
                &self.scratch,
                &mut self.wbuf,
            )
            .is_err()
            {
                self.wbuf.truncate(start);
                stats.error("encryption failed".into());
                self.dead = true;
                return false;
            }
        } else {
            let len = tmpl.len() as u32;
            self.wbuf.extend_from_slice(&len.to_be_bytes());
            let start = self.wbuf.len();
            self.wbuf.extend_from_slice(tmpl);
            let m = &mut self.wbuf[start..];
            patch(m);
            if let Some(s) = &self.signer {
                s.sign(m);
            }
        }
        self.slots[slot] = Slot {
            busy: true,
            write,
            mid,
            start_ns: now_ns,
        };
        self.inflight += 1;
        true
    }

    /// Writes what the send buffer holds; remembers whether the socket was full.
    fn flush(&mut self, stats: &mut Stats) {
        while self.wpos < self.wbuf.len() {
            match (&self.sock).write(&self.wbuf[self.wpos..]) {
                Ok(0) => {
                    stats.error("connection closed while sending".into());
                    self.dead = true;
                    return;
                }
                Ok(n) => self.wpos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.want_out = true;
                    return;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    stats.error(format!("send: {e}"));
                    self.dead = true;
                    return;
                }
            }
        }
        self.wbuf.clear();
        self.wpos = 0;
        self.want_out = false;
    }

    /// Reads what the socket has, completes every whole response in it.
    fn receive(&mut self, w: &Workload, t: &Timing, measuring: bool, stats: &mut Stats) {
        if self.rlen == self.rbuf.len() {
            stats.error("response larger than the receive buffer".into());
            self.dead = true;
            return;
        }
        let n = match (&self.sock).read(&mut self.rbuf[self.rlen..]) {
            Ok(0) => {
                stats.error("server closed the connection".into());
                self.dead = true;
                return;
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                return
            }
            Err(e) => {
                stats.error(format!("receive: {e}"));
                self.dead = true;
                return;
            }
        };
        let now_ns = t.base.elapsed().as_nanos() as u64;
        self.rlen += n;
        let mut rbuf = std::mem::take(&mut self.rbuf);
        let mut pos = 0;
        while self.rlen - pos >= 4 {
            let len = (u32::from_be_bytes([rbuf[pos], rbuf[pos + 1], rbuf[pos + 2], rbuf[pos + 3]])
                & 0x00FF_FFFF) as usize;
            if self.rlen - pos - 4 < len {
                break;
            }
            let frame = &mut rbuf[pos + 4..pos + 4 + len];
            self.complete(frame, w, now_ns, measuring, stats);
            pos += 4 + len;
        }
        if pos > 0 {
            rbuf.copy_within(pos..self.rlen, 0);
            self.rlen -= pos;
        }
        self.rbuf = rbuf;
    }

    /// Handles one response message.
    fn complete(
        &mut self,
        frame: &mut [u8],
        w: &Workload,
        now_ns: u64,
        measuring: bool,
        stats: &mut Stats,
    ) {
        let msg: &[u8] = if frame.first() == Some(&0xFD) {
            let Some(c) = &self.crypt else {
                stats.error("encrypted response on a plain session".into());
                return;
            };
            match unseal_message(&c.open, frame) {
                Ok((_, range)) => &frame[range],
                Err(e) => {
                    stats.error(format!("decrypt: {e}"));
                    self.dead = true;
                    return;
                }
            }
        } else {
            frame
        };
        if msg.len() < HEADER_LEN || msg[..4] != [0xFE, b'S', b'M', b'B'] {
            stats.error("malformed response".into());
            self.dead = true;
            return;
        }
        let u16_at = |o: usize| u16::from_le_bytes([msg[o], msg[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes([msg[o], msg[o + 1], msg[o + 2], msg[o + 3]]);
        let status = u32_at(8);
        let command = u16_at(12);
        self.credits += u16_at(14) as u32;
        let hflags = u32_at(16);
        let mid = u64::from_le_bytes(msg[24..32].try_into().unwrap_or([0; 8]));
        if status == STATUS_PENDING && hflags & flags::ASYNC_COMMAND != 0 {
            return;
        }
        let Some(i) = self.slots.iter().position(|s| s.busy && s.mid == mid) else {
            stats.error(format!("response to unknown MessageId {mid}"));
            return;
        };
        let slot = self.slots[i];
        self.slots[i].busy = false;
        self.inflight -= 1;
        let expected = if slot.write {
            Command::WRITE.0
        } else {
            Command::READ.0
        };
        if status != STATUS_SUCCESS || command != expected {
            stats.error(format!(
                "{} at MessageId {mid}: status {status:#010x}",
                if slot.write { "WRITE" } else { "READ" }
            ));
            return;
        }
        if measuring {
            stats.ops += 1;
            stats.reads += u64::from(!slot.write);
            stats.bytes += w.bs as u64;
            stats.hist.record(now_ns.saturating_sub(slot.start_ns));
        }
    }
}

/// Runs `links` until `t.end`; returns the worker's results and the connections, still
/// open: the caller closes them only after its last CPU sample, because a server that
/// forks per connection (Samba) ends that process, and loses its CPU time, on disconnect.
pub fn run(mut links: Vec<Link>, w: Workload, t: Timing) -> (Stats, Vec<Link>) {
    let mut stats = Stats::default();
    // SAFETY: epoll_create1 has no memory preconditions.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        stats.error("epoll_create1 failed".into());
        return (stats, links);
    }
    let set_interest = |op: libc::c_int, link: &Link, idx: usize| {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | if link.want_out { libc::EPOLLOUT } else { 0 }) as u32,
            u64: idx as u64,
        };
        // SAFETY: ep and the socket are open descriptors; ev is a valid epoll_event.
        unsafe { libc::epoll_ctl(ep, op, link.sock.as_raw_fd(), &mut ev) };
    };
    let now_ns = t.base.elapsed().as_nanos() as u64;
    for (i, l) in links.iter_mut().enumerate() {
        while l.issue(&w, now_ns, &mut stats) {}
        l.flush(&mut stats);
        set_interest(libc::EPOLL_CTL_ADD, l, i);
    }
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; 64];
    let mut measuring = false;
    let mut alive = links.len();
    loop {
        let now = Instant::now();
        if now >= t.end || alive == 0 {
            break;
        }
        if !measuring && now >= t.warm_end {
            measuring = true;
            stats.ops = 0;
            stats.reads = 0;
            stats.bytes = 0;
            stats.hist.clear();
        }
        let timeout = if t.busy_poll {
            0
        } else {
            (t.end - now).as_millis().clamp(1, 50) as libc::c_int
        };
        // SAFETY: events is a valid buffer of 64 epoll_events.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, timeout) };
        for ev in events.iter().take(n.max(0) as usize) {
            let idx = ev.u64 as usize;
            let Some(l) = links.get_mut(idx) else {
                continue;
            };
            if l.dead {
                continue;
            }
            let was_out = l.want_out;
            if ev.events & (libc::EPOLLIN | libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0 {
                l.receive(&w, &t, measuring, &mut stats);
                let now_ns = t.base.elapsed().as_nanos() as u64;
                while !l.dead && l.issue(&w, now_ns, &mut stats) {}
            }
            if !l.dead && l.inflight == 0 && Instant::now() < t.end {
                // Nothing outstanding and nothing could be sent: the server granted no credits.
                stats.error("out of credits".into());
                l.dead = true;
            }
            if !l.dead {
                l.flush(&mut stats);
            }
            if l.dead {
                // SAFETY: removing an fd we registered.
                unsafe {
                    libc::epoll_ctl(
                        ep,
                        libc::EPOLL_CTL_DEL,
                        l.sock.as_raw_fd(),
                        std::ptr::null_mut(),
                    )
                };
                alive -= 1;
            } else if l.want_out != was_out {
                set_interest(libc::EPOLL_CTL_MOD, l, idx);
            }
        }
    }
    // SAFETY: closing the epoll descriptor we created.
    unsafe { libc::close(ep) };
    (stats, links)
}
