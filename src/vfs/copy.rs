//! The server-side copy engine (MS-SMB2 3.3.5.15.6 COPYCHUNK, MS-FSCC 2.3.7/2.3.9
//! DUPLICATE_EXTENTS, MS-FSCC 2.3.53/2.3.80 ODX): copies a byte range from one open to
//! another without the data crossing the network, choosing per range the cheapest method the
//! file system allows:
//!
//! 1. [`CopyMethod::Clone`]: `FICLONERANGE` (reflink: the target shares the source's extents,
//!    constant time) for the block-aligned part of the range, where offsets and length are
//!    multiples of the file system block size; an unaligned length is allowed when the range
//!    ends at the source's end of file and the target range ends at or beyond the target's
//!    end of file (as the kernel allows: the partial EOF block is cloned whole);
//! 2. [`CopyMethod::CopyFileRange`]: `copy_file_range(2)` (in-kernel copy; on XFS and btrfs
//!    the kernel may still reflink), looped until done or the source ends;
//! 3. [`CopyMethod::ReadWrite`]: a `pread`/`pwrite` loop through a bounded per-thread buffer
//!    ([`RW_BUF`] bytes, reused across calls), used for named streams, across file systems
//!    and for overlapping ranges of one file (copied backwards when the target lies after the
//!    source, so the result is that of a `memmove`).
//!
//! [`clone_range`] is the strict variant for FSCTL_DUPLICATE_EXTENTS_TO_FILE: FICLONERANGE or
//! an error mapped to the NTSTATUS MS-FSA 2.1.5.10.4 / MS-FSCC 2.3.8 give.
//!
//! Everything here blocks: callers run it on the blocking pool (`files::blocking`), never on
//! the reactor.

use super::error::{VfsError, VfsResult};
use super::handle::LocalHandle;
use super::sys;
use super::Handle;
use crate::wire::NtStatus;
use std::cell::RefCell;
use std::os::fd::RawFd;

/// Size of the per-thread read/write buffer of [`CopyMethod::ReadWrite`].
pub const RW_BUF: usize = 1 << 20;

/// Largest single `copy_file_range` call (the kernel caps one call near 2 GiB anyway).
const CFR_MAX: u64 = 1 << 30;

/// How (part of) a copy was done.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum CopyMethod {
    /// FICLONERANGE: extents shared, no data copied.
    Clone,
    /// copy_file_range(2).
    CopyFileRange,
    /// pread/pwrite through a bounded buffer.
    ReadWrite,
}

/// What [`copy_range`] did: bytes per method.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct CopyOutcome {
    /// Bytes reflinked.
    pub cloned: u64,
    /// Bytes copied by copy_file_range.
    pub copy_file_range: u64,
    /// Bytes copied by the read/write loop.
    pub read_write: u64,
}

impl CopyOutcome {
    /// Total bytes copied.
    pub fn total(&self) -> u64 {
        self.cloned + self.copy_file_range + self.read_write
    }

    /// The method that moved the most bytes (Clone when nothing was copied by another).
    pub fn method(&self) -> CopyMethod {
        if self.read_write > self.cloned.max(self.copy_file_range) {
            CopyMethod::ReadWrite
        } else if self.copy_file_range > self.cloned {
            CopyMethod::CopyFileRange
        } else {
            CopyMethod::Clone
        }
    }

    /// Counts `n` bytes for `m`.
    pub fn add(&mut self, m: CopyMethod, n: u64) {
        match m {
            CopyMethod::Clone => self.cloned += n,
            CopyMethod::CopyFileRange => self.copy_file_range += n,
            CopyMethod::ReadWrite => self.read_write += n,
        }
    }
}

