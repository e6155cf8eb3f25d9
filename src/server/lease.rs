//! Leases (MS-SMB2 3.3.1.4 Lease Table, 3.3.5.9.8 / 3.3.5.9.11 lease requests in CREATE,
//! 3.3.4.7 "Object Store Indicates a Lease Break", 3.3.5.22.2 "Processing a Lease
//! Acknowledgment"; the object store side is MS-FSA 2.1.4.12 / 2.1.5.17).
//!
//! A lease is identified by (ClientGuid, LeaseKey) and belongs to exactly one file (stream):
//! the [`Lease`] records live with that file's oplocks ([`Oplocks::leases`], under the
//! file's short-held mutex, so breaks are decided together with share modes and oplocks),
//! and the server-wide [`TABLE`] maps the identity to the file, for the lease break
//! acknowledgment (which names only the key) and to refuse one key on two files
//! (STATUS_INVALID_PARAMETER). Every open made with the key shares the lease; the lease goes
//! away with its last open.
//!
//! Rules, as Windows behaves (smbtorture smb2.lease):
//!
//! - Grant ([`Oplocks::grant_lease`]): R, RH, RW and RWH are granted; H, W and HW alone are
//!   granted as none (OplockLevel is still LEASE, with LeaseState 0). W only when no other
//!   open of the file (other than stat opens and opens of the same lease) exists, H only
//!   when no other open holds an oplock. Directories get v2 leases only (3.x), R or RH, never
//!   W; [`super::dir_lease`] breaks them when an entry changes.
//!   An existing lease is upgraded only to a strict superset that can be granted whole, and
//!   not while it is breaking; the response then carries the current state (and
//!   SMB2_LEASE_FLAG_BREAK_IN_PROGRESS while breaking). v2 leases carry an epoch that grows on
//!   every grant, upgrade and break.
//! - A conflicting CREATE ([`Oplocks::check_leases`]; not a stat open): other leases lose W
//!   (H instead when the CREATE would be a sharing violation, so that the holder may close
//!   its cached handles first); an overwrite breaks them to none. The CREATE waits
//!   (asynchronously) for the acknowledgment when W (H on a sharing violation) is being
//!   lost, and on a retry also while the lease is still breaking.
//! - WRITE, truncation and byte-range locks ([`FileState::break_read_caching`]) break every
//!   other lease to none without waiting; a rename ([`FileState::break_handle_caching`])
//!   breaks H of the other leases and waits for the acknowledgments.
//! - A break from R goes to none at once and needs no acknowledgment; any other break sets
//!   Lease.Breaking and needs one, within the oplock break timeout (35 s) after which the
//!   lease is none. Breaks requested while one is in progress accumulate and go out, one
//!   step at a time (keeping R while H or W is lost), when the acknowledgment arrives.
//! - Notifications go on the client's (ClientGuid's) oldest connection still up that made a
//!   lease open, else on the connection of the lease's oldest open.
use super::connection::Connection;
use super::file_state::{FileState, ShareEntry};
use super::oplock::{self, Notice, Oplocks, Wait};
use crate::wire::create_contexts::{
    lease_flags, CreateContext, CreateContextData, CreateRequestLease, CreateRequestLeaseV2,
    Lease as LeaseContext,
};
use crate::wire::oplock_break::{
    LeaseBreakNotification, SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED,
};
use crate::wire::NtStatus;
use dashmap::DashMap;
use std::sync::{Arc, LazyLock, Weak};
use std::time::Instant;

/// SMB2_LEASE_NONE.
pub const NONE: u32 = 0;
/// SMB2_LEASE_READ_CACHING.
pub const READ: u32 = 0x01;
/// SMB2_LEASE_HANDLE_CACHING.
pub const HANDLE: u32 = 0x02;
/// SMB2_LEASE_WRITE_CACHING.
pub const WRITE: u32 = 0x04;

/// Access bits of a "stat" open as far as leases go: FILE_READ_ATTRIBUTES,
/// FILE_WRITE_ATTRIBUTES, SYNCHRONIZE, READ_CONTROL.
const STAT_ACCESS: u32 = 0x0000_0080 | 0x0000_0100 | 0x0010_0000 | 0x0002_0000;

