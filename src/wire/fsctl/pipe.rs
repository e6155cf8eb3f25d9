//! Named pipe payloads: FSCTL_PIPE_WAIT request (MS-FSCC 2.3.49) and FSCTL_PIPE_PEEK
//! reply (MS-FSCC 2.3.46).

use crate::wire::info::{utf16_len_u32, Reader};
use crate::wire::{put_utf16le, BytesMut, Result};
use bytes::BufMut;

/// FSCTL_PIPE_WAIT_REQUEST: Timeout (8), NameLength (4), TimeoutSpecified (1),
/// Padding (1), Name (the pipe name without the `\pipe\` prefix).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FsctlPipeWaitRequest {
    /// Timeout in 100 ns units (negative: relative), used only if `timeout_specified`
    pub timeout: i64,
    /// TimeoutSpecified
    pub timeout_specified: bool,
    /// Name
    pub name: String,
}

impl FsctlPipeWaitRequest {
    /// Size of the fixed part.
    pub const LEN: usize = 14;
    /// Appends the structure.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        out.put_i64_le(self.timeout);
        out.put_u32_le(utf16_len_u32(&self.name)?);
        out.put_u8(self.timeout_specified as u8);
        out.put_u8(0);
        put_utf16le(out, &self.name);
        Ok(())
    }
    /// Decodes the structure; NameLength must fit in `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        let timeout = r.u64()? as i64;
        let n = r.u32()? as usize;
        let timeout_specified = r.u8()? != 0;
        r.skip(1)?;
        Ok(FsctlPipeWaitRequest {
            timeout,
            timeout_specified,
            name: r.utf16(n)?,
        })
    }
}

/// FILE_PIPE_CONNECTED_STATE, the NamedPipeState of a connected pipe.
pub const FILE_PIPE_CONNECTED_STATE: u32 = 0x0000_0003;

/// FSCTL_PIPE_PEEK_REPLY: NamedPipeState, ReadDataAvailable, NumberOfMessages,
/// MessageLength (4 each), then Data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FsctlPipePeekReply {
    /// NamedPipeState
    pub named_pipe_state: u32,
    /// ReadDataAvailable
    pub read_data_available: u32,
    /// NumberOfMessages
    pub number_of_messages: u32,
    /// MessageLength
    pub message_length: u32,
    /// Data (the bytes peeked; whatever follows the fixed part)
    pub data: Vec<u8>,
}

impl FsctlPipePeekReply {
    /// Size of the fixed part.
    pub const LEN: usize = 16;
    /// Appends the structure.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u32_le(self.named_pipe_state);
        out.put_u32_le(self.read_data_available);
        out.put_u32_le(self.number_of_messages);
        out.put_u32_le(self.message_length);
        out.put_slice(&self.data);
    }
    /// Decodes the structure; everything after the fixed part is Data.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        let v = [r.u32()?, r.u32()?, r.u32()?, r.u32()?];
        let rest = r.remaining();
        Ok(FsctlPipePeekReply {
            named_pipe_state: v[0],
            read_data_available: v[1],
            number_of_messages: v[2],
            message_length: v[3],
            data: r.bytes(rest)?.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Error;
    use proptest::prelude::*;

    #[test]
    fn wait_layout() {
        let v = FsctlPipeWaitRequest {
            timeout: -1,
            timeout_specified: true,
            name: "srvsvc".into(),
        };
        let mut o = BytesMut::new();
        v.encode(&mut o).unwrap();
        assert_eq!(o.len(), 14 + 12);
        assert_eq!(&o[8..12], &12u32.to_le_bytes());
        assert_eq!(o[12], 1);
        let mut b = o.to_vec();
        b[8] = 14;
        assert_eq!(FsctlPipeWaitRequest::decode(&b), Err(Error::Truncated));
    }

    proptest! {
        #[test]
        fn round_trips(t in any::<i64>(), s in any::<bool>(), name in ".{0,20}", u in any::<[u32; 4]>(),
                       data in proptest::collection::vec(any::<u8>(), 0..32)) {
            let v = FsctlPipeWaitRequest { timeout: t, timeout_specified: s, name };
            let mut o = BytesMut::new();
            v.encode(&mut o).unwrap();
            prop_assert_eq!(FsctlPipeWaitRequest::decode(&o).unwrap(), v);
            let v = FsctlPipePeekReply { named_pipe_state: u[0], read_data_available: u[1],
                number_of_messages: u[2], message_length: u[3], data };
            let mut o = BytesMut::new();
            v.encode(&mut o);
            prop_assert_eq!(FsctlPipePeekReply::decode(&o).unwrap(), v);
        }

        #[test]
        fn decoders_never_panic(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = FsctlPipeWaitRequest::decode(&b);
            let _ = FsctlPipePeekReply::decode(&b);
        }
    }
}