thread_local! {
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A data descriptor of a local file handle (not a stream, directory or O_PATH open).
struct DataFd {
    fd: RawFd,
    dev: u64,
    ino: u64,
    size: u64,
    blksize: u64,
}

fn data_fd(h: &dyn Handle) -> Option<DataFd> {
    let l = h.as_any().downcast_ref::<LocalHandle>()?;
    if l.o_path || l.is_dir {
        return None;
    }
    let fd = l.raw();
    let st = sys::fstatx(fd).ok()?;
    Some(DataFd {
        fd,
        dev: libc::makedev(st.stx_dev_major, st.stx_dev_minor),
        ino: st.stx_ino,
        size: st.stx_size,
        blksize: u64::from(st.stx_blksize).max(512),
    })
}

fn bad_param() -> VfsError {
    VfsError::status_only(NtStatus::INVALID_PARAMETER)
}

/// Checks `off + len` stays within `i64` (what the kernel takes).
fn end_of(off: u64, len: u64) -> VfsResult<u64> {
    off.checked_add(len)
        .filter(|&e| e <= i64::MAX as u64)
        .ok_or_else(bad_param)
}

fn ficlonerange(dst: RawFd, src: RawFd, src_off: u64, dst_off: u64, len: u64) -> Result<(), i32> {
    let arg = libc::file_clone_range {
        src_fd: i64::from(src),
        src_offset: src_off,
        src_length: len,
        dest_offset: dst_off,
    };
    // SAFETY: `arg` is a valid file_clone_range living across the call.
    sys::check(|| unsafe { libc::ioctl(dst, libc::FICLONERANGE, &arg) as libc::c_long }).map(|_| ())
}

/// Copies `len` bytes of `src` at `src_off` to `dst` at `dst_off`, cloning where it can, then
/// copy_file_range, then read/write (see the module doc). Returns the bytes copied per method;
/// the total is less than `len` only when the source ends first. `src` and `dst` may be the
/// same file, with overlapping ranges.
pub fn copy_range(
    src: &dyn Handle,
    src_off: u64,
    dst: &dyn Handle,
    dst_off: u64,
    len: u64,
) -> VfsResult<CopyOutcome> {
    end_of(src_off, len)?;
    end_of(dst_off, len)?;
    let mut out = CopyOutcome::default();
    if len == 0 {
        return Ok(out);
    }
    let (Some(s), Some(d)) = (data_fd(src), data_fd(dst)) else {
        out.read_write = rw_copy(src, src_off, dst, dst_off, len)?;
        return Ok(out);
    };
    // Never read past the source's end of file.
    let len = len.min(s.size.saturating_sub(src_off));
    if len == 0 {
        return Ok(out);
    }
    let same = s.dev == d.dev && s.ino == d.ino;
    let overlap = same && src_off < dst_off + len && dst_off < src_off + len;
    if overlap {
        out.read_write = rw_copy(src, src_off, dst, dst_off, len)?;
        return Ok(out);
    }
    let mut done = 0u64;
    if s.dev == d.dev {
        let bs = s.blksize.max(d.blksize);
        if src_off.is_multiple_of(bs) && dst_off.is_multiple_of(bs) {
            let to_eof = src_off + len == s.size && dst_off + len >= d.size;
            let n = if to_eof { len } else { len - len % bs };
            if n > 0 && ficlonerange(d.fd, s.fd, src_off, dst_off, n).is_ok() {
                out.cloned = n;
                done = n;
            }
        }
    }
    if done < len {
        let (n, rest_rw) = cfr_copy(&s, src_off + done, &d, dst_off + done, len - done)?;
        out.copy_file_range += n;
        done += n;
        if rest_rw && done < len {
            out.read_write += rw_copy(src, src_off + done, dst, dst_off + done, len - done)?;
        }
    }
    Ok(out)
}

/// copy_file_range loop: (bytes copied, whether the rest must go through read/write because
/// the kernel cannot copy between these files).
fn cfr_copy(
    s: &DataFd,
    src_off: u64,
    d: &DataFd,
    dst_off: u64,
    len: u64,
) -> VfsResult<(u64, bool)> {
    let mut done = 0u64;
    while done < len {
        let chunk = (len - done).min(CFR_MAX) as usize;
        let mut so = (src_off + done) as libc::loff_t;
        let mut dof = (dst_off + done) as libc::loff_t;
        // SAFETY: the offsets are valid pointers to loff_t for the duration of the call.
        let r = sys::check(|| unsafe {
            libc::syscall(
                libc::SYS_copy_file_range,
                s.fd,
                &mut so as *mut libc::loff_t,
                d.fd,
                &mut dof as *mut libc::loff_t,
                chunk,
                0u32,
            )
        });
        match r {
            Ok(0) => return Ok((done, false)),
            Ok(n) => done += n as u64,
            Err(libc::EXDEV | libc::ENOSYS | libc::EOPNOTSUPP | libc::EINVAL) => {
                return Ok((done, true))
            }
            Err(e) => return Err(VfsError::from_errno(e)),
        }
    }
    Ok((done, false))
}

/// The read/write loop through the per-thread buffer; copies backwards when `dst` overlaps
/// `src` after it in the same file.
pub(crate) fn rw_copy(
    src: &dyn Handle,
    src_off: u64,
    dst: &dyn Handle,
    dst_off: u64,
    len: u64,
) -> VfsResult<u64> {
    end_of(src_off, len)?;
    end_of(dst_off, len)?;
    BUF.with(|b| {
        let mut buf = b.borrow_mut();
        if buf.len() < RW_BUF {
            buf.resize(RW_BUF, 0);
        }
        let same = match (data_fd(src), data_fd(dst)) {
            (Some(s), Some(d)) => s.dev == d.dev && s.ino == d.ino,
            _ => std::ptr::addr_eq(src as *const dyn Handle, dst as *const dyn Handle),
        };
        if same && dst_off > src_off && dst_off < src_off + len {
            backward(src, src_off, dst, dst_off, len, &mut buf)
        } else {
            forward(src, src_off, dst, dst_off, len, &mut buf)
        }
    })
}

fn write_all(dst: &dyn Handle, data: &[u8], off: u64) -> VfsResult<()> {
    let mut w = 0;
    while w < data.len() {
        let m = dst.write_at(&data[w..], off + w as u64)?;
        if m == 0 {
            return Err(VfsError::status_only(NtStatus::DISK_FULL));
        }
        w += m;
    }
    Ok(())
}

fn forward(
    src: &dyn Handle,
    src_off: u64,
    dst: &dyn Handle,
    dst_off: u64,
    len: u64,
    buf: &mut [u8],
) -> VfsResult<u64> {
    let mut done = 0u64;
    while done < len {
        let want = ((len - done) as usize).min(buf.len());
        let n = read_full(src, &mut buf[..want], src_off + done)?;
        if n == 0 {
            break;
        }
        write_all(dst, &buf[..n], dst_off + done)?;
        done += n as u64;
        if n < want {
            break;
        }
    }
    Ok(done)
}

/// Reads until `buf` is full or end of file.
fn read_full(src: &dyn Handle, buf: &mut [u8], off: u64) -> VfsResult<usize> {
    let mut n = 0;
    while n < buf.len() {
        let m = src.read_at(&mut buf[n..], off + n as u64)?;
        if m == 0 {
            break;
        }
        n += m;
    }
    Ok(n)
}

fn backward(
    src: &dyn Handle,
    src_off: u64,
    dst: &dyn Handle,
    dst_off: u64,
    len: u64,
    buf: &mut [u8],
) -> VfsResult<u64> {
    // Only what the source holds is copied; clamp first so the tail is not read as zeros.
    let size = src.stat()?.size;
    let len = len.min(size.saturating_sub(src_off));
    let mut left = len;
    while left > 0 {
        let n = (left as usize).min(buf.len());
        let at = left - n as u64;
        let got = read_full(src, &mut buf[..n], src_off + at)?;
        write_all(dst, &buf[..got], dst_off + at)?;
        left = at;
    }
    Ok(len)
}

/// Reflinks exactly `len` bytes of `src` at `src_off` to `dst` at `dst_off` (FSCTL_DUPLICATE_
/// EXTENTS_TO_FILE). Errors, as MS-FSCC 2.3.8 lists them: INVALID_DEVICE_REQUEST where the
/// file system cannot clone (or for streams), INVALID_PARAMETER for a source on another
/// volume or unaligned offsets/length, NOT_SUPPORTED for overlapping ranges in one file or a
/// source range beyond the source's end of file, DISK_FULL, MEDIA_WRITE_PROTECTED.
pub fn clone_range(
    src: &dyn Handle,
    src_off: u64,
    dst: &dyn Handle,
    dst_off: u64,
    len: u64,
) -> VfsResult<()> {
    end_of(src_off, len)?;
    end_of(dst_off, len)?;
    let (Some(s), Some(d)) = (data_fd(src), data_fd(dst)) else {
        return Err(VfsError::status_only(NtStatus::INVALID_DEVICE_REQUEST));
    };
    if len == 0 {
        return Ok(());
    }
    if s.dev != d.dev {
        return Err(bad_param());
    }
    if s.dev == d.dev && s.ino == d.ino && src_off < dst_off + len && dst_off < src_off + len {
        return Err(VfsError::status_only(NtStatus::NOT_SUPPORTED));
    }
    if src_off + len > s.size {
        return Err(VfsError::status_only(NtStatus::NOT_SUPPORTED));
    }
    let bs = s.blksize.max(d.blksize);
    let to_eof = src_off + len == s.size && dst_off + len >= d.size;
    if !src_off.is_multiple_of(bs)
        || !dst_off.is_multiple_of(bs)
        || (!len.is_multiple_of(bs) && !to_eof)
    {
        return Err(bad_param());
    }
    ficlonerange(d.fd, s.fd, src_off, dst_off, len).map_err(|e| {
        let st = match e {
            libc::EOPNOTSUPP | libc::ENOTTY | libc::ENOSYS => NtStatus::INVALID_DEVICE_REQUEST,
            libc::EXDEV | libc::EINVAL | libc::EBADF => NtStatus::INVALID_PARAMETER,
            libc::ENOSPC | libc::EDQUOT | libc::EFBIG => NtStatus::DISK_FULL,
            libc::EROFS => NtStatus::MEDIA_WRITE_PROTECTED,
            libc::ETXTBSY | libc::EBUSY => NtStatus::SHARING_VIOLATION,
            libc::EPERM | libc::EACCES => NtStatus::ACCESS_DENIED,
            libc::ENOMEM => NtStatus::INSUFFICIENT_RESOURCES,
            _ => return VfsError::from_errno(e),
        };
        VfsError::from_errno(e).with_status(st)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::local::{LocalOptions, LocalShare};
    use crate::vfs::{CreateDisposition, OpenRequest, Share, SharePath};
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::Arc;

    /// FIEMAP_EXTENT_SHARED (linux/fiemap.h).
    const FIEMAP_EXTENT_SHARED: u32 = 0x2000;
    /// FS_IOC_FIEMAP = _IOWR('f', 11, struct fiemap).
    const FS_IOC_FIEMAP: libc::c_ulong = 0xC020_660B;

    /// Bytes of `fd` in extents FIEMAP flags as shared (at most 64 extents looked at).
    pub(crate) fn shared_bytes(fd: RawFd) -> u64 {
        const N: usize = 64;
        // struct fiemap (32 bytes) followed by N struct fiemap_extent (56 bytes each).
        let mut buf = vec![0u64; (32 + 56 * N) / 8];
        buf[1] = u64::MAX; // fm_length
                           // SAFETY: buf is 8-aligned and large enough; fm_flags is the low half of word 2.
        unsafe {
            let p = buf.as_mut_ptr() as *mut u8;
            *(p.add(16) as *mut u32) = 1; // FIEMAP_FLAG_SYNC
            *(p.add(24) as *mut u32) = N as u32; // fm_extent_count
            assert_eq!(libc::ioctl(fd, FS_IOC_FIEMAP as _, p), 0, "FIEMAP failed");
            let mapped = *(p.add(20) as *const u32) as usize;
            (0..mapped.min(N))
                .map(|i| {
                    let e = p.add(32 + 56 * i);
                    let len = *(e.add(16) as *const u64);
                    let flags = *(e.add(40) as *const u32);
                    if flags & FIEMAP_EXTENT_SHARED != 0 {
                        len
                    } else {
                        0
                    }
                })
                .sum()
        }
    }

    /// A loop-mounted XFS (reflink=1) image, unmounted on drop.
    struct Xfs {
        dir: tempfile::TempDir,
    }

    impl Xfs {
        fn new() -> Xfs {
            // SAFETY: plain getter.
            assert_eq!(
                unsafe { libc::geteuid() },
                0,
                "this test loop-mounts an XFS image: run it as root (CI does)"
            );
            let dir = tempfile::tempdir().unwrap();
            let img = dir.path().join("img");
            std::fs::File::create(&img)
                .unwrap()
                .set_len(300 << 20)
                .unwrap();
            let ok = Command::new("mkfs.xfs")
                .args(["-q", "-f", "-m", "reflink=1"])
                .arg(&img)
                .status()
                .expect("mkfs.xfs is missing: apt-get install xfsprogs");
            assert!(ok.success());
            let mnt = dir.path().join("mnt");
            std::fs::create_dir(&mnt).unwrap();
            let ok = Command::new("mount")
                .args(["-o", "loop"])
                .arg(&img)
                .arg(&mnt)
                .status()
                .unwrap();
            assert!(ok.success(), "mount -o loop failed");
            Xfs { dir }
        }
        fn mnt(&self) -> PathBuf {
            self.dir.path().join("mnt")
        }
    }

    impl Drop for Xfs {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.mnt()).status();
        }
    }

    fn create(s: &LocalShare, name: &str) -> Arc<dyn Handle> {
        let r = OpenRequest {
            disposition: CreateDisposition::OverwriteIf,
            write: true,
            ..Default::default()
        };
        s.open(&SharePath::parse(name).unwrap(), &r).unwrap().0
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
            .collect()
    }

    fn content(h: &dyn Handle) -> Vec<u8> {
        let mut v = vec![0u8; h.stat().unwrap().size as usize];
        let n = read_full(h, &mut v, 0).unwrap();
        v.truncate(n);
        v
    }

    fn fd(h: &dyn Handle) -> RawFd {
        h.as_any().downcast_ref::<LocalHandle>().unwrap().raw()
    }

    fn write(h: &dyn Handle, data: &[u8]) {
        write_all(h, data, 0).unwrap();
    }

    fn share(p: &Path) -> LocalShare {
        LocalShare::new(p, LocalOptions::default()).unwrap()
    }

    #[test]
    fn xfs_clones_aligned_ranges_and_falls_back_otherwise() {
        let x = Xfs::new();
        let s = share(&x.mnt());
        assert!(s.supports_block_refcounting());
        let mib = 1usize << 20;
        let data = pattern(2 * mib + 100, 1);
        let src = create(&s, "src");
        write(&*src, &data);
        src.flush().unwrap();
        // Whole file, unaligned tail at the source's end of file: all cloned.
        let dst = create(&s, "dst");
        let o = copy_range(&*src, 0, &*dst, 0, data.len() as u64).unwrap();
        assert_eq!(o.cloned, data.len() as u64);
        assert_eq!(o.method(), CopyMethod::Clone);
        assert_eq!(content(&*dst), data);
        assert!(shared_bytes(fd(&*dst)) >= 2 * mib as u64);
        // Aligned body cloned, an unaligned tail into the middle of a bigger target copied.
        let big = create(&s, "big");
        write(&*big, &pattern(4 * mib, 2));
        let o = copy_range(&*src, 0, &*big, 0, (mib + 10) as u64).unwrap();
        assert_eq!((o.cloned, o.total()), (mib as u64, mib as u64 + 10));
        let b = content(&*big);
        assert_eq!(&b[..mib + 10], &data[..mib + 10]);
        assert_eq!(&b[mib + 10..], &pattern(4 * mib, 2)[mib + 10..]);
        // Unaligned offsets: no clone.
        let o = copy_range(&*src, 1, &*big, 3, 5000).unwrap();
        assert_eq!((o.cloned, o.total()), (0, 5000));
        assert_ne!(o.method(), CopyMethod::Clone);
        assert_eq!(&content(&*big)[3..5003], &data[1..5001]);
        // Past the source's end: short.
        let o = copy_range(&*src, data.len() as u64 - 7, &*big, 0, 100).unwrap();
        assert_eq!(o.total(), 7);
        assert_eq!(copy_range(&*src, 1 << 40, &*big, 0, 9).unwrap().total(), 0);
        // Overlap in one file, target after source: memmove semantics.
        let o = copy_range(&*src, 0, &*src, 4096, 3 * 4096).unwrap();
        assert_eq!(o.read_write, 3 * 4096);
        let mut want = data.clone();
        want.copy_within(0..3 * 4096, 4096);
        assert_eq!(content(&*src), want);
        // And target before source.
        let o = copy_range(&*src, 100, &*src, 0, 10_000).unwrap();
        assert_eq!(o.total(), 10_000);
        want.copy_within(100..10_100, 0);
        assert_eq!(content(&*src), want);
        // Strict cloning.
        let c = create(&s, "c");
        clone_range(&*dst, 0, &*c, 0, 2 * mib as u64).unwrap();
        assert_eq!(content(&*c), &data[..2 * mib]);
        assert!(shared_bytes(fd(&*c)) >= 2 * mib as u64);
        let st = |r: VfsResult<()>| r.unwrap_err().status();
        assert_eq!(
            st(clone_range(&*dst, 1, &*c, 0, 4096)),
            NtStatus::INVALID_PARAMETER
        );
        assert_eq!(
            st(clone_range(&*dst, 0, &*c, 0, 4095)),
            NtStatus::INVALID_PARAMETER
        );
        assert_eq!(
            st(clone_range(&*dst, 0, &*dst, 4096, 8192)),
            NtStatus::NOT_SUPPORTED
        );
        assert_eq!(
            st(clone_range(&*dst, 2 * mib as u64, &*c, 0, 8192)),
            NtStatus::NOT_SUPPORTED
        );
        // The unaligned end of the source may be cloned onto the target's end.
        let t = create(&s, "t");
        clone_range(&*dst, 0, &*t, 0, data.len() as u64).unwrap();
        assert_eq!(content(&*t), data);
        // Another file system: parameter error, and copies fall back.
        let other = tempfile::tempdir().unwrap();
        let s2 = share(other.path());
        let e = create(&s2, "e");
        assert_eq!(
            st(clone_range(&*dst, 0, &*e, 0, 4096)),
            NtStatus::INVALID_PARAMETER
        );
        let o = copy_range(&*dst, 0, &*e, 0, data.len() as u64).unwrap();
        assert_eq!((o.cloned, o.total()), (0, data.len() as u64));
        assert_eq!(content(&*e), data);
        drop((src, dst, big, c, t, s));
    }

    #[test]
    fn no_reflink_falls_back() {
        // The temporary directory's file system (ext4 here and on CI) cannot reflink.
        let t = tempfile::tempdir().unwrap();
        let s = share(t.path());
        let src = create(&s, "src");
        let data = pattern(3 << 20, 3);
        write(&*src, &data);
        let dst = create(&s, "dst");
        let o = copy_range(&*src, 0, &*dst, 0, data.len() as u64).unwrap();
        assert_eq!(o.total(), data.len() as u64);
        assert_eq!(content(&*dst), data);
        if !s.supports_block_refcounting() {
            assert_eq!(o.cloned, 0);
            assert_eq!(o.method(), CopyMethod::CopyFileRange);
            assert_eq!(
                clone_range(&*src, 0, &*dst, 0, 4096).unwrap_err().status(),
                NtStatus::INVALID_DEVICE_REQUEST
            );
        }
        // Streams go through read/write, both ways.
        let st = create(&s, "dst:s");
        let o = copy_range(&*src, 10, &*st, 0, 1000).unwrap();
        assert_eq!((o.read_write, o.method()), (1000, CopyMethod::ReadWrite));
        assert_eq!(content(&*st), &data[10..1010]);
        let o = copy_range(&*st, 0, &*dst, 5, 5000).unwrap();
        assert_eq!(o.read_write, 1000);
        assert_eq!(&content(&*dst)[5..1005], &data[10..1010]);
        assert_eq!(
            clone_range(&*st, 0, &*dst, 0, 4096).unwrap_err().status(),
            NtStatus::INVALID_DEVICE_REQUEST
        );
        // Ranges past what the kernel takes.
        assert_eq!(
            copy_range(&*src, u64::MAX - 1, &*dst, 0, 10)
                .unwrap_err()
                .status(),
            NtStatus::INVALID_PARAMETER
        );
    }

    #[test]
    fn tmpfs_falls_back() {
        // SAFETY: plain getter.
        assert_eq!(unsafe { libc::geteuid() }, 0, "mounts a tmpfs: run as root");
        let t = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
            .arg(t.path())
            .status()
            .unwrap();
        assert!(ok.success());
        let s = share(t.path());
        assert!(!s.supports_block_refcounting());
        let src = create(&s, "a");
        let data = pattern(1 << 20, 4);
        write(&*src, &data);
        let dst = create(&s, "b");
        let o = copy_range(&*src, 0, &*dst, 0, 1 << 20).unwrap();
        assert_eq!((o.cloned, o.total()), (0, 1 << 20));
        assert_eq!(content(&*dst), data);
        drop((src, dst, s));
        let _ = Command::new("umount").arg(t.path()).status();
    }
}
