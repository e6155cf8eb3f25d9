//! The share backend: everything the server does to files goes through [`Share`] and
//! [`Handle`]. [`local::LocalShare`] is the POSIX (Linux) implementation.
//!
//! The API is synchronous and thread-safe: the server calls it from a blocking pool
//! (`tokio::task::spawn_blocking`), never from reactor threads.
//!
//! # Confinement (local backend)
//! The share root is held open as a directory fd; every operation is relative to it. Paths are
//! resolved with `openat2(2)` and `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`, plus
//! `RESOLVE_NO_SYMLINKS` unless the share is configured to follow links (then a link may only
//! lead somewhere beneath the root). If the kernel lacks openat2 (ENOSYS), resolution walks one
//! validated component at a time with `openat(O_PATH | O_DIRECTORY | O_NOFOLLOW)`; components
//! never contain `/` and are never `.`/`..` ([`SharePath`]), so the walk cannot leave the tree.
//! The last component is opened with `O_NOFOLLOW` relative to the resolved parent fd, so a
//! symlink swapped in during a race is refused, never followed. Extended attributes are read
//! and written through the opened fd (or its `/proc/self/fd/N` magic link for O_PATH fds);
//! path-based xattr calls that could follow links are never used on client-supplied names.
//! Symbolic links are shown in listings but cannot be opened (ACCESS_DENIED) unless followed.
//!
//! # Case-insensitive lookup
//! On by default ([`local::LocalOptions::case_insensitive`]). When a component does not exist
//! exactly, the directory is scanned for a name equal under simple case folding (per-char
//! `to_lowercase` when it yields one char). Scans are cached per directory, keyed by
//! (device, inode, mtime in ns); a directory modified less than two seconds before its scan is
//! not cached (mtime granularity). Creating `FOO` when `foo` exists opens/collides with `foo`.
//!
//! # Metadata stored in extended attributes (`user.*` namespace)
//! - `user.DOSATTRIB`: DOS attributes and creation time, rsmbd binary format, little-endian:
//!   `version: u16 = 0x8001` (high bit set so it never parses as Samba's NDR blobs, versions 1–5,
//!   or Samba's legacy ASCII `0x..` form), `attributes: u32` (MS-FSCC 2.6 FILE_ATTRIBUTE_*,
//!   without DIRECTORY/NORMAL, which are derived), `creation_time: u64` (FILETIME, 0 = unset).
//!   14 bytes; longer values are accepted (extra bytes ignored), other versions are ignored.
//!   Creation time reported = the stored one if set, else statx birth time, else
//!   min(mtime, ctime). Attributes reported: stored ones (default ARCHIVE for a file with no
//!   xattr), plus DIRECTORY for directories; a file with none reports NORMAL (MS-FSCC 2.6).
//!   READONLY is honoured on open: a write or overwrite open of a READONLY file is
//!   ACCESS_DENIED (MS-FSA 2.1.5.1.2.1); it is ignored on directories.
//! - `user.NTACL`: the security descriptor, raw self-relative bytes (MS-DTYP 2.4.6), opaque here.
//! - `user.DosStream.<name>:$DATA`: alternate data stream `<name>` (MS-FSCC 2.1.5.1 stream
//!   names). Stream size is limited to the file system's xattr value limit (probed at start,
//!   [`FsCapabilities::max_stream_size`]: 64 KiB at most, ~4 KiB on ext4 without `ea_inode`);
//!   a write or set_len beyond it fails with FILE_SYSTEM_LIMITATION; an ENOSPC from the file
//!   system (xattr space of the inode exhausted) is DISK_FULL. Stream I/O is read-modify-write
//!   of the value, serialized per (file, stream) by a striped lock.
//! - SMB extended attributes ([`Handle::get_xattr`]) map to `user.<name>`; the names above are
//!   reserved and hidden.
//!
//! # Deletion and renames
//! Windows deletes on close; the server decides when and calls [`Share::delete`] (by handle:
//! `unlinkat` relative to the parent fd of the handle's current name after checking the inode
//! still matches) or [`Share::unlink`]/[`Share::rmdir`]. Renames use `renameat2` with
//! `RENAME_NOREPLACE` unless replacing (MS-FSA 2.1.5.14.11).
//!
//! Spec references: MS-SMB2 2.2.13 (CreateDisposition, CreateOptions), 2.2.14 (CreateAction),
//! MS-FSA 2.1.5.1 (open), 2.1.5.14.11 (rename), MS-FSCC 2.1.5 (names), 2.6 (attributes).

