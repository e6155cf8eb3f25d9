//! Fixed-layout file information classes (MS-FSCC 2.4) returned by QUERY_INFO and accepted
//! by SET_INFO with InfoType SMB2_0_INFO_FILE: FileBasicInformation (2.4.7),
//! FileStandardInformation (2.4.47), FileInternalInformation (2.4.26),
//! FileEaInformation (2.4.13), FileAccessInformation (2.4.1), FileNameInformation (2.4.32,
//! also the layout of FileAlternateNameInformation 2.4.5, FileNormalizedNameInformation
//! 2.4.36 and FileShortNameInformation 2.4.45), FilePositionInformation (2.4.40),
//! FileModeInformation (2.4.31), FileAlignmentInformation (2.4.3), FileAllInformation
//! (2.4.2), FileNetworkOpenInformation (2.4.34), FileAttributeTagInformation (2.4.6),
//! FileCompressionInformation (2.4.10), FileIdInformation (2.4.25), the SMB2 form of
//! FileRenameInformation and FileLinkInformation (2.4.42.2, 2.4.28.2),
//! FileDispositionInformation (2.4.13/2.4.11), FileDispositionInformationEx (2.4.12),
//! FileEndOfFileInformation (2.4.14), FileAllocationInformation (2.4.4) and
//! FileValidDataLengthInformation (2.4.49). EA and stream lists are in [`super::ea`].
//!
//! Every type has `LEN` (the fixed part), `encode` and `decode`; `decode` accepts trailing
//! bytes and refuses a short buffer with `Truncated`.

use super::{utf16_len_u32, Reader};
use crate::wire::{put_utf16le, BytesMut, Error, Result};
use bytes::BufMut;

/// FileAttributes bits (MS-FSCC 2.6).
pub mod attributes {
    /// FILE_ATTRIBUTE_READONLY
    pub const READONLY: u32 = 0x0000_0001;
    /// FILE_ATTRIBUTE_HIDDEN
    pub const HIDDEN: u32 = 0x0000_0002;
    /// FILE_ATTRIBUTE_SYSTEM
    pub const SYSTEM: u32 = 0x0000_0004;
    /// FILE_ATTRIBUTE_DIRECTORY
    pub const DIRECTORY: u32 = 0x0000_0010;
    /// FILE_ATTRIBUTE_ARCHIVE
    pub const ARCHIVE: u32 = 0x0000_0020;
    /// FILE_ATTRIBUTE_NORMAL (only valid alone)
    pub const NORMAL: u32 = 0x0000_0080;
    /// FILE_ATTRIBUTE_TEMPORARY
    pub const TEMPORARY: u32 = 0x0000_0100;
    /// FILE_ATTRIBUTE_SPARSE_FILE
    pub const SPARSE_FILE: u32 = 0x0000_0200;
    /// FILE_ATTRIBUTE_REPARSE_POINT
    pub const REPARSE_POINT: u32 = 0x0000_0400;
    /// FILE_ATTRIBUTE_COMPRESSED
    pub const COMPRESSED: u32 = 0x0000_0800;
    /// FILE_ATTRIBUTE_OFFLINE
    pub const OFFLINE: u32 = 0x0000_1000;
    /// FILE_ATTRIBUTE_NOT_CONTENT_INDEXED
    pub const NOT_CONTENT_INDEXED: u32 = 0x0000_2000;
    /// FILE_ATTRIBUTE_ENCRYPTED
    pub const ENCRYPTED: u32 = 0x0000_4000;
    /// FILE_ATTRIBUTE_INTEGRITY_STREAM
    pub const INTEGRITY_STREAM: u32 = 0x0000_8000;
    /// FILE_ATTRIBUTE_NO_SCRUB_DATA
    pub const NO_SCRUB_DATA: u32 = 0x0002_0000;
}

/// What a FILETIME field of a SET_INFO FileBasicInformation asks for (MS-FSCC 2.4.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUpdate {
    /// 0: leave the time unchanged.
    Unchanged,
    /// -1 (0xFFFFFFFFFFFFFFFF): leave it unchanged and stop the file system from updating it
    /// automatically for operations on this handle.
    SuspendUpdates,
    /// -2: resume automatic updates suspended by -1 (and leave the value unchanged).
    ResumeUpdates,
    /// Any other value: set the time to this FILETIME.
    Set(u64),
}

