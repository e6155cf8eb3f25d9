//! `user.DOSATTRIB` format (see the module doc of [`super`]) and `statx` → [`FileStat`].

use super::error::{VfsError, VfsResult};
use super::sys::{self, XTarget};
use super::{FileStat, FILE_ATTRIBUTE_ARCHIVE, FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_NORMAL};
use super::{FILE_ATTRIBUTE_REPARSE_POINT, STORED_ATTRIBUTES_MASK};
use crate::wire::NtStatus;
use std::ffi::{CStr, CString};

/// xattr holding DOS attributes and creation time.
pub(crate) const XATTR_DOSATTRIB: &CStr = c"user.DOSATTRIB";
/// xattr holding an object's security descriptor. Format: the SECURITY_DESCRIPTOR in the
/// self-relative form of MS-DTYP 2.4.6 exactly as rsmbd encodes it (revision 1,
/// SE_SELF_RELATIVE set; SACL, DACL, owner and group follow the 20-byte header), with no
/// extra framing. A value that does not decode as one (a Samba `xattr_NTACL` NDR blob of
/// version 2 to 4, say) is ignored: the object then has the default descriptor. Every
/// object rsmbd creates gets one (inherited from its parent, MS-DTYP 2.5.3.4); objects
/// created outside rsmbd have none.
pub(crate) const XATTR_NTACL: &CStr = c"user.NTACL";
/// Prefix of stream xattrs.
pub(crate) const STREAM_PREFIX: &str = "user.DosStream.";
/// Suffix of stream xattrs.
pub(crate) const STREAM_SUFFIX: &str = ":$DATA";
/// Version tag of the rsmbd DOSATTRIB format.
pub(crate) const DOSATTRIB_VERSION: u16 = 0x8001;
/// Length of a DOSATTRIB value.
pub(crate) const DOSATTRIB_LEN: usize = 14;

/// Stored DOS metadata.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct DosInfo {
    /// Attributes (masked by STORED_ATTRIBUTES_MASK).
    pub attributes: u32,
    /// Creation time, 0 = unset.
    pub creation_time: u64,
}

/// Encodes a DOSATTRIB value.
pub(crate) fn encode(d: &DosInfo) -> [u8; DOSATTRIB_LEN] {
    let mut b = [0u8; DOSATTRIB_LEN];
    b[0..2].copy_from_slice(&DOSATTRIB_VERSION.to_le_bytes());
    b[2..6].copy_from_slice(&(d.attributes & STORED_ATTRIBUTES_MASK).to_le_bytes());
    b[6..14].copy_from_slice(&d.creation_time.to_le_bytes());
    b
}

/// Decodes a DOSATTRIB value; `None` for other formats or short values.
pub(crate) fn decode(v: &[u8]) -> Option<DosInfo> {
    let version = u16::from_le_bytes(v.get(0..2)?.try_into().ok()?);
    if version != DOSATTRIB_VERSION {
        return None;
    }
    let attributes = u32::from_le_bytes(v.get(2..6)?.try_into().ok()?) & STORED_ATTRIBUTES_MASK;
    let creation_time = u64::from_le_bytes(v.get(6..14)?.try_into().ok()?);
    Some(DosInfo {
        attributes,
        creation_time,
    })
}

/// Reads the stored DOS metadata; `None` when absent, unreadable or foreign.
pub(crate) fn read_dos(t: XTarget<'_>) -> Option<DosInfo> {
    let mut buf = [0u8; 64];
    let n = sys::getxattr(t, XATTR_DOSATTRIB, &mut buf).ok()?;
    decode(buf.get(..n)?)
}

/// Writes DOS metadata.
pub(crate) fn write_dos(t: XTarget<'_>, d: &DosInfo) -> VfsResult<()> {
    sys::setxattr(t, XATTR_DOSATTRIB, &encode(d), 0).map_err(VfsError::from_errno)
}

