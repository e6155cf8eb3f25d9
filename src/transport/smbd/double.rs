//! A software double of the verbs layer, playing the client's side of one queue pair: its
//! registered memory regions (token -> address range), the receives the server posted,
//! the packets the server sent. RDMA Reads and Writes are checked the way a device checks
//! them: an unknown token, or a range not inside the token's region, completes with a
//! remote access error and touches nothing. Every access is logged so tests can assert
//! the server read or wrote exactly what it should have.
//!
//! With [`DoubleVerbs::pool`] set, local buffers for RDMA Read/Write come from a
//! [`ChunkPool`] as on the real device (`transport::rdma::ib`): a reservation that must wait
//! answers `WouldBlock`, and each lease is released when its completion is polled.
use super::mempool::{ChunkPool, Lease, Reserve};
use super::verbs::{Completion, Remote, Verbs};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::io;

/// One registered client region.
#[derive(Debug, Clone)]
pub struct Region {
    /// Start address.
    pub addr: u64,
    /// Contents.
    pub mem: Vec<u8>,
}

/// A logged RDMA access: (token, address, length, is a write).
pub type Access = (u32, u64, u32, bool);

/// The double.
#[derive(Debug, Default)]
pub struct DoubleVerbs {
    /// The client's regions by token.
    pub regions: HashMap<u32, Region>,
    /// Receives posted by the server: (wr_id, buffer length).
    pub posted: VecDeque<(u64, usize)>,
    /// Packets the server sent, with the token it invalidated.
    pub sent: Vec<(Bytes, Option<u32>)>,
    /// RDMA accesses that succeeded.
    pub accesses: Vec<Access>,
    /// Tokens invalidated by Send with Invalidate.
    pub invalidated: Vec<u32>,
    /// The server's registered-memory pool, when the test wants one.
    pub pool: Option<ChunkPool>,
    leases: HashMap<u64, Lease>,
    completions: VecDeque<Completion>,
}

impl DoubleVerbs {
    /// Registers a client region.
    pub fn register(&mut self, token: u32, addr: u64, mem: Vec<u8>) {
        self.regions.insert(token, Region { addr, mem });
    }

    /// The client sends `packet`: it lands in the oldest posted receive. Returns false when
    /// no receive is posted (a real device would report receiver-not-ready).
    pub fn deliver(&mut self, packet: &[u8]) -> bool {
        let Some((wr_id, len)) = self.posted.pop_front() else {
            return false;
        };
        if packet.len() > len {
            self.completions.push_back(Completion::Failed {
                wr_id,
                reason: "local length error".into(),
            });
        } else {
            self.completions.push_back(Completion::Recv {
                wr_id,
                data: Bytes::copy_from_slice(packet),
            });
        }
        true
    }

    /// Takes the packets sent so far.
    pub fn take_sent(&mut self) -> Vec<(Bytes, Option<u32>)> {
        std::mem::take(&mut self.sent)
    }

    fn check(&self, r: &Remote) -> Option<(u32, usize)> {
        let reg = self.regions.get(&r.token)?;
        let start = r.addr.checked_sub(reg.addr)?;
        let end = start.checked_add(u64::from(r.len))?;
        if end > reg.mem.len() as u64 {
            return None;
        }
        Some((r.token, start as usize))
    }

    /// A local buffer for `len` bytes from the pool (if any), held until `wr_id` completes.
    fn lease(&mut self, wr_id: u64, len: usize) -> io::Result<()> {
        let Some(pool) = self.pool.as_mut() else {
            return Ok(());
        };
        loop {
            match pool.reserve(len) {
                Reserve::Got(l) => {
                    self.leases.insert(wr_id, l);
                    return Ok(());
                }
                Reserve::Grow => {
                    pool.add_slab();
                }
                Reserve::Wait => return Err(io::ErrorKind::WouldBlock.into()),
            }
        }
    }
}

impl Verbs for DoubleVerbs {
    fn post_recv(&mut self, wr_id: u64, len: usize) -> io::Result<()> {
        self.posted.push_back((wr_id, len));
        Ok(())
    }

    fn post_send(&mut self, wr_id: u64, packet: &[u8], invalidate: Option<u32>) -> io::Result<()> {
        if let Some(t) = invalidate {
            self.invalidated.push(t);
            self.regions.remove(&t);
        }
        self.sent.push((Bytes::copy_from_slice(packet), invalidate));
        self.completions.push_back(Completion::Send { wr_id });
        Ok(())
    }

    fn rdma_read(&mut self, wr_id: u64, remote: Remote) -> io::Result<()> {
        self.lease(wr_id, remote.len as usize)?;
        let c = match self.check(&remote) {
            Some((t, start)) => {
                let mem = &self.regions[&t].mem;
                self.accesses.push((t, remote.addr, remote.len, false));
                Completion::Read {
                    wr_id,
                    data: Bytes::copy_from_slice(&mem[start..start + remote.len as usize]),
                }
            }
            None => Completion::Failed {
                wr_id,
                reason: "remote access error".into(),
            },
        };
        self.completions.push_back(c);
        Ok(())
    }

    fn rdma_write(&mut self, wr_id: u64, remote: Remote, data: &[u8]) -> io::Result<()> {
        self.lease(wr_id, remote.len as usize)?;
        let c = match self.check(&remote) {
            Some((t, start)) if data.len() == remote.len as usize => {
                let mem = &mut self.regions.get_mut(&t).expect("checked").mem;
                mem[start..start + data.len()].copy_from_slice(data);
                self.accesses.push((t, remote.addr, remote.len, true));
                Completion::Write { wr_id }
            }
            _ => Completion::Failed {
                wr_id,
                reason: "remote access error".into(),
            },
        };
        self.completions.push_back(c);
        Ok(())
    }

    fn poll(&mut self, out: &mut Vec<Completion>) -> io::Result<()> {
        for c in self.completions.drain(..) {
            let wr_id = match &c {
                Completion::Recv { wr_id, .. }
                | Completion::Send { wr_id }
                | Completion::Read { wr_id, .. }
                | Completion::Write { wr_id }
                | Completion::Failed { wr_id, .. } => *wr_id,
            };
            if let (Some(l), Some(pool)) = (self.leases.remove(&wr_id), self.pool.as_mut()) {
                pool.release(l);
            }
            out.push(c);
        }
        Ok(())
    }
}
