//! SMB Direct over real RDMA verbs (librdmacm + libibverbs through `rdma-sys`).
//!
//! - [`listen`]: an rdma_cm listener (usually port 5445, the port the Linux client tries
//!   first) on one address; binding fails, and is reported, when no RDMA device serves that
//!   address (a host without RDMA hardware logs it and serves TCP only). One thread waits
//!   for connect requests.
//! - Each accepted connection gets its own rdma_cm event channel (the id is migrated to it),
//!   PD, CQ + completion channel, RC QP ([`ib::IbVerbs`]), and one thread that drives the
//!   sans-I/O core ([`crate::transport::smbd::driver::Driver`]): it waits with poll(2) on the
//!   completion channel, the cm channel and an eventfd that the tokio side signals when it
//!   ends the connection. The driver is shared under a lock ([`Shared`]): the tokio side posts
//!   its Sends and RDMA operations itself, on its own thread, without waking this one.
//! - The tokio side sees an ordinary [`FrameReader`] / [`FrameWriter`] pair: whole SMB2
//!   messages in and out (the same server core as TCP), plus `rdma_read` / `rdma_write` for
//!   READ/WRITE on SMB2_CHANNEL_RDMA_V1[_INVALIDATE], and `send_invalidate` for the response
//!   of a V1_INVALIDATE request.
//!
//! Tested end to end in the test bed (tests/testbed_rdma.rs, tools/testbed/tests/rdma.sh):
//! the Linux cifs client mounts with `-o rdma` (3.0 and 3.1.1) over soft-RoCE, writes and
//! reads files (RDMA Read for WRITE, RDMA Write for READ, Send with Invalidate for
//! RDMA_V1_INVALIDATE) and runs fio 8 KiB at QD1 and QD16 (libaio), placed by RDMA and
//! inline. A request's invalidation token is queued once its placement completed and goes
//! out no later than the first packet of its response ([`Core::invalidate_next`]): the
//! client re-registers the buffer as soon as the response arrives, and a token trailing
//! its response (attached to another request's response) broke the client's QP at QD>1.
//!
//! Registered memory, per connection ([`ib`]): send and receive slots registered once at
//! accept; RDMA Read (WRITE payloads) and RDMA Write (READ data) use 8 KiB chunks of 2 MiB
//! slabs registered lazily, at most 8 slabs (16 MiB) per connection
//! ([`crate::transport::smbd::mempool`]); when they are all lent out, further segments wait
//! in the driver, in order, until a completion returns chunks. Each send/receive and each
//! placed payload is still copied once between the registered buffers and the server's
//! `Bytes`.
//!
//! Not done yet: iWARP's IRD/ORD private data; SMB2_RDMA_TRANSFORM; more than one SMB Direct
//! port per address.
//!
//! FSCTL_QUERY_NETWORK_INTERFACE_INFO marks RDMA_CAPABLE the addresses a listener here
//! [`accepts`]; RDMA channels bind to multichannel sessions like TCP ones (test bed:
//! `rdma,multichannel,max_channels=2` over two rxe links).
pub mod ib;

use super::smbd::driver::{Driver, OpId};
use super::smbd::{Config, Core};
use super::{BoxFuture, BufferDescriptor, FrameReader, FrameWriter, TransportKind};
use bytes::{Bytes, BytesMut};
use ib::IbVerbs;
use rdma_sys::*;
use std::io;
use std::net::SocketAddr;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc as tmpsc, oneshot};
use tracing::{debug, info, warn};

/// The SMB Direct port the Linux client tries first (then 445).
pub const SMBD_PORT: u16 = 5445;

static LISTENING: AtomicBool = AtomicBool::new(false);

/// Whether an SMB Direct listener runs in this process (FSCTL_QUERY_NETWORK_INTERFACE_INFO
/// may then advertise RDMA_CAPABLE interfaces).
pub fn is_listening() -> bool {
    LISTENING.load(Ordering::Relaxed)
}

/// The addresses the rdma_cm listeners of this process are bound to.
static LISTEN_ADDRS: parking_lot::Mutex<Vec<SocketAddr>> = parking_lot::Mutex::new(Vec::new());

