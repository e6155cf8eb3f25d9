//! SMB2 TRANSFORM_HEADER framing of encrypted messages (MS-SMB2 2.2.41,
//! 3.1.4.3 Encrypting the Message, 3.3.5.2.1.1 Decrypting the Message).
//!
//! ```text
//!  0  ProtocolId                 0xFD 'S' 'M' 'B'
//!  4  Signature                  16-byte AEAD tag
//! 20  Nonce                      16 bytes (11 used by CCM, 12 by GCM)
//! 36  OriginalMessageSize        u32 LE
//! 40  Reserved                   u16
//! 42  Flags/EncryptionAlgorithm  u16 LE, 0x0001
//! 44  SessionId                  u64 LE
//! 52  encrypted SMB2 message (or compound chain)
//! ```
//!
//! The AEAD's additional authenticated data is header bytes 20..52 (the
//! header without ProtocolId and Signature).

use std::ops::Range;

use super::seal::{EncryptError, Sealer};
use super::DecryptError;

/// Length of the SMB2 TRANSFORM_HEADER.
pub const TRANSFORM_HEADER_LEN: usize = 52;
/// ProtocolId of an SMB2 TRANSFORM_HEADER (0x424D53FD).
pub const TRANSFORM_PROTOCOL_ID: [u8; 4] = [0xFD, b'S', b'M', b'B'];
/// Flags value SMB2_TRANSFORM_HEADER_FLAG_ENCRYPTED (3.1.1); the same value is
/// EncryptionAlgorithm SMB2_ENCRYPTION_AES128_CCM for 3.0/3.0.2.
pub const SMB2_TRANSFORM_FLAG_ENCRYPTED: u16 = 0x0001;

/// Offset of the Signature field.
const SIGNATURE: Range<usize> = 4..20;
/// Offset of the Nonce field.
const NONCE: Range<usize> = 20..36;
/// Offset of the OriginalMessageSize field.
const ORIGINAL_MESSAGE_SIZE: Range<usize> = 36..40;
/// Offset of the Flags/EncryptionAlgorithm field.
const FLAGS: Range<usize> = 42..44;
/// Offset of the SessionId field.
const SESSION_ID: Range<usize> = 44..52;
/// Start of the additional authenticated data.
const AAD_START: usize = 20;

/// Appends to `out` the SMB2 TRANSFORM_HEADER and the encryption of
/// `plaintext` (one SMB2 message or compound chain) under `sealer`.
///
/// The whole 16-byte `nonce` is written to the Nonce field (the cipher uses
/// its first 11 or 12 bytes); take it from a
/// [`NonceGenerator`](super::NonceGenerator). If encryption is impossible
/// (see [`try_seal_message`]) `out` is left unchanged.
pub fn seal_message(
    sealer: &Sealer,
    nonce: &[u8; 16],
    session_id: u64,
    plaintext: &[u8],
    out: &mut Vec<u8>,
) {
    let _ = try_seal_message(sealer, nonce, session_id, plaintext, out);
}

/// Like [`seal_message`] but reports failure (invalid key, message larger
/// than OriginalMessageSize can express); on error `out` is unchanged.
pub fn try_seal_message(
    sealer: &Sealer,
    nonce: &[u8; 16],
    session_id: u64,
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), EncryptError> {
    try_seal_parts(sealer, nonce, session_id, &[plaintext], out)
}

/// Like [`try_seal_message`] for a plaintext given in pieces (a chain of responses, a READ
/// response and its data): they are copied once, into `out`, and encrypted there in place.
pub fn try_seal_parts(
    sealer: &Sealer,
    nonce: &[u8; 16],
    session_id: u64,
    parts: &[&[u8]],
    out: &mut Vec<u8>,
) -> Result<(), EncryptError> {
    seal_parts_generic(sealer, nonce, session_id, parts, out)
}

/// [`try_seal_parts`] into a [`bytes::BytesMut`] (a recycled send buffer: no allocation
/// when it has room).
pub fn try_seal_parts_into(
    sealer: &Sealer,
    nonce: &[u8; 16],
    session_id: u64,
    parts: &[&[u8]],
    out: &mut bytes::BytesMut,
) -> Result<(), EncryptError> {
    seal_parts_generic(sealer, nonce, session_id, parts, out)
}

/// A growable byte buffer a message is sealed into.
trait SealOut: std::ops::DerefMut<Target = [u8]> {
    fn reserve(&mut self, n: usize);
    fn extend_from_slice(&mut self, b: &[u8]);
    fn truncate(&mut self, n: usize);
}

impl SealOut for Vec<u8> {
    fn reserve(&mut self, n: usize) {
        Vec::reserve(self, n)
    }
    fn extend_from_slice(&mut self, b: &[u8]) {
        Vec::extend_from_slice(self, b)
    }
    fn truncate(&mut self, n: usize) {
        Vec::truncate(self, n)
    }
}