impl TimeUpdate {
    /// Interprets a FILETIME received in SET_INFO.
    pub fn from_filetime(v: u64) -> TimeUpdate {
        match v {
            0 => TimeUpdate::Unchanged,
            u64::MAX => TimeUpdate::SuspendUpdates,
            0xFFFF_FFFF_FFFF_FFFE => TimeUpdate::ResumeUpdates,
            t => TimeUpdate::Set(t),
        }
    }
}

/// FILE_BASIC_INFORMATION (MS-FSCC 2.4.7): 40 bytes including 4 reserved.
/// Times are FILETIME (100 ns since 1601-01-01 UTC). In SET_INFO, a time of 0 means "leave
/// unchanged" and a FileAttributes of 0 means "leave attributes unchanged"; see
/// [`TimeUpdate::from_filetime`] for -1/-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileBasicInformation {
    /// CreationTime
    pub creation_time: u64,
    /// LastAccessTime
    pub last_access_time: u64,
    /// LastWriteTime
    pub last_write_time: u64,
    /// ChangeTime
    pub change_time: u64,
    /// FileAttributes ([`attributes`])
    pub file_attributes: u32,
}

impl FileBasicInformation {
    /// Size on the wire.
    pub const LEN: usize = 40;
    /// Appends 40 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u64_le(self.creation_time);
        out.put_u64_le(self.last_access_time);
        out.put_u64_le(self.last_write_time);
        out.put_u64_le(self.change_time);
        out.put_u32_le(self.file_attributes);
        out.put_u32_le(0);
    }
    /// Decodes the first 40 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        Self::read(&mut r)
    }
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self> {
        let v = FileBasicInformation {
            creation_time: r.u64()?,
            last_access_time: r.u64()?,
            last_write_time: r.u64()?,
            change_time: r.u64()?,
            file_attributes: r.u32()?,
        };
        r.skip(4)?;
        Ok(v)
    }
}

/// FILE_STANDARD_INFORMATION (MS-FSCC 2.4.47): 24 bytes including 2 reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileStandardInformation {
    /// AllocationSize
    pub allocation_size: u64,
    /// EndOfFile
    pub end_of_file: u64,
    /// NumberOfLinks
    pub number_of_links: u32,
    /// DeletePending
    pub delete_pending: bool,
    /// Directory
    pub directory: bool,
}

impl FileStandardInformation {
    /// Size on the wire.
    pub const LEN: usize = 24;
    /// Appends 24 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u64_le(self.allocation_size);
        out.put_u64_le(self.end_of_file);
        out.put_u32_le(self.number_of_links);
        out.put_u8(self.delete_pending as u8);
        out.put_u8(self.directory as u8);
        out.put_u16_le(0);
    }
    /// Decodes the first 24 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        Self::read(&mut Reader::new(b))
    }
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self> {
        let v = FileStandardInformation {
            allocation_size: r.u64()?,
            end_of_file: r.u64()?,
            number_of_links: r.u32()?,
            delete_pending: r.u8()? != 0,
            directory: r.u8()? != 0,
        };
        r.skip(2)?;
        Ok(v)
    }
}

/// Declares a structure made of one little-endian integer field.
macro_rules! one_field {
    ($(#[$m:meta])* $name:ident, $field:ident, $ty:ty, $put:ident, $get:ident, $fdoc:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name {
            #[doc = $fdoc]
            pub $field: $ty,
        }
        impl $name {
            /// Size on the wire.
            pub const LEN: usize = std::mem::size_of::<$ty>();
            /// Appends the structure.
            pub fn encode(&self, out: &mut BytesMut) {
                out.$put(self.$field);
            }
            /// Decodes the start of `b`.
            pub fn decode(b: &[u8]) -> Result<Self> {
                Self::read(&mut Reader::new(b))
            }
            #[allow(dead_code)]
            pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self> {
                Ok($name { $field: r.$get()? })
            }
        }
    };
}