/// Whether an SMB Direct listener accepts connections to `ip` (bound to it, or to the
/// unspecified address of its family): FSCTL_QUERY_NETWORK_INTERFACE_INFO advertises
/// RDMA_CAPABLE (MS-SMB2 2.2.32.5) only on such addresses.
pub fn accepts(ip: std::net::IpAddr) -> bool {
    LISTEN_ADDRS
        .lock()
        .iter()
        .any(|l| l.ip() == ip || (l.ip().is_unspecified() && l.ip().is_ipv4() == ip.is_ipv4()))
}

/// What a connection's thread and its writer share: the driver and the placements in flight.
/// Whichever side holds the lock moves the connection along ([`Shared::progress`]): the
/// writer posts a Send, an RDMA Read or an RDMA Write at once on the caller's thread, instead
/// of handing it to the connection thread and waiting for that thread to wake (a WRITE placed
/// by RDMA Read took four thread hand-offs on its path, now two: the request in, the Read's
/// completion back). The thread still waits for completions, cm events and timers.
struct Shared {
    /// None once the connection's thread has ended and released the verbs.
    driver: Option<Driver<IbVerbs>>,
    /// Received SMB2 messages, to the connection task.
    msgs: tmpsc::UnboundedSender<Bytes>,
    reads: Vec<(OpId, oneshot::Sender<io::Result<Bytes>>)>,
    writes: Vec<(OpId, oneshot::Sender<io::Result<()>>)>,
    /// Why the connection ends, once it does.
    ended: Option<&'static str>,
}

// SAFETY: the verbs' raw pointers are used only under the Mutex that holds Shared.
unsafe impl Send for Shared {}

impl Shared {
    /// The live driver; `NotConnected` once the connection ended.
    fn live(&mut self) -> io::Result<&mut Driver<IbVerbs>> {
        match (self.ended, self.driver.as_mut()) {
            (None, Some(d)) => Ok(d),
            _ => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Processes completions, posts what may go, hands received messages and finished
    /// placements over; notes in `ended` why the connection ends, when it does.
    fn progress(&mut self, now: Instant) {
        let Some(d) = self.driver.as_mut().filter(|_| self.ended.is_none()) else {
            return;
        };
        if let Err(e) = d.pump(now) {
            debug!(error = %e, "SMB Direct");
            self.ended = Some("protocol or device error");
            return;
        }
        finish(d, &mut self.reads, |r| r.map_err(io::Error::other));
        finish(d, &mut self.writes, |r| {
            r.map(|_| ()).map_err(io::Error::other)
        });
        while let Some(m) = d.core().poll_message() {
            if self.msgs.send(m).is_err() {
                self.ended = Some("connection task gone");
                return;
            }
        }
        if d.core().is_closed() {
            self.ended = Some("closed");
        }
    }
}

/// Answers the placements of `ops` that finished.
fn finish<T>(
    d: &mut Driver<IbVerbs>,
    ops: &mut Vec<(OpId, oneshot::Sender<io::Result<T>>)>,
    map: impl Fn(super::smbd::driver::OpResult) -> io::Result<T>,
) {
    let mut i = 0;
    while i < ops.len() {
        if let Some(r) = d.take_result(ops[i].0) {
            let (_, reply) = ops.swap_remove(i);
            let _ = reply.send(map(r));
        } else {
            i += 1;
        }
    }
}

/// Wakes a connection thread (an eventfd).
struct Waker(i32);

impl Waker {
    fn new() -> io::Result<Waker> {
        // SAFETY: plain syscall.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Waker(fd))
    }
    fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a local to our eventfd.
        unsafe { libc::write(self.0, (&one as *const u64).cast(), 8) };
    }
    fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a local from our eventfd.
        unsafe { libc::read(self.0, (&mut v as *mut u64).cast(), 8) };
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        // SAFETY: our fd, closed once.
        unsafe { libc::close(self.0) };
    }
}

/// The receiving half of an SMB Direct connection.
pub struct RdmaReader {
    rx: tmpsc::UnboundedReceiver<Bytes>,
}

impl FrameReader for RdmaReader {
    fn recv(&mut self) -> BoxFuture<'_, io::Result<Option<BytesMut>>> {
        Box::pin(async move { Ok(self.rx.recv().await.map(|b| BytesMut::from(&b[..]))) })
    }
}

