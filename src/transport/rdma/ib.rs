//! [`Verbs`] over a real queue pair (libibverbs through `rdma-sys`): protection domain,
//! one completion queue with a completion channel, an RC queue pair created by rdma_cm,
//! and registered memory, all of it per connection (one PD each):
//! - receive buffers: `recv_slots` slots of MaxReceiveSize, registered once;
//! - send buffers: [`SEND_SLOTS`] slots of [`SEND_SLOT`] bytes, registered once;
//! - RDMA Read/Write buffers: chunks of slabs registered lazily, at most
//!   [`MAX_SLABS`](crate::transport::smbd::mempool::MAX_SLABS) of
//!   [`SLAB`](crate::transport::smbd::mempool::SLAB) bytes, allocated and bounded by
//!   [`ChunkPool`] (see [`crate::transport::smbd::mempool`] for sizes and why). When the pool
//!   is exhausted, `rdma_read`/`rdma_write` answer `WouldBlock` and the driver queues the
//!   segment until a completion frees chunks. Segments larger than a slab get their own
//!   registration (bounded by the pool); if registering a slab fails (RLIMIT_MEMLOCK), the
//!   pool stops growing where it is, or, with no slab at all, every segment is registered
//!   on its own as a last resort.
use crate::transport::smbd::mempool::{ChunkPool, Lease, PoolConfig, Reserve};
use crate::transport::smbd::verbs::{Completion, Remote, Verbs};
use bytes::Bytes;
use rdma_sys::*;
use std::collections::HashMap;
use std::io;
use std::ptr;
use tracing::{debug, warn};

/// Send buffers per connection (sends in flight at most; credits keep it far lower).
pub const SEND_SLOTS: usize = 512;
/// Size of one send buffer (MaxSendSize is 1364 at most here; the negotiate response 32).
pub const SEND_SLOT: usize = 2048;
/// Send queue depth: sends plus RDMA Reads/Writes in flight.
pub const MAX_SEND_WR: u32 = 1024;

