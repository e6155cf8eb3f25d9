//! LOCK (MS-SMB2 3.3.5.14).
use crate::server::dispatch::{Ctx, Outcome, Reply};
use crate::wire::NtStatus;

/// Byte-range locks.
pub async fn handle(_ctx: Ctx) -> Outcome {
    Outcome::Reply(Reply::error(NtStatus::NOT_SUPPORTED))
}
