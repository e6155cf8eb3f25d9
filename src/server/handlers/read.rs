//! READ (MS-SMB2 3.3.5.12).
use super::{bad_request, files, pipe};
use crate::server::dispatch::{Ctx, Reply};
use crate::wire::read::ReadRequest;
use crate::wire::NtStatus;

/// Reads from a file or pipe.
pub async fn handle(ctx: Ctx) -> Result<Reply, NtStatus> {
    let req = ReadRequest::decode(&ctx.msg).map_err(bad_request)?;
    let open = files::find_open(&ctx, req.file_id)?;
    if files::is_pipe(&open) {
        return pipe::read(&open, &req);
    }
    Err(NtStatus::NOT_SUPPORTED)
}
