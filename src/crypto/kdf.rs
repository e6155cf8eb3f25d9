//! SMB 3.x key derivation function (MS-SMB2 3.1.4.2): NIST SP800-108 KDF in
//! counter mode, PRF = HMAC-SHA256, r = 32, `L = 8 * out.len()`.
//!
//! Each PRF input block is `i (u32 BE) || Label || 0x00 || Context || L (u32 BE)`.
//! MS-SMB2 lists the labels and contexts with their trailing NUL included
//! (e.g. `b"SMB2AESCMAC\0"`), so callers pass them that way; the 0x00
//! separator of SP800-108 is added here.

use ring::hmac;

/// Derives `out.len()` bytes of key material from `key` (MS-SMB2 3.1.4.2).
///
/// SMB uses `out.len()` of 16 (L = 128) or 32 (L = 256).
pub fn kdf(key: &[u8], label: &[u8], context: &[u8], out: &mut [u8]) {
    let prf_key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let l_bits = u32::try_from(out.len().saturating_mul(8)).unwrap_or(u32::MAX);
    let mut counter: u32 = 0;
    for chunk in out.chunks_mut(32) {
        counter = counter.wrapping_add(1);
        let mut ctx = hmac::Context::with_key(&prf_key);
        ctx.update(&counter.to_be_bytes());
        ctx.update(label);
        ctx.update(&[0u8]);
        ctx.update(context);
        ctx.update(&l_bits.to_be_bytes());
        let block = ctx.sign();
        for (dst, src) in chunk.iter_mut().zip(block.as_ref().iter()) {
            *dst = *src;
        }
    }
}
