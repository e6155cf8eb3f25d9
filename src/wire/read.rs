//! SMB2 READ request and response (MS-SMB2 2.2.19, 2.2.20), and the Channel values shared
//! with WRITE.
//!
//! Request decoding is on the server's hot path: it only slices `msg` (no heap allocation).
use super::variable_buffer;
use super::{body, check_structure_size, FileId, Result, HEADER_LEN};
use bytes::{BufMut, Bytes, BytesMut};
use nom::number::complete::{le_u16, le_u32, le_u64, le_u8};

/// Channel of READ and WRITE (MS-SMB2 2.2.19, 2.2.21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Channel(pub u32);

impl Channel {
    /// SMB2_CHANNEL_NONE: data travels in the message.
    pub const NONE: Channel = Channel(0);
    /// SMB2_CHANNEL_RDMA_V1: data travels by RDMA, buffers described by SMB_DIRECT descriptors.
    pub const RDMA_V1: Channel = Channel(1);
    /// SMB2_CHANNEL_RDMA_V1_INVALIDATE: as RDMA_V1, and the server invalidates the memory region.
    pub const RDMA_V1_INVALIDATE: Channel = Channel(2);
    /// SMB2_CHANNEL_RDMA_TRANSFORM.
    pub const RDMA_TRANSFORM: Channel = Channel(3);
}

/// Flags of the READ request (MS-SMB2 2.2.19).
pub mod read_flags {
    /// SMB2_READFLAG_READ_UNBUFFERED.
    pub const READ_UNBUFFERED: u8 = 0x01;
    /// SMB2_READFLAG_REQUEST_COMPRESSED.
    pub const REQUEST_COMPRESSED: u8 = 0x02;
}

/// Flags of the READ response (MS-SMB2 2.2.20).
pub mod read_response_flags {
    /// SMB2_READFLAG_RESPONSE_NONE.
    pub const RESPONSE_NONE: u32 = 0x0000_0000;
    /// SMB2_READFLAG_RESPONSE_RDMA_TRANSFORM.
    pub const RESPONSE_RDMA_TRANSFORM: u32 = 0x0000_0001;
}

/// Fixed part of the request body (StructureSize 49 counts one buffer byte).
const REQUEST_FIXED: usize = 48;
/// Fixed part of the response body (StructureSize 17).
const RESPONSE_FIXED: usize = 16;
/// DataOffset of a response whose data follows the fixed part: 0x50.
pub const READ_RESPONSE_DATA_OFFSET: u8 = (HEADER_LEN + RESPONSE_FIXED) as u8;

/// SMB2 READ Request (MS-SMB2 2.2.19).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadRequest {
    /// Padding: the DataOffset the client wants in the response.
    pub padding: u8,
    /// Flags ([`read_flags`]).
    pub flags: u8,
    /// Length to read.
    pub length: u32,
    /// Offset in the file.
    pub offset: u64,
    /// FileId.
    pub file_id: FileId,
    /// MinimumCount.
    pub minimum_count: u32,
    /// Channel.
    pub channel: Channel,
    /// RemainingBytes.
    pub remaining_bytes: u32,
    /// The ReadChannelInfo buffer (SMB_DIRECT_BUFFER_DESCRIPTOR_V1 list for RDMA channels).
    pub read_channel_info: Bytes,
}

