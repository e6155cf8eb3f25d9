//! Offloaded data transfer (ODX) tokens: the server side of STORAGE_OFFLOAD_TOKEN (MS-FSCC
//! 2.1.11) for FSCTL_OFFLOAD_READ / FSCTL_OFFLOAD_WRITE (MS-FSCC 2.3.41–2.3.44, MS-FSA
//! 2.1.5.10.20/.21; the handlers are in `handlers::fsctl::offload`).
//!
//! A token is 512 bytes: TokenType [`TOKEN_TYPE`], TokenIdLength 504, and a TokenId laid out
//! as [`layout`]: a version tag, a 16-byte random id (ring's `SystemRandom`), what the token
//! is bound to — the source file's (device, inode), the range (offset, TransferLength, bytes
//! of real data), a generation (a per-server sequence number, unique per token) and the
//! expiry — and an HMAC-SHA256 under a secret drawn once per server, over the TokenType and
//! every other byte of the TokenId. A token is accepted only if the MAC verifies (so it
//! cannot be forged or altered: any flipped byte fails) AND the random id is in the
//! server's table with exactly the bound values AND it has not expired. Tokens are
//! capabilities: they work from any session, connection and share of this server, and die
//! with it (the table is the server's: [`crate::server::file_state::FileStates::odx`]).
//!
//! ## Point-in-time guarantee: invalidate on write
//! A token must never yield data other than the source range as it was when the token was
//! made (MS-FSCC 2.3.42 "at the time of the FSCTL_OFFLOAD_READ operation"). rsmbd keeps no
//! snapshot: the table entry holds the source's open handle (so the inode cannot be freed
//! and reused) and every change to a file's data through the server first calls
//! [`TokenStore::note_write`] with the range it is about to change, which drops every token whose range
//! overlaps it:
//! - WRITE, FSCTL_SET_ZERO_DATA, COPYCHUNK targets, DUPLICATE_EXTENTS and OFFLOAD_WRITE
//!   targets, through [`crate::server::file_state::FileState::io_allowed`] with
//!   `write == true` (each of them checks byte-range locks there before touching data);
//! - end of file / allocation size set (SET_INFO) and the truncation of CREATE with
//!   FILE_SUPERSEDE / FILE_OVERWRITE[_IF], which drop the range from the new size on.
//!
//! OFFLOAD_WRITE checks the token before copying and again after: a write that raced with the
//! copy turns the result into STATUS_INVALID_TOKEN (the target range is then undefined, as
//! for any failed write). Changes made to the share by local processes outside the server are
//! not seen (no SMB server can see them without a snapshot); keeping a reflinked copy per
//! token would cover that on reflink file systems at the price of a hidden file per token.
//!
//! The table is bounded ([`MAX_TOKENS`]): expired tokens are swept when a token is made, and
//! the oldest one is evicted when the table is still full.
use crate::wire::fsctl::offload::{StorageOffloadToken, STORAGE_OFFLOAD_TOKEN_ID_LENGTH};
use crate::wire::NtStatus;
use parking_lot::Mutex;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// TokenType of the tokens rsmbd makes ("RSMB"; vendor-specific values are opaque to the
/// client, MS-FSCC 2.1.11).
pub const TOKEN_TYPE: u32 = 0x5253_4D42;
/// Most live tokens in the table.
pub const MAX_TOKENS: usize = 4096;
/// Version tag at the start of every TokenId.
const VERSION: [u8; 4] = *b"odx1";
/// Bytes under the MAC: TokenType (4) and the TokenId less the 32-byte MAC.
const SIGNED: usize = 4 + STORAGE_OFFLOAD_TOKEN_ID_LENGTH - 32;

