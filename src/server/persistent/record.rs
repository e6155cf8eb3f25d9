//! The on-disk record of a persistent open and the store's files (format in
//! [`super`]'s module documentation): encoding, checksummed decoding that rejects anything
//! damaged, crash-safe writes (temporary file, fsync, rename, directory fsync), removal, and
//! loading at start with damaged records set aside as `<name>.corrupt`.
use crate::wire::FileId;
use std::io::Write;
use std::path::{Path, PathBuf};
/// Record format version written by this build.
pub const FORMAT_VERSION: u16 = 1;
const MAGIC: [u8; 6] = *b"RSMBPH";
const HEADER: usize = 12;
const DIGEST: usize = 32;
/// Largest payload accepted.
const MAX_PAYLOAD: usize = 1 << 20;
/// Longest string field accepted (a path of 32767 UTF-16 units is at most 3 bytes a unit).
const MAX_STRING: usize = 3 * 32768;
/// Most byte-range locks one record holds.
const MAX_LOCKS: usize = 16384;

/// The lease of a persistent open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseRecord {
    /// LeaseKey.
    pub key: [u8; 16],
    /// LeaseState.
    pub state: u32,
    /// 1 or 2.
    pub version: u8,
    /// Epoch (v2).
    pub epoch: u16,
    /// ParentLeaseKey (v2).
    pub parent: Option<[u8; 16]>,
}

/// One byte-range lock of a persistent open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockRecord {
    /// First byte.
    pub offset: u64,
    /// Length.
    pub length: u64,
    /// Exclusive or shared.
    pub exclusive: bool,
}

/// The persisted state of one persistent open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Open.FileId.
    pub file_id: FileId,
    /// Open.CreateGuid.
    pub create_guid: [u8; 16],
    /// Open.ClientGuid.
    pub client_guid: [u8; 16],
    /// The user that opened it; only this user may reclaim it.
    pub user: String,
    /// The share.
    pub share: String,
    /// The name the client opened, relative to the share.
    pub path: String,
    /// The file's FileStates key (device, inode), checked on restore.
    pub file_key: (u64, u64),
    /// GrantedAccess.
    pub granted_access: u32,
    /// ShareAccess.
    pub share_access: u32,
    /// CreateOptions.
    pub create_options: u32,
    /// Open.DurableOpenTimeout in milliseconds.
    pub timeout_ms: u64,
    /// Open.AppInstanceId.
    pub app_instance: Option<[u8; 16]>,
    /// Delete-on-close is set.
    pub delete_on_close: bool,
    /// Oplock level (0x00, 0x01, 0x08, 0x09; 0xFF with a lease).
    pub oplock_level: u8,
    /// The lease, if it holds one.
    pub lease: Option<LeaseRecord>,
    /// Its byte-range locks.
    pub locks: Vec<LockRecord>,
}

/// Why a record was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Not a record (magic).
    Magic,
    /// A format version this build does not read.
    Version(u16),
    /// Shorter than its fields, or longer than the limits.
    Length,
    /// The checksum does not match (a torn or altered file).
    Checksum,
    /// A field holds an impossible value.
    Invalid(&'static str),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Magic => f.write_str("not a persistent-handle record"),
            DecodeError::Version(v) => write!(f, "unknown record version {v}"),
            DecodeError::Length => f.write_str("truncated or oversized record"),
            DecodeError::Checksum => f.write_str("checksum mismatch"),
            DecodeError::Invalid(w) => write!(f, "invalid {w}"),
        }
    }
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as u32).to_le_bytes());
    b.extend_from_slice(s.as_bytes());
}

fn put_opt(b: &mut Vec<u8>, v: Option<[u8; 16]>) {
    b.push(u8::from(v.is_some()));
    b.extend_from_slice(&v.unwrap_or_default());
}

/// A bounds-checked reader over a payload.
struct Cur<'a> {
    b: &'a [u8],
}

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.b.len() < n {
            return Err(DecodeError::Length);
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.arr::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.arr()?))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.arr()?))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.arr()?))
    }
    fn flag(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::Invalid(what)),
        }
    }
    fn str(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let n = self.u32()? as usize;
        if n > MAX_STRING {
            return Err(DecodeError::Length);
        }
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| DecodeError::Invalid(what))
    }
    fn opt(&mut self, what: &'static str) -> Result<Option<[u8; 16]>, DecodeError> {
        let some = self.flag(what)?;
        let v = self.arr::<16>()?;
        Ok(some.then_some(v))
    }
}