/// Whether an open with `access` breaks no lease (smb2.lease.statopen4).
pub fn is_stat_open(access: u32) -> bool {
    access & !STAT_ACCESS == 0
}

/// (ClientGuid, LeaseKey).
pub type LeaseId = ([u8; 16], [u8; 16]);

/// One open made with a lease.
pub struct LeaseOpen {
    /// The open (volatile FileId).
    pub open: u64,
    /// The connection it was made on.
    pub conn: Weak<Connection>,
    /// Its session.
    pub session_id: u64,
}

/// A lease (MS-SMB2 3.3.1.4).
pub struct Lease {
    /// (ClientGuid, LeaseKey).
    pub id: LeaseId,
    /// 1 or 2.
    pub version: u8,
    /// ParentLeaseKey (v2).
    pub parent: Option<[u8; 16]>,
    /// Lease.LeaseState.
    pub state: u32,
    /// Lease.Epoch (v2).
    pub epoch: u16,
    /// Lease.Breaking.
    pub breaking: bool,
    /// Lease.BreakToLeaseState: what the holder was told.
    pub break_to: u32,
    /// The lowest state breaks requested since then require.
    pub break_required: u32,
    /// When the wait for the acknowledgment ends.
    pub deadline: Instant,
    /// Lease.LeaseOpens.
    pub opens: Vec<LeaseOpen>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("key", &self.id.1)
            .field("state", &self.state)
            .field("breaking", &self.breaking)
            .field("break_to", &self.break_to)
            .field("opens", &self.opens.len())
            .finish()
    }
}

/// A lease request of a CREATE (the RqLs context).
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// (ClientGuid, LeaseKey).
    pub id: LeaseId,
    /// LeaseState asked for.
    pub state: u32,
    /// 1 or 2.
    pub version: u8,
    /// Epoch of a v2 request.
    pub epoch: u16,
    /// ParentLeaseKey of a v2 request with SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET.
    pub parent: Option<[u8; 16]>,
}

impl Request {
    /// From a decoded RqLs context on a connection with `client_guid` and `dialect`; v2 only
    /// on the 3.x dialects (MS-SMB2 3.3.5.9.11), v1 on 2.1 and above (3.3.5.9.8).
    pub fn from_context(ctx: &LeaseContext, client_guid: [u8; 16], dialect: u16) -> Option<Self> {
        if dialect < 0x0210 {
            return None;
        }
        Some(match ctx {
            LeaseContext::V2(l) if dialect >= 0x0300 => Request {
                id: (client_guid, l.lease_key),
                state: l.lease_state,
                version: 2,
                epoch: l.epoch,
                parent: (l.flags & lease_flags::PARENT_LEASE_KEY_SET != 0)
                    .then_some(l.parent_lease_key),
            },
            LeaseContext::V2(l) => Request {
                id: (client_guid, l.lease_key),
                state: l.lease_state,
                version: 1,
                epoch: 0,
                parent: None,
            },
            LeaseContext::V1(l) => Request {
                id: (client_guid, l.lease_key),
                state: l.lease_state,
                version: 1,
                epoch: 0,
                parent: None,
            },
        })
    }
}

/// Connections of one client, each with a session made on it.
type ClientConnections = Vec<(Weak<Connection>, u64)>;

/// The connections each client (ClientGuid) made lease opens on, oldest first, with a
/// session of each: lease breaks go to the oldest one still up, as Windows does
/// (smb2.lease.v2_complex1).
static CLIENTS: LazyLock<DashMap<[u8; 16], ClientConnections>> = LazyLock::new(DashMap::new);

/// Remembers that client `guid` makes lease opens on `conn`.
fn note_client(guid: [u8; 16], conn: &Weak<Connection>, session_id: u64) {
    if CLIENTS.len() > 4096 {
        CLIENTS.retain(|_, v| v.iter().any(|(c, _)| c.strong_count() > 0));
    }
    let mut v = CLIENTS.entry(guid).or_default();
    v.retain(|(c, _)| c.strong_count() > 0);
    if !v.iter().any(|(c, _)| c.ptr_eq(conn)) {
        v.push((conn.clone(), session_id));
    }
}

