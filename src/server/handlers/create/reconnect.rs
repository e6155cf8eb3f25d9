//! The durable-handle part of CREATE ([`crate::server::durable`] keeps the opens):
//!
//! - [`reconnect`]: DHnC / DH2C (MS-SMB2 3.3.5.9.7, 3.3.5.9.12). Only the reconnect context,
//!   the name (when the open holds a lease) and the lease key count; every other field of the
//!   request is ignored, as on Windows. The open must be disconnected (a connected one, or
//!   none, is STATUS_OBJECT_NAME_NOT_FOUND); a v2 reconnect must carry the open's CreateGuid
//!   (all zero for a v1 open; a v1 reconnect may name either kind); a leased open needs the same ClientGuid and
//!   lease key (else STATUS_OBJECT_NAME_NOT_FOUND) and the same name (else
//!   STATUS_INVALID_PARAMETER); an open without a lease refuses a lease request
//!   (STATUS_OBJECT_NAME_NOT_FOUND); another user is STATUS_ACCESS_DENIED. The open comes back
//!   with its FileId, share entry, locks, oplock or lease, and position; the response carries
//!   FILE_OPENED, the file's attributes, the current oplock level or lease state, and no
//!   durable response context.
//! - [`before_open`]: DH2Q with SMB2_FLAGS_REPLAY_OPERATION naming an open of this session by
//!   its CreateGuid answers that open (3.3.5.9.10) with the original response, adjusted to the
//!   caching asked for (another lease key, or a lease for an open without one, is
//!   STATUS_ACCESS_DENIED; while the original waits for a break, STATUS_FILE_NOT_AVAILABLE); without the flag such a CreateGuid is
//!   STATUS_DUPLICATE_OBJECTID. An AppInstanceId (3.3.5.9.13) closes the durable opens of the
//!   same file made with it under another CreateGuid (a clustered application failing over).
//! - [`grant`]: DHnQ / DH2Q are granted with a batch oplock or a lease with HANDLE caching
//!   (3.3.5.9.6, 3.3.5.9.10). A DH2Q with SMB2_DHANDLE_FLAG_PERSISTENT on a continuously
//!   available share is granted whatever the caching, as a persistent open (Open.IsPersistent;
//!   the response carries the PERSISTENT flag), whose state [`crate::server::persistent`]
//!   keeps across a restart of the server; its DH2C reconnect is the one above, and the
//!   record is written again after it.
use super::contexts::{self, DurableRequest, Reconnect, RequestContexts};
use crate::server::dispatch::{Ctx, Reply};
use crate::server::durable::{self, Durable, Version};
use crate::server::file_state::FileState;
use crate::server::handlers::{body_of, files};
use crate::server::open::{FileOpen, Open, OpenKind};
use crate::server::oplock;
use crate::server::session::{Session, TreeConnect};
use crate::wire::create::{CreateRequest, CreateResponse, OplockLevel};
use crate::wire::create_contexts::{CreateContext, CreateContextData, Lease};
use crate::wire::header::flags;
use crate::wire::{FileId, NtStatus};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

/// Drops the v2 durable contexts below SMB 3.0 (MS-SMB2 3.3.5.9.10 and .12 apply to the 3.x
/// dialect family only).
pub(super) fn strip_for_dialect(cc: &mut RequestContexts, dialect: u16) {
    if dialect >= 0x0300 {
        return;
    }
    if matches!(cc.durable, Some(DurableRequest::V2(_))) {
        cc.durable = None;
    }
    if matches!(cc.reconnect, Some(Reconnect::V2 { .. })) {
        cc.reconnect = None;
    }
}

fn lease_key(l: &Lease) -> [u8; 16] {
    match l {
        Lease::V1(l) => l.lease_key,
        Lease::V2(l) => l.lease_key,
    }
}

fn client_guid(ctx: &Ctx) -> [u8; 16] {
    ctx.conn
        .negotiated
        .lock()
        .as_ref()
        .map(|n| n.client_guid.0)
        .unwrap_or_default()
}

fn user_of(session: &Session) -> Option<String> {
    session
        .state
        .lock()
        .identity
        .as_ref()
        .map(|i| i.user.clone())
}

/// Whether two names the client sent name the same file (case-insensitively, either slash).
fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.replace('/', "\\").to_lowercase();
    norm(a) == norm(b)
}

