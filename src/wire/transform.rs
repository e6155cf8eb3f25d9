//! SMB2 TRANSFORM_HEADER for encrypted messages (MS-SMB2 2.2.41) and
//! COMPRESSION_TRANSFORM_HEADER for compressed ones (2.2.42, unchained 2.2.42.1, chained
//! 2.2.42.2 with its payload headers 2.2.42.2.1). Decryption and decompression are elsewhere:
//! this module only frames the bytes.
use super::{Bytes, BytesMut, Error, Result};
use bytes::BufMut;

/// ProtocolId of a TRANSFORM_HEADER: 0xFD 'S' 'M' 'B'.
pub const TRANSFORM_MAGIC: [u8; 4] = [0xFD, b'S', b'M', b'B'];
/// ProtocolId of a COMPRESSION_TRANSFORM_HEADER: 0xFC 'S' 'M' 'B'.
pub const COMPRESSION_MAGIC: [u8; 4] = [0xFC, b'S', b'M', b'B'];
/// Length of the TRANSFORM_HEADER.
pub const TRANSFORM_HEADER_LEN: usize = 52;
/// Offset of Nonce: the associated data of the AEAD is the header from here to its end.
pub const TRANSFORM_AAD_OFFSET: usize = 20;
/// Flags (3.1.1) value `Encrypted`; in 3.0/3.0.2 the same field is EncryptionAlgorithm and
/// SMB2_ENCRYPTION_AES128_CCM has the same value.
pub const SMB2_TRANSFORM_FLAG_ENCRYPTED: u16 = 0x0001;

/// Compression header Flags SMB2_COMPRESSION_FLAG_NONE (unchained form).
pub const SMB2_COMPRESSION_FLAG_NONE: u16 = 0x0000;
/// Compression header Flags SMB2_COMPRESSION_FLAG_CHAINED (chained form).
pub const SMB2_COMPRESSION_FLAG_CHAINED: u16 = 0x0001;
/// Most payload headers accepted in one chained message (Windows sends at most a handful).
pub const MAX_CHAINED_PAYLOADS: usize = 64;

/// SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransformHeader {
    /// Signature: the AEAD tag.
    pub signature: [u8; 16],
    /// Nonce (11 bytes used by CCM, 12 by GCM, the rest zero).
    pub nonce: [u8; 16],
    /// OriginalMessageSize: length of the encrypted SMB2 message.
    pub original_message_size: u32,
    /// Flags (3.1.1) / EncryptionAlgorithm (3.0, 3.0.2).
    pub flags: u16,
    /// SessionId.
    pub session_id: u64,
}

impl TransformHeader {
    /// Decodes the 52-byte header at the start of `b`.
    pub fn decode(b: &[u8]) -> Result<TransformHeader> {
        let h = b.get(..TRANSFORM_HEADER_LEN).ok_or(Error::Truncated)?;
        if h[..4] != TRANSFORM_MAGIC {
            return Err(Error::Invalid("ProtocolId"));
        }
        let mut signature = [0u8; 16];
        signature.copy_from_slice(&h[4..20]);
        let mut nonce = [0u8; 16];
        nonce.copy_from_slice(&h[20..36]);
        let mut sid = [0u8; 8];
        sid.copy_from_slice(&h[44..52]);
        Ok(TransformHeader {
            signature,
            nonce,
            original_message_size: u32::from_le_bytes([h[36], h[37], h[38], h[39]]),
            flags: u16::from_le_bytes([h[42], h[43]]),
            session_id: u64::from_le_bytes(sid),
        })
    }

    /// Splits an encrypted frame into its header and the ciphertext after it, checking that
    /// the ciphertext is OriginalMessageSize bytes long.
    pub fn decode_frame(frame: &Bytes) -> Result<(TransformHeader, Bytes)> {
        let h = TransformHeader::decode(frame)?;
        let payload = frame.slice(TRANSFORM_HEADER_LEN..);
        if payload.len() != h.original_message_size as usize {
            return Err(Error::Invalid("OriginalMessageSize"));
        }
        Ok((h, payload))
    }

