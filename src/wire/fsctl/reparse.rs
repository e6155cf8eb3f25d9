//! Reparse data: the REPARSE_DATA_BUFFER header (MS-FSCC 2.1.2.2) with the data kept raw,
//! the Symbolic Link Reparse Data Buffer (MS-FSCC 2.1.2.4), and the Symbolic Link Error
//! Response (MS-SMB2 2.2.2.2.1) a server puts in the ErrorData of an SMB2 ERROR response
//! with STATUS_STOPPED_ON_SYMLINK.

use crate::wire::info::Reader;
use crate::wire::{BytesMut, Error, Result};
use bytes::BufMut;

/// IO_REPARSE_TAG_MOUNT_POINT (junction).
pub const IO_REPARSE_TAG_MOUNT_POINT: u32 = 0xA000_0003;
/// IO_REPARSE_TAG_SYMLINK.
pub const IO_REPARSE_TAG_SYMLINK: u32 = 0xA000_000C;
/// IO_REPARSE_TAG_NFS (NFS special files).
pub const IO_REPARSE_TAG_NFS: u32 = 0x8000_0014;
/// IO_REPARSE_TAG_LX_SYMLINK (WSL symlink).
pub const IO_REPARSE_TAG_LX_SYMLINK: u32 = 0xA000_001D;
/// SymLinkErrorTag of the Symbolic Link Error Response ("SYML").
pub const SYMLINK_ERROR_TAG: u32 = 0x4C4D_5953;
/// SYMLINK_FLAG_RELATIVE: the substitute name is relative to the link's directory.
pub const SYMLINK_FLAG_RELATIVE: u32 = 0x0000_0001;

/// REPARSE_DATA_BUFFER: ReparseTag (4), ReparseDataLength (2), Reserved (2), DataBuffer.
/// For non-Microsoft tags (bit 31 clear) DataBuffer starts with the 16-byte ReparseGuid
/// (REPARSE_GUID_DATA_BUFFER, MS-FSCC 2.1.2.3); it is left in `data`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReparseDataBuffer {
    /// ReparseTag
    pub reparse_tag: u32,
    /// Reserved (UnparsedPathLength in some contexts)
    pub reserved: u16,
    /// DataBuffer (ReparseDataLength bytes)
    pub data: Vec<u8>,
}

impl ReparseDataBuffer {
    /// Size of the header.
    pub const HEADER_LEN: usize = 8;
    /// Whether the tag is a Microsoft tag (bit 31).
    pub fn is_microsoft(&self) -> bool {
        self.reparse_tag & 0x8000_0000 != 0
    }
    /// Appends the buffer. Fails when `data` is longer than 65535 bytes.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        let n = u16::try_from(self.data.len()).map_err(|_| Error::Invalid("ReparseDataLength"))?;
        out.put_u32_le(self.reparse_tag);
        out.put_u16_le(n);
        out.put_u16_le(self.reserved);
        out.put_slice(&self.data);
        Ok(())
    }
    /// Decodes the header; ReparseDataLength must fit in `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        let reparse_tag = r.u32()?;
        let n = r.u16()? as usize;
        let reserved = r.u16()?;
        Ok(ReparseDataBuffer {
            reparse_tag,
            reserved,
            data: r.bytes(n)?.to_vec(),
        })
    }
}

/// The symbolic-link body shared by the reparse buffer and the error response:
/// SubstituteNameOffset, SubstituteNameLength, PrintNameOffset, PrintNameLength (2 each),
/// Flags (4), PathBuffer. Offsets are relative to PathBuffer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SymbolicLink {
    /// SubstituteName: the target path
    pub substitute_name: String,
    /// PrintName: the target as shown to users
    pub print_name: String,
    /// Flags ([`SYMLINK_FLAG_RELATIVE`])
    pub flags: u32,
}

impl SymbolicLink {
    /// Size of the fixed part before PathBuffer.
    pub const LEN: usize = 12;