mod attrs;
mod ci_cache;
pub mod compress;
pub mod copy;
mod dir;
pub mod error;
mod handle;
pub mod integrity;
pub mod local;
mod ops;
pub mod path;
mod stream;
mod sys;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::Arc;

pub use error::{VfsError, VfsResult};
pub use path::SharePath;

/// FILE_ATTRIBUTE_READONLY (MS-FSCC 2.6).
pub const FILE_ATTRIBUTE_READONLY: u32 = 0x0000_0001;
/// FILE_ATTRIBUTE_HIDDEN.
pub const FILE_ATTRIBUTE_HIDDEN: u32 = 0x0000_0002;
/// FILE_ATTRIBUTE_SYSTEM.
pub const FILE_ATTRIBUTE_SYSTEM: u32 = 0x0000_0004;
/// FILE_ATTRIBUTE_DIRECTORY.
pub const FILE_ATTRIBUTE_DIRECTORY: u32 = 0x0000_0010;
/// FILE_ATTRIBUTE_ARCHIVE.
pub const FILE_ATTRIBUTE_ARCHIVE: u32 = 0x0000_0020;
/// FILE_ATTRIBUTE_NORMAL.
pub const FILE_ATTRIBUTE_NORMAL: u32 = 0x0000_0080;
/// FILE_ATTRIBUTE_TEMPORARY.
pub const FILE_ATTRIBUTE_TEMPORARY: u32 = 0x0000_0100;
/// FILE_ATTRIBUTE_SPARSE_FILE.
pub const FILE_ATTRIBUTE_SPARSE_FILE: u32 = 0x0000_0200;
/// FILE_ATTRIBUTE_REPARSE_POINT (symbolic links show it).
pub const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x0000_0400;
/// FILE_ATTRIBUTE_COMPRESSED (MS-FSCC 2.6): derived from the file system's compression flag.
pub const FILE_ATTRIBUTE_COMPRESSED: u32 = 0x0000_0800;
/// The attributes stored in `user.DOSATTRIB` (everything but DIRECTORY and NORMAL).
pub const STORED_ATTRIBUTES_MASK: u32 = !(FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_NORMAL);

/// CreateDisposition (MS-SMB2 2.2.13).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CreateDisposition {
    /// FILE_SUPERSEDE: replace if it exists, else create.
    Supersede,
    /// FILE_OPEN: open if it exists, else fail.
    Open,
    /// FILE_CREATE: fail if it exists, else create.
    Create,
    /// FILE_OPEN_IF: open if it exists, else create.
    OpenIf,
    /// FILE_OVERWRITE: truncate if it exists, else fail.
    Overwrite,
    /// FILE_OVERWRITE_IF: truncate if it exists, else create.
    OverwriteIf,
}

/// CreateAction of the response (MS-SMB2 2.2.14).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CreateAction {
    /// FILE_SUPERSEDED (0).
    Superseded = 0,
    /// FILE_OPENED (1).
    Opened = 1,
    /// FILE_CREATED (2).
    Created = 2,
    /// FILE_OVERWRITTEN (3).
    Overwritten = 3,
}

