//! Information classes carried by SMB2 QUERY_INFO, SET_INFO and QUERY_DIRECTORY
//! (MS-SMB2 2.2.37, 2.2.39; MS-FSCC 2.4 file information classes, MS-FSCC 2.5 file system
//! information classes; MS-DTYP 2.4 security descriptors).
//!
//! These are payload codecs over plain byte slices: the request or response message code
//! (query_info.rs, set_info.rs, query_directory.rs) cuts the InputBuffer/OutputBuffer out of
//! the message and hands it to `decode`, or appends what `encode` produced. Every decoder
//! checks every length against the slice it was given and never panics.
//!
//! Fixed-size structures accept trailing bytes when decoded (Windows accepts an
//! InputBufferLength larger than the structure), and refuse a shorter buffer with
//! [`Error::Truncated`] (the server maps it to STATUS_INFO_LENGTH_MISMATCH).

pub mod dir;
pub mod ea;
pub mod file;
pub mod fs;
pub mod security;

use super::{Error, Result};

/// The InfoType field of QUERY_INFO/SET_INFO (MS-SMB2 2.2.37): file information.
pub const SMB2_0_INFO_FILE: u8 = 0x01;
/// InfoType: file system information.
pub const SMB2_0_INFO_FILESYSTEM: u8 = 0x02;
/// InfoType: security information (a security descriptor).
pub const SMB2_0_INFO_SECURITY: u8 = 0x03;
/// InfoType: quota information.
pub const SMB2_0_INFO_QUOTA: u8 = 0x04;

/// AdditionalInformation bit (MS-SMB2 2.2.37): the owner SID of the security descriptor.
pub const OWNER_SECURITY_INFORMATION: u32 = 0x0000_0001;
/// AdditionalInformation bit: the primary group SID.
pub const GROUP_SECURITY_INFORMATION: u32 = 0x0000_0002;
/// AdditionalInformation bit: the discretionary ACL.
pub const DACL_SECURITY_INFORMATION: u32 = 0x0000_0004;
/// AdditionalInformation bit: the system ACL (audit ACEs).
pub const SACL_SECURITY_INFORMATION: u32 = 0x0000_0008;
/// AdditionalInformation bit: the integrity label (mandatory label ACEs of the SACL).
pub const LABEL_SECURITY_INFORMATION: u32 = 0x0000_0010;
/// AdditionalInformation bit: resource attribute ACEs of the SACL.
pub const ATTRIBUTE_SECURITY_INFORMATION: u32 = 0x0000_0020;
/// AdditionalInformation bit: central access policy ACEs of the SACL.
pub const SCOPE_SECURITY_INFORMATION: u32 = 0x0000_0040;
/// AdditionalInformation bit: everything, as a backup application reads it.
pub const BACKUP_SECURITY_INFORMATION: u32 = 0x0001_0000;

/// A file information class (MS-FSCC 2.4), the FileInfoClass of QUERY_INFO/SET_INFO with
/// InfoType [`SMB2_0_INFO_FILE`] and of QUERY_DIRECTORY. Unknown values round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileInformationClass(pub u8);

