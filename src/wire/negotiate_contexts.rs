//! SMB 3.1.1 negotiate contexts (MS-SMB2 2.2.3.1 and 2.2.3.1.1 to 2.2.3.1.7 in the request,
//! 2.2.4.1 and 2.2.4.1.1 to 2.2.4.1.7 in the response, which share the same layouts).
//!
//! A list of contexts is a sequence of `SMB2_NEGOTIATE_CONTEXT` structures (ContextType,
//! DataLength, Reserved, Data), each one but the first starting on an 8-byte boundary. Context
//! types this module does not know are kept as [`NegotiateContext::Unknown`] so they never fail
//! a negotiation (MS-SMB2 3.3.5.4 tells the server to ignore them).
use super::{utf16le_to_string, Bytes, BytesMut, Error, Result};
use bytes::BufMut;

/// ContextType SMB2_PREAUTH_INTEGRITY_CAPABILITIES.
pub const SMB2_PREAUTH_INTEGRITY_CAPABILITIES: u16 = 0x0001;
/// ContextType SMB2_ENCRYPTION_CAPABILITIES.
pub const SMB2_ENCRYPTION_CAPABILITIES: u16 = 0x0002;
/// ContextType SMB2_COMPRESSION_CAPABILITIES.
pub const SMB2_COMPRESSION_CAPABILITIES: u16 = 0x0003;
/// ContextType SMB2_NETNAME_NEGOTIATE_CONTEXT_ID.
pub const SMB2_NETNAME_NEGOTIATE_CONTEXT_ID: u16 = 0x0005;
/// ContextType SMB2_TRANSPORT_CAPABILITIES.
pub const SMB2_TRANSPORT_CAPABILITIES: u16 = 0x0006;
/// ContextType SMB2_RDMA_TRANSFORM_CAPABILITIES.
pub const SMB2_RDMA_TRANSFORM_CAPABILITIES: u16 = 0x0007;
/// ContextType SMB2_SIGNING_CAPABILITIES.
pub const SMB2_SIGNING_CAPABILITIES: u16 = 0x0008;
/// ContextType SMB2_CONTEXTTYPE_RESERVED (MUST be ignored).
pub const SMB2_CONTEXTTYPE_RESERVED: u16 = 0x0100;

/// Preauth integrity HashAlgorithm SHA-512 (2.2.3.1.1).
pub const SHA_512: u16 = 0x0001;

/// Cipher AES-128-CCM (2.2.3.1.2).
pub const AES_128_CCM: u16 = 0x0001;
/// Cipher AES-128-GCM.
pub const AES_128_GCM: u16 = 0x0002;
/// Cipher AES-256-CCM.
pub const AES_256_CCM: u16 = 0x0003;
/// Cipher AES-256-GCM.
pub const AES_256_GCM: u16 = 0x0004;

/// Compression capabilities flag SMB2_COMPRESSION_CAPABILITIES_FLAG_NONE (2.2.3.1.3).
pub const SMB2_COMPRESSION_CAPABILITIES_FLAG_NONE: u32 = 0x0000_0000;
/// Compression capabilities flag SMB2_COMPRESSION_CAPABILITIES_FLAG_CHAINED.
pub const SMB2_COMPRESSION_CAPABILITIES_FLAG_CHAINED: u32 = 0x0000_0001;
/// Compression algorithm NONE.
pub const COMPRESSION_NONE: u16 = 0x0000;
/// Compression algorithm LZNT1.
pub const COMPRESSION_LZNT1: u16 = 0x0001;
/// Compression algorithm LZ77.
pub const COMPRESSION_LZ77: u16 = 0x0002;
/// Compression algorithm LZ77+Huffman.
pub const COMPRESSION_LZ77_HUFFMAN: u16 = 0x0003;
/// Compression algorithm Pattern_V1.
pub const COMPRESSION_PATTERN_V1: u16 = 0x0004;
/// Compression algorithm LZ4.
pub const COMPRESSION_LZ4: u16 = 0x0005;