/// Byte offsets within the 504-byte TokenId.
pub mod layout {
    /// Version tag (4 bytes).
    pub const VERSION: usize = 0;
    /// Random id (16 bytes).
    pub const ID: usize = 4;
    /// Device (8, little-endian).
    pub const DEV: usize = 20;
    /// Inode (8).
    pub const INO: usize = 28;
    /// Range offset (8).
    pub const OFFSET: usize = 36;
    /// TransferLength (8).
    pub const LENGTH: usize = 44;
    /// Bytes of real data from the offset; the rest of the range reads as zeros (8).
    pub const DATA_LEN: usize = 52;
    /// Generation (8).
    pub const GENERATION: usize = 60;
    /// Expiry, milliseconds since the Unix epoch (8, informational: the table decides).
    pub const EXPIRY: usize = 68;
    /// HMAC-SHA256 (32).
    pub const MAC: usize = 76;
    /// First byte after the MAC; the rest is zero.
    pub const END: usize = 108;
}

/// What a token stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// (device, inode) of the source: the key of its `FileState`.
    pub file: (u64, u64),
    /// First byte.
    pub offset: u64,
    /// TransferLength.
    pub length: u64,
    /// Bytes of real data from `offset` (at most `length`; the rest reads as zeros).
    pub data_len: u64,
}

impl Range {
    fn overlaps(&self, offset: u64, len: u64) -> bool {
        len > 0 && self.length > 0 && offset < self.offset.saturating_add(self.length) && {
            self.offset < offset.saturating_add(len)
        }
    }
}

struct Entry<S> {
    range: Range,
    generation: u64,
    expires: Instant,
    source: S,
}

struct Inner<S> {
    tokens: HashMap<[u8; 16], Entry<S>>,
    by_file: HashMap<(u64, u64), Vec<[u8; 16]>>,
    /// Ids by generation, oldest first (for eviction).
    by_age: BTreeMap<u64, [u8; 16]>,
}

impl<S> Inner<S> {
    fn remove(&mut self, id: &[u8; 16]) -> Option<Entry<S>> {
        let e = self.tokens.remove(id)?;
        self.by_age.remove(&e.generation);
        if let Some(v) = self.by_file.get_mut(&e.range.file) {
            v.retain(|x| x != id);
            if v.is_empty() {
                self.by_file.remove(&e.range.file);
            }
        }
        Some(e)
    }
}

/// A redeemed token: the range and source it stands for.
#[derive(Clone, Debug)]
pub struct Grant<S> {
    /// The range.
    pub range: Range,
    /// The source (the open handle of the file the token was made from).
    pub source: S,
    id: [u8; 16],
    generation: u64,
}

/// The token table and the MAC key. `S` is what a token keeps of its source (the server
/// keeps the VFS handle).
pub struct TokenStore<S> {
    key: hmac::Key,
    rng: SystemRandom,
    inner: Mutex<Inner<S>>,
    live: AtomicUsize,
    next_generation: AtomicU64,
    cap: usize,
}

