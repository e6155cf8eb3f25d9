//! Session key generation (MS-SMB2 3.3.5.5.3 server side, 3.2.5.3 client side,
//! 3.3.5.5.2/3.2.5.3.3 per-channel signing keys for session binding).
//!
//! | dialect      | key         | label                | context            |
//! |--------------|-------------|----------------------|--------------------|
//! | 2.0.2 / 2.1  | signing     | (the session key)    |                    |
//! | 3.0 / 3.0.2  | signing     | `"SMB2AESCMAC\0"`    | `"SmbSign\0"`      |
//! | 3.0 / 3.0.2  | encryption  | `"SMB2AESCCM\0"`     | `"ServerOut\0"`    |
//! | 3.0 / 3.0.2  | decryption  | `"SMB2AESCCM\0"`     | `"ServerIn \0"`    |
//! | 3.0 / 3.0.2  | application | `"SMB2APP\0"`        | `"SmbRpc\0"`       |
//! | 3.1.1        | signing     | `"SMBSigningKey\0"`  | preauth hash       |
//! | 3.1.1        | encryption  | `"SMBS2CCipherKey\0"`| preauth hash       |
//! | 3.1.1        | decryption  | `"SMBC2SCipherKey\0"`| preauth hash       |
//! | 3.1.1        | application | `"SMBAppKey\0"`      | preauth hash       |
//!
//! Encryption here is server-to-client ("S2C" / "ServerOut") and decryption is
//! client-to-server ("C2S" / "ServerIn "), i.e. the server's point of view, as
//! in MS-SMB2 3.3.5.5.3. Signing and application keys are always 128-bit and
//! derived from `Session.SessionKey` (the first 16 bytes of the GSS key). For
//! 3.1.1 with AES-256-CCM/GCM the cipher keys are 256-bit and derived from
//! `Session.FullSessionKey` (the whole GSS key; MS-SMB2 3.3.5.5.3 and 3.1.4.2).

use super::kdf::kdf;
use super::seal::Cipher;

/// SMB 3.0 dialect revision.
const DIALECT_300: u16 = 0x0300;
/// SMB 3.0.2 dialect revision.
const DIALECT_302: u16 = 0x0302;
/// SMB 3.1.1 dialect revision.
const DIALECT_311: u16 = 0x0311;

/// The keys of an authenticated session, from the server's point of view.
///
/// For dialects 2.0.2 and 2.1 only `signing` is set (to the session key) and
/// the other fields are empty.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKeys {
    /// `Session.SigningKey`: signs messages of the session's first channel and
    /// SESSION_SETUP responses (16 bytes).
    pub signing: Vec<u8>,
    /// `Session.EncryptionKey`: encrypts server-to-client messages
    /// (3.0 "ServerOut", 3.1.1 "SMBS2CCipherKey"); 16 or 32 bytes.
    pub encryption: Vec<u8>,
    /// `Session.DecryptionKey`: decrypts client-to-server messages
    /// (3.0 "ServerIn ", 3.1.1 "SMBC2SCipherKey"); 16 or 32 bytes.
    pub decryption: Vec<u8>,
    /// `Session.ApplicationKey`: handed to applications such as RPC over
    /// named pipes (16 bytes).
    pub application: Vec<u8>,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeys")
            .field("signing", &format_args!("<{} bytes>", self.signing.len()))
            .field(
                "encryption",
                &format_args!("<{} bytes>", self.encryption.len()),
            )
            .field(
                "decryption",
                &format_args!("<{} bytes>", self.decryption.len()),
            )
            .field(
                "application",
                &format_args!("<{} bytes>", self.application.len()),
            )
            .finish()
    }
}

/// Whether `dialect` belongs to the 3.0/3.0.2 key schedule.
fn is_smb30(dialect: u16) -> bool {
    dialect == DIALECT_300 || dialect == DIALECT_302
}

