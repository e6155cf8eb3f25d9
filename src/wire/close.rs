//! SMB2 CLOSE request and response (MS-SMB2 2.2.15, 2.2.16).
use super::{body, check_structure_size, FileId, Result};
use bytes::{BufMut, Bytes, BytesMut};
use nom::number::complete::{le_u16, le_u32, le_u64};

/// Flags of CLOSE (MS-SMB2 2.2.15): SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB.
pub const SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB: u16 = 0x0001;

/// SMB2 CLOSE Request (MS-SMB2 2.2.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CloseRequest {
    /// Flags ([`SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB`]).
    pub flags: u16,
    /// FileId of the open to close.
    pub file_id: FileId,
}

impl CloseRequest {
    /// Decodes the request in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 24)?;
        let (i, _) = le_u16(b)?;
        let (i, flags) = le_u16(i)?;
        let (i, _reserved) = le_u32(i)?;
        let (_, file_id) = FileId::parse(i)?;
        Ok(CloseRequest { flags, file_id })
    }

    /// Appends the 24-byte body.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(24);
        out.put_u16_le(self.flags);
        out.put_u32_le(0);
        self.file_id.encode(out);
    }
}

/// SMB2 CLOSE Response (MS-SMB2 2.2.16). The attribute fields are zero unless the request
/// carried [`SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CloseResponse {
    /// Flags (echoes [`SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB`] when the attributes are valid).
    pub flags: u16,
    /// CreationTime (FILETIME).
    pub creation_time: u64,
    /// LastAccessTime.
    pub last_access_time: u64,
    /// LastWriteTime.
    pub last_write_time: u64,
    /// ChangeTime.
    pub change_time: u64,
    /// AllocationSize.
    pub allocation_size: u64,
    /// EndofFile.
    pub end_of_file: u64,
    /// FileAttributes.
    pub file_attributes: u32,
}

impl CloseResponse {
    /// Decodes the response in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 60)?;
        let (i, _) = le_u16(b)?;
        let (i, flags) = le_u16(i)?;
        let (i, _reserved) = le_u32(i)?;
        let (i, creation_time) = le_u64(i)?;
        let (i, last_access_time) = le_u64(i)?;
        let (i, last_write_time) = le_u64(i)?;
        let (i, change_time) = le_u64(i)?;
        let (i, allocation_size) = le_u64(i)?;
        let (i, end_of_file) = le_u64(i)?;
        let (_, file_attributes) = le_u32(i)?;
        Ok(CloseResponse {
            flags,
            creation_time,
            last_access_time,
            last_write_time,
            change_time,
            allocation_size,
            end_of_file,
            file_attributes,
        })
    }

    /// Appends the 60-byte body.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(60);
        out.put_u16_le(self.flags);
        out.put_u32_le(0);
        out.put_u64_le(self.creation_time);
        out.put_u64_le(self.last_access_time);
        out.put_u64_le(self.last_write_time);
        out.put_u64_le(self.change_time);
        out.put_u64_le(self.allocation_size);
        out.put_u64_le(self.end_of_file);
        out.put_u32_le(self.file_attributes);
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
        fn request_round_trip(flags: u16, p: u64, v: u64) {
            let r = CloseRequest { flags, file_id: FileId { persistent: p, volatile: v } };
            prop_assert_eq!(CloseRequest::decode(&frame(|o| r.encode(o))).unwrap(), r);
        }

        #[test]
        fn response_round_trip(flags: u16, t: [u64; 6], file_attributes: u32) {
            let r = CloseResponse { flags, creation_time: t[0], last_access_time: t[1],
                last_write_time: t[2], change_time: t[3], allocation_size: t[4],
                end_of_file: t[5], file_attributes };
            prop_assert_eq!(CloseResponse::decode(&frame(|o| r.encode(o))).unwrap(), r);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..100)) {
            let m = frame(|o| o.put_slice(&b));
            let _ = CloseRequest::decode(&m);
            let _ = CloseResponse::decode(&m);
            let _ = CloseRequest::decode(&Bytes::from(b));
        }
    }

    #[test]
    fn request_vector() {
        let body = hex::decode("180001000000000001000000000000000200000000000000").unwrap();
        let r = CloseRequest::decode(&frame(|o| o.put_slice(&body))).unwrap();
        assert_eq!(r.flags, SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB);
        assert_eq!(
            r.file_id,
            FileId {
                persistent: 1,
                volatile: 2
            }
        );
    }

    #[test]
    fn refuses_bad_structure_size_and_truncation() {
        let m = frame(|o| o.put_slice(&[25, 0, 0, 0]));
        assert_eq!(
            CloseRequest::decode(&m),
            Err(Error::Invalid("StructureSize"))
        );
        let m = frame(|o| o.put_slice(&[24, 0, 0, 0]));
        assert_eq!(CloseRequest::decode(&m), Err(Error::Truncated));
        let m = frame(|o| o.put_slice(&[60, 0, 0, 0]));
        assert_eq!(CloseResponse::decode(&m), Err(Error::Truncated));
    }
}