/// The sending half of an SMB Direct connection.
pub struct RdmaWriter {
    shared: Arc<parking_lot::Mutex<Shared>>,
    /// Wakes the connection's thread when the connection ends from this side.
    waker: Arc<Waker>,
    peer: SocketAddr,
    local: SocketAddr,
}

impl RdmaWriter {
    /// Runs `f` under the lock, then moves the connection along (what `f` queued is posted
    /// before the lock is released).
    fn act<T>(&self, f: impl FnOnce(&mut Shared) -> io::Result<T>) -> io::Result<T> {
        let mut s = self.shared.lock();
        let r = f(&mut s);
        s.progress(Instant::now());
        if s.ended.is_some() {
            self.waker.wake();
        }
        r
    }

    /// Sends a message with Send with Invalidate of `token` on its first packet (the
    /// response to a READ or WRITE whose Channel was SMB2_CHANNEL_RDMA_V1_INVALIDATE).
    pub async fn send_invalidate(&self, parts: Vec<Bytes>, token: u32) -> io::Result<()> {
        self.act(|s| s.live()?.core().queue_message(&parts, Some(token)))
    }
}

impl FrameWriter for RdmaWriter {
    fn send(&self, parts: Vec<Bytes>) -> BoxFuture<'_, io::Result<()>> {
        let r = self.act(|s| s.live()?.core().queue_message(&parts, None));
        Box::pin(std::future::ready(r))
    }
    fn rdma_write<'a>(
        &'a self,
        descriptors: &'a [BufferDescriptor],
        data: &'a [u8],
    ) -> BoxFuture<'a, io::Result<()>> {
        // Checked (the descriptors against MaxReadWriteSize and the length) and posted
        // without waiting for the completion: on an RC queue pair the RDMA Write executes
        // before the response's Send posted after it, so the client sees the data before the
        // response (and the Send with Invalidate), and the READ saves a round trip to the
        // device. A failed Write breaks the queue pair, and with it the connection, so no
        // response is lost silently.
        let r = self.act(|s| {
            let op = s
                .live()?
                .start_write(descriptors, &Bytes::copy_from_slice(data))
                .map_err(placement_error)?;
            let (tx, _rx) = oneshot::channel();
            s.writes.push((op, tx));
            Ok(())
        });
        Box::pin(std::future::ready(r))
    }
    fn rdma_read<'a>(
        &'a self,
        descriptors: &'a [BufferDescriptor],
        len: usize,
    ) -> BoxFuture<'a, io::Result<Bytes>> {
        let rx = self.act(|s| {
            let op = s
                .live()?
                .start_read(descriptors, len)
                .map_err(placement_error)?;
            let (tx, rx) = oneshot::channel();
            s.reads.push((op, tx));
            Ok(rx)
        });
        Box::pin(async move {
            rx?.await
                .map_err(|_| io::Error::from(io::ErrorKind::NotConnected))?
        })
    }
    fn kind(&self) -> TransportKind {
        TransportKind::Rdma
    }
    fn peer(&self) -> SocketAddr {
        self.peer
    }
    fn local(&self) -> SocketAddr {
        self.local
    }
    fn close(&self) -> BoxFuture<'_, ()> {
        self.abort();
        Box::pin(std::future::ready(()))
    }
    fn abort(&self) {
        let mut s = self.shared.lock();
        if let Some(d) = s.driver.as_mut() {
            d.core().close();
        }
        s.ended.get_or_insert("closed by the server");
        self.waker.wake();
    }
    fn invalidate_with_next_send(&self, token: u32) {
        let _ = self.act(|s| {
            s.live()?.core().invalidate_next(token);
            Ok(())
        });
    }
}

/// Called for each accepted connection, on the listener's thread.
pub type OnAccept = Arc<dyn Fn(RdmaReader, RdmaWriter) + Send + Sync>;

