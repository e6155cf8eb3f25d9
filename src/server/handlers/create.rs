//! CREATE (MS-SMB2 3.3.5.9).
use super::{bad_request, pipe};
use crate::server::dispatch::{self, Ctx, Reply};
use crate::server::share::ShareKind;
use crate::wire::create::CreateRequest;
use crate::wire::NtStatus;

/// Opens or creates a file, directory, stream or pipe.
pub async fn handle(ctx: Ctx) -> Result<Reply, NtStatus> {
    let req = CreateRequest::decode(&ctx.msg).map_err(bad_request)?;
    let tree = dispatch::tree(&ctx)?;
    if tree.share.kind == ShareKind::Ipc {
        return pipe::create(&ctx, tree, &req);
    }
    Err(NtStatus::NOT_SUPPORTED)
}
