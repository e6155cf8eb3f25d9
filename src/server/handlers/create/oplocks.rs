//! The oplock part of CREATE (MS-SMB2 3.3.5.9: "If the RequestedOplockLevel is ..."; MS-FSA
//! 2.1.5.1.2 oplock break checks, 2.1.5.17 grant): the checks run under the file's lock around
//! the sharing check ([`OplockJob::check`]), the grant once the share entry is in
//! ([`OplockJob::grant`]). A CREATE that has to wait for a break answers the marker
//! [`NtStatus::PENDING`] from the blocking part with the file to wait on in [`OplockJob::wait`];
//! [`super::handle`] then goes asynchronous and runs the CREATE again once the break ends.
use crate::server::connection::Connection;
use crate::server::dispatch::Ctx;
use crate::server::file_state::{FileState, FileStateInner};
use crate::server::oplock::{self, Notice, Phase, Wait};
use crate::wire::{FileId, NtStatus};
use parking_lot::Mutex;
use std::sync::Arc;

/// Where the blocking part leaves the break a CREATE must wait for.
pub type WaitSlot = Arc<Mutex<Option<(Arc<FileState>, Wait)>>>;

/// What the blocking part of a CREATE needs for oplocks.
pub struct OplockJob {
    /// RequestedOplockLevel (LEASE is treated as none: leases are not offered).
    pub requested: u8,
    /// The connection the open is made on (where its breaks go).
    pub conn: Arc<Connection>,
    /// The session.
    pub session_id: u64,
    /// The new open's FileId.
    pub file_id: FileId,
    /// The break to wait for, when there is one.
    pub wait: WaitSlot,
}

impl OplockJob {
    /// For the CREATE of `ctx`.
    pub fn new(ctx: &Ctx, requested: u8, file_id: FileId, wait: WaitSlot) -> OplockJob {
        OplockJob {
            requested,
            conn: ctx.conn.clone(),
            session_id: ctx.session_id,
            file_id,
            wait,
        }
    }

    /// One phase of the oplock checks of a CREATE with GrantedAccess `access` on `state`,
    /// whose lock `inner` is. Breaks start here (their notices go out through `notices`); when
    /// the CREATE must wait, the marker STATUS_PENDING comes back.
    pub fn check(
        &self,
        state: &Arc<FileState>,
        inner: &mut FileStateInner,
        access: u32,
        overwrite: bool,
        phase: Phase,
        notices: &mut Vec<Notice>,
    ) -> Result<(), NtStatus> {
        match inner
            .oplocks
            .check_create(self.file_id.volatile, access, overwrite, phase, notices)
        {
            None => Ok(()),
            Some(w) => {
                *self.wait.lock() = Some((state.clone(), w));
                Err(NtStatus::PENDING)
            }
        }
    }

    /// Grants the oplock of the new open, whose share entry is in `inner.opens`.
    pub fn grant(&self, inner: &mut FileStateInner, is_dir: bool) -> u8 {
        let holder = oplock::holder(&self.conn, self.session_id, self.file_id);
        let FileStateInner { opens, oplocks, .. } = inner;
        oplocks.grant(opens, self.requested, is_dir, holder)
    }
}
