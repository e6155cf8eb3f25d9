//! SMB2 SESSION_SETUP request and response (MS-SMB2 2.2.5, 2.2.6).
use super::{body, check_structure_size, variable_buffer, Bytes, BytesMut, Result, HEADER_LEN};
use bytes::BufMut;
use nom::number::complete::{le_u16, le_u32, le_u64, le_u8};

/// Request Flags SMB2_SESSION_FLAG_BINDING: bind an existing session to a new channel.
pub const SMB2_SESSION_FLAG_BINDING: u8 = 0x01;
/// Request SecurityMode SMB2_NEGOTIATE_SIGNING_ENABLED.
pub const SMB2_NEGOTIATE_SIGNING_ENABLED: u8 = 0x01;
/// Request SecurityMode SMB2_NEGOTIATE_SIGNING_REQUIRED.
pub const SMB2_NEGOTIATE_SIGNING_REQUIRED: u8 = 0x02;
/// Request Capabilities SMB2_GLOBAL_CAP_DFS (the only one defined for this field).
pub const SMB2_GLOBAL_CAP_DFS: u32 = 0x0000_0001;
/// Request Capabilities SMB2_GLOBAL_CAP_UNUSED1.
pub const SMB2_GLOBAL_CAP_UNUSED1: u32 = 0x0000_0002;
/// Request Capabilities SMB2_GLOBAL_CAP_UNUSED2.
pub const SMB2_GLOBAL_CAP_UNUSED2: u32 = 0x0000_0004;
/// Request Capabilities SMB2_GLOBAL_CAP_UNUSED3.
pub const SMB2_GLOBAL_CAP_UNUSED3: u32 = 0x0000_0008;

/// Response SessionFlags SMB2_SESSION_FLAG_IS_GUEST.
pub const SMB2_SESSION_FLAG_IS_GUEST: u16 = 0x0001;
/// Response SessionFlags SMB2_SESSION_FLAG_IS_NULL.
pub const SMB2_SESSION_FLAG_IS_NULL: u16 = 0x0002;
/// Response SessionFlags SMB2_SESSION_FLAG_ENCRYPT_DATA.
pub const SMB2_SESSION_FLAG_ENCRYPT_DATA: u16 = 0x0004;

/// Fixed request body length (StructureSize 25 counts one byte of Buffer).
const REQUEST_FIXED: usize = 24;
/// Fixed response body length (StructureSize 9 counts one byte of Buffer).
const RESPONSE_FIXED: usize = 8;

/// A security buffer cut to what a u16 length can describe.
fn clamp16(b: &[u8]) -> &[u8] {
    &b[..b.len().min(u16::MAX as usize)]
}

/// SMB2 SESSION_SETUP request (MS-SMB2 2.2.5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionSetupRequest {
    /// Flags (see [`SMB2_SESSION_FLAG_BINDING`]).
    pub flags: u8,
    /// SecurityMode (see [`SMB2_NEGOTIATE_SIGNING_ENABLED`]).
    pub security_mode: u8,
    /// Capabilities.
    pub capabilities: u32,
    /// Channel (MUST be 0).
    pub channel: u32,
    /// PreviousSessionId: a session of the same user to tear down (reconnect).
    pub previous_session_id: u64,
    /// The security buffer (GSS/SPNEGO token).
    pub security_buffer: Bytes,
}

impl SessionSetupRequest {
    /// Decodes a SESSION_SETUP request message.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 25)?;
        let i = &b[2..];
        let (i, flags) = le_u8(i)?;
        let (i, security_mode) = le_u8(i)?;
        let (i, capabilities) = le_u32(i)?;
        let (i, channel) = le_u32(i)?;
        let (i, offset) = le_u16(i)?;
        let (i, len) = le_u16(i)?;
        let (_, previous_session_id) = le_u64(i)?;
        let security_buffer = variable_buffer(
            msg,
            offset as usize,
            len as usize,
            REQUEST_FIXED,
            "SecurityBufferOffset",
        )?;
        Ok(SessionSetupRequest {
            flags,
            security_mode,
            capabilities,
            channel,
            previous_session_id,
            security_buffer,
        })
    }

    /// Appends the request body (buffer at offset 0x58).
    pub fn encode(&self, out: &mut BytesMut) {
        let sec = clamp16(&self.security_buffer);
        out.put_u16_le(25);
        out.put_u8(self.flags);
        out.put_u8(self.security_mode);
        out.put_u32_le(self.capabilities);
        out.put_u32_le(self.channel);
        out.put_u16_le((HEADER_LEN + REQUEST_FIXED) as u16);
        out.put_u16_le(sec.len() as u16);
        out.put_u64_le(self.previous_session_id);
        out.put_slice(sec);
    }
}

