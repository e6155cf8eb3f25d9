//! Oplocks (MS-SMB2 3.3.1.10 Open.OplockLevel / Open.OplockState, 3.3.4.6 "Object Store
//! Indicates an Oplock Break", 3.3.5.22.1 "Processing an Oplock Acknowledgment"; the object
//! store side is MS-FSA 2.1.5.17 "Server Requests an Oplock" and 2.1.4.12 "Algorithm to Check
//! for an Oplock Break").
//!
//! The oplocks of a file (a stream: the key of [`FileState`] is stream-aware) live in
//! [`FileStateInner::oplocks`], under the file's short-held mutex, next to the share modes they
//! interact with. Rules:
//!
//! - Grant ([`Oplocks::grant`]): files only (never directories; a LEASE request gets no lease
//!   and no oplock). BATCH or EXCLUSIVE only when the open is the only open of the stream;
//!   otherwise LEVEL_II, unless another open still holds (or is losing) an exclusive or batch
//!   oplock, in which case none.
//! - CREATE of another open ([`Oplocks::check_create`]), unless it is a "stat" open (only
//!   FILE_READ_ATTRIBUTES, FILE_WRITE_ATTRIBUTES, SYNCHRONIZE) that does not overwrite: a BATCH
//!   oplock breaks *before* the sharing check (so the holder can close its cached handle and let
//!   the open succeed), an EXCLUSIVE one after it (a sharing violation breaks nothing). They break
//!   to LEVEL_II, or to none for SUPERSEDE / OVERWRITE / OVERWRITE_IF, which also break LEVEL_II
//!   oplocks to none. The CREATE waits (asynchronously) until the holder acknowledges, closes,
//!   or the break times out ([`break_timeout`], 35 s as Windows; MS-SMB2 3.3.2.1 Oplock Break
//!   Acknowledgment Timer), then runs again.
//! - WRITE, SET_INFO end-of-file / allocation ([`FileState::break_level2`]): every LEVEL_II
//!   oplock of the stream, the writer's own included, breaks to none with no acknowledgment.
//! - CLOSE releases the open's oplock ([`Oplocks::release`]), ending a break in progress.
//!
//! The break notification (MS-SMB2 2.2.23.1) goes out on the connection the open was made on
//! while it lives, else on another channel of the session ([`super::break_delivery`]), with
//! MessageId 0xFFFFFFFFFFFFFFFF, SessionId 0 and TreeId 0, unsigned, and encrypted when the
//! open's session encrypts.
use super::connection::Connection;
use super::file_state::{FileState, ShareEntry};
use crate::wire::header::flags;
use crate::wire::oplock_break::{LeaseBreakNotification, OplockBreak};
use crate::wire::{create::OplockLevel, BytesMut, Command, FileId, Header, NtStatus};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// SMB2_OPLOCK_LEVEL_NONE.
pub const NONE: u8 = 0x00;
/// SMB2_OPLOCK_LEVEL_II.
pub const LEVEL_II: u8 = 0x01;
/// SMB2_OPLOCK_LEVEL_EXCLUSIVE.
pub const EXCLUSIVE: u8 = 0x08;
/// SMB2_OPLOCK_LEVEL_BATCH.
pub const BATCH: u8 = 0x09;
/// SMB2_OPLOCK_LEVEL_LEASE.
pub const LEASE: u8 = 0xFF;

/// Access bits of a "stat" open, which breaks no oplock (MS-FSA 2.1.4.12): FILE_READ_ATTRIBUTES,
/// FILE_WRITE_ATTRIBUTES, SYNCHRONIZE.
const STAT_ACCESS: u32 = 0x0000_0080 | 0x0000_0100 | 0x0010_0000;

static BREAK_TIMEOUT_MS: AtomicU64 = AtomicU64::new(35_000);

/// How long a break waits for the holder's acknowledgment.
pub fn break_timeout() -> Duration {
    Duration::from_millis(BREAK_TIMEOUT_MS.load(Ordering::Relaxed))
}

/// Sets the break acknowledgment timeout (35 s by default, as Windows).
pub fn set_break_timeout(d: Duration) {
    BREAK_TIMEOUT_MS.store(d.as_millis().max(1) as u64, Ordering::Relaxed);
}

/// Whether an open with `access` is a stat open.
pub fn is_stat_open(access: u32) -> bool {
    access & !STAT_ACCESS == 0
}

