//! SMB Direct packets (MS-SMBD 2.2): the negotiate request (2.2.1) and response (2.2.2), the
//! data transfer message (2.2.3), and the SMB_DIRECT_BUFFER_DESCRIPTOR_V1 lists (MS-SMBD
//! 2.2.3.1, carried in MS-SMB2 READ/WRITE channel info, MS-SMB2 2.2.19 / 2.2.21).
//!
//! These are not SMB2 messages: each is the whole payload of one RDMA Send, little-endian,
//! without the 64-byte SMB2 header. Decoders take the received bytes and never panic; every
//! offset and length is checked against the packet before it is used.
use super::{Bytes, BytesMut, Error, IResult, Result};
use crate::transport::BufferDescriptor;
use nom::number::complete::{le_u16, le_u32, le_u64};

/// The only SMB Direct protocol version (MS-SMBD 2.2.1: 0x0100).
pub const SMBD_VERSION_1: u16 = 0x0100;
/// Size of a negotiate request (MS-SMBD 2.2.1).
pub const NEGOTIATE_REQUEST_LEN: usize = 20;
/// Size of a negotiate response (MS-SMBD 2.2.2).
pub const NEGOTIATE_RESPONSE_LEN: usize = 32;
/// Size of a data transfer message header without the Padding field (a message without data).
pub const DATA_HEADER_MIN: usize = 20;
/// DataOffset of every data-bearing message this side sends: the 20-byte header plus the
/// 4-byte Padding, 8-byte aligned as MS-SMBD 2.2.3 requires.
pub const DATA_OFFSET: usize = 24;
/// SMB_DIRECT_RESPONSE_REQUESTED (MS-SMBD 2.2.3 Flags): the peer must answer promptly.
pub const SMB_DIRECT_RESPONSE_REQUESTED: u16 = 0x0001;
/// Size of one SMB_DIRECT_BUFFER_DESCRIPTOR_V1.
pub const BUFFER_DESCRIPTOR_LEN: usize = 16;

/// SMB Direct negotiate request (MS-SMBD 2.2.1), the first message a client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NegotiateRequest {
    /// MinVersion.
    pub min_version: u16,
    /// MaxVersion.
    pub max_version: u16,
    /// CreditsRequested: how many send credits the client would like.
    pub credits_requested: u16,
    /// PreferredSendSize: the largest message the client would like to send.
    pub preferred_send_size: u32,
    /// MaxReceiveSize: the largest message the client can receive.
    pub max_receive_size: u32,
    /// MaxFragmentedSize: the largest reassembled upper-layer message the client accepts.
    pub max_fragmented_size: u32,
}

impl NegotiateRequest {
    /// Decodes a negotiate request; bytes after the 20 are ignored (MS-SMBD 3.1.5.7 only
    /// requires at least 20).
    pub fn decode(b: &[u8]) -> Result<Self> {
        fn parse(i: &[u8]) -> IResult<'_, NegotiateRequest> {
            let (i, min_version) = le_u16(i)?;
            let (i, max_version) = le_u16(i)?;
            let (i, _reserved) = le_u16(i)?;
            let (i, credits_requested) = le_u16(i)?;
            let (i, preferred_send_size) = le_u32(i)?;
            let (i, max_receive_size) = le_u32(i)?;
            let (i, max_fragmented_size) = le_u32(i)?;
            Ok((
                i,
                NegotiateRequest {
                    min_version,
                    max_version,
                    credits_requested,
                    preferred_send_size,
                    max_receive_size,
                    max_fragmented_size,
                },
            ))
        }
        Ok(parse(b)?.1)
    }

    /// Appends the 20-byte request.
    pub fn encode(&self, out: &mut BytesMut) {
        out.extend_from_slice(&self.min_version.to_le_bytes());
        out.extend_from_slice(&self.max_version.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.credits_requested.to_le_bytes());
        out.extend_from_slice(&self.preferred_send_size.to_le_bytes());
        out.extend_from_slice(&self.max_receive_size.to_le_bytes());
        out.extend_from_slice(&self.max_fragmented_size.to_le_bytes());
    }
}

/// SMB Direct negotiate response (MS-SMBD 2.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NegotiateResponse {
    /// MinVersion the server supports.
    pub min_version: u16,
    /// MaxVersion the server supports.
    pub max_version: u16,
    /// NegotiatedVersion (0 on failure).
    pub negotiated_version: u16,
    /// CreditsRequested: the server's send credit target.
    pub credits_requested: u16,
    /// CreditsGranted: receives the server has posted for the client.
    pub credits_granted: u16,
    /// Status (an NTSTATUS value).
    pub status: u32,
    /// MaxReadWriteSize: the largest RDMA Read/Write the server performs for one request.
    pub max_read_write_size: u32,
    /// PreferredSendSize: the largest message the server sends.
    pub preferred_send_size: u32,
    /// MaxReceiveSize: the largest message the server accepts.
    pub max_receive_size: u32,
    /// MaxFragmentedSize: the largest reassembled message the server accepts.
    pub max_fragmented_size: u32,
}

