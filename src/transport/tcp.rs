//! Direct TCP transport (MS-SMB2 2.1): each message is preceded by a 4-byte header, a zero byte
//! and a 24-bit big-endian length.
//!
//! Protections: the length is capped (`max_frame`) before any allocation, a frame must arrive
//! whole within `frame_timeout` once its first byte came (a client sending one byte a second is
//! dropped), and a zero-length frame is a protocol error.
use super::{no_rdma, BoxFuture, BufferDescriptor, FrameReader, FrameWriter, TransportKind};
use bytes::{Bytes, BytesMut};
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// Reads Direct-TCP frames.
///
/// Reads go into one buffer, up to [`READ_CHUNK`] bytes a call, and frames are split off it
/// without copying: a client pipelining sixteen 8 KiB reads costs one `recv` for all sixteen.
/// While the connection waits for a new frame the buffer goes back to the thread's pool
/// ([`super::pool`]), so an idle connection holds no read buffer at all and a busy one takes
/// a recycled one: nothing is allocated per frame. Frames are read by polling, without a
/// future per frame ([`FrameReader::poll_recv`]).
pub struct TcpReader {
    rd: OwnedReadHalf,
    buf: BytesMut,
    max_frame: usize,
    frame_timeout: Duration,
    /// The deadline of the frame being received, armed while one is incomplete (allocated
    /// once, on the first incomplete frame, then reset).
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    armed: bool,
}

/// How much one `recv` may bring in at most (besides the rest of a large frame).
pub const READ_CHUNK: usize = 64 * 1024;

/// Writes Direct-TCP frames; shared by every task of the connection.
pub struct TcpWriter {
    wr: Mutex<Option<OwnedWriteHalf>>,
    /// Messages held back while corked ([`FrameWriter::cork`]).
    cork: parking_lot::Mutex<Cork>,
    peer: SocketAddr,
    local: SocketAddr,
}

/// Splits an accepted stream into its two halves.
pub fn split(
    stream: TcpStream,
    max_frame: usize,
    frame_timeout: Duration,
) -> io::Result<(TcpReader, TcpWriter)> {
    stream.set_nodelay(true)?;
    let peer = stream.peer_addr()?;
    let local = stream.local_addr()?;
    let (rd, wr) = stream.into_split();
    Ok((
        TcpReader {
            rd,
            buf: BytesMut::new(),
            max_frame,
            frame_timeout,
            deadline: None,
            armed: false,
        },
        TcpWriter {
            wr: Mutex::new(Some(wr)),
            cork: parking_lot::Mutex::new(Cork::default()),
            peer,
            local,
        },
    ))
}

