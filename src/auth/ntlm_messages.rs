//! NTLMSSP wire messages: encoders and strictly bounds-checked decoders.
//!
//! Implements MS-NLMP 2.2.1.1 (NEGOTIATE_MESSAGE), 2.2.1.2 (CHALLENGE_MESSAGE),
//! 2.2.1.3 (AUTHENTICATE_MESSAGE), 2.2.2.1 (AV_PAIR), 2.2.2.5 (NEGOTIATE flags)
//! and 2.2.2.10 (VERSION). Every decoder takes untrusted bytes and returns an
//! error instead of panicking; no allocation exceeds the input size.

/// The 8-byte signature every NTLMSSP message starts with (MS-NLMP 2.2.1).
pub const NTLMSSP_SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
/// MessageType of a NEGOTIATE_MESSAGE.
pub const MESSAGE_TYPE_NEGOTIATE: u32 = 1;
/// MessageType of a CHALLENGE_MESSAGE.
pub const MESSAGE_TYPE_CHALLENGE: u32 = 2;
/// MessageType of an AUTHENTICATE_MESSAGE.
pub const MESSAGE_TYPE_AUTHENTICATE: u32 = 3;

/// NTLMSSP_NEGOTIATE_UNICODE (flag A).
pub const NTLMSSP_NEGOTIATE_UNICODE: u32 = 0x0000_0001;
/// NTLM_NEGOTIATE_OEM (flag B).
pub const NTLM_NEGOTIATE_OEM: u32 = 0x0000_0002;
/// NTLMSSP_REQUEST_TARGET (flag C).
pub const NTLMSSP_REQUEST_TARGET: u32 = 0x0000_0004;
/// NTLMSSP_NEGOTIATE_SIGN (flag D).
pub const NTLMSSP_NEGOTIATE_SIGN: u32 = 0x0000_0010;
/// NTLMSSP_NEGOTIATE_SEAL (flag E).
pub const NTLMSSP_NEGOTIATE_SEAL: u32 = 0x0000_0020;
/// NTLMSSP_NEGOTIATE_LM_KEY (flag G).
pub const NTLMSSP_NEGOTIATE_LM_KEY: u32 = 0x0000_0080;
/// NTLMSSP_NEGOTIATE_NTLM (flag H).
pub const NTLMSSP_NEGOTIATE_NTLM: u32 = 0x0000_0200;
/// NTLMSSP_NEGOTIATE_ANONYMOUS (flag J).
pub const NTLMSSP_NEGOTIATE_ANONYMOUS: u32 = 0x0000_0800;
/// NTLMSSP_NEGOTIATE_ALWAYS_SIGN (flag M).
pub const NTLMSSP_NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
/// NTLMSSP_TARGET_TYPE_DOMAIN (flag N).
pub const NTLMSSP_TARGET_TYPE_DOMAIN: u32 = 0x0001_0000;
/// NTLMSSP_TARGET_TYPE_SERVER (flag O).
pub const NTLMSSP_TARGET_TYPE_SERVER: u32 = 0x0002_0000;
/// NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY (flag P).
pub const NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
/// NTLMSSP_NEGOTIATE_TARGET_INFO (flag S).
pub const NTLMSSP_NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
/// NTLMSSP_NEGOTIATE_VERSION (flag T).
pub const NTLMSSP_NEGOTIATE_VERSION: u32 = 0x0200_0000;
/// NTLMSSP_NEGOTIATE_128 (flag U).
pub const NTLMSSP_NEGOTIATE_128: u32 = 0x2000_0000;
/// NTLMSSP_NEGOTIATE_KEY_EXCH (flag V).
pub const NTLMSSP_NEGOTIATE_KEY_EXCH: u32 = 0x4000_0000;
/// NTLMSSP_NEGOTIATE_56 (flag W).
pub const NTLMSSP_NEGOTIATE_56: u32 = 0x8000_0000;

