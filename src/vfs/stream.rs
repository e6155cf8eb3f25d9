//! [`StreamHandle`]: an alternate data stream kept in the xattr `user.DosStream.<name>:$DATA`
//! of its file. Every change is a read-modify-write of the whole value under a striped lock
//! keyed by (device, inode, stream name), so concurrent writers through any handle of the same
//! stream never lose each other's updates. Sizes are bounded by the probed xattr value limit.

use super::attrs;
use super::error::{VfsError, VfsResult};
use super::handle::LocalHandle;
use super::sys;
use super::{DirStream, FileStat, Handle, SetTimes, SharePath, FILE_ATTRIBUTE_DIRECTORY};
use crate::wire::NtStatus;
use parking_lot::Mutex;
use std::any::Any;
use std::ffi::CString;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Number of lock stripes.
const STRIPES: usize = 64;

/// Striped locks serializing read-modify-write of stream values.
pub(crate) struct StripedLocks([Mutex<()>; STRIPES]);

impl StripedLocks {
    /// A fresh set of locks.
    pub(crate) fn new() -> StripedLocks {
        StripedLocks(std::array::from_fn(|_| Mutex::new(())))
    }

    fn get(&self, dev: u64, ino: u64, name: &str) -> &Mutex<()> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (dev, ino, name).hash(&mut h);
        &self.0[(h.finish() as usize) % STRIPES]
    }
}

/// An open named stream.
pub struct StreamHandle {
    pub(crate) base: LocalHandle,
    pub(crate) name: String,
    pub(crate) xname: CString,
    pub(crate) max: usize,
    pub(crate) locks: Arc<StripedLocks>,
}

fn limit() -> VfsError {
    VfsError::status_only(NtStatus::FILE_SYSTEM_LIMITATION)
}

impl StreamHandle {
    fn value(&self) -> VfsResult<Vec<u8>> {
        match sys::getxattr_vec(self.base.xtarget(), &self.xname, self.max.max(65536)) {
            Ok(v) => Ok(v),
            Err(libc::ENODATA) => Err(VfsError::status_only(NtStatus::FILE_DELETED)),
            Err(e) => Err(VfsError::from_errno(e)),
        }
    }

    fn modify<F: FnOnce(&mut Vec<u8>) -> VfsResult<()>>(&self, f: F) -> VfsResult<()> {
        let _g = self
            .locks
            .get(self.base.dev, self.base.ino, &self.name)
            .lock();
        let mut v = self.value()?;
        f(&mut v)?;
        if v.len() > self.max {
            return Err(limit());
        }
        sys::setxattr(self.base.xtarget(), &self.xname, &v, 0).map_err(VfsError::from_errno)
    }

    /// Removes the stream.
    pub(crate) fn remove(&self) -> VfsResult<()> {
        let _g = self
            .locks
            .get(self.base.dev, self.base.ino, &self.name)
            .lock();
        sys::removexattr(self.base.xtarget(), &self.xname).map_err(VfsError::from_errno)
    }
}

/// Copies through read_at/write_at (streams, or when copy_file_range cannot be used).
pub(crate) fn copy_generic(
    dst: &dyn Handle,
    src: &dyn Handle,
    src_off: u64,
    dst_off: u64,
    len: u64,
) -> VfsResult<u64> {
    let mut buf = vec![0u8; (len.min(256 * 1024)) as usize];
    let mut done = 0u64;
    while done < len {
        let want = ((len - done) as usize).min(buf.len());
        let so = src_off
            .checked_add(done)
            .ok_or(VfsError::status_only(NtStatus::INVALID_PARAMETER))?;
        let d = dst_off
            .checked_add(done)
            .ok_or(VfsError::status_only(NtStatus::INVALID_PARAMETER))?;
        let n = src.read_at(&mut buf[..want], so)?;
        if n == 0 {
            break;
        }
        let mut w = 0;
        while w < n {
            let m = dst.write_at(&buf[w..n], d + w as u64)?;
            if m == 0 {
                return Err(VfsError::status_only(NtStatus::DISK_FULL));
            }
            w += m;
        }
        done += n as u64;
    }
    Ok(done)
}

impl Handle for StreamHandle {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> VfsResult<usize> {
        let v = self.value()?;
        let Ok(o) = usize::try_from(offset) else {
            return Ok(0);
        };
        let Some(src) = v.get(o..) else { return Ok(0) };
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        Ok(n)
    }