/// Makes the kernel close a connection whose peer vanished without a FIN or RST (power loss,
/// cable pulled, a multichannel link taken down) after about `after`: keepalive probes start
/// when the connection has been idle for half of it and go every tenth of it, six unanswered
/// ones end it; `TCP_USER_TIMEOUT` ends it when sent data stays unacknowledged for `after`.
/// The reader then sees an error, and the connection is torn down as any other (its opens
/// become disconnected durable opens or are closed). SMB2 has no server-to-client keepalive
/// of its own (clients send ECHO), so this is what frees a dead client's locks and share modes.
pub fn dead_peer_detection(fd: std::os::fd::RawFd, after: Duration) -> io::Result<()> {
    let secs = after.as_secs().clamp(2, i32::MAX as u64 / 1000) as i32;
    let idle = (secs / 2).max(1);
    let interval = (secs / 10).max(1);
    let opts = [
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1),
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, idle),
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, interval),
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 6),
        (libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT, secs * 1000),
    ];
    for (level, name, value) in opts {
        // SAFETY: setsockopt on a socket we own, with a pointer to a local c_int and its size.
        let r = unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                &value as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn framing_error(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// What the buffer holds: a whole frame of `n` bytes after the 4-byte header, or the number of
/// bytes still missing before the next frame is whole.
enum Buffered {
    Frame(usize),
    Missing(usize),
}

impl TcpReader {
    /// Checks the buffered header (as soon as its bytes are in, before anything is allocated
    /// for the body) and says whether a whole frame is buffered.
    fn buffered(&self) -> io::Result<Buffered> {
        let b = &self.buf[..];
        if let Some(&first) = b.first() {
            if first != 0 {
                return Err(framing_error("Direct TCP header: first byte is not zero"));
            }
        }
        let Some(len) = b.get(1..4) else {
            return Ok(Buffered::Missing(4 - b.len()));
        };
        let n = u32::from_be_bytes([0, len[0], len[1], len[2]]) as usize;
        if n == 0 || n > self.max_frame {
            return Err(framing_error("Direct TCP frame length out of range"));
        }
        if b.len() >= 4 + n {
            Ok(Buffered::Frame(n))
        } else {
            Ok(Buffered::Missing(4 + n - b.len()))
        }
    }

    /// The next frame, by polling: no future, no allocation once warm.
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<BytesMut>>> {
        loop {
            let missing = match self.buffered()? {
                Buffered::Frame(n) => {
                    self.armed = false;
                    return Poll::Ready(Ok(Some(self.take(n))));
                }
                Buffered::Missing(m) => m,
            };
            if self.buf.is_empty() && self.buf.capacity() > 0 {
                // Waiting for the first byte of a frame has no deadline here (idle
                // connections are the connection layer's business), and holds no buffer.
                super::pool::give(std::mem::take(&mut self.buf));
            }
            if !self.buf.is_empty() && !self.armed {
                // A frame is under way: it must be whole within the deadline.
                let at = tokio::time::Instant::now() + self.frame_timeout;
                match self.deadline.as_mut() {
                    Some(d) => d.as_mut().reset(at),
                    None => self.deadline = Some(Box::pin(tokio::time::sleep_until(at))),
                }
                self.armed = true;
            }
            if self.armed {
                if let Some(d) = self.deadline.as_mut() {
                    if d.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "frame not received in time",
                        )));
                    }
                }
            }
            if let Err(e) = ready!(self.rd.as_ref().poll_read_ready(cx)) {
                return Poll::Ready(Err(e));
            }
            let want = missing.max(READ_CHUNK);
            if self.buf.capacity() == 0 {
                self.buf = super::pool::take(want);
            }
            self.buf.reserve(want);
            match read_some(&self.rd, &mut self.buf) {
                Ok(0) if self.buf.is_empty() => return Poll::Ready(Ok(None)),
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into())),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Splits the buffered frame of `n` bytes off the buffer (no copy).
    fn take(&mut self, n: usize) -> BytesMut {
        let _ = self.buf.split_to(4);
        self.buf.split_to(n)
    }
}