impl Lease {
    /// Where notifications go: the client's oldest connection still up, else the connection
    /// of the lease's oldest open.
    fn target(&self) -> (Weak<Connection>, u64) {
        if let Some(v) = CLIENTS.get(&self.id.0) {
            if let Some((c, s)) = v.iter().find(|(c, _)| c.strong_count() > 0) {
                return (c.clone(), *s);
            }
        }
        self.opens
            .iter()
            .find(|o| o.conn.strong_count() > 0)
            .or(self.opens.first())
            .map_or((Weak::new(), 0), |o| (o.conn.clone(), o.session_id))
    }

    /// The notice that rewrites the persistent records of this lease's opens (its state
    /// changed with no acknowledgment to come).
    fn persist(&self) -> Notice {
        let (conn, session_id) = self.target();
        Notice::persist(conn, session_id, oplock::Persist::Lease(self.id))
    }

    fn notice(&self, from: u32, to: u32, ack: bool) -> Notice {
        let (conn, session_id) = self.target();
        Notice::lease(
            conn,
            session_id,
            LeaseBreakNotification {
                new_epoch: if self.version >= 2 { self.epoch } else { 0 },
                flags: if ack {
                    SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED
                } else {
                    0
                },
                lease_key: self.id.1,
                current_lease_state: from,
                new_lease_state: to,
                ..Default::default()
            },
        )
    }

    /// Asks the lease to go down to `to` (MS-SMB2 3.3.4.7); true when its state changed.
    fn request_break(&mut self, to: u32, now: Instant, out: &mut Vec<Notice>) -> bool {
        let to = to & self.state;
        if self.breaking {
            // Remembered; it goes out when the break in progress is acknowledged.
            self.break_required &= to;
            return false;
        }
        if self.state == to {
            return false;
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.state & (HANDLE | WRITE) == 0 {
            // R goes to none at once, with no acknowledgment.
            out.push(self.notice(self.state, NONE, false));
            out.push(self.persist());
            self.state = NONE;
            return true;
        }
        self.breaking = true;
        self.break_to = to;
        self.break_required = to;
        self.deadline = now + oplock::break_timeout();
        out.push(self.notice(self.state, to, true));
        false
    }

    /// A lease break acknowledgment with `state` (MS-SMB2 3.3.5.22.2).
    fn acknowledge(
        &mut self,
        state: u32,
        now: Instant,
        out: &mut Vec<Notice>,
    ) -> Result<(), NtStatus> {
        if !self.breaking {
            return Err(NtStatus::UNSUCCESSFUL);
        }
        if state & !self.break_to != 0 {
            return Err(NtStatus::REQUEST_NOT_ACCEPTED);
        }
        self.state = state;
        if state & !self.break_required == 0 {
            self.breaking = false;
            self.break_to = state;
            self.break_required = state;
            return Ok(());
        }
        // A further break was asked for meanwhile: one step at a time, as Windows
        // (smb2.lease.breaking3): keep R while H or W goes.
        let mut next = self.break_required;
        if state & (HANDLE | WRITE) != 0 {
            next |= READ;
            self.break_to = next;
            self.deadline = now + oplock::break_timeout();
            out.push(self.notice(state, next, true));
        } else {
            out.push(self.notice(state, next, false));
            self.state = next;
            self.breaking = false;
            self.break_to = next;
            self.break_required = next;
        }
        Ok(())
    }

    fn has_open(&self, open: u64) -> bool {
        self.opens.iter().any(|o| o.open == open)
    }

    /// The response context of a CREATE (also of a durable reconnect or replay).
    pub fn reply(&self) -> CreateContext {
        let mut flags = 0;
        if self.breaking {
            flags |= lease_flags::BREAK_IN_PROGRESS;
        }
        if self.version >= 2 {
            if self.parent.is_some() {
                flags |= lease_flags::PARENT_LEASE_KEY_SET;
            }
            CreateRequestLeaseV2 {
                lease_key: self.id.1,
                lease_state: self.state,
                flags,
                lease_duration: 0,
                parent_lease_key: self.parent.unwrap_or_default(),
                epoch: self.epoch,
            }
            .to_context()
        } else {
            CreateRequestLease {
                lease_key: self.id.1,
                lease_state: self.state,
                lease_flags: flags,
                lease_duration: 0,
            }
            .to_context()
        }
    }
}

/// The server-wide lease table: (ClientGuid, LeaseKey) to the file (its FileStates key and
/// state) the lease belongs to.
#[derive(Default)]
pub struct LeaseTable {
    map: DashMap<LeaseId, ((u64, u64), Weak<FileState>)>,
}

/// The lease table of the process (one server per process).
pub static TABLE: LazyLock<LeaseTable> = LazyLock::new(LeaseTable::default);

impl LeaseTable {
    /// Whether the key is in use on another file than `file` (STATUS_INVALID_PARAMETER).
    pub fn in_use_elsewhere(&self, id: &LeaseId, file: (u64, u64)) -> bool {
        self.map
            .get(id)
            .is_some_and(|e| e.0 != file && e.1.strong_count() > 0)
    }