/// SMB2 SESSION_SETUP response (MS-SMB2 2.2.6).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionSetupResponse {
    /// SessionFlags (see [`SMB2_SESSION_FLAG_IS_GUEST`]).
    pub session_flags: u16,
    /// The security buffer (GSS/SPNEGO token).
    pub security_buffer: Bytes,
}

impl SessionSetupResponse {
    /// Decodes a SESSION_SETUP response message.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 9)?;
        let i = &b[2..];
        let (i, session_flags) = le_u16(i)?;
        let (i, offset) = le_u16(i)?;
        let (_, len) = le_u16(i)?;
        let security_buffer = variable_buffer(
            msg,
            offset as usize,
            len as usize,
            RESPONSE_FIXED,
            "SecurityBufferOffset",
        )?;
        Ok(SessionSetupResponse {
            session_flags,
            security_buffer,
        })
    }

    /// Appends the response body (buffer at offset 0x48).
    pub fn encode(&self, out: &mut BytesMut) {
        let sec = clamp16(&self.security_buffer);
        out.put_u16_le(9);
        out.put_u16_le(self.session_flags);
        out.put_u16_le((HEADER_LEN + RESPONSE_FIXED) as u16);
        out.put_u16_le(sec.len() as u16);
        out.put_slice(sec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Error;
    use proptest::prelude::*;

    fn msg(f: impl FnOnce(&mut BytesMut)) -> Bytes {
        let mut out = BytesMut::from(&[0u8; HEADER_LEN][..]);
        f(&mut out);
        out.freeze()
    }

    #[test]
    fn request_vector() {
        // A first SESSION_SETUP from a Windows client: signing enabled, DFS capability,
        // 4-byte token stub at 0x58.
        let body = hex::decode("190001010100000000000000580004000000000000000000a1b2c3d4").unwrap();
        let m = msg(|o| o.extend_from_slice(&body));
        let r = SessionSetupRequest::decode(&m).unwrap();
        assert_eq!(r.security_mode, SMB2_NEGOTIATE_SIGNING_ENABLED);
        assert_eq!(r.flags, SMB2_SESSION_FLAG_BINDING);
        assert_eq!(r.capabilities, SMB2_GLOBAL_CAP_DFS);
        assert_eq!(&r.security_buffer[..], &[0xa1, 0xb2, 0xc3, 0xd4]);
        assert_eq!(&msg(|o| r.encode(o))[HEADER_LEN..], &body[..]);
    }

    #[test]
    fn refuses_bad_buffers() {
        let r = SessionSetupRequest {
            security_buffer: Bytes::from_static(b"token"),
            ..Default::default()
        };
        let m = msg(|o| r.encode(o)).to_vec();
        let mut b = m.clone();
        b[HEADER_LEN + 12] = 0x50; // offset before the end of the fixed part
        assert_eq!(
            SessionSetupRequest::decode(&Bytes::from(b)),
            Err(Error::Invalid("SecurityBufferOffset"))
        );
        let mut b = m.clone();
        b[HEADER_LEN + 14] = 6; // length past the end
        assert_eq!(
            SessionSetupRequest::decode(&Bytes::from(b)),
            Err(Error::Truncated)
        );
        assert_eq!(
            SessionSetupRequest::decode(&Bytes::from(m[..HEADER_LEN + 20].to_vec())),
            Err(Error::Truncated)
        );
        let resp = msg(|o| {
            SessionSetupResponse {
                session_flags: 0,
                security_buffer: Bytes::from_static(b"x"),
            }
            .encode(o)
        })
        .to_vec();
        let mut b = resp;
        b[HEADER_LEN + 4] = 0x44;
        assert_eq!(
            SessionSetupResponse::decode(&Bytes::from(b)),
            Err(Error::Invalid("SecurityBufferOffset"))
        );
    }

    proptest! {
        #[test]
        fn request_round_trip(flags: u8, security_mode: u8, capabilities: u32, channel: u32,
                              previous_session_id: u64,
                              sec in proptest::collection::vec(any::<u8>(), 0..100)) {
            let r = SessionSetupRequest { flags, security_mode, capabilities, channel,
                previous_session_id, security_buffer: Bytes::from(sec) };
            prop_assert_eq!(SessionSetupRequest::decode(&msg(|o| r.encode(o))).unwrap(), r);
        }

        #[test]
        fn response_round_trip(session_flags: u16,
                               sec in proptest::collection::vec(any::<u8>(), 0..100)) {
            let r = SessionSetupResponse { session_flags, security_buffer: Bytes::from(sec) };
            prop_assert_eq!(SessionSetupResponse::decode(&msg(|o| r.encode(o))).unwrap(), r);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..150)) {
            let m = Bytes::from(b);
            let _ = SessionSetupRequest::decode(&m);
            let _ = SessionSetupResponse::decode(&m);
        }
    }
}
