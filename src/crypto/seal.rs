//! SMB 3.x authenticated encryption (MS-SMB2 3.1.4.3 Encrypting the Message,
//! 3.3.5.2.1.1 Decrypting the Message; cipher ids from 2.2.3.1.2
//! SMB2_ENCRYPTION_CAPABILITIES) and nonce generation (2.2.41: the Nonce
//! "MUST NOT be reused for all encrypted messages within a session").
//!
//! AES-GCM comes from `ring`; AES-CCM (RFC 4309 style, 11-byte nonce, 16-byte
//! tag) from the RustCrypto `ccm` crate.

use std::sync::atomic::{AtomicU64, Ordering};

use aes::{Aes128, Aes256};
use ccm::aead::AeadInPlace;
use ccm::consts::{U11, U16};
use ccm::{Ccm, KeyInit};
use ring::aead;

use super::DecryptError;

/// AES-128-CCM with SMB's parameters (16-byte tag, 11-byte nonce).
type Aes128CcmImpl = Ccm<Aes128, U16, U11>;
/// AES-256-CCM with SMB's parameters (16-byte tag, 11-byte nonce).
type Aes256CcmImpl = Ccm<Aes256, U16, U11>;

/// An encryption cipher (MS-SMB2 2.2.3.1.2 Ciphers ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cipher {
    /// AES-128-CCM, id 0x0001 (the only cipher of 3.0 and 3.0.2).
    Aes128Ccm,
    /// AES-128-GCM, id 0x0002.
    Aes128Gcm,
    /// AES-256-CCM, id 0x0003.
    Aes256Ccm,
    /// AES-256-GCM, id 0x0004.
    Aes256Gcm,
}

impl Cipher {
    /// The Ciphers id of MS-SMB2 2.2.3.1.2.
    pub fn id(self) -> u16 {
        match self {
            Cipher::Aes128Ccm => 0x0001,
            Cipher::Aes128Gcm => 0x0002,
            Cipher::Aes256Ccm => 0x0003,
            Cipher::Aes256Gcm => 0x0004,
        }
    }

    /// The cipher with Ciphers id `id`, if known (0 means "no cipher").
    pub fn from_id(id: u16) -> Option<Cipher> {
        match id {
            0x0001 => Some(Cipher::Aes128Ccm),
            0x0002 => Some(Cipher::Aes128Gcm),
            0x0003 => Some(Cipher::Aes256Ccm),
            0x0004 => Some(Cipher::Aes256Gcm),
            _ => None,
        }
    }

    /// Key length in bytes (16 or 32).
    pub fn key_len(self) -> usize {
        match self {
            Cipher::Aes128Ccm | Cipher::Aes128Gcm => 16,
            Cipher::Aes256Ccm | Cipher::Aes256Gcm => 32,
        }
    }

    /// Nonce length in bytes: 11 for CCM (AES_CCM_Nonce), 12 for GCM
    /// (AES_GCM_Nonce); the rest of the 16-byte Nonce field is reserved.
    pub fn nonce_len(self) -> usize {
        match self {
            Cipher::Aes128Ccm | Cipher::Aes256Ccm => 11,
            Cipher::Aes128Gcm | Cipher::Aes256Gcm => 12,
        }
    }
}

/// Why a buffer could not be encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncryptError {
    /// The [`Sealer`] was built with a key of the wrong length.
    InvalidKey,
    /// The buffer is too long for the cipher (CCM with an 11-byte nonce is
    /// limited to 2^32 - 1 bytes).
    TooLong,
}

impl std::fmt::Display for EncryptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncryptError::InvalidKey => f.write_str("encryption key has the wrong length"),
            EncryptError::TooLong => f.write_str("message too long to encrypt"),
        }
    }
}

impl std::error::Error for EncryptError {}

/// Prepared key of one cipher. Kept inline (one per session key; no pointer
/// chase on the hot path), hence the size lint exemption.
#[allow(clippy::large_enum_variant)]
enum SealerKey {
    /// AES-128-CCM key schedule.
    Ccm128(Aes128CcmImpl),
    /// AES-256-CCM key schedule.
    Ccm256(Aes256CcmImpl),
    /// AES-128-GCM or AES-256-GCM (ring).
    Gcm(aead::LessSafeKey),
    /// The key had the wrong length: every operation fails.
    Invalid,
}

