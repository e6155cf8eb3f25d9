//! RDMA transform: signing or encryption of data moved by RDMA Read/Write (MS-SMB2 2.2.3.1.6
//! SMB2_RDMA_TRANSFORM_CAPABILITIES, 2.2.43 SMB2_RDMA_TRANSFORM, 2.2.43.1
//! SMB2_RDMA_CRYPTO_TRANSFORM, 2.2.20 SMB2_READFLAG_RESPONSE_RDMA_TRANSFORM, 3.2.5.11 client
//! checks of a transformed READ response). Wire codecs are in `crate::wire::rdma_transform`;
//! this module computes and checks the Signature/Nonce of one payload and decides which
//! transform a message must carry. Like the rest of `crypto`, it depends on no other rsmbd
//! module: it works on byte buffers and plain values.
//!
//! # What the feature is
//!
//! With SMB Direct, READ and WRITE data does not travel inside the signed or encrypted SMB2
//! message: the server RDMA-Writes READ data into client memory and RDMA-Reads WRITE data out
//! of it (MS-SMBD 3.1.4.4/3.1.4.5). SMB signing and encryption therefore never cover it. SMB
//! 3.1.1 added an optional transform for that payload: the client lists the transforms it
//! supports in an SMB2_RDMA_TRANSFORM_CAPABILITIES negotiate context, the server answers with
//! the ones it accepts, and then a READ/WRITE may use Channel SMB2_CHANNEL_RDMA_TRANSFORM, whose
//! channel information is an SMB2_RDMA_TRANSFORM holding the real descriptor list and one
//! SMB2_RDMA_CRYPTO_TRANSFORM (TransformType, Signature, Nonce). A READ response sets
//! SMB2_READFLAG_RESPONSE_RDMA_TRANSFORM and carries the same structure in its Buffer.
//! Encryption is used when the message itself is encrypted, signing when it is only signed
//! (3.2.5.11: an ENCRYPTION transform on an unencrypted response, or a SIGNING transform on an
//! encrypted one, is STATUS_INVALID_NETWORK_RESPONSE); [`required_transform`] and
//! [`check_transforms`] encode that rule. Because the SMB2_RDMA_TRANSFORM travels inside the
//! signed or encrypted SMB2 message, the payload's Signature is itself protected and tied to
//! that message (its MessageId), which is what stops a placed payload from being replayed.
//!
//! # The computation (rsmbd's reading of the spec)
//!
//! MS-SMB2 says the Signature is "generated using negotiated encryption/signing algorithm" and
//! the Nonce is "implementation-specific" and "MUST NOT be reused ... within a session"; it
//! defines no additional authenticated data. This module therefore does:
//! - ENCRYPTION ([`seal_payload`] / [`open_payload`]): the negotiated cipher
//!   (AES-128/256-CCM/GCM) over the payload, in place (ciphertext as long as the plaintext,
//!   so the RDMA placement plan does not change), with `Session.EncryptionKey` for data the
//!   server sends (READ) and `Session.DecryptionKey` for data it receives (WRITE); Nonce = the
//!   cipher's 11 (CCM) or 12 (GCM) nonce bytes, taken from the session's shared
//!   [`NonceGenerator`](super::NonceGenerator) so it never repeats a message nonce; no AAD;
//!   Signature = the 16-byte tag.
//! - SIGNING ([`PayloadSigner`]): the negotiated signing algorithm with the channel's signing
//!   key (the one that signs the message). Nonce = 12 bytes, never reused. AES-GMAC uses it as
//!   the GCM IV with the payload as AAD (as message signing does, RFC 4543); AES-CMAC and
//!   HMAC-SHA256 MAC `Nonce || payload` (HMAC truncated to 16 bytes). Signature = 16 bytes.
//! - Receivers accept only a 16-byte Signature and the exact nonce length above, so a
//!   truncated tag can never weaken the check.
//!
//! This has been checked against the published algorithms (tests carry RFC 4493, RFC 4231 and
//! GCM known answers) but not against a Windows peer: no client available here sends the
//! negotiate context (below), so the AAD-free AEAD and the `Nonce || payload` MAC input are
//! interpretations to confirm with the first interoperating client.
//!
//! # How rsmbd would apply it on the placement path
//!
//! `transport::smbd::placement` is where RDMA payload moves; it is owned elsewhere and
//! unchanged. The hook, once a connection has negotiated a transform:
//! - `placement::channel()` accepts Channel SMB2_CHANNEL_RDMA_TRANSFORM on 3.1.1 RDMA
//!   connections whose `Connection.RDMATransformIds` is not empty: it decodes the channel
//!   information with `wire::rdma_transform::RdmaTransform::decode`, passes the inner
//!   descriptor list to the existing `decode_descriptors`/`plan` (the inner Channel says
//!   whether to invalidate), and keeps the single crypto transform chosen by
//!   [`check_transforms`] (message encrypted or not) next to the `RdmaChannel`.
//! - WRITE: after the RDMA Reads complete into the local buffer and before the VFS write,
//!   [`open_payload`] (encrypted session) or [`PayloadSigner::verify`] (signed session) runs on
//!   the whole buffer; failure fails the WRITE (STATUS_ACCESS_DENIED as for a bad message
//!   signature, and the buffer has been zeroed) and nothing reaches the file.
//! - READ: after the VFS read and before the RDMA Writes, [`seal_payload`] (encrypting in
//!   place) or [`PayloadSigner::sign`] runs on the buffer; the READ response gets Flags
//!   SMB2_READFLAG_RESPONSE_RDMA_TRANSFORM, DataOffset pointing at an encoded
//!   SMB2_RDMA_TRANSFORM (Channel NONE, the one crypto transform), DataLength its length, and
//!   DataRemaining the payload length; the response is then signed/encrypted as usual.
//! - The cost is one AEAD or MAC pass over the payload on the CPU, which is why Windows makes
//!   signing/encryption over RDMA expensive; it keeps the zero-copy placement (in-place).
//!
//! # Why it is not negotiated today
//!
//! The only SMB Direct client in the test bed is the Linux 6.12 cifs client, and it neither
//! sends SMB2_RDMA_TRANSFORM_CAPABILITIES (`assemble_neg_contexts` in
//! fs/smb/client/smb2pdu.c builds preauth, encryption, netname, POSIX, compression and
//! signing contexts only) nor uses RDMA at all on signed or encrypted connections
//! (`smb3_use_rdma_offload`: "we don't support signed offload yet" / "we don't support
//! encrypted offload yet"). ksmbd ignores the context too. A server that answered the context
//! would promise a path no available client can exercise, so rsmbd answers with
//! `wire::rdma_transform::SERVER_RDMA_TRANSFORMS` (empty): the negotiate handler leaves the
//! context out of the response (it ignores context type 7), no client may then use
//! SMB2_CHANNEL_RDMA_TRANSFORM, and `placement::channel()` keeps refusing it with
//! STATUS_INVALID_PARAMETER. Turning it on needs a client that sends the context (Windows 11 /
//! Server 2022 or later over RDMA, or a test client speaking SMB Direct) and a test that
//! writes and reads back data through a transformed channel, checks the data, and checks that
//! a flipped payload byte fails the WRITE.

