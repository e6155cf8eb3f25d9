//! LOGOFF (MS-SMB2 3.3.5.6): ends the session and everything opened in it.
use super::{bad_request, body_of};
use crate::server::dispatch::{Ctx, Reply};
use crate::wire::logoff::{LogoffRequest, LogoffResponse};
use crate::wire::NtStatus;

/// Ends the session.
pub async fn handle(ctx: Ctx) -> Result<Reply, NtStatus> {
    LogoffRequest::decode(&ctx.msg).map_err(bad_request)?;
    let session = ctx.session()?.clone();
    ctx.conn.server.sessions.remove(&session.id);
    crate::server::handlers::files::close_session(&ctx.conn.server, &session).await;
    Ok(Reply::ok(body_of(|b| LogoffResponse.encode(b))))
}