/// MsvAvEOL: end of an AV_PAIR list (MS-NLMP 2.2.2.1).
pub const MSV_AV_EOL: u16 = 0;
/// MsvAvNbComputerName.
pub const MSV_AV_NB_COMPUTER_NAME: u16 = 1;
/// MsvAvNbDomainName.
pub const MSV_AV_NB_DOMAIN_NAME: u16 = 2;
/// MsvAvDnsComputerName.
pub const MSV_AV_DNS_COMPUTER_NAME: u16 = 3;
/// MsvAvDnsDomainName.
pub const MSV_AV_DNS_DOMAIN_NAME: u16 = 4;
/// MsvAvFlags.
pub const MSV_AV_FLAGS: u16 = 6;
/// MsvAvTimestamp.
pub const MSV_AV_TIMESTAMP: u16 = 7;
/// Bit of MsvAvFlags: the AUTHENTICATE_MESSAGE carries a MIC.
pub const MSV_AV_FLAG_MIC_PRESENT: u32 = 0x0000_0002;

/// Offset of the MIC field in an AUTHENTICATE_MESSAGE that carries Version (MS-NLMP 2.2.1.3).
pub const MIC_OFFSET: usize = 72;
/// Size of the MIC field.
pub const MIC_SIZE: usize = 16;

/// NTLMRevisionCurrent value NTLMSSP_REVISION_W2K3 (MS-NLMP 2.2.2.10).
pub const NTLMSSP_REVISION_W2K3: u8 = 0x0F;

/// The VERSION structure this server sends: Windows 10.0 build 20348, revision 15.
pub const SERVER_VERSION: [u8; 8] = [10, 0, 0x7C, 0x4F, 0, 0, 0, NTLMSSP_REVISION_W2K3];

/// Reasons a message fails to decode.
pub type DecodeError = &'static str;

fn u16_at(buf: &[u8], off: usize) -> Result<u16, DecodeError> {
    let b = buf.get(off..off.checked_add(2).ok_or("offset overflow")?);
    let b = b.ok_or("truncated NTLMSSP message")?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(buf: &[u8], off: usize) -> Result<u32, DecodeError> {
    let b = buf.get(off..off.checked_add(4).ok_or("offset overflow")?);
    let b = b.ok_or("truncated NTLMSSP message")?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// A decoded security-buffer field (Len, MaxLen, BufferOffset) whose bytes lie inside the message.
#[derive(Clone, Copy, Debug)]
struct Field {
    offset: usize,
    len: usize,
}

/// Reads the 8-byte field descriptor at `at` and checks that the payload lies inside `buf`
/// at or after `header_len`. Zero-length fields are always accepted.
fn field_at(buf: &[u8], at: usize, header_len: usize) -> Result<Field, DecodeError> {
    let len = usize::from(u16_at(buf, at)?);
    let offset = usize::try_from(u32_at(buf, at + 4)?).map_err(|_| "offset overflow")?;
    if len == 0 {
        return Ok(Field { offset, len: 0 });
    }
    let end = offset.checked_add(len).ok_or("field offset overflow")?;
    if offset < header_len || end > buf.len() {
        return Err("NTLMSSP field outside the message");
    }
    Ok(Field { offset, len })
}

fn field_bytes(buf: &[u8], f: Field) -> Vec<u8> {
    if f.len == 0 {
        return Vec::new();
    }
    buf.get(f.offset..f.offset + f.len)
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}

fn check_header(buf: &[u8], message_type: u32, min_len: usize) -> Result<(), DecodeError> {
    if buf.len() < min_len {
        return Err("truncated NTLMSSP message");
    }
    if buf.get(..8) != Some(&NTLMSSP_SIGNATURE[..]) {
        return Err("missing NTLMSSP signature");
    }
    if u32_at(buf, 8)? != message_type {
        return Err("unexpected NTLMSSP message type");
    }
    Ok(())
}

/// Returns the MessageType of an NTLMSSP message, or `None` if `buf` is not one.
pub fn message_type(buf: &[u8]) -> Option<u32> {
    if buf.get(..8) != Some(&NTLMSSP_SIGNATURE[..]) {
        return None;
    }
    u32_at(buf, 8).ok()
}

/// Appends a (Len, MaxLen, BufferOffset) descriptor and returns nothing; the payload is placed
/// by the caller at `offset`.
fn put_field(out: &mut Vec<u8>, len: usize, offset: usize) {
    let len = u16::try_from(len).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&u32::try_from(offset).unwrap_or(u32::MAX).to_le_bytes());
}

/// Lays out `payloads` after a header of `header_len` bytes: returns the descriptors' offsets.
fn layout(header_len: usize, payloads: &[&[u8]]) -> Vec<usize> {
    let mut at = header_len;
    payloads
        .iter()
        .map(|p| {
            let o = at;
            at += p.len();
            o
        })
        .collect()
}

/// NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiateMessage {
    /// NegotiateFlags.
    pub negotiate_flags: u32,
    /// DomainName payload (OEM), usually empty.
    pub domain_name: Vec<u8>,
    /// WorkstationName payload (OEM), usually empty.
    pub workstation_name: Vec<u8>,
    /// Version, when present (the header is 40 bytes).
    pub version: Option<[u8; 8]>,
}

