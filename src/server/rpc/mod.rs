//! DCE/RPC over the IPC$ named pipe `srvsvc`: share enumeration for `smbclient -L`,
//! `net view` and Windows Explorer.
//!
//! A pure, synchronous state machine without I/O: the SMB layer feeds it the bytes a
//! client WRITEs to the pipe (or sends with FSCTL_PIPE_TRANSCEIVE) and returns what
//! [`SrvsvcPipe::read`] yields.
//!
//! Implemented:
//! - connection-oriented RPC (C706 chapter 12, MS-RPCE 2.2.2): PDU reassembly by
//!   `frag_length`, bind / alter_context with per-context results (NDR 2.0 accepted;
//!   NDR64 and unknown syntaxes rejected with provider_rejection,
//!   proposed_transfer_syntaxes_not_supported; bind-time feature negotiation answered
//!   with negotiate_ack, MS-RPCE 3.3.1.5.3), multi-fragment requests, responses split
//!   at the negotiated `max_xmit_frag`, faults (C706 Appendix E status codes), bind_nak;
//!   little-endian data representation only, no authentication verifiers;
//! - NDR 2.0 transfer syntax (C706 chapter 14) in [`ndr`];
//! - srvsvc (MS-SRVS 3.1.4.8 NetrShareEnum, 3.1.4.10 NetrShareGetInfo, 3.1.4.17
//!   NetrServerGetInfo) in [`srvsvc`].
//!
//! Hand-written on purpose: no maintained crate implements the DCE/RPC connection
//! protocol, and `ms-ndr` 0.1 only offers NDR primitives (aligned integers, unique
//! pointers, strings) — the few dozen lines of [`ndr`] that this module needs — while
//! the deferred-pointee ordering of structure arrays, non-encapsulated unions and
//! the bounded decoding required here would still have to be written by hand; a young
//! single-author dependency is not worth that.
//!
//! Output is kept as a queue of PDUs, each one a named-pipe message: [`SrvsvcPipe::read`]
//! never returns bytes of two PDUs at once (message-mode pipe semantics).

pub mod ndr;
pub mod pdu;
pub mod srvsvc;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use pdu::{
    Bind, BindAck, CommonHeader, ContextResult, Request, SyntaxId, HEADER_LEN, PFC_FIRST_FRAG,
    PFC_LAST_FRAG,
};

/// Largest fragment the server sends or accepts (`max_xmit_frag` / `max_recv_frag`).
pub const MAX_FRAG: u16 = 4280;
/// Smallest fragment size every implementation must accept (C706 12.6.3.7).
pub const MIN_FRAG: u16 = 1432;
/// Cap on the stub data of one (possibly multi-fragment) request.
pub const MAX_REQUEST_STUB: usize = 64 * 1024;
/// Cap on queued output: writes are refused with [`PipeError::Overflow`] above it.
pub const MAX_PENDING_OUTPUT: usize = 1024 * 1024;
/// Cap on presentation contexts kept per connection.
const MAX_CONTEXTS: usize = 64;
/// `assoc_group_id` assigned when the client asks for a new association group.
const DEFAULT_ASSOC_GROUP_ID: u32 = 0x0000_53f0;
/// Secondary address in bind_ack.
const SEC_ADDR: &[u8] = b"\\PIPE\\srvsvc";
/// Bind-time features the server acknowledges: KeepConnectionOnOrphanSupported.
const SUPPORTED_BIND_TIME_FEATURES: u16 = 0x0002;

/// Fault status: protocol error (nca_s_proto_error).
pub const NCA_S_PROTO_ERROR: u32 = 0x1c01_000b;
/// Fault status: unknown interface / presentation context (nca_s_unk_if).
pub const NCA_S_UNK_IF: u32 = 0x1c01_0003;
/// Fault status: unsupported authentication level (nca_s_unsupported_authn_level).
pub const NCA_S_UNSUPPORTED_AUTHN_LEVEL: u32 = 0x1c00_001d;
/// Fault status: the server cannot hold the request (nca_s_fault_remote_no_memory).
pub const NCA_S_FAULT_REMOTE_NO_MEMORY: u32 = 0x1c00_001b;
/// Fault status: unsupported data representation (nca_s_unsupported_type).
pub const NCA_S_UNSUPPORTED_TYPE: u32 = 0x1c01_0017;

