//! SMB2 TREE_CONNECT request and response (MS-SMB2 2.2.9, 2.2.9.1 request extension, 2.2.9.2
//! tree connect contexts, 2.2.10 response).
//!
//! With SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT (3.1.1), the Buffer starts with the 16-byte
//! TREE_CONNECT Request Extension (TreeConnectContextOffset, TreeConnectContextCount,
//! Reserved) and PathOffset/PathLength locate its PathName, which follows it (offset 0x58).
//! MS-SMB2 2.2.9.1 measures TreeConnectContextOffset "from the start of the SMB2 TREE_CONNECT
//! request", i.e. from the body (message offset 64); the contexts (remoted identity) are kept
//! opaque.
use super::{
    body, buffer_at, check_structure_size, pad_to, utf16le_to_string, Bytes, BytesMut, Error,
    Result, HEADER_LEN,
};
use bytes::BufMut;
use nom::number::complete::{le_u16, le_u32, le_u8};

/// Request flag SMB2_TREE_CONNECT_FLAG_CLUSTER_RECONNECT.
pub const SMB2_TREE_CONNECT_FLAG_CLUSTER_RECONNECT: u16 = 0x0001;
/// Request flag SMB2_TREE_CONNECT_FLAG_REDIRECT_TO_OWNER.
pub const SMB2_TREE_CONNECT_FLAG_REDIRECT_TO_OWNER: u16 = 0x0002;
/// Request flag SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT.
pub const SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT: u16 = 0x0004;

/// Tree connect context type SMB2_RESERVED_TREE_CONNECT_CONTEXT_ID.
pub const SMB2_RESERVED_TREE_CONNECT_CONTEXT_ID: u16 = 0x0000;
/// Tree connect context type SMB2_REMOTED_IDENTITY_TREE_CONNECT_CONTEXT_ID.
pub const SMB2_REMOTED_IDENTITY_TREE_CONNECT_CONTEXT_ID: u16 = 0x0001;

/// Most tree connect contexts accepted in one request (only one type is defined).
pub const MAX_TREE_CONNECT_CONTEXTS: usize = 16;

