//! SET_INFO with InfoType SMB2_0_INFO_FILE (MS-SMB2 3.3.5.21.1; MS-FSA 2.1.5.14 per class;
//! MS-FSCC 2.4 layouts).
//!
//! Access needed per class (MS-SMB2 3.3.5.21.1 / MS-FSA): FILE_WRITE_ATTRIBUTES for
//! FileBasicInformation, FILE_WRITE_DATA for end of file, allocation and valid data length,
//! DELETE for rename and disposition, FILE_WRITE_EA for FileFullEaInformation; position and
//! mode need none. A buffer shorter than the class's structure is INFO_LENGTH_MISMATCH.
//!
//! Times in FileBasicInformation (MS-FSA 2.1.5.14.2): 0 leaves a time unchanged, -1 stops
//! this handle's LastWriteTime updates and -2 resumes them ([`times`]); on the other times
//! -1 and -2 leave the value as it is. Any FileBasicInformation, and a set of end of file or
//! allocation, applies the handle's pending LastWriteTime update first.
use super::{ea, file_of, need, vfs_of, DELETE, FILE_WRITE_ATTRIBUTES, FILE_WRITE_DATA};
use super::{times, FILE_APPEND_DATA, FILE_WRITE_EA};
use crate::server::dispatch::Ctx;
use crate::server::handlers::files;
use crate::server::open::{FileOpen, Open};
use crate::server::session::TreeConnect;
use crate::vfs::{SetTimes, SharePath, FILE_ATTRIBUTE_READONLY};
use crate::wire::change_notify::{completion_filter as cf, notify_action as na};
use crate::wire::info::ea::FileFullEaInformation;
use crate::wire::info::file::*;
use crate::wire::info::FileInformationClass as C;
use crate::wire::set_info::SetInfoRequest;
use crate::wire::{Error as WireError, NtStatus};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// STATUS_EA_LIST_INCONSISTENT (MS-ERREF).
pub const EA_LIST_INCONSISTENT: NtStatus = NtStatus(0x8000_0014);

/// FileModeInformation bits a client may set (MS-FSA 2.1.5.14.9).
const FILE_WRITE_THROUGH: u32 = 0x0000_0002;
const FILE_SEQUENTIAL_ONLY: u32 = 0x0000_0004;
const FILE_NO_INTERMEDIATE_BUFFERING: u32 = 0x0000_0008;
const FILE_SYNCHRONOUS_IO_ALERT: u32 = 0x0000_0010;
const FILE_SYNCHRONOUS_IO_NONALERT: u32 = 0x0000_0020;

/// Tells directory watchers about a change of `path` (MS-SMB2 3.3.5.19 via the notify bus).
fn notify(ctx: &Ctx, open: &Open, path: &SharePath, action: u32, filter: u32) {
    crate::server::dir_lease::child_changed(&ctx.conn.server, open, path);
    crate::server::notify_bus::report(
        &ctx.conn.server,
        &open.tree.share.name,
        path,
        action,
        filter,
    );
}

fn length(e: WireError) -> NtStatus {
    match e {
        WireError::Truncated => NtStatus::INFO_LENGTH_MISMATCH,
        _ => NtStatus::INVALID_PARAMETER,
    }
}

fn writable(tree: &TreeConnect) -> Result<(), NtStatus> {
    if tree.share.config.read_only {
        Err(NtStatus::MEDIA_WRITE_PROTECTED)
    } else {
        Ok(())
    }
}

async fn run<T: Send + 'static>(
    f: impl FnOnce() -> crate::vfs::VfsResult<T> + Send + 'static,
) -> Result<T, NtStatus> {
    files::blocking(f).await?.map_err(|e| e.status())
}