/// Transport capabilities flag SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY (2.2.3.1.5).
pub const SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY: u32 = 0x0000_0001;

/// RDMA transform SMB2_RDMA_TRANSFORM_NONE (2.2.3.1.6).
pub const SMB2_RDMA_TRANSFORM_NONE: u16 = 0x0000;
/// RDMA transform SMB2_RDMA_TRANSFORM_ENCRYPTION.
pub const SMB2_RDMA_TRANSFORM_ENCRYPTION: u16 = 0x0001;
/// RDMA transform SMB2_RDMA_TRANSFORM_SIGNING.
pub const SMB2_RDMA_TRANSFORM_SIGNING: u16 = 0x0002;

/// Signing algorithm HMAC-SHA256 (2.2.3.1.7).
pub const HMAC_SHA256: u16 = 0x0000;
/// Signing algorithm AES-CMAC.
pub const AES_CMAC: u16 = 0x0001;
/// Signing algorithm AES-GMAC.
pub const AES_GMAC: u16 = 0x0002;

/// Most contexts accepted in one list. Real clients send at most one of each type (about 8);
/// the bound keeps a hostile list from costing more than a few KiB of allocations.
pub const MAX_NEGOTIATE_CONTEXTS: usize = 64;

/// Length of the SMB2_NEGOTIATE_CONTEXT header (ContextType, DataLength, Reserved).
const CONTEXT_HEADER_LEN: usize = 8;

/// One SMB2_NEGOTIATE_CONTEXT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NegotiateContext {
    /// SMB2_PREAUTH_INTEGRITY_CAPABILITIES (2.2.3.1.1).
    PreauthIntegrity {
        /// HashAlgorithms (see [`SHA_512`]).
        hash_algorithms: Vec<u16>,
        /// Salt.
        salt: Bytes,
    },
    /// SMB2_ENCRYPTION_CAPABILITIES (2.2.3.1.2).
    Encryption {
        /// Ciphers, in the sender's order of preference.
        ciphers: Vec<u16>,
    },
    /// SMB2_COMPRESSION_CAPABILITIES (2.2.3.1.3).
    Compression {
        /// Flags (see [`SMB2_COMPRESSION_CAPABILITIES_FLAG_CHAINED`]).
        flags: u32,
        /// CompressionAlgorithms.
        algorithms: Vec<u16>,
    },
    /// SMB2_NETNAME_NEGOTIATE_CONTEXT_ID (2.2.3.1.4): the server name the client connected to.
    NetName(String),
    /// SMB2_TRANSPORT_CAPABILITIES (2.2.3.1.5).
    Transport {
        /// Flags (see [`SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY`]).
        flags: u32,
    },
    /// SMB2_RDMA_TRANSFORM_CAPABILITIES (2.2.3.1.6).
    RdmaTransform {
        /// RDMATransformIds.
        transform_ids: Vec<u16>,
    },
    /// SMB2_SIGNING_CAPABILITIES (2.2.3.1.7).
    Signing {
        /// SigningAlgorithms, in the sender's order of preference.
        algorithms: Vec<u16>,
    },
    /// A context type this module does not interpret, kept as it came.
    Unknown {
        /// ContextType.
        context_type: u16,
        /// Data.
        data: Bytes,
    },
}

/// Reads `n` little-endian u16 values.
fn u16_array(i: &[u8], n: usize) -> Result<(&[u8], Vec<u16>)> {
    let len = n.checked_mul(2).ok_or(Error::Invalid("count"))?;
    if i.len() < len {
        return Err(Error::Truncated);
    }
    let (a, rest) = i.split_at(len);
    let v = a
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    Ok((rest, v))
}

fn le16(i: &[u8]) -> Result<(&[u8], u16)> {
    match i {
        [a, b, rest @ ..] => Ok((rest, u16::from_le_bytes([*a, *b]))),
        _ => Err(Error::Truncated),
    }
}

fn le32(i: &[u8]) -> Result<(&[u8], u32)> {
    match i {
        [a, b, c, d, rest @ ..] => Ok((rest, u32::from_le_bytes([*a, *b, *c, *d]))),
        _ => Err(Error::Truncated),
    }
}

