//! SMB Direct (MS-SMBD) protocol core, sans I/O, in the style of quinn-proto: feed it the
//! packets that receives completed with, ask it what to send, and it keeps negotiation,
//! credits, fragmentation, reassembly and keep-alive straight. The RDMA verbs are behind
//! [`verbs::Verbs`]; [`driver::Driver`] joins the two, and [`double`] is a software peer
//! (client memory, rkeys, posted receives) so all of it is unit-tested without RDMA hardware.
//!
//! Done:
//! - negotiation (MS-SMBD 3.1.5.7, [`negotiate`]): version 0x0100, the 3.1.1.1 defaults
//!   (ReceiveCreditMax 255, SendCreditTarget 255, MaxSendSize 1364, MaxReceiveSize 8192,
//!   MaxFragmentedSize and MaxReadWriteSize 1 MiB, KeepaliveInterval 120 s); failures answer
//!   with a status and disconnect;
//! - credits ([`credits`]): never a send without a credit, grants only for posted receives,
//!   a message without a credit ends the connection, the last credit asks for a response;
//! - fragmentation of upper-layer messages into MaxSendSize packets and bounded reassembly
//!   ([`reassembly`]);
//! - keep-alive (idle timer, SMB_DIRECT_RESPONSE_REQUESTED, prompt answers to the peer's
//!   flag, disconnect when a keep-alive goes unanswered for another interval);
//! - orderly close ([`Core::close`]) and abrupt disconnect on any protocol violation;
//! - data placement planning and descriptor validation ([`placement`]): bad descriptor lists
//!   are refused with STATUS_INVALID_PARAMETER before any RDMA operation is posted; RDMA
//!   Reads/Writes touch exactly the request's bytes, in descriptor order;
//! - remote invalidation (SMB2_CHANNEL_RDMA_V1_INVALIDATE, MS-SMBD 3.1.4.2): a token is
//!   queued once its request's placement completed and leaves on a Send with Invalidate no
//!   later than the first packet of the next message (that request's response at the
//!   latest), never trailing it ([`Core::invalidate_next`]);
//! - registered memory for placement ([`mempool`]): bounded per-connection slabs lent in
//!   8 KiB chunks; a segment that finds the pool exhausted waits in the [`driver`] (in
//!   order) instead of failing or registering memory of its own.
//!
//! Not done here: SMB2_RDMA_TRANSFORM (signing/encryption of placed data), which the Linux
//! client does not use. The real verbs live in `transport::rdma`.
pub mod credits;
pub mod double;
pub mod driver;
pub mod mempool;
pub mod negotiate;
pub mod placement;
pub mod reassembly;
pub mod verbs;

use crate::wire::smbd::{
    DataHeader, DataTransfer, NegotiateRequest, DATA_OFFSET, SMB_DIRECT_RESPONSE_REQUESTED,
};
use bytes::{Bytes, BytesMut};
pub use credits::Credits;
pub use negotiate::{Config, Params};
use reassembly::Reassembler;
use std::collections::VecDeque;
use std::time::Instant;

/// Why the connection must end (abruptly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// A packet could not be decoded.
    Malformed,
    /// The peer sent without holding a credit, or granted an impossible number.
    Credits,
    /// A fragment broke reassembly rules or exceeded MaxFragmentedSize.
    Reassembly,
    /// A keep-alive went unanswered.
    KeepaliveTimeout,
    /// Negotiation failed (the failure response was queued).
    NegotiateFailed,
    /// A packet arrived on a closed connection.
    Closed,
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SMB Direct: {self:?}")
    }
}

impl std::error::Error for ProtocolError {}

/// One packet to post as an RDMA Send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The whole packet.
    pub packet: BytesMut,
    /// Send with Invalidate of this remote token (SMB2_CHANNEL_RDMA_V1_INVALIDATE).
    pub invalidate: Option<u32>,
    /// Whether this packet used a credit (the negotiate response does not).
    pub used_credit: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitNegotiate,
    Connected,
    /// The negotiate failure response is to go out, then the connection closes.
    Failing,
    Closed,
}

struct Outgoing {
    data: Bytes,
    pos: usize,
    invalidate: Option<u32>,
}

/// The per-connection SMB Direct state machine.
pub struct Core {
    cfg: Config,
    state: State,
    params: Option<Params>,
    credits: Credits,
    reasm: Reassembler,
    inbox: VecDeque<Bytes>,
    out: VecDeque<Outgoing>,
    negotiate_response: Option<crate::wire::smbd::NegotiateResponse>,
    response_requested: bool,
    pending_invalidate: VecDeque<u32>,
    keepalive_due: bool,
    last_activity: Instant,
    keepalive_sent: Option<Instant>,
}

impl Core {
    /// A connection just accepted; it expects the negotiate request first. The driver posts
    /// [`Core::receives_wanted`] receives (one, for the negotiate request) before accepting.
    pub fn new(cfg: Config, now: Instant) -> Self {
        let mut credits = Credits::new(1);
        credits.receive_target = 1;
        Core {
            cfg,
            state: State::AwaitNegotiate,
            params: None,
            credits,
            reasm: Reassembler::new(cfg.max_fragmented_size),
            inbox: VecDeque::new(),
            out: VecDeque::new(),
            negotiate_response: None,
            response_requested: false,
            pending_invalidate: VecDeque::new(),
            keepalive_due: false,
            last_activity: now,
            keepalive_sent: None,
        }
    }

