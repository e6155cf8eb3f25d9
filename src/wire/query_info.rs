//! SMB2 QUERY_INFO request and response (MS-SMB2 2.2.37, 2.2.38), with the InfoType and
//! AdditionalInformation values shared with SET_INFO. The shared "output buffer" response
//! layout of QUERY_DIRECTORY, CHANGE_NOTIFY and QUERY_INFO is implemented here too.
use super::variable_buffer;
use super::{body, check_structure_size, FileId, Result, HEADER_LEN};
use bytes::{BufMut, Bytes, BytesMut};
use nom::number::complete::{le_u16, le_u32, le_u8};

/// InfoType of QUERY_INFO / SET_INFO (MS-SMB2 2.2.37).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct InfoType(pub u8);

impl InfoType {
    /// SMB2_0_INFO_FILE.
    pub const FILE: InfoType = InfoType(0x01);
    /// SMB2_0_INFO_FILESYSTEM.
    pub const FILESYSTEM: InfoType = InfoType(0x02);
    /// SMB2_0_INFO_SECURITY.
    pub const SECURITY: InfoType = InfoType(0x03);
    /// SMB2_0_INFO_QUOTA.
    pub const QUOTA: InfoType = InfoType(0x04);
}

/// AdditionalInformation bits for SMB2_0_INFO_SECURITY (MS-SMB2 2.2.37).
pub mod additional_information {
    /// OWNER_SECURITY_INFORMATION.
    pub const OWNER_SECURITY_INFORMATION: u32 = 0x0000_0001;
    /// GROUP_SECURITY_INFORMATION.
    pub const GROUP_SECURITY_INFORMATION: u32 = 0x0000_0002;
    /// DACL_SECURITY_INFORMATION.
    pub const DACL_SECURITY_INFORMATION: u32 = 0x0000_0004;
    /// SACL_SECURITY_INFORMATION.
    pub const SACL_SECURITY_INFORMATION: u32 = 0x0000_0008;
    /// LABEL_SECURITY_INFORMATION.
    pub const LABEL_SECURITY_INFORMATION: u32 = 0x0000_0010;
    /// ATTRIBUTE_SECURITY_INFORMATION.
    pub const ATTRIBUTE_SECURITY_INFORMATION: u32 = 0x0000_0020;
    /// SCOPE_SECURITY_INFORMATION.
    pub const SCOPE_SECURITY_INFORMATION: u32 = 0x0000_0040;
    /// BACKUP_SECURITY_INFORMATION.
    pub const BACKUP_SECURITY_INFORMATION: u32 = 0x0001_0000;
}

/// Flags of QUERY_INFO (MS-SMB2 2.2.37), used with FileFullEaInformation.
pub mod query_info_flags {
    /// SL_RESTART_SCAN.
    pub const SL_RESTART_SCAN: u32 = 0x0000_0001;
    /// SL_RETURN_SINGLE_ENTRY.
    pub const SL_RETURN_SINGLE_ENTRY: u32 = 0x0000_0002;
    /// SL_INDEX_SPECIFIED.
    pub const SL_INDEX_SPECIFIED: u32 = 0x0000_0004;
}

/// Fixed part of the request body (StructureSize 41 counts one buffer byte).
const REQUEST_FIXED: usize = 40;
/// Fixed part of an output-buffer response body (StructureSize 9).
const OUTPUT_FIXED: usize = 8;

/// Decodes the StructureSize 9 / OutputBufferOffset / OutputBufferLength / Buffer layout of
/// the QUERY_DIRECTORY, CHANGE_NOTIFY and QUERY_INFO responses.
pub(crate) fn decode_output_buffer(msg: &Bytes) -> Result<Bytes> {
    let b = body(msg)?;
    check_structure_size(b, 9)?;
    let (i, _) = le_u16(b)?;
    let (i, offset) = le_u16(i)?;
    let (_, length) = le_u32(i)?;
    variable_buffer(
        msg,
        offset as usize,
        length as usize,
        OUTPUT_FIXED,
        "OutputBufferOffset",
    )
}

/// Appends the output-buffer response layout with `output` at offset 0x48 (one padding byte
/// when `output` is empty). Output longer than `u32::MAX` is cut.
pub(crate) fn encode_output_buffer(output: &Bytes, out: &mut BytesMut) {
    let output = &output[..output.len().min(u32::MAX as usize)];
    out.put_u16_le(9);
    out.put_u16_le((HEADER_LEN + OUTPUT_FIXED) as u16);
    out.put_u32_le(output.len() as u32);
    if output.is_empty() {
        out.put_u8(0);
    } else {
        out.put_slice(output);
    }
}

/// SMB2 QUERY_INFO Request (MS-SMB2 2.2.37).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryInfoRequest {
    /// InfoType.
    pub info_type: InfoType,
    /// FileInfoClass (a FileInformationClass / FsInformationClass of MS-FSCC, or 0).
    pub file_info_class: u8,
    /// OutputBufferLength: most bytes the client accepts.
    pub output_buffer_length: u32,
    /// The input buffer (quota SIDs or an EA name list).
    pub input_buffer: Bytes,
    /// AdditionalInformation ([`additional_information`] for security).
    pub additional_information: u32,
    /// Flags ([`query_info_flags`]).
    pub flags: u32,
    /// FileId.
    pub file_id: FileId,
}

