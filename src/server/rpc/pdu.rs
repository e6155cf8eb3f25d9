//! Connection-oriented DCE/RPC PDUs (C706 chapter 12.6, MS-RPCE 2.2.2): the common
//! header, bind / alter_context (12.6.4.3 / 12.6.4.1), bind_ack / alter_context_resp
//! (12.6.4.4 / 12.6.4.2), bind_nak (12.6.4.5), request (12.6.4.9), response (12.6.4.10)
//! and fault (12.6.4.7). Decoders take one whole PDU (`frag_length` bytes) and check
//! every offset; encoders always produce little-endian data representation.

/// `PTYPE` request.
pub const PTYPE_REQUEST: u8 = 0x00;
/// `PTYPE` response.
pub const PTYPE_RESPONSE: u8 = 0x02;
/// `PTYPE` fault.
pub const PTYPE_FAULT: u8 = 0x03;
/// `PTYPE` bind.
pub const PTYPE_BIND: u8 = 0x0B;
/// `PTYPE` bind_ack.
pub const PTYPE_BIND_ACK: u8 = 0x0C;
/// `PTYPE` bind_nak.
pub const PTYPE_BIND_NAK: u8 = 0x0D;
/// `PTYPE` alter_context.
pub const PTYPE_ALTER_CONTEXT: u8 = 0x0E;
/// `PTYPE` alter_context_resp.
pub const PTYPE_ALTER_CONTEXT_RESP: u8 = 0x0F;

/// `pfc_flags`: first fragment.
pub const PFC_FIRST_FRAG: u8 = 0x01;
/// `pfc_flags`: last fragment.
pub const PFC_LAST_FRAG: u8 = 0x02;
/// `pfc_flags`: the call did not execute (faults).
pub const PFC_DID_NOT_EXECUTE: u8 = 0x20;
/// `pfc_flags`: an object UUID follows the request header.
pub const PFC_OBJECT_UUID: u8 = 0x80;

/// Size of the common header.
pub const HEADER_LEN: usize = 16;
/// Size of the request/response header (common header + alloc_hint, p_cont_id, opnum).
pub const REQUEST_HEADER_LEN: usize = 24;
/// `packed_drep` for little-endian integers, ASCII characters, IEEE floats.
pub const DREP_LE: [u8; 4] = [0x10, 0, 0, 0];

/// Wire form (C706 Appendix A byte order) of a `p_syntax_id_t`: UUID and `if_version`
/// (major in the low 16 bits, minor in the high 16 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SyntaxId {
    /// `if_uuid` as it appears on the wire (first three fields little-endian).
    pub if_uuid: [u8; 16],
    /// `if_version`.
    pub if_version: u32,
}

/// srvsvc 4b324fc8-1670-01d3-1278-5a47bf6ee188 version 3.0 (MS-SRVS 1.9).
pub const SRVSVC_SYNTAX: SyntaxId = SyntaxId {
    if_uuid: [
        0xc8, 0x4f, 0x32, 0x4b, 0x70, 0x16, 0xd3, 0x01, 0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1,
        0x88,
    ],
    if_version: 3,
};

/// NDR 2.0 transfer syntax 8a885d04-1ceb-11c9-9fe8-08002b104860 version 2.
pub const NDR20_SYNTAX: SyntaxId = SyntaxId {
    if_uuid: [
        0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48,
        0x60,
    ],
    if_version: 2,
};

/// Prefix (bytes 0..8) of the bind-time feature negotiation syntax
/// 6cb71c2c-9812-4540-XXXX-XXXXXXXXXXXX version 1.0 (MS-RPCE 3.3.1.5.3); the eight
/// octets after it are the BindTimeFeatureNegotiationBitmask (MS-RPCE 2.2.2.14).
pub const BIND_TIME_FEATURE_PREFIX: [u8; 8] = [0x2c, 0x1c, 0xb7, 0x6c, 0x12, 0x98, 0x40, 0x45];

