//! FSCTLs on files (MS-SMB2 3.3.5.15.x, MS-FSCC 2.3).
use crate::server::dispatch::{Ctx, Reply};
use crate::server::open::Open;
use crate::wire::ioctl::IoctlRequest;
use crate::wire::NtStatus;
use std::sync::Arc;

/// Runs an FSCTL on a file open.
pub async fn handle(_ctx: &Ctx, _open: Arc<Open>, _req: &IoctlRequest) -> Result<Reply, NtStatus> {
    Err(NtStatus::INVALID_DEVICE_REQUEST)
}
