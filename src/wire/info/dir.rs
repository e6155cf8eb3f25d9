//! Directory enumeration entries returned by QUERY_DIRECTORY (MS-SMB2 2.2.34; MS-FSCC
//! 2.4.10 FileDirectoryInformation, 2.4.17 FileFullDirectoryInformation, 2.4.8
//! FileBothDirectoryInformation, 2.4.23 FileIdBothDirectoryInformation, 2.4.24
//! FileIdFullDirectoryInformation, 2.4.22 FileIdExtdDirectoryInformation, 2.4.21
//! FileIdExtdBothDirectoryInformation, 2.4.33 FileNamesInformation).
//!
//! Entries in one response are chained by NextEntryOffset, each starting on an 8-byte
//! boundary; the last has NextEntryOffset 0 and no padding after it. [`DirEntryWriter`]
//! builds such a chain under an OutputBufferLength limit; [`decode_dir_entries`] reads one.
//!
//! In the classes without a ReparsePointTag field, EaSize carries the reparse tag when
//! FILE_ATTRIBUTE_REPARSE_POINT is set (MS-FSCC 2.4.17); the encoder and decoder do that
//! substitution from/to [`DirEntry::reparse_tag`].

use super::file::attributes::REPARSE_POINT;
use super::{decode_chain, utf16_len, FileInformationClass, Reader};
use crate::wire::{put_utf16le, BytesMut, Error, Result};
use bytes::BufMut;

/// Maximum size in bytes of the ShortName field (12 UTF-16 code units, 8.3 name).
pub const SHORT_NAME_MAX: usize = 24;

/// One directory entry, the union of the fields of the supported classes. A class encodes
/// only the fields it has; the others are ignored on encode and zero/empty on decode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirEntry {
    /// FileIndex (0 when the file system has no stable index)
    pub file_index: u32,
    /// CreationTime (FILETIME)
    pub creation_time: u64,
    /// LastAccessTime
    pub last_access_time: u64,
    /// LastWriteTime
    pub last_write_time: u64,
    /// ChangeTime
    pub change_time: u64,
    /// EndOfFile
    pub end_of_file: u64,
    /// AllocationSize
    pub allocation_size: u64,
    /// FileAttributes
    pub file_attributes: u32,
    /// EaSize (combined size of the extended attributes)
    pub ea_size: u32,
    /// ShortName (8.3 name, at most 12 UTF-16 code units; empty when none)
    pub short_name: String,
    /// FileId of the Id*Directory classes with a 64-bit id
    pub file_id: u64,
    /// FileId of the IdExtd* classes (FILE_ID_128)
    pub file_id_128: [u8; 16],
    /// ReparsePointTag (0 unless FILE_ATTRIBUTE_REPARSE_POINT)
    pub reparse_tag: u32,
    /// FileName
    pub name: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Directory,
    Full,
    Both,
    IdBoth,
    IdFull,
    IdExtd,
    IdExtdBoth,
    Names,
}

fn kind(class: FileInformationClass) -> Option<Kind> {
    Some(match class {
        FileInformationClass::FILE_DIRECTORY_INFORMATION => Kind::Directory,
        FileInformationClass::FILE_FULL_DIRECTORY_INFORMATION => Kind::Full,
        FileInformationClass::FILE_BOTH_DIRECTORY_INFORMATION => Kind::Both,
        FileInformationClass::FILE_ID_BOTH_DIRECTORY_INFORMATION => Kind::IdBoth,
        FileInformationClass::FILE_ID_FULL_DIRECTORY_INFORMATION => Kind::IdFull,
        FileInformationClass::FILE_ID_EXTD_DIRECTORY_INFORMATION => Kind::IdExtd,
        FileInformationClass::FILE_ID_EXTD_BOTH_DIRECTORY_INFORMATION => Kind::IdExtdBoth,
        FileInformationClass::FILE_NAMES_INFORMATION => Kind::Names,
        _ => return None,
    })
}

impl Kind {
    /// Offset of FileName, i.e. the size of the fixed part.
    fn fixed_len(self) -> usize {
        match self {
            Kind::Directory => 64,
            Kind::Full => 68,
            Kind::Both => 94,
            Kind::IdBoth => 104,
            Kind::IdFull => 80,
            Kind::IdExtd => 88,
            Kind::IdExtdBoth => 114,
            Kind::Names => 12,
        }
    }
    /// EaSize doubles as the reparse tag (no ReparsePointTag field).
    fn ea_is_tag(self) -> bool {
        matches!(self, Kind::Full | Kind::Both | Kind::IdBoth | Kind::IdFull)
    }
}

