//! Pure decoders and encoders for SMB2/3 messages (MS-SMB2 section 2.2) and MS-SMBD packets.
//!
//! No I/O, no state and no panics: every decoder takes untrusted bytes and returns
//! [`Result`]; every offset and length read from the wire is checked against the message
//! before it is used. This layer is what the fuzz targets in `fuzz/` exercise.
//!
//! Conventions shared by every command module:
//! - A request or response type has `decode(msg: &Bytes) -> Result<Self>`, where `msg` is one
//!   whole SMB2 message: the 64-byte header at offset 0 and the body at [`HEADER_LEN`]. Offsets
//!   inside a body are relative to the start of the header, as MS-SMB2 defines them. Variable
//!   buffers are returned as `Bytes` slices of `msg` (no copy).
//! - `encode(&self, out: &mut BytesMut)` appends the body only; the header is written by
//!   [`header::Header::encode`]. Offsets written into the body assume the body starts at
//!   offset [`HEADER_LEN`] of its message, so encode the header into `out` first (or start
//!   `out` with 64 reserved bytes) and call `encode` right after.
//! - Wire enumerations are newtypes over their integer (`struct Command(pub u16)`) with
//!   named constants, so unknown values decode and round-trip instead of failing a message.
#![forbid(unsafe_code)]

/// Defines a message whose body is only StructureSize 4 and Reserved (ECHO, LOGOFF,
/// TREE_DISCONNECT, CANCEL): `decode` checks StructureSize and length, `encode` appends the
/// 4 bytes.
macro_rules! reserved_body_message {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name;

        impl $name {
            /// Decodes the message, checking StructureSize 4 (Reserved is ignored).
            pub fn decode(msg: &$crate::wire::Bytes) -> $crate::wire::Result<Self> {
                let b = $crate::wire::body(msg)?;
                $crate::wire::check_structure_size(b, 4)?;
                if b.len() < 4 {
                    return Err($crate::wire::Error::Truncated);
                }
                Ok($name)
            }

            /// Appends the 4-byte body.
            pub fn encode(&self, out: &mut $crate::wire::BytesMut) {
                out.extend_from_slice(&[4, 0, 0, 0]);
            }
        }
    };
}
pub(crate) use reserved_body_message;

pub mod cancel;
pub mod change_notify;
pub mod close;
pub mod compound;
pub mod create;
pub mod create_contexts;
pub mod echo;
pub mod error;
pub mod flush;
pub mod fsctl;
pub mod fuzzing;
pub mod header;
pub mod info;
pub mod ioctl;
pub mod lock;
pub mod logoff;
pub mod negotiate;
pub mod negotiate_contexts;
pub mod oplock_break;
pub mod query_directory;
pub mod query_info;
pub mod rdma_transform;
pub mod read;
pub mod session_setup;
pub mod set_info;
pub mod smb1;
pub mod smbd;
pub mod status;
pub mod transform;
pub mod tree_connect;
pub mod tree_disconnect;
pub mod write;

pub use bytes::{Bytes, BytesMut};
pub use header::{Command, Header, HEADER_LEN};
pub use status::NtStatus;

/// Why a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The message ended before a field or buffer it announces.
    Truncated,
    /// A field holds a value the message format does not allow; the text names the field.
    Invalid(&'static str),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Truncated => f.write_str("message truncated"),
            Error::Invalid(what) => write!(f, "invalid field: {what}"),
        }
    }
}

impl std::error::Error for Error {}

/// Result of decoding.
pub type Result<T> = std::result::Result<T, Error>;

impl<I> From<nom::Err<nom::error::Error<I>>> for Error {
    fn from(e: nom::Err<nom::error::Error<I>>) -> Self {
        match e {
            nom::Err::Incomplete(_) => Error::Truncated,
            nom::Err::Error(_) | nom::Err::Failure(_) => Error::Truncated,
        }
    }
}

/// The nom input/result types every decoder uses.
pub type IResult<'a, O> = nom::IResult<&'a [u8], O>;

/// Returns `msg[offset..offset + len]` as a zero-copy slice, or an error when the range is not
/// inside `msg`. A zero `len` yields an empty buffer whatever the offset (MS-SMB2 lets clients
/// send any offset with a zero length).
pub fn buffer_at(msg: &Bytes, offset: usize, len: usize) -> Result<Bytes> {
    if len == 0 {
        return Ok(Bytes::new());
    }
    let end = offset.checked_add(len).ok_or(Error::Invalid("length"))?;
    if offset < HEADER_LEN || end > msg.len() {
        return Err(Error::Truncated);
    }
    Ok(msg.slice(offset..end))
}

