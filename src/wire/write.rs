//! SMB2 WRITE request and response (MS-SMB2 2.2.21, 2.2.22).
//!
//! Request decoding is on the server's hot path: the data is a zero-copy slice of the
//! message and no heap allocation happens.
use super::read::Channel;
use super::variable_buffer;
use super::{body, check_structure_size, FileId, Result, HEADER_LEN};
use bytes::{BufMut, Bytes, BytesMut};
use nom::number::complete::{le_u16, le_u32, le_u64};

/// Flags of the WRITE request (MS-SMB2 2.2.21).
pub mod write_flags {
    /// SMB2_WRITEFLAG_WRITE_THROUGH.
    pub const WRITE_THROUGH: u32 = 0x0000_0001;
    /// SMB2_WRITEFLAG_WRITE_UNBUFFERED.
    pub const WRITE_UNBUFFERED: u32 = 0x0000_0002;
}

/// Fixed part of the request body (StructureSize 49 counts one buffer byte).
const REQUEST_FIXED: usize = 48;
/// DataOffset of a request whose data follows the fixed part: 0x70.
pub const WRITE_REQUEST_DATA_OFFSET: u16 = (HEADER_LEN + REQUEST_FIXED) as u16;

/// SMB2 WRITE Request (MS-SMB2 2.2.21).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriteRequest {
    /// Offset in the file.
    pub offset: u64,
    /// FileId.
    pub file_id: FileId,
    /// Channel.
    pub channel: Channel,
    /// RemainingBytes (the length to transfer by RDMA for RDMA channels).
    pub remaining_bytes: u32,
    /// Flags ([`write_flags`]).
    pub flags: u32,
    /// The data (Length bytes at DataOffset), a slice of the message.
    pub data: Bytes,
    /// The WriteChannelInfo buffer (SMB_DIRECT_BUFFER_DESCRIPTOR_V1 list for RDMA channels).
    pub write_channel_info: Bytes,
}

impl WriteRequest {
    /// Decodes the request in `msg` (no heap allocation).
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 49)?;
        let (i, _) = le_u16(b)?;
        let (i, data_offset) = le_u16(i)?;
        let (i, length) = le_u32(i)?;
        let (i, offset) = le_u64(i)?;
        let (i, file_id) = FileId::parse(i)?;
        let (i, channel) = le_u32(i)?;
        let (i, remaining_bytes) = le_u32(i)?;
        let (i, info_offset) = le_u16(i)?;
        let (i, info_length) = le_u16(i)?;
        let (_, flags) = le_u32(i)?;
        let data = variable_buffer(
            msg,
            data_offset as usize,
            length as usize,
            REQUEST_FIXED,
            "DataOffset",
        )?;
        let write_channel_info = variable_buffer(
            msg,
            info_offset as usize,
            info_length as usize,
            REQUEST_FIXED,
            "WriteChannelInfoOffset",
        )?;
        Ok(WriteRequest {
            offset,
            file_id,
            channel: Channel(channel),
            remaining_bytes,
            flags,
            data,
            write_channel_info,
        })
    }

    /// Appends the body: fixed part, the data at 0x70, then the channel info.
    /// Data longer than `u32::MAX` or channel info longer than `u16::MAX` is cut.
    pub fn encode(&self, out: &mut BytesMut) {
        let data = &self.data[..self.data.len().min(u32::MAX as usize)];
        let info = &self.write_channel_info[..self.write_channel_info.len().min(u16::MAX as usize)];
        let info_offset = WRITE_REQUEST_DATA_OFFSET as usize + data.len();
        out.put_u16_le(49);
        out.put_u16_le(WRITE_REQUEST_DATA_OFFSET);
        out.put_u32_le(data.len() as u32);
        out.put_u64_le(self.offset);
        self.file_id.encode(out);
        out.put_u32_le(self.channel.0);
        out.put_u32_le(self.remaining_bytes);
        if info.is_empty() || info_offset > u16::MAX as usize {
            out.put_u32_le(0);
        } else {
            out.put_u16_le(info_offset as u16);
            out.put_u16_le(info.len() as u16);
        }
        out.put_u32_le(self.flags);
        out.put_slice(data);
        if info_offset <= u16::MAX as usize {
            out.put_slice(info);
        }
        if data.is_empty() && info.is_empty() {
            out.put_u8(0);
        }
    }
}

/// SMB2 WRITE Response (MS-SMB2 2.2.22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteResponse {
    /// Count of bytes written.
    pub count: u32,
    /// Remaining (reserved, kept).
    pub remaining: u32,
    /// WriteChannelInfoOffset (unused, kept).
    pub write_channel_info_offset: u16,
    /// WriteChannelInfoLength (unused, kept).
    pub write_channel_info_length: u16,
}