impl NegotiateMessage {
    /// Decodes a NEGOTIATE_MESSAGE; accepts the short 16-byte form older clients send.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        check_header(buf, MESSAGE_TYPE_NEGOTIATE, 16)?;
        let negotiate_flags = u32_at(buf, 12)?;
        if buf.len() < 32 {
            return Ok(Self {
                negotiate_flags,
                domain_name: Vec::new(),
                workstation_name: Vec::new(),
                version: None,
            });
        }
        let domain = field_at(buf, 16, 32)?;
        let ws = field_at(buf, 24, 32)?;
        let payload_start = [domain, ws]
            .iter()
            .filter(|f| f.len > 0)
            .map(|f| f.offset)
            .min()
            .unwrap_or(buf.len());
        let version = if payload_start >= 40 {
            buf.get(32..40).and_then(|v| <[u8; 8]>::try_from(v).ok())
        } else {
            None
        };
        Ok(Self {
            negotiate_flags,
            domain_name: field_bytes(buf, domain),
            workstation_name: field_bytes(buf, ws),
            version,
        })
    }

    /// Encodes the message (header 40 bytes with Version, else 32).
    pub fn encode(&self) -> Vec<u8> {
        let header = if self.version.is_some() { 40 } else { 32 };
        let offs = layout(header, &[&self.domain_name, &self.workstation_name]);
        let mut out =
            Vec::with_capacity(header + self.domain_name.len() + self.workstation_name.len());
        out.extend_from_slice(NTLMSSP_SIGNATURE);
        out.extend_from_slice(&MESSAGE_TYPE_NEGOTIATE.to_le_bytes());
        out.extend_from_slice(&self.negotiate_flags.to_le_bytes());
        put_field(&mut out, self.domain_name.len(), offs[0]);
        put_field(&mut out, self.workstation_name.len(), offs[1]);
        if let Some(v) = &self.version {
            out.extend_from_slice(v);
        }
        out.extend_from_slice(&self.domain_name);
        out.extend_from_slice(&self.workstation_name);
        out
    }
}

/// CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2). The header is always 56 bytes (Version included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeMessage {
    /// TargetName payload (UTF-16LE when UNICODE is negotiated).
    pub target_name: Vec<u8>,
    /// NegotiateFlags.
    pub negotiate_flags: u32,
    /// ServerChallenge.
    pub server_challenge: [u8; 8],
    /// TargetInfo payload: an AV_PAIR list.
    pub target_info: Vec<u8>,
    /// Version.
    pub version: [u8; 8],
}