impl<S: Clone> TokenStore<S> {
    /// A store with a fresh random secret and room for `cap` tokens.
    pub fn new(cap: usize) -> Self {
        let rng = SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng).expect("system random source");
        TokenStore {
            key,
            rng,
            inner: Mutex::new(Inner {
                tokens: HashMap::new(),
                by_file: HashMap::new(),
                by_age: BTreeMap::new(),
            }),
            live: AtomicUsize::new(0),
            next_generation: AtomicU64::new(1),
            cap: cap.max(1),
        }
    }

    /// Live tokens.
    pub fn len(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Whether no token is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the MAC covers: TokenType and the TokenId without the MAC field.
    fn signed_bytes(token_type: u32, id: &[u8; STORAGE_OFFLOAD_TOKEN_ID_LENGTH]) -> [u8; SIGNED] {
        let mut m = [0u8; SIGNED];
        m[..4].copy_from_slice(&token_type.to_be_bytes());
        m[4..4 + layout::MAC].copy_from_slice(&id[..layout::MAC]);
        m[4 + layout::MAC..].copy_from_slice(&id[layout::END..]);
        m
    }

    /// Makes a token for `range` of `source`, valid for `lifetime` from `now`.
    pub fn issue(
        &self,
        range: Range,
        lifetime: Duration,
        now: Instant,
        source: S,
    ) -> Result<StorageOffloadToken, NtStatus> {
        let mut rid = [0u8; 16];
        self.rng
            .fill(&mut rid)
            .map_err(|_| NtStatus::INSUFFICIENT_RESOURCES)?;
        let generation = self.next_generation.fetch_add(1, Ordering::SeqCst);
        let expiry_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_add(lifetime)
            .as_millis() as u64;
        let mut id = [0u8; STORAGE_OFFLOAD_TOKEN_ID_LENGTH];
        id[layout::VERSION..layout::ID].copy_from_slice(&VERSION);
        id[layout::ID..layout::DEV].copy_from_slice(&rid);
        for (at, v) in [
            (layout::DEV, range.file.0),
            (layout::INO, range.file.1),
            (layout::OFFSET, range.offset),
            (layout::LENGTH, range.length),
            (layout::DATA_LEN, range.data_len),
            (layout::GENERATION, generation),
            (layout::EXPIRY, expiry_ms),
        ] {
            id[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
        let tag = hmac::sign(&self.key, &Self::signed_bytes(TOKEN_TYPE, &id));
        id[layout::MAC..layout::END].copy_from_slice(tag.as_ref());
        let entry = Entry {
            range,
            generation,
            expires: now + lifetime,
            source,
        };
        let mut inner = self.inner.lock();
        if inner.tokens.len() >= self.cap {
            Self::sweep_locked(&mut inner, now);
        }
        while inner.tokens.len() >= self.cap {
            let Some((_, oldest)) = inner.by_age.pop_first() else {
                break;
            };
            inner.remove(&oldest);
        }
        inner.tokens.insert(rid, entry);
        inner.by_age.insert(generation, rid);
        inner.by_file.entry(range.file).or_default().push(rid);
        self.live.store(inner.tokens.len(), Ordering::SeqCst);
        Ok(StorageOffloadToken::new(TOKEN_TYPE, id))
    }

    fn sweep_locked(inner: &mut Inner<S>, now: Instant) {
        let dead: Vec<[u8; 16]> = inner
            .tokens
            .iter()
            .filter(|(_, e)| e.expires <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in dead {
            inner.remove(&id);
        }
    }

    /// Drops expired tokens.
    pub fn sweep(&self, now: Instant) {
        let mut inner = self.inner.lock();
        Self::sweep_locked(&mut inner, now);
        self.live.store(inner.tokens.len(), Ordering::SeqCst);
    }

    /// Checks a token from a client: STATUS_INVALID_TOKEN unless it is one of ours, unaltered,
    /// live, and its range unchanged since it was made.
    pub fn redeem(&self, token: &StorageOffloadToken, now: Instant) -> Result<Grant<S>, NtStatus> {
        let bad = NtStatus::INVALID_TOKEN;
        if token.token_type != TOKEN_TYPE
            || usize::from(token.token_id_length) != STORAGE_OFFLOAD_TOKEN_ID_LENGTH
        {
            return Err(bad);
        }
        let id = &token.token_id;
        // Constant-time verification.
        hmac::verify(
            &self.key,
            &Self::signed_bytes(token.token_type, id),
            &id[layout::MAC..layout::END],
        )
        .map_err(|_| bad)?;
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&id[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let mut rid = [0u8; 16];
        rid.copy_from_slice(&id[layout::ID..layout::DEV]);
        let range = Range {
            file: (u64_at(layout::DEV), u64_at(layout::INO)),
            offset: u64_at(layout::OFFSET),
            length: u64_at(layout::LENGTH),
            data_len: u64_at(layout::DATA_LEN),
        };
        let generation = u64_at(layout::GENERATION);
        let mut inner = self.inner.lock();
        let e = inner.tokens.get(&rid).ok_or(bad)?;
        if e.range != range || e.generation != generation {
            return Err(bad);
        }
        if e.expires <= now {
            inner.remove(&rid);
            self.live.store(inner.tokens.len(), Ordering::SeqCst);
            return Err(bad);
        }
        Ok(Grant {
            range,
            source: e.source.clone(),
            id: rid,
            generation,
        })
    }

    /// Whether a redeemed token is still in force (no write to its range since).
    pub fn still_valid(&self, grant: &Grant<S>) -> bool {
        self.inner
            .lock()
            .tokens
            .get(&grant.id)
            .is_some_and(|e| e.generation == grant.generation)
    }

    /// `[offset, offset + len)` of `file` is about to change: drops the tokens it overlaps.
    pub fn note_write(&self, file: (u64, u64), offset: u64, len: u64) {
        if self.live.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut inner = self.inner.lock();
        let Some(ids) = inner.by_file.get(&file) else {
            return;
        };
        let hit: Vec<[u8; 16]> = ids
            .iter()
            .filter(|id| {
                inner
                    .tokens
                    .get(*id)
                    .is_some_and(|e| e.range.overlaps(offset, len))
            })
            .copied()
            .collect();
        for id in hit {
            inner.remove(&id);
        }
        self.live.store(inner.tokens.len(), Ordering::SeqCst);
    }
}

/// What the server's tokens keep of their source.
pub type Source = Arc<dyn crate::vfs::Handle>;

/// A server's token table ([`crate::server::file_state::FileStates::odx`]): one secret per
/// server, so tokens die with it.
pub type Store = TokenStore<Source>;

/// A store for the server, with room for [`MAX_TOKENS`].
pub fn new_store() -> Store {
    TokenStore::new(MAX_TOKENS)
}

impl<S: Clone> TokenStore<S> {
    /// File `file` is being cut to `size` bytes (end of file, allocation size, overwrite):
    /// invalidates the tokens covering anything from `size` on.
    pub fn note_truncate(&self, file: (u64, u64), size: u64) {
        self.note_write(file, size, u64::MAX - size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(offset: u64, length: u64) -> Range {
        Range {
            file: (7, 42),
            offset,
            length,
            data_len: length,
        }
    }

    fn store() -> TokenStore<u32> {
        TokenStore::new(8)
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn issued_token_redeems() {
        let s = store();
        let now = Instant::now();
        let t = s.issue(range(4096, 8192), HOUR, now, 5).unwrap();
        assert_eq!(t.token_type, TOKEN_TYPE);
        assert_eq!(usize::from(t.token_id_length), 504);
        assert!(t.token_id[layout::END..].iter().all(|&b| b == 0));
        let g = s.redeem(&t, now).unwrap();
        assert_eq!(g.range, range(4096, 8192));
        assert_eq!(g.source, 5);
        assert!(s.still_valid(&g));
        // Redeemable many times within its lifetime.
        assert!(s.redeem(&t, now + Duration::from_secs(10)).is_ok());
    }

    #[test]
    fn forged_tokens_are_refused() {
        let s = store();
        let now = Instant::now();
        s.issue(range(0, 512), HOUR, now, 1).unwrap();
        let mut id = [0u8; 504];
        ring::rand::SystemRandom::new().fill(&mut id).unwrap();
        let forged = StorageOffloadToken::new(TOKEN_TYPE, id);
        assert_eq!(s.redeem(&forged, now).unwrap_err(), NtStatus::INVALID_TOKEN);
        // A token of another store (another server process) has a MAC under another secret.
        let other = store();
        let t = other.issue(range(0, 512), HOUR, now, 1).unwrap();
        assert_eq!(s.redeem(&t, now).unwrap_err(), NtStatus::INVALID_TOKEN);
        assert_eq!(
            s.redeem(&StorageOffloadToken::zero_data(), now)
                .unwrap_err(),
            NtStatus::INVALID_TOKEN
        );
    }

    #[test]
    fn altered_tokens_are_refused() {
        let s = store();
        let now = Instant::now();
        let t = s.issue(range(0, 1 << 20), HOUR, now, 1).unwrap();
        for i in 0..504 {
            let mut a = t.clone();
            a.token_id[i] ^= 0x01;
            assert_eq!(
                s.redeem(&a, now).unwrap_err(),
                NtStatus::INVALID_TOKEN,
                "byte {i}"
            );
        }
        let mut a = t.clone();
        a.token_type ^= 1;
        assert!(s.redeem(&a, now).is_err());
        let mut a = t.clone();
        a.token_id_length = 503;
        assert!(s.redeem(&a, now).is_err());
        assert!(s.redeem(&t, now).is_ok());
    }

    #[test]
    fn expired_tokens_are_refused_and_swept() {
        let s = store();
        let now = Instant::now();
        let t = s
            .issue(range(0, 512), Duration::from_secs(2), now, 1)
            .unwrap();
        assert!(s.redeem(&t, now + Duration::from_secs(1)).is_ok());
        assert_eq!(
            s.redeem(&t, now + Duration::from_secs(2)).unwrap_err(),
            NtStatus::INVALID_TOKEN
        );
        assert!(s.is_empty());
        let _t2 = s
            .issue(range(0, 512), Duration::from_secs(1), now, 1)
            .unwrap();
        s.sweep(now + Duration::from_secs(5));
        assert!(s.is_empty());
    }

    #[test]
    fn writes_invalidate_overlapping_tokens_only() {
        let s = store();
        let now = Instant::now();
        let a = s.issue(range(0, 4096), HOUR, now, 1).unwrap();
        let b = s.issue(range(8192, 4096), HOUR, now, 2).unwrap();
        let ga = s.redeem(&a, now).unwrap();
        // Another file, an adjacent range, an empty write: no effect.
        s.note_write((7, 43), 0, 1 << 30);
        s.note_write((7, 42), 4096, 4096);
        s.note_write((7, 42), 100, 0);
        assert!(s.redeem(&a, now).is_ok() && s.redeem(&b, now).is_ok());
        // One byte inside the first range.
        s.note_write((7, 42), 4095, 1);
        assert_eq!(s.redeem(&a, now).unwrap_err(), NtStatus::INVALID_TOKEN);
        assert!(!s.still_valid(&ga));
        assert!(s.redeem(&b, now).is_ok());
        // Truncation below the second range.
        s.note_write((7, 42), 10_000, u64::MAX - 10_000);
        assert!(s.redeem(&b, now).is_err());
        assert!(s.is_empty());
    }

    #[test]
    fn table_is_bounded() {
        let s = store();
        let now = Instant::now();
        let first = s.issue(range(0, 512), HOUR, now, 0).unwrap();
        let mut last = None;
        for i in 1..20 {
            last = Some(s.issue(range(i * 512, 512), HOUR, now, i as u32).unwrap());
        }
        assert_eq!(s.len(), 8);
        assert!(s.redeem(&first, now).is_err(), "oldest evicted");
        assert!(s.redeem(&last.unwrap(), now).is_ok());
        // Expired ones go before live ones are evicted.
        let s = store();
        let short = Duration::from_millis(1);
        for i in 0..7 {
            s.issue(range(i * 512, 512), short, now, 0).unwrap();
        }
        let keep = s.issue(range(1 << 20, 512), HOUR, now, 0).unwrap();
        s.issue(range(2 << 20, 512), HOUR, now + HOUR / 2, 0)
            .unwrap();
        assert_eq!(s.len(), 2);
        assert!(s.redeem(&keep, now).is_ok());
    }

    #[test]
    fn truncate_ends_tokens_from_the_new_size_on() {
        let now = Instant::now();
        let s = store();
        let head = s.issue(range(0, 512), HOUR, now, 0).unwrap();
        let tail = s.issue(range(4096, 512), HOUR, now, 0).unwrap();
        s.note_truncate((7, 42), 1024);
        assert!(s.redeem(&head, now).is_ok());
        assert_eq!(s.redeem(&tail, now).unwrap_err(), NtStatus::INVALID_TOKEN);
        // A file state built without a server has no store: its hooks do nothing.
        let none = crate::server::file_state::OdxStore::default();
        none.note_write((7, 42), 0, 10);
        none.note_truncate((7, 42), 0);
    }
}