impl NegotiateResponse {
    /// Decodes a negotiate response (the client side; used by tests and the verbs double).
    pub fn decode(b: &[u8]) -> Result<Self> {
        fn parse(i: &[u8]) -> IResult<'_, NegotiateResponse> {
            let (i, min_version) = le_u16(i)?;
            let (i, max_version) = le_u16(i)?;
            let (i, negotiated_version) = le_u16(i)?;
            let (i, _reserved) = le_u16(i)?;
            let (i, credits_requested) = le_u16(i)?;
            let (i, credits_granted) = le_u16(i)?;
            let (i, status) = le_u32(i)?;
            let (i, max_read_write_size) = le_u32(i)?;
            let (i, preferred_send_size) = le_u32(i)?;
            let (i, max_receive_size) = le_u32(i)?;
            let (i, max_fragmented_size) = le_u32(i)?;
            Ok((
                i,
                NegotiateResponse {
                    min_version,
                    max_version,
                    negotiated_version,
                    credits_requested,
                    credits_granted,
                    status,
                    max_read_write_size,
                    preferred_send_size,
                    max_receive_size,
                    max_fragmented_size,
                },
            ))
        }
        Ok(parse(b)?.1)
    }

    /// Appends the 32-byte response.
    pub fn encode(&self, out: &mut BytesMut) {
        out.extend_from_slice(&self.min_version.to_le_bytes());
        out.extend_from_slice(&self.max_version.to_le_bytes());
        out.extend_from_slice(&self.negotiated_version.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.credits_requested.to_le_bytes());
        out.extend_from_slice(&self.credits_granted.to_le_bytes());
        out.extend_from_slice(&self.status.to_le_bytes());
        out.extend_from_slice(&self.max_read_write_size.to_le_bytes());
        out.extend_from_slice(&self.preferred_send_size.to_le_bytes());
        out.extend_from_slice(&self.max_receive_size.to_le_bytes());
        out.extend_from_slice(&self.max_fragmented_size.to_le_bytes());
    }
}

/// The fixed fields of an SMB Direct data transfer message (MS-SMBD 2.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataHeader {
    /// CreditsRequested: the sender's send credit target.
    pub credits_requested: u16,
    /// CreditsGranted: receives the sender has posted since it last granted.
    pub credits_granted: u16,
    /// Flags ([`SMB_DIRECT_RESPONSE_REQUESTED`]).
    pub flags: u16,
    /// RemainingDataLength: bytes of the upper-layer message still to come in later messages.
    pub remaining_data_length: u32,
}

/// A decoded data transfer message: its header and its data (a slice of the packet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataTransfer {
    /// The fixed fields.
    pub header: DataHeader,
    /// The data (empty for a credit grant or keep-alive).
    pub data: Bytes,
}

impl DataHeader {
    /// Appends the header of a message carrying `data_len` bytes: 20 bytes when empty,
    /// else 24 (with Padding), DataOffset [`DATA_OFFSET`].
    pub fn encode(&self, data_len: u32, out: &mut BytesMut) {
        out.extend_from_slice(&self.credits_requested.to_le_bytes());
        out.extend_from_slice(&self.credits_granted.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.remaining_data_length.to_le_bytes());
        let offset = if data_len == 0 { 0 } else { DATA_OFFSET as u32 };
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&data_len.to_le_bytes());
        if data_len != 0 {
            out.extend_from_slice(&[0; 4]);
        }
    }
}

impl DataTransfer {
    /// Decodes a received data transfer message (MS-SMBD 3.1.5.8 checks): at least 20
    /// bytes; when DataLength is not zero, DataOffset is 8-byte aligned, not inside the
    /// 20-byte header, and the data lies inside the packet.
    pub fn decode(packet: &Bytes) -> Result<Self> {
        fn parse(i: &[u8]) -> IResult<'_, (DataHeader, u32, u32)> {
            let (i, credits_requested) = le_u16(i)?;
            let (i, credits_granted) = le_u16(i)?;
            let (i, flags) = le_u16(i)?;
            let (i, _reserved) = le_u16(i)?;
            let (i, remaining_data_length) = le_u32(i)?;
            let (i, data_offset) = le_u32(i)?;
            let (i, data_length) = le_u32(i)?;
            let h = DataHeader {
                credits_requested,
                credits_granted,
                flags,
                remaining_data_length,
            };
            Ok((i, (h, data_offset, data_length)))
        }
        let (header, offset, len) = parse(packet)?.1;
        if len == 0 {
            return Ok(DataTransfer {
                header,
                data: Bytes::new(),
            });
        }
        let (offset, len) = (offset as usize, len as usize);
        if offset < DATA_HEADER_MIN || !offset.is_multiple_of(8) {
            return Err(Error::Invalid("DataOffset"));
        }
        let end = offset
            .checked_add(len)
            .ok_or(Error::Invalid("DataLength"))?;
        if end > packet.len() {
            return Err(Error::Truncated);
        }
        Ok(DataTransfer {
            header,
            data: packet.slice(offset..end),
        })
    }

    /// Appends the whole message (header, padding, data).
    pub fn encode(&self, out: &mut BytesMut) {
        self.header.encode(self.data.len() as u32, out);
        out.extend_from_slice(&self.data);
    }
}

