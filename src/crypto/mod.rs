//! SMB2/3 message cryptography: pre-authentication integrity, key derivation,
//! signing and encryption.
//!
//! Spec sections implemented (MS-SMB2):
//! - 3.1.4.1 Signing An Outgoing Message and 3.1.5.1 Verifying an Incoming
//!   Message: HMAC-SHA256 (2.0.2/2.1), AES-128-CMAC (3.x), AES-128-GMAC (3.1.1,
//!   2.2.3.1.7 SMB2_SIGNING_CAPABILITIES) — see [`sign`].
//! - 3.1.4.2 Generating Cryptographic Keys: SP800-108 counter-mode KDF with
//!   HMAC-SHA256 — see [`kdf`].
//! - 3.2.5.3 / 3.3.5.5.3 session key generation (signing, encryption,
//!   decryption, application keys) for 2.x, 3.0/3.0.2 and 3.1.1 — see [`keys`].
//! - 3.3.5.4 / 3.2.5.2 pre-authentication integrity hash (SHA-512) — see
//!   [`preauth`].
//! - 3.1.4.3 Encrypting the Message, 3.3.5.2.1.1 Decrypting the Message and
//!   2.2.41 SMB2 TRANSFORM_HEADER with AES-128/256-CCM and AES-128/256-GCM
//!   (2.2.3.1.2 SMB2_ENCRYPTION_CAPABILITIES) — see [`seal`] and [`transform`].
//!
//! Key direction convention (server side): [`SessionKeys::encryption`] encrypts
//! server-to-client traffic (3.0 "ServerOut", 3.1.1 "SMBS2CCipherKey") and
//! [`SessionKeys::decryption`] decrypts client-to-server traffic (3.0
//! "ServerIn ", 3.1.1 "SMBC2SCipherKey").
//!
//! This module depends on no other rsmbd module: everything operates on byte
//! buffers holding whole SMB2 messages.

pub mod kdf;
pub mod keys;
pub mod preauth;
pub mod rdma_transform;
pub mod seal;
pub mod sign;
pub mod transform;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_transform;

pub use kdf::kdf;
pub use keys::{derive_session_keys, derive_session_keys_full, derive_signing_key, SessionKeys};
pub use preauth::PreauthHash;
pub use seal::{Cipher, EncryptError, NonceGenerator, Sealer};
pub use sign::{Signer, SigningAlgorithm};
pub use transform::{
    seal_message, transform_session_id, try_seal_message, unseal_message,
    SMB2_TRANSFORM_FLAG_ENCRYPTED, TRANSFORM_HEADER_LEN, TRANSFORM_PROTOCOL_ID,
};

use std::fmt;

/// Why an encrypted message (or an AEAD buffer) could not be decrypted.
///
/// Every variant means the message must be rejected; per MS-SMB2 3.3.5.2.1.1
/// the server disconnects the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecryptError {
    /// The message is not longer than the 52-byte SMB2 TRANSFORM_HEADER.
    TooShort,
    /// ProtocolId is not 0xFD 'S' 'M' 'B'.
    BadProtocolId,
    /// Flags/EncryptionAlgorithm is not 0x0001; carries the received value.
    BadFlags(u16),
    /// OriginalMessageSize does not equal the length of the encrypted payload.
    SizeMismatch,
    /// The AEAD tag did not verify (wrong key, tampered data or header).
    AuthenticationFailed,
    /// The [`Sealer`] was built with a key of the wrong length.
    InvalidKey,
}

impl fmt::Display for DecryptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecryptError::TooShort => {
                f.write_str("encrypted message shorter than transform header")
            }
            DecryptError::BadProtocolId => f.write_str("transform header has a bad ProtocolId"),
            DecryptError::BadFlags(v) => {
                write!(f, "transform header Flags is {v:#06x}, not 0x0001")
            }
            DecryptError::SizeMismatch => {
                f.write_str("OriginalMessageSize does not match the encrypted payload length")
            }
            DecryptError::AuthenticationFailed => f.write_str("message authentication failed"),
            DecryptError::InvalidKey => f.write_str("decryption key has the wrong length"),
        }
    }
}

impl std::error::Error for DecryptError {}

/// Constant-time equality of two 16-byte values (signatures, tags).
pub(crate) fn ct_eq16(a: &[u8; 16], b: &[u8; 16]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}