fn last_err(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// A zeroed buffer of `len` bytes registered for local write; the caller deregisters it.
///
/// # Safety
/// `pd` is a live protection domain.
unsafe fn register(pd: *mut ibv_pd, len: usize) -> io::Result<(Box<[u8]>, *mut ibv_mr)> {
    let mut buf = vec![0u8; len].into_boxed_slice();
    let mr = ibv_reg_mr(
        pd,
        buf.as_mut_ptr().cast(),
        buf.len(),
        ibv_access_flags::IBV_ACCESS_LOCAL_WRITE.0 as i32,
    );
    if mr.is_null() {
        return Err(last_err("ibv_reg_mr"));
    }
    Ok((buf, mr))
}

/// A registered buffer carved into equal slots.
struct Pool {
    buf: Box<[u8]>,
    mr: *mut ibv_mr,
    slot: usize,
    free: Vec<usize>,
}

impl Pool {
    /// # Safety
    /// `pd` is a live protection domain.
    unsafe fn new(pd: *mut ibv_pd, slots: usize, slot: usize) -> io::Result<Pool> {
        let (buf, mr) = register(pd, slots * slot)?;
        Ok(Pool {
            buf,
            mr,
            slot,
            free: (0..slots).rev().collect(),
        })
    }

    fn sge(&mut self, i: usize, len: usize) -> ibv_sge {
        ibv_sge {
            addr: self.buf[i * self.slot..].as_mut_ptr() as u64,
            length: len as u32,
            // SAFETY: `mr` stays registered while the pool lives.
            lkey: unsafe { (*self.mr).lkey },
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if !self.mr.is_null() {
            // SAFETY: registered in `new`, deregistered once here.
            unsafe { ibv_dereg_mr(self.mr) };
        }
    }
}

/// A buffer registered on its own (one slab, or one oversized segment).
struct Region {
    buf: Box<[u8]>,
    mr: *mut ibv_mr,
}

impl Region {
    /// # Safety
    /// `pd` is a live protection domain.
    unsafe fn new(pd: *mut ibv_pd, len: usize) -> io::Result<Region> {
        let (buf, mr) = register(pd, len)?;
        Ok(Region { buf, mr })
    }

    fn lkey(&self) -> u32 {
        // SAFETY: `mr` stays registered while the region lives.
        unsafe { (*self.mr).lkey }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: registered in `new`, deregistered once here.
        unsafe { ibv_dereg_mr(self.mr) };
    }
}

/// An RDMA Read/Write in flight: where its local bytes are.
struct RwOp {
    /// Chunks of a slab (`None`: `own` holds the buffer, registered for this operation).
    lease: Option<Lease>,
    own: Option<Region>,
    len: usize,
    read: bool,
}

/// The verbs of one accepted connection; owns its PD, CQ, completion channel and QP.
pub struct IbVerbs {
    id: *mut rdma_cm_id,
    pd: *mut ibv_pd,
    comp: *mut ibv_comp_channel,
    cq: *mut ibv_cq,
    recv: Pool,
    send: Pool,
    recv_wr: HashMap<u64, usize>,
    send_wr: HashMap<u64, usize>,
    rw: HashMap<u64, RwOp>,
    mem: ChunkPool,
    slabs: Vec<Region>,
}

// SAFETY: the verbs objects are used from one thread at a time (the connection's thread);
// libibverbs objects may be used from any thread.
unsafe impl Send for IbVerbs {}

impl IbVerbs {
    /// Sets up PD, completion channel, CQ and QP on a connect-request `id`, with
    /// `recv_slots` receive buffers of `recv_size` bytes.
    ///
    /// # Safety
    /// `id` is a live rdma_cm id from a connect request, owned by the caller from now on
    /// through the returned value (which destroys it on drop), also on error.
    pub unsafe fn new(
        id: *mut rdma_cm_id,
        recv_slots: usize,
        recv_size: usize,
    ) -> io::Result<IbVerbs> {
        let ctx = (*id).verbs;
        let pd = ibv_alloc_pd(ctx);
        if pd.is_null() {
            rdma_destroy_id(id);
            return Err(last_err("ibv_alloc_pd"));
        }
        let comp = ibv_create_comp_channel(ctx);
        let cqe = (recv_slots as i32) + MAX_SEND_WR as i32 + 16;
        let cq = if comp.is_null() {
            ptr::null_mut()
        } else {
            ibv_create_cq(ctx, cqe, ptr::null_mut(), comp, 0)
        };
        // From here on, Drop cleans up whatever was created.
        let mut v = IbVerbs {
            id,
            pd,
            comp,
            cq,
            recv: Pool::empty(),
            send: Pool::empty(),
            recv_wr: HashMap::new(),
            send_wr: HashMap::new(),
            rw: HashMap::new(),
            mem: ChunkPool::new(PoolConfig::default()),
            slabs: Vec::new(),
        };
        if comp.is_null() || cq.is_null() {
            return Err(last_err("ibv_create_cq"));
        }
        v.recv = Pool::new(pd, recv_slots, recv_size)?;
        v.send = Pool::new(pd, SEND_SLOTS, SEND_SLOT)?;
        let mut attr: ibv_qp_init_attr = std::mem::zeroed();
        attr.send_cq = cq;
        attr.recv_cq = cq;
        attr.qp_type = ibv_qp_type::IBV_QPT_RC;
        attr.cap.max_send_wr = MAX_SEND_WR;
        attr.cap.max_recv_wr = recv_slots as u32;
        attr.cap.max_send_sge = 1;
        attr.cap.max_recv_sge = 1;
        if rdma_create_qp(id, pd, &mut attr) != 0 {
            return Err(last_err("rdma_create_qp"));
        }
        if ibv_req_notify_cq(cq, 0) != 0 {
            return Err(last_err("ibv_req_notify_cq"));
        }
        let fd = (*comp).fd;
        let fl = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
        Ok(v)
    }

    /// The completion channel's file descriptor (readable when completions wait).
    pub fn comp_fd(&self) -> i32 {
        // SAFETY: `comp` lives as long as self.
        unsafe { (*self.comp).fd }
    }

    /// Consumes the completion-channel event and re-arms notification; call when
    /// [`IbVerbs::comp_fd`] is readable, then poll. One CQ armed once raises at most one
    /// event, so one read takes it; while no event came the CQ stays armed and needs nothing.
    pub fn rearm(&mut self) {
        // SAFETY: channel and CQ are live; each event is acknowledged before re-arming.
        unsafe {
            let mut cq = ptr::null_mut();
            let mut ctx = ptr::null_mut();
            if ibv_get_cq_event(self.comp, &mut cq, &mut ctx) != 0 {
                return;
            }
            ibv_ack_cq_events(self.cq, 1);
            ibv_req_notify_cq(self.cq, 0);
        }
    }

    /// The rdma_cm id.
    pub fn id(&self) -> *mut rdma_cm_id {
        self.id
    }

    fn post(&mut self, wr: &mut ibv_send_wr) -> io::Result<()> {
        let mut bad = ptr::null_mut();
        // SAFETY: the QP is live; `wr` and its SGE point at registered memory that stays
        // alive until the completion (pools and RwBufs are owned by self).
        let rc = unsafe { ibv_post_send((*self.id).qp, wr, &mut bad) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(())
    }

    /// Local memory for a segment of `len` bytes: a lease of pooled chunks (registering
    /// another slab when the pool may grow), a registration of its own (oversized segment,
    /// or no slab could be registered at all), or `WouldBlock` when the pool is exhausted.
    fn local_buf(&mut self, len: usize) -> io::Result<RwOp> {
        let own = |v: &mut IbVerbs, lease| -> io::Result<RwOp> {
            // SAFETY: the PD is live; the region deregisters itself when dropped.
            let r = unsafe { Region::new(v.pd, len) }?;
            Ok(RwOp {
                lease,
                own: Some(r),
                len,
                read: false,
            })
        };
        loop {
            match self.mem.reserve(len) {
                Reserve::Got(l @ Lease::Chunks { .. }) => {
                    return Ok(RwOp {
                        lease: Some(l),
                        own: None,
                        len,
                        read: false,
                    })
                }
                Reserve::Got(l @ Lease::Fallback { .. }) => {
                    return own(self, Some(l)).inspect_err(|_| self.mem.release(l));
                }
                Reserve::Wait => return Err(io::ErrorKind::WouldBlock.into()),
                Reserve::Grow => {
                    // SAFETY: the PD is live; slabs are dropped before it (Drop).
                    match unsafe { Region::new(self.pd, self.mem.config().slab_bytes()) } {
                        Ok(r) => {
                            self.slabs.push(r);
                            self.mem.add_slab();
                        }
                        Err(e) if self.slabs.is_empty() => {
                            debug!(error = %e, "no RDMA slab; registering per operation");
                            return own(self, None);
                        }
                        Err(e) => {
                            warn!(error = %e, slabs = self.slabs.len(), "RDMA pool stops growing");
                            self.mem.cap_slabs();
                        }
                    }
                }
            }
        }
    }

    /// The bytes and lkey of an operation's local buffer.
    fn local_sge<'a>(
        slabs: &'a mut [Region],
        cfg: &PoolConfig,
        op: &'a mut RwOp,
    ) -> (&'a mut [u8], u32) {
        let len = op.len;
        if let Some(r) = op.own.as_mut() {
            let lkey = r.lkey();
            return (&mut r.buf[..len], lkey);
        }
        let Some(l @ Lease::Chunks { slab, .. }) = op.lease else {
            unreachable!("a pooled operation has a chunk lease");
        };
        let off = l.offset(cfg);
        let r = &mut slabs[slab];
        let lkey = r.lkey();
        (&mut r.buf[off..off + len], lkey)
    }

    fn release(&mut self, op: RwOp) {
        if let Some(l) = op.lease {
            self.mem.release(l);
        }
    }

    fn rw_wr(
        &mut self,
        wr_id: u64,
        remote: Remote,
        read: bool,
        data: Option<&[u8]>,
    ) -> io::Result<()> {
        let mut op = self.local_buf(remote.len as usize)?;
        op.read = read;
        let cfg = *self.mem.config();
        let (buf, lkey) = Self::local_sge(&mut self.slabs, &cfg, &mut op);
        if let Some(d) = data {
            buf.copy_from_slice(d);
        }
        let mut sge = ibv_sge {
            addr: buf.as_mut_ptr() as u64,
            length: remote.len,
            lkey,
        };
        // SAFETY: plain C struct; all-zero is a valid initial value.
        let mut wr: ibv_send_wr = unsafe { std::mem::zeroed() };
        wr.wr_id = wr_id;
        wr.sg_list = &mut sge;
        wr.num_sge = 1;
        wr.opcode = if read {
            ibv_wr_opcode::IBV_WR_RDMA_READ
        } else {
            ibv_wr_opcode::IBV_WR_RDMA_WRITE
        };
        wr.send_flags = ibv_send_flags::IBV_SEND_SIGNALED.0;
        wr.wr.rdma = rdma_t {
            remote_addr: remote.addr,
            rkey: remote.token,
        };
        if let Err(e) = self.post(&mut wr) {
            self.release(op);
            return Err(e);
        }
        self.rw.insert(wr_id, op);
        Ok(())
    }
}

impl Verbs for IbVerbs {
    fn post_recv(&mut self, wr_id: u64, len: usize) -> io::Result<()> {
        let slot = self.recv.free.pop().ok_or(io::ErrorKind::OutOfMemory)?;
        let mut sge = self.recv.sge(slot, len.min(self.recv.slot));
        let mut wr = ibv_recv_wr {
            wr_id,
            next: ptr::null_mut(),
            sg_list: &mut sge,
            num_sge: 1,
        };
        let mut bad = ptr::null_mut();
        // SAFETY: the QP is live and the slot's memory is registered and owned by self.
        let rc = unsafe { ibv_post_recv((*self.id).qp, &mut wr, &mut bad) };
        if rc != 0 {
            self.recv.free.push(slot);
            return Err(io::Error::from_raw_os_error(rc));
        }
        self.recv_wr.insert(wr_id, slot);
        Ok(())
    }

    fn post_send(&mut self, wr_id: u64, packet: &[u8], invalidate: Option<u32>) -> io::Result<()> {
        if packet.len() > self.send.slot {
            return Err(io::ErrorKind::InvalidInput.into());
        }
        let slot = self.send.free.pop().ok_or(io::ErrorKind::OutOfMemory)?;
        let off = slot * self.send.slot;
        self.send.buf[off..off + packet.len()].copy_from_slice(packet);
        let mut sge = self.send.sge(slot, packet.len());
        // SAFETY: plain C struct; all-zero is a valid initial value.
        let mut wr: ibv_send_wr = unsafe { std::mem::zeroed() };
        wr.wr_id = wr_id;
        wr.sg_list = &mut sge;
        wr.num_sge = 1;
        wr.send_flags = ibv_send_flags::IBV_SEND_SIGNALED.0;
        match invalidate {
            Some(t) => {
                wr.opcode = ibv_wr_opcode::IBV_WR_SEND_WITH_INV;
                wr.imm_data_invalidated_rkey_union.invalidated_rkey = t;
            }
            None => wr.opcode = ibv_wr_opcode::IBV_WR_SEND,
        }
        if let Err(e) = self.post(&mut wr) {
            self.send.free.push(slot);
            return Err(e);
        }
        self.send_wr.insert(wr_id, slot);
        Ok(())
    }

    fn rdma_read(&mut self, wr_id: u64, remote: Remote) -> io::Result<()> {
        self.rw_wr(wr_id, remote, true, None)
    }

    fn rdma_write(&mut self, wr_id: u64, remote: Remote, data: &[u8]) -> io::Result<()> {
        if data.len() != remote.len as usize {
            return Err(io::ErrorKind::InvalidInput.into());
        }
        self.rw_wr(wr_id, remote, false, Some(data))
    }

    fn poll(&mut self, out: &mut Vec<Completion>) -> io::Result<()> {
        // SAFETY: plain C struct; all-zero is a valid initial value.
        let mut wcs: [ibv_wc; 32] = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: the CQ is live; `wcs` has room for 32 entries.
            let n = unsafe { ibv_poll_cq(self.cq, 32, wcs.as_mut_ptr()) };
            if n < 0 {
                return Err(io::Error::other("ibv_poll_cq failed"));
            }
            for wc in &wcs[..n as usize] {
                let ok = wc.status == ibv_wc_status::IBV_WC_SUCCESS;
                let wr_id = wc.wr_id;
                let c = if let Some(slot) = self.recv_wr.remove(&wr_id) {
                    self.recv.free.push(slot);
                    let len = (wc.byte_len as usize).min(self.recv.slot);
                    let off = slot * self.recv.slot;
                    ok.then(|| Completion::Recv {
                        wr_id,
                        data: Bytes::copy_from_slice(&self.recv.buf[off..off + len]),
                    })
                } else if let Some(slot) = self.send_wr.remove(&wr_id) {
                    self.send.free.push(slot);
                    ok.then_some(Completion::Send { wr_id })
                } else if let Some(mut op) = self.rw.remove(&wr_id) {
                    let cfg = *self.mem.config();
                    let c = ok.then(|| {
                        if op.read {
                            Completion::Read {
                                wr_id,
                                data: Bytes::copy_from_slice(
                                    Self::local_sge(&mut self.slabs, &cfg, &mut op).0,
                                ),
                            }
                        } else {
                            Completion::Write { wr_id }
                        }
                    });
                    self.release(op);
                    c
                } else {
                    continue;
                };
                out.push(c.unwrap_or_else(|| Completion::Failed {
                    wr_id,
                    reason: format!("work completion status {}", wc.status),
                }));
            }
            if (n as usize) < wcs.len() {
                return Ok(());
            }
        }
    }
}

impl Drop for IbVerbs {
    fn drop(&mut self) {
        // SAFETY: each object was created by `new` and is destroyed once, QP first.
        unsafe {
            if !(*self.id).qp.is_null() {
                rdma_destroy_qp(self.id);
            }
            self.rw.clear();
            self.slabs.clear();
            if !self.cq.is_null() {
                ibv_destroy_cq(self.cq);
            }
            if !self.comp.is_null() {
                ibv_destroy_comp_channel(self.comp);
            }
        }
        // The pools deregister their memory when dropped, before the PD goes.
        let pd = self.pd;
        let id = self.id;
        self.recv = Pool::empty();
        self.send = Pool::empty();
        // SAFETY: nothing registered on the PD remains.
        unsafe {
            ibv_dealloc_pd(pd);
            rdma_destroy_id(id);
        }
    }
}

impl Pool {
    fn empty() -> Pool {
        Pool {
            buf: Box::new([]),
            mr: ptr::null_mut(),
            slot: 1,
            free: Vec::new(),
        }
    }
}
