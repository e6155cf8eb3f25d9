//! SMB2 IOCTL request and response (MS-SMB2 2.2.31, 2.2.32). The FSCTL codes and payloads
//! are in [`super::fsctl`].
use super::{
    body, check_structure_size, pad_to, variable_buffer, Bytes, BytesMut, FileId, Result,
    HEADER_LEN,
};
use bytes::BufMut;
use nom::number::complete::{le_u16, le_u32};

/// Flags SMB2_0_IOCTL_IS_IOCTL: the request is an IOCTL.
pub const SMB2_0_IOCTL_IS_IOCTL: u32 = 0x0000_0000;
/// Flags SMB2_0_IOCTL_IS_FSCTL: the request is an FSCTL.
pub const SMB2_0_IOCTL_IS_FSCTL: u32 = 0x0000_0001;

/// Fixed request body length (StructureSize 57 counts one byte of Buffer).
const REQUEST_FIXED: usize = 56;
/// Fixed response body length (StructureSize 49 counts one byte of Buffer).
const RESPONSE_FIXED: usize = 48;

fn clamp32(b: &[u8]) -> &[u8] {
    &b[..b.len().min(u32::MAX as usize)]
}

/// SMB2 IOCTL request (MS-SMB2 2.2.31).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IoctlRequest {
    /// CtlCode (an `FSCTL_*` of [`super::fsctl`]).
    pub ctl_code: u32,
    /// FileId (all ones for FSCTLs not tied to an open, e.g. VALIDATE_NEGOTIATE_INFO).
    pub file_id: FileId,
    /// The input buffer (InputOffset/InputCount).
    pub input: Bytes,
    /// MaxInputResponse.
    pub max_input_response: u32,
    /// The output buffer the client sent (OutputOffset/OutputCount; usually empty).
    pub output: Bytes,
    /// MaxOutputResponse.
    pub max_output_response: u32,
    /// Flags (see [`SMB2_0_IOCTL_IS_FSCTL`]).
    pub flags: u32,
}

impl IoctlRequest {
    /// True when Flags says FSCTL.
    pub fn is_fsctl(&self) -> bool {
        self.flags & SMB2_0_IOCTL_IS_FSCTL != 0
    }

    /// Decodes an IOCTL request message.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 57)?;
        let i = &b[2..];
        let (i, _reserved) = le_u16(i)?;
        let (i, ctl_code) = le_u32(i)?;
        let (i, file_id) = FileId::parse(i)?;
        let (i, input_offset) = le_u32(i)?;
        let (i, input_count) = le_u32(i)?;
        let (i, max_input_response) = le_u32(i)?;
        let (i, output_offset) = le_u32(i)?;
        let (i, output_count) = le_u32(i)?;
        let (i, max_output_response) = le_u32(i)?;
        let (i, flags) = le_u32(i)?;
        let (_, _reserved2) = le_u32(i)?;
        Ok(IoctlRequest {
            ctl_code,
            file_id,
            input: variable_buffer(
                msg,
                input_offset as usize,
                input_count as usize,
                REQUEST_FIXED,
                "InputOffset",
            )?,
            max_input_response,
            output: variable_buffer(
                msg,
                output_offset as usize,
                output_count as usize,
                REQUEST_FIXED,
                "OutputOffset",
            )?,
            max_output_response,
            flags,
        })
    }

    /// Appends the request body: input at 0x78, output after it at the next 8-byte boundary.
    pub fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        let input = clamp32(&self.input);
        let output = clamp32(&self.output);
        let input_offset = HEADER_LEN + REQUEST_FIXED;
        let output_offset = (input_offset + input.len()).div_ceil(8) * 8;
        out.put_u16_le(57);
        out.put_u16_le(0);
        out.put_u32_le(self.ctl_code);
        self.file_id.encode(out);
        out.put_u32_le(input_offset as u32);
        out.put_u32_le(input.len() as u32);
        out.put_u32_le(self.max_input_response);
        out.put_u32_le(if output.is_empty() {
            0
        } else {
            output_offset as u32
        });
        out.put_u32_le(output.len() as u32);
        out.put_u32_le(self.max_output_response);
        out.put_u32_le(self.flags);
        out.put_u32_le(0);
        out.put_slice(input);
        if !output.is_empty() {
            pad_to(out, start, 8);
            out.put_slice(output);
        }
    }
}

/// SMB2 IOCTL response (MS-SMB2 2.2.32).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IoctlResponse {
    /// CtlCode, echoed from the request.
    pub ctl_code: u32,
    /// FileId, echoed from the request.
    pub file_id: FileId,
    /// The input buffer (the server usually returns none).
    pub input: Bytes,
    /// The output buffer.
    pub output: Bytes,
    /// Flags (MUST be 0).
    pub flags: u32,
}