/// ShareFlags caching mode SMB2_SHAREFLAG_MANUAL_CACHING (also SHI1005_FLAGS).
pub const SMB2_SHAREFLAG_MANUAL_CACHING: u32 = 0x0000_0000;
/// ShareFlags SMB2_SHAREFLAG_AUTO_CACHING.
pub const SMB2_SHAREFLAG_AUTO_CACHING: u32 = 0x0000_0010;
/// ShareFlags SMB2_SHAREFLAG_VDO_CACHING.
pub const SMB2_SHAREFLAG_VDO_CACHING: u32 = 0x0000_0020;
/// ShareFlags SMB2_SHAREFLAG_NO_CACHING.
pub const SMB2_SHAREFLAG_NO_CACHING: u32 = 0x0000_0030;
/// Mask of the caching mode bits of ShareFlags.
pub const SMB2_SHAREFLAG_CACHING_MASK: u32 = 0x0000_0030;
/// ShareFlags SMB2_SHAREFLAG_DFS.
pub const SMB2_SHAREFLAG_DFS: u32 = 0x0000_0001;
/// ShareFlags SMB2_SHAREFLAG_DFS_ROOT.
pub const SMB2_SHAREFLAG_DFS_ROOT: u32 = 0x0000_0002;
/// ShareFlags SMB2_SHAREFLAG_RESTRICT_EXCLUSIVE_OPENS.
pub const SMB2_SHAREFLAG_RESTRICT_EXCLUSIVE_OPENS: u32 = 0x0000_0100;
/// ShareFlags SMB2_SHAREFLAG_FORCE_SHARED_DELETE.
pub const SMB2_SHAREFLAG_FORCE_SHARED_DELETE: u32 = 0x0000_0200;
/// ShareFlags SMB2_SHAREFLAG_ALLOW_NAMESPACE_CACHING.
pub const SMB2_SHAREFLAG_ALLOW_NAMESPACE_CACHING: u32 = 0x0000_0400;
/// ShareFlags SMB2_SHAREFLAG_ACCESS_BASED_DIRECTORY_ENUM.
pub const SMB2_SHAREFLAG_ACCESS_BASED_DIRECTORY_ENUM: u32 = 0x0000_0800;
/// ShareFlags SMB2_SHAREFLAG_FORCE_LEVELII_OPLOCK.
pub const SMB2_SHAREFLAG_FORCE_LEVELII_OPLOCK: u32 = 0x0000_1000;
/// ShareFlags SMB2_SHAREFLAG_ENABLE_HASH_V1.
pub const SMB2_SHAREFLAG_ENABLE_HASH_V1: u32 = 0x0000_2000;
/// ShareFlags SMB2_SHAREFLAG_ENABLE_HASH_V2.
pub const SMB2_SHAREFLAG_ENABLE_HASH_V2: u32 = 0x0000_4000;
/// ShareFlags SMB2_SHAREFLAG_ENCRYPT_DATA.
pub const SMB2_SHAREFLAG_ENCRYPT_DATA: u32 = 0x0000_8000;
/// ShareFlags SMB2_SHAREFLAG_IDENTITY_REMOTING.
pub const SMB2_SHAREFLAG_IDENTITY_REMOTING: u32 = 0x0004_0000;
/// ShareFlags SMB2_SHAREFLAG_COMPRESS_DATA.
pub const SMB2_SHAREFLAG_COMPRESS_DATA: u32 = 0x0010_0000;
/// ShareFlags SMB2_SHAREFLAG_ISOLATED_TRANSPORT.
pub const SMB2_SHAREFLAG_ISOLATED_TRANSPORT: u32 = 0x0020_0000;

/// Capabilities SMB2_SHARE_CAP_DFS.
pub const SMB2_SHARE_CAP_DFS: u32 = 0x0000_0008;
/// Capabilities SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY.
pub const SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY: u32 = 0x0000_0010;
/// Capabilities SMB2_SHARE_CAP_SCALEOUT.
pub const SMB2_SHARE_CAP_SCALEOUT: u32 = 0x0000_0020;
/// Capabilities SMB2_SHARE_CAP_CLUSTER.
pub const SMB2_SHARE_CAP_CLUSTER: u32 = 0x0000_0040;
/// Capabilities SMB2_SHARE_CAP_ASYMMETRIC.
pub const SMB2_SHARE_CAP_ASYMMETRIC: u32 = 0x0000_0080;
/// Capabilities SMB2_SHARE_CAP_REDIRECT_TO_OWNER.
pub const SMB2_SHARE_CAP_REDIRECT_TO_OWNER: u32 = 0x0000_0100;

/// ShareType of a TREE_CONNECT response. Unknown values decode and round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ShareType(pub u8);

impl ShareType {
    /// SMB2_SHARE_TYPE_DISK.
    pub const DISK: ShareType = ShareType(0x01);
    /// SMB2_SHARE_TYPE_PIPE.
    pub const PIPE: ShareType = ShareType(0x02);
    /// SMB2_SHARE_TYPE_PRINT.
    pub const PRINT: ShareType = ShareType(0x03);
}

/// Fixed request body length (StructureSize 9 counts one byte of Buffer).
const REQUEST_FIXED: usize = 8;
/// Length of the TREE_CONNECT Request Extension before PathName.
const EXTENSION_LEN: usize = 16;

/// One SMB2_TREE_CONNECT_CONTEXT (2.2.9.2), its Data kept opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeConnectContext {
    /// ContextType (see [`SMB2_REMOTED_IDENTITY_TREE_CONNECT_CONTEXT_ID`]).
    pub context_type: u16,
    /// Data.
    pub data: Bytes,
}

