//! FSCTL_FILE_LEVEL_TRIM payloads (MS-FSCC 2.3.13, 2.3.13.1, 2.3.14): FILE_LEVEL_TRIM (Key,
//! NumRanges, then NumRanges FILE_LEVEL_TRIM_RANGE of Offset and Length) and
//! FILE_LEVEL_TRIM_OUTPUT (NumRangesProcessed).
//!
//! Decoding checks what MS-FSA 2.1.5.10.6 makes STATUS_INVALID_PARAMETER: a buffer shorter than
//! FILE_LEVEL_TRIM, NumRanges zero, NumRanges x 16 overflowing 32 bits or running past the
//! buffer. Ranges are borrowed from the input, never copied into an allocation sized by the
//! client's count.

use crate::wire::{Error, Result};

/// Size of the FILE_LEVEL_TRIM header (Key, NumRanges).
pub const FILE_LEVEL_TRIM_LEN: usize = 8;
/// Size of one FILE_LEVEL_TRIM_RANGE.
pub const FILE_LEVEL_TRIM_RANGE_LEN: usize = 16;
/// Size of FILE_LEVEL_TRIM_OUTPUT.
pub const FILE_LEVEL_TRIM_OUTPUT_LEN: usize = 4;

/// A decoded FILE_LEVEL_TRIM over its input buffer.
#[derive(Debug, Clone, Copy)]
pub struct FileLevelTrim<'a> {
    /// Key: the byte-range lock key the ranges are checked with.
    pub key: u32,
    ranges: &'a [u8],
}

impl<'a> FileLevelTrim<'a> {
    /// Decodes `b`; `Err` for every malformed buffer (STATUS_INVALID_PARAMETER).
    pub fn decode(b: &'a [u8]) -> Result<Self> {
        let head = b.get(..FILE_LEVEL_TRIM_LEN).ok_or(Error::Truncated)?;
        let key = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let n = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if n == 0 {
            return Err(Error::Invalid("NumRanges"));
        }
        let bytes = n
            .checked_mul(FILE_LEVEL_TRIM_RANGE_LEN as u32)
            .ok_or(Error::Invalid("NumRanges"))? as usize;
        let ranges = b
            .get(FILE_LEVEL_TRIM_LEN..)
            .and_then(|r| r.get(..bytes))
            .ok_or(Error::Truncated)?;
        Ok(FileLevelTrim { key, ranges })
    }

    /// NumRanges.
    pub fn len(&self) -> usize {
        self.ranges.len() / FILE_LEVEL_TRIM_RANGE_LEN
    }

    /// Never true for a decoded request (NumRanges zero is refused).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The ranges as (Offset, Length), in order.
    pub fn ranges(&self) -> impl Iterator<Item = (u64, u64)> + 'a {
        self.ranges
            .chunks_exact(FILE_LEVEL_TRIM_RANGE_LEN)
            .map(|c| {
                let (o, l) = c.split_at(8);
                (
                    u64::from_le_bytes(o.try_into().unwrap_or_default()),
                    u64::from_le_bytes(l.try_into().unwrap_or_default()),
                )
            })
    }
}

/// Encodes FILE_LEVEL_TRIM (for clients and tests).
pub fn encode_trim(key: u32, ranges: &[(u64, u64)]) -> Vec<u8> {
    let mut v = Vec::with_capacity(FILE_LEVEL_TRIM_LEN + ranges.len() * FILE_LEVEL_TRIM_RANGE_LEN);
    v.extend_from_slice(&key.to_le_bytes());
    v.extend_from_slice(&(ranges.len() as u32).to_le_bytes());
    for (o, l) in ranges {
        v.extend_from_slice(&o.to_le_bytes());
        v.extend_from_slice(&l.to_le_bytes());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip() {
        let b = encode_trim(7, &[(0, 4096), (1 << 40, u64::MAX)]);
        let t = FileLevelTrim::decode(&b).unwrap();
        assert_eq!(t.key, 7);
        assert_eq!(t.len(), 2);
        assert_eq!(
            t.ranges().collect::<Vec<_>>(),
            vec![(0, 4096), (1 << 40, u64::MAX)]
        );
    }

    #[test]
    fn refuses_malformed() {
        // Shorter than the header.
        assert!(FileLevelTrim::decode(&[0; 7]).is_err());
        // NumRanges zero.
        assert!(FileLevelTrim::decode(&encode_trim(0, &[])).is_err());
        // NumRanges beyond the buffer.
        let mut b = encode_trim(0, &[(0, 1)]);
        b[4] = 2;
        assert!(FileLevelTrim::decode(&b).is_err());
        // NumRanges x 16 overflows 32 bits.
        b[4..8].copy_from_slice(&0x1000_0000u32.to_le_bytes());
        assert!(FileLevelTrim::decode(&b).is_err());
        // Trailing bytes after the ranges are ignored.
        let mut b = encode_trim(0, &[(0, 1)]);
        b.extend_from_slice(&[0xAA; 5]);
        assert_eq!(FileLevelTrim::decode(&b).unwrap().len(), 1);
    }

    proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(t) = FileLevelTrim::decode(&b) {
                prop_assert!(!t.is_empty());
                prop_assert_eq!(t.ranges().count(), t.len());
            }
        }
    }
}