/// `Session.SessionKey`: the first 16 bytes of the GSS key, right-padded with
/// zeros when shorter (MS-SMB2 3.3.1.8).
fn truncated_session_key(full: &[u8]) -> [u8; 16] {
    let mut key = [0u8; 16];
    for (dst, src) in key.iter_mut().zip(full.iter()) {
        *dst = *src;
    }
    key
}

/// Runs the KDF into a fresh vector of `len` bytes.
fn derive(key: &[u8], label: &[u8], context: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    kdf(key, label, context, &mut out);
    out
}

/// Derives all session keys for `dialect` (MS-SMB2 3.3.5.5.3).
///
/// `preauth` is `PreauthSession.PreauthIntegrityHashValue` after the final
/// SESSION_SETUP request (only used for 3.1.1). `cipher` is
/// `Connection.CipherId` (3.1.1 only; 3.0/3.0.2 always use AES-128-CCM and
/// `None` means "no encryption negotiated", giving 16-byte cipher keys).
/// With AES-256 ciphers and a GSS key longer than 16 bytes (Kerberos), use
/// [`derive_session_keys_full`] instead. Dialects other than 3.0, 3.0.2 and
/// 3.1.1 get the 2.0.2/2.1 treatment.
pub fn derive_session_keys(
    dialect: u16,
    session_key: &[u8; 16],
    preauth: &[u8; 64],
    cipher: Option<Cipher>,
) -> SessionKeys {
    derive_session_keys_full(dialect, session_key, preauth, cipher)
}

/// Like [`derive_session_keys`], but takes the whole GSS session key
/// (`Session.FullSessionKey`, any length).
///
/// `Session.SessionKey` (the first 16 bytes, zero-padded) feeds the signing and
/// application keys; the full key feeds the 3.1.1 AES-256 cipher keys.
pub fn derive_session_keys_full(
    dialect: u16,
    full_session_key: &[u8],
    preauth: &[u8; 64],
    cipher: Option<Cipher>,
) -> SessionKeys {
    let session_key = truncated_session_key(full_session_key);
    if is_smb30(dialect) {
        SessionKeys {
            signing: derive(&session_key, b"SMB2AESCMAC\0", b"SmbSign\0", 16),
            encryption: derive(&session_key, b"SMB2AESCCM\0", b"ServerOut\0", 16),
            decryption: derive(&session_key, b"SMB2AESCCM\0", b"ServerIn \0", 16),
            application: derive(&session_key, b"SMB2APP\0", b"SmbRpc\0", 16),
        }
    } else if dialect == DIALECT_311 {
        let (cipher_key, cipher_len): (&[u8], usize) = match cipher {
            Some(c) if c.key_len() == 32 => (full_session_key, 32),
            _ => (&session_key, 16),
        };
        SessionKeys {
            signing: derive(&session_key, b"SMBSigningKey\0", preauth, 16),
            encryption: derive(cipher_key, b"SMBS2CCipherKey\0", preauth, cipher_len),
            decryption: derive(cipher_key, b"SMBC2SCipherKey\0", preauth, cipher_len),
            application: derive(&session_key, b"SMBAppKey\0", preauth, 16),
        }
    } else {
        // 2.0.2 / 2.1 (and anything unknown): HMAC-SHA256 with the session key.
        SessionKeys {
            signing: session_key.to_vec(),
            encryption: Vec::new(),
            decryption: Vec::new(),
            application: Vec::new(),
        }
    }
}

/// Derives only a signing key: `Channel.SigningKey` of a channel bound to an
/// existing session (MS-SMB2 3.3.5.5.2 / 3.3.5.5.3), from that channel's own
/// GSS session key and, for 3.1.1, the channel's pre-auth hash.
///
/// For 2.0.2/2.1 (no multichannel) this is the session key itself.
pub fn derive_signing_key(dialect: u16, session_key: &[u8; 16], preauth: &[u8; 64]) -> Vec<u8> {
    if is_smb30(dialect) {
        derive(session_key, b"SMB2AESCMAC\0", b"SmbSign\0", 16)
    } else if dialect == DIALECT_311 {
        derive(session_key, b"SMBSigningKey\0", preauth, 16)
    } else {
        session_key.to_vec()
    }
}