/// Encrypts and decrypts with one key and cipher (`Send + Sync`).
pub struct Sealer {
    cipher: Cipher,
    key: SealerKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("cipher", &self.cipher)
            .field("valid", &!matches!(self.key, SealerKey::Invalid))
            .finish()
    }
}

impl Sealer {
    /// Prepares `cipher` with `key`.
    ///
    /// A key whose length is not `cipher.key_len()` yields a sealer that fails
    /// closed: [`Sealer::encrypt_in_place`] zeroes the buffer and returns a
    /// zero tag, decryption always fails. Use [`Sealer::try_new`] to detect it.
    pub fn new(cipher: Cipher, key: &[u8]) -> Sealer {
        Sealer::try_new(cipher, key).unwrap_or(Sealer {
            cipher,
            key: SealerKey::Invalid,
        })
    }

    /// Prepares `cipher` with `key`, failing when the key length is not
    /// `cipher.key_len()`.
    pub fn try_new(cipher: Cipher, key: &[u8]) -> Result<Sealer, EncryptError> {
        if key.len() != cipher.key_len() {
            return Err(EncryptError::InvalidKey);
        }
        let key = match cipher {
            Cipher::Aes128Ccm => SealerKey::Ccm128(
                Aes128CcmImpl::new_from_slice(key).map_err(|_| EncryptError::InvalidKey)?,
            ),
            Cipher::Aes256Ccm => SealerKey::Ccm256(
                Aes256CcmImpl::new_from_slice(key).map_err(|_| EncryptError::InvalidKey)?,
            ),
            Cipher::Aes128Gcm | Cipher::Aes256Gcm => {
                let alg = if cipher == Cipher::Aes128Gcm {
                    &aead::AES_128_GCM
                } else {
                    &aead::AES_256_GCM
                };
                let unbound =
                    aead::UnboundKey::new(alg, key).map_err(|_| EncryptError::InvalidKey)?;
                SealerKey::Gcm(aead::LessSafeKey::new(unbound))
            }
        };
        Ok(Sealer { cipher, key })
    }

    /// The cipher this sealer uses.
    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    /// Encrypts `buf` in place and returns the 16-byte tag. Only the first
    /// `cipher.nonce_len()` bytes of `nonce` are used; `aad` is authenticated.
    ///
    /// Fails closed: if encryption is impossible (invalid key, CCM buffer of
    /// 4 GiB or more) `buf` is zeroed and a zero tag returned, which no peer
    /// will accept. Use [`Sealer::try_encrypt_in_place`] to see the error.
    pub fn encrypt_in_place(&self, nonce: &[u8; 16], aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
        match self.try_encrypt_in_place(nonce, aad, buf) {
            Ok(tag) => tag,
            Err(_) => {
                buf.fill(0);
                [0u8; 16]
            }
        }
    }

    /// Encrypts `buf` in place and returns the tag, or an error leaving `buf`
    /// in an unspecified state (it must not be sent).
    pub fn try_encrypt_in_place(
        &self,
        nonce: &[u8; 16],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; 16], EncryptError> {
        let mut tag = [0u8; 16];
        match &self.key {
            SealerKey::Ccm128(c) => {
                let t = c
                    .encrypt_in_place_detached(ccm_nonce(nonce), aad, buf)
                    .map_err(|_| EncryptError::TooLong)?;
                tag.copy_from_slice(&t);
            }
            SealerKey::Ccm256(c) => {
                let t = c
                    .encrypt_in_place_detached(ccm_nonce(nonce), aad, buf)
                    .map_err(|_| EncryptError::TooLong)?;
                tag.copy_from_slice(&t);
            }
            SealerKey::Gcm(k) => {
                let t = k
                    .seal_in_place_separate_tag(gcm_nonce(nonce), aead::Aad::from(aad), buf)
                    .map_err(|_| EncryptError::TooLong)?;
                tag.copy_from_slice(t.as_ref());
            }
            SealerKey::Invalid => return Err(EncryptError::InvalidKey),
        }
        Ok(tag)
    }

