//! Transports: how whole SMB2 messages, and bulk data, move between client and server.
//!
//! One contract for TCP and SMB Direct (MS-SMBD). Besides messages, it carries *data
//! placement*: a READ or WRITE whose Channel is `SMB2_CHANNEL_RDMA_V1[_INVALIDATE]` moves its
//! payload by RDMA Write/Read against the client's buffer descriptors
//! ([`BufferDescriptor`], MS-SMBD 2.2.3.1), so handlers ask the transport to place data instead
//! of putting it in the reply. TCP has no such channel: it refuses placement, and clients never
//! ask for it there (MS-SMB2 3.3.5.12: a Channel other than NONE on TCP is
//! STATUS_INVALID_PARAMETER, checked by the server before it would get here).
pub mod pool;
pub mod rdma;
pub mod smbd;
pub mod tcp;

use bytes::{Bytes, BytesMut};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;

/// A boxed future, so the transport traits stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Which transport a channel runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Direct TCP (MS-SMB2 2.1), usually port 445.
    Tcp,
    /// SMB Direct over RDMA (MS-SMBD), usually port 5445.
    Rdma,
}

/// One element of the client's SMB_DIRECT_BUFFER_DESCRIPTOR_V1 list (MS-SMBD 2.2.3.1): a
/// registered region of client memory the server may read (for WRITE) or write (for READ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferDescriptor {
    /// Remote virtual address (Offset).
    pub offset: u64,
    /// Steering tag (Token).
    pub token: u32,
    /// Bytes in the region.
    pub length: u32,
}

/// The receiving half of a connection: yields one whole SMB2 message (the payload of one
/// Direct-TCP frame, or one reassembled SMB Direct message) at a time.
pub trait FrameReader: Send {
    /// The next message; `Ok(None)` when the peer closed the connection in an orderly way.
    /// Framing violations (oversized length, slow sender past the deadline) are errors, after
    /// which the connection is to be dropped.
    fn recv(&mut self) -> BoxFuture<'_, io::Result<Option<BytesMut>>>;
    /// True when a whole message is already buffered (the next `recv` will not wait).
    fn has_buffered(&self) -> bool {
        false
    }
    /// [`recv`](Self::recv) by polling, without a future per message (the hot path).
    /// `None`: this transport only offers `recv`.
    fn poll_recv(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> Option<std::task::Poll<io::Result<Option<BytesMut>>>> {
        None
    }
}

/// The sending half of a connection, shared by every task working for it.
pub trait FrameWriter: Send + Sync {
    /// Sends one message made of `parts` (written back to back, vectored where possible:
    /// a READ response goes out as header + body + the data's own buffer).
    fn send(&self, parts: Vec<Bytes>) -> BoxFuture<'_, io::Result<()>>;
    /// Sends one message made of `parts` right away when the transport can (the hot path:
    /// no future, no allocation), returning `None` once it is all out; otherwise the future
    /// that finishes it. The parts may be recycled once sent. Default: [`send`](Self::send).
    fn send_now(&self, parts: &[Bytes]) -> Option<BoxFuture<'_, io::Result<()>>> {
        Some(self.send(parts.to_vec()))
    }
    /// Holds back the messages given to [`send_now`](Self::send_now) until
    /// [`flush`](Self::flush), so the responses to a batch of requests that arrived together
    /// leave together. Default: no-op.
    fn cork(&self) {}
    /// Sends what [`cork`](Self::cork) held back and stops holding back; `None` once it is
    /// all out, else the future that finishes it.
    fn flush(&self) -> Option<BoxFuture<'_, io::Result<()>>> {
        None
    }
    /// Places `data` into the client's buffers (RDMA Write) for a READ on an RDMA channel.
    fn rdma_write<'a>(
        &'a self,
        descriptors: &'a [BufferDescriptor],
        data: &'a [u8],
    ) -> BoxFuture<'a, io::Result<()>>;
    /// Fetches `len` bytes from the client's buffers (RDMA Read) for a WRITE on an RDMA channel.
    fn rdma_read<'a>(
        &'a self,
        descriptors: &'a [BufferDescriptor],
        len: usize,
    ) -> BoxFuture<'a, io::Result<Bytes>>;
    /// Which transport this is.
    fn kind(&self) -> TransportKind;
    /// The client's address.
    fn peer(&self) -> SocketAddr;
    /// The local address the client connected to.
    fn local(&self) -> SocketAddr;
    /// Closes the connection; pending and later sends fail.
    fn close(&self) -> BoxFuture<'_, ()>;
    /// How far the peer has acknowledged what was sent: (bytes acknowledged so far, bytes
    /// sent and not yet acknowledged). Lets break delivery notice a channel whose peer has
    /// gone silent and try another (MS-SMB2 3.3.4.6). `None` when unknown (the transport
    /// cannot tell, or a send is in progress).
    fn send_progress(&self) -> Option<(u64, u64)> {
        None
    }
    /// Drops the connection at once, without waiting for the peer to acknowledge what is
    /// queued (TCP: a reset), for a channel found dead. A no-op where unsupported.
    fn abort(&self) {}
    /// SMB Direct: Send with Invalidate of `token` goes out no later than the next message
    /// (the response to a READ/WRITE with SMB2_CHANNEL_RDMA_V1_INVALIDATE, after its data
    /// was placed). A no-op elsewhere.
    fn invalidate_with_next_send(&self, _token: u32) {}
}

/// The error TCP returns for placement requests.
pub(crate) fn no_rdma() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "RDMA placement on a TCP channel",
    )
}
