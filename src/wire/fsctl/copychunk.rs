//! Server-side copy payloads (MS-SMB2 2.2.31.1 SRV_COPYCHUNK_COPY and 2.2.31.1.1
//! SRV_COPYCHUNK, 2.2.32.1 SRV_COPYCHUNK_RESPONSE, 2.2.32.3 SRV_REQUEST_RESUME_KEY
//! response) for FSCTL_SRV_COPYCHUNK, FSCTL_SRV_COPYCHUNK_WRITE and
//! FSCTL_SRV_REQUEST_RESUME_KEY.

use crate::wire::info::Reader;
use crate::wire::{BytesMut, Error, Result};
use bytes::BufMut;

/// Windows' limit on ChunkCount (MS-SMB2 3.3.3, ServerSideCopyMaxNumberofChunks).
pub const SERVER_SIDE_COPY_MAX_NUMBER_OF_CHUNKS: u32 = 256;
/// Windows' limit on one chunk's Length (ServerSideCopyMaxChunkSize, 1 MiB).
pub const SERVER_SIDE_COPY_MAX_CHUNK_SIZE: u32 = 1024 * 1024;
/// Windows' limit on the sum of the Lengths (ServerSideCopyMaxDataSize, 16 MiB).
pub const SERVER_SIDE_COPY_MAX_DATA_SIZE: u32 = 16 * 1024 * 1024;

/// Length of a resume key (the SourceKey / ResumeKey fields).
pub const RESUME_KEY_LEN: usize = 24;

/// One SRV_COPYCHUNK (MS-SMB2 2.2.31.1.1): 24 bytes including 4 reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SrvCopychunk {
    /// SourceOffset
    pub source_offset: u64,
    /// TargetOffset
    pub target_offset: u64,
    /// Length
    pub length: u32,
}

impl SrvCopychunk {
    /// Size on the wire.
    pub const LEN: usize = 24;
}

/// SRV_COPYCHUNK_COPY (MS-SMB2 2.2.31.1): SourceKey (24), ChunkCount (4), Reserved (4),
/// then ChunkCount chunks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SrvCopychunkCopy {
    /// SourceKey: the resume key of the source open.
    pub source_key: [u8; RESUME_KEY_LEN],
    /// Chunks
    pub chunks: Vec<SrvCopychunk>,
}

impl SrvCopychunkCopy {
    /// Size of the fixed part.
    pub const LEN: usize = 32;

    /// Decodes the IOCTL InputBuffer. ChunkCount must fit in `b` (so allocation is bounded
    /// by the input size); the limits above are the caller's to check, as the server must
    /// answer them with STATUS_INVALID_PARAMETER and [`SrvCopychunkResponse::limits`].
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        let source_key = r.array()?;
        let count = r.u32()? as usize;
        r.skip(4)?;
        if count > r.remaining() / SrvCopychunk::LEN {
            return Err(Error::Truncated);
        }
        let mut chunks = Vec::with_capacity(count);
        for _ in 0..count {
            let c = SrvCopychunk {
                source_offset: r.u64()?,
                target_offset: r.u64()?,
                length: r.u32()?,
            };
            r.skip(4)?;
            chunks.push(c);
        }
        Ok(SrvCopychunkCopy { source_key, chunks })
    }

    /// Appends the structure.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        let n = u32::try_from(self.chunks.len()).map_err(|_| Error::Invalid("ChunkCount"))?;
        out.put_slice(&self.source_key);
        out.put_u32_le(n);
        out.put_u32_le(0);
        for c in &self.chunks {
            out.put_u64_le(c.source_offset);
            out.put_u64_le(c.target_offset);
            out.put_u32_le(c.length);
            out.put_u32_le(0);
        }
        Ok(())
    }
}

/// SRV_COPYCHUNK_RESPONSE (MS-SMB2 2.2.32.1): 12 bytes. On success the counts of what was
/// copied; with STATUS_INVALID_PARAMETER the server's limits (see [`Self::limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SrvCopychunkResponse {
    /// ChunksWritten
    pub chunks_written: u32,
    /// ChunkBytesWritten
    pub chunk_bytes_written: u32,
    /// TotalBytesWritten
    pub total_bytes_written: u32,
}