impl SyntaxId {
    /// The bind-time feature negotiation bitmask when this is that syntax.
    pub fn bind_time_features(&self) -> Option<u16> {
        if self.if_uuid[..8] == BIND_TIME_FEATURE_PREFIX && self.if_version == 1 {
            // Only bits of the first bitmask octet are defined.
            Some(u16::from(self.if_uuid[8]))
        } else {
            None
        }
    }

    fn parse(b: &[u8]) -> Option<SyntaxId> {
        let if_uuid: [u8; 16] = b.get(..16)?.try_into().ok()?;
        Some(SyntaxId {
            if_uuid,
            if_version: le32(b, 16)?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.if_uuid);
        out.extend_from_slice(&self.if_version.to_le_bytes());
    }
}

fn le16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn le32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The 16-byte common header of every connection-oriented PDU (C706 12.6.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommonHeader {
    /// `rpc_vers` (5).
    pub rpc_vers: u8,
    /// `rpc_vers_minor` (0 or 1).
    pub rpc_vers_minor: u8,
    /// `PTYPE`.
    pub ptype: u8,
    /// `pfc_flags`.
    pub pfc_flags: u8,
    /// `packed_drep` (NDR format label).
    pub packed_drep: [u8; 4],
    /// `frag_length`: total PDU size.
    pub frag_length: u16,
    /// `auth_length`: size of the auth verifier's credentials.
    pub auth_length: u16,
    /// `call_id`.
    pub call_id: u32,
}

impl CommonHeader {
    /// Parses the first 16 bytes; multi-byte fields honour the `packed_drep` integer
    /// representation so a big-endian PDU can still be delimited and answered.
    pub fn parse(b: &[u8]) -> Option<CommonHeader> {
        let h: &[u8; HEADER_LEN] = b.get(..HEADER_LEN)?.try_into().ok()?;
        let packed_drep = [h[4], h[5], h[6], h[7]];
        let le = packed_drep[0] & 0x10 != 0;
        let u16_at = |o: usize| {
            let v = [h[o], h[o + 1]];
            if le {
                u16::from_le_bytes(v)
            } else {
                u16::from_be_bytes(v)
            }
        };
        let v = [h[12], h[13], h[14], h[15]];
        let call_id = if le {
            u32::from_le_bytes(v)
        } else {
            u32::from_be_bytes(v)
        };
        Some(CommonHeader {
            rpc_vers: h[0],
            rpc_vers_minor: h[1],
            ptype: h[2],
            pfc_flags: h[3],
            packed_drep,
            frag_length: u16_at(8),
            auth_length: u16_at(10),
            call_id,
        })
    }

    /// True when integers are little-endian (`drep[0] & 0x10`).
    pub fn is_little_endian(&self) -> bool {
        self.packed_drep[0] & 0x10 != 0
    }

    /// Appends the header in little-endian form.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[
            self.rpc_vers,
            self.rpc_vers_minor,
            self.ptype,
            self.pfc_flags,
        ]);
        out.extend_from_slice(&self.packed_drep);
        out.extend_from_slice(&self.frag_length.to_le_bytes());
        out.extend_from_slice(&self.auth_length.to_le_bytes());
        out.extend_from_slice(&self.call_id.to_le_bytes());
    }
}

/// Starts a PDU with a little-endian header; `frag_length` is patched by [`finish`].
fn start(ptype: u8, pfc_flags: u8, call_id: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    CommonHeader {
        rpc_vers: 5,
        rpc_vers_minor: 0,
        ptype,
        pfc_flags,
        packed_drep: DREP_LE,
        frag_length: 0,
        auth_length: 0,
        call_id,
    }
    .encode(&mut out);
    out
}

fn finish(mut out: Vec<u8>) -> Vec<u8> {
    let len = u16::try_from(out.len()).unwrap_or(u16::MAX);
    if let Some(s) = out.get_mut(8..10) {
        s.copy_from_slice(&len.to_le_bytes());
    }
    out
}

