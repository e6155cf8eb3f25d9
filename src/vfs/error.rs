//! Errors of the share backend: an errno from the host file system, or an explicit NTSTATUS.
//!
//! The errno → NTSTATUS mapping follows what Windows servers answer for the equivalent NTFS
//! failure (MS-ERREF 2.3 names; MS-FSA 2.1.5.1 for open failures).

use crate::wire::NtStatus;

/// Result of every backend operation.
pub type VfsResult<T> = Result<T, VfsError>;

/// A backend error: either a host `errno` (mapped lazily by [`VfsError::status`]) or an
/// NTSTATUS chosen explicitly by the backend.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VfsError {
    errno: Option<i32>,
    status: NtStatus,
}

impl VfsError {
    /// An error carrying a host errno. `in_path` is true when the failure happened while walking
    /// the parent directories of the target (ENOENT then means OBJECT_PATH_NOT_FOUND).
    pub fn from_errno_at(errno: i32, in_path: bool) -> VfsError {
        VfsError {
            errno: Some(errno),
            status: map_errno(errno, in_path),
        }
    }

    /// An error carrying a host errno raised on the final component (or on an open handle).
    pub fn from_errno(errno: i32) -> VfsError {
        Self::from_errno_at(errno, false)
    }

    /// The current thread's `errno` (after a failed libc call).
    pub fn last_os_error() -> VfsError {
        Self::from_errno(last_errno())
    }

    /// An explicit NTSTATUS with no errno behind it.
    pub const fn status_only(status: NtStatus) -> VfsError {
        VfsError {
            errno: None,
            status,
        }
    }

    /// The NTSTATUS to send to the client.
    ///
    /// errno mapping: ENOENT → OBJECT_NAME_NOT_FOUND (OBJECT_PATH_NOT_FOUND when a parent
    /// directory is missing), ENOTDIR → OBJECT_PATH_NOT_FOUND, EEXIST → OBJECT_NAME_COLLISION,
    /// EACCES/EPERM → ACCESS_DENIED, EISDIR → FILE_IS_A_DIRECTORY, ENOTEMPTY →
    /// DIRECTORY_NOT_EMPTY, ENOSPC/EDQUOT → DISK_FULL, EXDEV (a resolution that would leave the
    /// share, or a cross-device rename) → NOT_SAME_DEVICE for renames/links and ACCESS_DENIED
    /// during resolution, ELOOP (a symbolic link met where links are not followed) →
    /// ACCESS_DENIED on the final component and OBJECT_PATH_NOT_FOUND in the middle of a path,
    /// ENAMETOOLONG → OBJECT_NAME_INVALID, EROFS → MEDIA_WRITE_PROTECTED, EOPNOTSUPP/ENOTSUP/
    /// ENOSYS → NOT_SUPPORTED, EFBIG → DISK_FULL, E2BIG (xattr value too big) →
    /// FILE_SYSTEM_LIMITATION, ENODATA → OBJECT_NAME_NOT_FOUND, EBADF → INVALID_HANDLE,
    /// EINVAL → INVALID_PARAMETER, ENOMEM → NO_MEMORY, EBUSY/ETXTBSY → SHARING_VIOLATION,
    /// anything else → UNSUCCESSFUL.
    pub fn status(&self) -> NtStatus {
        self.status
    }

    /// The host errno behind this error, if any.
    pub fn errno(&self) -> Option<i32> {
        self.errno
    }

    /// The same error with another NTSTATUS (the errno is kept for logging).
    pub fn with_status(self, status: NtStatus) -> VfsError {
        VfsError {
            errno: self.errno,
            status,
        }
    }
}

/// The errno value left by the last failed libc call on this thread.
pub(crate) fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn map_errno(errno: i32, in_path: bool) -> NtStatus {
    match errno {
        libc::ENOENT if in_path => NtStatus::OBJECT_PATH_NOT_FOUND,
        libc::ENOENT => NtStatus::OBJECT_NAME_NOT_FOUND,
        libc::ENOTDIR => NtStatus::OBJECT_PATH_NOT_FOUND,
        libc::EEXIST => NtStatus::OBJECT_NAME_COLLISION,
        libc::EACCES | libc::EPERM => NtStatus::ACCESS_DENIED,
        libc::EISDIR => NtStatus::FILE_IS_A_DIRECTORY,
        libc::ENOTEMPTY => NtStatus::DIRECTORY_NOT_EMPTY,
        libc::ENOSPC | libc::EDQUOT | libc::EFBIG => NtStatus::DISK_FULL,
        libc::EXDEV => NtStatus::ACCESS_DENIED,
        libc::ELOOP if in_path => NtStatus::OBJECT_PATH_NOT_FOUND,
        libc::ELOOP => NtStatus::ACCESS_DENIED,
        libc::ENAMETOOLONG => NtStatus::OBJECT_NAME_INVALID,
        libc::EROFS => NtStatus::MEDIA_WRITE_PROTECTED,
        libc::EOPNOTSUPP | libc::ENOSYS => NtStatus::NOT_SUPPORTED,
        libc::E2BIG => NtStatus::FILE_SYSTEM_LIMITATION,
        libc::ENODATA => NtStatus::OBJECT_NAME_NOT_FOUND,
        libc::EBADF => NtStatus::INVALID_HANDLE,
        libc::EINVAL => NtStatus::INVALID_PARAMETER,
        libc::ENOMEM => NtStatus::NO_MEMORY,
        libc::EBUSY | libc::ETXTBSY => NtStatus::SHARING_VIOLATION,
        _ => NtStatus::UNSUCCESSFUL,
    }
}

impl std::fmt::Debug for VfsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.errno {
            Some(e) => write!(f, "{:?} (errno {e})", self.status),
            None => write!(f, "{:?}", self.status),
        }
    }
}

impl std::fmt::Display for VfsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl std::error::Error for VfsError {}

impl From<NtStatus> for VfsError {
    fn from(s: NtStatus) -> VfsError {
        VfsError::status_only(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping() {
        assert_eq!(
            VfsError::from_errno(libc::ENOENT).status(),
            NtStatus::OBJECT_NAME_NOT_FOUND
        );
        assert_eq!(
            VfsError::from_errno_at(libc::ENOENT, true).status(),
            NtStatus::OBJECT_PATH_NOT_FOUND
        );
        assert_eq!(
            VfsError::from_errno(libc::EEXIST).status(),
            NtStatus::OBJECT_NAME_COLLISION
        );
        assert_eq!(
            VfsError::from_errno(libc::EROFS).status(),
            NtStatus::MEDIA_WRITE_PROTECTED
        );
        assert_eq!(
            VfsError::from_errno(libc::EEXIST).errno(),
            Some(libc::EEXIST)
        );
        assert_eq!(VfsError::status_only(NtStatus::DISK_FULL).errno(), None);
    }
}
