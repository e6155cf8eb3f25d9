//! QUERY_INFO (MS-SMB2 3.3.5.20) and SET_INFO (3.3.5.21).
use crate::server::dispatch::{Ctx, Reply};
use crate::wire::NtStatus;

/// QUERY_INFO.
pub async fn query(_ctx: Ctx) -> Result<Reply, NtStatus> {
    Err(NtStatus::NOT_SUPPORTED)
}

/// SET_INFO.
pub async fn set(_ctx: Ctx) -> Result<Reply, NtStatus> {
    Err(NtStatus::NOT_SUPPORTED)
}
