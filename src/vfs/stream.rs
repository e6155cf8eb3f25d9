//! [`StreamHandle`]: an alternate data stream kept in the xattr `user.DosStream.<name>:$DATA`
//! of its file. Every change is a read-modify-write of the whole value under a striped lock
//! keyed by (device, inode) of the file, so concurrent writers through any handle of its streams
//! never lose each other's updates and a rename never races a write. Sizes are bounded by the
//! probed xattr value limit. Stream names compare case-insensitively on every share, as on NTFS
//! (the name is kept as created).
//!
//! Stream renames (MS-FSA 2.1.5.14.11.1, "Algorithm for Performing Stream Rename") move the
//! value to the new xattr name of the same file: an existing target stream is a
//! STATUS_OBJECT_NAME_COLLISION unless ReplaceIfExists, and may only be replaced while empty
//! (STATUS_INVALID_PARAMETER otherwise); the default stream `::$DATA` is a valid target while the
//! file's data is empty. Everything goes through the descriptor of the stream's own file, so a
//! stream name can never reach another file's attributes.

use super::attrs;
use super::error::{VfsError, VfsResult};
use super::handle::LocalHandle;
use super::local::{fold, LocalShare};
use super::sys;
use super::{DirStream, FileStat, Handle, SetTimes, SharePath, FILE_ATTRIBUTE_DIRECTORY};
use crate::wire::NtStatus;
use parking_lot::{Mutex, RwLock};
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

    fn get(&self, dev: u64, ino: u64) -> &Mutex<()> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (dev, ino).hash(&mut h);
        &self.0[(h.finish() as usize) % STRIPES]
    }
}

/// An open named stream.
pub struct StreamHandle {
    pub(crate) base: LocalHandle,
    /// The stream name and its xattr name (both change on rename).
    names: RwLock<(String, CString)>,
    pub(crate) max: usize,
    pub(crate) locks: Arc<StripedLocks>,
}

fn limit() -> VfsError {
    VfsError::status_only(NtStatus::FILE_SYSTEM_LIMITATION)
}

impl StreamHandle {
    /// A handle on stream `name` (xattr `xname`) of the file `base`.
    pub(crate) fn new(
        base: LocalHandle,
        name: String,
        xname: CString,
        max: usize,
        locks: Arc<StripedLocks>,
    ) -> StreamHandle {
        StreamHandle {
            base,
            names: RwLock::new((name, xname)),
            max,
            locks,
        }
    }

    /// The stream name (without `:$DATA`).
    pub(crate) fn name(&self) -> String {
        self.names.read().0.clone()
    }

    fn file_lock(&self) -> &Mutex<()> {
        self.locks.get(self.base.dev, self.base.ino)
    }

    fn value(&self) -> VfsResult<Vec<u8>> {
        let x = self.names.read().1.clone();
        match sys::getxattr_vec(self.base.xtarget(), &x, self.max.max(65536)) {
            Ok(v) => Ok(v),
            Err(libc::ENODATA) => Err(VfsError::status_only(NtStatus::FILE_DELETED)),
            Err(e) => Err(VfsError::from_errno(e)),
        }
    }

    fn modify<F: FnOnce(&mut Vec<u8>) -> VfsResult<()>>(&self, f: F) -> VfsResult<()> {
        let _g = self.file_lock().lock();
        let mut v = self.value()?;
        f(&mut v)?;
        if v.len() > self.max {
            return Err(limit());
        }
        let x = self.names.read().1.clone();
        // XATTR_REPLACE: a stream removed meanwhile is not brought back.
        match sys::setxattr(self.base.xtarget(), &x, &v, libc::XATTR_REPLACE) {
            Err(libc::ENODATA) => Err(VfsError::status_only(NtStatus::FILE_DELETED)),
            r => r.map_err(VfsError::from_errno),
        }
    }

    /// Removes the stream.
    pub(crate) fn remove(&self) -> VfsResult<()> {
        let _g = self.file_lock().lock();
        let x = self.names.read().1.clone();
        sys::removexattr(self.base.xtarget(), &x).map_err(VfsError::from_errno)
    }

