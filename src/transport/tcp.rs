//! Direct TCP transport (MS-SMB2 2.1): each message is preceded by a 4-byte header, a zero byte
//! and a 24-bit big-endian length.
//!
//! Protections: the length is capped (`max_frame`) before any allocation, a frame must arrive
//! whole within `frame_timeout` once its first byte came (a client sending one byte a second is
//! dropped), and a zero-length frame is a protocol error.
use super::{no_rdma, BoxFuture, BufferDescriptor, FrameReader, FrameWriter, TransportKind};
use bytes::{Bytes, BytesMut};
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// Reads Direct-TCP frames.
///
/// Reads go into one buffer, up to [`READ_CHUNK`] bytes a call, and frames are split off it
/// without copying: a client pipelining sixteen 8 KiB reads costs one `recv` for all sixteen.
/// While the connection idles the buffer is given back, so an idle connection holds no read
/// buffer at all.
pub struct TcpReader {
    rd: OwnedReadHalf,
    buf: BytesMut,
    max_frame: usize,
    frame_timeout: Duration,
}

/// How much one `recv` may bring in at most (besides the rest of a large frame).
pub const READ_CHUNK: usize = 64 * 1024;

/// Writes Direct-TCP frames; shared by every task of the connection.
pub struct TcpWriter {
    wr: Mutex<Option<OwnedWriteHalf>>,
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
        },
        TcpWriter {
            wr: Mutex::new(Some(wr)),
            peer,
            local,
        },
    ))
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

    /// Reads once into the buffer, making room for at least `missing` bytes; false at EOF.
    async fn fill(&mut self, missing: usize) -> io::Result<bool> {
        self.buf.reserve(missing.max(READ_CHUNK));
        Ok(self.rd.read_buf(&mut self.buf).await? != 0)
    }

    async fn read_frame(&mut self) -> io::Result<Option<BytesMut>> {
        let missing = match self.buffered()? {
            Buffered::Frame(n) => return Ok(Some(self.take(n))),
            Buffered::Missing(m) => m,
        };
        if self.buf.is_empty() {
            // Waiting for the first byte of a frame has no deadline here: idle connections
            // are the connection layer's business. Wait without holding a buffer.
            self.buf = BytesMut::new();
            self.rd.readable().await?;
            if !self.fill(missing).await? {
                return Ok(None);
            }
        }
        let deadline = self.frame_timeout;
        let rest = async {
            loop {
                match self.buffered()? {
                    Buffered::Frame(n) => return Ok(Some(self.take(n))),
                    Buffered::Missing(m) => {
                        if !self.fill(m).await? {
                            return Err(io::ErrorKind::UnexpectedEof.into());
                        }
                    }
                }
            }
        };
        match tokio::time::timeout(deadline, rest).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "frame not received in time",
            )),
        }
    }

    /// Splits the buffered frame of `n` bytes off the buffer (no copy).
    fn take(&mut self, n: usize) -> BytesMut {
        let _ = self.buf.split_to(4);
        self.buf.split_to(n)
    }
}

impl FrameReader for TcpReader {
    fn recv(&mut self) -> BoxFuture<'_, io::Result<Option<BytesMut>>> {
        Box::pin(self.read_frame())
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
        let (mut idx, mut off) = (0usize, 0usize);
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
}

impl FrameWriter for TcpWriter {
    fn send(&self, parts: Vec<Bytes>) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(self.write_parts(parts))
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
