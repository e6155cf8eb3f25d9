//! SMB2 QUERY_DIRECTORY request and response (MS-SMB2 2.2.33, 2.2.34), with the directory
//! FileInformationClass values (MS-FSCC 2.4).
use super::query_info::{decode_output_buffer, encode_output_buffer};
use super::variable_buffer;
use super::{body, check_structure_size, utf16le_to_string, Error, FileId, Result, HEADER_LEN};
use bytes::{BufMut, Bytes, BytesMut};
use nom::number::complete::{le_u16, le_u32, le_u8};

/// FileInformationClass values valid in QUERY_DIRECTORY (MS-SMB2 2.2.33, MS-FSCC 2.4).
pub mod file_information_class {
    /// FileDirectoryInformation.
    pub const FILE_DIRECTORY_INFORMATION: u8 = 0x01;
    /// FileFullDirectoryInformation.
    pub const FILE_FULL_DIRECTORY_INFORMATION: u8 = 0x02;
    /// FileBothDirectoryInformation.
    pub const FILE_BOTH_DIRECTORY_INFORMATION: u8 = 0x03;
    /// FileNamesInformation.
    pub const FILE_NAMES_INFORMATION: u8 = 0x0C;
    /// FileIdBothDirectoryInformation.
    pub const FILE_ID_BOTH_DIRECTORY_INFORMATION: u8 = 0x25;
    /// FileIdFullDirectoryInformation.
    pub const FILE_ID_FULL_DIRECTORY_INFORMATION: u8 = 0x26;
    /// FileIdExtdDirectoryInformation.
    pub const FILE_ID_EXTD_DIRECTORY_INFORMATION: u8 = 0x3C;
    /// FileId64ExtdDirectoryInformation.
    pub const FILE_ID_64_EXTD_DIRECTORY_INFORMATION: u8 = 0x4E;
    /// FileId64ExtdBothDirectoryInformation.
    pub const FILE_ID_64_EXTD_BOTH_DIRECTORY_INFORMATION: u8 = 0x4F;
    /// FileIdAllExtdDirectoryInformation.
    pub const FILE_ID_ALL_EXTD_DIRECTORY_INFORMATION: u8 = 0x50;
    /// FileIdAllExtdBothDirectoryInformation.
    pub const FILE_ID_ALL_EXTD_BOTH_DIRECTORY_INFORMATION: u8 = 0x51;
    /// FileInformationClass_Reserved.
    pub const FILE_INFORMATION_CLASS_RESERVED: u8 = 0x64;
}

/// Flags of QUERY_DIRECTORY (MS-SMB2 2.2.33).
pub mod query_directory_flags {
    /// SMB2_RESTART_SCANS.
    pub const RESTART_SCANS: u8 = 0x01;
    /// SMB2_RETURN_SINGLE_ENTRY.
    pub const RETURN_SINGLE_ENTRY: u8 = 0x02;
    /// SMB2_INDEX_SPECIFIED.
    pub const INDEX_SPECIFIED: u8 = 0x04;
    /// SMB2_REOPEN.
    pub const REOPEN: u8 = 0x10;
}

/// Fixed part of the request body (StructureSize 33 counts one buffer byte).
const REQUEST_FIXED: usize = 32;

/// SMB2 QUERY_DIRECTORY Request (MS-SMB2 2.2.33).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryDirectoryRequest {
    /// FileInformationClass ([`file_information_class`]).
    pub file_information_class: u8,
    /// Flags ([`query_directory_flags`]).
    pub flags: u8,
    /// FileIndex.
    pub file_index: u32,
    /// FileId of the directory.
    pub file_id: FileId,
    /// The search pattern as sent (UTF-16LE). `encode` writes this field.
    pub file_name_bytes: Bytes,
    /// The pattern decoded from `file_name_bytes`, or `None` when it is not valid UTF-16.
    pub file_name: Option<String>,
    /// OutputBufferLength: most bytes the client accepts.
    pub output_buffer_length: u32,
}

impl QueryDirectoryRequest {
    /// Sets `file_name` and `file_name_bytes` from a string.
    pub fn set_file_name(&mut self, pattern: &str) {
        self.file_name_bytes = super::string_to_utf16le(pattern).into();
        self.file_name = Some(pattern.to_owned());
    }