#[allow(missing_docs)]
impl FileInformationClass {
    pub const FILE_DIRECTORY_INFORMATION: Self = Self(1);
    pub const FILE_FULL_DIRECTORY_INFORMATION: Self = Self(2);
    pub const FILE_BOTH_DIRECTORY_INFORMATION: Self = Self(3);
    pub const FILE_BASIC_INFORMATION: Self = Self(4);
    pub const FILE_STANDARD_INFORMATION: Self = Self(5);
    pub const FILE_INTERNAL_INFORMATION: Self = Self(6);
    pub const FILE_EA_INFORMATION: Self = Self(7);
    pub const FILE_ACCESS_INFORMATION: Self = Self(8);
    pub const FILE_NAME_INFORMATION: Self = Self(9);
    pub const FILE_RENAME_INFORMATION: Self = Self(10);
    pub const FILE_LINK_INFORMATION: Self = Self(11);
    pub const FILE_NAMES_INFORMATION: Self = Self(12);
    pub const FILE_DISPOSITION_INFORMATION: Self = Self(13);
    pub const FILE_POSITION_INFORMATION: Self = Self(14);
    pub const FILE_FULL_EA_INFORMATION: Self = Self(15);
    pub const FILE_MODE_INFORMATION: Self = Self(16);
    pub const FILE_ALIGNMENT_INFORMATION: Self = Self(17);
    pub const FILE_ALL_INFORMATION: Self = Self(18);
    pub const FILE_ALLOCATION_INFORMATION: Self = Self(19);
    pub const FILE_END_OF_FILE_INFORMATION: Self = Self(20);
    pub const FILE_ALTERNATE_NAME_INFORMATION: Self = Self(21);
    pub const FILE_STREAM_INFORMATION: Self = Self(22);
    pub const FILE_PIPE_INFORMATION: Self = Self(23);
    pub const FILE_PIPE_LOCAL_INFORMATION: Self = Self(24);
    pub const FILE_PIPE_REMOTE_INFORMATION: Self = Self(25);
    pub const FILE_MAILSLOT_QUERY_INFORMATION: Self = Self(26);
    pub const FILE_MAILSLOT_SET_INFORMATION: Self = Self(27);
    pub const FILE_COMPRESSION_INFORMATION: Self = Self(28);
    pub const FILE_OBJECT_ID_INFORMATION: Self = Self(29);
    pub const FILE_MOVE_CLUSTER_INFORMATION: Self = Self(31);
    pub const FILE_QUOTA_INFORMATION: Self = Self(32);
    pub const FILE_REPARSE_POINT_INFORMATION: Self = Self(33);
    pub const FILE_NETWORK_OPEN_INFORMATION: Self = Self(34);
    pub const FILE_ATTRIBUTE_TAG_INFORMATION: Self = Self(35);
    pub const FILE_TRACKING_INFORMATION: Self = Self(36);
    pub const FILE_ID_BOTH_DIRECTORY_INFORMATION: Self = Self(37);
    pub const FILE_ID_FULL_DIRECTORY_INFORMATION: Self = Self(38);
    pub const FILE_VALID_DATA_LENGTH_INFORMATION: Self = Self(39);
    pub const FILE_SHORT_NAME_INFORMATION: Self = Self(40);
    pub const FILE_SFIO_RESERVE_INFORMATION: Self = Self(44);
    pub const FILE_SFIO_VOLUME_INFORMATION: Self = Self(45);
    pub const FILE_HARD_LINK_INFORMATION: Self = Self(46);
    pub const FILE_PROCESS_IDS_USING_FILE_INFORMATION: Self = Self(47);
    pub const FILE_NORMALIZED_NAME_INFORMATION: Self = Self(48);
    pub const FILE_ID_GLOBAL_TX_DIRECTORY_INFORMATION: Self = Self(50);
    pub const FILE_STANDARD_LINK_INFORMATION: Self = Self(54);
    pub const FILE_REMOTE_PROTOCOL_INFORMATION: Self = Self(55);
    pub const FILE_ID_INFORMATION: Self = Self(59);
    pub const FILE_ID_EXTD_DIRECTORY_INFORMATION: Self = Self(60);
    pub const FILE_HARD_LINK_FULL_ID_INFORMATION: Self = Self(62);
    pub const FILE_ID_EXTD_BOTH_DIRECTORY_INFORMATION: Self = Self(63);
    pub const FILE_DISPOSITION_INFORMATION_EX: Self = Self(64);
    pub const FILE_RENAME_INFORMATION_EX: Self = Self(65);
    pub const FILE_DESIRED_STORAGE_CLASS_INFORMATION: Self = Self(67);
    pub const FILE_STAT_INFORMATION: Self = Self(68);
    pub const FILE_STAT_LX_INFORMATION: Self = Self(70);
    pub const FILE_CASE_SENSITIVE_INFORMATION: Self = Self(71);
    pub const FILE_LINK_INFORMATION_EX: Self = Self(72);
    pub const FILE_STORAGE_RESERVE_ID_INFORMATION: Self = Self(74);
    pub const FILE_ID64_EXTD_DIRECTORY_INFORMATION: Self = Self(78);
    pub const FILE_ID64_EXTD_BOTH_DIRECTORY_INFORMATION: Self = Self(79);
    pub const FILE_ID_ALL_EXTD_DIRECTORY_INFORMATION: Self = Self(80);
    pub const FILE_ID_ALL_EXTD_BOTH_DIRECTORY_INFORMATION: Self = Self(81);
}

/// A file system information class (MS-FSCC 2.5), the FileInfoClass of QUERY_INFO/SET_INFO
/// with InfoType [`SMB2_0_INFO_FILESYSTEM`]. Unknown values round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FsInformationClass(pub u8);