/// A break in progress (Open.OplockState = Breaking).
#[derive(Debug, Clone, Copy)]
pub struct Breaking {
    /// The level the holder was told to go to.
    pub to: u8,
    /// When the wait for the acknowledgment ends.
    pub deadline: Instant,
}

/// One open's oplock.
pub struct Holder {
    /// The open (volatile FileId).
    pub open: u64,
    /// Its FileId, for the notification.
    pub file_id: FileId,
    /// Its session (encryption of the notification).
    pub session_id: u64,
    /// The connection it was opened on.
    pub conn: Weak<Connection>,
    /// Open.OplockLevel.
    pub level: u8,
    /// A break in progress.
    pub breaking: Option<Breaking>,
}

/// The oplocks and leases of one stream.
#[derive(Default)]
pub struct Oplocks {
    pub(super) holders: Vec<Holder>,
    /// The leases of the stream ([`super::lease`]).
    pub leases: Vec<super::lease::Lease>,
    /// Counts changes that end or settle a break, for waiters.
    pub(super) generation: u64,
}

impl std::fmt::Debug for Oplocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.holders
                    .iter()
                    .map(|h| (h.open, h.level, h.breaking.map(|b| b.to))),
            )
            .entries(self.leases.iter())
            .finish()
    }
}

/// A break notification to send.
pub struct Notice {
    conn: Weak<Connection>,
    session_id: u64,
    kind: NoticeKind,
}

/// What a [`Notice`] carries.
enum NoticeKind {
    /// Oplock Break Notification (MS-SMB2 2.2.23.1).
    Oplock { file_id: FileId, level: u8 },
    /// Lease Break Notification (MS-SMB2 2.2.23.2).
    Lease(LeaseBreakNotification),
    /// No message: an oplock or lease changed with no acknowledgment to come (a break that
    /// timed out, a break to none), so the persistent records of the opens holding it are
    /// rewritten ([`super::persistent`]); acknowledged breaks save them when acknowledged.
    Persist(Persist),
}

/// Whose persistent records a [`NoticeKind::Persist`] rewrites.
pub(super) enum Persist {
    /// The open with this FileId (its oplock changed).
    Open(FileId),
    /// The opens of this lease.
    Lease(super::lease::LeaseId),
}

impl Notice {
    /// A lease break notification for the connection `conn` of session `session_id`.
    pub fn lease(conn: Weak<Connection>, session_id: u64, body: LeaseBreakNotification) -> Self {
        Notice {
            conn,
            session_id,
            kind: NoticeKind::Lease(body),
        }
    }

    /// A [`NoticeKind::Persist`] for the opens `what` names, found through `conn` or the
    /// session `session_id`.
    pub(super) fn persist(conn: Weak<Connection>, session_id: u64, what: Persist) -> Self {
        Notice {
            conn,
            session_id,
            kind: NoticeKind::Persist(what),
        }
    }

    /// The oplock level a notice carries; `LEASE` for a lease break, [`PERSIST`] for a
    /// [`NoticeKind::Persist`].
    #[cfg(test)]
    pub(super) fn level(&self) -> u8 {
        match self.kind {
            NoticeKind::Oplock { level, .. } => level,
            NoticeKind::Lease(_) => LEASE,
            NoticeKind::Persist(_) => PERSIST,
        }
    }
}

/// What [`Notice::level`] answers for a [`NoticeKind::Persist`] (no oplock level is 0xFE).
#[cfg(test)]
pub(super) const PERSIST: u8 = 0xFE;

/// What a CREATE must wait for before it runs again.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    /// The oplock generation seen.
    pub generation: u64,
    /// When the break in progress times out.
    pub deadline: Instant,
}

/// When, in a CREATE, the check runs (MS-FSA 2.1.5.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the sharing check: BATCH oplocks break.
    BeforeSharing,
    /// After a successful sharing check: EXCLUSIVE oplocks break, LEVEL_II ones on overwrite.
    AfterSharing,
}

impl Oplocks {
    /// The [`Persist`] notice of a holder whose oplock changed with no acknowledgment.
    fn persist(h: &Holder) -> Notice {
        Notice::persist(h.conn.clone(), h.session_id, Persist::Open(h.file_id))
    }

    fn notice(h: &Holder, level: u8) -> Notice {
        Notice {
            conn: h.conn.clone(),
            session_id: h.session_id,
            kind: NoticeKind::Oplock {
                file_id: h.file_id,
                level,
            },
        }
    }

