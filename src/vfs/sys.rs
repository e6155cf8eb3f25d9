//! Thin, safe wrappers over the Linux system calls the local backend uses (openat2, statx,
//! fd-based xattrs, getdents64, fallocate, ioctl FICLONERANGE, copy_file_range).
//!
//! Every wrapper retries on EINTR and returns the raw errno on failure.

use std::ffi::{CStr, CString};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Result of a raw call: the errno on failure.
pub(crate) type SysResult<T> = Result<T, i32>;

fn errno() -> i32 {
    super::error::last_errno()
}

/// Converts a component (validated, no NUL) into a C string.
pub(crate) fn cstr(s: &str) -> SysResult<CString> {
    CString::new(s).map_err(|_| libc::EINVAL)
}

/// `openat2(2)`; `Err(ENOSYS)` when the kernel lacks it.
pub(crate) fn openat2(
    dirfd: RawFd,
    path: &CStr,
    flags: i32,
    mode: u32,
    resolve: u64,
) -> SysResult<OwnedFd> {
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = if flags & (libc::O_CREAT | libc::O_TMPFILE) != 0 {
        mode as u64
    } else {
        0
    };
    how.resolve = resolve;
    loop {
        // SAFETY: `how` is a valid open_how of the size passed; `path` is NUL-terminated.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dirfd,
                path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if r >= 0 {
            // SAFETY: the kernel returned a new descriptor we now own.
            return Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) });
        }
        let e = errno();
        if e != libc::EINTR && e != libc::EAGAIN {
            return Err(e);
        }
    }
}

/// `openat(2)` with O_CLOEXEC added.
pub(crate) fn openat(dirfd: RawFd, path: &CStr, flags: i32, mode: u32) -> SysResult<OwnedFd> {
    loop {
        // SAFETY: `path` is NUL-terminated.
        let r = unsafe {
            libc::openat(
                dirfd,
                path.as_ptr(),
                flags | libc::O_CLOEXEC,
                mode as libc::c_uint,
            )
        };
        if r >= 0 {
            // SAFETY: new descriptor owned by us.
            return Ok(unsafe { OwnedFd::from_raw_fd(r) });
        }
        let e = errno();
        if e != libc::EINTR {
            return Err(e);
        }
    }
}

/// Runs a call returning -1 on error, retrying on EINTR.
pub(crate) fn check<F: FnMut() -> libc::c_long>(mut f: F) -> SysResult<libc::c_long> {
    loop {
        let r = f();
        if r >= 0 {
            return Ok(r);
        }
        let e = errno();
        if e != libc::EINTR {
            return Err(e);
        }
    }
}

/// `statx(2)` of `name` relative to `dirfd` (never following a final symlink); an empty name
/// stats `dirfd` itself.
pub(crate) fn statx(dirfd: RawFd, name: &CStr) -> SysResult<libc::statx> {
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    let flags = libc::AT_SYMLINK_NOFOLLOW
        | if name.is_empty() {
            libc::AT_EMPTY_PATH
        } else {
            0
        };
    let mask = libc::STATX_BASIC_STATS | libc::STATX_BTIME;
    // SAFETY: valid pointers; `st` is a writable statx.
    check(|| unsafe { libc::statx(dirfd, name.as_ptr(), flags, mask, &mut st) as libc::c_long })?;
    Ok(st)
}

/// `fstat` through statx.
pub(crate) fn fstatx(fd: RawFd) -> SysResult<libc::statx> {
    statx(fd, c"")
}

/// Where an xattr call is aimed: an fd opened for I/O (fgetxattr family), or an O_PATH fd
/// (reached through its `/proc/self/fd/N` magic link, which names exactly that inode), or an
/// entry of a directory fd (`/proc/self/fd/N/name` with the l* calls, which do not follow a
/// final symlink; the name has no `/`).
#[derive(Clone, Copy)]
pub(crate) enum XTarget<'a> {
    /// A descriptor usable with the f*xattr calls.
    Fd(RawFd),
    /// An O_PATH descriptor.
    PathFd(RawFd),
    /// An entry named in a directory.
    Entry(RawFd, &'a str),
}

fn proc_path(t: XTarget<'_>) -> SysResult<CString> {
    match t {
        XTarget::Fd(fd) | XTarget::PathFd(fd) => cstr(&format!("/proc/self/fd/{fd}")),
        XTarget::Entry(fd, name) => cstr(&format!("/proc/self/fd/{fd}/{name}")),
    }
}

/// Reads an xattr value into `buf`; returns its length (ERANGE if `buf` is too small; an
/// empty `buf` asks for the size).
pub(crate) fn getxattr(t: XTarget<'_>, name: &CStr, buf: &mut [u8]) -> SysResult<usize> {
    let (p, l) = (buf.as_mut_ptr() as *mut libc::c_void, buf.len());
    let r = match t {
        // SAFETY: buffer pointer/length come from a live slice.
        XTarget::Fd(fd) => {
            check(|| unsafe { libc::fgetxattr(fd, name.as_ptr(), p, l) as libc::c_long })
        }
        XTarget::PathFd(_) => {
            let path = proc_path(t)?;
            check(|| unsafe { libc::getxattr(path.as_ptr(), name.as_ptr(), p, l) as libc::c_long })
        }
        XTarget::Entry(..) => {
            let path = proc_path(t)?;
            check(|| unsafe { libc::lgetxattr(path.as_ptr(), name.as_ptr(), p, l) as libc::c_long })
        }
    }?;
    Ok(r as usize)
}

