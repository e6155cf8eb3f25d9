//! TREE_CONNECT (MS-SMB2 3.3.5.7) and TREE_DISCONNECT (3.3.5.8).
use super::{bad_request, body_of};
use crate::server::dispatch::{self, Ctx, Reply};
use crate::server::share::ShareKind;
use crate::wire::tree_connect::*;
use crate::wire::tree_disconnect::{TreeDisconnectRequest, TreeDisconnectResponse};
use crate::wire::NtStatus;
use tracing::info;

/// FILE_ALL_ACCESS: what a read-write share grants.
const FULL_ACCESS: u32 = 0x001F_01FF;
/// FILE_GENERIC_READ | FILE_GENERIC_EXECUTE: what a read-only share grants.
const READ_ACCESS: u32 = 0x0012_00A9;

/// Connects to a share.
pub async fn handle(ctx: Ctx) -> Result<Reply, NtStatus> {
    let req = TreeConnectRequest::decode(&ctx.msg).map_err(bad_request)?;
    let session = ctx.session()?.clone();
    // "\\server\share": the share is the last component; no more than server and share.
    let path = req.path.trim_start_matches('\\');
    let mut parts = path.split('\\');
    let (_server, name) = match (parts.next(), parts.next(), parts.next()) {
        (Some(s), Some(n), None) if !n.is_empty() => (s, n),
        _ => return Err(NtStatus::BAD_NETWORK_NAME),
    };
    let server = &ctx.conn.server;
    let share = server.share(name).ok_or(NtStatus::BAD_NETWORK_NAME)?;
    if session.is_anonymous() && share.kind == ShareKind::Disk && !share.config.guest_ok {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let dialect = ctx.dialect();
    let cipher = ctx.conn.negotiated.lock().as_ref().and_then(|n| n.cipher);
    let want_encrypt =
        share.kind == ShareKind::Disk && (share.config.encrypt || server.config.encrypt);
    let mut share_flags = SMB2_SHAREFLAG_MANUAL_CACHING;
    let mut encrypt = false;
    if want_encrypt {
        if dialect < 0x0300 || cipher.is_none() || session.is_anonymous() {
            // MS-SMB2 3.3.5.7: a client that cannot encrypt may not use an encrypted share.
            return Err(NtStatus::ACCESS_DENIED);
        }
        share_flags |= SMB2_SHAREFLAG_ENCRYPT_DATA;
        encrypt = true;
    }
    let (share_type, maximal_access) = match share.kind {
        ShareKind::Disk if share.config.read_only => (ShareType::DISK, READ_ACCESS),
        ShareKind::Disk => (ShareType::DISK, FULL_ACCESS),
        ShareKind::Ipc => (ShareType::PIPE, FULL_ACCESS),
    };
    if share.kind == ShareKind::Ipc {
        share_flags = SMB2_SHAREFLAG_NO_CACHING;
    }
    let tree = session.add_tree(share.clone(), encrypt, maximal_access);
    info!(session = session.id, tree = tree.id, share = %share.name, "tree connected");
    let body = body_of(|b| {
        TreeConnectResponse {
            share_type,
            share_flags,
            capabilities: crate::server::persistent::share_capabilities(&share, dialect),
            maximal_access,
        }
        .encode(b)
    });
    let mut r = Reply::ok(body);
    r.tree_id = Some(tree.id);
    Ok(r)
}

/// Disconnects a tree and closes what was opened through it.
pub async fn disconnect(ctx: Ctx) -> Result<Reply, NtStatus> {
    TreeDisconnectRequest::decode(&ctx.msg).map_err(bad_request)?;
    let tree = dispatch::tree(&ctx)?;
    let session = ctx.session()?.clone();
    session.trees.remove(&tree.id);
    crate::server::handlers::files::close_tree(&ctx.conn.server, &session, tree.id).await;
    Ok(Reply::ok(body_of(|b| TreeDisconnectResponse.encode(b))))
}