/// One presentation context proposed in a bind / alter_context (`p_cont_elem_t`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextElem {
    /// `p_cont_id`.
    pub p_cont_id: u16,
    /// `abstract_syntax`: the interface.
    pub abstract_syntax: SyntaxId,
    /// `transfer_syntaxes`.
    pub transfer_syntaxes: Vec<SyntaxId>,
}

/// bind / alter_context body (C706 12.6.4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    /// `max_xmit_frag`: largest fragment the client sends.
    pub max_xmit_frag: u16,
    /// `max_recv_frag`: largest fragment the client accepts.
    pub max_recv_frag: u16,
    /// `assoc_group_id`.
    pub assoc_group_id: u32,
    /// `p_context_elem`.
    pub contexts: Vec<ContextElem>,
}

impl Bind {
    /// Decodes the body of a whole bind/alter_context PDU.
    pub fn parse(pdu: &[u8]) -> Option<Bind> {
        let n = usize::from(*pdu.get(24)?);
        let mut off = 28usize;
        let mut contexts = Vec::with_capacity(n);
        for _ in 0..n {
            let p_cont_id = le16(pdu, off)?;
            let n_ts = usize::from(*pdu.get(off + 2)?);
            let abstract_syntax = SyntaxId::parse(pdu.get(off + 4..)?)?;
            off += 24;
            let mut transfer_syntaxes = Vec::with_capacity(n_ts);
            for _ in 0..n_ts {
                transfer_syntaxes.push(SyntaxId::parse(pdu.get(off..)?)?);
                off += 20;
            }
            contexts.push(ContextElem {
                p_cont_id,
                abstract_syntax,
                transfer_syntaxes,
            });
        }
        Some(Bind {
            max_xmit_frag: le16(pdu, 16)?,
            max_recv_frag: le16(pdu, 18)?,
            assoc_group_id: le32(pdu, 20)?,
            contexts,
        })
    }

    /// Encodes a whole PDU of type `ptype` (client side; used by tests).
    pub fn encode(&self, ptype: u8, call_id: u32) -> Vec<u8> {
        let mut out = start(ptype, PFC_FIRST_FRAG | PFC_LAST_FRAG, call_id);
        out.extend_from_slice(&self.max_xmit_frag.to_le_bytes());
        out.extend_from_slice(&self.max_recv_frag.to_le_bytes());
        out.extend_from_slice(&self.assoc_group_id.to_le_bytes());
        out.extend_from_slice(&[self.contexts.len().min(255) as u8, 0, 0, 0]);
        for c in self.contexts.iter().take(255) {
            out.extend_from_slice(&c.p_cont_id.to_le_bytes());
            out.extend_from_slice(&[c.transfer_syntaxes.len().min(255) as u8, 0]);
            c.abstract_syntax.encode(&mut out);
            for t in c.transfer_syntaxes.iter().take(255) {
                t.encode(&mut out);
            }
        }
        finish(out)
    }
}

/// `p_result_t`: the answer for one proposed context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextResult {
    /// `result`: 0 acceptance, 1 user_rejection, 2 provider_rejection, 3 negotiate_ack.
    pub result: u16,
    /// `reason` (`p_provider_reason_t`), or the acknowledged feature bitmask for
    /// negotiate_ack.
    pub reason: u16,
    /// `transfer_syntax` (all zeros unless accepted).
    pub transfer_syntax: SyntaxId,
}

/// `result`: acceptance.
pub const RESULT_ACCEPTANCE: u16 = 0;
/// `result`: provider_rejection.
pub const RESULT_PROVIDER_REJECTION: u16 = 2;
/// `result`: negotiate_ack (MS-RPCE 2.2.2.4).
pub const RESULT_NEGOTIATE_ACK: u16 = 3;
/// `reason`: abstract_syntax_not_supported.
pub const REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED: u16 = 1;
/// `reason`: proposed_transfer_syntaxes_not_supported.
pub const REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED: u16 = 2;