fn put_u16s(out: &mut BytesMut, v: &[u16]) {
    for x in v {
        out.put_u16_le(*x);
    }
}

/// Count of a list as the u16 the wire carries (lists longer than that are cut when encoding).
fn count16<T>(v: &[T]) -> (u16, &[T]) {
    let n = v.len().min(u16::MAX as usize);
    (n as u16, &v[..n])
}

impl NegotiateContext {
    /// The ContextType of this context.
    pub fn context_type(&self) -> u16 {
        match self {
            NegotiateContext::PreauthIntegrity { .. } => SMB2_PREAUTH_INTEGRITY_CAPABILITIES,
            NegotiateContext::Encryption { .. } => SMB2_ENCRYPTION_CAPABILITIES,
            NegotiateContext::Compression { .. } => SMB2_COMPRESSION_CAPABILITIES,
            NegotiateContext::NetName(_) => SMB2_NETNAME_NEGOTIATE_CONTEXT_ID,
            NegotiateContext::Transport { .. } => SMB2_TRANSPORT_CAPABILITIES,
            NegotiateContext::RdmaTransform { .. } => SMB2_RDMA_TRANSFORM_CAPABILITIES,
            NegotiateContext::Signing { .. } => SMB2_SIGNING_CAPABILITIES,
            NegotiateContext::Unknown { context_type, .. } => *context_type,
        }
    }

    /// Decodes the Data of one context of type `context_type`. Known types whose data is too
    /// short for the counts it announces are an error; bytes after the announced fields are
    /// ignored.
    pub fn decode_data(context_type: u16, data: &Bytes) -> Result<NegotiateContext> {
        let i: &[u8] = data;
        Ok(match context_type {
            SMB2_PREAUTH_INTEGRITY_CAPABILITIES => {
                let (i, count) = le16(i)?;
                let (i, salt_len) = le16(i)?;
                let (i, hash_algorithms) = u16_array(i, count as usize)?;
                let salt_len = salt_len as usize;
                if i.len() < salt_len {
                    return Err(Error::Truncated);
                }
                let start = data.len() - i.len();
                NegotiateContext::PreauthIntegrity {
                    hash_algorithms,
                    salt: data.slice(start..start + salt_len),
                }
            }
            SMB2_ENCRYPTION_CAPABILITIES => {
                let (i, count) = le16(i)?;
                let (_, ciphers) = u16_array(i, count as usize)?;
                NegotiateContext::Encryption { ciphers }
            }
            SMB2_COMPRESSION_CAPABILITIES => {
                let (i, count) = le16(i)?;
                let (i, _padding) = le16(i)?;
                let (i, flags) = le32(i)?;
                let (_, algorithms) = u16_array(i, count as usize)?;
                NegotiateContext::Compression { flags, algorithms }
            }
            SMB2_NETNAME_NEGOTIATE_CONTEXT_ID => NegotiateContext::NetName(utf16le_to_string(i)?),
            SMB2_TRANSPORT_CAPABILITIES => {
                let (_, flags) = le32(i)?;
                NegotiateContext::Transport { flags }
            }
            SMB2_RDMA_TRANSFORM_CAPABILITIES => {
                let (i, count) = le16(i)?;
                let (i, _reserved1) = le16(i)?;
                let (i, _reserved2) = le32(i)?;
                let (_, transform_ids) = u16_array(i, count as usize)?;
                NegotiateContext::RdmaTransform { transform_ids }
            }
            SMB2_SIGNING_CAPABILITIES => {
                let (i, count) = le16(i)?;
                let (_, algorithms) = u16_array(i, count as usize)?;
                NegotiateContext::Signing { algorithms }
            }
            _ => NegotiateContext::Unknown {
                context_type,
                data: data.clone(),
            },
        })
    }

