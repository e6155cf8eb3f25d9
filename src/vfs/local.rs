//! [`LocalShare`]: the POSIX backend. Construction, capability probes and confined path
//! resolution (see the module doc of [`super`] for the confinement rules); the [`super::Share`]
//! operations are in `ops.rs`.

use super::error::{VfsError, VfsResult};
use super::stream::StripedLocks;
use super::sys;
use super::{FsCapabilities, SharePath};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Per-share options of the local backend.
#[derive(Clone, Copy, Debug)]
pub struct LocalOptions {
    /// Emulate case-insensitive lookups (default true).
    pub case_insensitive: bool,
    /// Follow symbolic links that stay beneath the root (default false: links are refused).
    /// In the case-insensitive fallback walk a link may only lead beneath its own directory.
    pub follow_symlinks: bool,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            case_insensitive: true,
            follow_symlinks: false,
        }
    }
}

/// Longest relative path handed to one openat2 call (PATH_MAX less the NUL); longer paths are
/// resolved piecewise.
const MAX_RESOLVE_BYTES: usize = libc::PATH_MAX as usize - 1;

/// A share rooted at a local directory.
pub struct LocalShare {
    pub(crate) root: OwnedFd,
    pub(crate) dev: u64,
    pub(crate) opts: LocalOptions,
    pub(crate) caps: FsCapabilities,
    pub(crate) ci_cache: super::ci_cache::CiCache,
    pub(crate) stream_locks: Arc<StripedLocks>,
    has_openat2: AtomicBool,
}

/// Folds a name for case-insensitive comparison (simple folding: per-char lowercase when it
/// maps to exactly one char).
pub(crate) fn fold(name: &str) -> String {
    if name.is_ascii() {
        return name.to_ascii_lowercase();
    }
    name.chars()
        .map(|c| {
            let mut l = c.to_lowercase();
            match (l.next(), l.next()) {
                (Some(x), None) => x,
                _ => c,
            }
        })
        .collect()
}

impl LocalShare {
    /// Opens the share rooted at `root` (an administrator-given directory) and probes the file
    /// system's capabilities with anonymous temporary files in it.
    pub fn new(root: &Path, opts: LocalOptions) -> VfsResult<LocalShare> {
        let c = std::ffi::CString::new(root.as_os_str().as_bytes())
            .map_err(|_| VfsError::from_errno(libc::EINVAL))?;
        let fd = sys::openat(libc::AT_FDCWD, &c, libc::O_RDONLY | libc::O_DIRECTORY, 0)
            .map_err(VfsError::from_errno)?;
        let st = sys::fstatx(fd.as_raw_fd()).map_err(VfsError::from_errno)?;
        let mut share = LocalShare {
            root: fd,
            dev: libc::makedev(st.stx_dev_major, st.stx_dev_minor),
            opts,
            caps: FsCapabilities {
                case_insensitive: opts.case_insensitive,
                ..Default::default()
            },
            ci_cache: Default::default(),
            stream_locks: Arc::new(StripedLocks::new()),
            has_openat2: AtomicBool::new(true),
        };
        share.probe();
        Ok(share)
    }

    /// The probed capabilities.
    pub fn capabilities(&self) -> FsCapabilities {
        self.caps
    }

    fn temp_file(&self) -> Option<OwnedFd> {
        let r = self.root.as_raw_fd();
        if let Ok(f) = sys::openat(r, c".", libc::O_TMPFILE | libc::O_RDWR, 0o600) {
            return Some(f);
        }
        let name = sys::cstr(&format!(".rsmbd-probe-{}", std::process::id())).ok()?;
        let f = sys::openat(
            r,
            &name,
            libc::O_CREAT | libc::O_EXCL | libc::O_RDWR | libc::O_NOFOLLOW,
            0o600,
        )
        .ok()?;
        // SAFETY: plain unlinkat of the name we just created.
        unsafe { libc::unlinkat(r, name.as_ptr(), 0) };
        Some(f)
    }

