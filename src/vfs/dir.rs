//! Streamed directory listing with `getdents64(2)`: a private descriptor (so the position is
//! independent of the handle's), a fixed 32 KiB batch buffer, and d_off cookies for resuming.

use super::attrs;
use super::error::{VfsError, VfsResult};
use super::sys::{self, XTarget};
use super::{DirEntry, DirStream, EntryKind, FileStat};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Batch buffer size in u64 words (32 KiB).
const BUF_WORDS: usize = 4096;
/// Offset of d_name in `struct linux_dirent64`.
const NAME_OFF: usize = 19;

/// A raw getdents64 record: (d_ino, d_off, d_type, name bytes).
type RawEntry = (u64, u64, u8, Vec<u8>);

/// A directory stream over its own descriptor.
pub(crate) struct LocalDirStream {
    fd: OwnedFd,
    buf: Box<[u64]>,
    pos: usize,
    len: usize,
    last_off: u64,
    eof: bool,
}

impl LocalDirStream {
    /// Opens a new listing of the directory `dirfd` (which may be an O_PATH descriptor).
    pub(crate) fn open(dirfd: RawFd) -> VfsResult<LocalDirStream> {
        let fd = sys::openat(dirfd, c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)
            .map_err(VfsError::from_errno)?;
        Ok(LocalDirStream {
            fd,
            buf: vec![0u64; BUF_WORDS].into_boxed_slice(),
            pos: 0,
            len: 0,
            last_off: 0,
            eof: false,
        })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: a u64 slice viewed as bytes; same allocation, length × 8.
        unsafe { std::slice::from_raw_parts(self.buf.as_ptr() as *const u8, self.buf.len() * 8) }
    }

    fn fill(&mut self) -> VfsResult<()> {
        let fd = self.fd.as_raw_fd();
        let p = self.buf.as_mut_ptr();
        let l = self.buf.len() * 8;
        // SAFETY: the buffer is writable for `l` bytes.
        let n = sys::check(|| unsafe { libc::syscall(libc::SYS_getdents64, fd, p, l) })
            .map_err(VfsError::from_errno)?;
        self.pos = 0;
        self.len = (n as usize).min(l);
        self.eof = n == 0;
        Ok(())
    }

    /// Next raw record: (ino, d_off, d_type, name bytes).
    fn next_raw(&mut self) -> VfsResult<Option<RawEntry>> {
        loop {
            if self.pos >= self.len {
                if self.eof {
                    return Ok(None);
                }
                self.fill()?;
                if self.eof {
                    return Ok(None);
                }
                continue;
            }
            let b = self.bytes();
            let rec = match b.get(self.pos..self.len) {
                Some(r) if r.len() >= NAME_OFF => r,
                _ => {
                    self.pos = self.len;
                    continue;
                }
            };
            let ino = u64::from_ne_bytes(rec[0..8].try_into().unwrap_or_default());
            let d_off = u64::from_ne_bytes(rec[8..16].try_into().unwrap_or_default());
            let reclen = u16::from_ne_bytes(rec[16..18].try_into().unwrap_or_default()) as usize;
            let d_type = rec[18];
            if reclen < NAME_OFF || reclen > rec.len() {
                self.pos = self.len;
                continue;
            }
            let name_area = &rec[NAME_OFF..reclen];
            let nlen = name_area
                .iter()
                .position(|c| *c == 0)
                .unwrap_or(name_area.len());
            let name = name_area[..nlen].to_vec();
            self.pos += reclen;
            self.last_off = d_off;
            return Ok(Some((ino, d_off, d_type, name)));
        }
    }
}

impl Iterator for LocalDirStream {
    type Item = VfsResult<DirEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (ino, _, d_type, name) = match self.next_raw() {
                Ok(Some(r)) => r,
                Ok(None) => return None,
                Err(e) => {
                    self.eof = true;
                    self.pos = self.len;
                    return Some(Err(e));
                }
            };
            if name == b"." || name == b".." {
                continue;
            }
            let Ok(name) = String::from_utf8(name) else {
                continue;
            };
            let kind = match d_type {
                libc::DT_REG => EntryKind::File,
                libc::DT_DIR => EntryKind::Directory,
                libc::DT_LNK => EntryKind::Symlink,
                libc::DT_UNKNOWN => EntryKind::Unknown,
                _ => EntryKind::Other,
            };
            return Some(Ok(DirEntry { name, ino, kind }));
        }
    }
}

impl DirStream for LocalDirStream {
    fn rewind(&mut self) -> VfsResult<()> {
        self.seek(0)
    }

    fn stat_entry(&self, entry: &DirEntry) -> VfsResult<FileStat> {
        if entry.name.contains('/') || entry.name == "." || entry.name == ".." {
            return Err(VfsError::from_errno(libc::EINVAL));
        }
        let fd = self.fd.as_raw_fd();
        let c = sys::cstr(&entry.name).map_err(VfsError::from_errno)?;
        let st = sys::statx(fd, &c).map_err(VfsError::from_errno)?;
        let dos = if st.stx_mode as u32 & libc::S_IFMT == libc::S_IFLNK {
            None
        } else {
            attrs::read_dos(XTarget::Entry(fd, &entry.name))
        };
        Ok(attrs::build_stat(&st, dos))
    }

    fn tell(&self) -> u64 {
        self.last_off
    }

    fn seek(&mut self, cookie: u64) -> VfsResult<()> {
        let o = sys::off(cookie).map_err(VfsError::from_errno)?;
        let fd = self.fd.as_raw_fd();
        // SAFETY: plain lseek on our descriptor.
        sys::check(|| unsafe { libc::lseek(fd, o, libc::SEEK_SET) as libc::c_long })
            .map_err(VfsError::from_errno)?;
        self.pos = 0;
        self.len = 0;
        self.eof = false;
        self.last_off = cookie;
        Ok(())
    }

    fn buffered_bytes(&self) -> usize {
        self.len - self.pos.min(self.len)
    }
}