/// What the server asks the backend to open. Access checks happen above; `write` makes the
/// backend open the file read-write.
#[derive(Clone, Debug)]
pub struct OpenRequest {
    /// CreateDisposition.
    pub disposition: CreateDisposition,
    /// `Some(true)` for FILE_DIRECTORY_FILE, `Some(false)` for FILE_NON_DIRECTORY_FILE.
    pub directory: Option<bool>,
    /// Data will be read.
    pub read: bool,
    /// Data or metadata will be written (opens O_RDWR for files).
    pub write: bool,
    /// FILE_WRITE_THROUGH: open with O_DSYNC.
    pub write_through: bool,
    /// FileAttributes of the request, applied when a file is created, overwritten or superseded.
    pub create_attributes: u32,
    /// AllocationSize of the request (preallocated on create/overwrite; 0 = none).
    pub allocation_size: u64,
}

impl Default for OpenRequest {
    fn default() -> Self {
        OpenRequest {
            disposition: CreateDisposition::Open,
            directory: None,
            read: true,
            write: false,
            write_through: false,
            create_attributes: 0,
            allocation_size: 0,
        }
    }
}

/// Result of a successful open besides the handle.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct OpenOutcome {
    /// What was done.
    pub action: CreateAction,
}

/// Metadata of a file, directory or stream, times as FILETIME (100 ns since 1601).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct FileStat {
    /// EndOfFile (stream size for a stream).
    pub size: u64,
    /// AllocationSize: blocks × 512.
    pub allocation_size: u64,
    /// CreationTime.
    pub creation_time: u64,
    /// LastAccessTime.
    pub last_access_time: u64,
    /// LastWriteTime (mtime).
    pub last_write_time: u64,
    /// ChangeTime (ctime).
    pub change_time: u64,
    /// Inode number (FileId / IndexNumber).
    pub file_id: u64,
    /// Device number (VolumeSerialNumber source).
    pub dev: u64,
    /// NumberOfLinks.
    pub nlink: u32,
    /// True for directories.
    pub is_dir: bool,
    /// FileAttributes as reported to clients.
    pub attributes: u32,
}

/// Times to set; `None` leaves a time unchanged. The SMB special values (0, -1, -2) are the
/// server's business. ChangeTime cannot be set on Linux and is ignored.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SetTimes {
    /// CreationTime (stored in `user.DOSATTRIB`).
    pub creation_time: Option<u64>,
    /// LastAccessTime.
    pub last_access_time: Option<u64>,
    /// LastWriteTime.
    pub last_write_time: Option<u64>,
    /// ChangeTime (ignored).
    pub change_time: Option<u64>,
}

/// File system capabilities probed when the share is opened.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct FsCapabilities {
    /// Lookups are case-insensitive (emulated, see module doc).
    pub case_insensitive: bool,
    /// FICLONE works on this file system (copy offload by reflink).
    pub reflink: bool,
    /// Holes can be punched and queried.
    pub sparse: bool,
    /// `user.*` extended attributes work.
    pub xattrs: bool,
    /// Named streams are available (needs xattrs).
    pub streams: bool,
    /// Largest stream (xattr value) the file system accepts.
    pub max_stream_size: usize,
    /// FS_COMPR_FL can be set (btrfs): FILE_FILE_COMPRESSION, see [`compress`].
    pub compression: bool,
    /// The device discards (FITRIM works): SSINFO_FLAGS_TRIM_ENABLED.
    pub trim: bool,
    /// The file system checksums file data and FS_NOCOW_FL toggles it (btrfs):
    /// FILE_SUPPORT_INTEGRITY_STREAMS and the integrity FSCTLs, see [`integrity`].
    pub integrity: bool,
}

