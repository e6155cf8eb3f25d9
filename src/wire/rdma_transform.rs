//! SMB2_RDMA_TRANSFORM (MS-SMB2 2.2.43) and SMB2_RDMA_CRYPTO_TRANSFORM (2.2.43.1): the
//! channel information of a READ or WRITE with Channel SMB2_CHANNEL_RDMA_TRANSFORM, and the
//! Buffer of a READ response with Flags SMB2_READFLAG_RESPONSE_RDMA_TRANSFORM (2.2.20), which
//! carry the signature or encryption tag of data moved by RDMA Read/Write (SMB 3.1.1 only).
//!
//! The SMB2_RDMA_TRANSFORM_CAPABILITIES negotiate context that enables them (2.2.3.1.6 /
//! 2.2.4.1.6) is [`NegotiateContext::RdmaTransform`](super::negotiate_contexts::NegotiateContext)
//! in `negotiate_contexts`; [`capabilities_ids`] adds the check that TransformCount is not
//! zero and [`SERVER_RDMA_TRANSFORMS`] is what rsmbd answers with (nothing: see
//! `crate::crypto::rdma_transform` for why and for the design).
//!
//! Layout (all little-endian; offsets from the start of the SMB2_RDMA_TRANSFORM):
//!
//! ```text
//! SMB2_RDMA_TRANSFORM (16 bytes)
//!  0  RdmaDescriptorOffset  u16   offset of the SMB_DIRECT_BUFFER_DESCRIPTOR_V1 list
//!  2  RdmaDescriptorLength  u16   its length
//!  4  Channel               u32   NONE, RDMA_V1 or RDMA_V1_INVALIDATE
//!  8  TransformCount        u16   > 0: number of crypto transforms that follow
//! 10  Reserved1             u16
//! 12  Reserved2             u32
//! 16  TransformCount x SMB2_RDMA_CRYPTO_TRANSFORM, each starting 8-byte aligned:
//!      0  TransformType     u16   1 ENCRYPTION, 2 SIGNING
//!      2  SignatureLength   u16   <= 16
//!      4  NonceLength       u16
//!      6  Reserved          u16
//!      8  Signature         SignatureLength bytes
//!      .  Nonce             NonceLength bytes
//!      .  Padding           to the next 8-byte boundary
//! ```
//!
//! The 2.2.43.1 diagram shows a "Reserved1" label beside Signature that no field description
//! defines; like the Linux client's `struct smb2_rdma_crypto_transform` (fs/smb/client/
//! smb2pdu.h), this codec puts Nonce directly after Signature.
//!
//! Every length and offset is checked before use: SignatureLength at most 16, NonceLength at
//! most [`MAX_NONCE_LEN`], at most [`MAX_CRYPTO_TRANSFORMS`] transforms, and the descriptor
//! list inside the buffer and after the transforms (it may not overlap them).
use super::read::Channel;
use super::{Bytes, BytesMut, Error, Result};
use bytes::BufMut;

/// Length of the fixed SMB2_RDMA_TRANSFORM structure.
pub const RDMA_TRANSFORM_LEN: usize = 16;
/// Length of the fixed part of SMB2_RDMA_CRYPTO_TRANSFORM (before Signature).
pub const CRYPTO_TRANSFORM_FIXED_LEN: usize = 8;
/// TransformType SMB2_RDMA_TRANSFORM_TYPE_ENCRYPTION (2.2.43.1).
pub const SMB2_RDMA_TRANSFORM_TYPE_ENCRYPTION: u16 = 0x0001;
/// TransformType SMB2_RDMA_TRANSFORM_TYPE_SIGNING (2.2.43.1).
pub const SMB2_RDMA_TRANSFORM_TYPE_SIGNING: u16 = 0x0002;
/// Largest Signature (2.2.43.1: "MUST be less than or equal to 16 bytes").
pub const MAX_SIGNATURE_LEN: usize = 16;
/// Largest Nonce accepted. MS-SMB2 sets no bound; the nonces SMB uses are 11 (CCM) or 12
/// (GCM, GMAC) bytes, and the TRANSFORM_HEADER's Nonce field is 16, so 16 is the bound here.
pub const MAX_NONCE_LEN: usize = 16;
/// Most crypto transforms accepted in one SMB2_RDMA_TRANSFORM. Two types exist and a payload
/// carries one of them (MS-SMB2 3.2.5.11); the bound keeps a hostile TransformCount cheap.
pub const MAX_CRYPTO_TRANSFORMS: usize = 4;

