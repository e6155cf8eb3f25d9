//! Integrity stream payloads: FSCTL_GET_INTEGRITY_INFORMATION_BUFFER (MS-FSCC 2.3.20) and
//! FSCTL_SET_INTEGRITY_INFORMATION_BUFFER (MS-FSCC 2.3.74).

use crate::wire::info::Reader;
use crate::wire::{BytesMut, Result};
use bytes::BufMut;

/// CHECKSUM_TYPE_NONE: no integrity checksums.
pub const CHECKSUM_TYPE_NONE: u16 = 0x0000;
/// CHECKSUM_TYPE_CRC64.
pub const CHECKSUM_TYPE_CRC64: u16 = 0x0002;
/// CHECKSUM_TYPE_UNCHANGED (set only): keep the current algorithm.
pub const CHECKSUM_TYPE_UNCHANGED: u16 = 0xFFFF;
/// FSCTL_INTEGRITY_FLAG_CHECKSUM_ENFORCEMENT_OFF.
pub const FSCTL_INTEGRITY_FLAG_CHECKSUM_ENFORCEMENT_OFF: u32 = 0x0000_0001;

/// FSCTL_GET_INTEGRITY_INFORMATION_BUFFER: 16 bytes (output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FsctlGetIntegrityInformationBuffer {
    /// ChecksumAlgorithm
    pub checksum_algorithm: u16,
    /// Flags
    pub flags: u32,
    /// ChecksumChunkSizeInBytes
    pub checksum_chunk_size_in_bytes: u32,
    /// ClusterSizeInBytes
    pub cluster_size_in_bytes: u32,
}

impl FsctlGetIntegrityInformationBuffer {
    /// Size on the wire.
    pub const LEN: usize = 16;
    /// Appends 16 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(self.checksum_algorithm);
        out.put_u16_le(0);
        out.put_u32_le(self.flags);
        out.put_u32_le(self.checksum_chunk_size_in_bytes);
        out.put_u32_le(self.cluster_size_in_bytes);
    }
    /// Decodes the first 16 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        let checksum_algorithm = r.u16()?;
        r.skip(2)?;
        Ok(FsctlGetIntegrityInformationBuffer {
            checksum_algorithm,
            flags: r.u32()?,
            checksum_chunk_size_in_bytes: r.u32()?,
            cluster_size_in_bytes: r.u32()?,
        })
    }
}

/// FSCTL_SET_INTEGRITY_INFORMATION_BUFFER: 8 bytes (input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FsctlSetIntegrityInformationBuffer {
    /// ChecksumAlgorithm
    pub checksum_algorithm: u16,
    /// Flags
    pub flags: u32,
}

impl FsctlSetIntegrityInformationBuffer {
    /// Size on the wire.
    pub const LEN: usize = 8;
    /// Appends 8 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(self.checksum_algorithm);
        out.put_u16_le(0);
        out.put_u32_le(self.flags);
    }
    /// Decodes the first 8 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        let checksum_algorithm = r.u16()?;
        r.skip(2)?;
        Ok(FsctlSetIntegrityInformationBuffer {
            checksum_algorithm,
            flags: r.u32()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(a in any::<u16>(), u in any::<[u32; 3]>()) {
            let v = FsctlGetIntegrityInformationBuffer { checksum_algorithm: a, flags: u[0],
                checksum_chunk_size_in_bytes: u[1], cluster_size_in_bytes: u[2] };
            let mut o = BytesMut::new();
            v.encode(&mut o);
            prop_assert_eq!(o.len(), 16);
            prop_assert_eq!(FsctlGetIntegrityInformationBuffer::decode(&o).unwrap(), v);
            let v = FsctlSetIntegrityInformationBuffer { checksum_algorithm: a, flags: u[0] };
            let mut o = BytesMut::new();
            v.encode(&mut o);
            prop_assert_eq!(o.len(), 8);
            prop_assert_eq!(FsctlSetIntegrityInformationBuffer::decode(&o).unwrap(), v);
        }

        #[test]
        fn decoders_never_panic(b in proptest::collection::vec(any::<u8>(), 0..24)) {
            let _ = FsctlGetIntegrityInformationBuffer::decode(&b);
            let _ = FsctlSetIntegrityInformationBuffer::decode(&b);
        }
    }
}