    /// Decodes the request in `msg`. Invalid UTF-16 in the pattern is not an error
    /// (`file_name` is `None`); an odd FileNameLength is.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 33)?;
        let (i, _) = le_u16(b)?;
        let (i, file_information_class) = le_u8(i)?;
        let (i, flags) = le_u8(i)?;
        let (i, file_index) = le_u32(i)?;
        let (i, file_id) = FileId::parse(i)?;
        let (i, name_offset) = le_u16(i)?;
        let (i, name_length) = le_u16(i)?;
        let (_, output_buffer_length) = le_u32(i)?;
        if !name_length.is_multiple_of(2) {
            return Err(Error::Invalid("FileNameLength"));
        }
        let file_name_bytes = variable_buffer(
            msg,
            name_offset as usize,
            name_length as usize,
            REQUEST_FIXED,
            "FileNameOffset",
        )?;
        let file_name = utf16le_to_string(&file_name_bytes).ok();
        Ok(QueryDirectoryRequest {
            file_information_class,
            flags,
            file_index,
            file_id,
            file_name_bytes,
            file_name,
            output_buffer_length,
        })
    }

    /// Appends the body; the pattern (or one zero byte) follows the fixed part.
    pub fn encode(&self, out: &mut BytesMut) {
        let name = &self.file_name_bytes[..self.file_name_bytes.len().min(u16::MAX as usize & !1)];
        out.put_u16_le(33);
        out.put_u8(self.file_information_class);
        out.put_u8(self.flags);
        out.put_u32_le(self.file_index);
        self.file_id.encode(out);
        out.put_u16_le((HEADER_LEN + REQUEST_FIXED) as u16);
        out.put_u16_le(name.len() as u16);
        out.put_u32_le(self.output_buffer_length);
        if name.is_empty() {
            out.put_u8(0);
        } else {
            out.put_slice(name);
        }
    }
}

/// SMB2 QUERY_DIRECTORY Response (MS-SMB2 2.2.34).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryDirectoryResponse {
    /// The directory entries (OutputBufferLength bytes at OutputBufferOffset).
    pub output: Bytes,
}

impl QueryDirectoryResponse {
    /// Decodes the response in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        Ok(QueryDirectoryResponse {
            output: decode_output_buffer(msg)?,
        })
    }

    /// Appends the body with the output at offset 0x48.
    pub fn encode(&self, out: &mut BytesMut) {
        encode_output_buffer(&self.output, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_frame as frame;
    use proptest::prelude::*;

    prop_compose! {
        fn request()(f in any::<(u8, u8, u32, u64, u64, u32)>(),
                     units in proptest::collection::vec(any::<u16>(), 0..30)) -> QueryDirectoryRequest {
            let b: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
            let file_name = utf16le_to_string(&b).ok();
            QueryDirectoryRequest { file_information_class: f.0, flags: f.1, file_index: f.2,
                file_id: FileId { persistent: f.3, volatile: f.4 }, file_name_bytes: b.into(),
                file_name, output_buffer_length: f.5 }
        }
    }

    proptest! {
        #[test]
        fn request_round_trip(r in request()) {
            prop_assert_eq!(QueryDirectoryRequest::decode(&frame(|o| r.encode(o))).unwrap(), r);
        }

        #[test]
        fn response_round_trip(b in proptest::collection::vec(any::<u8>(), 0..100)) {
            let r = QueryDirectoryResponse { output: b.into() };
            prop_assert_eq!(QueryDirectoryResponse::decode(&frame(|o| r.encode(o))).unwrap(), r);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..120)) {
            let m = frame(|o| o.put_slice(&b));
            let _ = QueryDirectoryRequest::decode(&m);
            let _ = QueryDirectoryResponse::decode(&m);
        }
    }

    /// FileIdBothDirectoryInformation listing with pattern "*", restart scans, 64 KiB.
    #[test]
    fn request_vector() {
        let body = hex::decode(concat!(
            "2100",
            "25",
            "01",
            "00000000",
            "0100000000000000",
            "0200000000000000",
            "6000",
            "0200",
            "00000100",
            "2a00"
        ))
        .unwrap();
        let m = frame(|o| o.put_slice(&body));
        let r = QueryDirectoryRequest::decode(&m).unwrap();
        assert_eq!(r.file_name.as_deref(), Some("*"));
        assert_eq!(
            r.file_information_class,
            file_information_class::FILE_ID_BOTH_DIRECTORY_INFORMATION
        );
        assert_eq!(r.flags, query_directory_flags::RESTART_SCANS);
        assert_eq!(&frame(|o| r.encode(o))[..], &m[..]);
    }

    #[test]
    fn refuses_bad_structure_size_odd_name_and_offsets() {
        let mut r = QueryDirectoryRequest::default();
        r.set_file_name("*.txt");
        let good = frame(|o| r.encode(o)).to_vec();
        let mut m = good.clone();
        m[HEADER_LEN] = 32;
        assert_eq!(
            QueryDirectoryRequest::decode(&Bytes::from(m)),
            Err(Error::Invalid("StructureSize"))
        );
        let mut m = good.clone();
        m[HEADER_LEN + 26] = 9;
        assert_eq!(
            QueryDirectoryRequest::decode(&Bytes::from(m)),
            Err(Error::Invalid("FileNameLength"))
        );
        let mut m = good.clone();
        m[HEADER_LEN + 24] = 0x50;
        assert_eq!(
            QueryDirectoryRequest::decode(&Bytes::from(m)),
            Err(Error::Invalid("FileNameOffset"))
        );
        let mut m = good;
        m[HEADER_LEN + 26] = 12;
        assert_eq!(
            QueryDirectoryRequest::decode(&Bytes::from(m)),
            Err(Error::Truncated)
        );
        let r = QueryDirectoryRequest {
            file_name_bytes: Bytes::from_static(&[0x00, 0xDC]),
            ..Default::default()
        };
        let got = QueryDirectoryRequest::decode(&frame(|o| r.encode(o))).unwrap();
        assert_eq!(got.file_name, None);
    }
}
