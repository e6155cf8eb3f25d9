//! The SMB2 packet header, sync and async forms (MS-SMB2 2.2.1).
use super::{Error, Result};
use bytes::{BufMut, BytesMut};

/// Length of the SMB2 header.
pub const HEADER_LEN: usize = 64;
/// ProtocolId of an SMB2 message: 0xFE 'S' 'M' 'B'.
pub const SMB2_MAGIC: [u8; 4] = [0xFE, b'S', b'M', b'B'];

/// An SMB2 command code (MS-SMB2 2.2.1.2). Unknown codes decode and round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Command(pub u16);

impl Command {
    pub const NEGOTIATE: Command = Command(0x0000);
    pub const SESSION_SETUP: Command = Command(0x0001);
    pub const LOGOFF: Command = Command(0x0002);
    pub const TREE_CONNECT: Command = Command(0x0003);
    pub const TREE_DISCONNECT: Command = Command(0x0004);
    pub const CREATE: Command = Command(0x0005);
    pub const CLOSE: Command = Command(0x0006);
    pub const FLUSH: Command = Command(0x0007);
    pub const READ: Command = Command(0x0008);
    pub const WRITE: Command = Command(0x0009);
    pub const LOCK: Command = Command(0x000A);
    pub const IOCTL: Command = Command(0x000B);
    pub const CANCEL: Command = Command(0x000C);
    pub const ECHO: Command = Command(0x000D);
    pub const QUERY_DIRECTORY: Command = Command(0x000E);
    pub const CHANGE_NOTIFY: Command = Command(0x000F);
    pub const QUERY_INFO: Command = Command(0x0010);
    pub const SET_INFO: Command = Command(0x0011);
    pub const OPLOCK_BREAK: Command = Command(0x0012);
    /// The MS-SMB2 name of the command, for logs.
    pub fn name(self) -> &'static str {
        const NAMES: [&str; 19] = [
            "NEGOTIATE",
            "SESSION_SETUP",
            "LOGOFF",
            "TREE_CONNECT",
            "TREE_DISCONNECT",
            "CREATE",
            "CLOSE",
            "FLUSH",
            "READ",
            "WRITE",
            "LOCK",
            "IOCTL",
            "CANCEL",
            "ECHO",
            "QUERY_DIRECTORY",
            "CHANGE_NOTIFY",
            "QUERY_INFO",
            "SET_INFO",
            "OPLOCK_BREAK",
        ];
        NAMES.get(self.0 as usize).copied().unwrap_or("UNKNOWN")
    }
}

/// Header flags (MS-SMB2 2.2.1.2).
pub mod flags {
    pub const SERVER_TO_REDIR: u32 = 0x0000_0001;
    pub const ASYNC_COMMAND: u32 = 0x0000_0002;
    pub const RELATED_OPERATIONS: u32 = 0x0000_0004;
    pub const SIGNED: u32 = 0x0000_0008;
    pub const PRIORITY_MASK: u32 = 0x0000_0070;
    pub const DFS_OPERATIONS: u32 = 0x1000_0000;
    pub const REPLAY_OPERATION: u32 = 0x2000_0000;
}

/// One SMB2 header. Whether bytes 32..40 hold `async_id` or `process_id` + `tree_id` is decided
/// by [`flags::ASYNC_COMMAND`]; the other fields are zero after decoding.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// CreditCharge: how many credits this request consumes (0 means 1 for 2.0.2).
    pub credit_charge: u16,
    /// Status in a response; ChannelSequence (low 16 bits) + Reserved in a 3.x request.
    pub status: u32,
    /// The command.
    pub command: Command,
    /// CreditRequest in a request, CreditResponse in a response.
    pub credits: u16,
    /// Flags (see [`flags`]).
    pub flags: u32,
    /// NextCommand: offset of the next message of a compound chain from this header, or 0.
    pub next_command: u32,
    /// MessageId.
    pub message_id: u64,
    /// AsyncId (async form only).
    pub async_id: u64,
    /// Reserved / ProcessId (sync form only).
    pub process_id: u32,
    /// TreeId (sync form only).
    pub tree_id: u32,
    /// SessionId.
    pub session_id: u64,
    /// Signature.
    pub signature: [u8; 16],
}

