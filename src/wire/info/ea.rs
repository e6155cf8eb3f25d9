//! Chained file information lists (MS-FSCC 2.4): FILE_FULL_EA_INFORMATION (2.4.15, query
//! and set, 4-byte aligned entries), FILE_GET_EA_INFORMATION (2.4.15.1, the QUERY_INFO
//! input that names the EAs wanted) and FILE_STREAM_INFORMATION (2.4.48, 8-byte aligned).

use super::{decode_chain, encode_chain, utf16_len_u32, Reader};
use crate::wire::{put_utf16le, BytesMut, Error, Result};
use bytes::BufMut;

/// FILE_NEED_EA: the Flags bit saying the file must not be understood without this EA.
pub const FILE_NEED_EA: u8 = 0x80;

/// One FILE_FULL_EA_INFORMATION entry (MS-FSCC 2.4.15): NextEntryOffset (4), Flags (1),
/// EaNameLength (1), EaValueLength (2), EaName (ASCII, followed by a NUL not counted in
/// EaNameLength), EaValue.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileFullEaInformation {
    /// Flags (0 or [`FILE_NEED_EA`])
    pub flags: u8,
    /// EaName, without its terminating NUL (at most 255 bytes).
    pub ea_name: Vec<u8>,
    /// EaValue (at most 65535 bytes). An empty value in SET_INFO deletes the EA.
    pub ea_value: Vec<u8>,
}

impl FileFullEaInformation {
    /// Size of the fixed part (before EaName).
    pub const LEN: usize = 8;

    /// Bytes this entry takes, without alignment padding.
    pub fn entry_len(&self) -> usize {
        Self::LEN + self.ea_name.len() + 1 + self.ea_value.len()
    }

    fn parse(entry: &[u8]) -> Result<(Self, usize)> {
        let mut r = Reader::new(entry);
        r.skip(4)?;
        let flags = r.u8()?;
        let name_len = r.u8()? as usize;
        let value_len = r.u16()? as usize;
        let ea_name = r.bytes(name_len)?.to_vec();
        if r.u8()? != 0 {
            return Err(Error::Invalid("EaName terminator"));
        }
        let ea_value = r.bytes(value_len)?.to_vec();
        Ok((
            FileFullEaInformation {
                flags,
                ea_name,
                ea_value,
            },
            r.pos(),
        ))
    }

    fn put(&self, out: &mut BytesMut) -> Result<()> {
        let name_len =
            u8::try_from(self.ea_name.len()).map_err(|_| Error::Invalid("EaNameLength"))?;
        let value_len =
            u16::try_from(self.ea_value.len()).map_err(|_| Error::Invalid("EaValueLength"))?;
        if self.ea_name.contains(&0) {
            return Err(Error::Invalid("EaName"));
        }
        out.put_u32_le(0);
        out.put_u8(self.flags);
        out.put_u8(name_len);
        out.put_u16_le(value_len);
        out.put_slice(&self.ea_name);
        out.put_u8(0);
        out.put_slice(&self.ea_value);
        Ok(())
    }

    /// Decodes a whole chain (SET_INFO input or QUERY_INFO output). NextEntryOffset must be
    /// a multiple of 4 and cover its entry; names must be NUL-terminated.
    pub fn decode_list(b: &[u8]) -> Result<Vec<Self>> {
        decode_chain(b, 4, Self::parse)
    }

    /// Appends `list` as a chain with 4-byte aligned entries. Fails when a name is longer
    /// than 255 bytes or contains a NUL, or a value is longer than 65535 bytes.
    pub fn encode_list(list: &[Self], out: &mut BytesMut) -> Result<()> {
        encode_chain(list, 4, out, |e, o| e.put(o))
    }
}

/// One FILE_GET_EA_INFORMATION entry (MS-FSCC 2.4.15.1): NextEntryOffset (4),
/// EaNameLength (1), EaName followed by a NUL. Sent in the QUERY_INFO InputBuffer to ask
/// for named EAs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileGetEaInformation {
    /// EaName, without its NUL.
    pub ea_name: Vec<u8>,
}