    /// Appends the body; PathBuffer holds the substitute name then the print name.
    fn put(&self, out: &mut BytesMut) -> Result<()> {
        let sub = crate::wire::string_to_utf16le(&self.substitute_name);
        let print = crate::wire::string_to_utf16le(&self.print_name);
        let too_long = |_| Error::Invalid("symlink name length");
        let sl = u16::try_from(sub.len()).map_err(too_long)?;
        let pl = u16::try_from(print.len()).map_err(too_long)?;
        out.put_u16_le(0);
        out.put_u16_le(sl);
        out.put_u16_le(sl);
        out.put_u16_le(pl);
        out.put_u32_le(self.flags);
        out.put_slice(&sub);
        out.put_slice(&print);
        Ok(())
    }

    /// Length of the body as [`Self::put`] writes it.
    fn body_len(&self) -> usize {
        Self::LEN
            + 2 * (self.substitute_name.encode_utf16().count()
                + self.print_name.encode_utf16().count())
    }

    /// Decodes a body occupying all of `b`; both names must lie inside PathBuffer.
    fn parse(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        let so = r.u16()? as usize;
        let sl = r.u16()? as usize;
        let po = r.u16()? as usize;
        let pl = r.u16()? as usize;
        let flags = r.u32()?;
        let rest = r.remaining();
        let path = r.bytes(rest)?;
        let name = |o: usize, l: usize| -> Result<String> {
            let s = path
                .get(o..o + l)
                .ok_or(Error::Invalid("symlink name offset"))?;
            crate::wire::utf16le_to_string(s)
        };
        Ok(SymbolicLink {
            substitute_name: name(so, sl)?,
            print_name: name(po, pl)?,
            flags,
        })
    }

    /// The REPARSE_DATA_BUFFER of an IO_REPARSE_TAG_SYMLINK reparse point.
    pub fn to_reparse_buffer(&self) -> Result<ReparseDataBuffer> {
        let mut out = BytesMut::new();
        self.put(&mut out)?;
        Ok(ReparseDataBuffer {
            reparse_tag: IO_REPARSE_TAG_SYMLINK,
            reserved: 0,
            data: out.to_vec(),
        })
    }

    /// Reads a symbolic link from a REPARSE_DATA_BUFFER with tag IO_REPARSE_TAG_SYMLINK.
    pub fn from_reparse_buffer(b: &ReparseDataBuffer) -> Result<Self> {
        if b.reparse_tag != IO_REPARSE_TAG_SYMLINK {
            return Err(Error::Invalid("ReparseTag"));
        }
        Self::parse(&b.data)
    }
}

/// Symbolic Link Error Response (MS-SMB2 2.2.2.2.1): SymLinkLength (4), SymLinkErrorTag
/// (4), ReparseTag (4), ReparseDataLength (2), UnparsedPathLength (2), then the
/// [`SymbolicLink`] body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SymlinkErrorResponse {
    /// UnparsedPathLength: bytes at the end of the CREATE path not yet parsed when the
    /// link was met (the part after the link's own name).
    pub unparsed_path_length: u16,
    /// The link target.
    pub link: SymbolicLink,
}

impl SymlinkErrorResponse {
    /// Size of the fixed part before PathBuffer.
    pub const LEN: usize = 28;

