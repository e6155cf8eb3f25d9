//! The oplock and lease part of CREATE (MS-SMB2 3.3.5.9: "If the RequestedOplockLevel is
//! ...", 3.3.5.9.8 / 3.3.5.9.11 lease requests; MS-FSA 2.1.5.1.2 oplock break checks,
//! 2.1.5.17 grant): the checks run under the file's lock around the sharing check
//! ([`OplockJob::check`]), the grant once the share entry is in ([`OplockJob::grant`]). A
//! CREATE that has to wait for a break answers the marker [`NtStatus::PENDING`] from the
//! blocking part with the file to wait on in [`OplockJob::wait`]; [`super::handle`] then goes
//! asynchronous and runs the CREATE again once the break ends. The lease response context
//! comes back through the same [`WaitCell`] ([`WaitCell::take_lease_reply`]).
use crate::server::connection::Connection;
use crate::server::dispatch::Ctx;
use crate::server::file_state::{self, FileState, FileStateInner};
use crate::server::lease::{self, LeaseOpen};
use crate::server::oplock::{self, Notice, Phase, Wait};
use crate::wire::create::create_options::FILE_DELETE_ON_CLOSE;
use crate::wire::create_contexts::{CreateContext, Lease as LeaseContext};
use crate::wire::{FileId, NtStatus};
use parking_lot::{Mutex, MutexGuard};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// Shared between the runs of one CREATE: the break to wait for, how many waits there were,
/// and the lease response context.
#[derive(Default)]
pub struct WaitCell {
    wait: Mutex<Option<(Arc<FileState>, Wait)>>,
    waits: AtomicU32,
    lease_reply: Mutex<Option<CreateContext>>,
}

impl WaitCell {
    /// The break to wait for, when there is one.
    pub fn lock(&self) -> MutexGuard<'_, Option<(Arc<FileState>, Wait)>> {
        self.wait.lock()
    }

    /// The lease response context of the last run (RqLs, MS-SMB2 2.2.14.2.10 / .11).
    pub fn take_lease_reply(&self) -> Option<CreateContext> {
        self.lease_reply.lock().take()
    }
}

/// Where the blocking part leaves the break a CREATE must wait for.
pub type WaitSlot = Arc<WaitCell>;

/// What the blocking part of a CREATE needs for oplocks and leases.
pub struct OplockJob {
    /// RequestedOplockLevel.
    pub requested: u8,
    /// The lease asked for (RequestedOplockLevel LEASE with an RqLs context).
    pub lease: Option<lease::Request>,
    /// ShareAccess of the CREATE (leases break H before a sharing violation).
    pub share_access: u32,
    /// FILE_DELETE_ON_CLOSE: other leases lose H (smb2.lease.unlink).
    pub delete_on_close: bool,
    /// The connection the open is made on (where its breaks go).
    pub conn: Arc<Connection>,
    /// The session.
    pub session_id: u64,
    /// The new open's FileId.
    pub file_id: FileId,
    /// The break to wait for, when there is one.
    pub wait: WaitSlot,
    /// No earlier run of this CREATE waited.
    first_attempt: bool,
}

impl OplockJob {
    /// For the CREATE of `ctx`.
    pub fn new(ctx: &Ctx, requested: u8, file_id: FileId, wait: WaitSlot) -> OplockJob {
        OplockJob {
            requested,
            lease: None,
            share_access: 0,
            delete_on_close: false,
            conn: ctx.conn.clone(),
            session_id: ctx.session_id,
            file_id,
            first_attempt: wait.waits.load(Ordering::Relaxed) == 0,
            wait,
        }
    }

    /// Adds the lease request (the RqLs context, used only with RequestedOplockLevel LEASE on
    /// 2.1 and later), the CREATE's ShareAccess and its CreateOptions.
    pub fn with_lease(
        mut self,
        ctx: Option<LeaseContext>,
        share_access: u32,
        create_options: u32,
    ) -> OplockJob {
        self.share_access = share_access;
        self.delete_on_close = create_options & FILE_DELETE_ON_CLOSE != 0;
        *self.wait.lease_reply.lock() = None;
        if self.requested == oplock::LEASE {
            self.requested = oplock::NONE;
            let negotiated = self.conn.negotiated.lock().clone();
            if let (Some(c), Some(n)) = (ctx, negotiated) {
                self.lease = lease::Request::from_context(&c, n.client_guid.0, n.dialect);
            }
        }
        self
    }

    /// One phase of the oplock and lease checks of a CREATE with GrantedAccess `access` on
    /// `state`, whose lock `inner` is. Breaks start here (their notices go out through
    /// `notices`); when the CREATE must wait, the marker STATUS_PENDING comes back. A lease
    /// key in use on another file is STATUS_INVALID_PARAMETER.
    pub fn check(
        &self,
        state: &Arc<FileState>,
        inner: &mut FileStateInner,
        access: u32,
        overwrite: bool,
        phase: Phase,
        notices: &mut Vec<Notice>,
    ) -> Result<(), NtStatus> {
        let mut wait =
            inner
                .oplocks
                .check_create(self.file_id.volatile, access, overwrite, phase, notices);
        if phase == Phase::BeforeSharing {
            if let Some(l) = &self.lease {
                if lease::TABLE.in_use_elsewhere(&l.id, state.key) {
                    return Err(NtStatus::INVALID_PARAMETER);
                }
            }
            let violation = !file_state::sharing_ok(&inner.opens, access, self.share_access);
            let mine = self.lease.as_ref().map(|l| &l.id);
            let lw = inner.oplocks.check_leases(
                mine,
                access,
                overwrite,
                violation,
                self.first_attempt,
                notices,
            );
            if self.delete_on_close && !violation {
                inner.oplocks.break_handle_for_delete(mine, notices);
            }
            wait = match (wait, lw) {
                (Some(a), Some(b)) => Some(a.deadline.min(b.deadline)),
                (a, b) => b.or(a).map(|w| w.deadline),
            }
            .map(|deadline| Wait {
                generation: inner.oplocks.generation(),
                deadline,
            });
        }
        match wait {
            None => Ok(()),
            Some(w) => {
                self.wait.waits.fetch_add(1, Ordering::Relaxed);
                *self.wait.lock() = Some((state.clone(), w));
                Err(NtStatus::PENDING)
            }
        }
    }

    /// Grants the oplock or lease of the new open, whose share entry is in `inner.opens`;
    /// answers the OplockLevel of the response (LEASE when a lease context goes back).
    pub fn grant(&self, state: &Arc<FileState>, inner: &mut FileStateInner, is_dir: bool) -> u8 {
        let FileStateInner { opens, oplocks, .. } = inner;
        if let Some(req) = &self.lease {
            let open = LeaseOpen {
                open: self.file_id.volatile,
                conn: Arc::downgrade(&self.conn),
                session_id: self.session_id,
            };
            return match oplocks.grant_lease(state, opens, req, is_dir, open) {
                Some(reply) => {
                    *self.wait.lease_reply.lock() = Some(reply);
                    oplock::LEASE
                }
                None => oplock::NONE,
            };
        }
        let holder = oplock::holder(&self.conn, self.session_id, self.file_id);
        oplocks.grant(opens, self.requested, is_dir, holder)
    }
}