    /// Records the lease of `state`; false when the key is in use on another file.
    fn claim(&self, id: LeaseId, state: &Arc<FileState>) -> bool {
        let mut e = self
            .map
            .entry(id)
            .or_insert_with(|| (state.key, Weak::new()));
        if e.0 != state.key && e.1.strong_count() > 0 {
            return false;
        }
        *e = (state.key, Arc::downgrade(state));
        true
    }

    /// Forgets a lease that lost its last open.
    fn forget(&self, id: &LeaseId, file: (u64, u64)) {
        self.map.remove_if(id, |_, e| e.0 == file);
    }

    /// The file a lease belongs to.
    fn file(&self, id: &LeaseId) -> Option<Arc<FileState>> {
        self.map.get(id).and_then(|e| e.1.upgrade())
    }
}

impl Oplocks {
    /// Ends lease breaks whose acknowledgment timed out: the lease is none.
    pub(super) fn expire_leases(&mut self, now: Instant, out: &mut Vec<Notice>) -> bool {
        let mut changed = false;
        for l in &mut self.leases {
            if l.breaking && l.deadline <= now {
                l.breaking = false;
                l.state = NONE;
                l.break_to = NONE;
                l.break_required = NONE;
                out.push(l.persist());
                changed = true;
            }
        }
        changed
    }

    /// The lease checks of a CREATE of an open with GrantedAccess `access` and lease `mine`
    /// (MS-FSA 2.1.5.1.2, Samba's delay_for_oplock): breaks what conflicts and answers when
    /// the CREATE must wait, with the deadline of the break it waits for.
    pub fn check_leases(
        &mut self,
        mine: Option<&LeaseId>,
        access: u32,
        overwrite: bool,
        sharing_violation: bool,
        first_attempt: bool,
        out: &mut Vec<Notice>,
    ) -> Option<Wait> {
        if is_stat_open(access) && !overwrite {
            return None;
        }
        let now = Instant::now();
        let mut changed = self.expire_leases(now, out);
        let delay_mask = if sharing_violation { HANDLE } else { WRITE };
        let mut wait: Option<Instant> = None;
        for l in &mut self.leases {
            if Some(&l.id) == mine {
                continue;
            }
            let current = l.state;
            let was_breaking = l.breaking;
            let mut to = current & !delay_mask;
            if overwrite {
                to = NONE;
            }
            if current & !to == 0 {
                if was_breaking {
                    wait = earliest(wait, l.deadline);
                }
                continue;
            }
            changed |= l.request_break(to, now, out);
            if l.breaking && (current & delay_mask != 0 || was_breaking && !first_attempt) {
                wait = earliest(wait, l.deadline);
            }
        }
        self.breaks_sent(changed, wait)
    }

