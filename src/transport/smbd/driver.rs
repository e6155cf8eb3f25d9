//! Joins the protocol core ([`super::Core`]) and a verbs implementation: keeps receives
//! posted, feeds completed receives to the core, posts what the core wants sent, and runs
//! placement operations (RDMA Read/Write per [`super::placement`] segment) to completion.
//! Synchronous and non-blocking: the owner calls [`Driver::pump`] whenever completions may
//! be ready (the real transport after a completion-channel event; tests in a loop).
use super::placement::{self, Segment};
use super::verbs::{Completion, Remote, Verbs};
use super::{Core, ProtocolError};
use crate::transport::BufferDescriptor;
use crate::wire::NtStatus;
use bytes::{Bytes, BytesMut};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::time::Instant;

/// Identifies a placement operation.
pub type OpId = u64;

/// Why the driver stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverError {
    /// The peer broke the protocol.
    Protocol(ProtocolError),
    /// The device failed a work request (the queue pair is unusable).
    Device(String),
}

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriverError::Protocol(e) => write!(f, "{e}"),
            DriverError::Device(s) => write!(f, "RDMA device: {s}"),
        }
    }
}

enum Wr {
    Recv,
    Send,
    Seg(OpId, usize),
}

struct Op {
    buf: Option<BytesMut>,
    pending: usize,
    failed: Option<String>,
}

/// A placement segment waiting for local registered memory (the verbs answered
/// `WouldBlock`: the pool is exhausted until a completion releases a buffer).
struct Waiting {
    wr_id: u64,
    remote: Remote,
    /// The bytes to write (RDMA Write); `None` for an RDMA Read.
    data: Option<Bytes>,
}

/// Result of a placement operation: the bytes read (RDMA Read) or empty (RDMA Write).
pub type OpResult = Result<Bytes, String>;

/// Core + verbs.
pub struct Driver<V: Verbs> {
    core: Core,
    verbs: V,
    next_wr: u64,
    wrs: HashMap<u64, Wr>,
    ops: HashMap<OpId, Op>,
    done: HashMap<OpId, OpResult>,
    next_op: OpId,
    max_rw: u32,
    /// Sends posted and not completed (bounded by the send queue depth).
    pub sends_in_flight: usize,
    completions: Vec<Completion>,
    /// Segments waiting for local buffers, in the order they were started.
    waiting: VecDeque<Waiting>,
}

impl<V: Verbs> Driver<V> {
    /// Wraps a fresh core and the verbs of its queue pair; `max_rw` caps one placement.
    pub fn new(core: Core, verbs: V, max_rw: u32) -> Self {
        Driver {
            core,
            verbs,
            next_wr: 1,
            wrs: HashMap::new(),
            ops: HashMap::new(),
            done: HashMap::new(),
            next_op: 1,
            max_rw,
            sends_in_flight: 0,
            completions: Vec::new(),
            waiting: VecDeque::new(),
        }
    }

    /// The protocol core.
    pub fn core(&mut self) -> &mut Core {
        &mut self.core
    }

    /// The verbs (tests reach the double's client side through this).
    pub fn verbs_mut(&mut self) -> &mut V {
        &mut self.verbs
    }

    fn wr(&mut self, w: Wr) -> u64 {
        let id = self.next_wr;
        self.next_wr += 1;
        self.wrs.insert(id, w);
        id
    }

    /// Posts the receives the core wants.
    pub fn post_receives(&mut self) -> Result<(), DriverError> {
        let n = self.core.receives_wanted();
        let size = self.core.receive_size();
        for _ in 0..n {
            let id = self.wr(Wr::Recv);
            self.verbs
                .post_recv(id, size)
                .map_err(|e| DriverError::Device(e.to_string()))?;
            self.core.receives_posted(1);
        }
        Ok(())
    }

    /// Processes completions, keeps receives posted and sends what may go, until nothing
    /// changes. Returns the first error that ends the connection.
    pub fn pump(&mut self, now: Instant) -> Result<(), DriverError> {
        loop {
            let mut progress = false;
            self.post_receives()?;
            self.core
                .handle_timeout(now)
                .map_err(DriverError::Protocol)?;
            let mut cs = std::mem::take(&mut self.completions);
            cs.clear();
            self.verbs
                .poll(&mut cs)
                .map_err(|e| DriverError::Device(e.to_string()))?;
            for c in cs.drain(..) {
                progress = true;
                self.complete(now, c)?;
            }
            self.completions = cs;
            progress |= self.post_waiting();
            self.post_receives()?;
            // Sends wait while placement segments wait for memory: a READ's response must
            // not overtake its RDMA Write on the queue pair (the transport posts Writes
            // without waiting for their completion).
            while self.waiting.is_empty() {
                let Some(t) = self.core.poll_transmit(now) else {
                    break;
                };
                progress = true;
                let id = self.wr(Wr::Send);
                self.verbs
                    .post_send(id, &t.packet, t.invalidate)
                    .map_err(|e| DriverError::Device(e.to_string()))?;
                self.sends_in_flight += 1;
            }
            if !progress {
                return Ok(());
            }
        }
    }