fn sha256(b: &[u8]) -> [u8; DIGEST] {
    let d = ring::digest::digest(&ring::digest::SHA256, b);
    let mut out = [0u8; DIGEST];
    out.copy_from_slice(d.as_ref());
    out
}

impl Record {
    /// The record as stored (header, payload, checksum).
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(256 + self.path.len() + self.locks.len() * 17);
        p.extend_from_slice(&self.file_id.persistent.to_le_bytes());
        p.extend_from_slice(&self.file_id.volatile.to_le_bytes());
        p.extend_from_slice(&self.create_guid);
        p.extend_from_slice(&self.client_guid);
        put_str(&mut p, &self.user);
        put_str(&mut p, &self.share);
        put_str(&mut p, &self.path);
        p.extend_from_slice(&self.file_key.0.to_le_bytes());
        p.extend_from_slice(&self.file_key.1.to_le_bytes());
        p.extend_from_slice(&self.granted_access.to_le_bytes());
        p.extend_from_slice(&self.share_access.to_le_bytes());
        p.extend_from_slice(&self.create_options.to_le_bytes());
        p.extend_from_slice(&self.timeout_ms.to_le_bytes());
        put_opt(&mut p, self.app_instance);
        p.push(u8::from(self.delete_on_close));
        p.push(self.oplock_level);
        p.push(u8::from(self.lease.is_some()));
        if let Some(l) = &self.lease {
            p.extend_from_slice(&l.key);
            p.extend_from_slice(&l.state.to_le_bytes());
            p.push(l.version);
            p.extend_from_slice(&l.epoch.to_le_bytes());
            put_opt(&mut p, l.parent);
        }
        let locks = &self.locks[..self.locks.len().min(MAX_LOCKS)];
        p.extend_from_slice(&(locks.len() as u32).to_le_bytes());
        for l in locks {
            p.extend_from_slice(&l.offset.to_le_bytes());
            p.extend_from_slice(&l.length.to_le_bytes());
            p.push(u8::from(l.exclusive));
        }
        let mut out = Vec::with_capacity(HEADER + p.len() + DIGEST);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(&p);
        let digest = sha256(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// Decodes a stored record, checking magic, version, length and checksum.
    pub fn decode(b: &[u8]) -> Result<Record, DecodeError> {
        if b.len() < HEADER + DIGEST {
            return Err(if b.starts_with(&MAGIC) || b.len() < MAGIC.len() {
                DecodeError::Length
            } else {
                DecodeError::Magic
            });
        }
        if b[..6] != MAGIC {
            return Err(DecodeError::Magic);
        }
        let version = u16::from_le_bytes([b[6], b[7]]);
        if version != FORMAT_VERSION {
            return Err(DecodeError::Version(version));
        }
        let n = u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize;
        if n > MAX_PAYLOAD || b.len() != HEADER + n + DIGEST {
            return Err(DecodeError::Length);
        }
        let (body, digest) = b.split_at(HEADER + n);
        if sha256(body) != digest {
            return Err(DecodeError::Checksum);
        }
        let mut c = Cur { b: &body[HEADER..] };
        let file_id = FileId {
            persistent: c.u64()?,
            volatile: c.u64()?,
        };
        if file_id.volatile == 0 || file_id.volatile == u64::MAX {
            return Err(DecodeError::Invalid("file id"));
        }
        let create_guid = c.arr()?;
        let client_guid = c.arr()?;
        let user = c.str("user")?;
        let share = c.str("share")?;
        let path = c.str("path")?;
        let file_key = (c.u64()?, c.u64()?);
        let granted_access = c.u32()?;
        let share_access = c.u32()?;
        let create_options = c.u32()?;
        let timeout_ms = c.u64()?;
        let app_instance = c.opt("app instance")?;
        let delete_on_close = c.flag("delete on close")?;
        let oplock_level = c.u8()?;
        let lease = if c.flag("lease")? {
            Some(LeaseRecord {
                key: c.arr()?,
                state: c.u32()?,
                version: c.u8()?,
                epoch: c.u16()?,
                parent: c.opt("parent lease key")?,
            })
        } else {
            None
        };
        let count = c.u32()? as usize;
        if count > MAX_LOCKS || count * 17 > c.b.len() {
            return Err(DecodeError::Length);
        }
        let mut locks = Vec::with_capacity(count);
        for _ in 0..count {
            locks.push(LockRecord {
                offset: c.u64()?,
                length: c.u64()?,
                exclusive: c.flag("lock")?,
            });
        }
        if !c.b.is_empty() {
            return Err(DecodeError::Length);
        }
        Ok(Record {
            file_id,
            create_guid,
            client_guid,
            user,
            share,
            path,
            file_key,
            granted_access,
            share_access,
            create_options,
            timeout_ms,
            app_instance,
            delete_on_close,
            oplock_level,
            lease,
            locks,
        })
    }
}

/// The store's directory under the server's state directory.
pub fn store_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("persistent")
}

