//! Offloaded data transfer (ODX) payloads: FSCTL_OFFLOAD_READ input/output (MS-FSCC
//! 2.3.41, 2.3.42), FSCTL_OFFLOAD_WRITE input/output (MS-FSCC 2.3.43, 2.3.44) and the
//! STORAGE_OFFLOAD_TOKEN they carry (MS-FSCC 2.1.11).

use crate::wire::info::Reader;
use crate::wire::{BytesMut, Error, Result};
use bytes::BufMut;

/// STORAGE_OFFLOAD_TOKEN_TYPE_ZERO_DATA: a well-known token standing for zeros.
pub const STORAGE_OFFLOAD_TOKEN_TYPE_ZERO_DATA: u32 = 0xFFFF_0001;
/// Length of TokenId.
pub const STORAGE_OFFLOAD_TOKEN_ID_LENGTH: usize = 504;
/// OFFLOAD_READ_FLAG_ALL_ZERO_BEYOND_CURRENT_RANGE (FSCTL_OFFLOAD_READ_OUTPUT Flags).
pub const OFFLOAD_READ_FLAG_ALL_ZERO_BEYOND_CURRENT_RANGE: u32 = 0x0000_0001;

/// STORAGE_OFFLOAD_TOKEN (MS-FSCC 2.1.11): 512 bytes. TokenType and TokenIdLength are
/// big-endian on the wire; TokenId is opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageOffloadToken {
    /// TokenType
    pub token_type: u32,
    /// TokenIdLength (504 for tokens Windows generates)
    pub token_id_length: u16,
    /// TokenId
    pub token_id: [u8; STORAGE_OFFLOAD_TOKEN_ID_LENGTH],
}

impl StorageOffloadToken {
    /// Size on the wire.
    pub const LEN: usize = 512;

    /// The well-known zero-data token.
    pub fn zero_data() -> Self {
        StorageOffloadToken {
            token_type: STORAGE_OFFLOAD_TOKEN_TYPE_ZERO_DATA,
            token_id_length: STORAGE_OFFLOAD_TOKEN_ID_LENGTH as u16,
            token_id: [0; STORAGE_OFFLOAD_TOKEN_ID_LENGTH],
        }
    }

    /// A vendor token with the given opaque id (TokenIdLength 504).
    pub fn new(token_type: u32, token_id: [u8; STORAGE_OFFLOAD_TOKEN_ID_LENGTH]) -> Self {
        StorageOffloadToken {
            token_type,
            token_id_length: STORAGE_OFFLOAD_TOKEN_ID_LENGTH as u16,
            token_id,
        }
    }

    /// Appends 512 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.token_type);
        out.put_u16(0);
        out.put_u16(self.token_id_length);
        out.put_slice(&self.token_id);
    }

    /// Decodes the first 512 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        Self::read(&mut Reader::new(b))
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let token_type = u32::from_be_bytes(r.array()?);
        r.skip(2)?;
        let token_id_length = u16::from_be_bytes(r.array()?);
        Ok(StorageOffloadToken {
            token_type,
            token_id_length,
            token_id: r.array()?,
        })
    }
}

fn check_size(r: &mut Reader<'_>, expected: u32) -> Result<()> {
    if r.u32()? != expected {
        return Err(Error::Invalid("Size"));
    }
    Ok(())
}

/// FSCTL_OFFLOAD_READ_INPUT (MS-FSCC 2.3.41): 32 bytes, Size must be 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FsctlOffloadReadInput {
    /// Flags (0)
    pub flags: u32,
    /// TokenTimeToLive in milliseconds (0 = default)
    pub token_time_to_live: u32,
    /// FileOffset
    pub file_offset: u64,
    /// CopyLength
    pub copy_length: u64,
}

impl FsctlOffloadReadInput {
    /// Size on the wire and value of Size.
    pub const LEN: usize = 32;
    /// Appends 32 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u32_le(Self::LEN as u32);
        out.put_u32_le(self.flags);
        out.put_u32_le(self.token_time_to_live);
        out.put_u32_le(0);
        out.put_u64_le(self.file_offset);
        out.put_u64_le(self.copy_length);
    }
    /// Decodes the structure; a Size other than 32 is an error.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        check_size(&mut r, Self::LEN as u32)?;
        let flags = r.u32()?;
        let token_time_to_live = r.u32()?;
        r.skip(4)?;
        Ok(FsctlOffloadReadInput {
            flags,
            token_time_to_live,
            file_offset: r.u64()?,
            copy_length: r.u64()?,
        })
    }
}

/// FSCTL_OFFLOAD_READ_OUTPUT (MS-FSCC 2.3.42): 528 bytes, Size must be 528.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsctlOffloadReadOutput {
    /// Flags ([`OFFLOAD_READ_FLAG_ALL_ZERO_BEYOND_CURRENT_RANGE`])
    pub flags: u32,
    /// TransferLength: bytes the token represents
    pub transfer_length: u64,
    /// Token
    pub token: StorageOffloadToken,
}

impl FsctlOffloadReadOutput {
    /// Size on the wire and value of Size.
    pub const LEN: usize = 528;
    /// Appends 528 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u32_le(Self::LEN as u32);
        out.put_u32_le(self.flags);
        out.put_u64_le(self.transfer_length);
        self.token.encode(out);
    }
    /// Decodes the structure; a Size other than 528 is an error.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        check_size(&mut r, Self::LEN as u32)?;
        Ok(FsctlOffloadReadOutput {
            flags: r.u32()?,
            transfer_length: r.u64()?,
            token: StorageOffloadToken::read(&mut r)?,
        })
    }
}