/// One share as listed by srvsvc.
#[derive(Clone, Debug)]
pub struct ShareInfo {
    /// Share name (`shi*_netname`).
    pub name: String,
    /// `shi*_type`: STYPE_DISKTREE (0), or STYPE_IPC | STYPE_SPECIAL (0x8000_0003) for IPC$.
    pub share_type: u32,
    /// Remark (`shi*_remark`).
    pub comment: String,
    /// Local path shown by level 2 (`shi2_path`), e.g. `C:\share` or the unix path.
    pub path: String,
}

/// Errors reported by [`SrvsvcPipe::write`]; the pipe stays usable after either.
#[derive(Debug, PartialEq, Eq)]
pub enum PipeError {
    /// Malformed PDU: the SMB layer answers the WRITE normally, and the pipe then
    /// returns the fault / bind_nak it queued.
    Protocol(&'static str),
    /// More than the pipe's buffer limit queued (request stub over
    /// [`MAX_REQUEST_STUB`] or unread output over [`MAX_PENDING_OUTPUT`]).
    Overflow,
}

/// A request being reassembled from fragments.
struct PendingCall {
    call_id: u32,
    p_cont_id: u16,
    opnum: u16,
    stub: Vec<u8>,
}

/// Server end of one open of `\PIPE\srvsvc`.
pub struct SrvsvcPipe {
    server_name: String,
    shares: Vec<ShareInfo>,
    /// Bytes of the PDU being received (at most one `frag_length`, < 64 KiB).
    inbuf: Vec<u8>,
    /// Queued output PDUs (pipe messages) and the read offset in the first one.
    out: VecDeque<Vec<u8>>,
    out_pos: usize,
    out_bytes: usize,
    /// Accepted presentation context ids.
    contexts: Vec<u16>,
    bound: bool,
    max_xmit_frag: u16,
    assoc_group_id: u32,
    call: Option<PendingCall>,
    /// Call whose remaining fragments are dropped (it was already answered by a fault).
    discard_call_id: Option<u32>,
}

impl SrvsvcPipe {
    /// A fresh pipe serving `shares`; `server_name` is returned by NetrServerGetInfo.
    pub fn new(server_name: String, shares: Vec<ShareInfo>) -> Self {
        SrvsvcPipe {
            server_name,
            shares,
            inbuf: Vec::new(),
            out: VecDeque::new(),
            out_pos: 0,
            out_bytes: 0,
            contexts: Vec::new(),
            bound: false,
            max_xmit_frag: MAX_FRAG,
            assoc_group_id: 0,
            call: None,
            discard_call_id: None,
        }
    }

    /// Bytes written by the client (one or more complete or fragmented PDUs, possibly
    /// split across writes — reassembled by `frag_length`, so at most one PDU, < 64 KiB,
    /// is ever buffered). Replies are queued for [`read`](Self::read).
    pub fn write(&mut self, mut data: &[u8]) -> Result<(), PipeError> {
        if self.out_bytes >= MAX_PENDING_OUTPUT {
            return Err(PipeError::Overflow);
        }
        let mut result = Ok(());
        while !data.is_empty() {
            let want = match CommonHeader::parse(&self.inbuf) {
                Some(h) => usize::from(h.frag_length),
                None => HEADER_LEN,
            };
            let n = want.saturating_sub(self.inbuf.len()).min(data.len());
            self.inbuf.extend_from_slice(&data[..n]);
            data = &data[n..];
            let Some(h) = CommonHeader::parse(&self.inbuf) else {
                continue;
            };
            if usize::from(h.frag_length) < HEADER_LEN {
                // The stream cannot be delimited any more: drop what is buffered.
                self.inbuf.clear();
                self.call = None;
                self.fault(h.call_id, 0, NCA_S_PROTO_ERROR);
                return Err(PipeError::Protocol("frag_length shorter than the header"));
            }
            if usize::from(h.frag_length) == self.inbuf.len() {
                let pdu = std::mem::take(&mut self.inbuf);
                if let Err(e) = self.handle_pdu(&pdu) {
                    if result.is_ok() {
                        result = Err(e);
                    }
                }
            }
        }
        result
    }

    /// Up to `max` bytes of the next pending PDU; the bool says that PDU has more bytes
    /// left (the SMB layer answers STATUS_BUFFER_OVERFLOW then). Bytes of two PDUs are
    /// never mixed: further PDUs come with further reads (see
    /// [`pending_output`](Self::pending_output)).
    pub fn read(&mut self, max: usize) -> (Vec<u8>, bool) {
        let Some(front) = self.out.front() else {
            return (Vec::new(), false);
        };
        let rest = front.get(self.out_pos..).unwrap_or_default();
        let n = rest.len().min(max);
        let chunk = rest[..n].to_vec();
        self.out_pos += n;
        self.out_bytes = self.out_bytes.saturating_sub(n);
        if self.out_pos >= front.len() {
            self.out.pop_front();
            self.out_pos = 0;
            (chunk, false)
        } else {
            (chunk, true)
        }
    }

