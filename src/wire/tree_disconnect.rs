//! SMB2 TREE_DISCONNECT request and response (MS-SMB2 2.2.11, 2.2.12): a 4-byte body of StructureSize 4 and Reserved.
use super::{body, check_structure_size, Bytes, BytesMut, Result};
use bytes::BufMut;

/// SMB2 TREE_DISCONNECT request: no fields besides StructureSize and Reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TreeDisconnectRequest;

impl TreeDisconnectRequest {
    /// Decodes the message, checking StructureSize 4 (Reserved is ignored).
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 4)?;
        if b.len() < 4 {
            return Err(super::Error::Truncated);
        }
        Ok(TreeDisconnectRequest)
    }

    /// Appends the 4-byte body.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(4);
        out.put_u16_le(0);
    }
}

/// SMB2 TREE_DISCONNECT response: no fields besides StructureSize and Reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TreeDisconnectResponse;

impl TreeDisconnectResponse {
    /// Decodes the message, checking StructureSize 4 (Reserved is ignored).
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 4)?;
        if b.len() < 4 {
            return Err(super::Error::Truncated);
        }
        Ok(TreeDisconnectResponse)
    }

    /// Appends the 4-byte body.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(4);
        out.put_u16_le(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Error, HEADER_LEN};
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_refusals() {
        let mut out = BytesMut::from(&[0u8; HEADER_LEN][..]);
        TreeDisconnectRequest.encode(&mut out);
        assert_eq!(&out[HEADER_LEN..], &[4, 0, 0, 0]);
        let m = out.freeze();
        assert_eq!(TreeDisconnectRequest::decode(&m), Ok(TreeDisconnectRequest));
        assert_eq!(
            TreeDisconnectResponse::decode(&m),
            Ok(TreeDisconnectResponse)
        );
        assert_eq!(
            TreeDisconnectRequest::decode(&m.slice(..HEADER_LEN + 2)),
            Err(Error::Truncated)
        );
        let mut b = m.to_vec();
        b[HEADER_LEN] = 5;
        assert_eq!(
            TreeDisconnectRequest::decode(&Bytes::from(b)),
            Err(Error::Invalid("StructureSize"))
        );
    }

    proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let m = Bytes::from(b);
            let _ = TreeDisconnectRequest::decode(&m);
            let _ = TreeDisconnectResponse::decode(&m);
        }
    }
}