/// Applies one file information class.
pub async fn set(
    ctx: &Ctx,
    open: &Arc<Open>,
    tree: &Arc<TreeConnect>,
    req: &SetInfoRequest,
) -> Result<(), NtStatus> {
    let f = file_of(open)?;
    let buf = &req.buffer[..];
    match C(req.file_info_class) {
        C::FILE_BASIC_INFORMATION => {
            need(open, FILE_WRITE_ATTRIBUTES)?;
            writable(tree)?;
            let info = FileBasicInformation::decode(buf).map_err(length)?;
            set_basic(f, open.file_id.volatile, &info).await?;
            let mut filter = 0;
            if info.file_attributes != 0 {
                filter |= cf::FILE_NOTIFY_CHANGE_ATTRIBUTES;
            }
            for (t, bit) in [
                (info.creation_time, cf::FILE_NOTIFY_CHANGE_CREATION),
                (info.last_access_time, cf::FILE_NOTIFY_CHANGE_LAST_ACCESS),
                (info.last_write_time, cf::FILE_NOTIFY_CHANGE_LAST_WRITE),
            ] {
                if matches!(TimeUpdate::from_filetime(t), TimeUpdate::Set(_)) {
                    filter |= bit;
                }
            }
            if filter != 0 {
                notify(
                    ctx,
                    open,
                    &f.handle.path(),
                    na::FILE_ACTION_MODIFIED,
                    filter,
                );
            }
            Ok(())
        }
        C::FILE_RENAME_INFORMATION => {
            need(open, DELETE)?;
            writable(tree)?;
            let info = FileRenameInformation::decode(buf).map_err(length)?;
            if super::set_stream::is_stream_rename(f, &info) {
                return super::set_stream::rename(ctx, open, f, &info).await;
            }
            rename(ctx, open, f, &info, false).await
        }
        C::FILE_LINK_INFORMATION => {
            writable(tree)?;
            let info = FileLinkInformation::decode(buf).map_err(length)?;
            rename(ctx, open, f, &info, true).await
        }
        C::FILE_DISPOSITION_INFORMATION => {
            need(open, DELETE)?;
            writable(tree)?;
            let info = FileDispositionInformation::decode(buf).map_err(length)?;
            disposition(f, info.delete_pending, false).await
        }
        C::FILE_DISPOSITION_INFORMATION_EX => {
            need(open, DELETE)?;
            writable(tree)?;
            let info = FileDispositionInformationEx::decode(buf).map_err(length)?;
            let delete = info.flags & disposition_ex::DELETE != 0;
            let ignore_ro = info.flags & disposition_ex::IGNORE_READONLY_ATTRIBUTE != 0;
            if info.flags & disposition_ex::ON_CLOSE != 0 {
                f.delete_on_close.store(delete, Ordering::SeqCst);
                return Ok(());
            }
            // POSIX_SEMANTICS: the name would leave the namespace when this handle closes;
            // the backend deletes on the last close, which clients observe the same way
            // unless they look for the name while other handles stay open.
            disposition(f, delete, ignore_ro).await
        }
        C::FILE_POSITION_INFORMATION => {
            let info = FilePositionInformation::decode(buf).map_err(length)?;
            let mode = f.mode.load(Ordering::Relaxed);
            if info.current_byte_offset > i64::MAX as u64
                || (mode & FILE_NO_INTERMEDIATE_BUFFERING != 0
                    && info.current_byte_offset % 512 != 0)
            {
                return Err(NtStatus::INVALID_PARAMETER);
            }
            f.position
                .store(info.current_byte_offset, Ordering::Relaxed);
            Ok(())
        }
        C::FILE_MODE_INFORMATION => {
            let info = FileModeInformation::decode(buf).map_err(length)?;
            let allowed = FILE_WRITE_THROUGH
                | FILE_SEQUENTIAL_ONLY
                | FILE_NO_INTERMEDIATE_BUFFERING
                | FILE_SYNCHRONOUS_IO_ALERT
                | FILE_SYNCHRONOUS_IO_NONALERT;
            if info.mode & !allowed != 0 {
                return Err(NtStatus::INVALID_PARAMETER);
            }
            let sync = FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT;
            let cur = f.mode.load(Ordering::Relaxed);
            if info.mode & sync != cur & sync || info.mode & FILE_NO_INTERMEDIATE_BUFFERING != 0 {
                // MS-FSA 2.1.5.14.9: the synchronous-I/O and buffering modes are fixed at
                // open time.
                if info.mode & sync != cur & sync {
                    return Err(NtStatus::INVALID_PARAMETER);
                }
            }
            f.mode.store(
                (cur & (sync | FILE_NO_INTERMEDIATE_BUFFERING))
                    | (info.mode & (FILE_WRITE_THROUGH | FILE_SEQUENTIAL_ONLY)),
                Ordering::Relaxed,
            );
            Ok(())
        }
        C::FILE_END_OF_FILE_INFORMATION => {
            need(open, FILE_WRITE_DATA)?;
            writable(tree)?;
            let info = FileEndOfFileInformation::decode(buf).map_err(length)?;
            if f.is_dir || info.end_of_file > i64::MAX as u64 {
                return Err(NtStatus::INVALID_PARAMETER);
            }
            // MS-FSA 2.1.4.12: a size change breaks level II oplocks.
            f.state.break_read_caching(open.file_id.volatile);
            size_change(f, open, info.end_of_file, false).await?;
            let path = f.handle.path();
            if path.stream().is_some() {
                notify(
                    ctx,
                    open,
                    &path,
                    na::FILE_ACTION_MODIFIED_STREAM,
                    cf::FILE_NOTIFY_CHANGE_STREAM_SIZE,
                );
            } else {
                notify(
                    ctx,
                    open,
                    &path,
                    na::FILE_ACTION_MODIFIED,
                    cf::FILE_NOTIFY_CHANGE_SIZE,
                );
            }
            Ok(())
        }
        C::FILE_ALLOCATION_INFORMATION => {
            need(open, FILE_WRITE_DATA | FILE_APPEND_DATA)?;
            writable(tree)?;
            let info = FileAllocationInformation::decode(buf).map_err(length)?;
            if f.is_dir || info.allocation_size > i64::MAX as u64 {
                return Err(NtStatus::INVALID_PARAMETER);
            }
            f.state.break_read_caching(open.file_id.volatile);
            size_change(f, open, info.allocation_size, true).await
        }
        C::FILE_VALID_DATA_LENGTH_INFORMATION => {
            need(open, FILE_WRITE_DATA)?;
            writable(tree)?;
            let info = FileValidDataLengthInformation::decode(buf).map_err(length)?;
            let st = super::stat(f).await?;
            if f.is_dir || info.valid_data_length > st.size {
                return Err(NtStatus::INVALID_PARAMETER);
            }
            Ok(())
        }
        C::FILE_FULL_EA_INFORMATION => {
            need(open, FILE_WRITE_EA)?;
            writable(tree)?;
            let list = FileFullEaInformation::decode_list(buf).map_err(|_| EA_LIST_INCONSISTENT)?;
            if list.is_empty() {
                return Err(NtStatus::INVALID_PARAMETER);
            }
            let h = f.handle.clone();
            files::blocking(move || ea::apply(h.as_ref(), &list)).await??;
            notify(
                ctx,
                open,
                &f.handle.path(),
                na::FILE_ACTION_MODIFIED,
                cf::FILE_NOTIFY_CHANGE_EA,
            );
            Ok(())
        }
        C::FILE_SHORT_NAME_INFORMATION
        | C::FILE_PIPE_INFORMATION
        | C::FILE_OBJECT_ID_INFORMATION
        | C::FILE_TRACKING_INFORMATION
        | C::FILE_QUOTA_INFORMATION
        | C::FILE_MOVE_CLUSTER_INFORMATION
        | C::FILE_SFIO_RESERVE_INFORMATION
        | C::FILE_RENAME_INFORMATION_EX
        | C::FILE_LINK_INFORMATION_EX
        | C::FILE_CASE_SENSITIVE_INFORMATION => Err(NtStatus::NOT_SUPPORTED),
        _ => Err(NtStatus::INVALID_INFO_CLASS),
    }
}

