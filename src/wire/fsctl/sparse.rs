//! Sparse file payloads: FILE_ZERO_DATA_INFORMATION for FSCTL_SET_ZERO_DATA (MS-FSCC
//! 2.3.86), FILE_ALLOCATED_RANGE_BUFFER for FSCTL_QUERY_ALLOCATED_RANGES input and output
//! (MS-FSCC 2.3.51, 2.3.52) and FILE_SET_SPARSE_BUFFER for FSCTL_SET_SPARSE (2.3.84).
//! Offsets are signed 64-bit as the spec defines them; negative values are the server's
//! to refuse (STATUS_INVALID_PARAMETER).

use crate::wire::info::Reader;
use crate::wire::{BytesMut, Error, Result};
use bytes::BufMut;

/// FILE_ZERO_DATA_INFORMATION: 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileZeroDataInformation {
    /// FileOffset: first byte to zero
    pub file_offset: i64,
    /// BeyondFinalZero: first byte not zeroed
    pub beyond_final_zero: i64,
}

impl FileZeroDataInformation {
    /// Size on the wire.
    pub const LEN: usize = 16;
    /// Appends 16 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_i64_le(self.file_offset);
        out.put_i64_le(self.beyond_final_zero);
    }
    /// Decodes the first 16 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        Ok(FileZeroDataInformation {
            file_offset: r.u64()? as i64,
            beyond_final_zero: r.u64()? as i64,
        })
    }
}

/// FILE_ALLOCATED_RANGE_BUFFER: 16 bytes (a range to query, or one allocated range).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileAllocatedRangeBuffer {
    /// FileOffset
    pub file_offset: i64,
    /// Length
    pub length: i64,
}

impl FileAllocatedRangeBuffer {
    /// Size on the wire.
    pub const LEN: usize = 16;
    /// Appends 16 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_i64_le(self.file_offset);
        out.put_i64_le(self.length);
    }
    /// Decodes the first 16 bytes of `b` (the FSCTL_QUERY_ALLOCATED_RANGES input).
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        Ok(FileAllocatedRangeBuffer {
            file_offset: r.u64()? as i64,
            length: r.u64()? as i64,
        })
    }
    /// Appends an output array of ranges.
    pub fn encode_list(list: &[Self], out: &mut BytesMut) {
        for r in list {
            r.encode(out);
        }
    }
    /// Decodes an output array; its length must be a multiple of 16.
    pub fn decode_list(b: &[u8]) -> Result<Vec<Self>> {
        if !b.len().is_multiple_of(Self::LEN) {
            return Err(Error::Invalid("FILE_ALLOCATED_RANGE_BUFFER array"));
        }
        b.chunks_exact(Self::LEN).map(Self::decode).collect()
    }
}

/// FILE_SET_SPARSE_BUFFER: an optional byte. An empty input buffer means TRUE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSetSparseBuffer {
    /// SetSparse
    pub set_sparse: bool,
}

impl Default for FileSetSparseBuffer {
    fn default() -> Self {
        FileSetSparseBuffer { set_sparse: true }
    }
}

impl FileSetSparseBuffer {
    /// Appends 1 byte.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.set_sparse as u8);
    }
    /// Decodes the input; empty means `set_sparse: true`, any non-zero byte is TRUE.
    pub fn decode(b: &[u8]) -> Result<Self> {
        Ok(FileSetSparseBuffer {
            set_sparse: b.first().is_none_or(|v| *v != 0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn set_sparse_optional_byte() {
        assert!(FileSetSparseBuffer::decode(&[]).unwrap().set_sparse);
        assert!(!FileSetSparseBuffer::decode(&[0]).unwrap().set_sparse);
        assert!(FileSetSparseBuffer::decode(&[2]).unwrap().set_sparse);
    }

    #[test]
    fn refuses_partial_range_array() {
        assert!(FileAllocatedRangeBuffer::decode_list(&[0; 17]).is_err());
        assert_eq!(
            FileZeroDataInformation::decode(&[0; 15]),
            Err(Error::Truncated)
        );
    }

    proptest! {
        #[test]
        fn round_trips(a in any::<i64>(), b in any::<i64>(), s in any::<bool>(),
                       list in proptest::collection::vec(any::<(i64, i64)>(), 0..8)) {
            let v = FileZeroDataInformation { file_offset: a, beyond_final_zero: b };
            let mut o = BytesMut::new();
            v.encode(&mut o);
            prop_assert_eq!(FileZeroDataInformation::decode(&o).unwrap(), v);
            let list: Vec<_> = list.into_iter().map(|(f, l)| FileAllocatedRangeBuffer { file_offset: f, length: l }).collect();
            let mut o = BytesMut::new();
            FileAllocatedRangeBuffer::encode_list(&list, &mut o);
            prop_assert_eq!(FileAllocatedRangeBuffer::decode_list(&o).unwrap(), list);
            let v = FileSetSparseBuffer { set_sparse: s };
            let mut o = BytesMut::new();
            v.encode(&mut o);
            prop_assert_eq!(FileSetSparseBuffer::decode(&o).unwrap(), v);
        }

        #[test]
        fn decoders_never_panic(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = FileZeroDataInformation::decode(&b);
            let _ = FileAllocatedRangeBuffer::decode(&b);
            let _ = FileAllocatedRangeBuffer::decode_list(&b);
            let _ = FileSetSparseBuffer::decode(&b);
        }
    }
}