impl QueryInfoRequest {
    /// Decodes the request in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 41)?;
        let (i, _) = le_u16(b)?;
        let (i, info_type) = le_u8(i)?;
        let (i, file_info_class) = le_u8(i)?;
        let (i, output_buffer_length) = le_u32(i)?;
        let (i, input_offset) = le_u16(i)?;
        let (i, _reserved) = le_u16(i)?;
        let (i, input_length) = le_u32(i)?;
        let (i, additional_information) = le_u32(i)?;
        let (i, flags) = le_u32(i)?;
        let (_, file_id) = FileId::parse(i)?;
        let input_buffer = variable_buffer(
            msg,
            input_offset as usize,
            input_length as usize,
            REQUEST_FIXED,
            "InputBufferOffset",
        )?;
        Ok(QueryInfoRequest {
            info_type: InfoType(info_type),
            file_info_class,
            output_buffer_length,
            input_buffer,
            additional_information,
            flags,
            file_id,
        })
    }

    /// Appends the body; the input buffer (or one zero byte) follows the fixed part.
    pub fn encode(&self, out: &mut BytesMut) {
        let input = &self.input_buffer[..self.input_buffer.len().min(u32::MAX as usize)];
        out.put_u16_le(41);
        out.put_u8(self.info_type.0);
        out.put_u8(self.file_info_class);
        out.put_u32_le(self.output_buffer_length);
        out.put_u16_le((HEADER_LEN + REQUEST_FIXED) as u16);
        out.put_u16_le(0);
        out.put_u32_le(input.len() as u32);
        out.put_u32_le(self.additional_information);
        out.put_u32_le(self.flags);
        self.file_id.encode(out);
        if input.is_empty() {
            out.put_u8(0);
        } else {
            out.put_slice(input);
        }
    }
}

/// SMB2 QUERY_INFO Response (MS-SMB2 2.2.38).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryInfoResponse {
    /// The output buffer (OutputBufferLength bytes at OutputBufferOffset).
    pub output: Bytes,
}

impl QueryInfoResponse {
    /// Decodes the response in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        Ok(QueryInfoResponse {
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
    use super::super::Error;
    use super::*;
    use crate::wire::test_frame as frame;
    use proptest::prelude::*;

    prop_compose! {
        fn request()(f in any::<(u8, u8, u32, u32, u32, u64, u64)>(),
                     input in proptest::collection::vec(any::<u8>(), 0..64)) -> QueryInfoRequest {
            QueryInfoRequest { info_type: InfoType(f.0), file_info_class: f.1,
                output_buffer_length: f.2, input_buffer: input.into(),
                additional_information: f.3, flags: f.4,
                file_id: FileId { persistent: f.5, volatile: f.6 } }
        }
    }

    proptest! {
        #[test]
        fn request_round_trip(r in request()) {
            prop_assert_eq!(QueryInfoRequest::decode(&frame(|o| r.encode(o))).unwrap(), r);
        }

        #[test]
        fn response_round_trip(b in proptest::collection::vec(any::<u8>(), 0..100)) {
            let r = QueryInfoResponse { output: b.into() };
            prop_assert_eq!(QueryInfoResponse::decode(&frame(|o| r.encode(o))).unwrap(), r);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..120)) {
            let m = frame(|o| o.put_slice(&b));
            let _ = QueryInfoRequest::decode(&m);
            let _ = QueryInfoResponse::decode(&m);
        }
    }

    /// FileStandardInformation (class 5) query as a Windows client sends it.
    #[test]
    fn request_vector() {
        let body = hex::decode(concat!(
            "2900",
            "01",
            "05",
            "18000000",
            "6800",
            "0000",
            "00000000",
            "00000000",
            "00000000",
            "0100000000000000",
            "0200000000000000",
            "00"
        ))
        .unwrap();
        let m = frame(|o| o.put_slice(&body));
        let r = QueryInfoRequest::decode(&m).unwrap();
        assert_eq!(r.info_type, InfoType::FILE);
        assert_eq!(r.file_info_class, 5);
        assert_eq!(r.output_buffer_length, 24);
        assert_eq!(&frame(|o| r.encode(o))[..], &m[..]);
    }

    #[test]
    fn refuses_bad_structure_size_and_buffers() {
        let r = QueryInfoRequest {
            input_buffer: Bytes::from_static(&[1; 8]),
            ..Default::default()
        };
        let good = frame(|o| r.encode(o)).to_vec();
        let mut m = good.clone();
        m[HEADER_LEN] = 40;
        assert_eq!(
            QueryInfoRequest::decode(&Bytes::from(m)),
            Err(Error::Invalid("StructureSize"))
        );
        let mut m = good.clone();
        m[HEADER_LEN + 8] = 0x60;
        assert_eq!(
            QueryInfoRequest::decode(&Bytes::from(m)),
            Err(Error::Invalid("InputBufferOffset"))
        );
        let mut m = good;
        m[HEADER_LEN + 12..HEADER_LEN + 16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            QueryInfoRequest::decode(&Bytes::from(m)),
            Err(Error::Truncated)
        );
        let resp = frame(|o| {
            QueryInfoResponse {
                output: Bytes::from_static(b"xyz"),
            }
            .encode(o)
        });
        let mut m = resp.to_vec();
        m[HEADER_LEN + 2] = 0x40;
        assert_eq!(
            QueryInfoResponse::decode(&Bytes::from(m)),
            Err(Error::Invalid("OutputBufferOffset"))
        );
        let mut m = resp.to_vec();
        m[HEADER_LEN + 4] = 4;
        assert_eq!(
            QueryInfoResponse::decode(&Bytes::from(m)),
            Err(Error::Truncated)
        );
    }
}