/// Sets the end of file or allocation size through `open`, with the LastWriteTime update
/// either makes (MS-FSA 2.1.5.14.4, [`times`]).
async fn size_change(
    f: &FileOpen,
    open: &Open,
    size: u64,
    allocation: bool,
) -> Result<(), NtStatus> {
    f.state.odx.note_truncate(f.state.key, size);
    let h = f.handle.clone();
    let need_base = times::needs_base(f);
    let base = run(move || {
        let base = if need_base {
            Some(h.stat()?.last_write_time)
        } else {
            None
        };
        if allocation {
            h.allocate(size)?;
        } else {
            h.set_len(size)?;
        }
        Ok(base)
    })
    .await?;
    times::after_change(f, open.file_id.volatile, base, times::Change::Size);
    Ok(())
}

/// FileBasicInformation (MS-FSA 2.1.5.14.2) through open `id`: a pending LastWriteTime
/// update happens first, 0 leaves a time as it is, -1 stops and -2 resumes this open's
/// LastWriteTime updates ([`times`]), other values are set.
async fn set_basic(f: &FileOpen, id: u64, info: &FileBasicInformation) -> Result<(), NtStatus> {
    let times = [
        info.creation_time,
        info.last_access_time,
        info.last_write_time,
        info.change_time,
    ];
    let mut set = [None; 4];
    for (slot, t) in set.iter_mut().zip(times) {
        match TimeUpdate::from_filetime(t) {
            TimeUpdate::Set(v) if v > i64::MAX as u64 => return Err(NtStatus::INVALID_PARAMETER),
            TimeUpdate::Set(v) => *slot = Some(v),
            TimeUpdate::Unchanged | TimeUpdate::SuspendUpdates | TimeUpdate::ResumeUpdates => {}
        }
    }
    let attrs = info.file_attributes;
    if attrs != 0 {
        if attrs & attributes::DIRECTORY != 0 && !f.is_dir {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        if attrs & attributes::TEMPORARY != 0 && f.is_dir {
            return Err(NtStatus::INVALID_PARAMETER);
        }
    }
    let times = SetTimes {
        creation_time: set[0],
        last_access_time: set[1],
        last_write_time: set[2],
        change_time: set[3],
    };
    let write = match TimeUpdate::from_filetime(info.last_write_time) {
        TimeUpdate::Unchanged => times::BasicWrite::Unchanged,
        TimeUpdate::SuspendUpdates => times::BasicWrite::Freeze,
        TimeUpdate::ResumeUpdates => times::BasicWrite::Thaw,
        TimeUpdate::Set(v) => times::BasicWrite::Set(v),
    };
    let need_base = write == times::BasicWrite::Freeze && times::needs_base(f);
    let h = f.handle.clone();
    let current = run(move || {
        let current = if need_base {
            Some(h.stat()?.last_write_time)
        } else {
            None
        };
        if times != SetTimes::default() {
            h.set_times(&times)?;
        }
        if attrs != 0 {
            // FILE_ATTRIBUTE_NORMAL alone clears the stored attributes.
            let keep = attrs & !attributes::DIRECTORY;
            h.set_dos_attributes(if keep == 0 { attributes::NORMAL } else { keep })?;
        }
        Ok(current)
    })
    .await?;
    if !f.is_dir {
        f.state.times.set_basic(id, write, current);
    }
    Ok(())
}

/// FileDispositionInformation (MS-FSA 2.1.5.14.3): marks the file delete-pending, or clears
/// the mark.
async fn disposition(f: &FileOpen, delete: bool, ignore_readonly: bool) -> Result<(), NtStatus> {
    if delete {
        let h = f.handle.clone();
        let is_dir = f.is_dir;
        let stream = h.path().stream().is_some();
        run(move || {
            let st = h.stat()?;
            if !stream && !ignore_readonly && st.attributes & FILE_ATTRIBUTE_READONLY != 0 {
                return Err(NtStatus::CANNOT_DELETE.into());
            }
            if is_dir {
                let mut entries = h.list_dir()?;
                if let Some(e) = entries.next() {
                    e?;
                    return Err(NtStatus::DIRECTORY_NOT_EMPTY.into());
                }
            }
            Ok(())
        })
        .await?;
    }
    f.state.inner.lock().delete_pending = delete;
    if !delete {
        f.delete_on_close.store(false, Ordering::SeqCst);
    }
    // The name goes away when the last handle closes; close reports the removal.
    Ok(())
}

/// Whether another open of the same share lies beneath the directory `dir`.
fn has_open_beneath(server: &crate::server::Server, open: &Open, dir: &SharePath) -> bool {
    server.opens.any(|o| {
        o.file_id != open.file_id
            && Arc::ptr_eq(&o.tree.share, &open.tree.share)
            && o.file().is_some_and(|of| {
                let p = of.handle.path();
                p.components().len() > dir.components().len() && p.starts_with(dir)
            })
    })
}

/// A rename into a directory that is open with DELETE access elsewhere is a sharing violation,
/// and into a delete-pending one STATUS_DELETE_PENDING (as Windows; smb2.oplock.exclusive6,
/// batch19).
async fn dst_parent_check(
    server: &Arc<crate::server::Server>,
    vfs: &Arc<dyn crate::vfs::Share>,
    to: &SharePath,
) -> Result<(), NtStatus> {
    let vfs = vfs.clone();
    let parent = to.parent();
    let st = files::blocking(move || {
        let req = crate::vfs::OpenRequest {
            read: false,
            ..Default::default()
        };
        vfs.open(&parent, &req).and_then(|(h, _)| h.stat()).ok()
    })
    .await?;
    let Some(st) = st else {
        return Ok(());
    };
    let key = crate::server::handlers::create::state_key(&st, None);
    let state = server.files.get_or_create(key);
    let r = {
        let inner = state.inner.lock();
        if inner.delete_pending {
            Err(NtStatus::DELETE_PENDING)
        } else if inner
            .opens
            .iter()
            .any(|e| e.access & crate::server::file_state::DELETE != 0)
        {
            Err(NtStatus::SHARING_VIOLATION)
        } else {
            Ok(())
        }
    };
    drop(state);
    server.files.forget(key);
    r
}

/// Parses the target name of a rename or link like a CREATE name (MS-SMB2 3.3.5.21.1).
fn target_path(name: &str) -> Result<SharePath, NtStatus> {
    if name.is_empty() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    SharePath::parse(name).map_err(|e| e.status())
}

/// FileRenameInformation (MS-FSA 2.1.5.14.11) and FileLinkInformation (2.1.5.14.6).
async fn rename(
    ctx: &Ctx,
    open: &Open,
    f: &FileOpen,
    info: &FileRenameInformation,
    link: bool,
) -> Result<(), NtStatus> {
    if info.root_directory != 0 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if link && f.is_dir {
        return Err(NtStatus::FILE_IS_A_DIRECTORY);
    }
    if !link {
        // Other leases lose H first, and the rename waits for them (smb2.lease.rename_wait).
        f.state.break_handle_caching(open.file_id.volatile).await;
    }
    let vfs = vfs_of(open)?;
    let source = f.handle.path();
    let mut to = if let Some(stream) = info.file_name.strip_prefix(':') {
        // A stream rename: ":new[:$DATA]" renames the stream of the same file.
        if link {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let base = source.without_stream().to_smb_string();
        target_path(&format!("{base}:{stream}"))?
    } else {
        target_path(&info.file_name)?
    };
    if to.is_root() {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if to.has_trailing_separator() {
        to = SharePath::from_components(to.components().iter().cloned()).map_err(|e| e.status())?;
    }
    let replace = info.replace_if_exists;
    let server = ctx.conn.server.clone();
    if f.is_dir && !link && has_open_beneath(&server, open, &source) {
        // MS-FSA 2.1.5.14.11: a directory with open files beneath it cannot be renamed.
        return Err(NtStatus::ACCESS_DENIED);
    }
    if !link && to.stream().is_none() {
        dst_parent_check(&server, &vfs, &to).await?;
    }
    let h = f.handle.clone();
    let probe_vfs = vfs.clone();
    let probe_to = to.clone();
    // MS-FSA 2.1.5.14.11: an existing target that is open elsewhere cannot be replaced.
    let target = files::blocking(move || {
        let req = crate::vfs::OpenRequest {
            read: false,
            ..Default::default()
        };
        match probe_vfs.open(&probe_to, &req) {
            Ok((t, _)) => t.stat().map(Some),
            Err(_) => Ok(None),
        }
    })
    .await?
    .map_err(|e: crate::vfs::VfsError| e.status())?;
    if let (true, Some(tst)) = (replace, target) {
        let own = super::stat(f).await?;
        let same = own.dev == tst.dev && own.file_id == tst.file_id;
        if !same {
            let key = crate::server::handlers::create::state_key(&tst, to.stream());
            let state = server.files.get_or_create(key);
            let busy = !state.inner.lock().opens.is_empty();
            drop(state);
            server.files.forget(key);
            if busy {
                return Err(NtStatus::ACCESS_DENIED);
            }
        }
    }
    let target = to.clone();
    run(move || {
        if link {
            vfs.link(h.as_ref(), &to, replace)
        } else {
            vfs.rename(h.as_ref(), &to, replace)
        }
    })
    .await?;
    let name_filter = if f.is_dir {
        cf::FILE_NOTIFY_CHANGE_DIR_NAME
    } else {
        cf::FILE_NOTIFY_CHANGE_FILE_NAME
    };
    if link {
        notify(ctx, open, &target, na::FILE_ACTION_ADDED, name_filter);
    } else if source.stream().is_some() || target.stream().is_some() {
        notify(
            ctx,
            open,
            &source,
            na::FILE_ACTION_REMOVED_STREAM,
            cf::FILE_NOTIFY_CHANGE_STREAM_NAME,
        );
        notify(
            ctx,
            open,
            &target,
            na::FILE_ACTION_ADDED_STREAM,
            cf::FILE_NOTIFY_CHANGE_STREAM_NAME,
        );
    } else {
        // Old/new name within one directory, removed/added across directories (MS-FSA
        // 2.1.5.14.11).
        crate::server::notify_bus::report_rename(
            &ctx.conn.server,
            &open.tree.share.name,
            &source,
            &target,
            name_filter,
        );
        crate::server::dir_lease::renamed(&ctx.conn.server, open, &source, &target);
    }
    Ok(())
}