    /// Grants (or joins) the lease of a new open `open`, whose share entry is in `opens`;
    /// answers the response context, or None when no lease is granted (a directory, or the
    /// key in use on another file meanwhile).
    pub fn grant_lease(
        &mut self,
        state: &Arc<FileState>,
        opens: &[ShareEntry],
        req: &Request,
        is_dir: bool,
        open: LeaseOpen,
    ) -> Option<CreateContext> {
        // Directories: v2 leases on 3.x only (directory leasing), never W (MS-SMB2 3.3.5.9.11).
        if is_dir && req.version < 2 || !TABLE.claim(req.id, state) {
            return None;
        }
        note_client(req.id.0, &open.conn, open.session_id);
        let wanted = if is_dir {
            req.state & (READ | HANDLE)
        } else {
            req.state
        };
        let mut granted = wanted & (READ | HANDLE | WRITE);
        if granted & READ == 0 {
            // H, W and HW alone are not granted (MS-SMB2 3.3.5.9.8 / Windows).
            granted = NONE;
        }
        let idx = self.leases.iter().position(|l| l.id == req.id);
        let mine = |o: u64| idx.is_some_and(|i| self.leases[i].has_open(o)) || o == open.open;
        let other_lease = self
            .leases
            .iter()
            .any(|l| l.id != req.id && !l.opens.is_empty());
        let other_open = opens
            .iter()
            .any(|e| !mine(e.open) && !is_stat_open(e.access));
        if other_lease || other_open {
            granted &= !WRITE;
        }
        let oplock_elsewhere = self
            .holders
            .iter()
            .any(|h| !mine(h.open) && h.level != oplock::NONE);
        if oplock_elsewhere {
            granted &= !HANDLE;
        }
        let l = match idx {
            Some(i) => {
                let l = &mut self.leases[i];
                let existing = l.state;
                if existing & wanted == existing
                    && granted != existing
                    && granted == wanted
                    && !l.breaking
                {
                    l.state = granted;
                    l.epoch = l.epoch.wrapping_add(1);
                }
                l.opens.push(open);
                l
            }
            None => {
                self.leases.push(Lease {
                    id: req.id,
                    version: req.version,
                    parent: req.parent,
                    state: granted,
                    epoch: req.epoch.wrapping_add(1),
                    breaking: false,
                    break_to: granted,
                    break_required: granted,
                    deadline: Instant::now(),
                    opens: vec![open],
                });
                self.leases.last_mut()?
            }
        };
        Some(l.reply())
    }

    /// Breaks H of the leases other than `mine`, without waiting: an open that will delete
    /// the file (FILE_DELETE_ON_CLOSE) tells caching clients to let go of their handles.
    pub fn break_handle_for_delete(&mut self, mine: Option<&LeaseId>, out: &mut Vec<Notice>) {
        let now = Instant::now();
        let mut changed = false;
        for l in &mut self.leases {
            if Some(&l.id) != mine && l.state & HANDLE != 0 {
                changed |= l.request_break(l.state & !HANDLE, now, out);
            }
        }
        if changed {
            self.generation += 1;
        }
    }

    /// Breaks every lease on this directory but `except` to none, without waiting: an entry
    /// of the directory changed ([`super::dir_lease`]). True when a state changed at once.
    pub fn break_dir_leases(&mut self, except: Option<&LeaseId>, out: &mut Vec<Notice>) -> bool {
        let now = Instant::now();
        let mut changed = self.expire_leases(now, out);
        for l in &mut self.leases {
            if Some(&l.id) != except && (l.state != NONE || l.breaking) {
                changed |= l.request_break(NONE, now, out);
            }
        }
        if changed {
            self.generation += 1;
        }
        changed
    }

    /// Whether some open holds a lease here.
    pub fn has_leases(&self) -> bool {
        !self.leases.is_empty()
    }

    /// The parent directory's lease that the lease of `open` names (ParentLeaseKey, with the
    /// lease's ClientGuid), if any.
    pub fn parent_of(&self, open: u64) -> Option<LeaseId> {
        let l = self.leases.iter().find(|l| l.has_open(open))?;
        l.parent.map(|p| (l.id.0, p))
    }

    /// Whether another open than `open` holds a lease with H (no oplock is granted then).
    pub fn handle_lease_elsewhere(&self, open: u64) -> bool {
        self.leases
            .iter()
            .any(|l| l.state & HANDLE != 0 && !l.has_open(open))
    }

    /// Removes a closing open from its lease; answers the lease when that was its last open.
    pub(super) fn release_lease(&mut self, open: u64) -> Option<LeaseId> {
        let i = self.leases.iter().position(|l| l.has_open(open))?;
        self.leases[i].opens.retain(|o| o.open != open);
        if self.leases[i].opens.is_empty() {
            return Some(self.leases.remove(i).id);
        }
        None
    }

    /// Breaks every lease but the one of `open` to none (a write, truncation or lock).
    fn break_read_leases(&mut self, open: u64, out: &mut Vec<Notice>) -> bool {
        let now = Instant::now();
        let mut changed = self.expire_leases(now, out);
        for l in &mut self.leases {
            if !l.has_open(open) && (l.state != NONE || l.breaking) {
                changed |= l.request_break(NONE, now, out);
            }
        }
        changed
    }