/// The oplock level of an open and its lease response context, if it holds a lease.
fn caching_of(state: &FileState, open: u64) -> (u8, Option<CreateContext>) {
    let inner = state.inner.lock();
    let o = &inner.oplocks;
    if let Some(l) = o
        .leases
        .iter()
        .find(|l| l.opens.iter().any(|x| x.open == open))
    {
        return (oplock::LEASE, Some(l.reply()));
    }
    (o.level_of(open), None)
}

/// The CREATE response for an existing open (a reconnect or a replay).
async fn existing_open_reply(open: &Open, extra: Vec<CreateContext>) -> Result<Reply, NtStatus> {
    let f = open.file().ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)?;
    let h = f.handle.clone();
    let st = files::blocking(move || h.stat())
        .await?
        .map_err(|e| e.status())?;
    let (level, lease) = caching_of(&f.state, open.file_id.volatile);
    let mut create_contexts: Vec<CreateContext> = lease.into_iter().collect();
    create_contexts.extend(extra);
    let file_id = open.file_id;
    let body = super::response_body(
        level,
        crate::vfs::CreateAction::Opened,
        &st,
        &f.state,
        file_id,
        create_contexts,
    );
    let mut reply = Reply::ok(body);
    reply.file_id = Some(file_id);
    Ok(reply)
}

/// A durable reconnect (DHnC or DH2C).
pub(super) async fn reconnect(
    ctx: &Ctx,
    tree: Arc<TreeConnect>,
    req: &CreateRequest,
    cc: &RequestContexts,
    r: Reconnect,
) -> Result<Reply, NtStatus> {
    let session = ctx.session()?.clone();
    let server = ctx.conn.server.clone();
    let user = user_of(&session);
    let client = client_guid(ctx);
    let name = req.name.as_deref().unwrap_or("");
    let asked_key = cc.lease.as_ref().map(lease_key);
    let (_, old) = server.durable.take(r.file_id(), |d| {
        // Open.CreateGuid of a v1 open is empty: a DH2C with a zero CreateGuid reconnects it
        // (smb2.durable-open.reopen2-lease), one with another CreateGuid does not.
        if let Reconnect::V2 { create_guid, .. } = r {
            let g = match d.version {
                Version::V1 => crate::wire::Guid([0; 16]),
                Version::V2 { create_guid } => create_guid,
            };
            if g != create_guid {
                return Err(NtStatus::OBJECT_NAME_NOT_FOUND);
            }
        }
        if !d.share.eq_ignore_ascii_case(&tree.share.name) {
            return Err(NtStatus::OBJECT_NAME_NOT_FOUND);
        }
        match d.lease_key {
            Some(k) => {
                if asked_key != Some(k) || d.client_guid != client {
                    return Err(NtStatus::OBJECT_NAME_NOT_FOUND);
                }
                if !same_name(name, &d.name) {
                    return Err(NtStatus::INVALID_PARAMETER);
                }
            }
            None if asked_key.is_some() => return Err(NtStatus::OBJECT_NAME_NOT_FOUND),
            None => {}
        }
        if !user
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case(&d.user))
        {
            return Err(NtStatus::ACCESS_DENIED);
        }
        Ok(())
    })?;
    let Some(f) = old.file() else {
        server.durable.put_back(&server, old);
        return Err(NtStatus::OBJECT_NAME_NOT_FOUND);
    };
    let limit = server.config.limits.max_opens_per_session as usize;
    if !server.opens.reserve_slot(session.id, limit) {
        server.durable.put_back(&server, old);
        return Err(NtStatus::INSUFFICIENT_RESOURCES);
    }
    let open = Arc::new(Open {
        file_id: old.file_id,
        session_id: session.id,
        tree,
        granted_access: old.granted_access,
        name: old.name.clone(),
        kind: OpenKind::File(FileOpen {
            handle: f.handle.clone(),
            state: f.state.clone(),
            share_access: f.share_access,
            create_options: f.create_options,
            is_dir: f.is_dir,
            delete_on_close: AtomicBool::new(f.delete_on_close.load(Ordering::SeqCst)),
            position: AtomicU64::new(f.position.load(Ordering::SeqCst)),
            mode: AtomicU32::new(f.mode.load(Ordering::SeqCst)),
            dir: parking_lot::Mutex::new(None),
        }),
    });
    durable::rebind(&f.state, old.file_id.volatile, &ctx.conn, session.id);
    drop(old);
    server.opens.insert(open.clone());
    if server
        .durable
        .get(open.file_id)
        .is_some_and(|d| d.persistent)
    {
        tracing::info!(file_id = ?open.file_id, share = %open.tree.share.name, name = %open.name, "persistent handle reclaimed");
    } else {
        tracing::debug!(file_id = ?open.file_id, "durable open reconnected");
    }
    crate::server::persistent::save(&server, &open).await;
    match existing_open_reply(&open, Vec::new()).await {
        Ok(reply) => Ok(reply),
        Err(s) => {
            // The open is back in the table; the client may still close it.
            Err(s)
        }
    }
}