/// SMB2 TREE_CONNECT request (MS-SMB2 2.2.9).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeConnectRequest {
    /// Flags (3.1.1; Reserved before). See `SMB2_TREE_CONNECT_FLAG_*`.
    pub flags: u16,
    /// The share path, `\\server\share`.
    pub path: String,
    /// TreeConnectContexts of the request extension (only with
    /// [`SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT`]).
    pub tree_connect_contexts: Vec<TreeConnectContext>,
}

fn decode_contexts(list: &Bytes, count: usize) -> Result<Vec<TreeConnectContext>> {
    if count > MAX_TREE_CONNECT_CONTEXTS {
        return Err(Error::Invalid("TreeConnectContextCount"));
    }
    let mut v = Vec::with_capacity(count);
    let mut pos = 0usize;
    for n in 0..count {
        if n > 0 {
            pos = pos.checked_next_multiple_of(8).ok_or(Error::Truncated)?;
        }
        let h = list.get(pos..pos + 8).ok_or(Error::Truncated)?;
        let context_type = u16::from_le_bytes([h[0], h[1]]);
        let len = u16::from_le_bytes([h[2], h[3]]) as usize;
        let end = pos + 8 + len;
        if end > list.len() {
            return Err(Error::Truncated);
        }
        v.push(TreeConnectContext {
            context_type,
            data: list.slice(pos + 8..end),
        });
        pos = end;
    }
    Ok(v)
}

impl TreeConnectRequest {
    /// True when the 3.1.1 request extension is present.
    pub fn has_extension(&self) -> bool {
        self.flags & SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT != 0
    }

    /// Decodes a TREE_CONNECT request message.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 9)?;
        let i = &b[2..];
        let (i, flags) = le_u16(i)?;
        let (i, path_offset) = le_u16(i)?;
        let (i, path_length) = le_u16(i)?;
        let ext = flags & SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT != 0;
        let fixed_end = HEADER_LEN + REQUEST_FIXED + if ext { EXTENSION_LEN } else { 0 };
        if path_length > 0 && (path_offset as usize) < fixed_end {
            return Err(Error::Invalid("PathOffset"));
        }
        let path = utf16le_to_string(&buffer_at(msg, path_offset as usize, path_length as usize)?)?;
        let mut tree_connect_contexts = Vec::new();
        if ext {
            let (i, ctx_offset) = le_u32(i)?;
            let (i, ctx_count) = le_u16(i)?;
            if i.len() < 10 {
                return Err(Error::Truncated);
            }
            if ctx_count > 0 {
                let abs = (ctx_offset as usize)
                    .checked_add(HEADER_LEN)
                    .ok_or(Error::Invalid("TreeConnectContextOffset"))?;
                if abs < fixed_end {
                    return Err(Error::Invalid("TreeConnectContextOffset"));
                }
                if abs > msg.len() {
                    return Err(Error::Truncated);
                }
                tree_connect_contexts = decode_contexts(&msg.slice(abs..), ctx_count as usize)?;
            }
        }
        Ok(TreeConnectRequest {
            flags,
            path,
            tree_connect_contexts,
        })
    }

    /// Appends the request body. With the extension flag set, writes the extension, the path
    /// at 0x58 and the contexts at the next 8-byte boundary after it.
    pub fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        let path = super::string_to_utf16le(&self.path);
        let path = &path[..path.len().min(0xFFFE)];
        let ext = self.has_extension();
        let path_offset = HEADER_LEN + REQUEST_FIXED + if ext { EXTENSION_LEN } else { 0 };
        out.put_u16_le(9);
        out.put_u16_le(self.flags);
        out.put_u16_le(path_offset as u16);
        out.put_u16_le(path.len() as u16);
        if !ext {
            out.put_slice(path);
            return;
        }
        let contexts = &self.tree_connect_contexts[..self
            .tree_connect_contexts
            .len()
            .min(MAX_TREE_CONNECT_CONTEXTS)];
        let ctx_offset = if contexts.is_empty() {
            0
        } else {
            (REQUEST_FIXED + EXTENSION_LEN + path.len()).div_ceil(8) * 8
        };
        out.put_u32_le(ctx_offset as u32);
        out.put_u16_le(contexts.len() as u16);
        out.put_slice(&[0u8; 10]);
        out.put_slice(path);
        for c in contexts {
            // The list starts 8-aligned from the body start, so aligning every context to the
            // body start also aligns it within the list.
            pad_to(out, start, 8);
            let data = &c.data[..c.data.len().min(u16::MAX as usize)];
            out.put_u16_le(c.context_type);
            out.put_u16_le(data.len() as u16);
            out.put_u32_le(0);
            out.put_slice(data);
        }
    }
}