    /// Breaks H of every lease but the one of `open` (a rename); answers the break to wait
    /// for while one of them still holds H.
    fn break_handle_leases(&mut self, open: u64, out: &mut Vec<Notice>) -> Option<Wait> {
        let now = Instant::now();
        let mut changed = self.expire_leases(now, out);
        let mut wait: Option<Instant> = None;
        for l in &mut self.leases {
            if l.has_open(open) || l.state & HANDLE == 0 {
                continue;
            }
            changed |= l.request_break(l.state & !HANDLE, now, out);
            if l.breaking {
                wait = earliest(wait, l.deadline);
            }
        }
        self.breaks_sent(changed, wait)
    }

    /// Ends a round of break requests: a changed lease state is a new generation, and the
    /// caller waits (until `wait`) for this generation to move on.
    fn breaks_sent(&mut self, changed: bool, wait: Option<Instant>) -> Option<Wait> {
        if changed {
            self.generation += 1;
        }
        wait.map(|deadline| Wait {
            generation: self.generation,
            deadline,
        })
    }
}

/// The earlier of a deadline so far and `d`.
fn earliest(wait: Option<Instant>, d: Instant) -> Option<Instant> {
    Some(wait.map_or(d, |w| w.min(d)))
}

impl FileState {
    /// Breaks read caching held by others: every LEVEL_II oplock of the stream and every
    /// lease other than the one of `open` go to none, without waiting (a write, an
    /// end-of-file or allocation change, a byte-range lock; MS-FSA 2.1.4.12).
    pub fn break_read_caching(&self, open: u64) {
        let mut out = Vec::new();
        {
            let mut inner = self.inner.lock();
            let o = &mut inner.oplocks;
            if o.holders.is_empty() && o.leases.is_empty() {
                return;
            }
            o.break_level2(&mut out);
            if o.break_read_leases(open, &mut out) {
                o.generation += 1;
            }
        }
        self.oplock_changed.notify_waiters();
        oplock::send(out);
    }

    /// Breaks H of the leases other than the one of `open` and waits until none of them
    /// holds H any more (acknowledged, closed or timed out): a rename (MS-FSA 2.1.5.14.11).
    pub async fn break_handle_caching(&self, open: u64) {
        loop {
            let mut out = Vec::new();
            let w = {
                let mut inner = self.inner.lock();
                if inner.oplocks.leases.is_empty() {
                    return;
                }
                inner.oplocks.break_handle_leases(open, &mut out)
            };
            self.oplock_changed.notify_waiters();
            oplock::send(out);
            match w {
                Some(w) => self.wait_oplock(w).await,
                None => return,
            }
        }
    }

    /// Releases the lease part of a closing open (the table entry goes with the last open).
    pub(super) fn release_lease(
        &self,
        inner: &mut super::file_state::FileStateInner,
        open: u64,
    ) -> bool {
        match inner.oplocks.release_lease(open) {
            Some(id) => {
                TABLE.forget(&id, self.key);
                inner.oplocks.generation += 1;
                true
            }
            None => false,
        }
    }
}

/// A lease break acknowledgment for (ClientGuid, LeaseKey) `id` with `state` (MS-SMB2
/// 3.3.5.22.2): STATUS_OBJECT_NAME_NOT_FOUND for an unknown lease, STATUS_UNSUCCESSFUL when
/// no break is in progress, STATUS_REQUEST_NOT_ACCEPTED for a state above the one asked for.
pub fn acknowledge(id: &LeaseId, state: u32) -> Result<(), NtStatus> {
    let file = TABLE.file(id).ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)?;
    let mut out = Vec::new();
    let r = {
        let mut inner = file.inner.lock();
        let o = &mut inner.oplocks;
        let now = Instant::now();
        if o.expire_leases(now, &mut out) {
            o.generation += 1;
        }
        let l = o
            .leases
            .iter_mut()
            .find(|l| &l.id == id)
            .ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)?;
        let r = l.acknowledge(state, now, &mut out);
        if r.is_ok() {
            o.generation += 1;
        }
        r
    };
    file.oplock_changed.notify_waiters();
    oplock::send(out);
    r
}

#[cfg(test)]
mod tests;
