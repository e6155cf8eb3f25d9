//! CHANGE_NOTIFY (MS-SMB2 3.3.5.19).
use crate::server::dispatch::{Ctx, Outcome, Reply};
use crate::wire::NtStatus;

/// Directory change notification.
pub async fn handle(_ctx: Ctx) -> Outcome {
    Outcome::Reply(Reply::error(NtStatus::NOT_SUPPORTED))
}