/// Reads a whole xattr value (at most `limit` bytes; larger values fail with E2BIG).
pub(crate) fn getxattr_vec(t: XTarget<'_>, name: &CStr, limit: usize) -> SysResult<Vec<u8>> {
    for _ in 0..4 {
        let n = getxattr(t, name, &mut [])?;
        if n > limit {
            return Err(libc::E2BIG);
        }
        let mut v = vec![0u8; n];
        match getxattr(t, name, &mut v) {
            Ok(m) => {
                v.truncate(m);
                return Ok(v);
            }
            Err(libc::ERANGE) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(libc::EBUSY)
}

/// Sets an xattr (`flags`: 0, XATTR_CREATE or XATTR_REPLACE).
pub(crate) fn setxattr(t: XTarget<'_>, name: &CStr, value: &[u8], flags: i32) -> SysResult<()> {
    let (p, l) = (value.as_ptr() as *const libc::c_void, value.len());
    match t {
        // SAFETY: value pointer/length come from a live slice.
        XTarget::Fd(fd) => {
            check(|| unsafe { libc::fsetxattr(fd, name.as_ptr(), p, l, flags) as libc::c_long })
        }
        XTarget::PathFd(_) => {
            let path = proc_path(t)?;
            check(|| unsafe {
                libc::setxattr(path.as_ptr(), name.as_ptr(), p, l, flags) as libc::c_long
            })
        }
        XTarget::Entry(..) => {
            let path = proc_path(t)?;
            check(|| unsafe {
                libc::lsetxattr(path.as_ptr(), name.as_ptr(), p, l, flags) as libc::c_long
            })
        }
    }
    .map(|_| ())
}

/// Removes an xattr.
pub(crate) fn removexattr(t: XTarget<'_>, name: &CStr) -> SysResult<()> {
    match t {
        // SAFETY: NUL-terminated names.
        XTarget::Fd(fd) => {
            check(|| unsafe { libc::fremovexattr(fd, name.as_ptr()) as libc::c_long })
        }
        XTarget::PathFd(_) => {
            let path = proc_path(t)?;
            check(|| unsafe { libc::removexattr(path.as_ptr(), name.as_ptr()) as libc::c_long })
        }
        XTarget::Entry(..) => {
            let path = proc_path(t)?;
            check(|| unsafe { libc::lremovexattr(path.as_ptr(), name.as_ptr()) as libc::c_long })
        }
    }
    .map(|_| ())
}

/// Lists xattr names (the raw NUL-separated list, at most 64 KiB as the VFS allows).
pub(crate) fn listxattr(t: XTarget<'_>) -> SysResult<Vec<String>> {
    let mut buf = vec![0u8; 65536];
    let (p, l) = (buf.as_mut_ptr() as *mut libc::c_char, buf.len());
    let n = match t {
        // SAFETY: buffer from a live Vec.
        XTarget::Fd(fd) => check(|| unsafe { libc::flistxattr(fd, p, l) as libc::c_long }),
        XTarget::PathFd(_) => {
            let path = proc_path(t)?;
            check(|| unsafe { libc::listxattr(path.as_ptr(), p, l) as libc::c_long })
        }
        XTarget::Entry(..) => {
            let path = proc_path(t)?;
            check(|| unsafe { libc::llistxattr(path.as_ptr(), p, l) as libc::c_long })
        }
    }? as usize;
    Ok(buf
        .get(..n)
        .unwrap_or(&[])
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .filter_map(|s| std::str::from_utf8(s).ok().map(str::to_string))
        .collect())
}

/// 100 ns intervals between 1601-01-01 and 1970-01-01.
const FILETIME_UNIX_EPOCH: i128 = 116_444_736_000_000_000;

/// Converts Unix seconds + nanoseconds to a FILETIME (clamped to the u64 range).
pub(crate) fn to_filetime(sec: i64, nsec: u32) -> u64 {
    let t = sec as i128 * 10_000_000 + (nsec / 100) as i128 + FILETIME_UNIX_EPOCH;
    t.clamp(0, u64::MAX as i128) as u64
}

/// Converts a FILETIME to a `timespec`.
pub(crate) fn from_filetime(ft: u64) -> libc::timespec {
    let t = ft as i128 - FILETIME_UNIX_EPOCH;
    let sec = t.div_euclid(10_000_000);
    let nsec = t.rem_euclid(10_000_000) * 100;
    libc::timespec {
        tv_sec: sec.clamp(i64::MIN as i128, i64::MAX as i128) as i64,
        tv_nsec: nsec as i64,
    }
}

/// Converts a u64 file offset to `off_t`, rejecting values above `i64::MAX`.
pub(crate) fn off(v: u64) -> SysResult<libc::off_t> {
    libc::off_t::try_from(v).map_err(|_| libc::EINVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetime() {
        assert_eq!(to_filetime(0, 0), 116_444_736_000_000_000);
        let ts = from_filetime(to_filetime(1_700_000_000, 123_456_700));
        assert_eq!((ts.tv_sec, ts.tv_nsec), (1_700_000_000, 123_456_700));
        assert_eq!(to_filetime(i64::MIN, 0), 0);
        let _ = from_filetime(u64::MAX);
    }
}
