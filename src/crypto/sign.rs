//! SMB2 message signing and verification (MS-SMB2 3.1.4.1 Signing An Outgoing
//! Message, 3.1.5.1 Verifying an Incoming Message; algorithm ids from
//! 2.2.3.1.7 SMB2_SIGNING_CAPABILITIES).
//!
//! The signature covers one SMB2 message — for a compound element, from its
//! header up to the next element's header, padding included — with the
//! 16-byte Signature field (header bytes 48..64) taken as zero.
//!
//! - HMAC-SHA256 (2.0.2/2.1): first 16 bytes of the HMAC.
//! - AES-128-CMAC (RFC 4493; 3.0, 3.0.2, and 3.1.1 without a negotiated id).
//! - AES-128-GMAC (RFC 4543; 3.1.1): GCM with empty plaintext and the message
//!   as AAD; 12-byte nonce = MessageId (header bytes 24..32) || 4 bytes whose
//!   bit 0 is set for messages sent by the server (Flags has
//!   SMB2_FLAGS_SERVER_TO_REDIR) and bit 1 for an SMB2 CANCEL request.
//!
//! The key schedules live in the [`Signer`], so signing allocates nothing.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;
use cmac::{Cmac, Mac};
use ghash::universal_hash::UniversalHash;
use ghash::GHash;
use ring::hmac;

use super::ct_eq16;

/// Size of the SMB2 header.
const SMB2_HEADER_LEN: usize = 64;
/// Offset of the Signature field in the SMB2 header.
const SIGNATURE_OFFSET: usize = 48;
/// SMB2_FLAGS_SERVER_TO_REDIR (MS-SMB2 2.2.1.2).
const SMB2_FLAGS_SERVER_TO_REDIR: u32 = 0x0000_0001;
/// SMB2 CANCEL command code.
const SMB2_CANCEL: u16 = 0x000C;
/// Sixteen zero bytes standing in for the Signature field.
const ZERO_SIGNATURE: [u8; 16] = [0u8; 16];

/// A signing algorithm (MS-SMB2 2.2.3.1.7 SigningAlgorithms ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// HMAC-SHA256, id 0x0000 (dialects 2.0.2 and 2.1).
    HmacSha256,
    /// AES-128-CMAC, id 0x0001 (3.0, 3.0.2, default for 3.1.1).
    AesCmac,
    /// AES-128-GMAC, id 0x0002 (3.1.1 with SMB2_SIGNING_CAPABILITIES).
    AesGmac,
}

impl SigningAlgorithm {
    /// The SigningAlgorithms id of MS-SMB2 2.2.3.1.7.
    pub fn id(self) -> u16 {
        match self {
            SigningAlgorithm::HmacSha256 => 0x0000,
            SigningAlgorithm::AesCmac => 0x0001,
            SigningAlgorithm::AesGmac => 0x0002,
        }
    }

    /// The algorithm a connection signs with (MS-SMB2 3.1.4.1): HMAC-SHA256
    /// for 2.0.2/2.1, AES-CMAC for 3.0/3.0.2, and for 3.1.1 the algorithm
    /// negotiated by SMB2_SIGNING_CAPABILITIES (`negotiated`, i.e.
    /// `Connection.SigningAlgorithmId`) or AES-CMAC when none was.
    pub fn for_dialect(dialect: u16, negotiated: Option<SigningAlgorithm>) -> SigningAlgorithm {
        match dialect {
            0x0300 | 0x0302 => SigningAlgorithm::AesCmac,
            0x0311 => negotiated.unwrap_or(SigningAlgorithm::AesCmac),
            _ => SigningAlgorithm::HmacSha256,
        }
    }

    /// The algorithm with SigningAlgorithms id `id`, if known.
    pub fn from_id(id: u16) -> Option<SigningAlgorithm> {
        match id {
            0x0000 => Some(SigningAlgorithm::HmacSha256),
            0x0001 => Some(SigningAlgorithm::AesCmac),
            0x0002 => Some(SigningAlgorithm::AesGmac),
            _ => None,
        }
    }
}

