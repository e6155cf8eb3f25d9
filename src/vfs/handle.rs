//! [`LocalHandle`]: an open file or directory of a [`super::local::LocalShare`].
//!
//! Data I/O is `pread`/`pwrite` on the held descriptor: no lock, no allocation.

use super::attrs::{self, DosInfo};
use super::dir::LocalDirStream;
use super::error::{VfsError, VfsResult};
use super::stream::StreamHandle;
use super::sys::{self, XTarget};
use super::{DirStream, FileStat, Handle, SetTimes, SharePath};
use crate::wire::NtStatus;
use parking_lot::RwLock;
use std::any::Any;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Largest security descriptor / EA value read back (the VFS xattr limit).
const XATTR_MAX: usize = 65536;

/// An open file or directory.
pub struct LocalHandle {
    pub(crate) fd: OwnedFd,
    /// Opened with O_PATH (metadata only: no data I/O, xattrs through /proc/self/fd).
    pub(crate) o_path: bool,
    /// Opened with O_DSYNC/O_SYNC (FILE_WRITE_THROUGH): writes wait for the disk, so they
    /// never take the non-blocking path.
    pub(crate) sync_writes: bool,
    /// Set once the file system answered a non-blocking write with EOPNOTSUPP (ext4 has no
    /// non-blocking buffered writes; XFS has), so later writes go straight to the pool.
    pub(crate) no_nowait_writes: std::sync::atomic::AtomicBool,
    /// The same for reads: set once a non-blocking read was answered EOPNOTSUPP (tmpfs on
    /// some kernels), so later reads skip the failing system call.
    pub(crate) no_nowait_reads: std::sync::atomic::AtomicBool,
    pub(crate) is_dir: bool,
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) path: RwLock<SharePath>,
}

fn err(e: i32) -> VfsError {
    VfsError::from_errno(e)
}

impl LocalHandle {
    /// The raw descriptor.
    pub(crate) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Where xattr calls on this handle go.
    pub(crate) fn xtarget(&self) -> XTarget<'static> {
        if self.o_path {
            XTarget::PathFd(self.raw())
        } else {
            XTarget::Fd(self.raw())
        }
    }

    fn io_fd(&self) -> VfsResult<RawFd> {
        if self.o_path {
            return Err(VfsError::status_only(NtStatus::ACCESS_DENIED));
        }
        if self.is_dir {
            return Err(VfsError::status_only(NtStatus::INVALID_DEVICE_REQUEST));
        }
        Ok(self.raw())
    }

    pub(crate) fn dos(&self) -> Option<DosInfo> {
        attrs::read_dos(self.xtarget())
    }

    pub(crate) fn update_dos<F: FnOnce(&mut DosInfo)>(&self, f: F) -> VfsResult<()> {
        let st = sys::fstatx(self.raw()).map_err(err)?;
        let mut d = match self.dos() {
            Some(d) => d,
            None => {
                // Materialise what stat reports now, so setting one field keeps the others.
                let s = attrs::build_stat(&st, None);
                DosInfo {
                    attributes: s.attributes & super::STORED_ATTRIBUTES_MASK,
                    creation_time: 0,
                }
            }
        };
        f(&mut d);
        attrs::write_dos(self.xtarget(), &d)
    }

    /// Applies `f` to a /proc/self/fd path of this handle (for calls that need a path).
    fn proc_path(&self) -> VfsResult<std::ffi::CString> {
        sys::cstr(&format!("/proc/self/fd/{}", self.raw())).map_err(err)
    }

    /// Extracts the LocalHandle behind a `dyn Handle` (file/dir only).
    pub(crate) fn downcast(h: &dyn Handle) -> VfsResult<&LocalHandle> {
        h.as_any()
            .downcast_ref::<LocalHandle>()
            .ok_or(VfsError::status_only(NtStatus::INVALID_HANDLE))
    }

    /// The descriptor of a data source for clone/copy (files only).
    fn src_fd(src: &dyn Handle) -> VfsResult<RawFd> {
        if src.as_any().is::<StreamHandle>() {
            return Err(VfsError::status_only(NtStatus::NOT_SUPPORTED));
        }
        Self::downcast(src)?.io_fd()
    }
}