/// SMB2 TREE_CONNECT response (MS-SMB2 2.2.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TreeConnectResponse {
    /// ShareType.
    pub share_type: ShareType,
    /// ShareFlags (see `SMB2_SHAREFLAG_*`).
    pub share_flags: u32,
    /// Capabilities (see `SMB2_SHARE_CAP_*`).
    pub capabilities: u32,
    /// MaximalAccess: the access mask the user has on the share.
    pub maximal_access: u32,
}

impl TreeConnectResponse {
    /// Decodes a TREE_CONNECT response message.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 16)?;
        let i = &b[2..];
        let (i, share_type) = le_u8(i)?;
        let (i, _reserved) = le_u8(i)?;
        let (i, share_flags) = le_u32(i)?;
        let (i, capabilities) = le_u32(i)?;
        let (_, maximal_access) = le_u32(i)?;
        Ok(TreeConnectResponse {
            share_type: ShareType(share_type),
            share_flags,
            capabilities,
            maximal_access,
        })
    }

    /// Appends the 16-byte response body.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(16);
        out.put_u8(self.share_type.0);
        out.put_u8(0);
        out.put_u32_le(self.share_flags);
        out.put_u32_le(self.capabilities);
        out.put_u32_le(self.maximal_access);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn msg(f: impl FnOnce(&mut BytesMut)) -> Bytes {
        let mut out = BytesMut::from(&[0u8; HEADER_LEN][..]);
        f(&mut out);
        out.freeze()
    }

    #[test]
    fn plain_request_vector() {
        // "\\127.0.0.1\MyShare" at 0x48, length 0x26.
        let mut body = hex::decode("0900000048002600").unwrap();
        body.extend(super::super::string_to_utf16le(r"\\127.0.0.1\MyShare"));
        let m = msg(|o| o.extend_from_slice(&body));
        let r = TreeConnectRequest::decode(&m).unwrap();
        assert_eq!(r.path, r"\\127.0.0.1\MyShare");
        assert!(!r.has_extension());
        assert_eq!(&msg(|o| r.encode(o))[HEADER_LEN..], &body[..]);
    }

    #[test]
    fn response_vector() {
        // Disk share, access-based enumeration, full access 0x001f01ff.
        let body = hex::decode("100001000008000000000000ff011f00").unwrap();
        let body = &body[..];
        let m = msg(|o| o.extend_from_slice(body));
        let r = TreeConnectResponse::decode(&m).unwrap();
        assert_eq!(r.share_type, ShareType::DISK);
        assert_eq!(r.share_flags, SMB2_SHAREFLAG_ACCESS_BASED_DIRECTORY_ENUM);
        assert_eq!(r.maximal_access, 0x001f_01ff);
        assert_eq!(&msg(|o| r.encode(o))[HEADER_LEN..], body);
    }

    #[test]
    fn extension_request() {
        let r = TreeConnectRequest {
            flags: SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT,
            path: r"\\srv\share".into(),
            tree_connect_contexts: vec![
                TreeConnectContext {
                    context_type: SMB2_REMOTED_IDENTITY_TREE_CONNECT_CONTEXT_ID,
                    data: Bytes::from_static(&[1, 0, 0x20, 0]),
                },
                TreeConnectContext {
                    context_type: 7,
                    data: Bytes::from_static(b"xyz"),
                },
            ],
        };
        let m = msg(|o| r.encode(o));
        assert_eq!(&m[HEADER_LEN + 4..HEADER_LEN + 6], &[0x58, 0]);
        assert_eq!(TreeConnectRequest::decode(&m).unwrap(), r);
    }

    #[test]
    fn refuses_bad_offsets() {
        let r = TreeConnectRequest {
            flags: 0,
            path: r"\\s\x".into(),
            tree_connect_contexts: vec![],
        };
        let m = msg(|o| r.encode(o)).to_vec();
        let mut b = m.clone();
        b[HEADER_LEN + 4] = 0x40; // path inside the fixed part
        assert_eq!(
            TreeConnectRequest::decode(&Bytes::from(b)),
            Err(Error::Invalid("PathOffset"))
        );
        let mut b = m.clone();
        b[HEADER_LEN + 6] = 0x40; // path length past the end
        assert_eq!(
            TreeConnectRequest::decode(&Bytes::from(b)),
            Err(Error::Truncated)
        );
        let mut b = m;
        b[HEADER_LEN + 6] = 9; // odd UTF-16 length
        assert_eq!(
            TreeConnectRequest::decode(&Bytes::from(b)),
            Err(Error::Invalid("UTF-16 length"))
        );
        // Extension flag set but the path sits where the extension must be.
        let r = TreeConnectRequest {
            flags: SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT,
            path: r"\\s\x".into(),
            tree_connect_contexts: vec![TreeConnectContext {
                context_type: 1,
                data: Bytes::from_static(b"ab"),
            }],
        };
        let m = msg(|o| r.encode(o)).to_vec();
        let mut b = m.clone();
        b[HEADER_LEN + 4] = 0x48;
        assert_eq!(
            TreeConnectRequest::decode(&Bytes::from(b)),
            Err(Error::Invalid("PathOffset"))
        );
        let mut b = m.clone();
        b[HEADER_LEN + 8] = 4; // context offset into the extension
        assert_eq!(
            TreeConnectRequest::decode(&Bytes::from(b)),
            Err(Error::Invalid("TreeConnectContextOffset"))
        );
        let mut b = m;
        b[HEADER_LEN + 12] = 2; // two contexts, only one present
        assert_eq!(
            TreeConnectRequest::decode(&Bytes::from(b)),
            Err(Error::Truncated)
        );
    }

    fn arb_ctx() -> impl Strategy<Value = TreeConnectContext> {
        (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..20)).prop_map(|(t, d)| {
            TreeConnectContext {
                context_type: t,
                data: Bytes::from(d),
            }
        })
    }

    proptest! {
        #[test]
        fn request_round_trip(flags: u16, path in "[\\\\a-zA-Z0-9.$ é€]{0,30}",
                              ctx in proptest::collection::vec(arb_ctx(), 0..4)) {
            let ext = flags & SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT != 0;
            let r = TreeConnectRequest { flags, path,
                tree_connect_contexts: if ext { ctx } else { vec![] } };
            prop_assert_eq!(TreeConnectRequest::decode(&msg(|o| r.encode(o))).unwrap(), r);
        }

        #[test]
        fn response_round_trip(t: u8, share_flags: u32, capabilities: u32, maximal_access: u32) {
            let r = TreeConnectResponse { share_type: ShareType(t), share_flags, capabilities,
                maximal_access };
            prop_assert_eq!(TreeConnectResponse::decode(&msg(|o| r.encode(o))).unwrap(), r);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let m = Bytes::from(b);
            let _ = TreeConnectRequest::decode(&m);
            let _ = TreeConnectResponse::decode(&m);
        }
    }
}