impl FileGetEaInformation {
    fn parse(entry: &[u8]) -> Result<(Self, usize)> {
        let mut r = Reader::new(entry);
        r.skip(4)?;
        let n = r.u8()? as usize;
        let ea_name = r.bytes(n)?.to_vec();
        if r.u8()? != 0 {
            return Err(Error::Invalid("EaName terminator"));
        }
        Ok((FileGetEaInformation { ea_name }, r.pos()))
    }

    /// Decodes a whole chain (4-byte aligned entries).
    pub fn decode_list(b: &[u8]) -> Result<Vec<Self>> {
        decode_chain(b, 4, Self::parse)
    }

    /// Appends `list` as a chain with 4-byte aligned entries.
    pub fn encode_list(list: &[Self], out: &mut BytesMut) -> Result<()> {
        encode_chain(list, 4, out, |e, o| {
            let n = u8::try_from(e.ea_name.len()).map_err(|_| Error::Invalid("EaNameLength"))?;
            if e.ea_name.contains(&0) {
                return Err(Error::Invalid("EaName"));
            }
            o.put_u32_le(0);
            o.put_u8(n);
            o.put_slice(&e.ea_name);
            o.put_u8(0);
            Ok(())
        })
    }
}

/// One FILE_STREAM_INFORMATION entry (MS-FSCC 2.4.48): NextEntryOffset (4),
/// StreamNameLength (4), StreamSize (8), StreamAllocationSize (8), StreamName
/// (e.g. "::$DATA" or ":name:$DATA"). Entries are 8-byte aligned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileStreamInformation {
    /// StreamSize
    pub stream_size: u64,
    /// StreamAllocationSize
    pub stream_allocation_size: u64,
    /// StreamName
    pub stream_name: String,
}

impl FileStreamInformation {
    /// Size of the fixed part (before StreamName).
    pub const LEN: usize = 24;

    fn parse(entry: &[u8]) -> Result<(Self, usize)> {
        let mut r = Reader::new(entry);
        r.skip(4)?;
        let n = r.u32()? as usize;
        let stream_size = r.u64()?;
        let stream_allocation_size = r.u64()?;
        let stream_name = r.utf16(n)?;
        Ok((
            FileStreamInformation {
                stream_size,
                stream_allocation_size,
                stream_name,
            },
            r.pos(),
        ))
    }

    /// Decodes a whole chain (empty input is an empty list).
    pub fn decode_list(b: &[u8]) -> Result<Vec<Self>> {
        decode_chain(b, 8, Self::parse)
    }