/// # Safety
/// `sa` is null or points at a sockaddr of its family's size.
unsafe fn to_socket_addr(sa: *const libc::sockaddr) -> Option<SocketAddr> {
    if sa.is_null() {
        return None;
    }
    match i32::from((*sa).sa_family) {
        libc::AF_INET => {
            let s = &*(sa as *const libc::sockaddr_in);
            Some(SocketAddr::from((
                u32::from_be(s.sin_addr.s_addr).to_be_bytes(),
                u16::from_be(s.sin_port),
            )))
        }
        libc::AF_INET6 => {
            let s = &*(sa as *const libc::sockaddr_in6);
            Some(SocketAddr::from((
                s.sin6_addr.s6_addr,
                u16::from_be(s.sin6_port),
            )))
        }
        _ => None,
    }
}

fn sockaddr_of(addr: SocketAddr) -> (libc::sockaddr_storage, usize) {
    // SAFETY: all-zero sockaddr_storage is valid; the casts write within its size.
    unsafe {
        let mut ss: libc::sockaddr_storage = std::mem::zeroed();
        match addr {
            SocketAddr::V4(a) => {
                let s = &mut *(&mut ss as *mut _ as *mut libc::sockaddr_in);
                s.sin_family = libc::AF_INET as libc::sa_family_t;
                s.sin_port = a.port().to_be();
                s.sin_addr.s_addr = u32::from_be_bytes(a.ip().octets()).to_be();
                (ss, std::mem::size_of::<libc::sockaddr_in>())
            }
            SocketAddr::V6(a) => {
                let s = &mut *(&mut ss as *mut _ as *mut libc::sockaddr_in6);
                s.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                s.sin6_port = a.port().to_be();
                s.sin6_addr.s6_addr = a.ip().octets();
                (ss, std::mem::size_of::<libc::sockaddr_in6>())
            }
        }
    }
}

struct Listener {
    ch: *mut rdma_event_channel,
    id: *mut rdma_cm_id,
}

// SAFETY: used by one thread after creation.
unsafe impl Send for Listener {}

impl Drop for Listener {
    fn drop(&mut self) {
        // SAFETY: created by `listen`, destroyed once.
        unsafe {
            if !self.id.is_null() {
                rdma_destroy_id(self.id);
            }
            if !self.ch.is_null() {
                rdma_destroy_event_channel(self.ch);
            }
        }
    }
}

/// Starts an SMB Direct listener on `addr`; each connection goes to `on_accept`. Fails
/// (with the reason) when RDMA is unavailable: no rdma_cm device file, or no RDMA device
/// for the address. The listener thread stops when `stop` is set.
pub fn listen(
    addr: SocketAddr,
    cfg: Config,
    on_accept: OnAccept,
    stop: Arc<AtomicBool>,
) -> io::Result<SocketAddr> {
    // SAFETY: librdmacm calls with pointers to locals; the Listener owns what they create.
    let l = unsafe {
        let ch = rdma_create_event_channel();
        if ch.is_null() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "no RDMA (rdma_create_event_channel: {})",
                    io::Error::last_os_error()
                ),
            ));
        }
        let mut l = Listener {
            ch,
            id: ptr::null_mut(),
        };
        if rdma_create_id(ch, &mut l.id, ptr::null_mut(), rdma_port_space::RDMA_PS_TCP) != 0 {
            return Err(io::Error::last_os_error());
        }
        let (mut ss, _) = sockaddr_of(addr);
        if rdma_bind_addr(l.id, (&mut ss as *mut libc::sockaddr_storage).cast()) != 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("no RDMA device for {addr} ({e})"),
            ));
        }
        if (*l.id).verbs.is_null() && addr.ip().is_unspecified() {
            // Wildcard binds succeed without devices; require at least one.
            let mut n = 0;
            let list = ibv_get_device_list(&mut n);
            if !list.is_null() {
                ibv_free_device_list(list);
            }
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "no RDMA devices",
                ));
            }
        }
        if rdma_listen(l.id, 64) != 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = (*ch).fd;
        let fl = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
        l
    };
    // SAFETY: the id is bound; the address it returns is valid while it lives.
    let local = unsafe { to_socket_addr(rdma_get_local_addr(&*l.id)) }.unwrap_or(addr);
    std::thread::Builder::new()
        .name("smbd-listen".into())
        .spawn(move || accept_loop(l, cfg, on_accept, stop))?;
    LISTEN_ADDRS.lock().push(local);
    LISTENING.store(true, Ordering::Relaxed);
    Ok(local)
}