/// bind_ack / alter_context_resp body (C706 12.6.4.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindAck {
    /// `max_xmit_frag`: largest fragment the server sends.
    pub max_xmit_frag: u16,
    /// `max_recv_frag`: largest fragment the server accepts.
    pub max_recv_frag: u16,
    /// `assoc_group_id`.
    pub assoc_group_id: u32,
    /// `sec_addr.port_spec` without its NUL (empty: length 0 on the wire).
    pub sec_addr: Vec<u8>,
    /// `p_result_list`.
    pub results: Vec<ContextResult>,
}

impl BindAck {
    /// Encodes a whole PDU of type `ptype` (bind_ack or alter_context_resp).
    pub fn encode(&self, ptype: u8, call_id: u32) -> Vec<u8> {
        let mut out = start(ptype, PFC_FIRST_FRAG | PFC_LAST_FRAG, call_id);
        out.extend_from_slice(&self.max_xmit_frag.to_le_bytes());
        out.extend_from_slice(&self.max_recv_frag.to_le_bytes());
        out.extend_from_slice(&self.assoc_group_id.to_le_bytes());
        let addr = &self.sec_addr[..self.sec_addr.len().min(1024)];
        if addr.is_empty() {
            out.extend_from_slice(&0u16.to_le_bytes());
        } else {
            out.extend_from_slice(&((addr.len() + 1) as u16).to_le_bytes());
            out.extend_from_slice(addr);
            out.push(0);
        }
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend_from_slice(&[self.results.len().min(255) as u8, 0, 0, 0]);
        for r in self.results.iter().take(255) {
            out.extend_from_slice(&r.result.to_le_bytes());
            out.extend_from_slice(&r.reason.to_le_bytes());
            r.transfer_syntax.encode(&mut out);
        }
        finish(out)
    }

    /// Decodes a whole bind_ack / alter_context_resp PDU (client side; used by tests).
    pub fn parse(pdu: &[u8]) -> Option<BindAck> {
        let len = usize::from(le16(pdu, 24)?);
        let addr = pdu.get(26..26 + len)?;
        let sec_addr = addr.strip_suffix(&[0]).unwrap_or(addr).to_vec();
        let mut off = (26 + len).next_multiple_of(4);
        let n = usize::from(*pdu.get(off)?);
        off += 4;
        let mut results = Vec::with_capacity(n);
        for _ in 0..n {
            results.push(ContextResult {
                result: le16(pdu, off)?,
                reason: le16(pdu, off + 2)?,
                transfer_syntax: SyntaxId::parse(pdu.get(off + 4..)?)?,
            });
            off += 24;
        }
        Some(BindAck {
            max_xmit_frag: le16(pdu, 16)?,
            max_recv_frag: le16(pdu, 18)?,
            assoc_group_id: le32(pdu, 20)?,
            sec_addr,
            results,
        })
    }
}

/// bind_nak `provider_reject_reason`: reason_not_specified.
pub const NAK_REASON_NOT_SPECIFIED: u16 = 0;
/// bind_nak: protocol_version_not_supported.
pub const NAK_PROTOCOL_VERSION_NOT_SUPPORTED: u16 = 4;
/// bind_nak: authentication_type_not_recognized (MS-RPCE 2.2.2.5).
pub const NAK_AUTHENTICATION_TYPE_NOT_RECOGNIZED: u16 = 8;

/// Encodes a bind_nak (C706 12.6.4.5) offering protocol version 5.0.
pub fn encode_bind_nak(call_id: u32, reason: u16) -> Vec<u8> {
    let mut out = start(PTYPE_BIND_NAK, PFC_FIRST_FRAG | PFC_LAST_FRAG, call_id);
    out.extend_from_slice(&reason.to_le_bytes());
    out.extend_from_slice(&[1, 5, 0, 0, 0, 0]); // n_protocols, {5, 0}, pad to 24
    finish(out)
}

