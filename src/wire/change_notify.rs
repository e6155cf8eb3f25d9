//! SMB2 CHANGE_NOTIFY request and response (MS-SMB2 2.2.35, 2.2.36), and an encoder for the
//! FILE_NOTIFY_INFORMATION chain of the response (MS-FSCC 2.7.1).
use super::query_info::{decode_output_buffer, encode_output_buffer};
use super::{body, check_structure_size, FileId, Result};
use bytes::{BufMut, Bytes, BytesMut};
use nom::number::complete::{le_u16, le_u32};

/// Flags of CHANGE_NOTIFY (MS-SMB2 2.2.35): SMB2_WATCH_TREE.
pub const SMB2_WATCH_TREE: u16 = 0x0001;

/// CompletionFilter bits (MS-SMB2 2.2.35).
pub mod completion_filter {
    /// FILE_NOTIFY_CHANGE_FILE_NAME.
    pub const FILE_NOTIFY_CHANGE_FILE_NAME: u32 = 0x0000_0001;
    /// FILE_NOTIFY_CHANGE_DIR_NAME.
    pub const FILE_NOTIFY_CHANGE_DIR_NAME: u32 = 0x0000_0002;
    /// FILE_NOTIFY_CHANGE_ATTRIBUTES.
    pub const FILE_NOTIFY_CHANGE_ATTRIBUTES: u32 = 0x0000_0004;
    /// FILE_NOTIFY_CHANGE_SIZE.
    pub const FILE_NOTIFY_CHANGE_SIZE: u32 = 0x0000_0008;
    /// FILE_NOTIFY_CHANGE_LAST_WRITE.
    pub const FILE_NOTIFY_CHANGE_LAST_WRITE: u32 = 0x0000_0010;
    /// FILE_NOTIFY_CHANGE_LAST_ACCESS.
    pub const FILE_NOTIFY_CHANGE_LAST_ACCESS: u32 = 0x0000_0020;
    /// FILE_NOTIFY_CHANGE_CREATION.
    pub const FILE_NOTIFY_CHANGE_CREATION: u32 = 0x0000_0040;
    /// FILE_NOTIFY_CHANGE_EA.
    pub const FILE_NOTIFY_CHANGE_EA: u32 = 0x0000_0080;
    /// FILE_NOTIFY_CHANGE_SECURITY.
    pub const FILE_NOTIFY_CHANGE_SECURITY: u32 = 0x0000_0100;
    /// FILE_NOTIFY_CHANGE_STREAM_NAME.
    pub const FILE_NOTIFY_CHANGE_STREAM_NAME: u32 = 0x0000_0200;
    /// FILE_NOTIFY_CHANGE_STREAM_SIZE.
    pub const FILE_NOTIFY_CHANGE_STREAM_SIZE: u32 = 0x0000_0400;
    /// FILE_NOTIFY_CHANGE_STREAM_WRITE.
    pub const FILE_NOTIFY_CHANGE_STREAM_WRITE: u32 = 0x0000_0800;
}

/// Action values of FILE_NOTIFY_INFORMATION (MS-FSCC 2.7.1).
pub mod notify_action {
    /// FILE_ACTION_ADDED.
    pub const FILE_ACTION_ADDED: u32 = 0x0000_0001;
    /// FILE_ACTION_REMOVED.
    pub const FILE_ACTION_REMOVED: u32 = 0x0000_0002;
    /// FILE_ACTION_MODIFIED.
    pub const FILE_ACTION_MODIFIED: u32 = 0x0000_0003;
    /// FILE_ACTION_RENAMED_OLD_NAME.
    pub const FILE_ACTION_RENAMED_OLD_NAME: u32 = 0x0000_0004;
    /// FILE_ACTION_RENAMED_NEW_NAME.
    pub const FILE_ACTION_RENAMED_NEW_NAME: u32 = 0x0000_0005;
    /// FILE_ACTION_ADDED_STREAM.
    pub const FILE_ACTION_ADDED_STREAM: u32 = 0x0000_0006;
    /// FILE_ACTION_REMOVED_STREAM.
    pub const FILE_ACTION_REMOVED_STREAM: u32 = 0x0000_0007;
    /// FILE_ACTION_MODIFIED_STREAM.
    pub const FILE_ACTION_MODIFIED_STREAM: u32 = 0x0000_0008;
    /// FILE_ACTION_REMOVED_BY_DELETE.
    pub const FILE_ACTION_REMOVED_BY_DELETE: u32 = 0x0000_0009;
    /// FILE_ACTION_ID_NOT_TUNNELLED.
    pub const FILE_ACTION_ID_NOT_TUNNELLED: u32 = 0x0000_000A;
    /// FILE_ACTION_TUNNELLED_ID_COLLISION.
    pub const FILE_ACTION_TUNNELLED_ID_COLLISION: u32 = 0x0000_000B;
}

/// SMB2 CHANGE_NOTIFY Request (MS-SMB2 2.2.35).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChangeNotifyRequest {
    /// Flags ([`SMB2_WATCH_TREE`]).
    pub flags: u16,
    /// OutputBufferLength: most bytes the client accepts.
    pub output_buffer_length: u32,
    /// FileId of the directory.
    pub file_id: FileId,
    /// CompletionFilter ([`completion_filter`]).
    pub completion_filter: u32,
}

