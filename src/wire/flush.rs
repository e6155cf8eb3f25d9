//! SMB2 FLUSH request and response (MS-SMB2 2.2.17, 2.2.18).
use super::{body, check_structure_size, FileId, Result};
use bytes::{BufMut, Bytes, BytesMut};

/// SMB2 FLUSH Request (MS-SMB2 2.2.17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushRequest {
    /// FileId of the open to flush.
    pub file_id: FileId,
}

impl FlushRequest {
    /// Decodes the request in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 24)?;
        let (_, file_id) = FileId::parse(b.get(8..).unwrap_or_default())?;
        Ok(FlushRequest { file_id })
    }

    /// Appends the 24-byte body.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(24);
        out.put_u16_le(0);
        out.put_u32_le(0);
        self.file_id.encode(out);
    }
}

/// SMB2 FLUSH Response (MS-SMB2 2.2.18): StructureSize 4 and a reserved field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushResponse;

impl FlushResponse {
    /// Decodes the response in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 4)?;
        if b.len() < 4 {
            return Err(super::Error::Truncated);
        }
        Ok(FlushResponse)
    }

    /// Appends the 4-byte body.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(4);
        out.put_u16_le(0);
    }
}

#[cfg(test)]
mod tests {
    use super::super::Error;
    use super::*;
    use crate::wire::test_frame as frame;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(p: u64, v: u64) {
            let r = FlushRequest { file_id: FileId { persistent: p, volatile: v } };
            prop_assert_eq!(FlushRequest::decode(&frame(|o| r.encode(o))).unwrap(), r);
            prop_assert_eq!(FlushResponse::decode(&frame(|o| FlushResponse.encode(o))).unwrap(), FlushResponse);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..60)) {
            let m = frame(|o| o.put_slice(&b));
            let _ = FlushRequest::decode(&m);
            let _ = FlushResponse::decode(&m);
        }
    }

    #[test]
    fn refuses_bad_structure_size_and_truncation() {
        let m = frame(|o| o.put_slice(&[23, 0]));
        assert_eq!(
            FlushRequest::decode(&m),
            Err(Error::Invalid("StructureSize"))
        );
        let m = frame(|o| o.put_slice(&[24, 0, 0, 0, 0, 0, 0, 0, 1]));
        assert_eq!(FlushRequest::decode(&m), Err(Error::Truncated));
        let m = frame(|o| o.put_slice(&[4, 0]));
        assert_eq!(FlushResponse::decode(&m), Err(Error::Truncated));
    }
}