/// FSCTL_OFFLOAD_WRITE_INPUT (MS-FSCC 2.3.43): 544 bytes, Size must be 544.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsctlOffloadWriteInput {
    /// Flags (0)
    pub flags: u32,
    /// FileOffset in the destination
    pub file_offset: u64,
    /// CopyLength
    pub copy_length: u64,
    /// TransferOffset: offset within the data the token represents
    pub transfer_offset: u64,
    /// Token
    pub token: StorageOffloadToken,
}

impl FsctlOffloadWriteInput {
    /// Size on the wire and value of Size.
    pub const LEN: usize = 544;
    /// Appends 544 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u32_le(Self::LEN as u32);
        out.put_u32_le(self.flags);
        out.put_u64_le(self.file_offset);
        out.put_u64_le(self.copy_length);
        out.put_u64_le(self.transfer_offset);
        self.token.encode(out);
    }
    /// Decodes the structure; a Size other than 544 is an error.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        check_size(&mut r, Self::LEN as u32)?;
        Ok(FsctlOffloadWriteInput {
            flags: r.u32()?,
            file_offset: r.u64()?,
            copy_length: r.u64()?,
            transfer_offset: r.u64()?,
            token: StorageOffloadToken::read(&mut r)?,
        })
    }
}

/// FSCTL_OFFLOAD_WRITE_OUTPUT (MS-FSCC 2.3.44): 16 bytes, Size must be 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FsctlOffloadWriteOutput {
    /// Flags (0)
    pub flags: u32,
    /// LengthWritten
    pub length_written: u64,
}

impl FsctlOffloadWriteOutput {
    /// Size on the wire and value of Size.
    pub const LEN: usize = 16;
    /// Appends 16 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u32_le(Self::LEN as u32);
        out.put_u32_le(self.flags);
        out.put_u64_le(self.length_written);
    }
    /// Decodes the structure; a Size other than 16 is an error.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        check_size(&mut r, Self::LEN as u32)?;
        Ok(FsctlOffloadWriteOutput {
            flags: r.u32()?,
            length_written: r.u64()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn token_is_big_endian() {
        let mut out = BytesMut::new();
        StorageOffloadToken::zero_data().encode(&mut out);
        assert_eq!(out.len(), 512);
        assert_eq!(&out[..8], &[0xFF, 0xFF, 0x00, 0x01, 0, 0, 0x01, 0xF8]);
    }

    #[test]
    fn sizes_and_refusals() {
        let t = StorageOffloadToken::zero_data();
        let mut out = BytesMut::new();
        FsctlOffloadReadInput::default().encode(&mut out);
        assert_eq!(out.len(), 32);
        let mut b = out.to_vec();
        b[0] = 31;
        assert!(FsctlOffloadReadInput::decode(&b).is_err());
        let mut out = BytesMut::new();
        FsctlOffloadReadOutput {
            flags: 0,
            transfer_length: 0,
            token: t.clone(),
        }
        .encode(&mut out);
        assert_eq!(out.len(), 528);
        assert_eq!(
            FsctlOffloadReadOutput::decode(&out[..527]),
            Err(Error::Truncated)
        );
        let mut out = BytesMut::new();
        let w = FsctlOffloadWriteInput {
            flags: 0,
            file_offset: 0,
            copy_length: 0,
            transfer_offset: 0,
            token: t,
        };
        w.encode(&mut out);
        assert_eq!(out.len(), 544);
        let mut out = BytesMut::new();
        FsctlOffloadWriteOutput::default().encode(&mut out);
        assert_eq!(out.len(), 16);
    }

    proptest! {
        #[test]
        fn round_trips(u in any::<[u32; 3]>(), q in any::<[u64; 3]>(), tl in any::<u16>(),
                       id in proptest::collection::vec(any::<u8>(), 504)) {
            let mut token_id = [0u8; 504];
            token_id.copy_from_slice(&id);
            let token = StorageOffloadToken { token_type: u[0], token_id_length: tl, token_id };
            let v = FsctlOffloadReadInput { flags: u[0], token_time_to_live: u[1], file_offset: q[0], copy_length: q[1] };
            let mut o = BytesMut::new();
            v.encode(&mut o);
            prop_assert_eq!(FsctlOffloadReadInput::decode(&o).unwrap(), v);
            let v = FsctlOffloadReadOutput { flags: u[1], transfer_length: q[2], token: token.clone() };
            let mut o = BytesMut::new();
            v.encode(&mut o);
            prop_assert_eq!(FsctlOffloadReadOutput::decode(&o).unwrap(), v);
            let v = FsctlOffloadWriteInput { flags: u[2], file_offset: q[0], copy_length: q[1],
                transfer_offset: q[2], token };
            let mut o = BytesMut::new();
            v.encode(&mut o);
            prop_assert_eq!(FsctlOffloadWriteInput::decode(&o).unwrap(), v);
            let v = FsctlOffloadWriteOutput { flags: u[0], length_written: q[1] };
            let mut o = BytesMut::new();
            v.encode(&mut o);
            prop_assert_eq!(FsctlOffloadWriteOutput::decode(&o).unwrap(), v);
        }

        #[test]
        fn decoders_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = StorageOffloadToken::decode(&b);
            let _ = FsctlOffloadReadInput::decode(&b);
            let _ = FsctlOffloadReadOutput::decode(&b);
            let _ = FsctlOffloadWriteInput::decode(&b);
            let _ = FsctlOffloadWriteOutput::decode(&b);
        }
    }
}