fn wait_fd(fds: &mut [libc::pollfd], timeout: Duration) {
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: `fds` is a valid array of pollfd of the length given.
    unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
}

fn accept_loop(l: Listener, cfg: Config, on_accept: OnAccept, stop: Arc<AtomicBool>) {
    // SAFETY: `l.ch` is live for the loop.
    let fd = unsafe { (*l.ch).fd };
    while !stop.load(Ordering::Relaxed) {
        let mut pfd = [libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        }];
        wait_fd(&mut pfd, Duration::from_millis(500));
        loop {
            let mut ev = ptr::null_mut();
            // SAFETY: non-blocking channel; `ev` is filled on success.
            if unsafe { rdma_get_cm_event(l.ch, &mut ev) } != 0 {
                break;
            }
            // SAFETY: `ev` is valid until acknowledged.
            let (kind, id, responder) =
                unsafe { ((*ev).event, (*ev).id, (*ev).param.conn.responder_resources) };
            // SAFETY: acknowledged once; `id` stays ours (a connect request's new id).
            unsafe { rdma_ack_cm_event(ev) };
            if kind != rdma_cm_event_type::RDMA_CM_EVENT_CONNECT_REQUEST {
                debug!(kind, "rdma_cm listener event");
                continue;
            }
            // SAFETY: a fresh connect-request id, handed over to `accept`.
            match unsafe { accept(id, cfg, responder) } {
                Ok((r, w, conn)) => {
                    info!(peer = %w.peer, "SMB Direct connection");
                    let spawned = std::thread::Builder::new()
                        .name("smbd-conn".into())
                        .spawn(move || conn.run());
                    if spawned.is_ok() {
                        on_accept(r, w);
                    }
                }
                Err(e) => warn!(error = %e, "SMB Direct accept failed"),
            }
        }
    }
}

/// A connection's thread state.
struct Conn {
    shared: Arc<parking_lot::Mutex<Shared>>,
    ch: *mut rdma_event_channel,
    waker: Arc<Waker>,
}

// SAFETY: moved to its thread once; the event channel is used there only.
unsafe impl Send for Conn {}

/// # Safety
/// `id` is a connect request's new id, owned from now on.
unsafe fn accept(
    id: *mut rdma_cm_id,
    cfg: Config,
    responder: u8,
) -> io::Result<(RdmaReader, RdmaWriter, Conn)> {
    let peer =
        to_socket_addr(rdma_get_peer_addr(&*id)).unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
    let local =
        to_socket_addr(rdma_get_local_addr(&*id)).unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
    let ch = rdma_create_event_channel();
    if ch.is_null() {
        rdma_reject(id, ptr::null(), 0);
        rdma_destroy_id(id);
        return Err(io::Error::last_os_error());
    }
    if rdma_migrate_id(id, ch) != 0 {
        let e = io::Error::last_os_error();
        rdma_reject(id, ptr::null(), 0);
        rdma_destroy_id(id);
        rdma_destroy_event_channel(ch);
        return Err(e);
    }
    let fl = libc::fcntl((*ch).fd, libc::F_GETFL);
    libc::fcntl((*ch).fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
    let verbs = match IbVerbs::new(
        id,
        usize::from(cfg.receive_credit_max) + 1,
        cfg.max_receive_size as usize,
    ) {
        Ok(v) => v,
        Err(e) => {
            rdma_destroy_event_channel(ch);
            return Err(e);
        }
    };
    let mut driver = Driver::new(
        Core::new(cfg, Instant::now()),
        verbs,
        cfg.max_read_write_size,
    );
    // The receive for the negotiate request goes up before the client may send it.
    if let Err(e) = driver.post_receives() {
        drop(driver);
        rdma_destroy_event_channel(ch);
        return Err(io::Error::other(e.to_string()));
    }
    let mut dev: ibv_device_attr = std::mem::zeroed();
    ibv_query_device((*id).verbs, &mut dev);
    let mut p: rdma_conn_param = std::mem::zeroed();
    // The server issues RDMA Reads (for WRITE): as many in flight as the client accepts.
    p.initiator_depth = responder
        .min(dev.max_qp_init_rd_atom.clamp(0, 255) as u8)
        .max(1);
    p.responder_resources = 1;
    p.retry_count = 6;
    p.rnr_retry_count = 7;
    if rdma_accept(id, &mut p) != 0 {
        let e = io::Error::last_os_error();
        drop(driver);
        rdma_destroy_event_channel(ch);
        return Err(e);
    }
    let (msgs, rx) = tmpsc::unbounded_channel();
    let waker = Arc::new(Waker::new()?);
    let shared = Arc::new(parking_lot::Mutex::new(Shared {
        driver: Some(driver),
        msgs,
        reads: Vec::new(),
        writes: Vec::new(),
        ended: None,
    }));
    Ok((
        RdmaReader { rx },
        RdmaWriter {
            shared: shared.clone(),
            waker: waker.clone(),
            peer,
            local,
        },
        Conn { shared, ch, waker },
    ))
}

fn placement_error(s: crate::wire::NtStatus) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("bad buffer descriptors ({s:?})"),
    )
}

