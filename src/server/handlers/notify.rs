//! CHANGE_NOTIFY (MS-SMB2 3.3.5.19; MS-FSA 2.1.5.10).
//!
//! Only directory opens with FILE_LIST_DIRECTORY may watch (else STATUS_INVALID_PARAMETER /
//! STATUS_ACCESS_DENIED); OutputBufferLength may not exceed the negotiated MaxTransactSize.
//! Changes already queued on the open ([`crate::server::notify_bus`]) answer at once;
//! otherwise the request goes asynchronous and completes with the next change, with
//! STATUS_CANCELLED on CANCEL, STATUS_NOTIFY_CLEANUP when the directory handle is closed
//! (CLOSE, TREE_DISCONNECT, LOGOFF, disconnect) and STATUS_DELETE_PENDING when the directory
//! is marked for deletion. Waiting requests on one open are answered in arrival order.
use super::{bad_request, body_of, files};
use crate::server::dispatch::{Cancel, Ctx, Outcome, PendingOp, Reply};
use crate::server::file_state::FILE_READ_DATA;
use crate::server::notify_bus::Watch;
use crate::server::open::Open;
use crate::server::Server;
use crate::wire::change_notify::{
    encode_notify_information, ChangeNotifyRequest, ChangeNotifyResponse, SMB2_WATCH_TREE,
};
use crate::wire::{Bytes, BytesMut, NtStatus};
use std::sync::Arc;
use std::time::Duration;

/// FILE_LIST_DIRECTORY (same bit as FILE_READ_DATA).
const FILE_LIST_DIRECTORY: u32 = FILE_READ_DATA;

/// How often a waiting request checks that its open still exists and is not delete-pending.
const POLL: Duration = Duration::from_millis(100);

/// The reply carrying `events`.
fn events_reply(events: &[(u32, String)]) -> Reply {
    let mut out = BytesMut::new();
    encode_notify_information(events, &mut out);
    let resp = ChangeNotifyResponse {
        output: Bytes::from(out),
    };
    Reply::ok(body_of(|b| resp.encode(b)))
}

fn taken(r: Result<Vec<(u32, String)>, NtStatus>) -> Reply {
    match r {
        Ok(e) => events_reply(&e),
        Err(s) => Reply::error(s),
    }
}

/// Handles CHANGE_NOTIFY.
pub async fn handle(ctx: Ctx) -> Outcome {
    match start(&ctx) {
        Ok(Ok(reply)) => Outcome::Reply(reply),
        Ok(Err((open, watch, len))) => Outcome::Pending(wait(&ctx, open, watch, len)),
        Err(s) => Outcome::Reply(Reply::error(s)),
    }
}

type Started = Result<Reply, (Arc<Open>, Arc<Watch>, u32)>;

fn max_transact(ctx: &Ctx) -> u32 {
    if ctx.dialect() == 0x0202 {
        65536
    } else {
        ctx.conn.server.config.limits.max_message_size
    }
}

fn start(ctx: &Ctx) -> Result<Started, NtStatus> {
    let req = ChangeNotifyRequest::decode(&ctx.msg).map_err(bad_request)?;
    let open = files::find_open(ctx, req.file_id)?;
    let file = open.file().ok_or(NtStatus::INVALID_PARAMETER)?;
    if !file.is_dir {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if open.granted_access & FILE_LIST_DIRECTORY == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if req.output_buffer_length > max_transact(ctx) {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if file.state.inner.lock().delete_pending {
        return Err(NtStatus::DELETE_PENDING);
    }
    let server = &ctx.conn.server;
    let watch = server.notify.watch(
        open.file_id,
        open.session_id,
        open.tree.id,
        &open.tree.share.name,
        file.handle.path(),
        req.completion_filter,
        req.flags & SMB2_WATCH_TREE != 0,
        req.output_buffer_length,
    );
    let len = req.output_buffer_length.min(watch.max_bytes);
    if !watch.has_waiters() {
        if let Some(r) = watch.take(len) {
            return Ok(Ok(taken(r)));
        }
    }
    Ok(Err((open, watch, len)))
}

/// Why a waiting request ends without changes, if it does.
fn ended(server: &Server, open: &Open, cancel: &Cancel) -> Option<NtStatus> {
    if cancel.is_cancelled() {
        return Some(NtStatus::CANCELLED);
    }
    // The open is gone (CLOSE, TREE_DISCONNECT, LOGOFF, disconnect) or its session is (a
    // failed re-authentication ends the session, MS-SMB2 3.3.5.5.3).
    if server
        .opens
        .get(open.file_id, open.session_id, open.tree.id)
        .is_none()
        || !server.sessions.contains_key(&open.session_id)
    {
        server.notify.forget(open.file_id);
        return Some(NtStatus::NOTIFY_CLEANUP);
    }
    let pending = open
        .file()
        .is_some_and(|f| f.state.inner.lock().delete_pending);
    pending.then_some(NtStatus::DELETE_PENDING)
}

/// A waiting request's place in its watch's queue; leaving (also by being dropped) lets the
/// next request look.
struct Ticket {
    id: u64,
    watch: Arc<Watch>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.watch.dequeue_waiter(self.id);
    }
}

fn wait(ctx: &Ctx, open: Arc<Open>, watch: Arc<Watch>, len: u32) -> PendingOp {
    let cancel = Cancel::new();
    let c = cancel.clone();
    let server = ctx.conn.server.clone();
    let ticket = Ticket {
        id: watch.enqueue_waiter(),
        watch: watch.clone(),
    };
    let fut = async move {
        let ticket = ticket;
        let reply = loop {
            let woken = watch.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if let Some(s) = ended(&server, &open, &c) {
                break Reply::error(s);
            }
            if watch.is_first(ticket.id) {
                if let Some(r) = watch.take(len) {
                    break taken(r);
                }
            }
            tokio::select! {
                _ = woken => {}
                _ = c.cancelled() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        };
        drop(ticket);
        reply
    };
    PendingOp {
        fut: Box::pin(fut),
        cancel,
    }
}

pub use crate::server::notify_bus::report;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::change_notify::notify_action::FILE_ACTION_ADDED;

    #[test]
    fn reply_encodes_entries() {
        let r = events_reply(&[(FILE_ACTION_ADDED, "a".into())]);
        // StructureSize 9, offset 0x48, length 14 (12 + 2), then the entry.
        assert_eq!(&r.body[..8], &[9, 0, 0x48, 0, 14, 0, 0, 0]);
        assert_eq!(r.body.len(), 8 + 14);
        assert_eq!(
            taken(Err(NtStatus::NOTIFY_ENUM_DIR)).status,
            NtStatus::NOTIFY_ENUM_DIR
        );
    }
}