    /// Renames the stream to `new` (`None`: the default data stream), MS-FSA 2.1.5.14.11.1.
    /// Stream names compare case-insensitively (as [`LocalShare`] opens them).
    fn rename_to(&self, new: Option<&str>, replace: bool) -> VfsResult<()> {
        let eq = |a: &str, b: &str| fold(a) == fold(b);
        let t = self.base.xtarget();
        let _g = self.file_lock().lock();
        let (cur, cur_x) = self.names.read().clone();
        let value = self.value()?;
        let Some(new) = new else {
            // Onto the default stream: only while the file's data is empty.
            let st = self.base.stat()?;
            if !replace {
                return Err(st_err(NtStatus::OBJECT_NAME_COLLISION));
            }
            if st.size != 0 || st.is_dir {
                return Err(st_err(NtStatus::INVALID_PARAMETER));
            }
            if !value.is_empty() {
                write_default(&self.base, &value)?;
            }
            return sys::removexattr(t, &cur_x).map_err(VfsError::from_errno);
        };
        if new == cur {
            return Ok(());
        }
        let new_x = xname(new)?;
        if !eq(new, &cur) {
            let existing = self.base.streams()?.into_iter().find(|(n, _)| eq(n, new));
            if let Some((n, size)) = existing {
                if !replace {
                    return Err(st_err(NtStatus::OBJECT_NAME_COLLISION));
                }
                if size != 0 {
                    return Err(st_err(NtStatus::INVALID_PARAMETER));
                }
                sys::removexattr(t, &xname(&n)?).map_err(VfsError::from_errno)?;
            }
        }
        // Only a case change of the same stream remains possible as a collision here.
        sys::setxattr(t, &new_x, &value, libc::XATTR_CREATE).map_err(|e| match e {
            libc::EEXIST => st_err(NtStatus::OBJECT_NAME_COLLISION),
            e => VfsError::from_errno(e),
        })?;
        if let Err(e) = sys::removexattr(t, &cur_x) {
            let _ = sys::removexattr(t, &new_x);
            return Err(VfsError::from_errno(e));
        }
        *self.names.write() = (new.to_string(), new_x);
        Ok(())
    }
}

fn st_err(s: NtStatus) -> VfsError {
    VfsError::status_only(s)
}

/// Writes `data` at offset 0 of the (empty) file of `base`, through a write descriptor
/// reopened from the handle's own descriptor (the same inode, never a path lookup).
fn write_default(base: &LocalHandle, data: &[u8]) -> VfsResult<()> {
    let p = sys::cstr(&format!("/proc/self/fd/{}", base.raw())).map_err(VfsError::from_errno)?;
    // The magic link names exactly the open inode; nothing client-supplied is resolved.
    let fd = sys::openat(libc::AT_FDCWD, &p, libc::O_WRONLY, 0).map_err(VfsError::from_errno)?;
    let st = sys::fstatx(std::os::fd::AsRawFd::as_raw_fd(&fd)).map_err(VfsError::from_errno)?;
    if st.stx_ino != base.ino {
        return Err(st_err(NtStatus::INTERNAL_ERROR));
    }
    let mut done = 0usize;
    while done < data.len() {
        let rest = &data[done..];
        let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
        // SAFETY: writes from a live slice to our own descriptor.
        let n = sys::check(|| unsafe {
            libc::pwrite(
                raw,
                rest.as_ptr() as *const libc::c_void,
                rest.len(),
                done as libc::off_t,
            ) as libc::c_long
        })
        .map_err(VfsError::from_errno)?;
        if n <= 0 {
            return Err(st_err(NtStatus::DISK_FULL));
        }
        done += n as usize;
    }
    Ok(())
}