impl Conn {
    fn run(mut self) {
        let why = self.serve();
        debug!(why, "SMB Direct connection ends");
        let mut s = self.shared.lock();
        s.ended.get_or_insert(why);
        if let Some(mut d) = s.driver.take() {
            // SAFETY: the id is live until the driver (IbVerbs) is dropped below.
            unsafe { rdma_disconnect(d.verbs_mut().id()) };
            drop(d);
        }
        for (_, r) in s.reads.drain(..) {
            let _ = r.send(Err(io::ErrorKind::NotConnected.into()));
        }
        for (_, w) in s.writes.drain(..) {
            let _ = w.send(Err(io::ErrorKind::NotConnected.into()));
        }
        drop(s);
        let ch = self.ch;
        drop(self);
        // SAFETY: the id using it was destroyed with the driver.
        unsafe { rdma_destroy_event_channel(ch) };
    }

    fn serve(&mut self) -> &'static str {
        let Ok(comp_fd) = self.shared.lock().live().map(|d| d.verbs_mut().comp_fd()) else {
            return "closed";
        };
        // SAFETY: the channel lives as long as self.
        let cm_fd = unsafe { (*self.ch).fd };
        // Connection-manager events are read only when its channel is readable (and once at
        // the start): a non-blocking read of an empty channel is a system call per wake-up.
        let mut cm_ready = true;
        loop {
            let now = Instant::now();
            let next = {
                let mut s = self.shared.lock();
                s.progress(now);
                if let Some(why) = s.ended {
                    return why;
                }
                s.live().ok().and_then(|d| d.core().poll_timeout())
            };
            if cm_ready && self.cm_disconnected() {
                return "peer disconnected";
            }
            // A writer that queues work posts it itself; this thread wakes for completions,
            // cm events, timers (at least once a second) and the end of the connection.
            let timeout = next
                .map_or(Duration::from_secs(1), |t| t.saturating_duration_since(now))
                .min(Duration::from_secs(1));
            let mut fds = [
                libc::pollfd {
                    fd: comp_fd,
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: self.waker.0,
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: cm_fd,
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            wait_fd(&mut fds, timeout);
            if fds[1].revents != 0 {
                self.waker.drain();
            }
            // Re-arm only after an event: an armed CQ stays armed until it raises one.
            if fds[0].revents != 0 {
                if let Ok(d) = self.shared.lock().live() {
                    d.verbs_mut().rearm();
                }
            }
            cm_ready = fds[2].revents != 0;
        }
    }

    /// Drains the connection's cm events; true on DISCONNECTED or an error event.
    fn cm_disconnected(&mut self) -> bool {
        let mut gone = false;
        loop {
            let mut ev = ptr::null_mut();
            // SAFETY: non-blocking channel; `ev` valid until acknowledged.
            if unsafe { rdma_get_cm_event(self.ch, &mut ev) } != 0 {
                return gone;
            }
            // SAFETY: as above.
            let kind = unsafe { (*ev).event };
            // SAFETY: acknowledged once.
            unsafe { rdma_ack_cm_event(ev) };
            if kind != rdma_cm_event_type::RDMA_CM_EVENT_ESTABLISHED {
                gone = true;
            }
        }
    }
}