one_field!(
    /// FILE_INTERNAL_INFORMATION (MS-FSCC 2.4.26): the 64-bit file ID.
    FileInternalInformation, index_number, u64, put_u64_le, u64, "IndexNumber"
);
one_field!(
    /// FILE_EA_INFORMATION (MS-FSCC 2.4.13): size of the file's extended attributes.
    FileEaInformation, ea_size, u32, put_u32_le, u32, "EaSize"
);
one_field!(
    /// FILE_ACCESS_INFORMATION (MS-FSCC 2.4.1): the access granted to the open.
    FileAccessInformation, access_flags, u32, put_u32_le, u32, "AccessFlags"
);
one_field!(
    /// FILE_POSITION_INFORMATION (MS-FSCC 2.4.40), query and set.
    FilePositionInformation, current_byte_offset, u64, put_u64_le, u64, "CurrentByteOffset"
);
one_field!(
    /// FILE_MODE_INFORMATION (MS-FSCC 2.4.31), query and set (FILE_WRITE_THROUGH 0x2,
    /// FILE_SEQUENTIAL_ONLY 0x4, FILE_NO_INTERMEDIATE_BUFFERING 0x8, FILE_SYNCHRONOUS_IO_*
    /// 0x10/0x20, FILE_DELETE_ON_CLOSE 0x1000).
    FileModeInformation, mode, u32, put_u32_le, u32, "Mode"
);
one_field!(
    /// FILE_ALIGNMENT_INFORMATION (MS-FSCC 2.4.3): 0 is FILE_BYTE_ALIGNMENT.
    FileAlignmentInformation, alignment_requirement, u32, put_u32_le, u32, "AlignmentRequirement"
);
one_field!(
    /// FILE_END_OF_FILE_INFORMATION (MS-FSCC 2.4.14), set only.
    FileEndOfFileInformation, end_of_file, u64, put_u64_le, u64, "EndOfFile"
);
one_field!(
    /// FILE_ALLOCATION_INFORMATION (MS-FSCC 2.4.4), set only.
    FileAllocationInformation, allocation_size, u64, put_u64_le, u64, "AllocationSize"
);
one_field!(
    /// FILE_VALID_DATA_LENGTH_INFORMATION (MS-FSCC 2.4.49), set only.
    FileValidDataLengthInformation, valid_data_length, u64, put_u64_le, u64, "ValidDataLength"
);
one_field!(
    /// FILE_DISPOSITION_INFORMATION_EX (MS-FSCC 2.4.12): see [`disposition_ex`] for flags.
    FileDispositionInformationEx, flags, u32, put_u32_le, u32, "Flags"
);

/// Flags of FILE_DISPOSITION_INFORMATION_EX (MS-FSCC 2.4.12).
pub mod disposition_ex {
    /// FILE_DISPOSITION_DO_NOT_DELETE
    pub const DO_NOT_DELETE: u32 = 0x0000_0000;
    /// FILE_DISPOSITION_DELETE
    pub const DELETE: u32 = 0x0000_0001;
    /// FILE_DISPOSITION_POSIX_SEMANTICS
    pub const POSIX_SEMANTICS: u32 = 0x0000_0002;
    /// FILE_DISPOSITION_FORCE_IMAGE_SECTION_CHECK
    pub const FORCE_IMAGE_SECTION_CHECK: u32 = 0x0000_0004;
    /// FILE_DISPOSITION_ON_CLOSE
    pub const ON_CLOSE: u32 = 0x0000_0008;
    /// FILE_DISPOSITION_IGNORE_READONLY_ATTRIBUTE
    pub const IGNORE_READONLY_ATTRIBUTE: u32 = 0x0000_0010;
}

/// FILE_DISPOSITION_INFORMATION (MS-FSCC 2.4.11): one byte, set only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileDispositionInformation {
    /// DeletePending (any non-zero byte is TRUE)
    pub delete_pending: bool,
}