    /// Appends the Data of this context (without the 8-byte context header).
    pub fn encode_data(&self, out: &mut BytesMut) {
        match self {
            NegotiateContext::PreauthIntegrity {
                hash_algorithms,
                salt,
            } => {
                let (n, algs) = count16(hash_algorithms);
                let salt = &salt[..salt.len().min(u16::MAX as usize)];
                out.put_u16_le(n);
                out.put_u16_le(salt.len() as u16);
                put_u16s(out, algs);
                out.put_slice(salt);
            }
            NegotiateContext::Encryption { ciphers } => {
                let (n, v) = count16(ciphers);
                out.put_u16_le(n);
                put_u16s(out, v);
            }
            NegotiateContext::Compression { flags, algorithms } => {
                let (n, v) = count16(algorithms);
                out.put_u16_le(n);
                out.put_u16_le(0);
                out.put_u32_le(*flags);
                put_u16s(out, v);
            }
            NegotiateContext::NetName(name) => super::put_utf16le(out, name),
            NegotiateContext::Transport { flags } => out.put_u32_le(*flags),
            NegotiateContext::RdmaTransform { transform_ids } => {
                let (n, v) = count16(transform_ids);
                out.put_u16_le(n);
                out.put_u16_le(0);
                out.put_u32_le(0);
                put_u16s(out, v);
            }
            NegotiateContext::Signing { algorithms } => {
                let (n, v) = count16(algorithms);
                out.put_u16_le(n);
                put_u16s(out, v);
            }
            NegotiateContext::Unknown { data, .. } => out.put_slice(data),
        }
    }

    /// Appends the whole context: ContextType, DataLength, Reserved, Data. Data longer than
    /// 65535 bytes (which no real context has) is cut to fit DataLength.
    pub fn encode(&self, out: &mut BytesMut) {
        let mut data = BytesMut::new();
        self.encode_data(&mut data);
        let len = data.len().min(u16::MAX as usize);
        out.put_u16_le(self.context_type());
        out.put_u16_le(len as u16);
        out.put_u32_le(0);
        out.put_slice(&data[..len]);
    }
}

/// Decodes `count` contexts from `list`, which starts at the first context (an 8-byte aligned
/// offset of its message, which the caller checks). Each following context starts at the next
/// multiple of 8 from the start of `list`; the last one need not be padded.
pub fn decode_list(list: &Bytes, count: usize) -> Result<Vec<NegotiateContext>> {
    if count > MAX_NEGOTIATE_CONTEXTS {
        return Err(Error::Invalid("NegotiateContextCount"));
    }
    let mut contexts = Vec::with_capacity(count);
    let mut pos = 0usize;
    for n in 0..count {
        if n > 0 {
            pos = pos.checked_next_multiple_of(8).ok_or(Error::Truncated)?;
        }
        let hdr = list
            .get(pos..pos + CONTEXT_HEADER_LEN)
            .ok_or(Error::Truncated)?;
        let context_type = u16::from_le_bytes([hdr[0], hdr[1]]);
        let data_len = u16::from_le_bytes([hdr[2], hdr[3]]) as usize;
        let start = pos + CONTEXT_HEADER_LEN;
        let end = start + data_len;
        if end > list.len() {
            return Err(Error::Truncated);
        }
        contexts.push(NegotiateContext::decode_data(
            context_type,
            &list.slice(start..end),
        )?);
        pos = end;
    }
    Ok(contexts)
}