impl ChallengeMessage {
    /// Encodes the message.
    pub fn encode(&self) -> Vec<u8> {
        let offs = layout(56, &[&self.target_name, &self.target_info]);
        let mut out = Vec::with_capacity(56 + self.target_name.len() + self.target_info.len());
        out.extend_from_slice(NTLMSSP_SIGNATURE);
        out.extend_from_slice(&MESSAGE_TYPE_CHALLENGE.to_le_bytes());
        put_field(&mut out, self.target_name.len(), offs[0]);
        out.extend_from_slice(&self.negotiate_flags.to_le_bytes());
        out.extend_from_slice(&self.server_challenge);
        out.extend_from_slice(&[0u8; 8]);
        put_field(&mut out, self.target_info.len(), offs[1]);
        out.extend_from_slice(&self.version);
        out.extend_from_slice(&self.target_name);
        out.extend_from_slice(&self.target_info);
        out
    }

    /// Decodes the message (used by tests and tools; the server only encodes it).
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        check_header(buf, MESSAGE_TYPE_CHALLENGE, 56)?;
        let target_name = field_at(buf, 12, 48)?;
        let negotiate_flags = u32_at(buf, 20)?;
        let server_challenge = buf
            .get(24..32)
            .and_then(|c| <[u8; 8]>::try_from(c).ok())
            .ok_or("truncated NTLMSSP message")?;
        let target_info = field_at(buf, 40, 48)?;
        let version = buf
            .get(48..56)
            .and_then(|c| <[u8; 8]>::try_from(c).ok())
            .ok_or("truncated NTLMSSP message")?;
        Ok(Self {
            target_name: field_bytes(buf, target_name),
            negotiate_flags,
            server_challenge,
            target_info: field_bytes(buf, target_info),
            version,
        })
    }
}

/// AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticateMessage {
    /// LmChallengeResponse payload.
    pub lm_challenge_response: Vec<u8>,
    /// NtChallengeResponse payload.
    pub nt_challenge_response: Vec<u8>,
    /// DomainName payload.
    pub domain_name: Vec<u8>,
    /// UserName payload.
    pub user_name: Vec<u8>,
    /// Workstation payload.
    pub workstation: Vec<u8>,
    /// EncryptedRandomSessionKey payload.
    pub encrypted_random_session_key: Vec<u8>,
    /// NegotiateFlags.
    pub negotiate_flags: u32,
    /// Version, present when the payload starts at or after offset 72.
    pub version: Option<[u8; 8]>,
    /// MIC, present when the payload starts at or after offset 88 (requires Version).
    pub mic: Option<[u8; 16]>,
}

impl AuthenticateMessage {
    /// Decodes the message; every field must lie inside `buf` after the 64-byte fixed header.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        check_header(buf, MESSAGE_TYPE_AUTHENTICATE, 64)?;
        let mut fields = [Field { offset: 0, len: 0 }; 6];
        for (i, f) in fields.iter_mut().enumerate() {
            *f = field_at(buf, 12 + 8 * i, 64)?;
        }
        let negotiate_flags = u32_at(buf, 60)?;
        let payload_start = fields
            .iter()
            .filter(|f| f.len > 0)
            .map(|f| f.offset)
            .min()
            .unwrap_or(buf.len());
        let version = if payload_start >= 72 {
            buf.get(64..72).and_then(|v| <[u8; 8]>::try_from(v).ok())
        } else {
            None
        };
        let mic = if version.is_some() && payload_start >= MIC_OFFSET + MIC_SIZE {
            buf.get(MIC_OFFSET..MIC_OFFSET + MIC_SIZE)
                .and_then(|v| <[u8; 16]>::try_from(v).ok())
        } else {
            None
        };
        Ok(Self {
            lm_challenge_response: field_bytes(buf, fields[0]),
            nt_challenge_response: field_bytes(buf, fields[1]),
            domain_name: field_bytes(buf, fields[2]),
            user_name: field_bytes(buf, fields[3]),
            workstation: field_bytes(buf, fields[4]),
            encrypted_random_session_key: field_bytes(buf, fields[5]),
            negotiate_flags,
            version,
            mic,
        })
    }

    /// Encodes the message. A MIC is only written when Version is present (as in MS-NLMP).
    pub fn encode(&self) -> Vec<u8> {
        let header = match (self.version.is_some(), self.mic.is_some()) {
            (true, true) => 88,
            (true, false) => 72,
            _ => 64,
        };
        // Payload order as Windows sends it: domain, user, workstation, LM, NT, session key.
        let payload: [&[u8]; 6] = [
            &self.domain_name,
            &self.user_name,
            &self.workstation,
            &self.lm_challenge_response,
            &self.nt_challenge_response,
            &self.encrypted_random_session_key,
        ];
        let offs = layout(header, &payload);
        let mut out = Vec::with_capacity(header + payload.iter().map(|p| p.len()).sum::<usize>());
        out.extend_from_slice(NTLMSSP_SIGNATURE);
        out.extend_from_slice(&MESSAGE_TYPE_AUTHENTICATE.to_le_bytes());
        // Descriptor order: LM, NT, domain, user, workstation, session key.
        for i in [3usize, 4, 0, 1, 2, 5] {
            put_field(&mut out, payload[i].len(), offs[i]);
        }
        out.extend_from_slice(&self.negotiate_flags.to_le_bytes());
        if let Some(v) = &self.version {
            out.extend_from_slice(v);
            if let Some(m) = &self.mic {
                out.extend_from_slice(m);
            }
        }
        for p in payload {
            out.extend_from_slice(p);
        }
        out
    }
}