impl ReadRequest {
    /// Decodes the request in `msg` (no heap allocation).
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 49)?;
        let (i, _) = le_u16(b)?;
        let (i, padding) = le_u8(i)?;
        let (i, flags) = le_u8(i)?;
        let (i, length) = le_u32(i)?;
        let (i, offset) = le_u64(i)?;
        let (i, file_id) = FileId::parse(i)?;
        let (i, minimum_count) = le_u32(i)?;
        let (i, channel) = le_u32(i)?;
        let (i, remaining_bytes) = le_u32(i)?;
        let (i, info_offset) = le_u16(i)?;
        let (_, info_length) = le_u16(i)?;
        let read_channel_info = variable_buffer(
            msg,
            info_offset as usize,
            info_length as usize,
            REQUEST_FIXED,
            "ReadChannelInfoOffset",
        )?;
        Ok(ReadRequest {
            padding,
            flags,
            length,
            offset,
            file_id,
            minimum_count,
            channel: Channel(channel),
            remaining_bytes,
            read_channel_info,
        })
    }

    /// Appends the body; the channel info (or one zero byte) follows the fixed part.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(49);
        out.put_u8(self.padding);
        out.put_u8(self.flags);
        out.put_u32_le(self.length);
        out.put_u64_le(self.offset);
        self.file_id.encode(out);
        out.put_u32_le(self.minimum_count);
        out.put_u32_le(self.channel.0);
        out.put_u32_le(self.remaining_bytes);
        let info = &self.read_channel_info[..self.read_channel_info.len().min(u16::MAX as usize)];
        if info.is_empty() {
            out.put_u32_le(0);
            out.put_u8(0);
        } else {
            out.put_u16_le((HEADER_LEN + REQUEST_FIXED) as u16);
            out.put_u16_le(info.len() as u16);
            out.put_slice(info);
        }
    }
}

/// SMB2 READ Response (MS-SMB2 2.2.20).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadResponse {
    /// DataRemaining (bytes transferred by RDMA for RDMA channels, else 0).
    pub data_remaining: u32,
    /// Flags ([`read_response_flags`]; Reserved2 before 3.1.1).
    pub flags: u32,
    /// The data read (DataLength bytes at DataOffset).
    pub data: Bytes,
}

impl ReadResponse {
    /// Decodes the response in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 17)?;
        let (i, _) = le_u16(b)?;
        let (i, data_offset) = le_u8(i)?;
        let (i, _reserved) = le_u8(i)?;
        let (i, data_length) = le_u32(i)?;
        let (i, data_remaining) = le_u32(i)?;
        let (_, flags) = le_u32(i)?;
        let data = variable_buffer(
            msg,
            data_offset as usize,
            data_length as usize,
            RESPONSE_FIXED,
            "DataOffset",
        )?;
        Ok(ReadResponse {
            data_remaining,
            flags,
            data,
        })
    }

    /// Appends the 16-byte fixed part announcing `data_len` bytes of data at offset 0x50,
    /// without the data: the caller sends the data right after the body (vectored I/O).
    /// With `data_len` 0 it appends one padding byte instead, as [`encode`](Self::encode) does.
    pub fn encode_header_only(&self, out: &mut BytesMut, data_len: u32) {
        out.put_u16_le(17);
        out.put_u8(if data_len == 0 {
            0
        } else {
            READ_RESPONSE_DATA_OFFSET
        });
        out.put_u8(0);
        out.put_u32_le(data_len);
        out.put_u32_le(self.data_remaining);
        out.put_u32_le(self.flags);
        if data_len == 0 {
            out.put_u8(0);
        }
    }

    /// Appends the body and the data. Data longer than `u32::MAX` is a caller bug and is cut.
    pub fn encode(&self, out: &mut BytesMut) {
        let len = self.data.len().min(u32::MAX as usize);
        self.encode_header_only(out, len as u32);
        out.put_slice(&self.data[..len]);
    }
}

#[cfg(test)]
mod tests {
    use super::super::Error;
    use super::*;
    use crate::wire::test_frame as frame;
    use proptest::prelude::*;

    prop_compose! {
        fn request()(f in any::<(u8, u8, u32, u64, u64, u64, u32, u32, u32)>(),
                     info in proptest::collection::vec(any::<u8>(), 0..48)) -> ReadRequest {
            ReadRequest { padding: f.0, flags: f.1, length: f.2, offset: f.3,
                file_id: FileId { persistent: f.4, volatile: f.5 }, minimum_count: f.6,
                channel: Channel(f.7), remaining_bytes: f.8, read_channel_info: info.into() }
        }
    }