/// DH2Q replay detection and AppInstanceId, before a new open is made. Answers the reply of a
/// replayed CREATE.
pub(super) async fn before_open(
    ctx: &Ctx,
    tree: &TreeConnect,
    name: &str,
    requested: u8,
    cc: &RequestContexts,
) -> Result<Option<Reply>, NtStatus> {
    let Some(DurableRequest::V2(r)) = cc.durable else {
        return Ok(None);
    };
    let server = ctx.conn.server.clone();
    let client = client_guid(ctx);
    let replay = ctx.hdr.flags & flags::REPLAY_OPERATION != 0;
    if replay
        && server
            .durable
            .is_in_flight(client, r.create_guid, request_id(ctx))
    {
        // The original CREATE is still waiting for a break (smb2.replay.dhv2-pending*-sane).
        return Err(NtStatus::FILE_NOT_AVAILABLE);
    }
    if let Some(d) = server.durable.by_create_guid(client, r.create_guid) {
        if !replay {
            return Err(NtStatus::DUPLICATE_OBJECTID);
        }
        if let Some(open) = server.opens.get(d.file_id, ctx.session_id, ctx.tree_id) {
            // MS-SMB2 3.3.5.9.10: a replay must ask for the open's lease, or for none if
            // it has none.
            let asked = cc.lease.as_ref().map(lease_key);
            let lease_ok = match d.lease_key {
                Some(k) => asked == Some(k),
                None => asked.is_none() || requested != oplock::LEASE,
            };
            if !lease_ok {
                return Err(NtStatus::ACCESS_DENIED);
            }
            if let Some(reply) = replayed(&open, &d, requested, cc) {
                return Ok(Some(reply));
            }
            let resp = d
                .granted
                .then(|| contexts::durable_response(&DurableRequest::V2(r), ms(d.timeout)));
            return existing_open_reply(&open, resp.into_iter().collect())
                .await
                .map(Some);
        }
    }
    if let Some(app) = cc.app_instance_id {
        for d in server.durable.by_app_instance(app) {
            let other =
                matches!(d.version, Version::V2 { create_guid } if create_guid != r.create_guid);
            if !other
                || !d.share.eq_ignore_ascii_case(&tree.share.name)
                || !same_name(&d.name, name)
            {
                continue;
            }
            if server.durable.close_parked(&server, d.file_id).await {
                continue;
            }
            // Connected: closed as the server application asks (MS-SMB2 3.3.4.17).
            if let Some(o) = server.opens.by_file_id(d.file_id) {
                if server.opens.remove(o.file_id).is_some() {
                    let _ = files::close_open(&server, o).await;
                }
            }
        }
    }
    Ok(None)
}

/// The answer to a replayed DH2Q CREATE of `open`: the original response (create action,
/// times, sizes, attributes, other contexts), with the caching the replay asks for as far as
/// the open still holds it: no oplock when it asks for none, the lease's current state when
/// it asks for the lease, and the durable context when that caching is durable.
fn replayed(open: &Open, d: &Durable, requested: u8, cc: &RequestContexts) -> Option<Reply> {
    let body = d.replay_reply()?;
    let mut msg = bytes::BytesMut::zeroed(crate::wire::HEADER_LEN);
    msg.extend_from_slice(&body);
    let mut resp = CreateResponse::decode(&msg.freeze()).ok()?;
    let f = open.file()?;
    let (held, lease) = caching_of(&f.state, open.file_id.volatile);
    let (level, lease) = match (held, requested) {
        (oplock::LEASE, oplock::LEASE) if cc.lease.is_some() => (oplock::LEASE, lease),
        (oplock::LEASE, _) | (_, oplock::NONE) | (_, oplock::LEASE) => (oplock::NONE, None),
        (held, _) => (held, None),
    };
    let lease_state = lease
        .as_ref()
        .and_then(|c| Lease::decode(&c.data).ok())
        .map_or(0, |l| match l {
            Lease::V1(l) => l.lease_state,
            Lease::V2(l) => l.lease_state,
        });
    let durable = level == oplock::BATCH || lease_state & crate::server::lease::HANDLE != 0;
    use crate::wire::create_contexts::names;
    resp.create_contexts
        .retain(|c| c.name != names::REQUEST_LEASE && c.name != names::DURABLE_HANDLE_REQUEST_V2);
    resp.create_contexts.extend(lease);
    if durable {
        if let Some(DurableRequest::V2(r)) = cc.durable {
            resp.create_contexts.push(contexts::durable_response(
                &DurableRequest::V2(r),
                ms(d.timeout),
            ));
        }
    }
    resp.oplock_level = OplockLevel(level);
    let file_id = open.file_id;
    let mut reply = Reply::ok(body_of(|b| resp.encode(b)));
    reply.file_id = Some(file_id);
    Some(reply)
}

