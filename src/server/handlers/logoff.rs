//! LOGOFF (MS-SMB2 3.3.5.6): ends the session and everything opened in it, except durable
//! opens, which stay disconnected for a reconnect ([`crate::server::durable`]).
use super::{bad_request, body_of};
use crate::server::dispatch::{Ctx, Reply};
use crate::wire::logoff::{LogoffRequest, LogoffResponse};
use crate::wire::NtStatus;

/// Ends the session.
pub async fn handle(ctx: Ctx) -> Result<Reply, NtStatus> {
    LogoffRequest::decode(&ctx.msg).map_err(bad_request)?;
    let session = ctx.session()?.clone();
    ctx.conn.server.sessions.remove(&session.id);
    // Durable opens are kept for a reconnect from a new session, as Windows and Samba do
    // (smbtorture smb2.durable-open.reopen4); the others close.
    crate::server::handlers::files::disconnect_session(&ctx.conn.server, &session).await;
    Ok(Reply::ok(body_of(|b| LogoffResponse.encode(b))))
}