use aes::cipher::KeyInit;
use aes::Aes128;
use cmac::{Cmac, Mac};
use ring::{aead, hmac};

use super::ct_eq16;
use super::seal::{EncryptError, Sealer};
use super::sign::SigningAlgorithm;

/// TransformType SMB2_RDMA_TRANSFORM_TYPE_ENCRYPTION (MS-SMB2 2.2.43.1); the same value is the
/// RDMATransformId SMB2_RDMA_TRANSFORM_ENCRYPTION of 2.2.3.1.6.
pub const TRANSFORM_ENCRYPTION: u16 = 0x0001;
/// TransformType SMB2_RDMA_TRANSFORM_TYPE_SIGNING; same value as the RDMATransformId
/// SMB2_RDMA_TRANSFORM_SIGNING.
pub const TRANSFORM_SIGNING: u16 = 0x0002;
/// Length of every Signature this module writes and the only one it accepts.
pub const SIGNATURE_LEN: usize = 16;
/// Nonce length of a SIGNING transform (the GMAC IV length; used for every algorithm).
pub const SIGNING_NONCE_LEN: usize = 12;

/// Why a transformed payload, or the transforms of a message, were refused. The server fails
/// the request with STATUS_INVALID_PARAMETER for a malformed/unexpected transform and
/// STATUS_ACCESS_DENIED for [`RdmaTransformError::AuthenticationFailed`]; a client returns
/// STATUS_INVALID_NETWORK_RESPONSE (MS-SMB2 3.2.5.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RdmaTransformError {
    /// The connection negotiated no RDMA transform, or not this one.
    NotNegotiated(u16),
    /// TransformType is neither ENCRYPTION nor SIGNING.
    UnknownType(u16),
    /// The transform is not the one the message requires (ENCRYPTION on a message that is not
    /// encrypted, SIGNING on one that is, or a type other than the operation expects).
    WrongType {
        /// The type required.
        expected: u16,
        /// The type received.
        got: u16,
    },
    /// Not exactly one crypto transform.
    TransformCount(usize),
    /// SignatureLength is not 16.
    SignatureLength(usize),
    /// NonceLength is not what the algorithm uses.
    NonceLength {
        /// The length required.
        expected: usize,
        /// The length received.
        got: usize,
    },
    /// The tag or MAC did not verify (tampered payload, signature or nonce, wrong key).
    AuthenticationFailed,
    /// The payload could not be encrypted (invalid key, or too long for CCM).
    Encrypt(EncryptError),
}

