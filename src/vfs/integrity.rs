//! Data integrity where the file system checksums file data (btrfs): the backing of
//! FSCTL_GET_INTEGRITY_INFORMATION / FSCTL_SET_INTEGRITY_INFORMATION (MS-FSA 2.1.5.10.10,
//! 2.1.5.10.33; MS-FSCC 2.3.20, 2.3.73).
//!
//! btrfs checksums every data block of a file unless the file is NOCOW (`chattr +C`, the inode
//! flag FS_NOCOW_FL: btrfs then keeps no data checksums for it). So an integrity stream in the
//! ReFS sense maps to "not NOCOW", and CHECKSUM_TYPE_NONE to NOCOW. Honest mapping: btrfs uses
//! its own configured checksum (crc32c by default, or xxhash64/sha256/blake2b chosen at mkfs
//! time), not the CRC64 of ReFS; rsmbd reports any of them as CHECKSUM_TYPE_CRC64, the
//! "integrity on" value clients know. Reads of a block whose checksum does not match fail with
//! EIO on btrfs, which is what integrity enforcement means; enforcement cannot be switched off
//! per file (FSCTL_INTEGRITY_FLAG_CHECKSUM_ENFORCEMENT_OFF is refused by the handler).
//!
//! btrfs changes NOCOW only on empty regular files (on a non-empty file it silently ignores the
//! request); [`set_checksummed`] checks the size first and reports [`SetOutcome::NotEmpty`]
//! rather than pretend. Directories take the flag at any time: files created in them inherit it.
//! Named streams live in extended attributes, i.e. in btrfs metadata, which is always
//! checksummed: they report integrity on and cannot turn it off ([`SetOutcome::Metadata`]).
//! A mount with `-o nodatacow` gives new files FS_NOCOW_FL (reported NONE, correctly); one with
//! only `-o nodatasum` is not detected (files would be reported checksummed).
//!
//! The share probes at start ([`probe`]) whether its file system is btrfs and the flag can be
//! set and cleared on an empty scratch file; only then is FILE_SUPPORT_INTEGRITY_STREAMS
//! advertised (MS-FSCC 2.5.1) and the FSCTLs answered; elsewhere they fail with
//! STATUS_INVALID_DEVICE_REQUEST as on NTFS.
use super::error::{VfsError, VfsResult};
use super::handle::LocalHandle;
use super::stream::StreamHandle;
use super::Handle;
use std::os::fd::RawFd;

/// FS_NOCOW_FL from <linux/fs.h> (btrfs: no copy-on-write, no data checksums).
const FS_NOCOW_FL: libc::c_int = 0x0080_0000;
/// btrfs's `statfs.f_type`.
const BTRFS_SUPER_MAGIC: i64 = 0x9123_683E;

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn get_flags(fd: RawFd) -> Result<libc::c_int, i32> {
    let mut flags: libc::c_int = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one int to the pointer, which is live and writable.
    let r = unsafe { libc::ioctl(fd, libc::FS_IOC_GETFLAGS, &mut flags as *mut libc::c_int) };
    if r < 0 {
        return Err(errno());
    }
    Ok(flags)
}

fn set_flags(fd: RawFd, flags: libc::c_int) -> Result<(), i32> {
    // SAFETY: FS_IOC_SETFLAGS reads one int from the pointer, which is live.
    let r = unsafe { libc::ioctl(fd, libc::FS_IOC_SETFLAGS, &flags as *const libc::c_int) };
    if r < 0 {
        return Err(errno());
    }
    Ok(())
}

fn is_btrfs(fd: RawFd) -> bool {
    // SAFETY: fstatfs fills a zeroed statfs we own.
    let mut sfs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: plain syscall on an open descriptor with a writable buffer.
    if unsafe { libc::fstatfs(fd, &mut sfs) } != 0 {
        return false;
    }
    sfs.f_type as i64 == BTRFS_SUPER_MAGIC
}

/// (is a directory, size in bytes) of `fd`.
fn kind_and_size(fd: RawFd) -> Result<(bool, u64), i32> {
    // SAFETY: fstat fills a zeroed stat we own.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: plain syscall on an open descriptor with a writable buffer.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(errno());
    }
    Ok((
        st.st_mode & libc::S_IFMT == libc::S_IFDIR,
        st.st_size as u64,
    ))
}

/// Whether the file system of `fd` (an empty scratch file of the share) checksums data and
/// lets FS_NOCOW_FL be set and cleared: btrfs only. Leaves the flags as they were.
pub(crate) fn probe(fd: RawFd) -> bool {
    if !is_btrfs(fd) {
        return false;
    }
    let Ok(f) = get_flags(fd) else { return false };
    if set_flags(fd, f | FS_NOCOW_FL).is_err() {
        return false;
    }
    let on = get_flags(fd).is_ok_and(|g| g & FS_NOCOW_FL != 0);
    let off = set_flags(fd, f & !FS_NOCOW_FL).is_ok()
        && get_flags(fd).is_ok_and(|g| g & FS_NOCOW_FL == 0);
    let _ = set_flags(fd, f);
    on && off
}

/// Whether the file system checksums the data of the file (or, for a directory, of files
/// created in it): FS_NOCOW_FL is clear.
pub fn checksummed(h: &dyn Handle) -> VfsResult<bool> {
    if h.as_any().is::<StreamHandle>() {
        return Ok(true);
    }
    let fd = LocalHandle::downcast(h)?.raw();
    let f = get_flags(fd).map_err(VfsError::from_errno)?;
    Ok(f & FS_NOCOW_FL == 0)
}

/// What [`set_checksummed`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SetOutcome {
    /// The file now is (or already was) in the requested state.
    Done,
    /// The state differs but cannot change: btrfs changes NOCOW only on empty files.
    NotEmpty,
    /// The file is compressed (FS_COMPR_FL), which btrfs does not combine with NOCOW.
    Compressed,
    /// A named stream: its data is metadata, always checksummed.
    Metadata,
}

/// FS_COMPR_FL from <linux/fs.h>.
const FS_COMPR_FL: libc::c_int = 0x0000_0004;

/// Turns data checksums of the file or directory of `h` on (`on`, clears FS_NOCOW_FL) or off
/// (sets it). A regular file must be empty for the state to change; the result is read back,
/// so a file system that ignored the request is reported as [`SetOutcome::NotEmpty`].
pub fn set_checksummed(h: &dyn Handle, on: bool) -> VfsResult<SetOutcome> {
    if h.as_any().is::<StreamHandle>() {
        return Ok(if on {
            SetOutcome::Done
        } else {
            SetOutcome::Metadata
        });
    }
    let fd = LocalHandle::downcast(h)?.raw();
    let f = get_flags(fd).map_err(VfsError::from_errno)?;
    if (f & FS_NOCOW_FL == 0) == on {
        return Ok(SetOutcome::Done);
    }
    if !on && f & FS_COMPR_FL != 0 {
        return Ok(SetOutcome::Compressed);
    }
    let (is_dir, size) = kind_and_size(fd).map_err(VfsError::from_errno)?;
    if !is_dir && size != 0 {
        return Ok(SetOutcome::NotEmpty);
    }
    let want = if on {
        f & !FS_NOCOW_FL
    } else {
        f | FS_NOCOW_FL
    };
    set_flags(fd, want).map_err(VfsError::from_errno)?;
    let now = get_flags(fd).map_err(VfsError::from_errno)?;
    Ok(if (now & FS_NOCOW_FL == 0) == on {
        SetOutcome::Done
    } else {
        SetOutcome::NotEmpty
    })
}