    /// FSCTL_PIPE_TRANSCEIVE: write then read. A malformed PDU still yields the queued
    /// fault / bind_nak as output; only [`PipeError::Overflow`] is returned as an error.
    pub fn transceive(
        &mut self,
        data: &[u8],
        max_out: usize,
    ) -> Result<(Vec<u8>, bool), PipeError> {
        match self.write(data) {
            Err(PipeError::Overflow) => Err(PipeError::Overflow),
            Err(e) if self.out.is_empty() => Err(e),
            _ => Ok(self.read(max_out)),
        }
    }

    /// Total bytes queued for reading (all pending PDUs).
    pub fn pending_output(&self) -> usize {
        self.out_bytes
    }

    fn queue(&mut self, pdu: Vec<u8>) {
        self.out_bytes += pdu.len();
        self.out.push_back(pdu);
    }

    fn fault(&mut self, call_id: u32, p_cont_id: u16, status: u32) {
        self.queue(pdu::encode_fault(call_id, p_cont_id, status, true));
    }

    /// Handles one whole PDU (`pdu.len() == frag_length >= 16`).
    fn handle_pdu(&mut self, pdu: &[u8]) -> Result<(), PipeError> {
        let Some(h) = CommonHeader::parse(pdu) else {
            return Err(PipeError::Protocol("short PDU"));
        };
        let is_bind = matches!(h.ptype, pdu::PTYPE_BIND | pdu::PTYPE_ALTER_CONTEXT);
        let reject = |this: &mut Self, nak: u16, status: u32| {
            if is_bind {
                this.queue(pdu::encode_bind_nak(h.call_id, nak));
            } else {
                this.fault(h.call_id, 0, status);
            }
        };
        if h.rpc_vers != 5 || h.rpc_vers_minor > 1 {
            reject(
                self,
                pdu::NAK_PROTOCOL_VERSION_NOT_SUPPORTED,
                NCA_S_PROTO_ERROR,
            );
            return Err(PipeError::Protocol("unsupported RPC version"));
        }
        if !h.is_little_endian() {
            reject(self, pdu::NAK_REASON_NOT_SPECIFIED, NCA_S_UNSUPPORTED_TYPE);
            return Err(PipeError::Protocol("big-endian data representation"));
        }
        if h.auth_length != 0 {
            reject(
                self,
                pdu::NAK_AUTHENTICATION_TYPE_NOT_RECOGNIZED,
                NCA_S_UNSUPPORTED_AUTHN_LEVEL,
            );
            return Err(PipeError::Protocol("authentication verifier not supported"));
        }
        match h.ptype {
            pdu::PTYPE_BIND | pdu::PTYPE_ALTER_CONTEXT => self.handle_bind(pdu, &h),
            pdu::PTYPE_REQUEST => self.handle_request(pdu, &h),
            // auth3, co_cancel, orphaned: nothing to answer.
            0x10 | 0x12 | 0x13 => {
                if h.ptype == 0x13 && self.call.as_ref().is_some_and(|c| c.call_id == h.call_id) {
                    self.call = None;
                }
                Ok(())
            }
            _ => {
                self.fault(h.call_id, 0, NCA_S_PROTO_ERROR);
                Err(PipeError::Protocol("unexpected PDU type"))
            }
        }
    }