    /// The current generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Ends breaks whose acknowledgment timed out: the open keeps no oplock (MS-SMB2 3.3.2.1).
    fn expire(&mut self, now: Instant, out: &mut Vec<Notice>) {
        let mut changed = false;
        self.holders.retain_mut(|h| match h.breaking {
            Some(b) if b.deadline <= now => {
                out.push(Self::persist(h));
                changed = true;
                false
            }
            _ => true,
        });
        if changed {
            self.generation += 1;
        }
    }

    /// The oplock checks of a CREATE by open `me` with GrantedAccess `access`. Breaks what must
    /// break (the notices go in `out`) and answers whether the CREATE must wait.
    pub fn check_create(
        &mut self,
        me: u64,
        access: u32,
        overwrite: bool,
        phase: Phase,
        out: &mut Vec<Notice>,
    ) -> Option<Wait> {
        if is_stat_open(access) && !overwrite {
            return None;
        }
        let now = Instant::now();
        self.expire(now, out);
        let to = if overwrite { NONE } else { LEVEL_II };
        let mut wait: Option<Instant> = None;
        let mut dropped = false;
        self.holders.retain_mut(|h| {
            if h.open == me {
                return true;
            }
            if let Some(b) = h.breaking {
                wait = Some(wait.map_or(b.deadline, |w| w.min(b.deadline)));
                return true;
            }
            let breaks = match h.level {
                BATCH => true,
                EXCLUSIVE => phase == Phase::AfterSharing,
                _ => false,
            };
            if breaks {
                let deadline = now + break_timeout();
                h.breaking = Some(Breaking { to, deadline });
                out.push(Self::notice(h, to));
                wait = Some(wait.map_or(deadline, |w| w.min(deadline)));
                return true;
            }
            if h.level == LEVEL_II && overwrite && phase == Phase::AfterSharing {
                out.push(Self::notice(h, NONE));
                out.push(Self::persist(h));
                dropped = true;
                return false;
            }
            true
        });
        if dropped {
            self.generation += 1;
        }
        wait.map(|deadline| Wait {
            generation: self.generation,
            deadline,
        })
    }

    /// Grants an oplock to a new open `me` (already in `opens`) that asked for `requested`;
    /// returns the level granted.
    pub fn grant(
        &mut self,
        opens: &[ShareEntry],
        requested: u8,
        is_dir: bool,
        holder: Holder,
    ) -> u8 {
        if is_dir || !matches!(requested, LEVEL_II | EXCLUSIVE | BATCH) {
            return NONE;
        }
        let alone = opens.iter().all(|e| e.open == holder.open);
        let exclusive_elsewhere = self
            .holders
            .iter()
            .any(|h| h.open != holder.open && matches!(h.level, EXCLUSIVE | BATCH));
        let level = if self.handle_lease_elsewhere(holder.open) {
            // A lease with H elsewhere: no oplock (smb2.lease.oplock).
            NONE
        } else if alone {
            requested
        } else if exclusive_elsewhere {
            NONE
        } else {
            LEVEL_II
        };
        if level != NONE {
            self.holders.retain(|h| h.open != holder.open);
            self.holders.push(Holder { level, ..holder });
        }
        level
    }

    /// Removes the oplock of a closing open; true when that changed what waiters wait for.
    pub fn release(&mut self, open: u64) -> bool {
        let before = self.holders.len();
        self.holders.retain(|h| h.open != open);
        let changed = self.holders.len() != before;
        if changed {
            self.generation += 1;
        }
        changed
    }

    /// Breaks every LEVEL_II oplock to none (a write or truncation by any open).
    pub fn break_level2(&mut self, out: &mut Vec<Notice>) {
        let mut changed = false;
        self.holders.retain(|h| {
            if h.level == LEVEL_II && h.breaking.is_none() {
                out.push(Self::notice(h, NONE));
                out.push(Self::persist(h));
                changed = true;
                false
            } else {
                true
            }
        });
        if changed {
            self.generation += 1;
        }
    }

    /// The oplock level of an open.
    pub fn level_of(&self, open: u64) -> u8 {
        self.holders
            .iter()
            .find(|h| h.open == open)
            .map_or(NONE, |h| h.level)
    }