/// The RDMA transform ids rsmbd answers in SMB2_RDMA_TRANSFORM_CAPABILITIES: none, so the
/// server never returns the context and no client applies a transform to its RDMA data (see
/// `crate::crypto::rdma_transform`, "Why it is not negotiated").
pub const SERVER_RDMA_TRANSFORMS: &[u16] = &[];

/// The RDMATransformIds of a received SMB2_RDMA_TRANSFORM_CAPABILITIES, checked as
/// MS-SMB2 2.2.3.1.6 requires ("TransformCount ... MUST be greater than 0").
pub fn capabilities_ids(transform_ids: &[u16]) -> Result<&[u16]> {
    if transform_ids.is_empty() {
        return Err(Error::Invalid("TransformCount"));
    }
    Ok(transform_ids)
}

/// The transforms both sides support, in the client's order, skipping
/// SMB2_RDMA_TRANSFORM_NONE (0) and duplicates: what a server that supports `server` would
/// put in its SMB2_RDMA_TRANSFORM_CAPABILITIES response (an empty result means the context is
/// left out of the response).
pub fn select_transforms(client: &[u16], server: &[u16]) -> Vec<u16> {
    let mut out = Vec::new();
    for id in client {
        if *id != 0 && server.contains(id) && !out.contains(id) {
            out.push(*id);
        }
    }
    out
}

/// One SMB2_RDMA_CRYPTO_TRANSFORM (2.2.43.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoTransform {
    /// TransformType ([`SMB2_RDMA_TRANSFORM_TYPE_ENCRYPTION`] or
    /// [`SMB2_RDMA_TRANSFORM_TYPE_SIGNING`]; other values decode and are refused by the
    /// crypto layer).
    pub transform_type: u16,
    /// Signature (at most [`MAX_SIGNATURE_LEN`] bytes): AEAD tag or MAC of the payload.
    pub signature: Vec<u8>,
    /// Nonce (at most [`MAX_NONCE_LEN`] bytes).
    pub nonce: Vec<u8>,
}

impl CryptoTransform {
    /// Encoded length without the trailing padding.
    pub fn unpadded_len(&self) -> usize {
        CRYPTO_TRANSFORM_FIXED_LEN + self.signature.len() + self.nonce.len()
    }

    /// Decodes one transform at the start of `b`; returns it and its unpadded length.
    pub fn decode(b: &[u8]) -> Result<(CryptoTransform, usize)> {
        let h = b
            .get(..CRYPTO_TRANSFORM_FIXED_LEN)
            .ok_or(Error::Truncated)?;
        let transform_type = u16::from_le_bytes([h[0], h[1]]);
        let sig_len = u16::from_le_bytes([h[2], h[3]]) as usize;
        let nonce_len = u16::from_le_bytes([h[4], h[5]]) as usize;
        if sig_len > MAX_SIGNATURE_LEN {
            return Err(Error::Invalid("SignatureLength"));
        }
        if nonce_len > MAX_NONCE_LEN {
            return Err(Error::Invalid("NonceLength"));
        }
        let sig_end = CRYPTO_TRANSFORM_FIXED_LEN + sig_len;
        let end = sig_end + nonce_len;
        let signature = b
            .get(CRYPTO_TRANSFORM_FIXED_LEN..sig_end)
            .ok_or(Error::Truncated)?
            .to_vec();
        let nonce = b.get(sig_end..end).ok_or(Error::Truncated)?.to_vec();
        Ok((
            CryptoTransform {
                transform_type,
                signature,
                nonce,
            },
            end,
        ))
    }

    /// Appends the transform (no padding). Fails when Signature or Nonce is longer than the
    /// format allows.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        if self.signature.len() > MAX_SIGNATURE_LEN {
            return Err(Error::Invalid("SignatureLength"));
        }
        if self.nonce.len() > MAX_NONCE_LEN {
            return Err(Error::Invalid("NonceLength"));
        }
        out.put_u16_le(self.transform_type);
        out.put_u16_le(self.signature.len() as u16);
        out.put_u16_le(self.nonce.len() as u16);
        out.put_u16_le(0);
        out.put_slice(&self.signature);
        out.put_slice(&self.nonce);
        Ok(())
    }
}

/// SMB2_RDMA_TRANSFORM (2.2.43) with its crypto transforms and descriptor list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdmaTransform {
    /// Channel: how `descriptors` is to be read (NONE, RDMA_V1 or RDMA_V1_INVALIDATE).
    pub channel: Channel,
    /// The SMB2_RDMA_CRYPTO_TRANSFORM list (TransformCount entries, at least one).
    pub transforms: Vec<CryptoTransform>,
    /// The channel information at RdmaDescriptorOffset (raw SMB_DIRECT_BUFFER_DESCRIPTOR_V1
    /// list, decoded by `wire::smbd::decode_descriptors`); empty for SMB2_CHANNEL_NONE.
    pub descriptors: Bytes,
}

