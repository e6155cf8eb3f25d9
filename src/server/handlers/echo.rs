//! ECHO (MS-SMB2 3.3.5.18).
use super::{bad_request, body_of};
use crate::server::dispatch::{Ctx, Reply};
use crate::wire::echo::{EchoRequest, EchoResponse};
use crate::wire::NtStatus;

/// Answers an ECHO.
pub async fn handle(ctx: Ctx) -> Result<Reply, NtStatus> {
    EchoRequest::decode(&ctx.msg).map_err(bad_request)?;
    Ok(Reply::ok(body_of(|b| EchoResponse.encode(b))))
}
