//! CLOSE (MS-SMB2 3.3.5.10).
use super::{bad_request, body_of, files};
use crate::server::dispatch::{Ctx, Reply};
use crate::server::open::Open;
use crate::server::Server;
use crate::wire::close::{CloseRequest, CloseResponse};
use crate::wire::NtStatus;
use std::sync::Arc;

/// Closes an open.
pub async fn handle(ctx: Ctx) -> Result<Reply, NtStatus> {
    let req = CloseRequest::decode(&ctx.msg).map_err(bad_request)?;
    let open = files::find_open(&ctx, req.file_id)?;
    ctx.conn.server.opens.remove(open.file_id);
    files::close_open(&ctx.conn.server, open).await?;
    Ok(Reply::ok(body_of(|b| CloseResponse::default().encode(b))))
}

/// Releases a file open's state (share entry, locks, delete-on-close).
pub async fn finish(_server: &Arc<Server>, _open: Arc<Open>) -> Result<(), NtStatus> {
    Ok(())
}