impl ChangeNotifyRequest {
    /// Decodes the request in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 32)?;
        let (i, _) = le_u16(b)?;
        let (i, flags) = le_u16(i)?;
        let (i, output_buffer_length) = le_u32(i)?;
        let (i, file_id) = FileId::parse(i)?;
        let (i, completion_filter) = le_u32(i)?;
        let (_, _reserved) = le_u32(i)?;
        Ok(ChangeNotifyRequest {
            flags,
            output_buffer_length,
            file_id,
            completion_filter,
        })
    }

    /// Appends the 32-byte body.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(32);
        out.put_u16_le(self.flags);
        out.put_u32_le(self.output_buffer_length);
        self.file_id.encode(out);
        out.put_u32_le(self.completion_filter);
        out.put_u32_le(0);
    }
}

/// SMB2 CHANGE_NOTIFY Response (MS-SMB2 2.2.36).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangeNotifyResponse {
    /// The FILE_NOTIFY_INFORMATION chain (see [`encode_notify_information`]).
    pub output: Bytes,
}

impl ChangeNotifyResponse {
    /// Decodes the response in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        Ok(ChangeNotifyResponse {
            output: decode_output_buffer(msg)?,
        })
    }

    /// Appends the body with the output at offset 0x48.
    pub fn encode(&self, out: &mut BytesMut) {
        encode_output_buffer(&self.output, out)
    }
}

/// Appends a FILE_NOTIFY_INFORMATION chain (MS-FSCC 2.7.1): for each `(action, name)` an
/// entry with NextEntryOffset (4-byte aligned, 0 on the last), Action, FileNameLength and
/// the UTF-16LE name, relative to the watched directory.
pub fn encode_notify_information(entries: &[(u32, String)], out: &mut BytesMut) {
    for (i, (action, name)) in entries.iter().enumerate() {
        let start = out.len();
        let name_len = name.encode_utf16().count() * 2;
        let last = i + 1 == entries.len();
        let next = if last {
            0
        } else {
            (12 + name_len).div_ceil(4) * 4
        };
        out.put_u32_le(next as u32);
        out.put_u32_le(*action);
        out.put_u32_le(name_len as u32);
        super::put_utf16le(out, name);
        if !last {
            super::pad_to(out, start, 4);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Error;
    use super::*;
    use crate::wire::test_frame as frame;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(f in any::<(u16, u32, u64, u64, u32)>(),
                      b in proptest::collection::vec(any::<u8>(), 0..100)) {
            let r = ChangeNotifyRequest { flags: f.0, output_buffer_length: f.1,
                file_id: FileId { persistent: f.2, volatile: f.3 }, completion_filter: f.4 };
            prop_assert_eq!(ChangeNotifyRequest::decode(&frame(|o| r.encode(o))).unwrap(), r);
            let r = ChangeNotifyResponse { output: b.into() };
            prop_assert_eq!(ChangeNotifyResponse::decode(&frame(|o| r.encode(o))).unwrap(), r);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..100)) {
            let m = frame(|o| o.put_slice(&b));
            let _ = ChangeNotifyRequest::decode(&m);
            let _ = ChangeNotifyResponse::decode(&m);
        }

        #[test]
        fn notify_chain_is_aligned(names in proptest::collection::vec(("[a-z\\\\]{0,9}", any::<u32>()), 1..6)) {
            let entries: Vec<(u32, String)> = names.into_iter().map(|(n, a)| (a, n)).collect();
            let mut out = BytesMut::new();
            encode_notify_information(&entries, &mut out);
            let mut pos = 0usize;
            for (i, (action, name)) in entries.iter().enumerate() {
                let next = u32::from_le_bytes(out[pos..pos + 4].try_into().unwrap()) as usize;
                prop_assert_eq!(u32::from_le_bytes(out[pos + 4..pos + 8].try_into().unwrap()), *action);
                let len = u32::from_le_bytes(out[pos + 8..pos + 12].try_into().unwrap()) as usize;
                prop_assert_eq!(super::super::utf16le_to_string(&out[pos + 12..pos + 12 + len]).unwrap(), name.clone());
                prop_assert_eq!(next % 4, 0);
                prop_assert_eq!(next == 0, i + 1 == entries.len());
                pos += next;
            }
        }
    }

    /// MS-FSCC 2.7.1 layout: "a" added, then "bc" removed.
    #[test]
    fn notify_vector() {
        let mut out = BytesMut::new();
        encode_notify_information(
            &[
                (notify_action::FILE_ACTION_ADDED, "a".into()),
                (notify_action::FILE_ACTION_REMOVED, "bc".into()),
            ],
            &mut out,
        );
        let expect = hex::decode(concat!(
            "10000000", "01000000", "02000000", "6100", "0000", "00000000", "02000000", "04000000",
            "62006300"
        ))
        .unwrap();
        assert_eq!(&out[..], &expect[..]);
    }

    #[test]
    fn refuses_bad_structure_size_and_truncation() {
        let m = frame(|o| o.put_slice(&[33, 0]));
        assert_eq!(
            ChangeNotifyRequest::decode(&m),
            Err(Error::Invalid("StructureSize"))
        );
        let m = frame(|o| o.put_slice(&[32, 0, 0, 0]));
        assert_eq!(ChangeNotifyRequest::decode(&m), Err(Error::Truncated));
        let m = frame(|o| o.put_slice(&[9, 0, 0x48, 0, 1, 0, 0, 0]));
        assert_eq!(ChangeNotifyResponse::decode(&m), Err(Error::Truncated));
    }
}