impl Handle for LocalHandle {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> VfsResult<usize> {
        let fd = self.io_fd()?;
        let o = sys::off(offset).map_err(err)?;
        let (p, l) = (buf.as_mut_ptr() as *mut libc::c_void, buf.len());
        // SAFETY: the buffer is a live, writable slice.
        let n = sys::check(|| unsafe { libc::pread(fd, p, l, o) as libc::c_long }).map_err(err)?;
        Ok(n as usize)
    }

    fn try_read_at(&self, buf: &mut [u8], offset: u64) -> Option<VfsResult<usize>> {
        if self
            .no_nowait_reads
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return None;
        }
        let fd = self.io_fd().ok()?;
        let o = sys::off(offset).ok()?;
        let iov = libc::iovec {
            iov_base: buf.as_mut_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        };
        // SAFETY: one iovec over a live, writable slice. RWF_NOWAIT: the kernel returns
        // EAGAIN instead of waiting for I/O or locks, so this never blocks the reactor.
        match sys::check(|| unsafe {
            libc::preadv2(fd, &iov, 1, o, libc::RWF_NOWAIT) as libc::c_long
        }) {
            Ok(n) => Some(Ok(n as usize)),
            Err(e) => {
                if e == libc::EOPNOTSUPP {
                    self.no_nowait_reads
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                None
            }
        }
    }

    fn try_write_at(&self, data: &[u8], offset: u64) -> Option<VfsResult<usize>> {
        if self.sync_writes
            || self
                .no_nowait_writes
                .load(std::sync::atomic::Ordering::Relaxed)
        {
            return None;
        }
        let fd = self.io_fd().ok()?;
        let o = sys::off(offset).ok()?;
        offset
            .checked_add(data.len() as u64)
            .filter(|&e| e <= i64::MAX as u64)?;
        let iov = libc::iovec {
            iov_base: data.as_ptr() as *mut libc::c_void,
            iov_len: data.len(),
        };
        // SAFETY: one iovec over a live slice; RWF_NOWAIT as above (file systems without
        // non-blocking buffered writes answer EOPNOTSUPP or EAGAIN: the caller falls back).
        match sys::check(|| unsafe {
            libc::pwritev2(fd, &iov, 1, o, libc::RWF_NOWAIT) as libc::c_long
        }) {
            Ok(n) => Some(Ok(n as usize)),
            Err(e) => {
                if e == libc::EOPNOTSUPP {
                    self.no_nowait_writes
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                None
            }
        }
    }

    fn write_at(&self, data: &[u8], offset: u64) -> VfsResult<usize> {
        let fd = self.io_fd()?;
        let o = sys::off(offset).map_err(err)?;
        if offset
            .checked_add(data.len() as u64)
            .is_none_or(|e| e > i64::MAX as u64)
        {
            return Err(VfsError::status_only(NtStatus::INVALID_PARAMETER));
        }
        let (p, l) = (data.as_ptr() as *const libc::c_void, data.len());
        // SAFETY: the buffer is a live slice.
        let n = sys::check(|| unsafe { libc::pwrite(fd, p, l, o) as libc::c_long }).map_err(err)?;
        Ok(n as usize)
    }

    fn flush(&self) -> VfsResult<()> {
        if self.o_path {
            return Ok(());
        }
        let fd = self.raw();
        let dir = self.is_dir;
        // SAFETY: plain syscalls on our descriptor.
        sys::check(|| unsafe {
            (if dir {
                libc::fsync(fd)
            } else {
                libc::fdatasync(fd)
            }) as libc::c_long
        })
        .map_err(err)
        .map(|_| ())
    }

    fn stat(&self) -> VfsResult<FileStat> {
        let st = sys::fstatx(self.raw()).map_err(err)?;
        Ok(attrs::build_stat(&st, self.dos()))
    }

    fn set_times(&self, t: &SetTimes) -> VfsResult<()> {
        if let Some(c) = t.creation_time {
            self.update_dos(|d| d.creation_time = c)?;
        }
        if t.last_access_time.is_none() && t.last_write_time.is_none() {
            return Ok(());
        }
        let omit = libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        };
        let ts = [
            t.last_access_time.map(sys::from_filetime).unwrap_or(omit),
            t.last_write_time.map(sys::from_filetime).unwrap_or(omit),
        ];
        if self.o_path {
            let p = self.proc_path()?;
            // SAFETY: valid path and times array.
            sys::check(|| unsafe {
                libc::utimensat(libc::AT_FDCWD, p.as_ptr(), ts.as_ptr(), 0) as libc::c_long
            })
        } else {
            let fd = self.raw();
            // SAFETY: valid times array.
            sys::check(|| unsafe { libc::futimens(fd, ts.as_ptr()) as libc::c_long })
        }
        .map_err(err)
        .map(|_| ())
    }