/// Forgets the in-flight mark of a CREATE that was cancelled while it waited.
pub(super) fn cancelled(ctx: &Ctx) {
    let Ok(req) = CreateRequest::decode(&ctx.msg) else {
        return;
    };
    if let Ok(cc) = contexts::parse(&req.create_contexts) {
        note_in_flight(ctx, &cc, false);
    }
}

/// Records whether a DH2Q CREATE now waits for a break (its replays are refused meanwhile).
pub(super) fn note_in_flight(ctx: &Ctx, cc: &RequestContexts, waiting: bool) {
    if let Some(DurableRequest::V2(r)) = cc.durable {
        ctx.conn.server.durable.note_in_flight(
            client_guid(ctx),
            r.create_guid,
            request_id(ctx),
            waiting,
        );
    }
}

/// The request's identity: its connection and MessageId.
fn request_id(ctx: &Ctx) -> (u64, u64) {
    (ctx.conn.id, ctx.hdr.message_id)
}

fn ms(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// Grants the durable handle a new open asked for, when it got a batch oplock or a lease with
/// HANDLE caching; answers the response context. Every DH2Q open is recorded, granted or not,
/// so that a replay of its CREATE finds it by CreateGuid.
#[allow(clippy::too_many_arguments)]
pub(super) fn grant(
    ctx: &Ctx,
    session: &Session,
    tree: &TreeConnect,
    cc: &RequestContexts,
    file_id: FileId,
    oplock_level: u8,
    lease_reply: Option<&CreateContext>,
    name: &str,
) -> Option<CreateContext> {
    let req = cc.durable?;
    let server = &ctx.conn.server;
    let lease_state = lease_reply
        .and_then(|c| Lease::decode(&c.data).ok())
        .map(|l| match l {
            Lease::V1(l) => l.lease_state,
            Lease::V2(l) => l.lease_state,
        });
    let eligible = match oplock_level {
        oplock::BATCH => true,
        oplock::LEASE => lease_state.is_some_and(|s| s & crate::server::lease::HANDLE != 0),
        _ => false,
    };
    // MS-SMB2 3.3.5.9.10: PERSISTENT on a CA share (3.x only: the context is dropped below).
    let persistent = match req {
        DurableRequest::V2(r) => {
            r.flags & crate::wire::create_contexts::durable_flags::PERSISTENT != 0
                && tree.share.config.continuous_availability
        }
        DurableRequest::V1 => false,
    };
    let eligible = eligible || persistent;
    let limits = &server.config.limits;
    let default = std::time::Duration::from_secs(limits.durable_timeout_secs);
    let max = std::time::Duration::from_secs(limits.durable_max_timeout_secs).max(default);
    let (version, timeout) = match req {
        DurableRequest::V1 => (Version::V1, default),
        DurableRequest::V2(r) => (
            Version::V2 {
                create_guid: r.create_guid,
            },
            durable::granted_timeout(r.timeout, default, max),
        ),
    };
    if !eligible && version == Version::V1 {
        return None;
    }
    let lease_key = if oplock_level == oplock::LEASE {
        cc.lease.as_ref().map(lease_key)
    } else {
        None
    };
    server.durable.insert(
        Durable::new(
            file_id,
            version,
            timeout,
            user_of(session).unwrap_or_default(),
            client_guid(ctx),
            lease_key,
            tree.share.name.clone(),
            name.to_string(),
            cc.app_instance_id,
            eligible,
        )
        .with_persistent(persistent),
    );
    if persistent {
        return Some(
            crate::wire::create_contexts::CreateDurableHandleResponseV2 {
                timeout: ms(timeout),
                flags: crate::wire::create_contexts::durable_flags::PERSISTENT,
            }
            .to_context(),
        );
    }
    eligible.then(|| contexts::durable_response(&req, ms(timeout)))
}