    /// The negotiated parameters, once negotiated.
    pub fn params(&self) -> Option<&Params> {
        self.params.as_ref()
    }

    /// The credit state (for tests and status).
    pub fn credits(&self) -> &Credits {
        &self.credits
    }

    /// Whether negotiation succeeded and the connection is open.
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// Whether the connection is over (after [`Core::close`], a failed negotiation whose
    /// response went out, or a protocol error).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Size of each receive buffer to post.
    pub fn receive_size(&self) -> usize {
        self.cfg.max_receive_size as usize
    }

    /// How many receives to post now.
    pub fn receives_wanted(&self) -> u32 {
        match self.state {
            State::AwaitNegotiate | State::Connected => self.credits.receives_wanted(),
            _ => 0,
        }
    }

    /// The driver posted `n` receives.
    pub fn receives_posted(&mut self, n: u32) {
        self.credits.receives_posted(n);
    }

    /// A receive completed with `packet`. Errors end the connection (the state is then
    /// closed, except after a failed negotiation, whose response still goes out).
    pub fn handle_receive(&mut self, now: Instant, packet: Bytes) -> Result<(), ProtocolError> {
        let r = self.receive(now, packet);
        if let Err(e) = r {
            if e != ProtocolError::NegotiateFailed {
                self.state = State::Closed;
            }
        }
        r
    }

    fn receive(&mut self, now: Instant, packet: Bytes) -> Result<(), ProtocolError> {
        match self.state {
            State::AwaitNegotiate => {
                self.credits.received_ungranted();
                let req =
                    NegotiateRequest::decode(&packet).map_err(|_| ProtocolError::Malformed)?;
                match negotiate::negotiate(&self.cfg, &req) {
                    Ok((p, resp)) => {
                        self.credits.receive_target = u32::from(p.receive_credit_target.max(1));
                        self.reasm = Reassembler::new(p.max_fragmented_receive_size);
                        self.params = Some(p);
                        self.negotiate_response = Some(resp);
                        self.state = State::Connected;
                        self.last_activity = now;
                        Ok(())
                    }
                    Err(resp) => {
                        self.negotiate_response = Some(resp);
                        self.state = State::Failing;
                        Err(ProtocolError::NegotiateFailed)
                    }
                }
            }
            State::Connected => {
                self.credits
                    .received()
                    .map_err(|_| ProtocolError::Credits)?;
                if packet.len() > self.cfg.max_receive_size as usize {
                    return Err(ProtocolError::Malformed);
                }
                let m = DataTransfer::decode(&packet).map_err(|_| ProtocolError::Malformed)?;
                if !self.credits.add_send(m.header.credits_granted) {
                    return Err(ProtocolError::Credits);
                }
                let max = self.params.map_or(1, |p| p.receive_credit_max);
                self.credits.receive_target = u32::from(m.header.credits_requested.clamp(1, max));
                if m.header.flags & SMB_DIRECT_RESPONSE_REQUESTED != 0 {
                    self.response_requested = true;
                }
                self.last_activity = now;
                self.keepalive_sent = None;
                if !m.data.is_empty() {
                    if let Some(msg) = self
                        .reasm
                        .push(m.data, m.header.remaining_data_length)
                        .map_err(|_| ProtocolError::Reassembly)?
                    {
                        self.inbox.push_back(msg);
                    }
                } else if m.header.remaining_data_length != 0 {
                    return Err(ProtocolError::Malformed);
                }
                Ok(())
            }
            State::Failing | State::Closed => Err(ProtocolError::Closed),
        }
    }

    /// The next whole upper-layer (SMB2) message received.
    pub fn poll_message(&mut self) -> Option<Bytes> {
        self.inbox.pop_front()
    }