impl SealOut for bytes::BytesMut {
    fn reserve(&mut self, n: usize) {
        bytes::BytesMut::reserve(self, n)
    }
    fn extend_from_slice(&mut self, b: &[u8]) {
        bytes::BytesMut::extend_from_slice(self, b)
    }
    fn truncate(&mut self, n: usize) {
        bytes::BytesMut::truncate(self, n)
    }
}

fn seal_parts_generic<B: SealOut>(
    sealer: &Sealer,
    nonce: &[u8; 16],
    session_id: u64,
    parts: &[&[u8]],
    out: &mut B,
) -> Result<(), EncryptError> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let size = u32::try_from(len).map_err(|_| EncryptError::TooLong)?;
    let start = out.len();
    out.reserve(TRANSFORM_HEADER_LEN + len);
    out.extend_from_slice(&TRANSFORM_PROTOCOL_ID);
    out.extend_from_slice(&[0u8; 16]);
    out.extend_from_slice(nonce);
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&SMB2_TRANSFORM_FLAG_ENCRYPTED.to_le_bytes());
    out.extend_from_slice(&session_id.to_le_bytes());
    for p in parts {
        out.extend_from_slice(p);
    }

    let Some(message) = out.get_mut(start..) else {
        out.truncate(start);
        return Err(EncryptError::TooLong);
    };
    let (header, body) = message.split_at_mut(TRANSFORM_HEADER_LEN);
    let aad = header.get(AAD_START..).unwrap_or(&[]);
    match sealer.try_encrypt_in_place(nonce, aad, body) {
        Ok(tag) => {
            if let Some(sig) = header.get_mut(SIGNATURE) {
                sig.copy_from_slice(&tag);
            }
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// The SessionId of a message starting with an SMB2 TRANSFORM_HEADER, so the
/// caller can find the session's decryption key; `None` if `msg` is shorter
/// than the header or has another ProtocolId.
pub fn transform_session_id(msg: &[u8]) -> Option<u64> {
    if msg.get(..4)? != TRANSFORM_PROTOCOL_ID {
        return None;
    }
    let id: [u8; 8] = msg.get(SESSION_ID)?.try_into().ok()?;
    Some(u64::from_le_bytes(id))
}

/// Validates the TRANSFORM_HEADER at the start of `msg` and decrypts the
/// payload in place.
///
/// Checks, per MS-SMB2 3.3.5.2.1.1: the message is longer than the header,
/// ProtocolId is 0xFD 'S' 'M' 'B', Flags/EncryptionAlgorithm is 0x0001 and
/// OriginalMessageSize equals the payload length; then the AEAD tag. Returns
/// the SessionId and the range of `msg` now holding the plaintext SMB2
/// message. On any error the payload is not exposed (it is zeroed when
/// authentication fails).
pub fn unseal_message(
    sealer: &Sealer,
    msg: &mut [u8],
) -> Result<(u64, Range<usize>), DecryptError> {
    if msg.len() <= TRANSFORM_HEADER_LEN {
        return Err(DecryptError::TooShort);
    }
    let total = msg.len();
    let (header, body) = msg.split_at_mut(TRANSFORM_HEADER_LEN);
    if header.get(..4) != Some(&TRANSFORM_PROTOCOL_ID[..]) {
        return Err(DecryptError::BadProtocolId);
    }
    let flags = header
        .get(FLAGS)
        .and_then(|b| b.try_into().ok())
        .map(u16::from_le_bytes)
        .ok_or(DecryptError::TooShort)?;
    if flags != SMB2_TRANSFORM_FLAG_ENCRYPTED {
        return Err(DecryptError::BadFlags(flags));
    }
    let size = header
        .get(ORIGINAL_MESSAGE_SIZE)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or(DecryptError::TooShort)?;
    if usize::try_from(size).ok() != Some(body.len()) {
        return Err(DecryptError::SizeMismatch);
    }
    let session_id = header
        .get(SESSION_ID)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or(DecryptError::TooShort)?;
    let tag: [u8; 16] = header
        .get(SIGNATURE)
        .and_then(|b| b.try_into().ok())
        .ok_or(DecryptError::TooShort)?;
    let nonce: [u8; 16] = header
        .get(NONCE)
        .and_then(|b| b.try_into().ok())
        .ok_or(DecryptError::TooShort)?;
    let aad = header.get(AAD_START..).ok_or(DecryptError::TooShort)?;
    sealer.decrypt_in_place(&nonce, aad, body, &tag)?;
    Ok((session_id, TRANSFORM_HEADER_LEN..total))
}