/// Decodes a list of SMB_DIRECT_BUFFER_DESCRIPTOR_V1 (MS-SMBD 2.2.3.1) from a READ or
/// WRITE channel-info buffer. The buffer must be a non-empty whole number of 16-byte
/// descriptors, at most `max_count` of them.
pub fn decode_descriptors(b: &[u8], max_count: usize) -> Result<Vec<BufferDescriptor>> {
    if b.is_empty() || !b.len().is_multiple_of(BUFFER_DESCRIPTOR_LEN) {
        return Err(Error::Invalid("ChannelInfoLength"));
    }
    let n = b.len() / BUFFER_DESCRIPTOR_LEN;
    if n > max_count {
        return Err(Error::Invalid("descriptor count"));
    }
    let mut out = Vec::with_capacity(n);
    let mut i = b;
    for _ in 0..n {
        let (r, offset) = le_u64::<_, nom::error::Error<&[u8]>>(i)?;
        let (r, token) = le_u32::<_, nom::error::Error<&[u8]>>(r)?;
        let (r, length) = le_u32::<_, nom::error::Error<&[u8]>>(r)?;
        i = r;
        out.push(BufferDescriptor {
            offset,
            token,
            length,
        });
    }
    Ok(out)
}

/// Appends descriptors as SMB_DIRECT_BUFFER_DESCRIPTOR_V1 entries.
pub fn encode_descriptors(d: &[BufferDescriptor], out: &mut BytesMut) {
    for x in d {
        out.extend_from_slice(&x.offset.to_le_bytes());
        out.extend_from_slice(&x.token.to_le_bytes());
        out.extend_from_slice(&x.length.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn negotiate_request_as_the_linux_client_sends_it() {
        // min 0x0100, max 0x0100, credits 255, preferred send 1364, max receive 1364,
        // max fragmented 173910 (0x2A756): fs/smb/client/smbdirect.c defaults.
        let wire = hex::decode("000100010000ff00540500005405000056a70200").unwrap();
        let r = NegotiateRequest::decode(&wire).unwrap();
        assert_eq!(
            r,
            NegotiateRequest {
                min_version: 0x0100,
                max_version: 0x0100,
                credits_requested: 255,
                preferred_send_size: 1364,
                max_receive_size: 1364,
                max_fragmented_size: 173910,
            }
        );
        let mut out = BytesMut::new();
        r.encode(&mut out);
        assert_eq!(&out[..], &wire[..]);
        assert_eq!(NegotiateRequest::decode(&wire[..19]), Err(Error::Truncated));
    }

    #[test]
    fn negotiate_response_layout() {
        let r = NegotiateResponse {
            min_version: 0x0100,
            max_version: 0x0100,
            negotiated_version: 0x0100,
            credits_requested: 255,
            credits_granted: 255,
            status: 0,
            max_read_write_size: 1 << 20,
            preferred_send_size: 1364,
            max_receive_size: 8192,
            max_fragmented_size: 1 << 20,
        };
        let mut out = BytesMut::new();
        r.encode(&mut out);
        assert_eq!(out.len(), NEGOTIATE_RESPONSE_LEN);
        assert_eq!(
            hex::encode(&out),
            "0001000100010000ff00ff0000000000000010005405000000200000".to_string() + "00001000"
        );
        assert_eq!(NegotiateResponse::decode(&out).unwrap(), r);
    }

    #[test]
    fn data_transfer_layouts() {
        // A credit grant: 20 bytes, DataOffset 0.
        let h = DataHeader {
            credits_requested: 255,
            credits_granted: 10,
            flags: SMB_DIRECT_RESPONSE_REQUESTED,
            remaining_data_length: 0,
        };
        let mut out = BytesMut::new();
        h.encode(0, &mut out);
        assert_eq!(
            hex::encode(&out),
            "ff000a0001000000000000000000000000000000"
        );
        let d = DataTransfer::decode(&out.freeze()).unwrap();
        assert_eq!(d.header, h);
        assert!(d.data.is_empty());
        // With data: DataOffset 24, 4 bytes of padding.
        let m = DataTransfer {
            header: DataHeader {
                remaining_data_length: 100,
                ..h
            },
            data: Bytes::from_static(b"\xfeSMB"),
        };
        let mut out = BytesMut::new();
        m.encode(&mut out);
        assert_eq!(out.len(), 28);
        assert_eq!(&out[12..16], &24u32.to_le_bytes());
        assert_eq!(DataTransfer::decode(&out.freeze()).unwrap(), m);
    }

    #[test]
    fn data_transfer_rejects_bad_offsets() {
        let mk = |offset: u32, len: u32, total: usize| {
            let mut v = vec![0u8; total.max(20)];
            v[12..16].copy_from_slice(&offset.to_le_bytes());
            v[16..20].copy_from_slice(&len.to_le_bytes());
            DataTransfer::decode(&Bytes::from(v))
        };
        assert_eq!(mk(24, 8, 32).unwrap().data.len(), 8);
        assert_eq!(mk(24, 9, 32), Err(Error::Truncated));
        assert_eq!(mk(16, 4, 32), Err(Error::Invalid("DataOffset")));
        assert_eq!(mk(28, 4, 32), Err(Error::Invalid("DataOffset")));
        assert_eq!(mk(u32::MAX - 7, u32::MAX, 32), Err(Error::Truncated));
        assert_eq!(mk(0, 0, 20).unwrap().data.len(), 0);
        assert_eq!(
            DataTransfer::decode(&Bytes::from(vec![0u8; 19])),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn descriptor_lists() {
        let d = [
            BufferDescriptor {
                offset: 0x1122_3344_5566_7788,
                token: 0xAABB_CCDD,
                length: 8192,
            },
            BufferDescriptor {
                offset: 1,
                token: 2,
                length: 3,
            },
        ];
        let mut out = BytesMut::new();
        encode_descriptors(&d, &mut out);
        assert_eq!(
            hex::encode(&out[..16]),
            "88776655443322 11ddccbbaa00200000".replace(' ', "")
        );
        assert_eq!(decode_descriptors(&out, 16).unwrap(), d);
        assert!(decode_descriptors(&out, 1).is_err());
        assert!(decode_descriptors(&out[..17], 16).is_err());
        assert!(decode_descriptors(&[], 16).is_err());
    }

    fn arb_desc() -> impl Strategy<Value = BufferDescriptor> {
        (any::<u64>(), any::<u32>(), any::<u32>()).prop_map(|(offset, token, length)| {
            BufferDescriptor {
                offset,
                token,
                length,
            }
        })
    }

    proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = NegotiateRequest::decode(&b);
            let _ = NegotiateResponse::decode(&b);
            let _ = DataTransfer::decode(&Bytes::from(b.clone()));
            let _ = decode_descriptors(&b, 4);
        }

        #[test]
        fn round_trips(cr in any::<u16>(), cg in any::<u16>(), fl in any::<u16>(),
                       rem in any::<u32>(), data in proptest::collection::vec(any::<u8>(), 0..64),
                       descs in proptest::collection::vec(arb_desc(), 1..8),
                       a in any::<u32>(), b in any::<u32>(), c in any::<u32>()) {
            let m = DataTransfer {
                header: DataHeader { credits_requested: cr, credits_granted: cg, flags: fl,
                                     remaining_data_length: rem },
                data: Bytes::from(data),
            };
            let mut out = BytesMut::new();
            m.encode(&mut out);
            prop_assert_eq!(DataTransfer::decode(&out.freeze()).unwrap(), m);
            let mut out = BytesMut::new();
            encode_descriptors(&descs, &mut out);
            prop_assert_eq!(decode_descriptors(&out, 8).unwrap(), descs);
            let q = NegotiateRequest { min_version: cr, max_version: cg, credits_requested: fl,
                                       preferred_send_size: a, max_receive_size: b,
                                       max_fragmented_size: c };
            let mut out = BytesMut::new();
            q.encode(&mut out);
            prop_assert_eq!(NegotiateRequest::decode(&out).unwrap(), q);
            let r = NegotiateResponse { min_version: cr, max_version: cg, negotiated_version: fl,
                credits_requested: cg, credits_granted: cr, status: rem, max_read_write_size: a,
                preferred_send_size: b, max_receive_size: c, max_fragmented_size: a ^ b };
            let mut out = BytesMut::new();
            r.encode(&mut out);
            prop_assert_eq!(NegotiateResponse::decode(&out).unwrap(), r);
        }
    }
}