impl IoctlResponse {
    /// Decodes an IOCTL response message.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 49)?;
        let i = &b[2..];
        let (i, _reserved) = le_u16(i)?;
        let (i, ctl_code) = le_u32(i)?;
        let (i, file_id) = FileId::parse(i)?;
        let (i, input_offset) = le_u32(i)?;
        let (i, input_count) = le_u32(i)?;
        let (i, output_offset) = le_u32(i)?;
        let (i, output_count) = le_u32(i)?;
        let (i, flags) = le_u32(i)?;
        let (_, _reserved2) = le_u32(i)?;
        Ok(IoctlResponse {
            ctl_code,
            file_id,
            input: variable_buffer(
                msg,
                input_offset as usize,
                input_count as usize,
                RESPONSE_FIXED,
                "InputOffset",
            )?,
            output: variable_buffer(
                msg,
                output_offset as usize,
                output_count as usize,
                RESPONSE_FIXED,
                "OutputOffset",
            )?,
            flags,
        })
    }

    /// Appends the response body: InputOffset 0x70 and OutputOffset at the next 8-byte
    /// boundary after the input (0x70 too when there is no input, as Windows sends).
    pub fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        let input = clamp32(&self.input);
        let output = clamp32(&self.output);
        let input_offset = HEADER_LEN + RESPONSE_FIXED;
        let output_offset = (input_offset + input.len()).div_ceil(8) * 8;
        out.put_u16_le(49);
        out.put_u16_le(0);
        out.put_u32_le(self.ctl_code);
        self.file_id.encode(out);
        out.put_u32_le(input_offset as u32);
        out.put_u32_le(input.len() as u32);
        out.put_u32_le(output_offset as u32);
        out.put_u32_le(output.len() as u32);
        out.put_u32_le(self.flags);
        out.put_u32_le(0);
        out.put_slice(input);
        if !output.is_empty() {
            pad_to(out, start, 8);
            out.put_slice(output);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::fsctl::FSCTL_VALIDATE_NEGOTIATE_INFO;
    use crate::wire::Error;
    use proptest::prelude::*;

    fn msg(f: impl FnOnce(&mut BytesMut)) -> Bytes {
        let mut out = BytesMut::from(&[0u8; HEADER_LEN][..]);
        f(&mut out);
        out.freeze()
    }

    #[test]
    fn validate_negotiate_request_layout() {
        let r = IoctlRequest {
            ctl_code: FSCTL_VALIDATE_NEGOTIATE_INFO,
            file_id: FileId::ANY,
            input: Bytes::from(vec![0xAA; 32]),
            max_input_response: 0,
            output: Bytes::new(),
            max_output_response: 24,
            flags: SMB2_0_IOCTL_IS_FSCTL,
        };
        let m = msg(|o| r.encode(o));
        let b = &m[HEADER_LEN..];
        assert_eq!(&b[..8], &[0x39, 0, 0, 0, 0x04, 0x02, 0x14, 0x00]);
        assert_eq!(&b[24..32], &[0x78, 0, 0, 0, 32, 0, 0, 0]);
        assert_eq!(m.len(), HEADER_LEN + 56 + 32);
        assert_eq!(IoctlRequest::decode(&m).unwrap(), r);
    }

    #[test]
    fn response_offsets_without_input() {
        let r = IoctlResponse {
            ctl_code: FSCTL_VALIDATE_NEGOTIATE_INFO,
            file_id: FileId::ANY,
            input: Bytes::new(),
            output: Bytes::from(vec![1; 24]),
            flags: 0,
        };
        let m = msg(|o| r.encode(o));
        let b = &m[HEADER_LEN..];
        assert_eq!(
            &b[24..40],
            &[0x70, 0, 0, 0, 0, 0, 0, 0, 0x70, 0, 0, 0, 24, 0, 0, 0]
        );
        assert_eq!(IoctlResponse::decode(&m).unwrap(), r);
    }

    #[test]
    fn refuses_bad_buffers() {
        let r = IoctlRequest {
            input: Bytes::from_static(b"12345678"),
            output: Bytes::from_static(b"abcd"),
            ..Default::default()
        };
        let m = msg(|o| r.encode(o)).to_vec();
        let at = |f: usize| HEADER_LEN + f;
        let mut b = m.clone();
        b[at(24)] = 0x40; // input offset before the end of the fixed part
        assert_eq!(
            IoctlRequest::decode(&Bytes::from(b)),
            Err(Error::Invalid("InputOffset"))
        );
        let mut b = m.clone();
        b[at(36)] = 0x10; // output offset inside the header
        assert_eq!(
            IoctlRequest::decode(&Bytes::from(b)),
            Err(Error::Invalid("OutputOffset"))
        );
        let mut b = m.clone();
        b[at(40)] = 5; // output count past the end
        assert_eq!(IoctlRequest::decode(&Bytes::from(b)), Err(Error::Truncated));
        let mut b = m;
        b[at(24)..at(32)].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(IoctlRequest::decode(&Bytes::from(b)), Err(Error::Truncated));
    }

    proptest! {
        #[test]
        fn request_round_trip(ctl_code: u32, p: u64, v: u64, mir: u32, mor: u32, flags: u32,
                              input in proptest::collection::vec(any::<u8>(), 0..40),
                              output in proptest::collection::vec(any::<u8>(), 0..40)) {
            let r = IoctlRequest { ctl_code, file_id: FileId { persistent: p, volatile: v },
                input: Bytes::from(input), max_input_response: mir, output: Bytes::from(output),
                max_output_response: mor, flags };
            prop_assert_eq!(IoctlRequest::decode(&msg(|o| r.encode(o))).unwrap(), r);
        }

        #[test]
        fn response_round_trip(ctl_code: u32, p: u64, v: u64, flags: u32,
                               input in proptest::collection::vec(any::<u8>(), 0..40),
                               output in proptest::collection::vec(any::<u8>(), 0..40)) {
            let r = IoctlResponse { ctl_code, file_id: FileId { persistent: p, volatile: v },
                input: Bytes::from(input), output: Bytes::from(output), flags };
            prop_assert_eq!(IoctlResponse::decode(&msg(|o| r.encode(o))).unwrap(), r);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let m = Bytes::from(b);
            let _ = IoctlRequest::decode(&m);
            let _ = IoctlResponse::decode(&m);
        }
    }
}