    /// Decrypts `buf` in place after checking `tag` over `aad` and the
    /// ciphertext. On failure `buf` is zeroed (no unauthenticated plaintext
    /// is ever exposed).
    pub fn decrypt_in_place(
        &self,
        nonce: &[u8; 16],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; 16],
    ) -> Result<(), DecryptError> {
        let result = match &self.key {
            SealerKey::Ccm128(c) => c
                .decrypt_in_place_detached(ccm_nonce(nonce), aad, buf, tag.into())
                .map_err(|_| DecryptError::AuthenticationFailed),
            SealerKey::Ccm256(c) => c
                .decrypt_in_place_detached(ccm_nonce(nonce), aad, buf, tag.into())
                .map_err(|_| DecryptError::AuthenticationFailed),
            SealerKey::Gcm(k) => k
                .open_in_place_separate_tag(
                    gcm_nonce(nonce),
                    aead::Aad::from(aad),
                    aead::Tag::from(*tag),
                    buf,
                    0..,
                )
                .map(|_| ())
                .map_err(|_| DecryptError::AuthenticationFailed),
            SealerKey::Invalid => Err(DecryptError::InvalidKey),
        };
        if result.is_err() {
            buf.fill(0);
        }
        result
    }
}

/// The 11-byte CCM nonce: the first 11 bytes of the Nonce field.
fn ccm_nonce(nonce: &[u8; 16]) -> &ccm::Nonce<U11> {
    let n: &[u8; 11] = nonce.first_chunk::<11>().unwrap_or(&[0u8; 11]);
    n.into()
}

/// The 12-byte GCM nonce: the first 12 bytes of the Nonce field.
fn gcm_nonce(nonce: &[u8; 16]) -> aead::Nonce {
    let mut n = [0u8; 12];
    n.copy_from_slice(&nonce[..12]);
    aead::Nonce::assume_unique_for_key(n)
}

/// Produces unique nonces for one encryption key.
///
/// Layout of the 16-byte Nonce field: bytes 0..8 a 64-bit little-endian
/// counter, then a random per-generator salt filling the cipher's nonce
/// (3 bytes for CCM, 4 for GCM), then zeros. The counter never wraps:
/// [`NonceGenerator::next`] returns `None` once it is exhausted, after which
/// the key must be retired (the session re-established). One generator must
/// be shared (e.g. in an `Arc`) by every channel that encrypts with the same
/// `Session.EncryptionKey`; it is lock-free and safe to use from many threads.
#[derive(Debug)]
pub struct NonceGenerator {
    nonce_len: usize,
    salt: [u8; 4],
    counter: AtomicU64,
}

impl NonceGenerator {
    /// A generator for `cipher` with a random salt (all-zero salt if the OS
    /// random source fails; uniqueness comes from the counter either way).
    pub fn new(cipher: Cipher) -> NonceGenerator {
        let mut salt = [0u8; 4];
        if getrandom::getrandom(&mut salt).is_err() {
            salt = [0u8; 4];
        }
        NonceGenerator::with_salt(cipher, salt, 0)
    }

    /// A generator with an explicit salt and first counter value (tests,
    /// reproducible traces).
    pub fn with_salt(cipher: Cipher, salt: [u8; 4], first: u64) -> NonceGenerator {
        NonceGenerator {
            nonce_len: cipher.nonce_len(),
            salt,
            counter: AtomicU64::new(first),
        }
    }

    /// The next nonce, or `None` once the 64-bit counter is exhausted.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&self) -> Option<[u8; 16]> {
        let value = self
            .counter
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| c.checked_add(1))
            .ok()?;
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&value.to_le_bytes());
        let salt_len = self.nonce_len.saturating_sub(8).min(self.salt.len());
        nonce[8..8 + salt_len].copy_from_slice(&self.salt[..salt_len]);
        Some(nonce)
    }
}