fn record_name(persistent: u64) -> String {
    format!("{persistent:016x}.ph")
}

fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Writes a record crash-safely: temporary file, fsync, rename, fsync of the directory.
pub fn write_record(dir: &Path, rec: &Record) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let name = record_name(rec.file_id.persistent);
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&rec.encode())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, dir.join(name))?;
    fsync_dir(dir)
}

/// Removes the record of the open with this persistent FileId half (absent is fine).
pub fn remove_record(dir: &Path, persistent: u64) {
    match std::fs::remove_file(dir.join(record_name(persistent))) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot remove persistent-handle record")
        }
    }
}

/// Moves a rejected record aside (`<name>.corrupt`), so it is neither loaded nor lost.
fn reject(path: &Path, why: &dyn std::fmt::Display) {
    tracing::error!(record = %path.display(), reason = %why, "persistent-handle record rejected");
    let mut aside = path.as_os_str().to_owned();
    aside.push(".corrupt");
    if std::fs::rename(path, &aside).is_err() {
        let _ = std::fs::remove_file(path);
    }
}

/// Reads every record of the store: the valid ones; the others are logged and set aside.
pub fn load_all(dir: &Path) -> Vec<Record> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(".tmp") {
            // A write that never finished: the previous record (if any) is still in place.
            let _ = std::fs::remove_file(&path);
            continue;
        }
        if !name.ends_with(".ph") {
            continue;
        }
        let too_big = e
            .metadata()
            .map(|m| m.len() > (HEADER + MAX_PAYLOAD + DIGEST) as u64)
            .unwrap_or(true);
        if too_big {
            reject(&path, &DecodeError::Length);
            continue;
        }
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(err) => {
                reject(&path, &err);
                continue;
            }
        };
        match Record::decode(&bytes) {
            Ok(r) if record_name(r.file_id.persistent) == name => out.push(r),
            Ok(_) => reject(&path, &"file name does not match the record"),
            Err(err) => reject(&path, &err),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            file_id: FileId {
                persistent: 0x1234,
                volatile: 7,
            },
            create_guid: [1; 16],
            client_guid: [2; 16],
            user: "tester".into(),
            share: "ca".into(),
            path: "dir\\file.bin".into(),
            file_key: (66, 99),
            granted_access: 0x12019f,
            share_access: 7,
            create_options: 0x40,
            timeout_ms: 60_000,
            app_instance: Some([3; 16]),
            delete_on_close: false,
            oplock_level: 0xFF,
            lease: Some(LeaseRecord {
                key: [4; 16],
                state: 7,
                version: 2,
                epoch: 3,
                parent: None,
            }),
            locks: vec![LockRecord {
                offset: 10,
                length: 20,
                exclusive: true,
            }],
        }
    }

    #[test]
    fn round_trip() {
        let r = sample();
        assert_eq!(Record::decode(&r.encode()), Ok(r));
    }

    #[test]
    fn rejects_damage() {
        let b = sample().encode();
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 0x40;
            assert!(Record::decode(&c).is_err(), "flip at {i} accepted");
        }
        for n in 0..b.len() {
            assert!(
                Record::decode(&b[..n]).is_err(),
                "truncation at {n} accepted"
            );
        }
        let mut v = b.clone();
        v[6] = 9;
        assert_eq!(Record::decode(&v), Err(DecodeError::Version(9)));
    }

    #[test]
    fn store_writes_loads_and_sets_aside_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("persistent");
        let r = sample();
        write_record(&d, &r).unwrap();
        assert_eq!(load_all(&d), vec![r.clone()]);
        let p = d.join(record_name(r.file_id.persistent));
        let mut b = std::fs::read(&p).unwrap();
        b[20] ^= 1;
        std::fs::write(&p, b).unwrap();
        assert!(load_all(&d).is_empty());
        assert!(!p.exists() && d.join(format!("{}.corrupt", record_name(0x1234))).exists());
        remove_record(&d, 0x1234);
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = Record::decode(&b);
        }
    }
}