/// Whether QUERY_DIRECTORY with `class` is supported by [`encode_dir_entry`].
pub fn is_supported(class: FileInformationClass) -> bool {
    kind(class).is_some()
}

/// Offset of FileName in an entry of `class` (the fixed part), or `None` if unsupported.
pub fn fixed_len(class: FileInformationClass) -> Option<usize> {
    kind(class).map(Kind::fixed_len)
}

/// Length of one entry of `class` whose name is `name_len_utf16_bytes` long, without the
/// padding that precedes the next entry; `None` for an unsupported class or on overflow.
pub fn entry_len(class: FileInformationClass, name_len_utf16_bytes: usize) -> Option<usize> {
    fixed_len(class)?.checked_add(name_len_utf16_bytes)
}

/// Appends one entry of `class` for `e` with NextEntryOffset 0 and returns its length.
/// Fails for an unsupported class (the server answers STATUS_INVALID_INFO_CLASS), a short
/// name longer than [`SHORT_NAME_MAX`] bytes, or a name longer than u32.
pub fn encode_dir_entry(
    class: FileInformationClass,
    e: &DirEntry,
    out: &mut BytesMut,
) -> Result<usize> {
    let k = kind(class).ok_or(Error::Invalid("FileInformationClass"))?;
    let name_len = u32::try_from(utf16_len(&e.name)).map_err(|_| Error::Invalid("FileName"))?;
    let short: Vec<u8> = crate::wire::string_to_utf16le(&e.short_name);
    if short.len() > SHORT_NAME_MAX {
        return Err(Error::Invalid("ShortName"));
    }
    let start = out.len();
    out.put_u32_le(0);
    out.put_u32_le(e.file_index);
    if k == Kind::Names {
        out.put_u32_le(name_len);
        put_utf16le(out, &e.name);
        return Ok(out.len() - start);
    }
    for v in [
        e.creation_time,
        e.last_access_time,
        e.last_write_time,
        e.change_time,
        e.end_of_file,
        e.allocation_size,
    ] {
        out.put_u64_le(v);
    }
    out.put_u32_le(e.file_attributes);
    out.put_u32_le(name_len);
    if k != Kind::Directory {
        let ea = if k.ea_is_tag() && e.file_attributes & REPARSE_POINT != 0 {
            e.reparse_tag
        } else {
            e.ea_size
        };
        out.put_u32_le(ea);
    }
    let put_short = |out: &mut BytesMut| {
        out.put_u8(short.len() as u8);
        out.put_u8(0);
        out.put_slice(&short);
        out.put_bytes(0, SHORT_NAME_MAX - short.len());
    };
    match k {
        Kind::Both => put_short(out),
        Kind::IdBoth => {
            put_short(out);
            out.put_u16_le(0);
            out.put_u64_le(e.file_id);
        }
        Kind::IdFull => {
            out.put_u32_le(0);
            out.put_u64_le(e.file_id);
        }
        Kind::IdExtd | Kind::IdExtdBoth => {
            out.put_u32_le(e.reparse_tag);
            out.put_slice(&e.file_id_128);
            if k == Kind::IdExtdBoth {
                put_short(out);
            }
        }
        Kind::Directory | Kind::Full | Kind::Names => {}
    }
    put_utf16le(out, &e.name);
    Ok(out.len() - start)
}

