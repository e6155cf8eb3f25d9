//! SMB2 ERROR response (MS-SMB2 2.2.2) and the SMB 3.1.1 error contexts (2.2.2.1), with the
//! ErrorData formats the server produces (2.2.2.2: BUFFER_TOO_SMALL's required size).
use super::{body, check_structure_size, Bytes, BytesMut, Error, Result};
use bytes::BufMut;
use nom::number::complete::{le_u32, le_u8};

/// ErrorId SMB2_ERROR_ID_DEFAULT.
pub const SMB2_ERROR_ID_DEFAULT: u32 = 0x0000_0000;
/// ErrorId SMB2_ERROR_ID_SHARE_REDIRECT.
pub const SMB2_ERROR_ID_SHARE_REDIRECT: u32 = 0x7264_5253;

/// Most error contexts accepted in one response.
pub const MAX_ERROR_CONTEXTS: usize = 32;

/// SMB2 ERROR response body (MS-SMB2 2.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorResponse {
    /// ErrorContextCount (3.1.1): when non-zero, `error_data` is a list of error contexts.
    pub error_context_count: u8,
    /// ErrorData (ByteCount bytes).
    pub error_data: Bytes,
}

impl ErrorResponse {
    /// Decodes an ERROR response message. With ByteCount 0 the single padding byte is not
    /// required.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 9)?;
        let i = &b[2..];
        let (i, error_context_count) = le_u8(i)?;
        let (i, _reserved) = le_u8(i)?;
        let (_, byte_count) = le_u32(i)?;
        let start = super::HEADER_LEN + 8;
        let end = start
            .checked_add(byte_count as usize)
            .ok_or(Error::Invalid("ByteCount"))?;
        if end > msg.len() {
            return Err(Error::Truncated);
        }
        Ok(ErrorResponse {
            error_context_count,
            error_data: msg.slice(start..end),
        })
    }

    /// Appends the body: StructureSize 9, then ErrorData, or one zero byte when it is empty.
    pub fn encode(&self, out: &mut BytesMut) {
        encode_body(out, self.error_context_count, &self.error_data);
    }

    /// Decodes `error_data` as `error_context_count` error contexts.
    pub fn error_contexts(&self) -> Result<Vec<ErrorContext>> {
        decode_error_contexts(&self.error_data, self.error_context_count as usize)
    }
}

fn encode_body(out: &mut BytesMut, count: u8, data: &[u8]) {
    let data = &data[..data.len().min(u32::MAX as usize)];
    out.put_u16_le(9);
    out.put_u8(count);
    out.put_u8(0);
    out.put_u32_le(data.len() as u32);
    if data.is_empty() {
        out.put_u8(0);
    } else {
        out.put_slice(data);
    }
}

/// Appends an ERROR response body with ErrorContextCount 0 and `data` as ErrorData
/// (one zero byte when `data` is empty, as MS-SMB2 2.2.2 requires).
pub fn encode_error_body(out: &mut BytesMut, data: &[u8]) {
    encode_body(out, 0, data);
}

/// ErrorData of STATUS_BUFFER_TOO_SMALL (2.2.2.2): the required buffer size.
pub fn buffer_too_small_data(required: u32) -> [u8; 4] {
    required.to_le_bytes()
}

/// One SMB2 ERROR Context (2.2.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorContext {
    /// ErrorId (see [`SMB2_ERROR_ID_DEFAULT`]).
    pub error_id: u32,
    /// ErrorContextData (ErrorDataLength bytes).
    pub error_context_data: Bytes,
}

/// Decodes `count` error contexts from `data`; each starts 8-byte aligned from the start of
/// `data` (the last one need not be padded).
pub fn decode_error_contexts(data: &Bytes, count: usize) -> Result<Vec<ErrorContext>> {
    if count > MAX_ERROR_CONTEXTS {
        return Err(Error::Invalid("ErrorContextCount"));
    }
    let mut v = Vec::with_capacity(count);
    let mut pos = 0usize;
    for n in 0..count {
        if n > 0 {
            pos = pos.checked_next_multiple_of(8).ok_or(Error::Truncated)?;
        }
        let h = data.get(pos..pos + 8).ok_or(Error::Truncated)?;
        let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let error_id = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        let end = (pos + 8).checked_add(len).ok_or(Error::Truncated)?;
        if end > data.len() {
            return Err(Error::Truncated);
        }
        v.push(ErrorContext {
            error_id,
            error_context_data: data.slice(pos + 8..end),
        });
        pos = end;
    }
    Ok(v)
}