/// One AV_PAIR (MS-NLMP 2.2.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvPair {
    /// AvId.
    pub av_id: u16,
    /// Value (AvLen bytes).
    pub value: Vec<u8>,
}

/// Encodes an AV_PAIR list and terminates it with MsvAvEOL.
/// Values longer than 65535 bytes are truncated (never produced by this server).
pub fn encode_av_pairs(pairs: &[AvPair]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pairs.iter().filter(|p| p.av_id != MSV_AV_EOL) {
        let len = p.value.len().min(usize::from(u16::MAX));
        out.extend_from_slice(&p.av_id.to_le_bytes());
        out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_le_bytes());
        out.extend_from_slice(&p.value[..len]);
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out
}

/// Decodes an AV_PAIR list up to (not including) MsvAvEOL. Bytes after EOL are ignored.
/// A list without EOL, or with a pair running past the end, is an error.
pub fn decode_av_pairs(buf: &[u8]) -> Result<Vec<AvPair>, DecodeError> {
    let mut pairs = Vec::new();
    let mut at = 0usize;
    loop {
        let av_id = u16_at(buf, at).map_err(|_| "truncated AV_PAIR list")?;
        let len = usize::from(u16_at(buf, at + 2).map_err(|_| "truncated AV_PAIR list")?);
        at += 4;
        if av_id == MSV_AV_EOL {
            return Ok(pairs);
        }
        let value = buf.get(at..at + len).ok_or("AV_PAIR runs past the end")?;
        pairs.push(AvPair {
            av_id,
            value: value.to_vec(),
        });
        at += len;
    }
}