impl std::fmt::Display for RdmaTransformError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotNegotiated(t) => write!(f, "RDMA transform {t:#06x} was not negotiated"),
            Self::UnknownType(t) => write!(f, "unknown RDMA TransformType {t:#06x}"),
            Self::WrongType { expected, got } => {
                write!(
                    f,
                    "RDMA TransformType {got:#06x} where {expected:#06x} is required"
                )
            }
            Self::TransformCount(n) => write!(f, "{n} RDMA crypto transforms, expected 1"),
            Self::SignatureLength(n) => write!(f, "RDMA transform SignatureLength {n}, not 16"),
            Self::NonceLength { expected, got } => {
                write!(f, "RDMA transform NonceLength {got}, expected {expected}")
            }
            Self::AuthenticationFailed => f.write_str("RDMA payload authentication failed"),
            Self::Encrypt(e) => write!(f, "RDMA payload encryption failed: {e}"),
        }
    }
}

impl std::error::Error for RdmaTransformError {}

/// The Signature and Nonce to put in an SMB2_RDMA_CRYPTO_TRANSFORM for one payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadTag {
    /// TransformType ([`TRANSFORM_ENCRYPTION`] or [`TRANSFORM_SIGNING`]).
    pub transform_type: u16,
    /// Signature (16 bytes).
    pub signature: [u8; SIGNATURE_LEN],
    /// Nonce (11 or 12 bytes).
    pub nonce: Vec<u8>,
}

/// The transform a READ/WRITE payload must carry: ENCRYPTION when the SMB2 message is
/// encrypted, SIGNING when it is not (MS-SMB2 3.2.5.11). `None` when the connection did not
/// negotiate that transform (`negotiated` is Connection.RDMATransformIds): the payload must
/// then not be moved by RDMA at all if it needs protection.
pub fn required_transform(message_encrypted: bool, negotiated: &[u16]) -> Option<u16> {
    let t = if message_encrypted {
        TRANSFORM_ENCRYPTION
    } else {
        TRANSFORM_SIGNING
    };
    negotiated.contains(&t).then_some(t)
}

