//! The RDMA verbs SMB Direct needs, as a trait: post receives and sends (optionally Send
//! with Invalidate), RDMA Read and Write against a remote (token, address, length), and
//! completions. Implemented by the software double ([`super::double`]) and by the real
//! device (`transport::rdma`). Buffers are owned by the implementation (registered memory):
//! callers hand in bytes to send or write and get received or read bytes back in
//! completions.
use bytes::Bytes;
use std::io;

/// A region of the peer's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remote {
    /// Steering tag (rkey).
    pub token: u32,
    /// Remote virtual address.
    pub addr: u64,
    /// Bytes.
    pub len: u32,
}

/// A finished work request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// A receive got a packet.
    Recv {
        /// The work request id given to `post_recv`.
        wr_id: u64,
        /// The packet.
        data: Bytes,
    },
    /// A send went out.
    Send {
        /// Its id.
        wr_id: u64,
    },
    /// An RDMA Read finished.
    Read {
        /// Its id.
        wr_id: u64,
        /// The bytes read.
        data: Bytes,
    },
    /// An RDMA Write finished.
    Write {
        /// Its id.
        wr_id: u64,
    },
    /// A work request failed (remote access error, flush after disconnect, ...); the queue
    /// pair is then unusable.
    Failed {
        /// Its id.
        wr_id: u64,
        /// What the device said.
        reason: String,
    },
}

/// The verbs of one queue pair.
pub trait Verbs {
    /// Posts a receive of up to `len` bytes.
    fn post_recv(&mut self, wr_id: u64, len: usize) -> io::Result<()>;
    /// Posts a Send of `packet`, with Invalidate of `invalidate` when given.
    fn post_send(&mut self, wr_id: u64, packet: &[u8], invalidate: Option<u32>) -> io::Result<()>;
    /// Posts an RDMA Read of `remote`. `WouldBlock` means no local registered buffer is
    /// free now (pool exhausted): nothing was posted; try again after a completion.
    fn rdma_read(&mut self, wr_id: u64, remote: Remote) -> io::Result<()>;
    /// Posts an RDMA Write of `data` to `remote` (`data.len() == remote.len`); `WouldBlock`
    /// as for [`Verbs::rdma_read`].
    fn rdma_write(&mut self, wr_id: u64, remote: Remote, data: &[u8]) -> io::Result<()>;
    /// Appends the completions available now (does not block).
    fn poll(&mut self, out: &mut Vec<Completion>) -> io::Result<()>;
}