    proptest! {
        #[test]
        fn request_round_trip(r in request()) {
            prop_assert_eq!(ReadRequest::decode(&frame(|o| r.encode(o))).unwrap(), r);
        }

        #[test]
        fn response_round_trip(data_remaining: u32, flags: u32,
                               data in proptest::collection::vec(any::<u8>(), 0..100)) {
            let r = ReadResponse { data_remaining, flags, data: data.into() };
            let m = frame(|o| r.encode(o));
            prop_assert_eq!(ReadResponse::decode(&m).unwrap(), r.clone());
            let mut h = BytesMut::new();
            h.put_bytes(0, HEADER_LEN);
            r.encode_header_only(&mut h, r.data.len() as u32);
            if !r.data.is_empty() {
                h.put_slice(&r.data);
            }
            prop_assert_eq!(&h[..], &m[..]);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..120)) {
            let m = frame(|o| o.put_slice(&b));
            let _ = ReadRequest::decode(&m);
            let _ = ReadResponse::decode(&m);
            let _ = ReadRequest::decode(&Bytes::from(b));
        }
    }

    /// A 64 KiB read at offset 0 as a Windows client sends it (Padding 0x50, one buffer byte).
    #[test]
    fn request_vector() {
        let body = hex::decode(concat!(
            "3100",
            "50",
            "00",
            "00000100",
            "0000000000000000",
            "0100000000000000",
            "0200000000000000",
            "00000000",
            "00000000",
            "00000000",
            "0000",
            "0000",
            "00"
        ))
        .unwrap();
        let m = frame(|o| o.put_slice(&body));
        let r = ReadRequest::decode(&m).unwrap();
        assert_eq!(r.padding, 0x50);
        assert_eq!(r.length, 0x10000);
        assert_eq!(r.channel, Channel::NONE);
        assert_eq!(&frame(|o| r.encode(o))[..], &m[..]);
    }

    #[test]
    fn refuses_bad_structure_size_and_buffers() {
        let r = ReadRequest {
            read_channel_info: Bytes::from_static(&[1; 16]),
            ..Default::default()
        };
        let good = frame(|o| r.encode(o)).to_vec();
        let mut m = good.clone();
        m[HEADER_LEN] = 48;
        assert_eq!(
            ReadRequest::decode(&Bytes::from(m)),
            Err(Error::Invalid("StructureSize"))
        );
        let mut m = good.clone();
        m[HEADER_LEN + 44] = 0x40; // ReadChannelInfoOffset at the header
        assert_eq!(
            ReadRequest::decode(&Bytes::from(m)),
            Err(Error::Invalid("ReadChannelInfoOffset"))
        );
        let mut m = good.clone();
        m[HEADER_LEN + 46] = 17; // ReadChannelInfoLength past the end
        assert_eq!(ReadRequest::decode(&Bytes::from(m)), Err(Error::Truncated));
        assert_eq!(
            ReadRequest::decode(&Bytes::from(good[..100].to_vec())),
            Err(Error::Truncated)
        );
        // Response DataLength past the end and DataOffset inside the fixed part.
        let resp = ReadResponse {
            data: Bytes::from_static(b"abcd"),
            ..Default::default()
        };
        let good = frame(|o| resp.encode(o)).to_vec();
        let mut m = good.clone();
        m[HEADER_LEN + 4] = 5;
        assert_eq!(ReadResponse::decode(&Bytes::from(m)), Err(Error::Truncated));
        let mut m = good.clone();
        m[HEADER_LEN + 2] = 0x48;
        assert_eq!(
            ReadResponse::decode(&Bytes::from(m)),
            Err(Error::Invalid("DataOffset"))
        );
        let mut m = good;
        m[HEADER_LEN + 4..HEADER_LEN + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(ReadResponse::decode(&Bytes::from(m)), Err(Error::Truncated));
    }
}
