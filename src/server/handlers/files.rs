//! Routing of the commands that work on opens (CREATE through OPLOCK_BREAK), and cleanup of
//! opens when a tree, a session or a connection goes away.
use super::{
    close, create, dir, flush, info, ioctl, lock, notify, oplock_break, pipe, read, write,
};
use crate::server::dispatch::{Ctx, Outcome, Reply};
use crate::server::open::{Open, OpenKind};
use crate::server::session::Session;
use crate::server::Server;
use crate::wire::{Command, FileId, NtStatus};
use std::sync::Arc;

/// Runs the handler of a file command.
pub async fn handle(ctx: Ctx) -> Outcome {
    match ctx.hdr.command {
        Command::CREATE => create::handle(ctx).await,
        Command::CLOSE => close::handle(ctx).await.into(),
        Command::FLUSH => flush::handle(ctx).await.into(),
        Command::READ => read::handle(ctx).await.into(),
        Command::WRITE => write::handle(ctx).await.into(),
        Command::LOCK => lock::handle(ctx).await,
        Command::IOCTL => match ioctl::handle(ctx).await {
            Err(s) if s == ioctl::DISCONNECT => {
                Outcome::Disconnect("VALIDATE_NEGOTIATE_INFO mismatch")
            }
            r => r.into(),
        },
        Command::QUERY_DIRECTORY => dir::handle(ctx).await.into(),
        Command::CHANGE_NOTIFY => notify::handle(ctx).await,
        Command::QUERY_INFO => info::query(ctx).await.into(),
        Command::SET_INFO => info::set(ctx).await.into(),
        Command::OPLOCK_BREAK => oplock_break::handle(ctx).await.into(),
        _ => Outcome::Reply(Reply::error(NtStatus::INVALID_PARAMETER)),
    }
}

/// The open a request names: its FileId, or in a related compound request the FileId of
/// all ones meaning the previous request's (MS-SMB2 3.3.5.2.7.2).
pub fn find_open(ctx: &Ctx, id: FileId) -> Result<Arc<Open>, NtStatus> {
    let id = if id == FileId::ANY {
        ctx.related_file_id.ok_or(NtStatus::FILE_CLOSED)?
    } else {
        id
    };
    let open = ctx
        .conn
        .server
        .opens
        .get(id, ctx.session_id, ctx.tree_id)
        .ok_or(NtStatus::FILE_CLOSED)?;
    ctx.conn.server.durable.note_used(open.file_id);
    Ok(open)
}

/// Closes one open: releases its share entry and locks, and performs delete-on-close when it
/// was the last open of a file marked for deletion. Blocking work runs off the reactor.
pub async fn close_open(server: &Arc<Server>, open: Arc<Open>) -> Result<(), NtStatus> {
    server.opens.release_slot(open.session_id);
    server.durable.forget(open.file_id);
    match &open.kind {
        OpenKind::Pipe(_) => Ok(()),
        OpenKind::File(_) => close::finish(server, open).await,
    }
}

/// Closes every open of a session, durable ones included (a failed re-authentication).
pub async fn close_session(server: &Arc<Server>, session: &Session) {
    let sid = session.id;
    for o in server.opens.drain_where(|o| o.session_id == sid) {
        let _ = close_open(server, o).await;
    }
}

/// Ends the opens of a session that went away (LOGOFF, its last connection dropped, or a new
/// session named it as PreviousSessionId): durable opens are kept, disconnected,
/// for a reconnect (MS-SMB2 3.3.7.1, [`crate::server::durable`]); the others close.
pub async fn disconnect_session(server: &Arc<Server>, session: &Session) {
    let sid = session.id;
    for o in server.opens.drain_where(|o| o.session_id == sid) {
        if server.durable.get(o.file_id).is_some() {
            server.opens.release_slot(o.session_id);
            match server.durable.park(server, o) {
                Ok(()) => continue,
                Err(o) => {
                    // Not kept after all: close it (the slot was given back above).
                    server.durable.forget(o.file_id);
                    if let OpenKind::File(_) = o.kind {
                        let _ = close::finish(server, o).await;
                    }
                    continue;
                }
            }
        }
        let _ = close_open(server, o).await;
    }
}

/// Closes every open of a tree connect (TREE_DISCONNECT).
pub async fn close_tree(server: &Arc<Server>, session: &Session, tree_id: u32) {
    let sid = session.id;
    for o in server
        .opens
        .drain_where(|o| o.session_id == sid && o.tree.id == tree_id)
    {
        let _ = close_open(server, o).await;
    }
}

/// Runs blocking file-system work on the blocking pool, never on a reactor thread.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, NtStatus> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| NtStatus::INTERNAL_ERROR)
}

/// Whether this is a pipe open.
pub fn is_pipe(open: &Open) -> bool {
    matches!(open.kind, OpenKind::Pipe(_))
}

pub use pipe::pipe_of;