/// Volume information (statvfs) and capabilities.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct FsInfo {
    /// Total size in bytes.
    pub total_bytes: u64,
    /// Free bytes (including root-reserved).
    pub free_bytes: u64,
    /// Bytes available to the service account.
    pub available_bytes: u64,
    /// Fundamental block size (f_frsize).
    pub block_size: u64,
    /// Longest file name in bytes.
    pub name_max: u64,
    /// `statfs.f_type` (0xEF53 ext4, 0x58465342 xfs, ...).
    pub fs_type: u64,
    /// Device id of the root (VolumeSerialNumber source).
    pub dev: u64,
    /// Capabilities.
    pub capabilities: FsCapabilities,
}

/// Kind of a directory entry (from d_type; `Unknown` when the file system does not say).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EntryKind {
    /// Regular file.
    File,
    /// Directory.
    Directory,
    /// Symbolic link.
    Symlink,
    /// Device, FIFO or socket.
    Other,
    /// Not reported; stat the entry.
    Unknown,
}

/// One directory entry. `.` and `..` are never yielded (the server synthesizes them).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DirEntry {
    /// The name (entries whose on-disk name is not valid UTF-8 are skipped).
    pub name: String,
    /// Inode number.
    pub ino: u64,
    /// Kind.
    pub kind: EntryKind,
}

/// A streamed directory listing (QUERY_DIRECTORY). Holds its own descriptor and a fixed
/// buffer; entries are read in batches.
pub trait DirStream: Iterator<Item = VfsResult<DirEntry>> + Send {
    /// Restarts from the first entry (SMB2_RESTART_SCANS / SMB2_REOPEN).
    fn rewind(&mut self) -> VfsResult<()>;
    /// Stats an entry of this directory (never following a symlink).
    fn stat_entry(&self, entry: &DirEntry) -> VfsResult<FileStat>;
    /// An opaque cookie for the position after the last yielded entry.
    fn tell(&self) -> u64;
    /// Resumes at a cookie from [`DirStream::tell`].
    fn seek(&mut self, cookie: u64) -> VfsResult<()>;
    /// Bytes of directory data currently buffered (bounded by the batch size).
    fn buffered_bytes(&self) -> usize;
}

/// A share: the root of an exported tree.
pub trait Share: Send + Sync + 'static {
    /// Opens or creates `path` (MS-FSA 2.1.5.1); a path with a stream opens that stream,
    /// creating the file first if the disposition allows.
    fn open(
        &self,
        path: &SharePath,
        req: &OpenRequest,
    ) -> VfsResult<(Arc<dyn Handle>, OpenOutcome)>;
    /// Renames the object of `from` to `to` (MS-FSA 2.1.5.14.11); fails with
    /// OBJECT_NAME_COLLISION if `to` exists and `!replace`, ACCESS_DENIED if it is a directory.
    fn rename(&self, from: &dyn Handle, to: &SharePath, replace: bool) -> VfsResult<()>;
    /// Adds a hard link `new_path` to the file of `existing` (FileLinkInformation).
    fn link(&self, existing: &dyn Handle, new_path: &SharePath, replace: bool) -> VfsResult<()>;
    /// Deletes the object of `handle` now (the server calls this at delete-on-close time).
    /// A stream handle removes the stream.
    fn delete(&self, handle: &dyn Handle) -> VfsResult<()>;
    /// Removes the non-directory `path`.
    fn unlink(&self, path: &SharePath) -> VfsResult<()>;
    /// Removes the empty directory `path`.
    fn rmdir(&self, path: &SharePath) -> VfsResult<()>;
    /// Volume sizes and capabilities.
    fn fs_info(&self) -> VfsResult<FsInfo>;
    /// Whether the share's file system can share extents (reflink, probed when the share is
    /// opened): FILE_SUPPORTS_BLOCK_REFCOUNTING, FSCTL_DUPLICATE_EXTENTS_TO_FILE.
    fn supports_block_refcounting(&self) -> bool {
        false
    }
}

