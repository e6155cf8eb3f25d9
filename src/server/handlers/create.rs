//! CREATE (MS-SMB2 3.3.5.9) on disk shares, with the open semantics of MS-FSA 2.1.5.1; CREATE
//! on IPC$ opens a named pipe ([`super::pipe`]).
//!
//! Order of the checks, as Windows does them: request validation (ImpersonationLevel,
//! CreateOptions, FileAttributes, CreateDisposition, DesiredAccess — [`validate`]), the name
//! (invalid UTF-16 → STATUS_OBJECT_NAME_INVALID, a leading `\` → STATUS_INVALID_PARAMETER,
//! then [`SharePath::parse`]), create contexts ([`contexts`]), the per-session open limit
//! (STATUS_INSUFFICIENT_RESOURCES), the share's access ([`access`]), then the open itself on the
//! blocking pool: for overwrite dispositions a sharing pre-check so that a file is never
//! truncated under an open that does not share it, the VFS open, the access check against the
//! file (FILE_ATTRIBUTE_READONLY, the stored security descriptor: [`acl`]), delete-on-close checks (MS-FSA 2.1.5.1.2.1: STATUS_CANNOT_DELETE
//! on a read-only file), and the sharing check with registration of the share entry
//! (MS-FSA 2.1.5.1.2.2, [`crate::server::file_state::sharing_ok`]; a delete-pending file is
//! STATUS_DELETE_PENDING). EAs and the security descriptor of the contexts are applied to a
//! created, overwritten or superseded file. Oplocks ([`oplocks`]) break around the sharing check
//! and are granted with the share entry; a CREATE that must wait for a break goes asynchronous.
//! Leases are granted with the oplocks; durable handles with a batch oplock or a lease with
//! HANDLE caching, and a durable reconnect bypasses all of the above ([`reconnect`],
//! [`crate::server::durable`]).
//! Named streams ([`streams`]) have share modes of their own but are linked to their base
//! file: an open of the file for DELETE must be shared by every open stream, and a
//! delete-pending file keeps its name (STATUS_DELETE_PENDING) until its last stream closes. A
//! name ending in `::$DATA` names the default data stream, which a directory has not.
mod access;
mod acl;
mod contexts;
mod oplocks;
mod reconnect;
pub(crate) mod streams;

use super::{bad_request, body_of, files, info, pipe};
use crate::server::dispatch::{self, Cancel, Ctx, Outcome, PendingOp, Reply};
use crate::server::file_state::{self, FileState, ShareEntry};
use crate::server::open::{FileOpen, Open, OpenKind};
use crate::server::oplock::{self, Phase};
use crate::server::share::ShareKind;
use crate::server::Server;
use crate::vfs::{self, FileStat, Handle, OpenRequest, SharePath};
use crate::wire::create::{
    access_mask as am, create_options as co, file_attributes as fa, CreateAction,
    CreateDisposition, CreateRequest, CreateResponse, ImpersonationLevel, OplockLevel,
};
use crate::wire::NtStatus;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::Arc;

pub use access::{map_generic, FILE_ALL_ACCESS};

/// CreateOptions bits Windows refuses with STATUS_NOT_SUPPORTED: FILE_CREATE_TREE_CONNECTION
/// (0x80), FILE_OPEN_BY_FILE_ID, FILE_RESERVE_OPFILTER (MS-SMB2 3.3.5.9).
const OPTIONS_NOT_SUPPORTED: u32 =
    0x0000_0080 | co::FILE_OPEN_BY_FILE_ID | co::FILE_RESERVE_OPFILTER;
/// Reserved CreateOptions bits: STATUS_INVALID_PARAMETER.
const OPTIONS_RESERVED: u32 = 0xFF00_0000;
/// FileAttributes that are invalid in a CREATE (FILE_ATTRIBUTE_VOLUME, FILE_ATTRIBUTE_DEVICE,
/// FILE_ATTRIBUTE_INTEGRITY_STREAM and everything above 0xFFFF): STATUS_INVALID_PARAMETER.
const ATTRIBUTES_INVALID: u32 = 0xFFFF_8048;
/// FileAttributes a CREATE may set on a file (MS-FSA 2.1.5.1.2: the others are ignored).
const ATTRIBUTES_SETTABLE: u32 = fa::READONLY
    | fa::HIDDEN
    | fa::SYSTEM
    | fa::ARCHIVE
    | fa::TEMPORARY
    | fa::OFFLINE
    | fa::NOT_CONTENT_INDEXED;