/// Next multiple of 8 of `n`, or an error on overflow.
fn align8(n: usize) -> Result<usize> {
    n.checked_next_multiple_of(8).ok_or(Error::Truncated)
}

impl RdmaTransform {
    /// Decodes an SMB2_RDMA_TRANSFORM that starts at offset 0 of `buf` (the channel
    /// information of a READ/WRITE request, or the Buffer of a READ response from DataOffset),
    /// checking: Channel is NONE, RDMA_V1 or RDMA_V1_INVALIDATE; TransformCount is from 1 to
    /// [`MAX_CRYPTO_TRANSFORMS`]; each transform is inside `buf`; for an RDMA channel the
    /// descriptor list is non-empty, inside `buf` and does not overlap the structure or its
    /// transforms. For SMB2_CHANNEL_NONE the descriptor fields are ignored, as 2.2.43 says.
    pub fn decode(buf: &Bytes) -> Result<RdmaTransform> {
        let h = buf.get(..RDMA_TRANSFORM_LEN).ok_or(Error::Truncated)?;
        let desc_off = u16::from_le_bytes([h[0], h[1]]) as usize;
        let desc_len = u16::from_le_bytes([h[2], h[3]]) as usize;
        let channel = Channel(u32::from_le_bytes([h[4], h[5], h[6], h[7]]));
        let count = u16::from_le_bytes([h[8], h[9]]) as usize;
        if channel != Channel::NONE
            && channel != Channel::RDMA_V1
            && channel != Channel::RDMA_V1_INVALIDATE
        {
            return Err(Error::Invalid("Channel"));
        }
        if count == 0 || count > MAX_CRYPTO_TRANSFORMS {
            return Err(Error::Invalid("TransformCount"));
        }
        let mut transforms = Vec::with_capacity(count);
        let mut pos = RDMA_TRANSFORM_LEN;
        for _ in 0..count {
            pos = align8(pos)?;
            let rest = buf.get(pos..).ok_or(Error::Truncated)?;
            let (t, len) = CryptoTransform::decode(rest)?;
            transforms.push(t);
            pos += len;
        }
        let descriptors = if channel == Channel::NONE {
            Bytes::new()
        } else {
            if desc_len == 0 {
                return Err(Error::Invalid("RdmaDescriptorLength"));
            }
            if desc_off < pos {
                return Err(Error::Invalid("RdmaDescriptorOffset"));
            }
            let end = desc_off + desc_len;
            if end > buf.len() {
                return Err(Error::Truncated);
            }
            buf.slice(desc_off..end)
        };
        Ok(RdmaTransform {
            channel,
            transforms,
            descriptors,
        })
    }

