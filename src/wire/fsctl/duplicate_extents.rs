//! Block cloning payloads: DUPLICATE_EXTENTS_DATA for FSCTL_DUPLICATE_EXTENTS_TO_FILE
//! (MS-FSCC 2.3.8) and SMB2_DUPLICATE_EXTENTS_DATA_EX for
//! FSCTL_DUPLICATE_EXTENTS_TO_FILE_EX (MS-FSCC 2.3.9.2). Over SMB2 the source handle is
//! an SMB2_FILEID (MS-SMB2 2.2.14.1).

use crate::wire::info::Reader;
use crate::wire::{BytesMut, FileId, Result};
use bytes::BufMut;

/// DUPLICATE_EXTENTS_DATA_EX_SOURCE_ATOMIC: the source range is read atomically.
pub const DUPLICATE_EXTENTS_DATA_EX_SOURCE_ATOMIC: u32 = 0x0000_0001;
/// The StructureSize MS-FSCC 2.3.9.2 specifies for SMB2_DUPLICATE_EXTENTS_DATA_EX.
pub const SMB2_DUPLICATE_EXTENTS_DATA_EX_SIZE: u64 = 0x30;

fn read_file_id(r: &mut Reader<'_>) -> Result<FileId> {
    Ok(FileId {
        persistent: r.u64()?,
        volatile: r.u64()?,
    })
}

/// DUPLICATE_EXTENTS_DATA (SMB2 form): 40 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DuplicateExtentsData {
    /// FileHandle: the SMB2 FileId of the source open
    pub file_id: FileId,
    /// SourceFileOffset
    pub source_file_offset: i64,
    /// TargetFileOffset
    pub target_file_offset: i64,
    /// ByteCount
    pub byte_count: i64,
}

impl DuplicateExtentsData {
    /// Size on the wire.
    pub const LEN: usize = 40;
    /// Appends 40 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        self.file_id.encode(out);
        out.put_i64_le(self.source_file_offset);
        out.put_i64_le(self.target_file_offset);
        out.put_i64_le(self.byte_count);
    }
    /// Decodes the first 40 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        Ok(DuplicateExtentsData {
            file_id: read_file_id(&mut r)?,
            source_file_offset: r.u64()? as i64,
            target_file_offset: r.u64()? as i64,
            byte_count: r.u64()? as i64,
        })
    }
}

/// SMB2_DUPLICATE_EXTENTS_DATA_EX: StructureSize (8), SourceFileID (16),
/// SourceFileOffset, TargetFileOffset, ByteCount (8 each), Flags (4), Reserved (4);
/// 56 bytes. StructureSize is kept as received (the spec says 0x30).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DuplicateExtentsDataEx {
    /// StructureSize
    pub structure_size: u64,
    /// SourceFileID
    pub file_id: FileId,
    /// SourceFileOffset
    pub source_file_offset: i64,
    /// TargetFileOffset
    pub target_file_offset: i64,
    /// ByteCount
    pub byte_count: i64,
    /// Flags ([`DUPLICATE_EXTENTS_DATA_EX_SOURCE_ATOMIC`])
    pub flags: u32,
}

impl DuplicateExtentsDataEx {
    /// Size on the wire including Reserved.
    pub const LEN: usize = 56;
    /// Bytes required to decode (Reserved may be omitted).
    pub const MIN_LEN: usize = 52;
    /// Appends 56 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u64_le(self.structure_size);
        self.file_id.encode(out);
        out.put_i64_le(self.source_file_offset);
        out.put_i64_le(self.target_file_offset);
        out.put_i64_le(self.byte_count);
        out.put_u32_le(self.flags);
        out.put_u32_le(0);
    }
    /// Decodes the structure (at least 52 bytes).
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        Ok(DuplicateExtentsDataEx {
            structure_size: r.u64()?,
            file_id: read_file_id(&mut r)?,
            source_file_offset: r.u64()? as i64,
            target_file_offset: r.u64()? as i64,
            byte_count: r.u64()? as i64,
            flags: r.u32()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Error;
    use proptest::prelude::*;

    #[test]
    fn layout() {
        let v = DuplicateExtentsDataEx {
            structure_size: SMB2_DUPLICATE_EXTENTS_DATA_EX_SIZE,
            file_id: FileId {
                persistent: 1,
                volatile: 2,
            },
            source_file_offset: 3,
            target_file_offset: 4,
            byte_count: 5,
            flags: DUPLICATE_EXTENTS_DATA_EX_SOURCE_ATOMIC,
        };
        let mut o = BytesMut::new();
        v.encode(&mut o);
        assert_eq!(o.len(), 56);
        assert_eq!(&o[8..16], &1u64.to_le_bytes());
        assert_eq!(&o[48..52], &1u32.to_le_bytes());
        assert_eq!(DuplicateExtentsDataEx::decode(&o[..52]).unwrap(), v);
        assert_eq!(
            DuplicateExtentsDataEx::decode(&o[..51]),
            Err(Error::Truncated)
        );
        assert_eq!(
            DuplicateExtentsData::decode(&[0; 39]),
            Err(Error::Truncated)
        );
    }

    proptest! {
        #[test]
        fn round_trips(q in any::<[u64; 6]>(), f in any::<u32>()) {
            let id = FileId { persistent: q[0], volatile: q[1] };
            let v = DuplicateExtentsData { file_id: id, source_file_offset: q[2] as i64,
                target_file_offset: q[3] as i64, byte_count: q[4] as i64 };
            let mut o = BytesMut::new();
            v.encode(&mut o);
            prop_assert_eq!(o.len(), 40);
            prop_assert_eq!(DuplicateExtentsData::decode(&o).unwrap(), v);
            let v = DuplicateExtentsDataEx { structure_size: q[5], file_id: id, source_file_offset: q[2] as i64,
                target_file_offset: q[3] as i64, byte_count: q[4] as i64, flags: f };
            let mut o = BytesMut::new();
            v.encode(&mut o);
            prop_assert_eq!(DuplicateExtentsDataEx::decode(&o).unwrap(), v);
        }

        #[test]
        fn decoders_never_panic(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = DuplicateExtentsData::decode(&b);
            let _ = DuplicateExtentsDataEx::decode(&b);
        }
    }
}
