//! FSCTL_VALIDATE_NEGOTIATE_INFO payloads (MS-SMB2 2.2.31.4 request, 2.2.32.6 response),
//! decoded from and encoded to the plain IOCTL input/output buffers.
use crate::wire::negotiate::Dialect;
use crate::wire::{Error, Guid, Result};

/// Length of the request before its Dialects array.
pub const REQUEST_FIXED_LEN: usize = 24;
/// Length of the response.
pub const RESPONSE_LEN: usize = 24;

/// VALIDATE_NEGOTIATE_INFO request (2.2.31.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidateNegotiateInfoRequest {
    /// Capabilities the client sent in NEGOTIATE.
    pub capabilities: u32,
    /// Guid: the client's ClientGuid.
    pub guid: Guid,
    /// SecurityMode the client sent in NEGOTIATE.
    pub security_mode: u16,
    /// Dialects the client sent in NEGOTIATE (DialectCount is their number).
    pub dialects: Vec<Dialect>,
}

impl ValidateNegotiateInfoRequest {
    /// Decodes the IOCTL input buffer. It must hold all DialectCount dialects (MS-SMB2
    /// 3.3.5.15.12 drops the connection otherwise); bytes after them are ignored.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let fixed = b.get(..REQUEST_FIXED_LEN).ok_or(Error::Truncated)?;
        let capabilities = u32::from_le_bytes([fixed[0], fixed[1], fixed[2], fixed[3]]);
        let mut g = [0u8; 16];
        g.copy_from_slice(&fixed[4..20]);
        let security_mode = u16::from_le_bytes([fixed[20], fixed[21]]);
        let count = u16::from_le_bytes([fixed[22], fixed[23]]) as usize;
        let list = b
            .get(REQUEST_FIXED_LEN..REQUEST_FIXED_LEN + 2 * count)
            .ok_or(Error::Truncated)?;
        let dialects = list
            .chunks_exact(2)
            .map(|c| Dialect(u16::from_le_bytes([c[0], c[1]])))
            .collect();
        Ok(ValidateNegotiateInfoRequest {
            capabilities,
            guid: Guid(g),
            security_mode,
            dialects,
        })
    }

    /// Appends the request (at most 65535 dialects).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let n = self.dialects.len().min(u16::MAX as usize);
        out.extend_from_slice(&self.capabilities.to_le_bytes());
        out.extend_from_slice(&self.guid.0);
        out.extend_from_slice(&self.security_mode.to_le_bytes());
        out.extend_from_slice(&(n as u16).to_le_bytes());
        for d in &self.dialects[..n] {
            out.extend_from_slice(&d.0.to_le_bytes());
        }
    }
}

/// VALIDATE_NEGOTIATE_INFO response (2.2.32.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ValidateNegotiateInfoResponse {
    /// Capabilities the server sent in NEGOTIATE.
    pub capabilities: u32,
    /// Guid: the ServerGuid.
    pub guid: Guid,
    /// SecurityMode the server sent in NEGOTIATE.
    pub security_mode: u16,
    /// Dialect the server selected.
    pub dialect: Dialect,
}

impl ValidateNegotiateInfoResponse {
    /// Decodes the IOCTL output buffer (24 bytes; more is ignored).
    pub fn decode(b: &[u8]) -> Result<Self> {
        let b = b.get(..RESPONSE_LEN).ok_or(Error::Truncated)?;
        let mut g = [0u8; 16];
        g.copy_from_slice(&b[4..20]);
        Ok(ValidateNegotiateInfoResponse {
            capabilities: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            guid: Guid(g),
            security_mode: u16::from_le_bytes([b[20], b[21]]),
            dialect: Dialect(u16::from_le_bytes([b[22], b[23]])),
        })
    }

    /// Appends the 24-byte response.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.capabilities.to_le_bytes());
        out.extend_from_slice(&self.guid.0);
        out.extend_from_slice(&self.security_mode.to_le_bytes());
        out.extend_from_slice(&self.dialect.0.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn request_vector() {
        // Capabilities 0x7f, GUID 00..0f, SecurityMode 1, four dialects 2.0.2..3.0.2.
        let b = hex::decode("7f000000000102030405060708090a0b0c0d0e0f010004000202100200030203")
            .unwrap();
        let r = ValidateNegotiateInfoRequest::decode(&b).unwrap();
        assert_eq!(r.capabilities, 0x7f);
        assert_eq!(r.security_mode, 1);
        assert_eq!(
            r.dialects,
            vec![
                Dialect::SMB202,
                Dialect::SMB21,
                Dialect::SMB30,
                Dialect::SMB302
            ]
        );
        let mut out = Vec::new();
        r.encode(&mut out);
        assert_eq!(out, b);
    }

    #[test]
    fn refuses_short_input() {
        let b =
            hex::decode("7f000000000102030405060708090a0b0c0d0e0f01000500020210020003").unwrap();
        assert_eq!(
            ValidateNegotiateInfoRequest::decode(&b),
            Err(Error::Truncated)
        );
        assert_eq!(
            ValidateNegotiateInfoRequest::decode(&b[..23]),
            Err(Error::Truncated)
        );
        assert_eq!(
            ValidateNegotiateInfoResponse::decode(&b[..23]),
            Err(Error::Truncated)
        );
    }

    proptest! {
        #[test]
        fn round_trip(capabilities: u32, g: [u8; 16], security_mode: u16,
                      d in proptest::collection::vec(any::<u16>(), 0..10), dialect: u16) {
            let r = ValidateNegotiateInfoRequest { capabilities, guid: Guid(g), security_mode,
                dialects: d.into_iter().map(Dialect).collect() };
            let mut out = Vec::new();
            r.encode(&mut out);
            prop_assert_eq!(ValidateNegotiateInfoRequest::decode(&out).unwrap(), r);
            let s = ValidateNegotiateInfoResponse { capabilities, guid: Guid(g), security_mode,
                dialect: Dialect(dialect) };
            let mut out = Vec::new();
            s.encode(&mut out);
            prop_assert_eq!(out.len(), RESPONSE_LEN);
            prop_assert_eq!(ValidateNegotiateInfoResponse::decode(&out).unwrap(), s);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = ValidateNegotiateInfoRequest::decode(&b);
            let _ = ValidateNegotiateInfoResponse::decode(&b);
        }
    }
}