fn parse_entry(k: Kind, entry: &[u8]) -> Result<(DirEntry, usize)> {
    let mut r = Reader::new(entry);
    r.skip(4)?;
    let mut e = DirEntry {
        file_index: r.u32()?,
        ..Default::default()
    };
    if k == Kind::Names {
        let n = r.u32()? as usize;
        e.name = r.utf16(n)?;
        return Ok((e, r.pos()));
    }
    e.creation_time = r.u64()?;
    e.last_access_time = r.u64()?;
    e.last_write_time = r.u64()?;
    e.change_time = r.u64()?;
    e.end_of_file = r.u64()?;
    e.allocation_size = r.u64()?;
    e.file_attributes = r.u32()?;
    let name_len = r.u32()? as usize;
    if k != Kind::Directory {
        let ea = r.u32()?;
        if k.ea_is_tag() && e.file_attributes & REPARSE_POINT != 0 {
            e.reparse_tag = ea;
        } else {
            e.ea_size = ea;
        }
    }
    let read_short = |r: &mut Reader<'_>| -> Result<String> {
        let n = r.u8()? as usize;
        r.skip(1)?;
        let sn = r.bytes(SHORT_NAME_MAX)?;
        let sn = sn.get(..n).ok_or(Error::Invalid("ShortNameLength"))?;
        crate::wire::utf16le_to_string(sn)
    };
    match k {
        Kind::Both => e.short_name = read_short(&mut r)?,
        Kind::IdBoth => {
            e.short_name = read_short(&mut r)?;
            r.skip(2)?;
            e.file_id = r.u64()?;
        }
        Kind::IdFull => {
            r.skip(4)?;
            e.file_id = r.u64()?;
        }
        Kind::IdExtd | Kind::IdExtdBoth => {
            e.reparse_tag = r.u32()?;
            e.file_id_128 = r.array()?;
            if k == Kind::IdExtdBoth {
                e.short_name = read_short(&mut r)?;
            }
        }
        Kind::Directory | Kind::Full | Kind::Names => {}
    }
    e.name = r.utf16(name_len)?;
    Ok((e, r.pos()))
}

/// Decodes a QUERY_DIRECTORY OutputBuffer of `class` (for tests and clients). Entries must
/// be 8-byte aligned and NextEntryOffset must cover each entry.
pub fn decode_dir_entries(class: FileInformationClass, b: &[u8]) -> Result<Vec<DirEntry>> {
    let k = kind(class).ok_or(Error::Invalid("FileInformationClass"))?;
    decode_chain(b, 8, |entry| parse_entry(k, entry))
}

/// Builds a chain of directory entries in `out` without going past `max_len` bytes (the
/// request's OutputBufferLength, capped by the connection's MaxTransactSize). Each entry
/// after the first is preceded by zero padding to an 8-byte boundary (relative to where the
/// writer started), and the previous entry's NextEntryOffset is patched to point at it.
pub struct DirEntryWriter<'a> {
    out: &'a mut BytesMut,
    start: usize,
    max_len: usize,
    last: Option<usize>,
    count: usize,
}

impl<'a> DirEntryWriter<'a> {
    /// A writer appending to `out`, allowed to add at most `max_len` bytes.
    pub fn new(out: &'a mut BytesMut, max_len: usize) -> Self {
        let start = out.len();
        DirEntryWriter {
            out,
            start,
            max_len,
            last: None,
            count: 0,
        }
    }

    /// Appends `e` if it fits: `Ok(true)` when appended, `Ok(false)` (nothing written)
    /// when the padded entry would exceed the limit. Errors as [`encode_dir_entry`].
    pub fn push(&mut self, class: FileInformationClass, e: &DirEntry) -> Result<bool> {
        let len =
            entry_len(class, utf16_len(&e.name)).ok_or(Error::Invalid("FileInformationClass"))?;
        let used = self.len();
        let at = match self.last {
            Some(_) => super::align_up(used, 8).ok_or(Error::Invalid("length"))?,
            None => 0,
        };
        match at.checked_add(len) {
            Some(end) if end <= self.max_len => {}
            _ => return Ok(false),
        }
        self.out.put_bytes(0, at - used);
        let entry_start = self.out.len();
        let written = match encode_dir_entry(class, e, self.out) {
            Ok(n) => n,
            Err(err) => {
                self.out.truncate(entry_start - (at - used));
                return Err(err);
            }
        };
        debug_assert_eq!(written, len);
        if let Some(prev) = self.last {
            let next = u32::try_from(entry_start - prev).map_err(|_| Error::Invalid("length"))?;
            if let Some(slot) = self.out.get_mut(prev..prev + 4) {
                slot.copy_from_slice(&next.to_le_bytes());
            }
        }
        self.last = Some(entry_start);
        self.count += 1;
        Ok(true)
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.out.len() - self.start
    }

    /// True when no entry has been written.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Number of entries written.
    pub fn count(&self) -> usize {
        self.count
    }
}

#[cfg(test)]
#[path = "dir_tests.rs"]
mod tests;