impl WriteResponse {
    /// Decodes the response in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 17)?;
        let (i, _) = le_u16(b)?;
        let (i, _reserved) = le_u16(i)?;
        let (i, count) = le_u32(i)?;
        let (i, remaining) = le_u32(i)?;
        let (i, write_channel_info_offset) = le_u16(i)?;
        let (_, write_channel_info_length) = le_u16(i)?;
        Ok(WriteResponse {
            count,
            remaining,
            write_channel_info_offset,
            write_channel_info_length,
        })
    }

    /// Appends the 16-byte body.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(17);
        out.put_u16_le(0);
        out.put_u32_le(self.count);
        out.put_u32_le(self.remaining);
        out.put_u16_le(self.write_channel_info_offset);
        out.put_u16_le(self.write_channel_info_length);
    }
}

#[cfg(test)]
mod tests {
    use super::super::Error;
    use super::*;
    use crate::wire::test_frame as frame;
    use proptest::prelude::*;

    prop_compose! {
        fn request()(f in any::<(u64, u64, u64, u32, u32, u32)>(),
                     data in proptest::collection::vec(any::<u8>(), 0..200),
                     info in proptest::collection::vec(any::<u8>(), 0..48)) -> WriteRequest {
            WriteRequest { offset: f.0, file_id: FileId { persistent: f.1, volatile: f.2 },
                channel: Channel(f.3), remaining_bytes: f.4, flags: f.5, data: data.into(),
                write_channel_info: info.into() }
        }
    }

    proptest! {
        #[test]
        fn request_round_trip(r in request()) {
            prop_assert_eq!(WriteRequest::decode(&frame(|o| r.encode(o))).unwrap(), r);
        }

        #[test]
        fn response_round_trip(f: (u32, u32, u16, u16)) {
            let r = WriteResponse { count: f.0, remaining: f.1, write_channel_info_offset: f.2,
                write_channel_info_length: f.3 };
            prop_assert_eq!(WriteResponse::decode(&frame(|o| r.encode(o))).unwrap(), r);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..120)) {
            let m = frame(|o| o.put_slice(&b));
            let _ = WriteRequest::decode(&m);
            let _ = WriteResponse::decode(&m);
            let _ = WriteRequest::decode(&Bytes::from(b));
        }
    }

    /// A 4-byte write at offset 0x1000, as a Windows client lays it out.
    #[test]
    fn request_vector_and_zero_copy() {
        let body = hex::decode(concat!(
            "3100",
            "7000",
            "04000000",
            "0010000000000000",
            "0100000000000000",
            "0200000000000000",
            "00000000",
            "00000000",
            "0000",
            "0000",
            "01000000",
            "deadbeef"
        ))
        .unwrap();
        let m = frame(|o| o.put_slice(&body));
        let r = WriteRequest::decode(&m).unwrap();
        assert_eq!(r.offset, 0x1000);
        assert_eq!(r.flags, write_flags::WRITE_THROUGH);
        assert_eq!(&r.data[..], &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(r.data.as_ptr(), m[0x70..].as_ptr());
        assert_eq!(&frame(|o| r.encode(o))[..], &m[..]);
    }

    #[test]
    fn refuses_bad_structure_size_and_buffers() {
        let r = WriteRequest {
            data: Bytes::from_static(&[7; 8]),
            write_channel_info: Bytes::from_static(&[1; 16]),
            ..Default::default()
        };
        let good = frame(|o| r.encode(o)).to_vec();
        let mut m = good.clone();
        m[HEADER_LEN] = 48;
        assert_eq!(
            WriteRequest::decode(&Bytes::from(m)),
            Err(Error::Invalid("StructureSize"))
        );
        let mut m = good.clone();
        m[HEADER_LEN + 2] = 0x6F; // DataOffset inside the fixed part
        assert_eq!(
            WriteRequest::decode(&Bytes::from(m)),
            Err(Error::Invalid("DataOffset"))
        );
        let mut m = good.clone();
        m[HEADER_LEN + 4..HEADER_LEN + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(WriteRequest::decode(&Bytes::from(m)), Err(Error::Truncated));
        let mut m = good.clone();
        m[HEADER_LEN + 40] = 0; // WriteChannelInfoOffset 0 with a length
        m[HEADER_LEN + 41] = 0;
        assert_eq!(
            WriteRequest::decode(&Bytes::from(m)),
            Err(Error::Invalid("WriteChannelInfoOffset"))
        );
        let mut m = good;
        m[HEADER_LEN + 42] = 17;
        assert_eq!(WriteRequest::decode(&Bytes::from(m)), Err(Error::Truncated));
        let m = frame(|o| o.put_slice(&[17, 0, 0, 0]));
        assert_eq!(WriteResponse::decode(&m), Err(Error::Truncated));
    }
}