impl FileDispositionInformation {
    /// Size on the wire.
    pub const LEN: usize = 1;
    /// Appends 1 byte.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.delete_pending as u8);
    }
    /// Decodes the first byte of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        Ok(FileDispositionInformation {
            delete_pending: r.u8()? != 0,
        })
    }
}

/// FILE_NAME_INFORMATION (MS-FSCC 2.4.32): FileNameLength (u32) then the UTF-16LE name.
/// Also the layout of FileAlternateNameInformation, FileNormalizedNameInformation and
/// FileShortNameInformation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileNameInformation {
    /// FileName
    pub file_name: String,
}

impl FileNameInformation {
    /// Size of the fixed part (FileNameLength).
    pub const LEN: usize = 4;
    /// Appends FileNameLength and the name.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        out.put_u32_le(utf16_len_u32(&self.file_name)?);
        put_utf16le(out, &self.file_name);
        Ok(())
    }
    /// Decodes the structure at the start of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        Self::read(&mut Reader::new(b))
    }
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self> {
        let n = r.u32()? as usize;
        Ok(FileNameInformation {
            file_name: r.utf16(n)?,
        })
    }
}

/// FILE_ALL_INFORMATION (MS-FSCC 2.4.2): the concatenation of Basic (40), Standard (24),
/// Internal (8), Ea (4), Access (4), Position (8), Mode (4), Alignment (4) and Name
/// (4 + name) information. The name starts at offset [`FileAllInformation::NAME_OFFSET`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileAllInformation {
    /// BasicInformation
    pub basic: FileBasicInformation,
    /// StandardInformation
    pub standard: FileStandardInformation,
    /// InternalInformation
    pub internal: FileInternalInformation,
    /// EaInformation
    pub ea: FileEaInformation,
    /// AccessInformation
    pub access: FileAccessInformation,
    /// PositionInformation
    pub position: FilePositionInformation,
    /// ModeInformation
    pub mode: FileModeInformation,
    /// AlignmentInformation
    pub alignment: FileAlignmentInformation,
    /// NameInformation
    pub name: FileNameInformation,
}

impl FileAllInformation {
    /// Size of the fixed part, up to and including NameInformation.FileNameLength.
    pub const LEN: usize = 100;
    /// Offset of NameInformation.FileName.
    pub const NAME_OFFSET: usize = 100;
    /// Appends the whole structure.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        self.basic.encode(out);
        self.standard.encode(out);
        self.internal.encode(out);
        self.ea.encode(out);
        self.access.encode(out);
        self.position.encode(out);
        self.mode.encode(out);
        self.alignment.encode(out);
        self.name.encode(out)
    }
    /// Decodes the structure at the start of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        Ok(FileAllInformation {
            basic: FileBasicInformation::read(&mut r)?,
            standard: FileStandardInformation::read(&mut r)?,
            internal: FileInternalInformation::read(&mut r)?,
            ea: FileEaInformation::read(&mut r)?,
            access: FileAccessInformation::read(&mut r)?,
            position: FilePositionInformation::read(&mut r)?,
            mode: FileModeInformation::read(&mut r)?,
            alignment: FileAlignmentInformation::read(&mut r)?,
            name: FileNameInformation::read(&mut r)?,
        })
    }
}

/// FILE_NETWORK_OPEN_INFORMATION (MS-FSCC 2.4.34): 56 bytes including 4 reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileNetworkOpenInformation {
    /// CreationTime
    pub creation_time: u64,
    /// LastAccessTime
    pub last_access_time: u64,
    /// LastWriteTime
    pub last_write_time: u64,
    /// ChangeTime
    pub change_time: u64,
    /// AllocationSize
    pub allocation_size: u64,
    /// EndOfFile
    pub end_of_file: u64,
    /// FileAttributes
    pub file_attributes: u32,
}

