//! SMB2 SET_INFO request and response (MS-SMB2 2.2.39, 2.2.40).
use super::query_info::InfoType;
use super::variable_buffer;
use super::{body, check_structure_size, FileId, Result, HEADER_LEN};
use bytes::{BufMut, Bytes, BytesMut};
use nom::number::complete::{le_u16, le_u32, le_u8};

/// Fixed part of the request body (StructureSize 33 counts one buffer byte).
const REQUEST_FIXED: usize = 32;

/// SMB2 SET_INFO Request (MS-SMB2 2.2.39).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetInfoRequest {
    /// InfoType.
    pub info_type: InfoType,
    /// FileInfoClass.
    pub file_info_class: u8,
    /// The Buffer (BufferLength bytes at BufferOffset).
    pub buffer: Bytes,
    /// AdditionalInformation (security information bits for SMB2_0_INFO_SECURITY).
    pub additional_information: u32,
    /// FileId.
    pub file_id: FileId,
}

impl SetInfoRequest {
    /// Decodes the request in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 33)?;
        let (i, _) = le_u16(b)?;
        let (i, info_type) = le_u8(i)?;
        let (i, file_info_class) = le_u8(i)?;
        let (i, buffer_length) = le_u32(i)?;
        let (i, buffer_offset) = le_u16(i)?;
        let (i, _reserved) = le_u16(i)?;
        let (i, additional_information) = le_u32(i)?;
        let (_, file_id) = FileId::parse(i)?;
        let buffer = variable_buffer(
            msg,
            buffer_offset as usize,
            buffer_length as usize,
            REQUEST_FIXED,
            "BufferOffset",
        )?;
        Ok(SetInfoRequest {
            info_type: InfoType(info_type),
            file_info_class,
            buffer,
            additional_information,
            file_id,
        })
    }

    /// Appends the body; the buffer (or one zero byte) follows the fixed part.
    pub fn encode(&self, out: &mut BytesMut) {
        let buffer = &self.buffer[..self.buffer.len().min(u32::MAX as usize)];
        out.put_u16_le(33);
        out.put_u8(self.info_type.0);
        out.put_u8(self.file_info_class);
        out.put_u32_le(buffer.len() as u32);
        out.put_u16_le((HEADER_LEN + REQUEST_FIXED) as u16);
        out.put_u16_le(0);
        out.put_u32_le(self.additional_information);
        self.file_id.encode(out);
        if buffer.is_empty() {
            out.put_u8(0);
        } else {
            out.put_slice(buffer);
        }
    }
}

/// SMB2 SET_INFO Response (MS-SMB2 2.2.40): StructureSize 2 only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetInfoResponse;

impl SetInfoResponse {
    /// Decodes the response in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        check_structure_size(body(msg)?, 2)?;
        Ok(SetInfoResponse)
    }

    /// Appends the 2-byte body.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(2);
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
        fn round_trip(f in any::<(u8, u8, u32, u64, u64)>(),
                      buffer in proptest::collection::vec(any::<u8>(), 0..80)) {
            let r = SetInfoRequest { info_type: InfoType(f.0), file_info_class: f.1,
                buffer: buffer.into(), additional_information: f.2,
                file_id: FileId { persistent: f.3, volatile: f.4 } };
            prop_assert_eq!(SetInfoRequest::decode(&frame(|o| r.encode(o))).unwrap(), r);
            prop_assert_eq!(SetInfoResponse::decode(&frame(|o| SetInfoResponse.encode(o))).unwrap(), SetInfoResponse);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..120)) {
            let m = frame(|o| o.put_slice(&b));
            let _ = SetInfoRequest::decode(&m);
            let _ = SetInfoResponse::decode(&m);
        }
    }

    /// FileEndOfFileInformation (class 20) setting the size to 0x1000.
    #[test]
    fn request_vector() {
        let body = hex::decode(concat!(
            "2100",
            "01",
            "14",
            "08000000",
            "6000",
            "0000",
            "00000000",
            "0100000000000000",
            "0200000000000000",
            "0010000000000000"
        ))
        .unwrap();
        let m = frame(|o| o.put_slice(&body));
        let r = SetInfoRequest::decode(&m).unwrap();
        assert_eq!((r.info_type, r.file_info_class), (InfoType::FILE, 20));
        assert_eq!(&r.buffer[..], &0x1000u64.to_le_bytes());
        assert_eq!(&frame(|o| r.encode(o))[..], &m[..]);
    }

    #[test]
    fn refuses_bad_structure_size_and_buffers() {
        let r = SetInfoRequest {
            buffer: Bytes::from_static(&[1; 8]),
            ..Default::default()
        };
        let good = frame(|o| r.encode(o)).to_vec();
        let mut m = good.clone();
        m[HEADER_LEN] = 32;
        assert_eq!(
            SetInfoRequest::decode(&Bytes::from(m)),
            Err(Error::Invalid("StructureSize"))
        );
        let mut m = good.clone();
        m[HEADER_LEN + 8] = 0x5F;
        assert_eq!(
            SetInfoRequest::decode(&Bytes::from(m)),
            Err(Error::Invalid("BufferOffset"))
        );
        let mut m = good;
        m[HEADER_LEN + 4..HEADER_LEN + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            SetInfoRequest::decode(&Bytes::from(m)),
            Err(Error::Truncated)
        );
        assert_eq!(
            SetInfoResponse::decode(&frame(|o| o.put_u16_le(4))),
            Err(Error::Invalid("StructureSize"))
        );
    }
}