/// Builds a [`FileStat`] from statx and the stored DOS metadata.
pub(crate) fn build_stat(st: &libc::statx, dos: Option<DosInfo>) -> FileStat {
    let ft = |t: &libc::statx_timestamp| sys::to_filetime(t.tv_sec, t.tv_nsec);
    let fmt = st.stx_mode as u32 & libc::S_IFMT;
    let is_dir = fmt == libc::S_IFDIR;
    let mtime = ft(&st.stx_mtime);
    let ctime = ft(&st.stx_ctime);
    let creation_time = match dos {
        Some(d) if d.creation_time != 0 => d.creation_time,
        _ if st.stx_mask & libc::STATX_BTIME != 0 && st.stx_btime.tv_sec != 0 => ft(&st.stx_btime),
        _ => mtime.min(ctime),
    };
    let mut attributes = match dos {
        Some(d) => d.attributes,
        None if is_dir => 0,
        None => FILE_ATTRIBUTE_ARCHIVE,
    };
    if is_dir {
        attributes |= FILE_ATTRIBUTE_DIRECTORY;
    }
    if fmt == libc::S_IFLNK {
        attributes |= FILE_ATTRIBUTE_REPARSE_POINT;
    }
    // FILE_ATTRIBUTE_COMPRESSED is the file system's compression flag, never a stored bit
    // (see compress.rs).
    attributes &= !super::FILE_ATTRIBUTE_COMPRESSED;
    if st.stx_attributes & libc::STATX_ATTR_COMPRESSED as u64 != 0 {
        attributes |= super::FILE_ATTRIBUTE_COMPRESSED;
    }
    if attributes == 0 {
        attributes = FILE_ATTRIBUTE_NORMAL;
    }
    FileStat {
        size: st.stx_size,
        allocation_size: st.stx_blocks.saturating_mul(512),
        creation_time,
        last_access_time: ft(&st.stx_atime),
        last_write_time: mtime,
        change_time: ctime,
        file_id: st.stx_ino,
        dev: libc::makedev(st.stx_dev_major, st.stx_dev_minor),
        nlink: st.stx_nlink,
        is_dir,
        attributes,
    }
}

/// True if an SMB EA name collides with the backend's own xattrs (case-insensitively, as EA
/// names are case-insensitive).
pub(crate) fn is_reserved_ea(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l == "dosattrib" || l == "ntacl" || l.starts_with("dosstream.")
}

/// The xattr name of an SMB EA.
pub(crate) fn ea_xattr_name(name: &str) -> VfsResult<CString> {
    if name.is_empty() || name.len() > 250 || is_reserved_ea(name) {
        return Err(VfsError::status_only(NtStatus::INVALID_PARAMETER));
    }
    sys::cstr(&format!("user.{name}"))
        .map_err(|_| VfsError::status_only(NtStatus::INVALID_PARAMETER))
}

/// The xattr name of a stream.
pub(crate) fn stream_xattr_name(stream: &str) -> VfsResult<CString> {
    sys::cstr(&format!("{STREAM_PREFIX}{stream}{STREAM_SUFFIX}"))
        .map_err(|_| VfsError::status_only(NtStatus::OBJECT_NAME_INVALID))
}

/// The stream name of a stream xattr name, if it is one.
pub(crate) fn stream_of_xattr(x: &str) -> Option<&str> {
    x.strip_prefix(STREAM_PREFIX)?.strip_suffix(STREAM_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vector() {
        let d = DosInfo {
            attributes: 0x22,
            creation_time: 0x01D9_0000_1234_5678,
        };
        let e = encode(&d);
        assert_eq!(
            e,
            [0x01, 0x80, 0x22, 0, 0, 0, 0x78, 0x56, 0x34, 0x12, 0, 0, 0xD9, 0x01]
        );
        assert_eq!(decode(&e), Some(d));
        // Samba's legacy ASCII form and NDR v3 are not ours.
        assert_eq!(decode(b"0x20\0"), None);
        assert_eq!(decode(&[3, 0, 3, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert!(is_reserved_ea("NtAcl"));
        assert!(is_reserved_ea("DOSSTREAM.x"));
        assert!(!is_reserved_ea("foo"));
    }

    proptest! {
        #[test]
        fn round_trip(a in any::<u32>(), c in any::<u64>()) {
            let d = DosInfo { attributes: a & STORED_ATTRIBUTES_MASK, creation_time: c };
            prop_assert_eq!(decode(&encode(&d)), Some(d));
        }

        #[test]
        fn no_panic(v in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = decode(&v);
        }
    }
}