    fn handle_bind(&mut self, pdu: &[u8], h: &CommonHeader) -> Result<(), PipeError> {
        let alter = h.ptype == pdu::PTYPE_ALTER_CONTEXT;
        let bind = match Bind::parse(pdu) {
            Some(b) if !b.contexts.is_empty() && (self.bound || !alter) => b,
            _ => {
                if alter {
                    self.fault(h.call_id, 0, NCA_S_PROTO_ERROR);
                } else {
                    self.queue(pdu::encode_bind_nak(
                        h.call_id,
                        pdu::NAK_REASON_NOT_SPECIFIED,
                    ));
                }
                return Err(PipeError::Protocol("malformed bind"));
            }
        };
        if !alter {
            self.contexts.clear();
            self.call = None;
            self.bound = true;
            self.max_xmit_frag = bind.max_recv_frag.clamp(MIN_FRAG, MAX_FRAG);
            self.assoc_group_id = if bind.assoc_group_id != 0 {
                bind.assoc_group_id
            } else {
                DEFAULT_ASSOC_GROUP_ID
            };
        }
        let mut results = Vec::with_capacity(bind.contexts.len());
        for ctx in &bind.contexts {
            let reject = |reason| ContextResult {
                result: pdu::RESULT_PROVIDER_REJECTION,
                reason,
                transfer_syntax: SyntaxId::default(),
            };
            // A feature negotiation context proposes exactly that one transfer syntax.
            let features = ctx
                .transfer_syntaxes
                .first()
                .and_then(SyntaxId::bind_time_features);
            let result = if let Some(f) = features {
                ContextResult {
                    result: pdu::RESULT_NEGOTIATE_ACK,
                    reason: f & SUPPORTED_BIND_TIME_FEATURES,
                    transfer_syntax: SyntaxId::default(),
                }
            } else if ctx.abstract_syntax != pdu::SRVSVC_SYNTAX {
                reject(pdu::REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED)
            } else if !ctx.transfer_syntaxes.contains(&pdu::NDR20_SYNTAX) {
                reject(pdu::REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED)
            } else if !self.contexts.contains(&ctx.p_cont_id) && self.contexts.len() >= MAX_CONTEXTS
            {
                reject(3) // local_limit_exceeded
            } else {
                if !self.contexts.contains(&ctx.p_cont_id) {
                    self.contexts.push(ctx.p_cont_id);
                }
                ContextResult {
                    result: pdu::RESULT_ACCEPTANCE,
                    reason: 0,
                    transfer_syntax: pdu::NDR20_SYNTAX,
                }
            };
            results.push(result);
        }
        let ack = BindAck {
            max_xmit_frag: self.max_xmit_frag,
            max_recv_frag: MAX_FRAG,
            assoc_group_id: self.assoc_group_id,
            sec_addr: if alter { Vec::new() } else { SEC_ADDR.to_vec() },
            results,
        };
        let ptype = if alter {
            pdu::PTYPE_ALTER_CONTEXT_RESP
        } else {
            pdu::PTYPE_BIND_ACK
        };
        self.queue(ack.encode(ptype, h.call_id));
        Ok(())
    }

    fn handle_request(&mut self, pdu: &[u8], h: &CommonHeader) -> Result<(), PipeError> {
        let Some(req) = Request::parse(pdu, h.pfc_flags) else {
            self.fault(h.call_id, 0, NCA_S_PROTO_ERROR);
            return Err(PipeError::Protocol("malformed request"));
        };
        let first = h.pfc_flags & PFC_FIRST_FRAG != 0;
        let last = h.pfc_flags & PFC_LAST_FRAG != 0;
        if first {
            self.discard_call_id = None;
            if !self.contexts.contains(&req.p_cont_id) {
                self.fault(h.call_id, req.p_cont_id, NCA_S_UNK_IF);
                if !last {
                    self.discard_call_id = Some(h.call_id);
                }
                return Ok(());
            }
            self.call = Some(PendingCall {
                call_id: h.call_id,
                p_cont_id: req.p_cont_id,
                opnum: req.opnum,
                stub: Vec::new(),
            });
        } else if self.discard_call_id == Some(h.call_id) {
            if last {
                self.discard_call_id = None;
            }
            return Ok(());
        }
        let Some(call) = self.call.as_mut().filter(|c| c.call_id == h.call_id) else {
            self.fault(h.call_id, req.p_cont_id, NCA_S_PROTO_ERROR);
            return Err(PipeError::Protocol("fragment of an unknown call"));
        };
        if call.stub.len() + req.stub.len() > MAX_REQUEST_STUB {
            let p_cont_id = call.p_cont_id;
            self.call = None;
            self.fault(h.call_id, p_cont_id, NCA_S_FAULT_REMOTE_NO_MEMORY);
            if !last {
                self.discard_call_id = Some(h.call_id);
            }
            return Err(PipeError::Overflow);
        }
        call.stub.extend_from_slice(req.stub);
        if !last {
            return Ok(());
        }
        let Some(call) = self.call.take() else {
            return Ok(());
        };
        match srvsvc::call(call.opnum, &call.stub, &self.server_name, &self.shares) {
            Ok(stub) => {
                for frag in
                    pdu::encode_response(call.call_id, call.p_cont_id, &stub, self.max_xmit_frag)
                {
                    self.queue(frag);
                }
            }
            Err(status) => self.fault(call.call_id, call.p_cont_id, status),
        }
        Ok(())
    }
}