impl LocalShare {
    /// Renames a named stream ([`super::Share::rename`] with a stream handle or a stream
    /// target). Only the stream part of `to` counts: the stream stays on its own file. A rename
    /// of a file's default stream to a named stream is not supported.
    pub(crate) fn rename_stream(
        &self,
        from: &dyn Handle,
        to: &SharePath,
        replace: bool,
    ) -> VfsResult<()> {
        let Some(h) = from.as_any().downcast_ref::<StreamHandle>() else {
            return Err(st_err(NtStatus::NOT_SUPPORTED));
        };
        h.rename_to(to.stream(), replace)
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
        let name = self.name();
        SharePath::parse(&format!("{}:{}", base.to_smb_string(), name)).unwrap_or(base)
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

#[cfg(test)]
mod tests {
    use super::super::local::{LocalOptions, LocalShare};
    use super::super::{CreateDisposition, OpenRequest, Share};
    use super::*;

    fn share() -> (tempfile::TempDir, LocalShare) {
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(t.path().join("share")).unwrap();
        let s = LocalShare::new(&t.path().join("share"), LocalOptions::default()).expect("share");
        (t, s)
    }

    fn open(s: &LocalShare, name: &str, d: CreateDisposition) -> VfsResult<Arc<dyn Handle>> {
        let r = OpenRequest {
            disposition: d,
            read: true,
            write: true,
            ..Default::default()
        };
        s.open(&SharePath::parse(name).unwrap(), &r).map(|(h, _)| h)
    }

    fn status<T>(r: VfsResult<T>) -> NtStatus {
        r.err().map_or(NtStatus::SUCCESS, |e| e.status())
    }

    fn names(h: &dyn Handle) -> Vec<(String, u64)> {
        let mut v = h.streams().unwrap();
        v.sort();
        v
    }

    #[test]
    fn rename_streams() {
        let (_t, s) = share();
        if !s.capabilities().streams {
            return;
        }
        let file = open(&s, "f", CreateDisposition::Create).unwrap();
        let a = open(&s, "f:a", CreateDisposition::Create).unwrap();
        a.write_at(b"data", 0).unwrap();
        let b = open(&s, "f:B\x05", CreateDisposition::Create).unwrap();
        let to = |n: &str| SharePath::parse(n).unwrap();
        // Onto an existing empty stream: a collision unless replacing.
        assert_eq!(
            status(s.rename(&*a, &to("f:b\x05"), false)),
            NtStatus::OBJECT_NAME_COLLISION
        );
        s.rename(&*a, &to("f:b\x05:$DATA"), true).unwrap();
        assert_eq!(names(&*file), [("b\x05".to_string(), 4)]);
        assert_eq!(a.path().stream(), Some("b\x05"));
        let mut buf = [0u8; 8];
        assert_eq!(a.read_at(&mut buf, 0).unwrap(), 4);
        // The replaced stream's handle sees it gone.
        assert_eq!(status(b.stat()), NtStatus::FILE_DELETED);
        // A non-empty target cannot be replaced.
        let c = open(&s, "f:c", CreateDisposition::Create).unwrap();
        assert_eq!(
            status(s.rename(&*c, &to("f:B\x05"), true)),
            NtStatus::INVALID_PARAMETER
        );
        // A case change of the same stream.
        s.rename(&*c, &to("f:C"), false).unwrap();
        assert_eq!(names(&*file), [("C".into(), 0), ("b\x05".into(), 4)]);
        // Onto the default stream while the file is empty: the data moves.
        assert_eq!(
            status(s.rename(&*a, &to("f"), false)),
            NtStatus::OBJECT_NAME_COLLISION
        );
        s.rename(&*a, &to("f"), true).unwrap();
        assert_eq!(file.stat().unwrap().size, 4);
        assert_eq!(file.read_at(&mut buf, 0).unwrap(), 4);
        assert_eq!(&buf[..4], b"data");
        assert_eq!(names(&*file), [("C".to_string(), 0)]);
        // ...and not once it has data.
        assert_eq!(
            status(s.rename(&*c, &to("f"), true)),
            NtStatus::INVALID_PARAMETER
        );
        // A file (default stream) handle cannot become a named stream.
        assert_eq!(
            status(s.rename(&*file, &to("f:x"), false)),
            NtStatus::NOT_SUPPORTED
        );
        // Control characters and wildcards are valid in stream names.
        let w = open(&s, "f:?\n*", CreateDisposition::Create).unwrap();
        assert_eq!(w.path().stream(), Some("?\n*"));
    }
}