    fn set_len(&self, len: u64) -> VfsResult<()> {
        let fd = self.io_fd()?;
        let l = sys::off(len).map_err(err)?;
        // SAFETY: plain syscall.
        sys::check(|| unsafe { libc::ftruncate(fd, l) as libc::c_long })
            .map_err(err)
            .map(|_| ())
    }

    fn allocate(&self, len: u64) -> VfsResult<()> {
        let fd = self.io_fd()?;
        let st = sys::fstatx(fd).map_err(err)?;
        if len < st.stx_size {
            return self.set_len(len);
        }
        if len == 0 {
            return Ok(());
        }
        let l = sys::off(len).map_err(err)?;
        // SAFETY: plain syscall.
        match sys::check(|| unsafe {
            libc::fallocate(fd, libc::FALLOC_FL_KEEP_SIZE, 0, l) as libc::c_long
        }) {
            Ok(_) | Err(libc::EOPNOTSUPP) => Ok(()),
            Err(e) => Err(err(e)),
        }
    }

    fn set_dos_attributes(&self, a: u32) -> VfsResult<()> {
        if a == 0 {
            return Ok(());
        }
        self.update_dos(|d| d.attributes = a & super::STORED_ATTRIBUTES_MASK)
    }

    fn list_dir(&self) -> VfsResult<Box<dyn DirStream>> {
        if !self.is_dir {
            return Err(VfsError::status_only(NtStatus::INVALID_PARAMETER));
        }
        Ok(Box::new(LocalDirStream::open(self.raw())?))
    }