/// Appends `contexts`, padding with zeros so each one after the first starts at a multiple of
/// 8 bytes from where the list starts (`out.len()` on entry, which the caller aligns). No
/// padding follows the last context.
pub fn encode_list(contexts: &[NegotiateContext], out: &mut BytesMut) {
    let start = out.len();
    for (n, c) in contexts.iter().enumerate() {
        if n > 0 {
            super::pad_to(out, start, 8);
        }
        c.encode(out);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn arb_context() -> impl Strategy<Value = NegotiateContext> {
        let v16 = || proptest::collection::vec(any::<u16>(), 0..6);
        prop_oneof![
            (v16(), proptest::collection::vec(any::<u8>(), 0..40)).prop_map(|(h, s)| {
                NegotiateContext::PreauthIntegrity {
                    hash_algorithms: h,
                    salt: Bytes::from(s),
                }
            }),
            v16().prop_map(|ciphers| NegotiateContext::Encryption { ciphers }),
            (any::<u32>(), v16()).prop_map(|(flags, algorithms)| NegotiateContext::Compression {
                flags,
                algorithms
            }),
            "[a-zA-Z0-9.\\-é]{0,20}".prop_map(NegotiateContext::NetName),
            any::<u32>().prop_map(|flags| NegotiateContext::Transport { flags }),
            v16().prop_map(|transform_ids| NegotiateContext::RdmaTransform { transform_ids }),
            v16().prop_map(|algorithms| NegotiateContext::Signing { algorithms }),
            (
                prop_oneof![Just(0u16), Just(4u16), 9u16..=0xFFFF],
                proptest::collection::vec(any::<u8>(), 0..30)
            )
                .prop_map(|(context_type, d)| NegotiateContext::Unknown {
                    context_type,
                    data: Bytes::from(d),
                }),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(list in proptest::collection::vec(arb_context(), 0..8)) {
            let mut out = BytesMut::new();
            encode_list(&list, &mut out);
            let decoded = decode_list(&out.freeze(), list.len()).unwrap();
            prop_assert_eq!(decoded, list);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..200), count in 0usize..80) {
            let _ = decode_list(&Bytes::from(b), count);
        }
    }

    #[test]
    fn windows_preauth_and_encryption_contexts() {
        // Contexts as a Windows 10 client sends them: SHA-512 with a 32-byte salt, then
        // AES-128-GCM and AES-128-CCM, 8-byte aligned.
        let mut wire = hex::decode("0100260000000000010020000100").unwrap();
        wire.extend_from_slice(&[0xAB; 32]);
        wire.extend_from_slice(&[0, 0]); // pad to 8
        wire.extend_from_slice(&hex::decode("02000600000000000200020001000000").unwrap()[..14]);
        let l = decode_list(&Bytes::from(wire.clone()), 2).unwrap();
        assert_eq!(
            l[0],
            NegotiateContext::PreauthIntegrity {
                hash_algorithms: vec![SHA_512],
                salt: Bytes::from(vec![0xAB; 32])
            }
        );
        assert_eq!(
            l[1],
            NegotiateContext::Encryption {
                ciphers: vec![AES_128_GCM, AES_128_CCM]
            }
        );
        let mut out = BytesMut::new();
        encode_list(&l, &mut out);
        assert_eq!(&out[..], &wire[..]);
    }

    #[test]
    fn unknown_context_is_kept() {
        let wire = Bytes::from_static(&[0x34, 0x12, 2, 0, 0, 0, 0, 0, 0xAA, 0xBB]);
        let l = decode_list(&wire, 1).unwrap();
        assert_eq!(
            l,
            vec![NegotiateContext::Unknown {
                context_type: 0x1234,
                data: Bytes::from_static(&[0xAA, 0xBB])
            }]
        );
    }

    #[test]
    fn refuses_truncated_and_misaligned_lists() {
        // DataLength past the end.
        let wire = Bytes::from_static(&[2, 0, 10, 0, 0, 0, 0, 0, 1, 0, 2, 0]);
        assert_eq!(decode_list(&wire, 1), Err(Error::Truncated));
        // Second context would start past the end once aligned.
        let wire = Bytes::from_static(&[6, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 6, 0, 4, 0]);
        assert_eq!(decode_list(&wire, 2), Err(Error::Truncated));
        // Cipher count larger than the data.
        let wire = Bytes::from_static(&[2, 0, 4, 0, 0, 0, 0, 0, 9, 0, 2, 0]);
        assert_eq!(decode_list(&wire, 1), Err(Error::Truncated));
        // Too many contexts.
        assert_eq!(
            decode_list(&Bytes::new(), MAX_NEGOTIATE_CONTEXTS + 1),
            Err(Error::Invalid("NegotiateContextCount"))
        );
    }
}