/// One `recv` into the free room of `buf`. A read that leaves room unfilled means the socket
/// is drained: its readiness is cleared with it, so the next frame waits for the next epoll
/// event instead of costing a `recv` that only says EAGAIN (one system call per request less
/// when each request arrives alone, as with many connections at queue depth 1).
fn read_some(rd: &OwnedReadHalf, buf: &mut BytesMut) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let sock: &TcpStream = rd.as_ref();
    let fd = sock.as_raw_fd();
    let mut got = 0usize;
    let r = sock.try_io(tokio::io::Interest::READABLE, || {
        let room = buf.spare_capacity_mut();
        // SAFETY: recv writes at most `room.len()` bytes into the buffer's free capacity.
        let n = unsafe { libc::recv(fd, room.as_mut_ptr().cast(), room.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        got = n as usize;
        if got > 0 && got < room.len() {
            // Drained: report "would block" so the readiness is cleared; the bytes are kept.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(())
    });
    if got > 0 {
        // SAFETY: recv initialised `got` bytes of the free capacity.
        unsafe { buf.set_len(buf.len() + got) };
        return Ok(got);
    }
    r.map(|()| 0)
}

impl FrameReader for TcpReader {
    fn recv(&mut self) -> BoxFuture<'_, io::Result<Option<BytesMut>>> {
        Box::pin(std::future::poll_fn(move |cx| self.poll_frame(cx)))
    }
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Option<Poll<io::Result<Option<BytesMut>>>> {
        Some(self.poll_frame(cx))
    }
    fn has_buffered(&self) -> bool {
        matches!(self.buffered(), Ok(Buffered::Frame(_)))
    }
}

/// Most parts a message may have for [`FrameWriter::send_now`]'s allocation-free path.
const NOW_PARTS: usize = 15;
/// Buffers per `writev` when flushing what was corked.
const FLUSH_IOV: usize = 64;

/// One buffer held back while corked: a Direct-TCP header or a part of a message.
enum Item {
    Hdr([u8; 4]),
    Part(Bytes),
}

impl Item {
    fn as_slice(&self) -> &[u8] {
        match self {
            Item::Hdr(h) => h,
            Item::Part(b) => b,
        }
    }
}

/// Messages held back while the connection handles a batch of requests, so their
/// responses leave together (one `writev` instead of one each). The list keeps its capacity.
#[derive(Default)]
struct Cork {
    on: bool,
    items: Vec<Item>,
}

impl Cork {
    /// Everything held back, as owned buffers (for the slow path).
    fn take_all(&mut self) -> Vec<Bytes> {
        self.take_from(0, 0)
    }

    /// The items from `first` on, minus the `sent` bytes already written.
    fn take_from(&mut self, first: usize, mut sent: usize) -> Vec<Bytes> {
        let mut rest = Vec::with_capacity(self.items.len().saturating_sub(first));
        for it in self.items.drain(..).skip(first) {
            let b = match it {
                Item::Hdr(h) => Bytes::copy_from_slice(&h),
                Item::Part(b) => b,
            };
            if sent >= b.len() {
                sent -= b.len();
                continue;
            }
            rest.push(b.slice(sent..));
            sent = 0;
        }
        rest
    }
}

impl TcpWriter {
    async fn write_parts(&self, parts: Vec<Bytes>) -> io::Result<()> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if total > 0x00FF_FFFF {
            return Err(framing_error("response larger than a Direct TCP frame"));
        }
        let hdr = (total as u32).to_be_bytes();
        let mut guard = self.wr.lock().await;
        let wr = guard
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
        let mut bufs: Vec<&[u8]> = Vec::with_capacity(parts.len() + 1);
        bufs.push(&hdr);
        bufs.extend(parts.iter().map(|p| &p[..]));
        write_all(wr, &bufs).await
    }

    /// Sends what [`FrameWriter::send_now`] could not, still holding the writer's lock, so
    /// no other message slips in between.
    fn finish_later<'a>(
        guard: tokio::sync::MutexGuard<'a, Option<OwnedWriteHalf>>,
        hdr: [u8; 4],
        parts: &[Bytes],
        mut sent: usize,
    ) -> BoxFuture<'a, io::Result<()>> {
        let mut rest: Vec<Bytes> = Vec::with_capacity(parts.len() + 1);
        if sent < 4 {
            rest.push(Bytes::copy_from_slice(&hdr[sent..]));
            sent = 0;
        } else {
            sent -= 4;
        }
        for p in parts {
            if sent >= p.len() {
                sent -= p.len();
            } else {
                rest.push(p.slice(sent..));
                sent = 0;
            }
        }
        Box::pin(async move {
            let mut guard = guard;
            let wr = guard
                .as_mut()
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
            let bufs: Vec<&[u8]> = rest.iter().map(|p| &p[..]).collect();
            write_all(wr, &bufs).await
        })
    }
}

/// Writes `bufs` back to back, vectored, until all is out.
async fn write_all(wr: &mut OwnedWriteHalf, bufs: &[&[u8]]) -> io::Result<()> {
    let (mut idx, mut off) = (0usize, 0usize);
    while idx < bufs.len() && bufs[idx].len() == off {
        idx += 1;
    }
    while idx < bufs.len() {
        let slices: Vec<IoSlice<'_>> = std::iter::once(IoSlice::new(&bufs[idx][off..]))
            .chain(bufs[idx + 1..].iter().map(|b| IoSlice::new(b)))
            .collect();
        let mut n = wr.write_vectored(&slices).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        while n > 0 && idx < bufs.len() {
            let left = bufs[idx].len() - off;
            if n >= left {
                n -= left;
                idx += 1;
                off = 0;
            } else {
                off += n;
                n = 0;
            }
        }
        while idx < bufs.len() && bufs[idx].len() == off {
            idx += 1;
            off = 0;
        }
    }
    Ok(())
}

