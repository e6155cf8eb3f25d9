//! SMB 3.1.1 pre-authentication integrity hash (MS-SMB2 3.3.5.4 and 3.3.5.5:
//! `PreauthIntegrityHashValue = SHA-512(PreauthIntegrityHashValue || message)`,
//! starting from 64 zero bytes; hash algorithm id 0x0001, 2.2.3.1.1).

use ring::digest;

/// Running SHA-512 pre-authentication integrity hash value.
///
/// Clone it to fork the connection-level value into a per-session value
/// (MS-SMB2 3.3.5.5: `PreauthSession.PreauthIntegrityHashValue` starts as a
/// copy of `Connection.PreauthIntegrityHashValue`).
#[derive(Clone, PartialEq, Eq)]
pub struct PreauthHash([u8; 64]);

impl PreauthHash {
    /// A hash value of 64 zero bytes (the initial value).
    pub fn new() -> PreauthHash {
        PreauthHash([0u8; 64])
    }

    /// Folds one whole SMB2 message (header and body, without the transport
    /// framing) into the hash: `H = SHA-512(H || message)`.
    pub fn update(&mut self, message: &[u8]) {
        let mut ctx = digest::Context::new(&digest::SHA512);
        ctx.update(&self.0);
        ctx.update(message);
        let d = ctx.finish();
        // SHA-512 output is always 64 bytes.
        for (dst, src) in self.0.iter_mut().zip(d.as_ref().iter()) {
            *dst = *src;
        }
    }

    /// The current hash value (the KDF context for SMB 3.1.1 keys).
    pub fn value(&self) -> &[u8; 64] {
        &self.0
    }
}

impl Default for PreauthHash {
    fn default() -> Self {
        PreauthHash::new()
    }
}

impl std::fmt::Debug for PreauthHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreauthHash(")?;
        for b in &self.0[..8] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("..)")
    }
}