    /// Queues an upper-layer message (the concatenation of `parts`) for sending, optionally
    /// with remote invalidation of `invalidate`. Refused when not connected, empty, or larger
    /// than the peer's MaxFragmentedSize.
    pub fn queue_message(
        &mut self,
        parts: &[Bytes],
        invalidate: Option<u32>,
    ) -> Result<(), std::io::Error> {
        let Some(p) = self.params.filter(|_| self.state == State::Connected) else {
            return Err(std::io::ErrorKind::NotConnected.into());
        };
        let total: usize = parts.iter().map(|b| b.len()).sum();
        if total == 0 || total > p.max_fragmented_send_size as usize {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "message larger than the peer's MaxFragmentedSize",
            ));
        }
        let data = if parts.len() == 1 {
            parts[0].clone()
        } else {
            let mut b = BytesMut::with_capacity(total);
            for p in parts {
                b.extend_from_slice(p);
            }
            b.freeze()
        };
        self.out.push_back(Outgoing {
            data,
            pos: 0,
            invalidate,
        });
        Ok(())
    }

    /// The next packet sent carries Send with Invalidate of `token` (one token per packet,
    /// in order), for a request whose placement is done. Tokens still pending when the
    /// next queued message starts all go out before or with its first packet (on packets
    /// without data when there are several), so a token never trails the response of its
    /// own request, queued after it.
    pub fn invalidate_next(&mut self, token: u32) {
        if self.state == State::Connected {
            self.pending_invalidate.push_back(token);
        }
    }

    /// Whether queued messages wait for send credits.
    pub fn has_queued(&self) -> bool {
        !self.out.is_empty()
    }

    /// The next packet to post, if one may go now.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        if let Some(mut resp) = self.negotiate_response {
            if self.state == State::Connected {
                // The client requires CreditsGranted > 0: wait until receives are posted.
                if self.credits.grantable() == 0 {
                    return None;
                }
                resp.credits_granted = self.credits.take_grant();
            } else {
                self.state = State::Closed;
            }
            self.negotiate_response = None;
            let mut packet = BytesMut::with_capacity(32);
            resp.encode(&mut packet);
            self.last_activity = now;
            return Some(Transmit {
                packet,
                invalidate: None,
                used_credit: false,
            });
        }
        if self.state != State::Connected {
            return None;
        }
        let p = self.params?;
        // The peer is short of credits when it holds under half its target.
        let peer_short = self.credits.granted < self.credits.receive_target.div_ceil(2)
            && self.credits.grantable() > 0;
        if self.out.is_empty() && !self.response_requested && !self.keepalive_due && !peer_short {
            return None;
        }
        let last = self.credits.use_send()?;
        let mut flags = 0;
        if last || self.keepalive_due {
            flags |= SMB_DIRECT_RESPONSE_REQUESTED;
        }
        if self.keepalive_due {
            self.keepalive_due = false;
            self.keepalive_sent = Some(now);
        }
        self.response_requested = false;
        let granted = self.credits.take_grant();
        let room = (p.max_send_size as usize)
            .saturating_sub(DATA_OFFSET)
            .max(1);
        let mut packet = BytesMut::with_capacity(p.max_send_size as usize);
        let mut invalidate = None;
        let mut done = false;
        // Every invalidation queued before a message starts goes out no later than that
        // message's first packet: the token of a request is queued (after its placement
        // completed) before its response, and the client reuses the buffer as soon as the
        // response arrives (MS-SMB2 3.3.5.12/13, MS-SMBD 3.1.4.2). One token fits a packet,
        // so surplus tokens go ahead on packets without data.
        let ahead = self.out.front().is_some_and(|o| {
            o.pos == 0
                && !self.pending_invalidate.is_empty()
                && (o.invalidate.is_some() || self.pending_invalidate.len() > 1)
        });
        if ahead {
            invalidate = self.pending_invalidate.pop_front();
            DataHeader {
                credits_requested: p.send_credit_target,
                credits_granted: granted,
                flags,
                remaining_data_length: 0,
            }
            .encode(0, &mut packet);
        } else if let Some(o) = self.out.front_mut() {
            let n = room.min(o.data.len() - o.pos);
            if o.pos == 0 {
                invalidate = o.invalidate;
            }
            let remaining = (o.data.len() - o.pos - n) as u32;
            DataHeader {
                credits_requested: p.send_credit_target,
                credits_granted: granted,
                flags,
                remaining_data_length: remaining,
            }
            .encode(n as u32, &mut packet);
            packet.extend_from_slice(&o.data[o.pos..o.pos + n]);
            o.pos += n;
            done = o.pos == o.data.len();
        } else {
            DataHeader {
                credits_requested: p.send_credit_target,
                credits_granted: granted,
                flags,
                remaining_data_length: 0,
            }
            .encode(0, &mut packet);
        }
        if done {
            self.out.pop_front();
        }
        if invalidate.is_none() {
            invalidate = self.pending_invalidate.pop_front();
        }
        Some(Transmit {
            packet,
            invalidate,
            used_credit: true,
        })
    }

    /// When [`Core::handle_timeout`] should next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state != State::Connected {
            return None;
        }
        let i = self.cfg.keepalive_interval;
        Some(match self.keepalive_sent {
            Some(t) => t + i,
            None => self.last_activity + i,
        })
    }

    /// Runs the idle timer (MS-SMBD 3.1.6.2): after KeepaliveInterval without traffic a
    /// keep-alive asks the peer to answer; no answer within another interval ends the
    /// connection.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ProtocolError> {
        let Some(deadline) = self.poll_timeout() else {
            return Ok(());
        };
        if now < deadline {
            return Ok(());
        }
        if self.keepalive_sent.is_some() {
            self.state = State::Closed;
            return Err(ProtocolError::KeepaliveTimeout);
        }
        self.keepalive_due = true;
        Ok(())
    }

    /// Closes the connection in an orderly way (the driver then disconnects).
    pub fn close(&mut self) {
        self.state = State::Closed;
        self.out.clear();
    }
}

#[cfg(test)]
mod tests;