/// Prepared key schedule of one algorithm. Kept inline (one per session or
/// channel key; no pointer chase on the hot path), hence the size lint
/// exemption.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)]
enum SignerKey {
    /// HMAC-SHA256 key.
    Hmac(hmac::Key),
    /// CMAC state with the AES-128 key schedule and subkeys, cloned per use.
    Cmac(Cmac<Aes128>),
    /// GMAC: the AES-128 key schedule (for E(K, J0)) and GHASH keyed with
    /// H = E(K, 0^128).
    Gmac(Aes128, GHash),
}

/// Signs and verifies SMB2 messages with one key and algorithm.
///
/// Cheap to share between threads (`Send + Sync`); every operation works on a
/// stack copy of the prepared key state.
#[derive(Clone)]
pub struct Signer {
    alg: SigningAlgorithm,
    key: SignerKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Splits a message into (bytes before the signature, the signature, bytes
/// after it); `None` when shorter than an SMB2 header.
fn split_message(msg: &[u8]) -> Option<(&[u8], &[u8; 16], &[u8])> {
    let head = msg.get(..SIGNATURE_OFFSET)?;
    let sig: &[u8; 16] = msg
        .get(SIGNATURE_OFFSET..SMB2_HEADER_LEN)?
        .try_into()
        .ok()?;
    let tail = msg.get(SMB2_HEADER_LEN..)?;
    Some((head, sig, tail))
}

/// First 16 bytes of `key`, zero-padded (AES-128 keys).
fn aes128_key(key: &[u8]) -> [u8; 16] {
    let mut k = [0u8; 16];
    for (dst, src) in k.iter_mut().zip(key.iter()) {
        *dst = *src;
    }
    k
}

/// Reads a little-endian u16 at `off` of `buf` (0 when out of range).
fn le_u16(buf: &[u8], off: usize) -> u16 {
    buf.get(off..off + 2)
        .and_then(|b| b.try_into().ok())
        .map(u16::from_le_bytes)
        .unwrap_or(0)
}

/// Reads a little-endian u32 at `off` of `buf` (0 when out of range).
fn le_u32(buf: &[u8], off: usize) -> u32 {
    buf.get(off..off + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .unwrap_or(0)
}

/// The 12-byte AES-GMAC nonce of MS-SMB2 3.1.4.1 for the message whose header
/// starts `head` (at least 48 bytes).
fn gmac_nonce(head: &[u8]) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    if let Some(message_id) = head.get(24..32) {
        nonce[..8].copy_from_slice(message_id);
    }
    let mut bits = 0u8;
    if le_u32(head, 16) & SMB2_FLAGS_SERVER_TO_REDIR != 0 {
        bits |= 0x01;
    }
    if le_u16(head, 12) == SMB2_CANCEL {
        bits |= 0x02;
    }
    nonce[8] = bits;
    nonce
}

impl Signer {
    /// Prepares the key schedule of `alg` for `key`.
    ///
    /// AES-CMAC and AES-GMAC use AES-128: the first 16 bytes of `key` are used,
    /// zero-padded if shorter (SMB signing keys are always 16 bytes).
    pub fn new(alg: SigningAlgorithm, key: &[u8]) -> Signer {
        let key = match alg {
            SigningAlgorithm::HmacSha256 => SignerKey::Hmac(hmac::Key::new(hmac::HMAC_SHA256, key)),
            SigningAlgorithm::AesCmac => {
                let k = aes128_key(key);
                SignerKey::Cmac(<Cmac<Aes128> as KeyInit>::new(&k.into()))
            }
            SigningAlgorithm::AesGmac => {
                let k = aes128_key(key);
                let aes = Aes128::new(&k.into());
                let mut h = [0u8; 16].into();
                aes.encrypt_block(&mut h);
                let ghash = GHash::new(&h);
                SignerKey::Gmac(aes, ghash)
            }
        };
        Signer { alg, key }
    }

    /// The algorithm this signer uses.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.alg
    }

    /// Signs one SMB2 message in place: zeroes the Signature field (bytes
    /// 48..64), computes the signature over the whole buffer and writes it
    /// there. Sets no flags. A buffer shorter than 64 bytes is left untouched.
    pub fn sign(&self, msg: &mut [u8]) {
        let Some(sig_field) = msg.get_mut(SIGNATURE_OFFSET..SMB2_HEADER_LEN) else {
            return;
        };
        sig_field.fill(0);
        let Some(sig) = self.compute(msg) else {
            return;
        };
        if let Some(sig_field) = msg.get_mut(SIGNATURE_OFFSET..SMB2_HEADER_LEN) {
            sig_field.copy_from_slice(&sig);
        }
    }

    /// Checks the signature of one received SMB2 message without modifying
    /// it (constant-time comparison). False for buffers shorter than 64 bytes.
    pub fn verify(&self, msg: &[u8]) -> bool {
        let Some((_, received, _)) = split_message(msg) else {
            return false;
        };
        match self.compute(msg) {
            Some(expected) => ct_eq16(&expected, received),
            None => false,
        }
    }

    /// The signature of `msg` with its Signature field taken as zero; `None`
    /// when `msg` is shorter than an SMB2 header.
    pub fn compute(&self, msg: &[u8]) -> Option<[u8; 16]> {
        self.compute_parts(msg, &[])
    }

    /// Signs, in place, the message made of `msg` followed by `data` (a READ response and
    /// the data it carries, kept in separate buffers so the data is never copied). False,
    /// with nothing signed, when the algorithm cannot take the message in two pieces (AES-GMAC
    /// needs `msg` to end on a 16-byte boundary): the caller then joins them.
    pub fn sign_with_data(&self, msg: &mut [u8], data: &[u8]) -> bool {
        if matches!(self.key, SignerKey::Gmac(..)) && !msg.len().is_multiple_of(16) {
            return false;
        }
        let Some(sig_field) = msg.get_mut(SIGNATURE_OFFSET..SMB2_HEADER_LEN) else {
            return false;
        };
        sig_field.fill(0);
        let Some(sig) = self.compute_parts(msg, data) else {
            return false;
        };
        if let Some(sig_field) = msg.get_mut(SIGNATURE_OFFSET..SMB2_HEADER_LEN) {
            sig_field.copy_from_slice(&sig);
        }
        true
    }

    /// The signature of `msg` followed by `data`, the Signature field taken as zero. For
    /// AES-GMAC `msg` must end on a 16-byte boundary (see [`Signer::sign_with_data`]).
    fn compute_parts(&self, msg: &[u8], data: &[u8]) -> Option<[u8; 16]> {
        let (head, _, tail) = split_message(msg)?;
        let mut out = [0u8; 16];
        match &self.key {
            SignerKey::Hmac(key) => {
                let mut ctx = hmac::Context::with_key(key);
                ctx.update(head);
                ctx.update(&ZERO_SIGNATURE);
                ctx.update(tail);
                ctx.update(data);
                let tag = ctx.sign();
                for (dst, src) in out.iter_mut().zip(tag.as_ref().iter()) {
                    *dst = *src;
                }
            }
            SignerKey::Cmac(state) => {
                let mut mac = state.clone();
                mac.update(head);
                mac.update(&ZERO_SIGNATURE);
                mac.update(tail);
                mac.update(data);
                out.copy_from_slice(&mac.finalize().into_bytes());
            }
            SignerKey::Gmac(aes, ghash) => {
                // GHASH over AAD = message (head, zero signature and tail
                // are block-aligned up to the tail, which is zero-padded),
                // then the length block len(A) || len(C) in bits.
                let mut g = ghash.clone();
                g.update_padded(head);
                g.update_padded(&ZERO_SIGNATURE);
                g.update_padded(tail);
                g.update_padded(data);
                let aad_bits = ((msg.len() + data.len()) as u64).wrapping_mul(8);
                let mut len_block = [0u8; 16];
                len_block[..8].copy_from_slice(&aad_bits.to_be_bytes());
                g.update(&[len_block.into()]);
                let s = g.finalize();
                // Tag = GHASH ^ E(K, J0), J0 = nonce || 0x00000001.
                let nonce = gmac_nonce(head);
                let mut j0 = [0u8; 16];
                j0[..12].copy_from_slice(&nonce);
                j0[15] = 1;
                let mut ek = j0.into();
                aes.encrypt_block(&mut ek);
                for ((dst, a), b) in out.iter_mut().zip(s.iter()).zip(ek.iter()) {
                    *dst = a ^ b;
                }
            }
        }
        Some(out)
    }
}