/// An open file, directory or stream.
pub trait Handle: Send + Sync + Any {
    /// Reads at `offset`; returns the bytes read (0 at end of file).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> VfsResult<usize>;
    /// Writes at `offset`; returns the bytes written.
    fn write_at(&self, data: &[u8], offset: u64) -> VfsResult<usize>;
    /// Reads at `offset` only if that cannot block (the data is in the page cache):
    /// `None` means "would block, use [`Handle::read_at`] on the blocking pool". The async
    /// reactor may call this one directly; a short count means only part was cached.
    fn try_read_at(&self, _buf: &mut [u8], _offset: u64) -> Option<VfsResult<usize>> {
        None
    }
    /// Writes at `offset` only if that cannot block (`None`: use [`Handle::write_at`] on the
    /// blocking pool). A short count means only part could be written without blocking.
    fn try_write_at(&self, _data: &[u8], _offset: u64) -> Option<VfsResult<usize>> {
        None
    }
    /// Flushes data to stable storage (fdatasync; fsync for directories).
    fn flush(&self) -> VfsResult<()>;
    /// Metadata.
    fn stat(&self) -> VfsResult<FileStat>;
    /// Sets times.
    fn set_times(&self, times: &SetTimes) -> VfsResult<()>;
    /// Sets EndOfFile.
    fn set_len(&self, len: u64) -> VfsResult<()>;
    /// Sets AllocationSize: truncates if below EndOfFile, preallocates otherwise.
    fn allocate(&self, len: u64) -> VfsResult<()>;
    /// Sets DOS attributes (DIRECTORY and NORMAL are derived and ignored; 0 leaves them).
    fn set_dos_attributes(&self, attrs: u32) -> VfsResult<()>;
    /// Lists a directory.
    fn list_dir(&self) -> VfsResult<Box<dyn DirStream>>;
    /// Gets an SMB extended attribute (`user.<name>`); `None` if absent.
    fn get_xattr(&self, name: &str) -> VfsResult<Option<Vec<u8>>>;
    /// Sets an SMB extended attribute.
    fn set_xattr(&self, name: &str, value: &[u8]) -> VfsResult<()>;
    /// Removes an SMB extended attribute (absent is not an error).
    fn remove_xattr(&self, name: &str) -> VfsResult<()>;
    /// Lists SMB extended attribute names (reserved names hidden).
    fn list_xattr(&self) -> VfsResult<Vec<String>>;
    /// The stored security descriptor, if any.
    fn security_descriptor(&self) -> VfsResult<Option<Vec<u8>>>;
    /// Stores a security descriptor.
    fn set_security_descriptor(&self, sd: &[u8]) -> VfsResult<()>;
    /// Named streams with their sizes (the default `::$DATA` is not included).
    fn streams(&self) -> VfsResult<Vec<(String, u64)>>;
    /// Deallocates a range (FSCTL_SET_ZERO_DATA): reads as zeros afterwards.
    fn punch_hole(&self, offset: u64, len: u64) -> VfsResult<()>;
    /// Allocated ranges (offset, length) within `[offset, offset + len)`, at most `max_ranges`.
    fn allocated_ranges(
        &self,
        offset: u64,
        len: u64,
        max_ranges: usize,
    ) -> VfsResult<Vec<(u64, u64)>>;
    /// Reflinks `len` bytes of `src` at `src_off` to `dst_off` of this file (FICLONERANGE);
    /// NOT_SUPPORTED where the file system cannot.
    fn clone_range(&self, src: &dyn Handle, src_off: u64, dst_off: u64, len: u64) -> VfsResult<()>;
    /// Copies `len` bytes (copy_file_range, falling back to read/write); returns bytes copied
    /// (fewer at end of source).
    fn copy_range(&self, src: &dyn Handle, src_off: u64, dst_off: u64, len: u64) -> VfsResult<u64>;
    /// The current name within the share (updated by renames through this handle).
    fn path(&self) -> SharePath;
    /// True for directories.
    fn is_dir(&self) -> bool;
    /// For downcasting by the backend.
    fn as_any(&self) -> &dyn Any;
}
