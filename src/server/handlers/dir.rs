//! QUERY_DIRECTORY (MS-SMB2 3.3.5.17).
use crate::server::dispatch::{Ctx, Reply};
use crate::wire::NtStatus;

/// Lists a directory.
pub async fn handle(_ctx: Ctx) -> Result<Reply, NtStatus> {
    Err(NtStatus::NOT_SUPPORTED)
}