impl FileNetworkOpenInformation {
    /// Size on the wire.
    pub const LEN: usize = 56;
    /// Appends 56 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        for v in [
            self.creation_time,
            self.last_access_time,
            self.last_write_time,
            self.change_time,
            self.allocation_size,
            self.end_of_file,
        ] {
            out.put_u64_le(v);
        }
        out.put_u32_le(self.file_attributes);
        out.put_u32_le(0);
    }
    /// Decodes the first 56 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        let v = FileNetworkOpenInformation {
            creation_time: r.u64()?,
            last_access_time: r.u64()?,
            last_write_time: r.u64()?,
            change_time: r.u64()?,
            allocation_size: r.u64()?,
            end_of_file: r.u64()?,
            file_attributes: r.u32()?,
        };
        r.skip(4)?;
        Ok(v)
    }
}

/// FILE_ATTRIBUTE_TAG_INFORMATION (MS-FSCC 2.4.6): 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileAttributeTagInformation {
    /// FileAttributes
    pub file_attributes: u32,
    /// ReparseTag (0 when the file is not a reparse point)
    pub reparse_tag: u32,
}

impl FileAttributeTagInformation {
    /// Size on the wire.
    pub const LEN: usize = 8;
    /// Appends 8 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u32_le(self.file_attributes);
        out.put_u32_le(self.reparse_tag);
    }
    /// Decodes the first 8 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        Ok(FileAttributeTagInformation {
            file_attributes: r.u32()?,
            reparse_tag: r.u32()?,
        })
    }
}

/// FILE_COMPRESSION_INFORMATION (MS-FSCC 2.4.10): 16 bytes including 3 reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileCompressionInformation {
    /// CompressedFileSize
    pub compressed_file_size: u64,
    /// CompressionFormat (0 COMPRESSION_FORMAT_NONE, 2 COMPRESSION_FORMAT_LZNT1)
    pub compression_format: u16,
    /// CompressionUnitShift
    pub compression_unit_shift: u8,
    /// ChunkShift
    pub chunk_shift: u8,
    /// ClusterShift
    pub cluster_shift: u8,
}

impl FileCompressionInformation {
    /// Size on the wire.
    pub const LEN: usize = 16;
    /// Appends 16 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u64_le(self.compressed_file_size);
        out.put_u16_le(self.compression_format);
        out.put_u8(self.compression_unit_shift);
        out.put_u8(self.chunk_shift);
        out.put_u8(self.cluster_shift);
        out.put_bytes(0, 3);
    }
    /// Decodes the first 16 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        let v = FileCompressionInformation {
            compressed_file_size: r.u64()?,
            compression_format: r.u16()?,
            compression_unit_shift: r.u8()?,
            chunk_shift: r.u8()?,
            cluster_shift: r.u8()?,
        };
        r.skip(3)?;
        Ok(v)
    }
}

/// FILE_ID_INFORMATION (MS-FSCC 2.4.25): VolumeSerialNumber and the 128-bit FileId.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileIdInformation {
    /// VolumeSerialNumber
    pub volume_serial_number: u64,
    /// FileId (FILE_ID_128, 16 opaque bytes)
    pub file_id: [u8; 16],
}

impl FileIdInformation {
    /// Size on the wire.
    pub const LEN: usize = 24;
    /// Appends 24 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u64_le(self.volume_serial_number);
        out.put_slice(&self.file_id);
    }
    /// Decodes the first 24 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        Ok(FileIdInformation {
            volume_serial_number: r.u64()?,
            file_id: r.array()?,
        })
    }
}

/// FILE_RENAME_INFORMATION_TYPE_2 (MS-FSCC 2.4.42.2), the SMB2 form used by SET_INFO
/// FileRenameInformation: ReplaceIfExists (1), Reserved (7), RootDirectory (8, MUST be 0
/// over SMB2), FileNameLength (4), FileName. FileLinkInformation (2.4.28.2) has the same
/// layout, see [`FileLinkInformation`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileRenameInformation {
    /// ReplaceIfExists
    pub replace_if_exists: bool,
    /// RootDirectory
    pub root_directory: u64,
    /// FileName: the new name, relative to the share root.
    pub file_name: String,
}

/// FILE_LINK_INFORMATION_TYPE_2 (MS-FSCC 2.4.28.2): same layout as the rename structure,
/// with the field ReplaceIfExists meaning "replace an existing link of that name".
pub type FileLinkInformation = FileRenameInformation;