#[allow(missing_docs)]
impl FsInformationClass {
    pub const FILE_FS_VOLUME_INFORMATION: Self = Self(1);
    pub const FILE_FS_LABEL_INFORMATION: Self = Self(2);
    pub const FILE_FS_SIZE_INFORMATION: Self = Self(3);
    pub const FILE_FS_DEVICE_INFORMATION: Self = Self(4);
    pub const FILE_FS_ATTRIBUTE_INFORMATION: Self = Self(5);
    pub const FILE_FS_CONTROL_INFORMATION: Self = Self(6);
    pub const FILE_FS_FULL_SIZE_INFORMATION: Self = Self(7);
    pub const FILE_FS_OBJECT_ID_INFORMATION: Self = Self(8);
    pub const FILE_FS_DRIVER_PATH_INFORMATION: Self = Self(9);
    pub const FILE_FS_VOLUME_FLAGS_INFORMATION: Self = Self(10);
    pub const FILE_FS_SECTOR_SIZE_INFORMATION: Self = Self(11);
}

/// A bounds-checked little-endian reader over an untrusted byte slice, shared by the
/// information-class and FSCTL payload decoders. Every read past the end is
/// [`Error::Truncated`]; nothing here can panic.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at offset 0 of `b`.
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Reader { b, pos: 0 }
    }
    /// Current offset from the start of the slice.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    /// Bytes left after the current offset.
    pub(crate) fn remaining(&self) -> usize {
        self.b.len().saturating_sub(self.pos)
    }
    /// The next `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(Error::Truncated)?;
        let s = self.b.get(self.pos..end).ok_or(Error::Truncated)?;
        self.pos = end;
        Ok(s)
    }
    /// Skips `n` bytes (reserved fields).
    pub(crate) fn skip(&mut self, n: usize) -> Result<()> {
        self.bytes(n).map(|_| ())
    }
    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }
    /// A byte.
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    /// A little-endian u16.
    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    /// A little-endian u32.
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    /// A little-endian u64.
    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// A UTF-16LE string of `n` bytes.
    pub(crate) fn utf16(&mut self, n: usize) -> Result<String> {
        super::utf16le_to_string(self.bytes(n)?)
    }
}

/// Decodes a list of entries chained by a leading 4-byte NextEntryOffset (MS-FSCC 2.4
/// lists). `parse` gets the bytes from the start of one entry to the end of `b` and returns
/// the item and how many bytes of the entry it used. Each NextEntryOffset must be a
/// multiple of `align`, cover the entry it follows and stay inside `b`; every step moves
/// forward, so the walk always ends. An empty `b` is an empty list.
pub(crate) fn decode_chain<T>(
    b: &[u8],
    align: usize,
    mut parse: impl FnMut(&[u8]) -> Result<(T, usize)>,
) -> Result<Vec<T>> {
    let mut items = Vec::new();
    let mut off = 0usize;
    if b.is_empty() {
        return Ok(items);
    }
    loop {
        let entry = b.get(off..).ok_or(Error::Truncated)?;
        let next = Reader::new(entry).u32()? as usize;
        let (item, used) = parse(entry)?;
        items.push(item);
        if next == 0 {
            return Ok(items);
        }
        if !next.is_multiple_of(align) || next < used.max(4) {
            return Err(Error::Invalid("NextEntryOffset"));
        }
        off = off.checked_add(next).ok_or(Error::Truncated)?;
        if off >= b.len() {
            return Err(Error::Truncated);
        }
    }
}

/// Appends `items` as a NextEntryOffset chain: each entry is written by `put` (which must
/// write a 4-byte placeholder first, then the rest), every entry but the last is padded
/// with zeros to `align` and gets its NextEntryOffset patched; the last one keeps 0 and
/// is not padded.
pub(crate) fn encode_chain<T>(
    items: &[T],
    align: usize,
    out: &mut super::BytesMut,
    mut put: impl FnMut(&T, &mut super::BytesMut) -> Result<()>,
) -> Result<()> {
    let mut prev: Option<usize> = None;
    for item in items {
        if let Some(p) = prev {
            super::pad_to(out, p, align);
            let next =
                u32::try_from(out.len() - p).map_err(|_| Error::Invalid("NextEntryOffset"))?;
            if let Some(slot) = out.get_mut(p..p + 4) {
                slot.copy_from_slice(&next.to_le_bytes());
            }
        }
        prev = Some(out.len());
        put(item, out)?;
    }
    Ok(())
}

/// `n` rounded up to a multiple of `align` (a power of two), or `None` on overflow.
pub(crate) fn align_up(n: usize, align: usize) -> Option<usize> {
    Some(n.checked_add(align - 1)? & !(align - 1))
}

/// The UTF-16LE length in bytes of `s`.
pub(crate) fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count() * 2
}

/// `utf16_len(s)` as a u32 length field, or an error when it does not fit.
pub(crate) fn utf16_len_u32(s: &str) -> Result<u32> {
    u32::try_from(utf16_len(s)).map_err(|_| Error::Invalid("name length"))
}
