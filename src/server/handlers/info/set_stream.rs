//! FileRenameInformation on named streams (MS-FSA 2.1.5.14.11 and 2.1.5.14.11.1, "Algorithm
//! for Performing Stream Rename"; MS-FSCC 2.4.42.2).
//!
//! A new name that begins with `:` renames the stream within its file: `:new`, `:new:$DATA`,
//! or `::$DATA` for the default data stream. An existing target stream is
//! STATUS_OBJECT_NAME_COLLISION without ReplaceIfExists and STATUS_INVALID_PARAMETER when it is
//! not empty; the default stream may be the target only while the file's data is empty (the
//! backend checks both, [`crate::vfs::Share::rename`]). A stream open given a full path instead
//! is refused with STATUS_SHARING_VIOLATION, as Windows answers it (smb2.streams.rename2): a
//! full-path rename would move the whole file, which the stream open itself keeps open. A file
//! (default stream) open cannot be renamed to a named stream (STATUS_NOT_SUPPORTED).
use super::vfs_of;
use crate::server::dispatch::Ctx;
use crate::server::handlers::files;
use crate::server::open::{FileOpen, Open};
use crate::vfs::SharePath;
use crate::wire::change_notify::{completion_filter as cf, notify_action as na};
use crate::wire::info::file::FileRenameInformation;
use crate::wire::NtStatus;

/// True when this rename concerns streams: the open is a stream, or the new name is one.
pub fn is_stream_rename(f: &FileOpen, info: &FileRenameInformation) -> bool {
    f.handle.path().stream().is_some() || info.file_name.starts_with(':')
}

/// The target of a stream rename: the same file with the new stream part (`None`: the default
/// stream). Validated like a CREATE name.
fn target(source: &SharePath, new_name: &str) -> Result<SharePath, NtStatus> {
    let Some(rest) = new_name.strip_prefix(':') else {
        return Err(NtStatus::SHARING_VIOLATION);
    };
    if rest.is_empty() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let base = source.without_stream();
    if base.is_root() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let to =
        SharePath::parse(&format!("{}:{rest}", base.to_smb_string())).map_err(|e| e.status())?;
    if to.without_stream() != base {
        return Err(NtStatus::OBJECT_NAME_INVALID);
    }
    Ok(to)
}

/// Renames a stream (the caller checked DELETE access and a writable share).
pub async fn rename(
    ctx: &Ctx,
    open: &Open,
    f: &FileOpen,
    info: &FileRenameInformation,
) -> Result<(), NtStatus> {
    if info.root_directory != 0 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let source = f.handle.path();
    if source.stream().is_none() {
        // A file's default stream cannot become a named stream here.
        return Err(if f.is_dir {
            NtStatus::INVALID_PARAMETER
        } else {
            NtStatus::NOT_SUPPORTED
        });
    }
    let to = target(&source, &info.file_name)?;
    let vfs = vfs_of(open)?;
    let h = f.handle.clone();
    let replace = info.replace_if_exists;
    let dest = to.clone();
    files::blocking(move || vfs.rename(h.as_ref(), &dest, replace))
        .await?
        .map_err(|e| e.status())?;
    let server = &ctx.conn.server;
    let share = &open.tree.share.name;
    crate::server::notify_bus::report(
        server,
        share,
        &source,
        na::FILE_ACTION_REMOVED_STREAM,
        cf::FILE_NOTIFY_CHANGE_STREAM_NAME,
    );
    let (act, filter) = if to.stream().is_some() {
        (
            na::FILE_ACTION_ADDED_STREAM,
            cf::FILE_NOTIFY_CHANGE_STREAM_NAME,
        )
    } else {
        (na::FILE_ACTION_MODIFIED, cf::FILE_NOTIFY_CHANGE_SIZE)
    };
    crate::server::notify_bus::report(server, share, &to, act, filter);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let src = SharePath::parse("d\\f.txt:one").unwrap();
        let t = target(&src, ":two:$DATA").unwrap();
        assert_eq!(t.stream(), Some("two"));
        assert_eq!(t.components(), ["d", "f.txt"]);
        assert_eq!(target(&src, "::$DATA").unwrap().stream(), None);
        assert_eq!(target(&src, ":").unwrap_err(), NtStatus::INVALID_PARAMETER);
        assert_eq!(
            target(&src, ":a:$FOO").unwrap_err(),
            NtStatus::OBJECT_NAME_INVALID
        );
        assert_eq!(
            target(&src, ":a\\..\\b").unwrap_err(),
            NtStatus::OBJECT_NAME_INVALID
        );
        assert_eq!(
            target(&src, "d\\f.txt:two").unwrap_err(),
            NtStatus::SHARING_VIOLATION
        );
    }
}