    fn get_xattr(&self, name: &str) -> VfsResult<Option<Vec<u8>>> {
        let x = attrs::ea_xattr_name(name)?;
        match sys::getxattr_vec(self.xtarget(), &x, XATTR_MAX) {
            Ok(v) => Ok(Some(v)),
            Err(libc::ENODATA) => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    fn set_xattr(&self, name: &str, value: &[u8]) -> VfsResult<()> {
        let x = attrs::ea_xattr_name(name)?;
        sys::setxattr(self.xtarget(), &x, value, 0).map_err(err)
    }

    fn remove_xattr(&self, name: &str) -> VfsResult<()> {
        let x = attrs::ea_xattr_name(name)?;
        match sys::removexattr(self.xtarget(), &x) {
            Ok(()) | Err(libc::ENODATA) => Ok(()),
            Err(e) => Err(err(e)),
        }
    }

    fn list_xattr(&self) -> VfsResult<Vec<String>> {
        Ok(sys::listxattr(self.xtarget())
            .map_err(err)?
            .into_iter()
            .filter_map(|n| n.strip_prefix("user.").map(str::to_string))
            .filter(|n| !attrs::is_reserved_ea(n))
            .collect())
    }

    fn security_descriptor(&self) -> VfsResult<Option<Vec<u8>>> {
        match sys::getxattr_vec(self.xtarget(), attrs::XATTR_NTACL, XATTR_MAX) {
            Ok(v) => Ok(Some(v)),
            Err(libc::ENODATA) => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    fn set_security_descriptor(&self, sd: &[u8]) -> VfsResult<()> {
        sys::setxattr(self.xtarget(), attrs::XATTR_NTACL, sd, 0).map_err(err)
    }

    fn streams(&self) -> VfsResult<Vec<(String, u64)>> {
        let t = self.xtarget();
        let mut out = Vec::new();
        for x in sys::listxattr(t).map_err(err)? {
            let Some(s) = attrs::stream_of_xattr(&x) else {
                continue;
            };
            let Ok(c) = sys::cstr(&x) else { continue };
            match sys::getxattr(t, &c, &mut []) {
                Ok(n) => out.push((s.to_string(), n as u64)),
                Err(libc::ENODATA) => {}
                Err(e) => return Err(err(e)),
            }
        }
        Ok(out)
    }

    fn punch_hole(&self, offset: u64, len: u64) -> VfsResult<()> {
        let fd = self.io_fd()?;
        if len == 0 {
            return Ok(());
        }
        let (o, l) = (sys::off(offset).map_err(err)?, sys::off(len).map_err(err)?);
        if o.checked_add(l).is_none() {
            return Err(VfsError::status_only(NtStatus::INVALID_PARAMETER));
        }
        let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
        // SAFETY: plain syscall.
        sys::check(|| unsafe { libc::fallocate(fd, mode, o, l) as libc::c_long })
            .map_err(err)
            .map(|_| ())
    }

    fn allocated_ranges(
        &self,
        offset: u64,
        len: u64,
        max_ranges: usize,
    ) -> VfsResult<Vec<(u64, u64)>> {
        let fd = self.io_fd()?;
        let size = sys::fstatx(fd).map_err(err)?.stx_size;
        let end = offset.saturating_add(len).min(size);
        let mut out = Vec::new();
        let mut pos = offset;
        while pos < end && out.len() < max_ranges {
            let p = sys::off(pos).map_err(err)?;
            // SAFETY: plain lseek.
            let data =
                match sys::check(|| unsafe { libc::lseek(fd, p, libc::SEEK_DATA) as libc::c_long })
                {
                    Ok(d) => d as u64,
                    Err(libc::ENXIO) => break,
                    Err(e) => return Err(err(e)),
                };
            if data >= end {
                break;
            }
            let d = sys::off(data).map_err(err)?;
            // SAFETY: plain lseek.
            let hole =
                match sys::check(|| unsafe { libc::lseek(fd, d, libc::SEEK_HOLE) as libc::c_long })
                {
                    Ok(h) => (h as u64).min(end),
                    Err(libc::ENXIO) => end,
                    Err(e) => return Err(err(e)),
                };
            if hole <= data {
                break;
            }
            out.push((data, hole - data));
            pos = hole;
        }
        Ok(out)
    }

    fn clone_range(&self, src: &dyn Handle, src_off: u64, dst_off: u64, len: u64) -> VfsResult<()> {
        let dst = self.io_fd()?;
        let s = Self::src_fd(src)?;
        let arg = libc::file_clone_range {
            src_fd: s as i64,
            src_offset: src_off,
            src_length: len,
            dest_offset: dst_off,
        };
        // SAFETY: `arg` is a valid file_clone_range.
        match sys::check(|| unsafe { libc::ioctl(dst, libc::FICLONERANGE, &arg) as libc::c_long }) {
            Ok(_) => Ok(()),
            Err(e @ (libc::EOPNOTSUPP | libc::EXDEV | libc::ENOTTY | libc::EINVAL)) => {
                Err(VfsError::from_errno(e).with_status(NtStatus::NOT_SUPPORTED))
            }
            Err(e) => Err(err(e)),
        }
    }

    fn copy_range(&self, src: &dyn Handle, src_off: u64, dst_off: u64, len: u64) -> VfsResult<u64> {
        if src.as_any().is::<StreamHandle>() {
            return super::stream::copy_generic(self, src, src_off, dst_off, len);
        }
        let dst = self.io_fd()?;
        let s = Self::src_fd(src)?;
        sys::off(src_off.saturating_add(len)).map_err(err)?;
        sys::off(dst_off.saturating_add(len)).map_err(err)?;
        let mut done = 0u64;
        while done < len {
            let chunk = (len - done).min(1 << 30) as usize;
            let mut so = (src_off + done) as libc::loff_t;
            let mut dof = (dst_off + done) as libc::loff_t;
            // SAFETY: offsets are valid pointers to loff_t.
            let r = sys::check(|| unsafe {
                libc::syscall(
                    libc::SYS_copy_file_range,
                    s,
                    &mut so,
                    dst,
                    &mut dof,
                    chunk,
                    0u32,
                )
            });
            match r {
                Ok(0) => break,
                Ok(n) => done += n as u64,
                Err(libc::EXDEV | libc::ENOSYS | libc::EOPNOTSUPP | libc::EINVAL) => {
                    let rest = super::stream::copy_generic(
                        self,
                        src,
                        src_off + done,
                        dst_off + done,
                        len - done,
                    )?;
                    return Ok(done + rest);
                }
                Err(e) => return Err(err(e)),
            }
        }
        Ok(done)
    }

    fn path(&self) -> SharePath {
        self.path.read().clone()
    }

    fn is_dir(&self) -> bool {
        self.is_dir
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