/// Checks the TransformTypes of a received SMB2_RDMA_TRANSFORM (MS-SMB2 3.2.5.11 for
/// responses; the server applies the same rules to requests): the connection negotiated a
/// transform, there is exactly one crypto transform, its type is known and negotiated, and it
/// is ENCRYPTION exactly when the message was encrypted. Returns its index.
pub fn check_transforms(
    types: &[u16],
    message_encrypted: bool,
    negotiated: &[u16],
) -> Result<usize, RdmaTransformError> {
    if types.len() != 1 {
        return Err(RdmaTransformError::TransformCount(types.len()));
    }
    let got = types[0];
    if got != TRANSFORM_ENCRYPTION && got != TRANSFORM_SIGNING {
        return Err(RdmaTransformError::UnknownType(got));
    }
    if !negotiated.contains(&got) {
        return Err(RdmaTransformError::NotNegotiated(got));
    }
    let expected = if message_encrypted {
        TRANSFORM_ENCRYPTION
    } else {
        TRANSFORM_SIGNING
    };
    if got != expected {
        return Err(RdmaTransformError::WrongType { expected, got });
    }
    Ok(0)
}

/// Copies a received nonce of exactly `len` bytes into a 16-byte Nonce field.
fn nonce_field(nonce: &[u8], len: usize) -> Result<[u8; 16], RdmaTransformError> {
    if nonce.len() != len {
        return Err(RdmaTransformError::NonceLength {
            expected: len,
            got: nonce.len(),
        });
    }
    let mut n = [0u8; 16];
    n[..len].copy_from_slice(nonce);
    Ok(n)
}

/// A received Signature as a 16-byte array.
fn signature_field(signature: &[u8]) -> Result<[u8; 16], RdmaTransformError> {
    signature
        .try_into()
        .map_err(|_| RdmaTransformError::SignatureLength(signature.len()))
}

/// Encrypts `payload` in place for an ENCRYPTION transform with `sealer` (the session's
/// negotiated cipher and the key of this direction) and `nonce` (from the session's
/// [`NonceGenerator`](super::NonceGenerator); only the cipher's 11 or 12 bytes are used and
/// sent). On error the payload must not be sent.
pub fn seal_payload(
    sealer: &Sealer,
    nonce: &[u8; 16],
    payload: &mut [u8],
) -> Result<PayloadTag, RdmaTransformError> {
    let len = sealer.cipher().nonce_len();
    let mut n = [0u8; 16];
    n[..len].copy_from_slice(&nonce[..len]);
    let signature = sealer
        .try_encrypt_in_place(&n, &[], payload)
        .map_err(RdmaTransformError::Encrypt)?;
    Ok(PayloadTag {
        transform_type: TRANSFORM_ENCRYPTION,
        signature,
        nonce: n[..len].to_vec(),
    })
}

/// Checks and decrypts, in place, a payload received with an ENCRYPTION transform
/// (`transform_type`, `signature`, `nonce` as decoded from its SMB2_RDMA_CRYPTO_TRANSFORM).
/// On any failure the payload is zeroed when it was touched, and must be discarded.
pub fn open_payload(
    sealer: &Sealer,
    transform_type: u16,
    signature: &[u8],
    nonce: &[u8],
    payload: &mut [u8],
) -> Result<(), RdmaTransformError> {
    if transform_type != TRANSFORM_ENCRYPTION {
        return Err(RdmaTransformError::WrongType {
            expected: TRANSFORM_ENCRYPTION,
            got: transform_type,
        });
    }
    let tag = signature_field(signature)?;
    let n = nonce_field(nonce, sealer.cipher().nonce_len())?;
    sealer
        .decrypt_in_place(&n, &[], payload, &tag)
        .map_err(|_| RdmaTransformError::AuthenticationFailed)
}

/// Prepared key of one signing algorithm for payload MACs.
enum PayloadKey {
    /// HMAC-SHA256.
    Hmac(hmac::Key),
    /// AES-128-CMAC.
    Cmac(Box<Cmac<Aes128>>),
    /// AES-128-GMAC (AES-128-GCM with an empty plaintext).
    Gmac(Box<aead::LessSafeKey>),
}

/// Signs and verifies RDMA payloads (SIGNING transform) with one signing key and algorithm.
pub struct PayloadSigner {
    alg: SigningAlgorithm,
    key: PayloadKey,
}

