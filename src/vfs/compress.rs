//! Transparent compression where the file system has it (btrfs): the Linux inode flag
//! FS_COMPR_FL (`chattr +c`, FS_IOC_GETFLAGS / FS_IOC_SETFLAGS) stands for an NTFS compressed
//! file (MS-FSCC 2.6 FILE_ATTRIBUTE_COMPRESSED; MS-FSA 2.1.5.9.7 FSCTL_GET_COMPRESSION,
//! 2.1.5.9.30 FSCTL_SET_COMPRESSION). The share probes at start whether the flag can be set
//! on a temporary file ([`probe`]); only then is FILE_FILE_COMPRESSION advertised (MS-FSCC
//! 2.5.1) and compression settable. The attribute is read from `statx` (STATX_ATTR_COMPRESSED,
//! see `attrs::build_stat`), so listings and query info cost nothing extra. New files in a
//! compressed directory inherit the flag (the file system does that), as on NTFS.
//!
//! Also the share's other device probe, [`probe_trim`] (FileFsSectorSizeInformation).
use super::error::{VfsError, VfsResult};
use super::handle::LocalHandle;
use super::Handle;
use std::os::fd::RawFd;

/// FS_COMPR_FL from <linux/fs.h>.
const FS_COMPR_FL: libc::c_int = 0x0000_0004;
/// FS_NOCOMP_FL from <linux/fs.h> (btrfs: never compress).
const FS_NOCOMP_FL: libc::c_int = 0x0000_0400;

fn get_flags(fd: RawFd) -> Result<libc::c_int, i32> {
    let mut flags: libc::c_int = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one int to the pointer, which is live and writable.
    let r = unsafe { libc::ioctl(fd, libc::FS_IOC_GETFLAGS, &mut flags as *mut libc::c_int) };
    if r < 0 {
        return Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO));
    }
    Ok(flags)
}

fn set_flags(fd: RawFd, flags: libc::c_int) -> Result<(), i32> {
    // SAFETY: FS_IOC_SETFLAGS reads one int from the pointer, which is live.
    let r = unsafe { libc::ioctl(fd, libc::FS_IOC_SETFLAGS, &flags as *const libc::c_int) };
    if r < 0 {
        return Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO));
    }
    Ok(())
}

/// btrfs's `statfs.f_type`.
const BTRFS_SUPER_MAGIC: i64 = 0x9123_683E;

/// Whether the file system of `fd` compresses files whose FS_COMPR_FL is set. ext4 and others
/// store the flag without compressing anything (`chattr +c` succeeds there), so the flag being
/// settable is not enough: only btrfs is known to honour it.
fn compresses(fd: RawFd) -> bool {
    // SAFETY: fstatfs fills a zeroed statfs we own.
    let mut sfs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: plain syscall on an open descriptor with a writable buffer.
    if unsafe { libc::fstatfs(fd, &mut sfs) } != 0 {
        return false;
    }
    sfs.f_type as i64 == BTRFS_SUPER_MAGIC
}

/// Whether FS_COMPR_FL can be set (and read back) on `fd`, a scratch file of the share, on a
/// file system that then really compresses (see [`compresses`]).
pub(crate) fn probe(fd: RawFd) -> bool {
    if !compresses(fd) {
        return false;
    }
    let Ok(f) = get_flags(fd) else { return false };
    if set_flags(fd, (f | FS_COMPR_FL) & !FS_NOCOMP_FL).is_err() {
        return false;
    }
    let ok = get_flags(fd).is_ok_and(|g| g & FS_COMPR_FL != 0);
    let _ = set_flags(fd, f);
    ok
}

/// Sets (`on`) or clears FS_COMPR_FL on the file or directory of `h`. Existing data stays as
/// it is; what is written afterwards is compressed (or not) by the file system.
pub fn set_compressed(h: &dyn Handle, on: bool) -> VfsResult<()> {
    let lh = LocalHandle::downcast(h)?;
    let fd = lh.raw();
    let f = get_flags(fd).map_err(VfsError::from_errno)?;
    let want = if on {
        (f | FS_COMPR_FL) & !FS_NOCOMP_FL
    } else {
        f & !FS_COMPR_FL
    };
    if want != f {
        set_flags(fd, want).map_err(VfsError::from_errno)?;
    }
    Ok(())
}

/// struct fstrim_range from <linux/fs.h>.
#[repr(C)]
struct FstrimRange {
    start: u64,
    len: u64,
    minlen: u64,
}

/// FITRIM = _IOWR('X', 121, struct fstrim_range).
const FITRIM: libc::c_ulong = 0xC018_5879;

/// Whether the device under the share can discard (FITRIM; SSINFO_FLAGS_TRIM_ENABLED,
/// MS-FSCC 2.5.8). Probed without trimming anything: btrfs, XFS and ext4 refuse a device
/// without discard with EOPNOTSUPP (other file systems with ENOTTY) before they validate the
/// range, and a zero-length range with EINVAL after; so EINVAL means "supported". Needs
/// CAP_SYS_ADMIN (EPERM otherwise: reported as unsupported).
pub(crate) fn probe_trim(root: RawFd) -> bool {
    let mut range = FstrimRange {
        start: 0,
        len: 0,
        minlen: 0,
    };
    // SAFETY: FITRIM reads and writes one fstrim_range, which is live and writable.
    let r = unsafe { libc::ioctl(root, FITRIM as _, &mut range as *mut FstrimRange) };
    r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL)
}