    /// Appends the structure, its transforms (each 8-byte aligned from the start of the
    /// structure, which is `out.len()` on entry) and, for an RDMA channel, the descriptor list
    /// at the next 8-byte boundary after the last transform. Fails, leaving `out` unchanged,
    /// when there is no transform or more than [`MAX_CRYPTO_TRANSFORMS`], a transform field is
    /// too long, the channel is not NONE/RDMA_V1/RDMA_V1_INVALIDATE, or an offset or length
    /// does not fit its u16.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        if self.transforms.is_empty() || self.transforms.len() > MAX_CRYPTO_TRANSFORMS {
            return Err(Error::Invalid("TransformCount"));
        }
        if self.channel != Channel::NONE
            && self.channel != Channel::RDMA_V1
            && self.channel != Channel::RDMA_V1_INVALIDATE
        {
            return Err(Error::Invalid("Channel"));
        }
        let mut tail = BytesMut::new();
        for t in &self.transforms {
            let at = RDMA_TRANSFORM_LEN + tail.len();
            tail.resize(align8(at)? - RDMA_TRANSFORM_LEN, 0);
            t.encode(&mut tail)?;
        }
        let (desc_off, desc_len) = if self.channel == Channel::NONE {
            (0usize, 0usize)
        } else {
            let off = align8(RDMA_TRANSFORM_LEN + tail.len())?;
            tail.resize(off - RDMA_TRANSFORM_LEN, 0);
            tail.put_slice(&self.descriptors);
            (off, self.descriptors.len())
        };
        let desc_off =
            u16::try_from(desc_off).map_err(|_| Error::Invalid("RdmaDescriptorOffset"))?;
        let desc_len =
            u16::try_from(desc_len).map_err(|_| Error::Invalid("RdmaDescriptorLength"))?;
        out.put_u16_le(desc_off);
        out.put_u16_le(desc_len);
        out.put_u32_le(self.channel.0);
        out.put_u16_le(self.transforms.len() as u16);
        out.put_u16_le(0);
        out.put_u32_le(0);
        out.put_slice(&tail);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc_transform() -> CryptoTransform {
        CryptoTransform {
            transform_type: SMB2_RDMA_TRANSFORM_TYPE_ENCRYPTION,
            signature: (0x10..0x20).collect(),
            nonce: (0xA0..0xAC).collect(),
        }
    }

    /// One descriptor: Offset 0x1122334455667788, Token 0xAABBCCDD, Length 0x1000.
    fn descriptor() -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
        d.extend_from_slice(&0xAABB_CCDDu32.to_le_bytes());
        d.extend_from_slice(&0x1000u32.to_le_bytes());
        d
    }

    #[test]
    fn exact_layout_of_encryption_transform_with_descriptor() {
        let t = RdmaTransform {
            channel: Channel::RDMA_V1_INVALIDATE,
            transforms: vec![enc_transform()],
            descriptors: Bytes::from(descriptor()),
        };
        let mut out = BytesMut::new();
        t.encode(&mut out).unwrap();
        let mut want = Vec::new();
        // SMB2_RDMA_TRANSFORM: descriptors at 16 + 8 + 16 + 12 = 52 -> aligned 56, 16 bytes.
        want.extend_from_slice(&[56, 0, 16, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        // SMB2_RDMA_CRYPTO_TRANSFORM: type 1, SignatureLength 16, NonceLength 12, Reserved.
        want.extend_from_slice(&[1, 0, 16, 0, 12, 0, 0, 0]);
        want.extend(0x10u8..0x20);
        want.extend(0xA0u8..0xAC);
        want.extend_from_slice(&[0; 4]); // padding to 56
        want.extend_from_slice(&descriptor());
        assert_eq!(&out[..], &want[..]);
        assert_eq!(RdmaTransform::decode(&out.freeze()).unwrap(), t);
    }

    #[test]
    fn exact_layout_of_signing_transform_channel_none() {
        let t = RdmaTransform {
            channel: Channel::NONE,
            transforms: vec![CryptoTransform {
                transform_type: SMB2_RDMA_TRANSFORM_TYPE_SIGNING,
                signature: vec![0x55; 16],
                nonce: vec![0x66; 11],
            }],
            descriptors: Bytes::new(),
        };
        let mut out = BytesMut::new();
        t.encode(&mut out).unwrap();
        let mut want = vec![0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(&[2, 0, 16, 0, 11, 0, 0, 0]);
        want.extend_from_slice(&[0x55; 16]);
        want.extend_from_slice(&[0x66; 11]);
        assert_eq!(&out[..], &want[..]);
        assert_eq!(RdmaTransform::decode(&out.freeze()).unwrap(), t);
    }

    #[test]
    fn second_transform_starts_8_byte_aligned() {
        let t = RdmaTransform {
            channel: Channel::NONE,
            transforms: vec![
                CryptoTransform {
                    transform_type: 2,
                    signature: vec![1; 3],
                    nonce: vec![],
                },
                CryptoTransform {
                    transform_type: 1,
                    signature: vec![2; 16],
                    nonce: vec![3; 12],
                },
            ],
            descriptors: Bytes::new(),
        };
        let mut out = BytesMut::new();
        t.encode(&mut out).unwrap();
        // First transform is 16..27, the second starts at 32.
        assert_eq!(&out[27..32], &[0; 5]);
        assert_eq!(&out[32..34], &[1, 0]);
        assert_eq!(RdmaTransform::decode(&out.freeze()).unwrap(), t);
    }

    #[test]
    fn refuses_bad_fields() {
        let good = {
            let mut out = BytesMut::new();
            RdmaTransform {
                channel: Channel::RDMA_V1,
                transforms: vec![enc_transform()],
                descriptors: Bytes::from(descriptor()),
            }
            .encode(&mut out)
            .unwrap();
            out.to_vec()
        };
        let patch = |at: usize, bytes: &[u8]| {
            let mut b = good.clone();
            b[at..at + bytes.len()].copy_from_slice(bytes);
            RdmaTransform::decode(&Bytes::from(b))
        };
        assert_eq!(patch(8, &[0, 0]), Err(Error::Invalid("TransformCount")));
        assert_eq!(patch(8, &[5, 0]), Err(Error::Invalid("TransformCount")));
        assert_eq!(patch(4, &[3, 0, 0, 0]), Err(Error::Invalid("Channel")));
        assert_eq!(patch(18, &[17, 0]), Err(Error::Invalid("SignatureLength")));
        assert_eq!(patch(20, &[17, 0]), Err(Error::Invalid("NonceLength")));
        // Descriptors overlapping the crypto transform.
        assert_eq!(
            patch(0, &[40, 0]),
            Err(Error::Invalid("RdmaDescriptorOffset"))
        );
        // Descriptors past the end.
        assert_eq!(patch(2, &[17, 0]), Err(Error::Truncated));
        assert_eq!(
            patch(2, &[0, 0]),
            Err(Error::Invalid("RdmaDescriptorLength"))
        );
        // Truncated anywhere before the end fails.
        for n in 0..good.len() {
            assert!(RdmaTransform::decode(&Bytes::copy_from_slice(&good[..n])).is_err());
        }
    }

    #[test]
    fn encode_refuses_what_decode_would() {
        let mut out = BytesMut::new();
        let mut t = RdmaTransform {
            channel: Channel::NONE,
            transforms: vec![],
            descriptors: Bytes::new(),
        };
        assert_eq!(t.encode(&mut out), Err(Error::Invalid("TransformCount")));
        t.transforms = vec![CryptoTransform {
            transform_type: 1,
            signature: vec![0; 17],
            nonce: vec![],
        }];
        assert_eq!(t.encode(&mut out), Err(Error::Invalid("SignatureLength")));
        t.transforms[0].signature.clear();
        t.channel = Channel::RDMA_TRANSFORM;
        assert_eq!(t.encode(&mut out), Err(Error::Invalid("Channel")));
        assert!(out.is_empty());
    }

    #[test]
    fn capabilities_and_selection() {
        assert_eq!(capabilities_ids(&[]), Err(Error::Invalid("TransformCount")));
        assert_eq!(capabilities_ids(&[1, 2]), Ok(&[1u16, 2][..]));
        assert_eq!(select_transforms(&[2, 0, 1, 2], &[1, 2]), vec![2, 1]);
        assert_eq!(select_transforms(&[1, 2], &[]), Vec::<u16>::new());
        // The server's policy: nothing is offered, whatever the client asks.
        assert!(select_transforms(&[1, 2], SERVER_RDMA_TRANSFORMS).is_empty());
    }

    fn arb_transform() -> impl Strategy<Value = CryptoTransform> {
        (
            any::<u16>(),
            proptest::collection::vec(any::<u8>(), 0..=MAX_SIGNATURE_LEN),
            proptest::collection::vec(any::<u8>(), 0..=MAX_NONCE_LEN),
        )
            .prop_map(|(transform_type, signature, nonce)| CryptoTransform {
                transform_type,
                signature,
                nonce,
            })
    }

    proptest! {
        #[test]
        fn round_trip(
            channel in prop_oneof![Just(Channel::NONE), Just(Channel::RDMA_V1),
                                   Just(Channel::RDMA_V1_INVALIDATE)],
            transforms in proptest::collection::vec(arb_transform(), 1..=MAX_CRYPTO_TRANSFORMS),
            descs in proptest::collection::vec(any::<u8>(), 1..64),
        ) {
            let descriptors = if channel == Channel::NONE { Bytes::new() } else { Bytes::from(descs) };
            let t = RdmaTransform { channel, transforms, descriptors };
            let mut out = BytesMut::new();
            t.encode(&mut out).unwrap();
            prop_assert_eq!(RdmaTransform::decode(&out.freeze()).unwrap(), t);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..160)) {
            let _ = RdmaTransform::decode(&Bytes::from(b.clone()));
            let _ = CryptoTransform::decode(&b);
        }

        #[test]
        fn never_panics_on_plausible_headers(
            off in 0u16..200, len in 0u16..200, ch in 0u32..4, count in 0u16..6,
            tail in proptest::collection::vec(any::<u8>(), 0..160),
        ) {
            let mut b = Vec::new();
            b.extend_from_slice(&off.to_le_bytes());
            b.extend_from_slice(&len.to_le_bytes());
            b.extend_from_slice(&ch.to_le_bytes());
            b.extend_from_slice(&count.to_le_bytes());
            b.extend_from_slice(&[0; 6]);
            b.extend_from_slice(&tail);
            if let Ok(t) = RdmaTransform::decode(&Bytes::from(b)) {
                prop_assert!(!t.transforms.is_empty());
                prop_assert!(t.transforms.iter().all(|t| t.signature.len() <= 16 && t.nonce.len() <= 16));
            }
        }
    }
}
