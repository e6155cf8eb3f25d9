//! FLUSH (MS-SMB2 3.3.5.11; MS-FSA 2.1.5.6): the open must have been granted FILE_WRITE_DATA
//! or FILE_APPEND_DATA (else STATUS_ACCESS_DENIED); the data then goes to stable storage
//! (fdatasync, fsync for a directory) before the reply.
use super::{bad_request, body_of, files};
use crate::server::dispatch::{Ctx, Reply};
use crate::wire::create::access_mask as am;
use crate::wire::flush::{FlushRequest, FlushResponse};
use crate::wire::NtStatus;

/// Flushes an open's data to stable storage.
pub async fn handle(ctx: Ctx) -> Result<Reply, NtStatus> {
    let req = FlushRequest::decode(&ctx.msg).map_err(bad_request)?;
    let open = files::find_open(&ctx, req.file_id)?;
    if files::is_pipe(&open) {
        return Ok(Reply::ok(body_of(|b| FlushResponse.encode(b))));
    }
    let f = open.file().ok_or(NtStatus::INVALID_HANDLE)?;
    if open.granted_access & (am::FILE_WRITE_DATA | am::FILE_APPEND_DATA) == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let h = f.handle.clone();
    files::blocking(move || h.flush())
        .await?
        .map_err(|e| e.status())?;
    // MS-FSA 2.1.5.6: a pending LastWriteTime update of the open happens now.
    super::info::times::flushed(f, open.file_id.volatile);
    Ok(Reply::ok(body_of(|b| FlushResponse.encode(b))))
}