/// A request PDU (C706 12.6.4.9) borrowed from the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// `alloc_hint` (advisory only; never used to size allocations).
    pub alloc_hint: u32,
    /// `p_cont_id`.
    pub p_cont_id: u16,
    /// `opnum`.
    pub opnum: u16,
    /// `object` UUID when `PFC_OBJECT_UUID` is set.
    pub object: Option<[u8; 16]>,
    /// The stub data fragment.
    pub stub: &'a [u8],
}

impl<'a> Request<'a> {
    /// Decodes a whole request PDU without auth verifier.
    pub fn parse(pdu: &'a [u8], pfc_flags: u8) -> Option<Request<'a>> {
        let mut off = REQUEST_HEADER_LEN;
        let object = if pfc_flags & PFC_OBJECT_UUID != 0 {
            off += 16;
            Some(pdu.get(24..40)?.try_into().ok()?)
        } else {
            None
        };
        Some(Request {
            alloc_hint: le32(pdu, 16)?,
            p_cont_id: le16(pdu, 20)?,
            opnum: le16(pdu, 22)?,
            object,
            stub: pdu.get(off..)?,
        })
    }

    /// Encodes one request fragment (client side; used by tests).
    pub fn encode(&self, pfc_flags: u8, call_id: u32) -> Vec<u8> {
        let flags = (pfc_flags & !PFC_OBJECT_UUID)
            | if self.object.is_some() {
                PFC_OBJECT_UUID
            } else {
                0
            };
        let mut out = start(PTYPE_REQUEST, flags, call_id);
        out.extend_from_slice(&self.alloc_hint.to_le_bytes());
        out.extend_from_slice(&self.p_cont_id.to_le_bytes());
        out.extend_from_slice(&self.opnum.to_le_bytes());
        if let Some(o) = &self.object {
            out.extend_from_slice(o);
        }
        out.extend_from_slice(self.stub);
        finish(out)
    }
}

/// Splits `stub` into response PDUs (C706 12.6.4.10) no larger than `max_xmit_frag`;
/// every fragment but the last carries a multiple of 8 stub bytes and `alloc_hint`
/// is the stub length still to come.
pub fn encode_response(
    call_id: u32,
    p_cont_id: u16,
    stub: &[u8],
    max_xmit_frag: u16,
) -> Vec<Vec<u8>> {
    let chunk = ((usize::from(max_xmit_frag).saturating_sub(REQUEST_HEADER_LEN)) & !7).max(8);
    let mut pdus = Vec::new();
    let mut off = 0usize;
    loop {
        let end = (off + chunk).min(stub.len());
        let mut flags = 0;
        if off == 0 {
            flags |= PFC_FIRST_FRAG;
        }
        if end == stub.len() {
            flags |= PFC_LAST_FRAG;
        }
        let mut out = start(PTYPE_RESPONSE, flags, call_id);
        let hint = u32::try_from(stub.len() - off).unwrap_or(u32::MAX);
        out.extend_from_slice(&hint.to_le_bytes());
        out.extend_from_slice(&p_cont_id.to_le_bytes());
        out.extend_from_slice(&[0, 0]); // cancel_count, reserved
        out.extend_from_slice(stub.get(off..end).unwrap_or_default());
        pdus.push(finish(out));
        off = end;
        if off >= stub.len() {
            return pdus;
        }
    }
}

/// Encodes a fault PDU (C706 12.6.4.7) carrying `status`.
pub fn encode_fault(call_id: u32, p_cont_id: u16, status: u32, did_not_execute: bool) -> Vec<u8> {
    let flags = PFC_FIRST_FRAG
        | PFC_LAST_FRAG
        | if did_not_execute {
            PFC_DID_NOT_EXECUTE
        } else {
            0
        };
    let mut out = start(PTYPE_FAULT, flags, call_id);
    out.extend_from_slice(&0u32.to_le_bytes()); // alloc_hint
    out.extend_from_slice(&p_cont_id.to_le_bytes());
    out.extend_from_slice(&[0, 0]); // cancel_count, reserved
    out.extend_from_slice(&status.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // reserved
    finish(out)
}