    /// An acknowledgment of a break by `open` with level `ack` (MS-SMB2 3.3.5.22.1); answers
    /// the level now held. With no break in progress: an open holding no oplock or LEVEL_II
    /// has nothing it could acknowledge (a LEVEL_II break to none takes none, MS-SMB2
    /// 2.2.24.1), STATUS_INVALID_OPLOCK_PROTOCOL as Windows answers (smb2.oplock.levelii500);
    /// an open holding EXCLUSIVE or BATCH is not Breaking, STATUS_INVALID_DEVICE_STATE.
    pub fn acknowledge(&mut self, open: u64, ack: u8) -> Result<u8, NtStatus> {
        let Some(i) = self.holders.iter().position(|h| h.open == open) else {
            return Err(NtStatus::INVALID_OPLOCK_PROTOCOL);
        };
        let Some(b) = self.holders[i].breaking else {
            return Err(if self.holders[i].level == LEVEL_II {
                NtStatus::INVALID_OPLOCK_PROTOCOL
            } else {
                NtStatus::INVALID_DEVICE_STATE
            });
        };
        self.generation += 1;
        let result = if ack == LEASE {
            Err(NtStatus::INVALID_PARAMETER)
        } else if !(ack == NONE || ack == LEVEL_II && b.to == LEVEL_II) {
            Err(NtStatus::INVALID_OPLOCK_PROTOCOL)
        } else {
            Ok(ack)
        };
        match result {
            Ok(LEVEL_II) => {
                let h = &mut self.holders[i];
                h.level = LEVEL_II;
                h.breaking = None;
            }
            _ => {
                self.holders.remove(i);
            }
        }
        result
    }
}

impl FileState {
    /// Breaks the LEVEL_II oplocks of this stream to none: a write, an end-of-file or
    /// allocation change, or a byte-range lock (MS-FSA 2.1.4.12).
    /// Every lease breaks to none too; [`FileState::break_read_caching`] spares the lease of
    /// the open that writes.
    pub fn break_level2(&self) {
        self.break_read_caching(0);
    }

    /// Releases the oplock of a closing open, waking CREATEs waiting on its break.
    pub fn release_oplock(&self, open: u64) {
        let changed = self.inner.lock().oplocks.release(open);
        if changed {
            self.oplock_changed.notify_waiters();
        }
    }

    /// An acknowledgment (MS-SMB2 3.3.5.22.1); answers the level now held.
    pub fn acknowledge_oplock(&self, open: u64, ack: u8) -> Result<u8, NtStatus> {
        let r = self.inner.lock().oplocks.acknowledge(open, ack);
        self.oplock_changed.notify_waiters();
        r
    }