impl SrvCopychunkResponse {
    /// Size on the wire.
    pub const LEN: usize = 12;
    /// The response that reports the server's limits (MS-SMB2 3.3.5.15.6).
    pub fn limits() -> Self {
        SrvCopychunkResponse {
            chunks_written: SERVER_SIDE_COPY_MAX_NUMBER_OF_CHUNKS,
            chunk_bytes_written: SERVER_SIDE_COPY_MAX_CHUNK_SIZE,
            total_bytes_written: SERVER_SIDE_COPY_MAX_DATA_SIZE,
        }
    }
    /// Appends 12 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u32_le(self.chunks_written);
        out.put_u32_le(self.chunk_bytes_written);
        out.put_u32_le(self.total_bytes_written);
    }
    /// Decodes the first 12 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        Ok(SrvCopychunkResponse {
            chunks_written: r.u32()?,
            chunk_bytes_written: r.u32()?,
            total_bytes_written: r.u32()?,
        })
    }
}

/// SRV_REQUEST_RESUME_KEY response (MS-SMB2 2.2.32.3): ResumeKey (24), ContextLength (4),
/// Context. The context is unused: servers send ContextLength 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SrvRequestResumeKey {
    /// ResumeKey: an opaque key identifying the open, later sent as SourceKey.
    pub resume_key: [u8; RESUME_KEY_LEN],
    /// Context (normally empty)
    pub context: Vec<u8>,
}

impl SrvRequestResumeKey {
    /// Size of the fixed part.
    pub const LEN: usize = 28;
    /// Appends the structure.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        let n = u32::try_from(self.context.len()).map_err(|_| Error::Invalid("ContextLength"))?;
        out.put_slice(&self.resume_key);
        out.put_u32_le(n);
        out.put_slice(&self.context);
        Ok(())
    }
    /// Decodes the structure; ContextLength must fit in `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        let resume_key = r.array()?;
        let n = r.u32()? as usize;
        Ok(SrvRequestResumeKey {
            resume_key,
            context: r.bytes(n)?.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    #[test]
    fn copychunk_layout() {
        let c = SrvCopychunkCopy {
            source_key: [0xAA; 24],
            chunks: vec![SrvCopychunk {
                source_offset: 1,
                target_offset: 2,
                length: 3,
            }],
        };
        let mut out = BytesMut::new();
        c.encode(&mut out).unwrap();
        assert_eq!(out.len(), 32 + 24);
        assert_eq!(&out[24..28], &1u32.to_le_bytes());
        assert_eq!(&out[32..40], &1u64.to_le_bytes());
        assert_eq!(&out[48..52], &3u32.to_le_bytes());
    }

    #[test]
    fn refuses_chunk_count_past_end() {
        let mut b = vec![0u8; 32 + 24];
        b[24] = 2;
        assert_eq!(SrvCopychunkCopy::decode(&b), Err(Error::Truncated));
        b[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(SrvCopychunkCopy::decode(&b), Err(Error::Truncated));
        let mut b = vec![0u8; 36];
        b[24] = 9; // ContextLength past the end
        assert_eq!(SrvRequestResumeKey::decode(&b), Err(Error::Truncated));
    }

    proptest! {
        #[test]
        fn round_trips(key in any::<[u8; 24]>(), chunks in vec(any::<(u64, u64, u32)>(), 0..10),
                       r in any::<[u32; 3]>(), ctx in vec(any::<u8>(), 0..8)) {
            let c = SrvCopychunkCopy { source_key: key, chunks: chunks.into_iter().map(|(s, t, l)|
                SrvCopychunk { source_offset: s, target_offset: t, length: l }).collect() };
            let mut out = BytesMut::new();
            c.encode(&mut out).unwrap();
            prop_assert_eq!(SrvCopychunkCopy::decode(&out).unwrap(), c);
            let v = SrvCopychunkResponse { chunks_written: r[0], chunk_bytes_written: r[1], total_bytes_written: r[2] };
            let mut out = BytesMut::new();
            v.encode(&mut out);
            prop_assert_eq!(SrvCopychunkResponse::decode(&out).unwrap(), v);
            let k = SrvRequestResumeKey { resume_key: key, context: ctx };
            let mut out = BytesMut::new();
            k.encode(&mut out).unwrap();
            prop_assert_eq!(SrvRequestResumeKey::decode(&out).unwrap(), k);
        }

        #[test]
        fn decoders_never_panic(b in vec(any::<u8>(), 0..200)) {
            let _ = SrvCopychunkCopy::decode(&b);
            let _ = SrvCopychunkResponse::decode(&b);
            let _ = SrvRequestResumeKey::decode(&b);
        }
    }
}