/// Returns `msg[offset..offset + len]` for a variable buffer of a body whose fixed part is
/// `fixed` bytes long: the buffer must lie inside the message and must not start before the
/// end of the fixed part (`field` names the offending offset field). Zero lengths yield an
/// empty buffer whatever the offset.
pub(crate) fn variable_buffer(
    msg: &Bytes,
    offset: usize,
    len: usize,
    fixed: usize,
    field: &'static str,
) -> Result<Bytes> {
    if len > 0 && offset < HEADER_LEN + fixed {
        return Err(Error::Invalid(field));
    }
    buffer_at(msg, offset, len)
}

/// The body of a message (`msg[64..]`), or `Truncated` when the header is incomplete.
pub fn body(msg: &Bytes) -> Result<&[u8]> {
    msg.get(HEADER_LEN..).ok_or(Error::Truncated)
}

/// Checks the StructureSize field a body starts with.
pub fn check_structure_size(body: &[u8], expected: u16) -> Result<()> {
    match body.get(..2) {
        Some(b) if u16::from_le_bytes([b[0], b[1]]) == expected => Ok(()),
        Some(_) => Err(Error::Invalid("StructureSize")),
        None => Err(Error::Truncated),
    }
}

/// Offset in the message of the byte about to be appended to a body being encoded into `out`,
/// where `body_start` is `out.len()` when the body began (see the module conventions).
pub fn offset_in_message(out: &BytesMut, body_start: usize) -> usize {
    HEADER_LEN + (out.len() - body_start)
}

/// Decodes a UTF-16LE name (file, share or user name). Unpaired surrogates are an error.
pub fn utf16le_to_string(b: &[u8]) -> Result<String> {
    if !b.len().is_multiple_of(2) {
        return Err(Error::Invalid("UTF-16 length"));
    }
    let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .collect::<std::result::Result<String, _>>()
        .map_err(|_| Error::Invalid("UTF-16"))
}

/// Appends `s` as UTF-16LE.
pub fn put_utf16le(out: &mut BytesMut, s: &str) {
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
}

/// `s` as UTF-16LE bytes.
pub fn string_to_utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// Appends zero bytes until `out.len() - start` is a multiple of `align`.
pub fn pad_to(out: &mut BytesMut, start: usize, align: usize) {
    while !(out.len() - start).is_multiple_of(align) {
        out.extend_from_slice(&[0]);
    }
}

/// A GUID in its wire form (16 bytes, little-endian fields as MS-DTYP 2.3.4.2 lays them out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// Parses 16 bytes.
    pub fn parse(i: &[u8]) -> IResult<'_, Guid> {
        let (i, b) = nom::bytes::complete::take(16usize)(i)?;
        let mut g = [0u8; 16];
        g.copy_from_slice(b);
        Ok((i, Guid(g)))
    }
    /// A GUID of zeros is what clients send for "none".
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 16]
    }
}

/// A FileId (MS-SMB2 2.2.14.1): persistent and volatile halves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FileId {
    /// Survives a reconnect of a durable handle.
    pub persistent: u64,
    /// Changes on each reconnect.
    pub volatile: u64,
}

impl FileId {
    /// The FileId of all ones, which in a related compound request means "the previous one".
    pub const ANY: FileId = FileId {
        persistent: u64::MAX,
        volatile: u64::MAX,
    };
    /// Parses 16 bytes.
    pub fn parse(i: &[u8]) -> IResult<'_, FileId> {
        let (i, persistent) = nom::number::complete::le_u64(i)?;
        let (i, volatile) = nom::number::complete::le_u64(i)?;
        Ok((
            i,
            FileId {
                persistent,
                volatile,
            },
        ))
    }
    /// Appends 16 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.extend_from_slice(&self.persistent.to_le_bytes());
        out.extend_from_slice(&self.volatile.to_le_bytes());
    }
}

/// A message made of a zeroed 64-byte header and what `f` appends, for decoder tests.
#[cfg(test)]
pub(crate) fn test_frame(f: impl FnOnce(&mut BytesMut)) -> Bytes {
    let mut out = BytesMut::with_capacity(HEADER_LEN);
    out.extend_from_slice(&[0; HEADER_LEN]);
    f(&mut out);
    out.freeze()
}