impl FrameWriter for TcpWriter {
    fn send(&self, parts: Vec<Bytes>) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(self.write_parts(parts))
    }
    fn send_now(&self, parts: &[Bytes]) -> Option<BoxFuture<'_, io::Result<()>>> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if parts.len() > NOW_PARTS || total > 0x00FF_FFFF {
            return Some(self.send(parts.to_vec()));
        }
        {
            let mut cork = self.cork.lock();
            if cork.on {
                cork.items.push(Item::Hdr((total as u32).to_be_bytes()));
                cork.items
                    .extend(parts.iter().map(|p| Item::Part(p.clone())));
                return None;
            }
        }
        // Behind a send in progress (or queued): wait in line.
        let Ok(mut guard) = self.wr.try_lock() else {
            return Some(self.send(parts.to_vec()));
        };
        let Some(wr) = guard.as_mut() else {
            return Some(Box::pin(async {
                Err(io::Error::from(io::ErrorKind::NotConnected))
            }));
        };
        let hdr = (total as u32).to_be_bytes();
        let mut slices = [IoSlice::new(&[]); NOW_PARTS + 1];
        slices[0] = IoSlice::new(&hdr);
        for (s, p) in slices[1..].iter_mut().zip(parts) {
            *s = IoSlice::new(p);
        }
        let sent = match wr.try_write_vectored(&slices[..parts.len() + 1]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => return Some(Box::pin(async move { Err(e) })),
        };
        if sent == total + 4 {
            return None;
        }
        Some(Self::finish_later(guard, hdr, parts, sent))
    }
    fn rdma_write<'a>(
        &'a self,
        _: &'a [BufferDescriptor],
        _: &'a [u8],
    ) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async { Err(no_rdma()) })
    }
    fn rdma_read<'a>(
        &'a self,
        _: &'a [BufferDescriptor],
        _: usize,
    ) -> BoxFuture<'a, io::Result<Bytes>> {
        Box::pin(async { Err(no_rdma()) })
    }
    fn cork(&self) {
        self.cork.lock().on = true;
    }
    fn flush(&self) -> Option<BoxFuture<'_, io::Result<()>>> {
        let mut cork = self.cork.lock();
        cork.on = false;
        if cork.items.is_empty() {
            return None;
        }
        let Ok(mut guard) = self.wr.try_lock() else {
            // A send is under way: queue behind it (rare; allocates).
            let rest = cork.take_all();
            return Some(Box::pin(async move {
                let mut guard = self.wr.lock().await;
                let wr = guard
                    .as_mut()
                    .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
                let bufs: Vec<&[u8]> = rest.iter().map(|p| &p[..]).collect();
                write_all(wr, &bufs).await
            }));
        };
        let Some(wr) = guard.as_mut() else {
            cork.items.clear();
            return Some(Box::pin(async {
                Err(io::Error::from(io::ErrorKind::NotConnected))
            }));
        };
        // Everything held back, in rounds of up to FLUSH_IOV buffers per writev.
        let mut done = 0;
        while done < cork.items.len() {
            let mut slices = [IoSlice::new(&[]); FLUSH_IOV];
            let mut n = 0;
            let mut bytes = 0;
            for (s, it) in slices.iter_mut().zip(&cork.items[done..]) {
                *s = IoSlice::new(it.as_slice());
                bytes += it.as_slice().len();
                n += 1;
            }
            let sent = match wr.try_write_vectored(&slices[..n]) {
                Ok(k) => k,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
                Err(e) => {
                    cork.items.clear();
                    return Some(Box::pin(async move { Err(e) }));
                }
            };
            if sent < bytes {
                // The socket is full: the rest goes out from a future, in order, under
                // the lock held since.
                let rest = cork.take_from(done, sent);
                return Some(Box::pin(async move {
                    let mut guard = guard;
                    let wr = guard
                        .as_mut()
                        .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
                    let bufs: Vec<&[u8]> = rest.iter().map(|p| &p[..]).collect();
                    write_all(wr, &bufs).await
                }));
            }
            done += n;
        }
        for it in cork.items.drain(..) {
            if let Item::Part(b) = it {
                super::pool::give_bytes(b);
            }
        }
        None
    }
    fn kind(&self) -> TransportKind {
        TransportKind::Tcp
    }
    fn peer(&self) -> SocketAddr {
        self.peer
    }
    fn local(&self) -> SocketAddr {
        self.local
    }
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(mut w) = self.wr.lock().await.take() {
                let _ = w.shutdown().await;
            }
        })
    }
    fn send_progress(&self) -> Option<(u64, u64)> {
        use std::os::fd::AsRawFd;
        // The lock keeps the socket open while it is asked; a send in progress means "ask
        // again later".
        let wr = self.wr.try_lock().ok()?;
        tcp_send_progress(wr.as_ref()?.as_ref().as_raw_fd())
    }
    fn abort(&self) {
        use std::os::fd::AsRawFd;
        if let Ok(wr) = self.wr.try_lock() {
            if let Some(w) = wr.as_ref() {
                tcp_reset(w.as_ref().as_raw_fd());
            }
        }
    }
}