    /// Waits until the oplocks of this file change from generation `w.generation`, or the
    /// break times out.
    pub async fn wait_oplock(&self, w: Wait) {
        let notified = self.oplock_changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.inner.lock().oplocks.generation != w.generation {
            return;
        }
        let deadline = tokio::time::Instant::from_std(w.deadline);
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}

/// A new holder for [`Oplocks::grant`].
pub fn holder(conn: &Arc<Connection>, session_id: u64, file_id: FileId) -> Holder {
    Holder {
        open: file_id.volatile,
        file_id,
        session_id,
        conn: Arc::downgrade(conn),
        level: NONE,
        breaking: None,
    }
}

/// Sends break notifications, each on a live channel of its holder's session, from a task of
/// its own (callers may hold a file's lock or run on the blocking pool).
pub fn send(notices: Vec<Notice>) {
    if notices.is_empty() {
        return;
    }
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    rt.spawn(async move {
        for n in notices {
            // An oplock break goes on the open's own connection while it lives, else on another
            // channel of the session; a lease break on the session's channels in order
            // (MS-SMB2 3.3.4.6, 3.3.4.7). A channel that does not acknowledge it is dropped
            // and the next one tried (see break_delivery.rs).
            let own = n.conn.upgrade();
            let Some(server) = super::break_delivery::server_for(own.as_ref(), n.session_id) else {
                continue;
            };
            let own = own.filter(|_| matches!(n.kind, NoticeKind::Oplock { .. }));
            let msg = match n.kind {
                NoticeKind::Persist(what) => {
                    super::persistent::save_changed(&server, what).await;
                    continue;
                }
                NoticeKind::Oplock { file_id, level } => {
                    let mut msg = break_header();
                    OplockBreak {
                        oplock_level: OplockLevel(level),
                        file_id,
                    }
                    .encode(&mut msg);
                    tracing::debug!(?file_id, level, "oplock break");
                    msg
                }
                NoticeKind::Lease(body) => {
                    let mut msg = break_header();
                    body.encode(&mut msg);
                    tracing::debug!(
                        from = body.current_lease_state,
                        to = body.new_lease_state,
                        "lease break"
                    );
                    msg
                }
            };
            super::break_delivery::deliver(&server, n.session_id, own, msg).await;
        }
    });
}

/// The SMB2 header of a break notification: MessageId 0xFFFFFFFFFFFFFFFF, SessionId and
/// TreeId 0, with room for the body.
fn break_header() -> BytesMut {
    let h = Header {
        command: Command::OPLOCK_BREAK,
        flags: flags::SERVER_TO_REDIR,
        message_id: u64::MAX,
        ..Header::default()
    };
    let mut msg = BytesMut::with_capacity(crate::wire::HEADER_LEN + 44);
    h.encode(&mut msg);
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(open: u64) -> Holder {
        Holder {
            open,
            file_id: FileId {
                persistent: 1,
                volatile: open,
            },
            session_id: 1,
            conn: Weak::new(),
            level: NONE,
            breaking: None,
        }
    }

    fn e(open: u64) -> ShareEntry {
        ShareEntry {
            open,
            access: 0x1f01ff,
            share: 7,
        }
    }

    #[test]
    fn grant_and_break() {
        let mut o = Oplocks::default();
        assert_eq!(o.grant(&[e(1)], BATCH, false, h(1)), BATCH);
        assert_eq!(o.grant(&[e(1)], BATCH, true, h(1)), NONE);
        let mut out = Vec::new();
        // A stat open breaks nothing.
        assert!(o
            .check_create(2, 0x80, false, Phase::BeforeSharing, &mut out)
            .is_none());
        assert!(out.is_empty());
        let w = o
            .check_create(2, 0x1f01ff, false, Phase::BeforeSharing, &mut out)
            .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].level(), LEVEL_II);
        // Still breaking: the next CREATE waits too, without a new notice.
        out.clear();
        assert!(o
            .check_create(3, 1, false, Phase::AfterSharing, &mut out)
            .is_some());
        assert!(out.is_empty());
        assert_eq!(
            o.acknowledge(1, BATCH),
            Err(NtStatus::INVALID_OPLOCK_PROTOCOL)
        );
        assert!(o.generation() > w.generation);
        assert_eq!(
            o.acknowledge(1, NONE),
            Err(NtStatus::INVALID_OPLOCK_PROTOCOL)
        );
    }

    #[test]
    fn level2_and_ack() {
        let mut o = Oplocks::default();
        o.grant(&[e(1)], EXCLUSIVE, false, h(1));
        let mut out = Vec::new();
        assert!(o
            .check_create(2, 1, false, Phase::BeforeSharing, &mut out)
            .is_none());
        assert!(o
            .check_create(2, 1, false, Phase::AfterSharing, &mut out)
            .is_some());
        assert_eq!(o.acknowledge(1, LEVEL_II), Ok(LEVEL_II));
        assert_eq!(o.grant(&[e(1), e(2)], BATCH, false, h(2)), LEVEL_II);
        out.clear();
        o.break_level2(&mut out);
        // Two breaks to none, and for each holder its persistent record is rewritten (no
        // acknowledgment will come to do it).
        let levels: Vec<u8> = out.iter().map(Notice::level).collect();
        assert_eq!(levels, [NONE, PERSIST, NONE, PERSIST]);
        assert_eq!(o.level_of(1), NONE);
        assert!(!o.release(1));
    }

    /// A break that is not acknowledged in time ends the oplock, and the holder's persistent
    /// record is to be rewritten (the acknowledgment that would have done it never came).
    #[test]
    fn timed_out_break_rewrites_the_record() {
        let mut o = Oplocks::default();
        o.grant(&[e(1)], BATCH, false, h(1));
        let mut out = Vec::new();
        assert!(o
            .check_create(2, 1, false, Phase::BeforeSharing, &mut out)
            .is_some());
        assert_eq!(
            out.iter().map(Notice::level).collect::<Vec<_>>(),
            [LEVEL_II]
        );
        out.clear();
        o.expire(Instant::now(), &mut out);
        assert!(out.is_empty(), "not yet due");
        o.expire(Instant::now() + break_timeout(), &mut out);
        assert_eq!(out.iter().map(Notice::level).collect::<Vec<_>>(), [PERSIST]);
        assert_eq!(o.level_of(1), NONE);
    }
}