    fn write_at(&self, data: &[u8], offset: u64) -> VfsResult<usize> {
        let end = offset.checked_add(data.len() as u64).ok_or_else(limit)?;
        if end > self.max as u64 {
            return Err(limit());
        }
        let (o, e) = (offset as usize, end as usize);
        self.modify(|v| {
            if v.len() < e {
                v.resize(e, 0);
            }
            v[o..e].copy_from_slice(data);
            Ok(())
        })?;
        Ok(data.len())
    }

    fn flush(&self) -> VfsResult<()> {
        let fd = self.base.raw();
        // SAFETY: plain syscall.
        sys::check(|| unsafe { libc::fsync(fd) as libc::c_long })
            .map(|_| ())
            .or(Ok(()))
    }

    fn stat(&self) -> VfsResult<FileStat> {
        let mut s = self.base.stat()?;
        let len = self.value()?.len() as u64;
        s.size = len;
        s.allocation_size = len.div_ceil(4096) * 4096;
        s.is_dir = false;
        s.attributes &= !FILE_ATTRIBUTE_DIRECTORY;
        if s.attributes == 0 {
            s.attributes = super::FILE_ATTRIBUTE_NORMAL;
        }
        Ok(s)
    }

    fn set_times(&self, t: &SetTimes) -> VfsResult<()> {
        self.base.set_times(t)
    }

    fn set_len(&self, len: u64) -> VfsResult<()> {
        if len > self.max as u64 {
            return Err(limit());
        }
        self.modify(|v| {
            v.resize(len as usize, 0);
            Ok(())
        })
    }

    fn allocate(&self, len: u64) -> VfsResult<()> {
        if len > self.max as u64 {
            return Err(limit());
        }
        let cur = self.value()?.len() as u64;
        if len < cur {
            self.set_len(len)
        } else {
            Ok(())
        }
    }

    fn set_dos_attributes(&self, a: u32) -> VfsResult<()> {
        self.base.set_dos_attributes(a)
    }

    fn list_dir(&self) -> VfsResult<Box<dyn DirStream>> {
        Err(VfsError::status_only(NtStatus::INVALID_PARAMETER))
    }

    fn get_xattr(&self, name: &str) -> VfsResult<Option<Vec<u8>>> {
        self.base.get_xattr(name)
    }

    fn set_xattr(&self, name: &str, value: &[u8]) -> VfsResult<()> {
        self.base.set_xattr(name, value)
    }

    fn remove_xattr(&self, name: &str) -> VfsResult<()> {
        self.base.remove_xattr(name)
    }

    fn list_xattr(&self) -> VfsResult<Vec<String>> {
        self.base.list_xattr()
    }

    fn security_descriptor(&self) -> VfsResult<Option<Vec<u8>>> {
        self.base.security_descriptor()
    }

    fn set_security_descriptor(&self, sd: &[u8]) -> VfsResult<()> {
        self.base.set_security_descriptor(sd)
    }

    fn streams(&self) -> VfsResult<Vec<(String, u64)>> {
        self.base.streams()
    }

    fn punch_hole(&self, offset: u64, len: u64) -> VfsResult<()> {
        self.modify(|v| {
            let s = usize::try_from(offset).unwrap_or(usize::MAX).min(v.len());
            let e = usize::try_from(offset.saturating_add(len))
                .unwrap_or(usize::MAX)
                .min(v.len());
            v[s..e].fill(0);
            Ok(())
        })
    }

    fn allocated_ranges(
        &self,
        offset: u64,
        len: u64,
        max_ranges: usize,
    ) -> VfsResult<Vec<(u64, u64)>> {
        let size = self.value()?.len() as u64;
        let end = offset.saturating_add(len).min(size);
        Ok(if offset < end && max_ranges > 0 {
            vec![(offset, end - offset)]
        } else {
            Vec::new()
        })
    }

    fn clone_range(&self, _src: &dyn Handle, _so: u64, _do: u64, _len: u64) -> VfsResult<()> {
        Err(VfsError::status_only(NtStatus::NOT_SUPPORTED))
    }

    fn copy_range(&self, src: &dyn Handle, src_off: u64, dst_off: u64, len: u64) -> VfsResult<u64> {
        copy_generic(self, src, src_off, dst_off, len)
    }

    fn path(&self) -> SharePath {
        let base = self.base.path();
        // Rebuild "<base>:<name>" through the parser so the result stays a valid SharePath.
        SharePath::parse(&format!("{}:{}", base.to_smb_string(), self.name)).unwrap_or(base)
    }

    fn is_dir(&self) -> bool {
        false
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The stream xattr name, checked.
pub(crate) fn xname(stream: &str) -> VfsResult<CString> {
    attrs::stream_xattr_name(stream)
}