    /// Appends the structure (the ErrorData of the SMB2 ERROR response).
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        let body = self.link.body_len();
        let rdl = u16::try_from(body).map_err(|_| Error::Invalid("ReparseDataLength"))?;
        let total = u32::try_from(body + 12).map_err(|_| Error::Invalid("SymLinkLength"))?;
        out.put_u32_le(total);
        out.put_u32_le(SYMLINK_ERROR_TAG);
        out.put_u32_le(IO_REPARSE_TAG_SYMLINK);
        out.put_u16_le(rdl);
        out.put_u16_le(self.unparsed_path_length);
        self.link.put(out)
    }

    /// Decodes the structure: the tags must be SYML and IO_REPARSE_TAG_SYMLINK, and
    /// SymLinkLength/ReparseDataLength must agree with `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        let total = r.u32()? as usize;
        let body = r.bytes(total)?;
        let mut r = Reader::new(body);
        if r.u32()? != SYMLINK_ERROR_TAG {
            return Err(Error::Invalid("SymLinkErrorTag"));
        }
        if r.u32()? != IO_REPARSE_TAG_SYMLINK {
            return Err(Error::Invalid("ReparseTag"));
        }
        let rdl = r.u16()? as usize;
        let unparsed_path_length = r.u16()?;
        let link = SymbolicLink::parse(r.bytes(rdl)?)?;
        Ok(SymlinkErrorResponse {
            unparsed_path_length,
            link,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn symlink_error_layout() {
        let v = SymlinkErrorResponse {
            unparsed_path_length: 4,
            link: SymbolicLink {
                substitute_name: "t".into(),
                print_name: "t".into(),
                flags: SYMLINK_FLAG_RELATIVE,
            },
        };
        let mut o = BytesMut::new();
        v.encode(&mut o).unwrap();
        assert_eq!(o.len(), 28 + 4);
        assert_eq!(&o[0..4], &28u32.to_le_bytes()); // excludes SymLinkLength itself
        assert_eq!(&o[4..8], b"SYML");
        assert_eq!(&o[8..12], &0xA000_000Cu32.to_le_bytes());
        assert_eq!(&o[12..14], &16u16.to_le_bytes()); // from SubstituteNameOffset on
        assert_eq!(&o[14..16], &4u16.to_le_bytes());
        assert_eq!(&o[16..24], &[0, 0, 2, 0, 2, 0, 2, 0]);
        assert_eq!(SymlinkErrorResponse::decode(&o).unwrap(), v);
    }

    #[test]
    fn refuses_names_outside_path_buffer() {
        let link = SymbolicLink {
            substitute_name: "abc".into(),
            print_name: "abc".into(),
            flags: 0,
        };
        let mut rb = link.to_reparse_buffer().unwrap();
        assert_eq!(SymbolicLink::from_reparse_buffer(&rb).unwrap(), link);
        rb.data[4] = 40; // PrintNameOffset past PathBuffer
        assert!(SymbolicLink::from_reparse_buffer(&rb).is_err());
        let mut b = BytesMut::new();
        rb.encode(&mut b).unwrap();
        b[4] = 200; // ReparseDataLength past the end
        assert_eq!(ReparseDataBuffer::decode(&b), Err(Error::Truncated));
        let mut o = BytesMut::new();
        SymlinkErrorResponse::default().encode(&mut o).unwrap();
        let mut x = o.to_vec();
        x[0] = 99;
        assert_eq!(SymlinkErrorResponse::decode(&x), Err(Error::Truncated));
        let mut x = o.to_vec();
        x[4] = 0;
        assert!(SymlinkErrorResponse::decode(&x).is_err());
    }

    fn link() -> impl Strategy<Value = SymbolicLink> {
        (".{0,20}", ".{0,20}", any::<u32>()).prop_map(|(s, p, f)| SymbolicLink {
            substitute_name: s,
            print_name: p,
            flags: f,
        })
    }

    proptest! {
        #[test]
        fn round_trips(l in link(), u in any::<u16>(), tag in any::<u32>(), res in any::<u16>(),
                       data in proptest::collection::vec(any::<u8>(), 0..40)) {
            let v = SymlinkErrorResponse { unparsed_path_length: u, link: l.clone() };
            let mut o = BytesMut::new();
            v.encode(&mut o).unwrap();
            prop_assert_eq!(SymlinkErrorResponse::decode(&o).unwrap(), v);
            let rb = l.to_reparse_buffer().unwrap();
            let mut o = BytesMut::new();
            rb.encode(&mut o).unwrap();
            let back = ReparseDataBuffer::decode(&o).unwrap();
            prop_assert_eq!(SymbolicLink::from_reparse_buffer(&back).unwrap(), l);
            let g = ReparseDataBuffer { reparse_tag: tag, reserved: res, data };
            let mut o = BytesMut::new();
            g.encode(&mut o).unwrap();
            prop_assert_eq!(ReparseDataBuffer::decode(&o).unwrap(), g);
        }

        #[test]
        fn decoders_never_panic(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = SymlinkErrorResponse::decode(&b);
            if let Ok(rb) = ReparseDataBuffer::decode(&b) {
                let _ = SymbolicLink::from_reparse_buffer(&rb);
                let _ = SymbolicLink::parse(&rb.data);
            }
        }
    }
}