    /// Appends the 52-byte header.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_slice(&TRANSFORM_MAGIC);
        out.put_slice(&self.signature);
        out.put_slice(&self.nonce);
        out.put_u32_le(self.original_message_size);
        out.put_u16_le(0);
        out.put_u16_le(self.flags);
        out.put_u64_le(self.session_id);
    }

    /// The AEAD associated data: the encoded header from Nonce to the end (32 bytes).
    pub fn associated_data(&self) -> [u8; TRANSFORM_HEADER_LEN - TRANSFORM_AAD_OFFSET] {
        let mut out = BytesMut::with_capacity(TRANSFORM_HEADER_LEN);
        self.encode(&mut out);
        let mut aad = [0u8; TRANSFORM_HEADER_LEN - TRANSFORM_AAD_OFFSET];
        aad.copy_from_slice(&out[TRANSFORM_AAD_OFFSET..]);
        aad
    }
}

/// One SMB2_COMPRESSION_CHAINED_PAYLOAD_HEADER and its payload (2.2.42.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressionPayload {
    /// CompressionAlgorithm (see `negotiate_contexts::COMPRESSION_*`).
    pub compression_algorithm: u16,
    /// Flags (CHAINED on the first payload; later ones are not checked, as Windows 11 leaves
    /// stray bits there).
    pub flags: u16,
    /// OriginalPayloadSize, present for LZNT1, LZ77, LZ77+Huffman and LZ4.
    pub original_payload_size: Option<u32>,
    /// The payload (compressed data, a Pattern_V1 payload, or raw data for NONE).
    pub payload: Bytes,
}

/// True when a chained payload of `algorithm` carries OriginalPayloadSize.
pub fn has_original_payload_size(algorithm: u16) -> bool {
    matches!(algorithm, 1 | 2 | 3 | 5)
}

/// The two forms of a COMPRESSION_TRANSFORM_HEADER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompressedData {
    /// SMB2_COMPRESSION_TRANSFORM_HEADER_UNCHAINED (2.2.42.1).
    Unchained {
        /// CompressionAlgorithm.
        compression_algorithm: u16,
        /// Flags (SMB2_COMPRESSION_FLAG_NONE on the wire; kept for round trips).
        flags: u16,
        /// Offset: length of the uncompressed prefix of `data`.
        offset: u32,
        /// Everything after the 16-byte header: `offset` bytes sent uncompressed, then the
        /// compressed segment.
        data: Bytes,
    },
    /// SMB2_COMPRESSION_TRANSFORM_HEADER_CHAINED (2.2.42.2).
    Chained(Vec<CompressionPayload>),
}

/// SMB2 COMPRESSION_TRANSFORM_HEADER (MS-SMB2 2.2.42) with the data it frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressionTransformHeader {
    /// OriginalCompressedSegmentSize: size of the message once decompressed.
    pub original_compressed_segment_size: u32,
    /// The unchained or chained body.
    pub data: CompressedData,
}

impl CompressionTransformHeader {
    /// Decodes a whole compressed frame.
    pub fn decode(frame: &Bytes) -> Result<CompressionTransformHeader> {
        let h = frame.get(..12).ok_or(Error::Truncated)?;
        if h[..4] != COMPRESSION_MAGIC {
            return Err(Error::Invalid("ProtocolId"));
        }
        let original_compressed_segment_size = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        let flags = u16::from_le_bytes([h[10], h[11]]);
        let data = if flags & SMB2_COMPRESSION_FLAG_CHAINED == 0 {
            let f = frame.get(..16).ok_or(Error::Truncated)?;
            let offset = u32::from_le_bytes([f[12], f[13], f[14], f[15]]);
            let data = frame.slice(16..);
            if offset as usize > data.len() {
                return Err(Error::Invalid("Offset"));
            }
            CompressedData::Unchained {
                compression_algorithm: u16::from_le_bytes([f[8], f[9]]),
                flags,
                offset,
                data,
            }
        } else {
            let mut payloads = Vec::new();
            let mut pos = 8usize;
            while pos < frame.len() {
                if payloads.len() == MAX_CHAINED_PAYLOADS {
                    return Err(Error::Invalid("chained payload count"));
                }
                let p = frame.get(pos..pos + 8).ok_or(Error::Truncated)?;
                let compression_algorithm = u16::from_le_bytes([p[0], p[1]]);
                let pflags = u16::from_le_bytes([p[2], p[3]]);
                let length = u32::from_le_bytes([p[4], p[5], p[6], p[7]]) as usize;
                let start = pos + 8;
                let end = start.checked_add(length).ok_or(Error::Truncated)?;
                if end > frame.len() {
                    return Err(Error::Truncated);
                }
                let (original_payload_size, data_start) =
                    if has_original_payload_size(compression_algorithm) {
                        let o = frame.get(start..start + 4).filter(|_| length >= 4);
                        let o = o.ok_or(Error::Invalid("Length"))?;
                        (
                            Some(u32::from_le_bytes([o[0], o[1], o[2], o[3]])),
                            start + 4,
                        )
                    } else {
                        (None, start)
                    };
                payloads.push(CompressionPayload {
                    compression_algorithm,
                    flags: pflags,
                    original_payload_size,
                    payload: frame.slice(data_start..end),
                });
                pos = end;
            }
            if payloads.is_empty() {
                return Err(Error::Truncated);
            }
            CompressedData::Chained(payloads)
        };
        Ok(CompressionTransformHeader {
            original_compressed_segment_size,
            data,
        })
    }