impl Header {
    /// Decodes the 64-byte header at the start of `msg`.
    pub fn decode(msg: &[u8]) -> Result<Header> {
        let h = msg.get(..HEADER_LEN).ok_or(Error::Truncated)?;
        if h[0..4] != SMB2_MAGIC {
            return Err(Error::Invalid("ProtocolId"));
        }
        let u16_at = |o: usize| u16::from_le_bytes([h[o], h[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]);
        let u64_at = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().unwrap_or([0; 8]));
        if u16_at(4) != 64 {
            return Err(Error::Invalid("StructureSize"));
        }
        let flags = u32_at(16);
        let mut signature = [0u8; 16];
        signature.copy_from_slice(&h[48..64]);
        let (async_id, process_id, tree_id) = if flags & flags::ASYNC_COMMAND != 0 {
            (u64_at(32), 0, 0)
        } else {
            (0, u32_at(32), u32_at(36))
        };
        Ok(Header {
            credit_charge: u16_at(6),
            status: u32_at(8),
            command: Command(u16_at(12)),
            credits: u16_at(14),
            flags,
            next_command: u32_at(20),
            message_id: u64_at(24),
            async_id,
            process_id,
            tree_id,
            session_id: u64_at(40),
            signature,
        })
    }

    /// Appends the 64-byte header.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(HEADER_LEN);
        out.put_slice(&SMB2_MAGIC);
        out.put_u16_le(64);
        out.put_u16_le(self.credit_charge);
        out.put_u32_le(self.status);
        out.put_u16_le(self.command.0);
        out.put_u16_le(self.credits);
        out.put_u32_le(self.flags);
        out.put_u32_le(self.next_command);
        out.put_u64_le(self.message_id);
        if self.is_async() {
            out.put_u64_le(self.async_id);
        } else {
            out.put_u32_le(self.process_id);
            out.put_u32_le(self.tree_id);
        }
        out.put_u64_le(self.session_id);
        out.put_slice(&self.signature);
    }

    /// True for the async form.
    pub fn is_async(&self) -> bool {
        self.flags & flags::ASYNC_COMMAND != 0
    }
    /// True for a response (SERVER_TO_REDIR).
    pub fn is_response(&self) -> bool {
        self.flags & flags::SERVER_TO_REDIR != 0
    }
    /// True when the message carries a signature.
    pub fn is_signed(&self) -> bool {
        self.flags & flags::SIGNED != 0
    }
    /// True for a related operation of a compound chain.
    pub fn is_related(&self) -> bool {
        self.flags & flags::RELATED_OPERATIONS != 0
    }
    /// ChannelSequence of a 3.x request (the low 16 bits of the Status field).
    pub fn channel_sequence(&self) -> u16 {
        self.status as u16
    }
}

/// Byte offsets of header fields, for code that patches an encoded header in place
/// (signing writes the signature, the connection fixes NextCommand of a compound).
pub mod offsets {
    pub const STATUS: usize = 8;
    pub const CREDITS: usize = 14;
    pub const FLAGS: usize = 16;
    pub const NEXT_COMMAND: usize = 20;
    pub const MESSAGE_ID: usize = 24;
    pub const SESSION_ID: usize = 40;
    pub const SIGNATURE: usize = 48;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(credit_charge: u16, status: u32, command: u16, credits: u16, flags: u32,
                      next_command: u32, message_id: u64, id: u64, session_id: u64, signature: [u8; 16]) {
            let (async_id, process_id, tree_id) = if flags & flags::ASYNC_COMMAND != 0 {
                (id, 0, 0) } else { (0, id as u32, (id >> 32) as u32) };
            let h = Header { credit_charge, status, command: Command(command), credits, flags,
                next_command, message_id, async_id, process_id, tree_id, session_id, signature };
            let mut out = BytesMut::new();
            h.encode(&mut out);
            prop_assert_eq!(out.len(), HEADER_LEN);
            prop_assert_eq!(Header::decode(&out).unwrap(), h);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = Header::decode(&b);
        }
    }

    #[test]
    fn refuses_bad_magic_and_short_input() {
        let mut out = BytesMut::new();
        Header::default().encode(&mut out);
        assert_eq!(Header::decode(&out[..63]), Err(Error::Truncated));
        out[0] = 0xFF;
        assert_eq!(Header::decode(&out), Err(Error::Invalid("ProtocolId")));
    }
}