/// The validated fixed fields of a request.
struct Params {
    disposition: vfs::CreateDisposition,
    directory: Option<bool>,
    requested: access::Requested,
    delete_on_close: bool,
}

/// MS-SMB2 3.3.5.9 and MS-FSA 2.1.5.1 phase-1 parameter checks.
fn validate(req: &CreateRequest) -> Result<Params, NtStatus> {
    if req.impersonation_level.0 > ImpersonationLevel::DELEGATE.0 {
        return Err(NtStatus::BAD_IMPERSONATION_LEVEL);
    }
    // DesiredAccess is checked before the other fields (Windows, smb2.create.gentest).
    let requested = access::validate(req.desired_access)?;
    let opts = req.create_options;
    if opts & OPTIONS_RESERVED != 0 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if opts & OPTIONS_NOT_SUPPORTED != 0 {
        return Err(NtStatus::NOT_SUPPORTED);
    }
    if req.file_attributes & ATTRIBUTES_INVALID != 0 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let disposition = match req.create_disposition {
        CreateDisposition::SUPERSEDE => vfs::CreateDisposition::Supersede,
        CreateDisposition::OPEN => vfs::CreateDisposition::Open,
        CreateDisposition::CREATE => vfs::CreateDisposition::Create,
        CreateDisposition::OPEN_IF => vfs::CreateDisposition::OpenIf,
        CreateDisposition::OVERWRITE => vfs::CreateDisposition::Overwrite,
        CreateDisposition::OVERWRITE_IF => vfs::CreateDisposition::OverwriteIf,
        _ => return Err(NtStatus::INVALID_PARAMETER),
    };
    let dir = opts & co::FILE_DIRECTORY_FILE != 0;
    let non_dir = opts & co::FILE_NON_DIRECTORY_FILE != 0;
    if dir && non_dir {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if dir
        && !matches!(
            disposition,
            vfs::CreateDisposition::Create
                | vfs::CreateDisposition::Open
                | vfs::CreateDisposition::OpenIf
        )
    {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if opts & co::FILE_COMPLETE_IF_OPLOCKED != 0 && opts & co::FILE_RESERVE_OPFILTER != 0 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    // MS-FSA 2.1.5.1: unbuffered opens may not ask for FILE_APPEND_DATA explicitly. Only the
    // bit as sent counts: GENERIC_WRITE (what the Linux client sends for O_DIRECT) maps to
    // include it, and Windows and Samba accept that.
    if opts & co::FILE_NO_INTERMEDIATE_BUFFERING != 0
        && req.desired_access & am::FILE_APPEND_DATA != 0
    {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let delete_on_close = opts & co::FILE_DELETE_ON_CLOSE != 0;
    // Samba bug 13358 / Windows: DELETE_ON_CLOSE needs DELETE in the request.
    if delete_on_close && requested.access & am::DELETE == 0 && !requested.maximum {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    Ok(Params {
        disposition,
        directory: if dir {
            Some(true)
        } else if non_dir {
            Some(false)
        } else {
            None
        },
        requested,
        delete_on_close,
    })
}

/// The FileStates key of an open: (device, inode), with the stream name folded into the
/// device half for named streams, whose share modes are their own (MS-FSA 2.1.5.1.2).
pub(crate) fn state_key(st: &FileStat, stream: Option<&str>) -> (u64, u64) {
    match stream {
        None => (st.dev, st.file_id),
        Some(s) => {
            // FNV-1a of the case-folded name; the top bit keeps it apart from real devices.
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in s.to_lowercase().bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
            (st.dev ^ h | 1 << 63, st.file_id)
        }
    }
}

/// What the blocking part of an open produced.
struct Opened {
    handle: Arc<dyn Handle>,
    action: vfs::CreateAction,
    stat: FileStat,
    state: Arc<FileState>,
    granted: u32,
    maximal: u32,
    oplock: u8,
}

/// Everything the blocking part needs.
struct Job {
    server: Arc<Server>,
    vfs: Arc<dyn vfs::Share>,
    path: SharePath,
    params: Params,
    tree_max: u32,
    share_access: u32,
    create_attributes: u32,
    write_through: bool,
    /// FILE_NO_COMPRESSION: a created file does not inherit its directory's compression.
    no_compression: bool,
    cc: contexts::RequestContexts,
    open_id: u64,
    caller: acl::Caller,
    oplock: oplocks::OplockJob,
}

fn vfs_err(e: vfs::VfsError) -> NtStatus {
    e.status()
}

/// Sharing pre-check for dispositions that truncate: the file must not be overwritten under
/// an open that does not share it.
fn precheck_sharing(job: &Job, access: u32) -> Result<(), NtStatus> {
    let probe = OpenRequest {
        disposition: vfs::CreateDisposition::Open,
        directory: None,
        read: false,
        write: false,
        ..Default::default()
    };
    let Ok((h, _)) = job.vfs.open(&job.path, &probe) else {
        return Ok(());
    };
    if let Some(rights) = acl::existing_rights(
        &*job.vfs,
        &job.path,
        &*h,
        &job.caller,
        access & am::DELETE != 0,
    ) {
        if access & !rights != 0 {
            return Err(NtStatus::ACCESS_DENIED);
        }
    }
    let st = h.stat().map_err(vfs_err)?;
    let key = state_key(&st, job.path.stream());
    let state = job.server.files.get_or_create(key);
    let mut notices = Vec::new();
    let mut inner = state.inner.lock();
    let r = if inner.delete_pending {
        Err(NtStatus::DELETE_PENDING)
    } else {
        // Oplocks break before the file is truncated (MS-FSA 2.1.5.1.2).
        let o = &job.oplock;
        o.check(
            &state,
            &mut inner,
            access,
            true,
            Phase::BeforeSharing,
            &mut notices,
        )
        .and_then(|()| {
            if file_state::sharing_ok(&inner.opens, access, job.share_access) {
                Ok(())
            } else {
                Err(NtStatus::SHARING_VIOLATION)
            }
        })
        .and_then(|()| {
            o.check(
                &state,
                &mut inner,
                access,
                true,
                Phase::AfterSharing,
                &mut notices,
            )
        })
    };
    drop(inner);
    oplock::send(notices);
    drop(state);
    job.server.files.forget(key);
    // The file is about to be cut to nothing: its ODX tokens no longer hold.
    job.server.files.odx.note_truncate(key, 0);
    r
}

/// The blocking part: open, check access and sharing, register the share entry, apply
/// contexts.
fn open_blocking(job: Job) -> Result<Opened, NtStatus> {
    let p = &job.params;
    let req_access = p.requested.access;
    let overwrite = matches!(
        p.disposition,
        vfs::CreateDisposition::Supersede
            | vfs::CreateDisposition::Overwrite
            | vfs::CreateDisposition::OverwriteIf
    );
    let implied = if overwrite { am::FILE_WRITE_DATA } else { 0 };
    if overwrite {
        precheck_sharing(&job, req_access | implied)?;
    }
    let data_write = am::FILE_WRITE_DATA | am::FILE_APPEND_DATA;
    let want_write = req_access & data_write != 0
        || (p.requested.maximum && job.tree_max & data_write != 0)
        || overwrite;
    let want_read = req_access & (am::FILE_READ_DATA | am::FILE_EXECUTE) != 0
        || p.requested.maximum
        || want_write;
    let mut oreq = OpenRequest {
        disposition: p.disposition,
        directory: p.directory,
        read: want_read,
        write: want_write,
        write_through: job.write_through,
        create_attributes: job.create_attributes,
        allocation_size: job.cc.allocation_size.unwrap_or(0),
    };
    let restricted = acl::restrict_creation(&*job.vfs, &job.path, &mut oreq, &job.caller)?;
    let opened = match job.vfs.open(&job.path, &oreq) {
        // MAXIMUM_ALLOWED on a read-only file: open it for reading only.
        Err(e)
            if e.status() == NtStatus::ACCESS_DENIED
                && p.requested.maximum
                && req_access & data_write == 0
                && !overwrite =>
        {
            oreq.write = false;
            job.vfs.open(&job.path, &oreq)
        }
        r => r,
    };
    let (handle, outcome) = opened.map_err(|e| acl::creation_error(restricted, vfs_err(e)))?;
    let stat = handle.stat().map_err(vfs_err)?;
    let created = outcome.action != vfs::CreateAction::Opened;
    let readonly = stat.attributes & fa::READONLY != 0 && !stat.is_dir;
    // A file this open created or overwrote is not subject to its new READONLY attribute.
    let mut maximal = access::maximal(job.tree_max, readonly && !created, stat.is_dir);
    if !created {
        let want_delete = req_access & am::DELETE != 0 || p.delete_on_close || p.requested.maximum;
        if let Some(rights) =
            acl::existing_rights(&*job.vfs, &job.path, &*handle, &job.caller, want_delete)
        {
            maximal &= rights;
        }
    }
    // MS-FSA 2.1.5.1.2.1: delete-on-close of a read-only file is STATUS_CANNOT_DELETE,
    // whatever the access asked for.
    if p.delete_on_close && readonly {
        return Err(NtStatus::CANNOT_DELETE);
    }
    let granted = access::grant(p.requested, maximal)?;
    if p.delete_on_close && granted & am::DELETE == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let key = state_key(&stat, job.path.stream());
    let state = job.server.files.get_or_create(key);
    let mut notices = Vec::new();
    let registered = {
        let mut inner = state.inner.lock();
        let o = &job.oplock;
        if inner.delete_pending {
            Err(NtStatus::DELETE_PENDING)
        } else {
            // MS-FSA 2.1.5.1.2: a batch oplock breaks before the sharing check, the others
            // after it.
            o.check(
                &state,
                &mut inner,
                granted,
                overwrite,
                Phase::BeforeSharing,
                &mut notices,
            )
            .and_then(|()| {
                if file_state::sharing_ok(&inner.opens, granted, job.share_access)
                    && (job.path.stream().is_some()
                        || streams::base_delete_ok(&job.server, key, granted))
                {
                    Ok(())
                } else {
                    Err(NtStatus::SHARING_VIOLATION)
                }
            })
            .and_then(|()| {
                o.check(
                    &state,
                    &mut inner,
                    granted,
                    overwrite,
                    Phase::AfterSharing,
                    &mut notices,
                )
            })
            .map(|()| {
                inner.opens.push(ShareEntry {
                    open: job.open_id,
                    access: granted,
                    share: job.share_access,
                });
                o.grant(&state, &mut inner, stat.is_dir)
            })
        }
    };
    oplock::send(notices);
    let registered = registered.and_then(|level| {
        if job.path.stream().is_none() {
            return Ok(level);
        }
        // A stream open keeps its base file open (delete-on-close, DELETE sharing).
        streams::attach(&job.server, &stat, job.open_id, granted, job.share_access).inspect_err(
            |_| {
                state.release_open(job.open_id);
            },
        )?;
        Ok(level)
    });
    let oplock_level = match registered {
        Ok(level) => level,
        Err(s) => {
            drop(state);
            job.server.files.forget(key);
            return Err(s);
        }
    };
    let stat = if created {
        let applied = apply_contexts(&*handle, &job.cc).and_then(|()| {
            if outcome.action != vfs::CreateAction::Created {
                return Ok(());
            }
            let sd = acl::new_object_sd(
                &*job.vfs,
                &job.path,
                stat.is_dir,
                &job.caller,
                job.cc.security_descriptor.as_deref(),
            )?;
            match sd {
                Some(sd) => handle.set_security_descriptor(&sd).map_err(vfs_err),
                None => Ok(()),
            }
        });
        if let Err(s) = applied {
            streams::forget_failed(&job.server, job.open_id);
            state.release_open(job.open_id);
            drop(state);
            job.server.files.forget(key);
            return Err(s);
        }
        if job.no_compression
            && outcome.action == vfs::CreateAction::Created
            && stat.attributes & vfs::FILE_ATTRIBUTE_COMPRESSED != 0
        {
            // Best effort: the file was created; it stays compressed if this fails.
            let _ = vfs::compress::set_compressed(&*handle, false);
        }
        handle.stat().unwrap_or(stat)
    } else {
        stat
    };
    Ok(Opened {
        handle,
        action: outcome.action,
        stat,
        state,
        granted,
        maximal,
        oplock: oplock_level,
    })
}

/// Applies ExtA to a new or overwritten file (MS-SMB2 3.3.5.9.2).
fn apply_contexts(h: &dyn Handle, cc: &contexts::RequestContexts) -> Result<(), NtStatus> {
    for ea in &cc.eas {
        // Names were checked to be UTF-8 when the context was parsed.
        let name = std::str::from_utf8(&ea.ea_name).map_err(|_| NtStatus::INVALID_PARAMETER)?;
        if ea.ea_value.is_empty() {
            h.remove_xattr(name).map_err(vfs_err)?;
        } else {
            h.set_xattr(name, &ea.ea_value).map_err(vfs_err)?;
        }
    }
    Ok(())
}

/// Opens or creates a file, directory, stream or pipe. A CREATE that breaks an oplock goes
/// asynchronous until the break ends (MS-SMB2 3.3.5.9, 3.3.4.6), then runs again.
pub async fn handle(ctx: Ctx) -> Outcome {
    let slot = oplocks::WaitSlot::default();
    match attempt(&ctx, &slot).await {
        Err(s) if s == NtStatus::PENDING && slot.lock().is_some() => {}
        r => return r.into(),
    }
    let cancel = Cancel::new();
    let cancelled = cancel.clone();
    let fut = async move {
        loop {
            let Some((state, w)) = slot.lock().take() else {
                return Reply::error(NtStatus::INTERNAL_ERROR);
            };
            // A disconnected durable open cannot acknowledge its break: it is closed instead.
            let server = ctx.conn.server.clone();
            if !server.durable.purge_breaking(&server, &state).await {
                tokio::select! {
                    _ = state.wait_oplock(w) => {}
                    _ = cancelled.cancelled() => {
                        reconnect::cancelled(&ctx);
                        crate::server::replay::note_pending_create(&ctx, false);
                        return Reply::error(NtStatus::CANCELLED);
                    }
                }
            }
            let key = state.key;
            drop(state);
            ctx.conn.server.files.forget(key);
            match attempt(&ctx, &slot).await {
                Err(s) if s == NtStatus::PENDING && slot.lock().is_some() => continue,
                r => return r.unwrap_or_else(Reply::error),
            }
        }
    };
    Outcome::Pending(PendingOp {
        fut: Box::pin(fut),
        cancel,
    })
}

/// One run of a CREATE; STATUS_PENDING with `slot` filled when it must wait for a break.
async fn attempt(ctx: &Ctx, slot: &oplocks::WaitSlot) -> Result<Reply, NtStatus> {
    let req = CreateRequest::decode(&ctx.msg).map_err(bad_request)?;
    let tree = dispatch::tree(ctx)?;
    if tree.share.kind == ShareKind::Ipc {
        return pipe::create(ctx, tree, &req);
    }
    let vfs = tree.share.vfs.clone().ok_or(NtStatus::INVALID_PARAMETER)?;
    // A durable reconnect ignores the other fields of the request (MS-SMB2 3.3.5.9.7).
    if req.create_contexts.iter().any(|c| {
        c.name == crate::wire::create_contexts::names::DURABLE_HANDLE_RECONNECT
            || c.name == crate::wire::create_contexts::names::DURABLE_HANDLE_RECONNECT_V2
    }) {
        let mut cc = contexts::parse(&req.create_contexts)?;
        reconnect::strip_for_dialect(&mut cc, ctx.dialect());
        if let Some(r) = cc.reconnect {
            return reconnect::reconnect(ctx, tree, &req, &cc, r).await;
        }
    }
    let params = validate(&req)?;
    let name = req.name.as_deref().ok_or(NtStatus::OBJECT_NAME_INVALID)?;
    if name.starts_with('\\') || name.starts_with('/') {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let path = SharePath::parse(name).map_err(vfs_err)?;
    let mut cc = contexts::parse(&req.create_contexts)?;
    reconnect::strip_for_dialect(&mut cc, ctx.dialect());
    if cc.timewarp.is_some() {
        return Err(NtStatus::OBJECT_NAME_NOT_FOUND);
    }
    let default_stream = path.stream().is_none() && streams::names_default_stream(name);
    if (path.stream().is_some() || default_stream) && params.directory == Some(true) {
        return Err(NtStatus::NOT_A_DIRECTORY);
    }
    let mut params = params;
    if default_stream {
        // `dir::$DATA`: a directory has no default data stream (FILE_IS_A_DIRECTORY).
        params.directory = Some(false);
    }
    let session = ctx.session()?.clone();
    let server = ctx.conn.server.clone();
    let tree_max = tree.maximal_access;
    let read_only_share = tree_max & am::FILE_WRITE_DATA == 0;
    if read_only_share {
        match params.disposition {
            vfs::CreateDisposition::Open => {}
            // An existing object may still be opened for reading.
            vfs::CreateDisposition::OpenIf => params.disposition = vfs::CreateDisposition::Open,
            _ => return Err(NtStatus::ACCESS_DENIED),
        }
        if params.delete_on_close {
            return Err(NtStatus::ACCESS_DENIED);
        }
    }
    // The share's access bounds everything, whatever the file.
    access::grant(params.requested, tree_max)?;
    if params.delete_on_close
        && req.file_attributes & fa::READONLY != 0
        && params.disposition != vfs::CreateDisposition::Open
    {
        return Err(NtStatus::CANNOT_DELETE);
    }
    // A stand-alone server offers no EFS: creating an encrypted file is refused
    // (smb2.create.gentest accepts ACCESS_DENIED).
    if req.file_attributes & fa::ENCRYPTED != 0
        && params.disposition != vfs::CreateDisposition::Open
    {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if let Some(reply) =
        reconnect::before_open(ctx, &tree, name, req.requested_oplock_level.0, &cc).await?
    {
        return Ok(reply);
    }
    let limit = server.config.limits.max_opens_per_session as usize;
    if !server.opens.reserve_slot(session.id, limit) {
        return Err(NtStatus::INSUFFICIENT_RESOURCES);
    }
    let caller = acl::Caller {
        token: info::security::session_token(ctx)?,
        group: info::security::domain_member(&server.guid, info::security::DOMAIN_GROUP_RID_NONE),
    };
    let file_id = server.opens.new_file_id();
    let was_open_if = req.create_disposition == CreateDisposition::OPEN_IF;
    let delete_on_close = params.delete_on_close;
    let job = Job {
        server: server.clone(),
        vfs,
        path,
        params,
        tree_max,
        share_access: req.share_access & 7,
        create_attributes: req.file_attributes & ATTRIBUTES_SETTABLE,
        write_through: req.create_options & co::FILE_WRITE_THROUGH != 0,
        no_compression: req.create_options & co::FILE_NO_COMPRESSION != 0,
        cc: cc.clone(),
        open_id: file_id.volatile,
        caller,
        oplock: oplocks::OplockJob::new(ctx, req.requested_oplock_level.0, file_id, slot.clone())
            .with_lease(cc.lease, req.share_access & 7, req.create_options),
    };
    let result = files::blocking(move || open_blocking(job))
        .await
        .and_then(|r| r);
    reconnect::note_in_flight(ctx, &cc, matches!(result, Err(s) if s == NtStatus::PENDING));
    crate::server::replay::note_pending_create(
        ctx,
        matches!(cc.durable, Some(contexts::DurableRequest::V2(_)))
            && matches!(result, Err(s) if s == NtStatus::PENDING),
    );
    let o = match result {
        Ok(o) => o,
        Err(s) => {
            server.opens.release_slot(session.id);
            return Err(
                if read_only_share && was_open_if && s == NtStatus::OBJECT_NAME_NOT_FOUND {
                    NtStatus::ACCESS_DENIED
                } else {
                    s
                },
            );
        }
    };
    let st = o.stat;
    report_creation(&server, &tree, &o.handle.path(), o.action, st.is_dir);
    crate::server::dir_lease::after_create(
        &ctx.conn,
        &tree.share.name,
        &o.handle.path(),
        o.action,
        st.is_dir,
        &o.state,
        cc.lease.as_ref(),
    );
    let mut contexts = contexts::response(&cc, o.maximal, st.file_id, st.dev);
    let lease_reply = slot.take_lease_reply();
    let durable = reconnect::grant(
        ctx,
        &session,
        &tree,
        &cc,
        file_id,
        o.oplock,
        lease_reply.as_ref(),
        name,
    );
    contexts.extend(lease_reply);
    let durable_recorded = matches!(cc.durable, Some(contexts::DurableRequest::V2(_)));
    contexts.extend(durable);
    let body = response_body(o.oplock, o.action, &st, &o.state, file_id, contexts);
    server.opens.insert(Arc::new(Open {
        file_id,
        session_id: session.id,
        tree,
        granted_access: o.granted,
        name: name.to_string(),
        kind: OpenKind::File(FileOpen {
            handle: o.handle,
            state: o.state,
            share_access: req.share_access & 7,
            create_options: req.create_options,
            is_dir: st.is_dir,
            delete_on_close: delete_on_close.into(),
            position: AtomicU64::new(0),
            mode: AtomicU32::new(
                req.create_options
                    & (co::FILE_WRITE_THROUGH
                        | co::FILE_SEQUENTIAL_ONLY
                        | co::FILE_NO_INTERMEDIATE_BUFFERING
                        | co::FILE_SYNCHRONOUS_IO_ALERT
                        | co::FILE_SYNCHRONOUS_IO_NONALERT
                        | co::FILE_DELETE_ON_CLOSE),
            ),
            dir: parking_lot::Mutex::new(None),
        }),
    }));
    if durable_recorded {
        // Kept for replays of this CREATE (DH2Q, MS-SMB2 3.3.5.9.10).
        server.durable.remember_reply(file_id, &body);
    }
    // A persistent open's state is on disk before the client hears of it.
    crate::server::persistent::save_by_id(&server, file_id, session.id, ctx.tree_id).await;
    let mut reply = Reply::ok(body);
    reply.file_id = Some(file_id);
    Ok(reply)
}

/// Tells directory watchers what this CREATE changed (MS-SMB2 3.3.5.19 via the notify bus).
fn report_creation(
    server: &Server,
    tree: &crate::server::session::TreeConnect,
    path: &SharePath,
    action: vfs::CreateAction,
    is_dir: bool,
) {
    use crate::wire::change_notify::{completion_filter as cf, notify_action as na};
    let (act, filter) = match action {
        vfs::CreateAction::Opened => return,
        vfs::CreateAction::Created if path.stream().is_some() => (
            na::FILE_ACTION_ADDED_STREAM,
            cf::FILE_NOTIFY_CHANGE_STREAM_NAME,
        ),
        vfs::CreateAction::Created if is_dir => {
            (na::FILE_ACTION_ADDED, cf::FILE_NOTIFY_CHANGE_DIR_NAME)
        }
        vfs::CreateAction::Created => (na::FILE_ACTION_ADDED, cf::FILE_NOTIFY_CHANGE_FILE_NAME),
        vfs::CreateAction::Superseded | vfs::CreateAction::Overwritten => (
            na::FILE_ACTION_MODIFIED,
            cf::FILE_NOTIFY_CHANGE_SIZE
                | cf::FILE_NOTIFY_CHANGE_LAST_WRITE
                | cf::FILE_NOTIFY_CHANGE_ATTRIBUTES,
        ),
    };
    crate::server::notify_bus::report(server, &tree.share.name, path, act, filter);
}

/// The CREATE response body for an open of a file with `st` (MS-SMB2 2.2.14), shared by new
/// opens and durable reconnects. LastWriteTime is the one the file's opens keep reporting
/// (delayed or frozen updates, [`info::times`]), not the disk's.
pub(super) fn response_body(
    oplock: u8,
    action: vfs::CreateAction,
    st: &FileStat,
    state: &FileState,
    file_id: crate::wire::FileId,
    create_contexts: Vec<crate::wire::create_contexts::CreateContext>,
) -> crate::wire::BytesMut {
    let last_write_time = match state.times.reported() {
        Some(t) if !st.is_dir => t,
        _ => st.last_write_time,
    };
    body_of(|b| {
        CreateResponse {
            oplock_level: OplockLevel(oplock),
            flags: 0,
            create_action: CreateAction(action as u32),
            creation_time: st.creation_time,
            last_access_time: st.last_access_time,
            last_write_time,
            change_time: st.change_time,
            allocation_size: if st.is_dir { 0 } else { st.allocation_size },
            end_of_file: if st.is_dir { 0 } else { st.size },
            file_attributes: st.attributes,
            file_id,
            create_contexts,
        }
        .encode(b)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(access: u32, options: u32) -> CreateRequest {
        CreateRequest {
            desired_access: access,
            create_options: options,
            create_disposition: CreateDisposition::OPEN_IF,
            impersonation_level: ImpersonationLevel(2),
            ..Default::default()
        }
    }

    #[test]
    fn unbuffered_generic_write_is_accepted_explicit_append_is_not() {
        // What the Linux client sends for an O_DIRECT open (fio --direct=1).
        let linux = request(
            am::GENERIC_READ | am::GENERIC_WRITE,
            co::FILE_NO_INTERMEDIATE_BUFFERING,
        );
        assert!(validate(&linux).is_ok());
        let append = request(am::FILE_APPEND_DATA, co::FILE_NO_INTERMEDIATE_BUFFERING);
        assert_eq!(validate(&append).err(), Some(NtStatus::INVALID_PARAMETER));
    }
}