    fn probe(&mut self) {
        let Some(a) = self.temp_file() else { return };
        let fa = a.as_raw_fd();
        let t = sys::XTarget::Fd(fa);
        let probe_name = c"user.DosStream.rsmbd-probe-stream-name:$DATA";
        self.caps.xattrs = sys::setxattr(t, c"user.rsmbd.probe", b"1", 0).is_ok();
        if self.caps.xattrs {
            let _ = sys::removexattr(t, c"user.rsmbd.probe");
            // Largest value accepted: binary search in [0, 65536].
            let (mut lo, mut hi) = (0usize, 65536usize);
            let buf = vec![0u8; 65536];
            while lo < hi {
                let mid = (lo + hi).div_ceil(2);
                if sys::setxattr(t, probe_name, &buf[..mid], 0).is_ok() {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            let _ = sys::removexattr(t, probe_name);
            self.caps.max_stream_size = lo;
            self.caps.streams = lo > 0;
        }
        self.caps.compression = super::compress::probe(fa);
        self.caps.integrity = super::integrity::probe(fa);
        self.caps.trim = super::compress::probe_trim(self.root.as_raw_fd());
        let data = [0x5Au8; 8192];
        // SAFETY: writes from a live buffer.
        let wrote =
            unsafe { libc::pwrite(fa, data.as_ptr() as *const libc::c_void, data.len(), 0) };
        if wrote == data.len() as isize {
            let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
            // SAFETY: plain syscall.
            self.caps.sparse = unsafe { libc::fallocate(fa, mode, 0, 4096) } == 0;
            if let Some(b) = self.temp_file() {
                // SAFETY: FICLONE takes the source fd as argument.
                self.caps.reflink = unsafe { libc::ioctl(b.as_raw_fd(), libc::FICLONE, fa) } == 0;
            }
        }
    }

    /// Forces the component-walk fallback (as on kernels without openat2).
    #[cfg(test)]
    pub(crate) fn disable_openat2(&self) {
        self.has_openat2.store(false, Ordering::Relaxed);
    }

    /// Resolve flags for openat2.
    fn resolve_flags(&self) -> u64 {
        let mut r = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
        if !self.opts.follow_symlinks {
            r |= libc::RESOLVE_NO_SYMLINKS;
        }
        r
    }

    /// Opens `rel` (components joined by `/`, already validated) beneath `dirfd` with openat2,
    /// or with a component walk where openat2 is missing.
    pub(crate) fn open_beneath(
        &self,
        dirfd: RawFd,
        comps: &[&str],
        flags: i32,
        mode: u32,
    ) -> Result<OwnedFd, i32> {
        if comps.is_empty() {
            return sys::openat(dirfd, c".", flags, mode);
        }
        // A path longer than the kernel's PATH_MAX (SMB allows 32,767 UTF-16 units) is resolved
        // in pieces: each leading piece is opened as a directory (O_PATH) beneath the previous
        // one, with the same resolve rules, so the walk still never leaves the tree.
        let mut len = 0;
        for (i, c) in comps.iter().enumerate() {
            len += c.len() + 1;
            if len > MAX_RESOLVE_BYTES && i > 0 {
                let dir =
                    self.open_beneath(dirfd, &comps[..i], libc::O_PATH | libc::O_DIRECTORY, 0)?;
                return self.open_beneath(dir.as_raw_fd(), &comps[i..], flags, mode);
            }
        }
        if self.has_openat2.load(Ordering::Relaxed) {
            let p = sys::cstr(&comps.join("/"))?;
            match sys::openat2(dirfd, &p, flags, mode, self.resolve_flags()) {
                Err(libc::ENOSYS) => self.has_openat2.store(false, Ordering::Relaxed),
                r => return r,
            }
        }
        // Fallback walk: each step opens one component (no '/', never '.' or '..') without
        // following links.
        let mut cur: Option<OwnedFd> = None;
        let n = comps.len();
        for (i, c) in comps.iter().enumerate() {
            let at = cur.as_ref().map_or(dirfd, |f| f.as_raw_fd());
            let cc = sys::cstr(c)?;
            let f = if i + 1 == n {
                sys::openat(at, &cc, flags | libc::O_NOFOLLOW, mode)?
            } else {
                sys::openat(
                    at,
                    &cc,
                    libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                    0,
                )?
            };
            cur = Some(f);
        }
        cur.ok_or(libc::ENOENT)
    }

    /// Opens the directory `comps` (O_PATH) and returns it with the actual on-disk names
    /// (which differ from `comps` in case when found case-insensitively).
    pub(crate) fn open_dir(&self, comps: &[String]) -> VfsResult<(OwnedFd, Vec<String>)> {
        let root = self.root.as_raw_fd();
        let flags = libc::O_PATH | libc::O_DIRECTORY;
        let refs: Vec<&str> = comps.iter().map(|s| s.as_str()).collect();
        match self.open_beneath(root, &refs, flags, 0) {
            Ok(f) => return Ok((f, comps.to_vec())),
            Err(libc::ENOENT) if self.opts.case_insensitive => {}
            Err(e) => return Err(VfsError::from_errno_at(e, true)),
        }
        let mut cur =
            sys::openat(root, c".", flags, 0).map_err(|e| VfsError::from_errno_at(e, true))?;
        let mut actual = Vec::with_capacity(comps.len());
        for c in comps {
            let name = match self.open_beneath(cur.as_raw_fd(), &[c.as_str()], flags, 0) {
                Ok(f) => {
                    cur = f;
                    actual.push(c.clone());
                    continue;
                }
                Err(libc::ENOENT) => match self.ci_lookup(cur.as_raw_fd(), c)? {
                    Some(n) => n,
                    None => return Err(VfsError::from_errno_at(libc::ENOENT, true)),
                },
                Err(e) => return Err(VfsError::from_errno_at(e, true)),
            };
            cur = self
                .open_beneath(cur.as_raw_fd(), &[name.as_str()], flags, 0)
                .map_err(|e| VfsError::from_errno_at(e, true))?;
            actual.push(name);
        }
        Ok((cur, actual))
    }

    /// Looks up `name` in `dir`: its actual name and statx, or `None` if absent.
    pub(crate) fn lookup(
        &self,
        dir: RawFd,
        name: &str,
    ) -> VfsResult<Option<(String, libc::statx)>> {
        let c = sys::cstr(name).map_err(VfsError::from_errno)?;
        match sys::statx(dir, &c) {
            Ok(st) => return Ok(Some((name.to_string(), st))),
            Err(libc::ENOENT) if self.opts.case_insensitive => {}
            Err(libc::ENOENT) => return Ok(None),
            Err(e) => return Err(VfsError::from_errno(e)),
        }
        let Some(actual) = self.ci_lookup(dir, name)? else {
            return Ok(None);
        };
        let c = sys::cstr(&actual).map_err(VfsError::from_errno)?;
        match sys::statx(dir, &c) {
            Ok(st) => Ok(Some((actual, st))),
            Err(libc::ENOENT) => Ok(None),
            Err(e) => Err(VfsError::from_errno(e)),
        }
    }

    /// Finds the entry of `dir` equal to `name` under case folding.
    pub(crate) fn ci_lookup(&self, dir: RawFd, name: &str) -> VfsResult<Option<String>> {
        self.ci_cache.lookup(dir, name)
    }

    /// Runs `op`, which changes directories as `edits` say, keeping their case-insensitive
    /// indexes current.
    pub(crate) fn ci_edit<T, E>(
        &self,
        edits: &[super::ci_cache::DirEdit<'_>],
        op: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        if self.opts.case_insensitive {
            self.ci_cache.edit(edits, op)
        } else {
            op()
        }
    }

    /// The share-relative path of an open descriptor, from `/proc/self/fd` (used when a
    /// handle's remembered name is stale because an ancestor was renamed).
    pub(crate) fn proc_path(&self, fd: RawFd) -> Option<SharePath> {
        let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
        let root = std::fs::read_link(format!("/proc/self/fd/{}", self.root.as_raw_fd())).ok()?;
        let rel = target.strip_prefix(&root).ok()?;
        let comps: Option<Vec<String>> = rel
            .components()
            .map(|c| c.as_os_str().to_str().map(str::to_string))
            .collect();
        SharePath::from_components(comps?).ok()
    }
}

#[cfg(test)]
mod long_path_tests {
    use super::*;
    use crate::vfs::{CreateDisposition, OpenRequest, Share};

    /// Paths longer than PATH_MAX resolve piecewise, and still never through a symlink.
    #[test]
    fn deeper_than_path_max() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let s = LocalShare::new(t.path(), LocalOptions::default()).unwrap();
        let comp = "d".repeat(200);
        let mut comps: Vec<String> = Vec::new();
        let dir = OpenRequest {
            disposition: CreateDisposition::Create,
            directory: Some(true),
            ..Default::default()
        };
        for _ in 0..30 {
            comps.push(comp.clone());
            let p = SharePath::from_components(comps.clone()).unwrap();
            s.open(&p, &dir).unwrap();
        }
        assert!(comps.join("/").len() > libc::PATH_MAX as usize);
        let mut file = comps.clone();
        file.push("f".into());
        let p = SharePath::from_components(file.clone()).unwrap();
        let create = OpenRequest {
            disposition: CreateDisposition::Create,
            write: true,
            ..Default::default()
        };
        let (h, _) = s.open(&p, &create).unwrap();
        h.write_at(b"deep", 0).unwrap();
        let (h, _) = s.open(&p, &OpenRequest::default()).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(h.read_at(&mut buf, 0).unwrap(), 4);
        // A symlink to outside in the middle of a long path is not followed, whichever piece
        // it falls in.
        let name = sys::cstr(&comp).unwrap();
        let target = sys::cstr(outside.path().to_str().unwrap()).unwrap();
        for at in [3usize, 25] {
            let (parent, _) = s.open_dir(&comps[..at - 1]).unwrap();
            let pfd = parent.as_raw_fd();
            // SAFETY: plain syscalls with NUL-terminated names relative to `pfd`.
            unsafe {
                assert_eq!(
                    libc::renameat(pfd, name.as_ptr(), pfd, c"moved".as_ptr()),
                    0
                );
                assert_eq!(libc::symlinkat(target.as_ptr(), pfd, name.as_ptr()), 0);
            }
            let e = s.open(&p, &OpenRequest::default()).err().unwrap();
            assert_eq!(e.status(), crate::wire::NtStatus::OBJECT_PATH_NOT_FOUND);
            // SAFETY: as above.
            unsafe {
                assert_eq!(libc::unlinkat(pfd, name.as_ptr(), 0), 0);
                assert_eq!(
                    libc::renameat(pfd, c"moved".as_ptr(), pfd, name.as_ptr()),
                    0
                );
            }
        }
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }
}
