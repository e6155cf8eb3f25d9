//! WRITE (MS-SMB2 3.3.5.13).
use super::{bad_request, files, pipe};
use crate::server::dispatch::{Ctx, Reply};
use crate::wire::write::WriteRequest;
use crate::wire::NtStatus;

/// Writes to a file or pipe.
pub async fn handle(ctx: Ctx) -> Result<Reply, NtStatus> {
    let req = WriteRequest::decode(&ctx.msg).map_err(bad_request)?;
    let open = files::find_open(&ctx, req.file_id)?;
    if files::is_pipe(&open) {
        return pipe::write(&open, &req);
    }
    Err(NtStatus::NOT_SUPPORTED)
}