    /// Appends `list` as a chain with 8-byte aligned entries.
    pub fn encode_list(list: &[Self], out: &mut BytesMut) -> Result<()> {
        encode_chain(list, 8, out, |e, o| {
            o.put_u32_le(0);
            o.put_u32_le(utf16_len_u32(&e.stream_name)?);
            o.put_u64_le(e.stream_size);
            o.put_u64_le(e.stream_allocation_size);
            put_utf16le(o, &e.stream_name);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    #[test]
    fn full_ea_layout_and_alignment() {
        let list = vec![
            FileFullEaInformation {
                flags: 0,
                ea_name: b"A".to_vec(),
                ea_value: b"xy".to_vec(),
            },
            FileFullEaInformation {
                flags: FILE_NEED_EA,
                ea_name: b"BC".to_vec(),
                ea_value: vec![],
            },
        ];
        let mut out = BytesMut::new();
        FileFullEaInformation::encode_list(&list, &mut out).unwrap();
        // first entry: 8 + 1 + 1 + 2 = 12 bytes, already 4-aligned
        assert_eq!(&out[0..4], &12u32.to_le_bytes());
        assert_eq!(&out[4..12], &[0, 1, 2, 0, b'A', 0, b'x', b'y']);
        assert_eq!(&out[12..16], &0u32.to_le_bytes());
        assert_eq!(&out[16..], &[0x80, 2, 0, 0, b'B', b'C', 0]);
        assert_eq!(FileFullEaInformation::decode_list(&out).unwrap(), list);
    }

    #[test]
    fn refuses_bad_ea_chains() {
        // name length past the end
        assert_eq!(
            FileFullEaInformation::decode_list(&[0, 0, 0, 0, 0, 9, 0, 0, b'a']),
            Err(Error::Truncated)
        );
        // missing NUL after the name
        assert!(FileFullEaInformation::decode_list(&[0, 0, 0, 0, 0, 1, 0, 0, b'a', b'b']).is_err());
        // NextEntryOffset shorter than the entry (would loop or overlap)
        assert!(
            FileFullEaInformation::decode_list(&[4, 0, 0, 0, 0, 1, 0, 0, b'a', 0, 0, 0]).is_err()
        );
        // NextEntryOffset not 4-aligned
        assert!(FileFullEaInformation::decode_list(&[
            13, 0, 0, 0, 0, 1, 0, 0, b'a', 0, 0, 0, 0, 0
        ])
        .is_err());
        // NextEntryOffset past the end
        assert_eq!(
            FileFullEaInformation::decode_list(&[12, 0, 0, 0, 0, 1, 0, 0, b'a', 0, 0, 0]),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn stream_entries_are_8_aligned() {
        let list = vec![
            FileStreamInformation {
                stream_size: 5,
                stream_allocation_size: 8,
                stream_name: "::$DATA".into(),
            },
            FileStreamInformation {
                stream_size: 1,
                stream_allocation_size: 8,
                stream_name: ":s:$DATA".into(),
            },
        ];
        let mut out = BytesMut::new();
        FileStreamInformation::encode_list(&list, &mut out).unwrap();
        // 24 + 14 = 38 -> next at 40
        assert_eq!(&out[0..4], &40u32.to_le_bytes());
        assert_eq!(&out[4..8], &14u32.to_le_bytes());
        assert_eq!(out.len(), 40 + 24 + 16);
        assert_eq!(FileStreamInformation::decode_list(&out).unwrap(), list);
    }

    fn ea() -> impl Strategy<Value = FileFullEaInformation> {
        (any::<u8>(), vec(1u8..=255, 0..20), vec(any::<u8>(), 0..40)).prop_map(
            |(flags, ea_name, ea_value)| FileFullEaInformation {
                flags,
                ea_name,
                ea_value,
            },
        )
    }

    proptest! {
        #[test]
        fn full_ea_round_trip(list in vec(ea(), 0..6)) {
            let mut out = BytesMut::new();
            FileFullEaInformation::encode_list(&list, &mut out).unwrap();
            prop_assert_eq!(FileFullEaInformation::decode_list(&out).unwrap(), list);
        }

        #[test]
        fn get_ea_round_trip(names in vec(vec(1u8..=255, 0..20), 0..6)) {
            let list: Vec<_> = names.into_iter().map(|ea_name| FileGetEaInformation { ea_name }).collect();
            let mut out = BytesMut::new();
            FileGetEaInformation::encode_list(&list, &mut out).unwrap();
            prop_assert_eq!(FileGetEaInformation::decode_list(&out).unwrap(), list);
        }

        #[test]
        fn stream_round_trip(list in vec((any::<u64>(), any::<u64>(), ".{0,12}"), 0..6)) {
            let list: Vec<_> = list.into_iter().map(|(a, b, n)| FileStreamInformation {
                stream_size: a, stream_allocation_size: b, stream_name: n }).collect();
            let mut out = BytesMut::new();
            FileStreamInformation::encode_list(&list, &mut out).unwrap();
            prop_assert_eq!(FileStreamInformation::decode_list(&out).unwrap(), list);
        }

        #[test]
        fn decoders_never_panic(b in vec(any::<u8>(), 0..200)) {
            let _ = FileFullEaInformation::decode_list(&b);
            let _ = FileGetEaInformation::decode_list(&b);
            let _ = FileStreamInformation::decode_list(&b);
        }
    }
}