/// Appends error contexts, each after the first 8-byte aligned from where the list starts.
pub fn encode_error_contexts(contexts: &[ErrorContext], out: &mut BytesMut) {
    let start = out.len();
    for (n, c) in contexts.iter().enumerate() {
        if n > 0 {
            super::pad_to(out, start, 8);
        }
        let d = &c.error_context_data[..c.error_context_data.len().min(u32::MAX as usize)];
        out.put_u32_le(d.len() as u32);
        out.put_u32_le(c.error_id);
        out.put_slice(d);
    }
}

impl ErrorResponse {
    /// An ERROR response carrying `contexts` (3.1.1), at most [`MAX_ERROR_CONTEXTS`].
    pub fn with_contexts(contexts: &[ErrorContext]) -> ErrorResponse {
        let contexts = &contexts[..contexts.len().min(MAX_ERROR_CONTEXTS)];
        let mut data = BytesMut::new();
        encode_error_contexts(contexts, &mut data);
        ErrorResponse {
            error_context_count: contexts.len() as u8,
            error_data: data.freeze(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::HEADER_LEN;
    use proptest::prelude::*;

    fn msg(f: impl FnOnce(&mut BytesMut)) -> Bytes {
        let mut out = BytesMut::from(&[0u8; HEADER_LEN][..]);
        f(&mut out);
        out.freeze()
    }

    #[test]
    fn empty_error_body_has_one_byte() {
        let m = msg(|o| encode_error_body(o, &[]));
        assert_eq!(&m[HEADER_LEN..], &[9, 0, 0, 0, 0, 0, 0, 0, 0]);
        let r = ErrorResponse::decode(&m).unwrap();
        assert_eq!(r, ErrorResponse::default());
        // A body without the padding byte still decodes.
        assert_eq!(
            ErrorResponse::decode(&m.slice(..HEADER_LEN + 8)).unwrap(),
            r
        );
    }

    #[test]
    fn buffer_too_small() {
        let m = msg(|o| encode_error_body(o, &buffer_too_small_data(0x1234)));
        assert_eq!(
            &m[HEADER_LEN..],
            &[9, 0, 0, 0, 4, 0, 0, 0, 0x34, 0x12, 0, 0]
        );
    }

    #[test]
    fn contexts_round_trip() {
        let c = vec![
            ErrorContext {
                error_id: SMB2_ERROR_ID_SHARE_REDIRECT,
                error_context_data: Bytes::from_static(b"abc"),
            },
            ErrorContext {
                error_id: SMB2_ERROR_ID_DEFAULT,
                error_context_data: Bytes::from_static(b"0123456789"),
            },
        ];
        let r = ErrorResponse::with_contexts(&c);
        assert_eq!(r.error_data.len(), 16 + 18);
        let m = msg(|o| r.encode(o));
        let d = ErrorResponse::decode(&m).unwrap();
        assert_eq!(d.error_contexts().unwrap(), c);
    }

    #[test]
    fn refuses_truncated() {
        let m = msg(|o| encode_error_body(o, b"abcd")).to_vec();
        let mut b = m.clone();
        b[HEADER_LEN + 4] = 5;
        assert_eq!(
            ErrorResponse::decode(&Bytes::from(b)),
            Err(Error::Truncated)
        );
        let mut b = m;
        b[HEADER_LEN + 7] = 0xFF;
        assert_eq!(
            ErrorResponse::decode(&Bytes::from(b)),
            Err(Error::Truncated)
        );
        let d = Bytes::from_static(&[9, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(decode_error_contexts(&d, 1), Err(Error::Truncated));
        assert_eq!(
            decode_error_contexts(&d, MAX_ERROR_CONTEXTS + 1),
            Err(Error::Invalid("ErrorContextCount"))
        );
    }

    proptest! {
        #[test]
        fn round_trip(count: u8, data in proptest::collection::vec(any::<u8>(), 1..60)) {
            let r = ErrorResponse { error_context_count: count, error_data: Bytes::from(data) };
            prop_assert_eq!(ErrorResponse::decode(&msg(|o| r.encode(o))).unwrap(), r);
        }

        #[test]
        fn contexts_prop_round_trip(c in proptest::collection::vec(
            (any::<u32>(), proptest::collection::vec(any::<u8>(), 0..20)), 0..5)) {
            let c: Vec<ErrorContext> = c.into_iter().map(|(error_id, d)| ErrorContext {
                error_id, error_context_data: Bytes::from(d) }).collect();
            let r = ErrorResponse::with_contexts(&c);
            prop_assert_eq!(r.error_contexts().unwrap(), c);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..120), n in 0usize..40) {
            let m = Bytes::from(b);
            if let Ok(r) = ErrorResponse::decode(&m) {
                let _ = r.error_contexts();
            }
            let _ = decode_error_contexts(&m, n);
        }
    }
}