    /// Appends the whole frame. In the chained form, OriginalPayloadSize is written exactly
    /// when it is `Some`.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_slice(&COMPRESSION_MAGIC);
        out.put_u32_le(self.original_compressed_segment_size);
        match &self.data {
            CompressedData::Unchained {
                compression_algorithm,
                flags,
                offset,
                data,
            } => {
                out.put_u16_le(*compression_algorithm);
                out.put_u16_le(*flags);
                out.put_u32_le(*offset);
                out.put_slice(data);
            }
            CompressedData::Chained(payloads) => {
                for p in payloads {
                    let extra = if p.original_payload_size.is_some() {
                        4
                    } else {
                        0
                    };
                    out.put_u16_le(p.compression_algorithm);
                    out.put_u16_le(p.flags);
                    out.put_u32_le((p.payload.len() + extra).min(u32::MAX as usize) as u32);
                    if let Some(s) = p.original_payload_size {
                        out.put_u32_le(s);
                    }
                    out.put_slice(&p.payload);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn transform_header_layout() {
        let h = TransformHeader {
            signature: [0x11; 16],
            nonce: [0x22; 16],
            original_message_size: 0x68,
            flags: SMB2_TRANSFORM_FLAG_ENCRYPTED,
            session_id: 0x0000_1000_0000_0041,
        };
        let mut out = BytesMut::new();
        h.encode(&mut out);
        assert_eq!(out.len(), TRANSFORM_HEADER_LEN);
        assert_eq!(&out[..4], &[0xFD, b'S', b'M', b'B']);
        assert_eq!(&out[36..44], &[0x68, 0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(&h.associated_data()[..], &out[20..]);
        out.extend_from_slice(&[0u8; 0x68]);
        let (d, payload) = TransformHeader::decode_frame(&out.freeze()).unwrap();
        assert_eq!(d, h);
        assert_eq!(payload.len(), 0x68);
    }

    #[test]
    fn refuses_bad_transform() {
        let mut out = BytesMut::new();
        TransformHeader::default().encode(&mut out);
        assert_eq!(TransformHeader::decode(&out[..51]), Err(Error::Truncated));
        out.extend_from_slice(b"x");
        assert_eq!(
            TransformHeader::decode_frame(&out.clone().freeze()),
            Err(Error::Invalid("OriginalMessageSize"))
        );
        out[0] = 0xFE;
        assert_eq!(
            TransformHeader::decode(&out),
            Err(Error::Invalid("ProtocolId"))
        );
    }

    #[test]
    fn chained_vector() {
        // Chained: a NONE payload holding an SMB2 header stub, then a Pattern_V1 payload.
        let mut f = hex::decode("fc534d42" /* magic */).unwrap();
        f.extend_from_slice(&0x1000u32.to_le_bytes());
        f.extend_from_slice(&[0, 0, 1, 0, 4, 0, 0, 0, 0xFE, b'S', b'M', b'B']);
        f.extend_from_slice(&[4, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0xF0, 0x0F, 0, 0]);
        let frame = Bytes::from(f.clone());
        let c = CompressionTransformHeader::decode(&frame).unwrap();
        let CompressedData::Chained(p) = &c.data else {
            panic!("not chained")
        };
        assert_eq!(p.len(), 2);
        assert_eq!(&p[0].payload[..], b"\xFESMB");
        assert_eq!(p[1].compression_algorithm, 4);
        assert_eq!(p[1].original_payload_size, None);
        let mut out = BytesMut::new();
        c.encode(&mut out);
        assert_eq!(&out[..], &f[..]);
    }

    #[test]
    fn refuses_bad_compression_frames() {
        // Unchained with Offset past the end.
        let f = Bytes::from_static(&[
            0xFC, b'S', b'M', b'B', 0, 1, 0, 0, 2, 0, 0, 0, 9, 0, 0, 0, 1,
        ]);
        assert_eq!(
            CompressionTransformHeader::decode(&f),
            Err(Error::Invalid("Offset"))
        );
        // Chained payload Length past the end.
        let f = Bytes::from_static(&[
            0xFC, b'S', b'M', b'B', 0, 1, 0, 0, 0, 0, 1, 0, 9, 0, 0, 0, 1,
        ]);
        assert_eq!(
            CompressionTransformHeader::decode(&f),
            Err(Error::Truncated)
        );
        // LZ77 payload too short for OriginalPayloadSize.
        let f = Bytes::from_static(&[
            0xFC, b'S', b'M', b'B', 0, 1, 0, 0, 2, 0, 1, 0, 2, 0, 0, 0, 1, 2,
        ]);
        assert_eq!(
            CompressionTransformHeader::decode(&f),
            Err(Error::Invalid("Length"))
        );
        // Chained with no payload at all.
        let f = Bytes::from_static(&[0xFC, b'S', b'M', b'B', 0, 1, 0, 0, 0, 0, 1, 0]);
        assert_eq!(
            CompressionTransformHeader::decode(&f),
            Err(Error::Truncated)
        );
    }

    fn arb_payload() -> impl Strategy<Value = CompressionPayload> {
        (
            0u16..7,
            any::<u16>(),
            any::<u32>(),
            proptest::collection::vec(any::<u8>(), 0..20),
        )
            .prop_map(|(a, flags, size, d)| CompressionPayload {
                compression_algorithm: a,
                flags,
                original_payload_size: has_original_payload_size(a).then_some(size),
                payload: Bytes::from(d),
            })
    }

    proptest! {
        #[test]
        fn transform_round_trip(signature: [u8; 16], nonce: [u8; 16], size: u32, flags: u16,
                                session_id: u64) {
            let h = TransformHeader { signature, nonce, original_message_size: size, flags,
                session_id };
            let mut out = BytesMut::new();
            h.encode(&mut out);
            prop_assert_eq!(TransformHeader::decode(&out).unwrap(), h);
        }

        #[test]
        fn compression_round_trip(size: u32, alg: u16, d in proptest::collection::vec(any::<u8>(), 0..40),
                                  off in 0usize..40, chained in proptest::collection::vec(arb_payload(), 1..5),
                                  first_flags in any::<u16>().prop_map(|f| f | 1)) {
            let offset = off.min(d.len()) as u32;
            let u = CompressionTransformHeader { original_compressed_segment_size: size,
                data: CompressedData::Unchained { compression_algorithm: alg, flags: 0, offset,
                    data: Bytes::from(d) } };
            let mut out = BytesMut::new();
            u.encode(&mut out);
            prop_assert_eq!(CompressionTransformHeader::decode(&out.freeze()).unwrap(), u);
            let mut chained = chained;
            chained[0].flags = first_flags;
            let c = CompressionTransformHeader { original_compressed_segment_size: size,
                data: CompressedData::Chained(chained) };
            let mut out = BytesMut::new();
            c.encode(&mut out);
            prop_assert_eq!(CompressionTransformHeader::decode(&out.freeze()).unwrap(), c);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..120), chained: bool) {
            let _ = TransformHeader::decode(&b);
            let _ = TransformHeader::decode_frame(&Bytes::from(b.clone()));
            let mut b = b;
            if b.len() >= 12 {
                b[..4].copy_from_slice(&COMPRESSION_MAGIC);
                b[10] = chained as u8;
            }
            let _ = CompressionTransformHeader::decode(&Bytes::from(b));
        }
    }
}