impl FileRenameInformation {
    /// Size of the fixed part.
    pub const LEN: usize = 20;
    /// Appends the structure.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        out.put_u8(self.replace_if_exists as u8);
        out.put_bytes(0, 7);
        out.put_u64_le(self.root_directory);
        out.put_u32_le(utf16_len_u32(&self.file_name)?);
        put_utf16le(out, &self.file_name);
        Ok(())
    }
    /// Decodes the structure at the start of `b`; the name must be inside `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        let replace_if_exists = r.u8()? != 0;
        r.skip(7)?;
        let root_directory = r.u64()?;
        let n = r.u32()? as usize;
        if !n.is_multiple_of(2) {
            return Err(Error::Invalid("FileNameLength"));
        }
        Ok(FileRenameInformation {
            replace_if_exists,
            root_directory,
            file_name: r.utf16(n)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc<F: FnOnce(&mut BytesMut)>(f: F) -> Vec<u8> {
        let mut out = BytesMut::new();
        f(&mut out);
        out.to_vec()
    }

    #[test]
    fn sizes_match_ms_fscc() {
        assert_eq!(enc(|o| FileBasicInformation::default().encode(o)).len(), 40);
        assert_eq!(
            enc(|o| FileStandardInformation::default().encode(o)).len(),
            24
        );
        assert_eq!(
            enc(|o| FileNetworkOpenInformation::default().encode(o)).len(),
            56
        );
        assert_eq!(
            enc(|o| FileCompressionInformation::default().encode(o)).len(),
            16
        );
        assert_eq!(enc(|o| FileIdInformation::default().encode(o)).len(), 24);
        let all = FileAllInformation {
            name: FileNameInformation {
                file_name: "\\a.txt".into(),
            },
            ..Default::default()
        };
        let b = enc(|o| all.encode(o).unwrap());
        assert_eq!(b.len(), 100 + 12);
        assert_eq!(&b[96..100], &12u32.to_le_bytes());
        assert_eq!(&b[100..102], &[b'\\', 0]);
    }

    #[test]
    fn rename_layout() {
        let r = FileRenameInformation {
            replace_if_exists: true,
            root_directory: 0,
            file_name: "b".into(),
        };
        let b = enc(|o| r.encode(o).unwrap());
        assert_eq!(
            b,
            [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, b'b', 0]
        );
    }

    #[test]
    fn refuses_rename_name_past_end() {
        let mut b = vec![0u8; 20];
        b[16] = 4;
        b.extend_from_slice(&[b'a', 0]);
        assert_eq!(FileRenameInformation::decode(&b), Err(Error::Truncated));
        b[16] = 3;
        assert!(FileRenameInformation::decode(&b).is_err());
    }

    #[test]
    fn time_update_values() {
        assert_eq!(TimeUpdate::from_filetime(0), TimeUpdate::Unchanged);
        assert_eq!(
            TimeUpdate::from_filetime(u64::MAX),
            TimeUpdate::SuspendUpdates
        );
        assert_eq!(
            TimeUpdate::from_filetime(u64::MAX - 1),
            TimeUpdate::ResumeUpdates
        );
        assert_eq!(TimeUpdate::from_filetime(7), TimeUpdate::Set(7));
    }

    fn basic() -> impl Strategy<Value = FileBasicInformation> {
        (any::<[u64; 4]>(), any::<u32>()).prop_map(|(t, a)| FileBasicInformation {
            creation_time: t[0],
            last_access_time: t[1],
            last_write_time: t[2],
            change_time: t[3],
            file_attributes: a,
        })
    }

    proptest! {
        #[test]
        fn basic_round_trip(v in basic()) {
            prop_assert_eq!(FileBasicInformation::decode(&enc(|o| v.encode(o))).unwrap(), v);
        }

        #[test]
        fn all_round_trip(b in basic(), s in (any::<[u64; 2]>(), any::<u32>(), any::<bool>(), any::<bool>()),
                          u in any::<[u32; 4]>(), p in any::<[u64; 2]>(), name in ".{0,20}") {
            let v = FileAllInformation {
                basic: b,
                standard: FileStandardInformation { allocation_size: s.0[0], end_of_file: s.0[1],
                    number_of_links: s.1, delete_pending: s.2, directory: s.3 },
                internal: FileInternalInformation { index_number: p[0] },
                ea: FileEaInformation { ea_size: u[0] },
                access: FileAccessInformation { access_flags: u[1] },
                position: FilePositionInformation { current_byte_offset: p[1] },
                mode: FileModeInformation { mode: u[2] },
                alignment: FileAlignmentInformation { alignment_requirement: u[3] },
                name: FileNameInformation { file_name: name },
            };
            let b = enc(|o| v.encode(o).unwrap());
            prop_assert_eq!(FileAllInformation::decode(&b).unwrap(), v);
        }

        #[test]
        fn small_round_trips(t in any::<[u64; 6]>(), a in any::<u32>(), c in any::<(u16, u8, u8, u8)>(),
                             id in any::<[u8; 16]>(), d in any::<bool>()) {
            let n = FileNetworkOpenInformation { creation_time: t[0], last_access_time: t[1],
                last_write_time: t[2], change_time: t[3], allocation_size: t[4], end_of_file: t[5],
                file_attributes: a };
            prop_assert_eq!(FileNetworkOpenInformation::decode(&enc(|o| n.encode(o))).unwrap(), n);
            let x = FileAttributeTagInformation { file_attributes: a, reparse_tag: c.0 as u32 };
            prop_assert_eq!(FileAttributeTagInformation::decode(&enc(|o| x.encode(o))).unwrap(), x);
            let x = FileCompressionInformation { compressed_file_size: t[0], compression_format: c.0,
                compression_unit_shift: c.1, chunk_shift: c.2, cluster_shift: c.3 };
            prop_assert_eq!(FileCompressionInformation::decode(&enc(|o| x.encode(o))).unwrap(), x);
            let x = FileIdInformation { volume_serial_number: t[1], file_id: id };
            prop_assert_eq!(FileIdInformation::decode(&enc(|o| x.encode(o))).unwrap(), x);
            let x = FileDispositionInformation { delete_pending: d };
            prop_assert_eq!(FileDispositionInformation::decode(&enc(|o| x.encode(o))).unwrap(), x);
            let x = FileDispositionInformationEx { flags: a };
            prop_assert_eq!(FileDispositionInformationEx::decode(&enc(|o| x.encode(o))).unwrap(), x);
            let x = FileEndOfFileInformation { end_of_file: t[2] };
            prop_assert_eq!(FileEndOfFileInformation::decode(&enc(|o| x.encode(o))).unwrap(), x);
            let x = FileAllocationInformation { allocation_size: t[3] };
            prop_assert_eq!(FileAllocationInformation::decode(&enc(|o| x.encode(o))).unwrap(), x);
            let x = FileValidDataLengthInformation { valid_data_length: t[4] };
            prop_assert_eq!(FileValidDataLengthInformation::decode(&enc(|o| x.encode(o))).unwrap(), x);
        }

        #[test]
        fn rename_round_trip(r in any::<bool>(), root in any::<u64>(), name in ".{0,30}") {
            let v = FileRenameInformation { replace_if_exists: r, root_directory: root, file_name: name };
            prop_assert_eq!(FileRenameInformation::decode(&enc(|o| v.encode(o).unwrap())).unwrap(), v);
        }

        #[test]
        fn decoders_never_panic(b in proptest::collection::vec(any::<u8>(), 0..160)) {
            let _ = FileBasicInformation::decode(&b);
            let _ = FileStandardInformation::decode(&b);
            let _ = FileAllInformation::decode(&b);
            let _ = FileNameInformation::decode(&b);
            let _ = FileNetworkOpenInformation::decode(&b);
            let _ = FileAttributeTagInformation::decode(&b);
            let _ = FileCompressionInformation::decode(&b);
            let _ = FileIdInformation::decode(&b);
            let _ = FileRenameInformation::decode(&b);
            let _ = FileDispositionInformation::decode(&b);
            let _ = FileModeInformation::decode(&b);
            let _ = FilePositionInformation::decode(&b);
        }
    }
}
