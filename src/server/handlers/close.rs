//! CLOSE (MS-SMB2 3.3.5.10) and the release of an open's state (MS-FSA 2.1.5.4 cleanup,
//! 2.1.5.5 close).
//!
//! [`finish`] is the one place an open of a disk file goes away — CLOSE, LOGOFF, TREE_DISCONNECT
//! and the loss of a connection all come through it ([`super::files::close_open`]). It removes
//! the open's share entry and byte-range locks; an open with delete-on-close set
//! (FILE_DELETE_ON_CLOSE at CREATE) marks the file delete-pending (MS-FSA 2.1.5.4), and when
//! the last open of a delete-pending file goes, the file is deleted through the VFS. A delete
//! that fails (a directory that is no longer empty) leaves the object in place; the CLOSE
//! still succeeds, as on Windows.
//!
//! LastWriteTime (MS-FSA 2.1.5.4, [`times`]): a closing open that wrote applies its
//! outstanding update, and the time the server reported is written to the backend before
//! the POSTQUERY_ATTRIB answer. Without SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB every field of the
//! response is zero (MS-SMB2 3.3.5.10).
use super::info::{query_file, times};
use super::{bad_request, body_of, files};
use crate::server::dispatch::{Ctx, Reply};
use crate::server::open::{FileOpen, Open};
use crate::server::Server;
use crate::vfs::SetTimes;
use crate::wire::close::{CloseRequest, CloseResponse, SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB};
use crate::wire::NtStatus;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tracing::debug;

/// Closes an open.
pub async fn handle(ctx: Ctx) -> Result<Reply, NtStatus> {
    let req = CloseRequest::decode(&ctx.msg).map_err(bad_request)?;
    let open = files::find_open(&ctx, req.file_id)?;
    let server = ctx.conn.server.clone();
    if server.opens.remove(open.file_id).is_none() {
        // Closed concurrently by another request.
        return Err(NtStatus::FILE_CLOSED);
    }
    let mut resp = CloseResponse::default();
    if let Some(f) = open.file() {
        crate::server::dir_lease::before_close(&server, &open);
        persist_times(f, open.file_id.volatile).await;
    }
    if req.flags & SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB != 0 {
        if let Some(f) = open.file() {
            let h = f.handle.clone();
            if let Ok(Ok(mut st)) = files::blocking(move || h.stat()).await {
                times::adjust(f, &mut st);
                resp.flags = SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB;
                resp.creation_time = st.creation_time;
                resp.last_access_time = st.last_access_time;
                resp.last_write_time = st.last_write_time;
                resp.change_time = query_file::change_time(&st);
                if !st.is_dir {
                    resp.allocation_size = st.allocation_size;
                    resp.end_of_file = st.size;
                }
                resp.file_attributes = st.attributes;
            }
        }
    }
    files::close_open(&server, open).await?;
    Ok(Reply::ok(body_of(|b| resp.encode(b))))
}

/// Applies the LastWriteTime update a closing open owes (MS-FSA 2.1.5.4; [`times`]) and
/// writes the time the server kept for the file to the backend.
async fn persist_times(f: &FileOpen, id: u64) {
    let Some(value) = f.state.times.closing(id) else {
        return;
    };
    let h = f.handle.clone();
    let set = SetTimes {
        last_write_time: Some(value),
        ..SetTimes::default()
    };
    match files::blocking(move || h.set_times(&set)).await {
        Ok(Ok(())) => f.state.times.persisted(value),
        Ok(Err(e)) => debug!(status = ?e.status(), "keeping the write time failed"),
        Err(_) => {}
    }
}

/// Releases a file open's state: share entry, locks, delete-on-close, and the FileState when
/// no open uses it any more. The open must already be out of the open table.
pub async fn finish(server: &Arc<Server>, open: Arc<Open>) -> Result<(), NtStatus> {
    let Some(f) = open.file() else {
        return Ok(());
    };
    let state = f.state.clone();
    let id = open.file_id.volatile;
    persist_times(f, id).await;
    if f.delete_on_close.load(Ordering::SeqCst) {
        state.inner.lock().delete_pending = true;
    }
    let last = state.release_open(id);
    let delete = last
        && state.inner.lock().delete_pending
        && !super::create::streams::has_open_streams(server, state.key);
    if delete {
        if let Some(vfs) = open.tree.share.vfs.clone() {
            let h = f.handle.clone();
            let path = f.handle.path();
            match files::blocking(move || vfs.delete(&*h)).await {
                Ok(Ok(())) => {
                    use crate::wire::change_notify::{
                        completion_filter as cf, notify_action as na,
                    };
                    let (act, filter) = if path.stream().is_some() {
                        (
                            na::FILE_ACTION_REMOVED_STREAM,
                            cf::FILE_NOTIFY_CHANGE_STREAM_NAME,
                        )
                    } else if f.is_dir {
                        (na::FILE_ACTION_REMOVED, cf::FILE_NOTIFY_CHANGE_DIR_NAME)
                    } else {
                        (na::FILE_ACTION_REMOVED, cf::FILE_NOTIFY_CHANGE_FILE_NAME)
                    };
                    crate::server::notify_bus::report(
                        server,
                        &open.tree.share.name,
                        &path,
                        act,
                        filter,
                    );
                    crate::server::dir_lease::child_changed(server, &open, &path);
                }
                Ok(Err(e)) => {
                    debug!(name = %open.name, status = ?e.status(), "delete on close failed")
                }
                Err(_) => {}
            }
        }
        // The object is gone (or stays): a later open starts afresh.
        state.inner.lock().delete_pending = false;
    }
    // A stream open releases its hold on the base file (which may now be deleted).
    super::create::streams::detach(server, &open).await;
    let key = state.key;
    drop(state);
    // The FileOpen holds the last strong reference; forget the entry once it is gone.
    let server2 = server.clone();
    drop(open);
    server2.files.forget(key);
    Ok(())
}