    fn complete(&mut self, now: Instant, c: Completion) -> Result<(), DriverError> {
        match c {
            Completion::Recv { wr_id, data } => {
                self.wrs.remove(&wr_id);
                match self.core.handle_receive(now, data) {
                    Ok(()) | Err(ProtocolError::NegotiateFailed) => Ok(()),
                    Err(e) => Err(DriverError::Protocol(e)),
                }
            }
            Completion::Send { wr_id } => {
                self.wrs.remove(&wr_id);
                self.sends_in_flight = self.sends_in_flight.saturating_sub(1);
                Ok(())
            }
            Completion::Read { wr_id, data } => {
                if let Some(Wr::Seg(op, local)) = self.wrs.remove(&wr_id) {
                    if let Some(o) = self.ops.get_mut(&op) {
                        if let Some(buf) = o.buf.as_mut() {
                            let end = local.saturating_add(data.len()).min(buf.len());
                            if local < end {
                                buf[local..end].copy_from_slice(&data[..end - local]);
                            }
                        }
                    }
                    self.seg_done(op, None);
                }
                Ok(())
            }
            Completion::Write { wr_id } => {
                if let Some(Wr::Seg(op, _)) = self.wrs.remove(&wr_id) {
                    self.seg_done(op, None);
                }
                Ok(())
            }
            Completion::Failed { wr_id, reason } => {
                if let Some(Wr::Seg(op, _)) = self.wrs.remove(&wr_id) {
                    self.seg_done(op, Some(reason.clone()));
                }
                self.core.close();
                self.fail_all(&reason);
                Err(DriverError::Device(reason))
            }
        }
    }

    fn seg_done(&mut self, op: OpId, err: Option<String>) {
        let Some(o) = self.ops.get_mut(&op) else {
            return;
        };
        o.pending = o.pending.saturating_sub(1);
        if o.failed.is_none() {
            o.failed = err;
        }
        if o.pending == 0 {
            let o = self.ops.remove(&op).expect("present");
            let r = match o.failed {
                Some(e) => Err(e),
                None => Ok(o.buf.map(BytesMut::freeze).unwrap_or_default()),
            };
            self.done.insert(op, r);
        }
    }

    fn fail_all(&mut self, reason: &str) {
        self.waiting.clear();
        for (id, _) in self.ops.drain() {
            self.done.insert(id, Err(reason.to_string()));
        }
    }

    /// Segments waiting for local registered memory now.
    pub fn segments_waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Posts one segment, or queues it when the verbs have no local buffer for it now
    /// (behind any segment already waiting, so placements keep their order).
    fn post_segment(&mut self, op: OpId, w: Waiting) {
        if !self.waiting.is_empty() {
            self.waiting.push_back(w);
            return;
        }
        match self.try_post(&w) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.waiting.push_back(w),
            Err(e) => self.seg_done(op, Some(e.to_string())),
        }
    }

    fn try_post(&mut self, w: &Waiting) -> io::Result<()> {
        match &w.data {
            None => self.verbs.rdma_read(w.wr_id, w.remote),
            Some(d) => self.verbs.rdma_write(w.wr_id, w.remote, d),
        }
    }

    /// Posts the waiting segments that now get a buffer; true if any went.
    fn post_waiting(&mut self) -> bool {
        let mut any = false;
        while let Some(w) = self.waiting.pop_front() {
            match self.try_post(&w) {
                Ok(()) => any = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.waiting.push_front(w);
                    break;
                }
                Err(e) => {
                    any = true;
                    if let Some(Wr::Seg(op, _)) = self.wrs.remove(&w.wr_id) {
                        self.seg_done(op, Some(e.to_string()));
                    }
                }
            }
        }
        any
    }

    /// Starts an RDMA Read of `len` bytes from the client's buffers (a WRITE's payload).
    pub fn start_read(&mut self, descs: &[BufferDescriptor], len: usize) -> Result<OpId, NtStatus> {
        let segs = placement::plan(descs, len, self.max_rw)?;
        let op = self.new_op(Some(BytesMut::zeroed(len)), segs.len());
        for s in &segs {
            let wr_id = self.wr(Wr::Seg(op, s.local));
            let w = Waiting {
                wr_id,
                remote: remote(s),
                data: None,
            };
            self.post_segment(op, w);
        }
        Ok(op)
    }

    /// Starts an RDMA Write of `data` into the client's buffers (a READ's data).
    pub fn start_write(
        &mut self,
        descs: &[BufferDescriptor],
        data: &Bytes,
    ) -> Result<OpId, NtStatus> {
        let segs = placement::plan(descs, data.len(), self.max_rw)?;
        let op = self.new_op(None, segs.len());
        for s in &segs {
            let wr_id = self.wr(Wr::Seg(op, s.local));
            let w = Waiting {
                wr_id,
                remote: remote(s),
                data: Some(data.slice(s.local..s.local + s.len as usize)),
            };
            self.post_segment(op, w);
        }
        Ok(op)
    }

    fn new_op(&mut self, buf: Option<BytesMut>, segs: usize) -> OpId {
        let id = self.next_op;
        self.next_op += 1;
        if segs == 0 {
            self.done
                .insert(id, Ok(buf.map(BytesMut::freeze).unwrap_or_default()));
        } else {
            self.ops.insert(
                id,
                Op {
                    buf,
                    pending: segs,
                    failed: None,
                },
            );
        }
        id
    }

    /// The result of a finished placement operation (taken once).
    pub fn take_result(&mut self, op: OpId) -> Option<OpResult> {
        self.done.remove(&op)
    }
}

fn remote(s: &Segment) -> Remote {
    Remote {
        token: s.token,
        addr: s.addr,
        len: s.len,
    }
}