/// UTF-16LE encoding of `s` (MS-NLMP's UNICODE()).
pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Decodes UTF-16LE bytes; `None` on odd length or unpaired surrogates.
pub fn from_utf16le(b: &[u8]) -> Option<String> {
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

/// Decodes an NTLM string field: UTF-16LE when `unicode`, else OEM bytes read as Latin-1.
pub fn decode_string(b: &[u8], unicode: bool) -> Option<String> {
    if unicode {
        from_utf16le(b)
    } else {
        Some(b.iter().map(|&c| char::from(c)).collect())
    }
}

/// Current time as a Windows FILETIME (100 ns ticks since 1601-01-01).
pub fn filetime_now() -> u64 {
    const EPOCH_DIFF_SECS: u64 = 11_644_473_600;
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs().saturating_add(EPOCH_DIFF_SECS))
        .saturating_mul(10_000_000)
        .saturating_add(u64::from(d.subsec_nanos() / 100))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..max)
    }

    proptest! {
        #[test]
        fn decoders_never_panic(buf in bytes(300)) {
            let _ = NegotiateMessage::decode(&buf);
            let _ = ChallengeMessage::decode(&buf);
            let _ = AuthenticateMessage::decode(&buf);
            let _ = decode_av_pairs(&buf);
            let _ = message_type(&buf);
        }

        #[test]
        fn decoders_never_panic_with_signature(kind in 1u32..4, rest in bytes(300)) {
            let mut buf = NTLMSSP_SIGNATURE.to_vec();
            buf.extend_from_slice(&kind.to_le_bytes());
            buf.extend_from_slice(&rest);
            let _ = NegotiateMessage::decode(&buf);
            let _ = ChallengeMessage::decode(&buf);
            let _ = AuthenticateMessage::decode(&buf);
        }

        #[test]
        fn authenticate_round_trip(
            lm in bytes(40), nt in bytes(200), dom in bytes(30), user in bytes(30),
            ws in bytes(30), key in bytes(17), flags in any::<u32>(),
            version in proptest::option::of(any::<[u8; 8]>()), mic in any::<[u8; 16]>(), with_mic in any::<bool>(),
        ) {
            let m = AuthenticateMessage {
                lm_challenge_response: lm, nt_challenge_response: nt, domain_name: dom,
                user_name: user, workstation: ws, encrypted_random_session_key: key,
                negotiate_flags: flags, version, mic: if with_mic && version.is_some() { Some(mic) } else { None },
            };
            prop_assert_eq!(AuthenticateMessage::decode(&m.encode()).unwrap(), m);
        }

        #[test]
        fn challenge_round_trip(name in bytes(40), info in bytes(200), flags in any::<u32>(),
                                chal in any::<[u8; 8]>(), version in any::<[u8; 8]>()) {
            let m = ChallengeMessage { target_name: name, negotiate_flags: flags, server_challenge: chal, target_info: info, version };
            prop_assert_eq!(ChallengeMessage::decode(&m.encode()).unwrap(), m);
        }

        #[test]
        fn negotiate_round_trip(flags in any::<u32>(), dom in bytes(20), ws in bytes(20), version in proptest::option::of(any::<[u8; 8]>())) {
            let m = NegotiateMessage { negotiate_flags: flags, domain_name: dom, workstation_name: ws, version };
            prop_assert_eq!(NegotiateMessage::decode(&m.encode()).unwrap(), m);
        }

        #[test]
        fn av_pairs_round_trip(pairs in proptest::collection::vec((1u16..20, bytes(40)), 0..8)) {
            let pairs: Vec<AvPair> = pairs.into_iter().map(|(av_id, value)| AvPair { av_id, value }).collect();
            prop_assert_eq!(decode_av_pairs(&encode_av_pairs(&pairs)).unwrap(), pairs);
        }
    }

    #[test]
    fn field_outside_message_is_rejected() {
        let m = AuthenticateMessage {
            lm_challenge_response: vec![1; 24],
            nt_challenge_response: vec![2; 60],
            domain_name: vec![],
            user_name: vec![3; 8],
            workstation: vec![],
            encrypted_random_session_key: vec![4; 16],
            negotiate_flags: 0,
            version: Some(SERVER_VERSION),
            mic: Some([0; 16]),
        };
        let mut b = m.encode();
        // NT field length: make it run past the end.
        b[20] = 0xff;
        b[21] = 0xff;
        assert!(AuthenticateMessage::decode(&b).is_err());
        let mut b = m.encode();
        // LM field offset pointing into the header.
        b[16..20].copy_from_slice(&10u32.to_le_bytes());
        assert!(AuthenticateMessage::decode(&b).is_err());
        let mut b = m.encode();
        b[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(AuthenticateMessage::decode(&b).is_err());
    }

    #[test]
    fn av_pairs_without_eol_rejected() {
        assert!(decode_av_pairs(&[2, 0, 2, 0, b'a', 0]).is_err());
        assert!(decode_av_pairs(&[2, 0, 9, 0, b'a', 0, 0, 0, 0, 0]).is_err());
    }
}