impl std::fmt::Debug for PayloadSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadSigner")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl PayloadSigner {
    /// Prepares `alg` with the channel's signing `key`. AES-CMAC and AES-GMAC take the first 16
    /// bytes of `key`, zero-padded if shorter (SMB signing keys are 16 bytes), as
    /// [`Signer`](super::Signer) does.
    pub fn new(alg: SigningAlgorithm, key: &[u8]) -> PayloadSigner {
        let mut k16 = [0u8; 16];
        for (d, s) in k16.iter_mut().zip(key) {
            *d = *s;
        }
        let key = match alg {
            SigningAlgorithm::HmacSha256 => {
                PayloadKey::Hmac(hmac::Key::new(hmac::HMAC_SHA256, key))
            }
            SigningAlgorithm::AesCmac => {
                PayloadKey::Cmac(Box::new(<Cmac<Aes128> as KeyInit>::new(&k16.into())))
            }
            SigningAlgorithm::AesGmac => PayloadKey::Gmac(Box::new(aead::LessSafeKey::new(
                // A 16-byte key is always valid for AES-128-GCM.
                aead::UnboundKey::new(&aead::AES_128_GCM, &k16)
                    .unwrap_or_else(|_| unreachable!("16-byte AES-128 key")),
            ))),
        };
        PayloadSigner { alg, key }
    }

    /// The algorithm this signer uses.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.alg
    }

    /// The 16-byte MAC of `payload` under the 12-byte `nonce`.
    fn mac(&self, nonce: &[u8; SIGNING_NONCE_LEN], payload: &[u8]) -> [u8; 16] {
        let mut out = [0u8; 16];
        match &self.key {
            PayloadKey::Hmac(k) => {
                let mut ctx = hmac::Context::with_key(k);
                ctx.update(nonce);
                ctx.update(payload);
                out.copy_from_slice(&ctx.sign().as_ref()[..16]);
            }
            PayloadKey::Cmac(state) => {
                let mut mac = (**state).clone();
                mac.update(nonce);
                mac.update(payload);
                out.copy_from_slice(&mac.finalize().into_bytes());
            }
            PayloadKey::Gmac(k) => {
                let n = aead::Nonce::assume_unique_for_key(*nonce);
                // An empty plaintext cannot exceed GCM's limits.
                if let Ok(tag) = k.seal_in_place_separate_tag(n, aead::Aad::from(payload), &mut [])
                {
                    out.copy_from_slice(tag.as_ref());
                }
            }
        }
        out
    }

    /// Signs `payload` for a SIGNING transform; `nonce` comes from a per-session counter that
    /// never repeats (its first 12 bytes are used and sent).
    pub fn sign(&self, nonce: &[u8; 16], payload: &[u8]) -> PayloadTag {
        let mut n = [0u8; SIGNING_NONCE_LEN];
        n.copy_from_slice(&nonce[..SIGNING_NONCE_LEN]);
        PayloadTag {
            transform_type: TRANSFORM_SIGNING,
            signature: self.mac(&n, payload),
            nonce: n.to_vec(),
        }
    }

    /// Verifies a payload received with a SIGNING transform (constant-time comparison).
    pub fn verify(
        &self,
        transform_type: u16,
        signature: &[u8],
        nonce: &[u8],
        payload: &[u8],
    ) -> Result<(), RdmaTransformError> {
        if transform_type != TRANSFORM_SIGNING {
            return Err(RdmaTransformError::WrongType {
                expected: TRANSFORM_SIGNING,
                got: transform_type,
            });
        }
        let sig = signature_field(signature)?;
        let n: [u8; SIGNING_NONCE_LEN] =
            nonce
                .try_into()
                .map_err(|_| RdmaTransformError::NonceLength {
                    expected: SIGNING_NONCE_LEN,
                    got: nonce.len(),
                })?;
        if ct_eq16(&self.mac(&n, payload), &sig) {
            Ok(())
        } else {
            Err(RdmaTransformError::AuthenticationFailed)
        }
    }
}

#[cfg(test)]
#[path = "tests_rdma_transform.rs"]
mod tests;