/// Resets a TCP connection now: connect() to AF_UNSPEC disconnects the socket, sending a RST
/// even when unacknowledged data is queued (a FIN would wait behind it).
fn tcp_reset(fd: std::os::fd::RawFd) {
    // SAFETY: `fd` is an open socket (the caller holds its owner); the address passed is a
    // zeroed sockaddr of the size given.
    unsafe {
        let mut sa: libc::sockaddr = std::mem::zeroed();
        sa.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
        libc::connect(
            fd,
            &sa,
            std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
        );
    }
}

/// TCP_INFO's tcpi_bytes_acked and the send queue (SIOCOUTQ: bytes not yet acknowledged).
fn tcp_send_progress(fd: std::os::fd::RawFd) -> Option<(u64, u64)> {
    // SAFETY: `fd` is an open TCP socket (the caller holds its owner); both calls only write
    // into the local buffers whose sizes they are given.
    unsafe {
        let mut info: libc::tcp_info = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        if libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        ) != 0
        {
            return None;
        }
        if (len as usize) < std::mem::offset_of!(libc::tcp_info, tcpi_bytes_acked) + 8 {
            return None; // a kernel older than 4.1
        }
        let mut outq: libc::c_int = 0;
        if libc::ioctl(fd, libc::TIOCOUTQ, &mut outq) != 0 {
            return None;
        }
        Some((info.tcpi_bytes_acked, outq.max(0) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    async fn pair(max: usize, timeout: Duration) -> (TcpStream, TcpReader, TcpWriter) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        let (r, w) = split(s, max, timeout).unwrap();
        (c, r, w)
    }

    #[tokio::test]
    async fn frames_round_trip_and_vectored_send() {
        let (mut c, mut r, w) = pair(1 << 20, Duration::from_secs(5)).await;
        c.write_all(&[0, 0, 0, 3, b'a', b'b', b'c']).await.unwrap();
        assert_eq!(&r.recv().await.unwrap().unwrap()[..], b"abc");
        w.send(vec![
            Bytes::from_static(b"xy"),
            Bytes::new(),
            Bytes::from_static(b"z"),
        ])
        .await
        .unwrap();
        let mut got = [0u8; 7];
        c.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, &[0, 0, 0, 3, b'x', b'y', b'z']);
        drop(c);
        assert!(r.recv().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn refuses_oversized_length_prefix_without_allocating() {
        let (mut c, mut r, _w) = pair(1 << 20, Duration::from_secs(5)).await;
        c.write_all(&[0, 0xFF, 0xFF, 0xFF]).await.unwrap();
        assert_eq!(
            r.recv().await.unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[tokio::test]
    async fn refuses_non_zero_first_byte_and_empty_frame() {
        let (mut c, mut r, _w) = pair(1 << 20, Duration::from_secs(5)).await;
        c.write_all(&[1, 0, 0, 1, 0]).await.unwrap();
        assert!(r.recv().await.is_err());
        let (mut c, mut r, _w) = pair(1 << 20, Duration::from_secs(5)).await;
        c.write_all(&[0, 0, 0, 0]).await.unwrap();
        assert!(r.recv().await.is_err());
    }

    #[tokio::test]
    async fn pipelined_frames_split_from_one_read() {
        let (mut c, mut r, _w) = pair(1 << 20, Duration::from_secs(5)).await;
        let mut wire = Vec::new();
        for i in 0..50u8 {
            wire.extend_from_slice(&[0, 0, 0x20, 0]);
            wire.extend(std::iter::repeat_n(i, 0x2000));
        }
        c.write_all(&wire).await.unwrap();
        for i in 0..50u8 {
            let f = r.recv().await.unwrap().unwrap();
            assert_eq!(f.len(), 0x2000);
            assert!(f.iter().all(|&b| b == i));
        }
        // A frame larger than one read chunk arrives whole too.
        let big = 3 * READ_CHUNK + 5;
        c.write_all(&(big as u32).to_be_bytes()).await.unwrap();
        c.write_all(&vec![7u8; big]).await.unwrap();
        assert_eq!(r.recv().await.unwrap().unwrap().len(), big);
    }

    #[tokio::test]
    async fn slow_sender_times_out() {
        let (mut c, mut r, _w) = pair(1 << 20, Duration::from_millis(300)).await;
        c.write_all(&[0, 0, 0, 100, 1]).await.unwrap();
        let t = tokio::time::Instant::now();
        assert_eq!(r.recv().await.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert!(t.elapsed() < Duration::from_secs(2));
    }
}
