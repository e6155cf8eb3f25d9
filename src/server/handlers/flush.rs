//! FLUSH (MS-SMB2 3.3.5.11).
use super::{bad_request, files};
use crate::server::dispatch::{Ctx, Reply};
use crate::wire::flush::FlushRequest;
use crate::wire::NtStatus;

/// Flushes an open's data to stable storage.
pub async fn handle(ctx: Ctx) -> Result<Reply, NtStatus> {
    let req = FlushRequest::decode(&ctx.msg).map_err(bad_request)?;
    let _open = files::find_open(&ctx, req.file_id)?;
    Err(NtStatus::NOT_SUPPORTED)
}
