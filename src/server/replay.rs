//! Channel sequence verification and replay detection (MS-SMB2 3.3.5.2.10).
//!
//! A 3.x client that loses a channel re-sends its outstanding requests on another channel of
//! the session with SMB2_FLAGS_REPLAY_OPERATION set, after bumping its ChannelSequence (the low
//! 16 bits of the request header's Status field). The server keeps per open
//! `Open.ChannelSequence`, `Open.OutstandingRequestCount` (requests in flight with the current
//! sequence) and `Open.OutstandingPreRequestCount` (requests in flight with an older one):
//!
//! - a request with the current sequence counts as outstanding;
//! - one with a newer sequence (unsigned 16-bit difference 1..=0x7FFF) moves every outstanding
//!   request to the "pre" count and becomes the current sequence;
//! - one with an older sequence is a stale request from a lost channel: a modifying request
//!   (WRITE, SET_INFO, IOCTL) fails with STATUS_FILE_NOT_AVAILABLE, the others run uncounted;
//! - a replayed request (REPLAY_OPERATION) is accepted only while no request of an older
//!   sequence is still in flight (OutstandingPreRequestCount is 0), else a modifying one fails
//!   with STATUS_FILE_NOT_AVAILABLE: the original might still complete.
//!
//! When a request completes it leaves the count it was entered in: the current one if the
//! sequence has not moved since, else the "pre" one. The state is created with the CREATE
//! request's ChannelSequence (3.3.5.9) and lives in a side table keyed by FileId, holding a
//! weak reference to the open; entries whose open is gone are pruned as the table grows.
//!
//! Replayed CREATEs (matched by CreateGuid, 3.3.5.9.10) are the durable-handle code's part.
//!
//! A CREATE with a DH2Q context that waits for a lease or oplock break outlives the loss of
//! the channel it came on while its session keeps another channel ([`note_pending_create`],
//! [`survives_channel_loss`]). MS-SMB2 3.3.7.1 cancels every request of a lost channel, but a
//! client that lost a channel replays such a CREATE on another one (3.2.7.1), and the replay
//! must find the original: STATUS_FILE_NOT_AVAILABLE while it still waits, its open once it
//! completed (Samba's behaviour, bug 14449; smbtorture smb2.replay.dhv2-pending2*-sane). The
//! original's response goes nowhere; the open it made belongs to the session.
use super::dispatch::{Ctx, Outcome, PendingOp, Reply};
use super::open::Open;
use crate::wire::{Command, FileId, NtStatus, HEADER_LEN};
use dashmap::DashMap;
use parking_lot::Mutex;
use std::sync::{Arc, Weak};

/// The per-open counters of MS-SMB2 3.3.1.10.
#[derive(Debug, Default)]
struct Counters {
    /// Open.ChannelSequence.
    channel_sequence: u16,
    /// Bumped whenever `channel_sequence` moves, so a completing request knows which count it
    /// was entered in.
    epoch: u64,
    /// Open.OutstandingRequestCount.
    outstanding: u32,
    /// Open.OutstandingPreRequestCount.
    pre_outstanding: u32,
}

struct Entry {
    open: Weak<Open>,
    counters: Mutex<Counters>,
}

/// Opens' replay state, keyed by FileId (persistent, volatile).
#[derive(Default)]
struct ReplayTable {
    entries: DashMap<(u64, u64), Arc<Entry>>,
    /// Size after the last prune; the next prune runs at twice this.
    pruned_at: std::sync::atomic::AtomicUsize,
    /// Entries inserted since the last prune plus the size it left: `DashMap::len` locks
    /// every shard, too dear for each request.
    len: std::sync::atomic::AtomicUsize,
}

/// A DH2Q CREATE waiting for a break: since when, its session and its connection.
type PendingCreate = (std::time::Instant, u64, Weak<super::connection::Connection>);

/// A server's replay state ([`super::Server::replay`]): the per-open counters and the DH2Q
/// CREATEs waiting for a break.
#[derive(Default)]
pub struct Replay {
    table: ReplayTable,
    /// DH2Q CREATEs waiting for a break, by (connection id, MessageId).
    pending_creates: DashMap<(u64, u64), PendingCreate>,
}

/// Notes that the CREATE of `ctx` waits for a break and carries a DH2Q context (`waiting`), or
/// no longer does (it completed or was cancelled).
pub fn note_pending_create(ctx: &Ctx, waiting: bool) {
    let k = (ctx.conn.id, ctx.hdr.message_id);
    let pending = &ctx.conn.server.replay.pending_creates;
    if waiting {
        if pending.len() > 4096 {
            // Entries outlive a break's wait only when their CREATE was dropped unfinished.
            let limit = super::oplock::break_timeout() * 2;
            pending.retain(|_, t| t.0.elapsed() < limit);
        }
        let entry = (
            std::time::Instant::now(),
            ctx.session_id,
            Arc::downgrade(&ctx.conn),
        );
        pending.insert(k, entry);
    } else {
        pending.remove(&k);
    }
}

/// Whether the asynchronous request `message_id` of connection `conn_id`, which is being
/// lost, keeps running: a DH2Q CREATE waiting for a break whose session `session_id` has a
/// channel on another connection.
pub fn survives_channel_loss(
    server: &super::Server,
    conn_id: u64,
    message_id: u64,
    session_id: u64,
) -> bool {
    server
        .replay
        .pending_creates
        .contains_key(&(conn_id, message_id))
        && server
            .sessions
            .get(&session_id)
            .is_some_and(|s| s.channels.lock().keys().any(|c| *c != conn_id))
}

/// After a connection is lost: cancels the CREATEs that outlived an earlier lost channel of
/// a session that has now ended (no channel left to answer on, nobody to replay them).
pub fn cancel_orphans(server: &super::Server) {
    let pending = &server.replay.pending_creates;
    if pending.is_empty() {
        return;
    }
    let mut cancels = Vec::new();
    for e in pending.iter() {
        let (_, session_id, conn) = e.value();
        if server.sessions.contains_key(session_id) {
            continue;
        }
        if let Some(conn) = conn.upgrade() {
            if let Some(p) = conn.pending.get(&e.key().1) {
                cancels.push(p.cancel.clone());
            }
        }
    }
    for c in cancels {
        c.cancel();
    }
}

fn key(id: FileId) -> (u64, u64) {
    (id.persistent, id.volatile)
}

impl ReplayTable {
    fn entry(&self, open: &Arc<Open>, channel_sequence: u16) -> Arc<Entry> {
        use std::sync::atomic::Ordering::Relaxed;
        // The common case, an open seen before, takes only a read lock of one shard.
        if let Some(e) = self.entries.get(&key(open.file_id)) {
            return e.clone();
        }
        let e = self
            .entries
            .entry(key(open.file_id))
            .or_insert_with(|| {
                self.len.fetch_add(1, Relaxed);
                Arc::new(Entry {
                    open: Arc::downgrade(open),
                    counters: Mutex::new(Counters {
                        channel_sequence,
                        ..Counters::default()
                    }),
                })
            })
            .clone();
        self.maybe_prune();
        e
    }

    /// Drops entries whose open has closed, once the table has doubled since the last prune.
    fn maybe_prune(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let len = self.len.load(Relaxed);
        if len < 64 || len < 2 * self.pruned_at.load(Relaxed) {
            return;
        }
        self.entries.retain(|_, e| e.open.strong_count() > 0);
        let left = self.entries.len();
        self.len.store(left, Relaxed);
        self.pruned_at.store(left.max(32), Relaxed);
    }
}

/// Where the FileId sits in the body of each command that names an open (MS-SMB2 2.2).
fn file_id_offset(cmd: Command) -> Option<usize> {
    Some(match cmd {
        Command::CLOSE | Command::FLUSH | Command::LOCK | Command::IOCTL => 8,
        Command::QUERY_DIRECTORY | Command::OPLOCK_BREAK => 8,
        Command::CHANGE_NOTIFY => 8,
        Command::READ | Command::WRITE | Command::SET_INFO => 16,
        Command::QUERY_INFO => 24,
        _ => return None,
    })
}

/// The requests that fail with STATUS_FILE_NOT_AVAILABLE when stale (3.3.5.2.10).
fn is_modifying(cmd: Command) -> bool {
    matches!(cmd, Command::WRITE | Command::SET_INFO | Command::IOCTL)
}

/// How a 16-bit ChannelSequence compares with the open's (unsigned 16-bit difference).
#[derive(Debug, PartialEq, Eq)]
enum Order {
    Equal,
    Newer,
    Older,
}

fn order(request: u16, current: u16) -> Order {
    match request.wrapping_sub(current) {
        0 => Order::Equal,
        1..=0x7FFF => Order::Newer,
        _ => Order::Older,
    }
}

impl Counters {
    /// Enters a request; `Ok(Some(epoch))` when it was counted, `Ok(None)` when it runs
    /// uncounted, `Err` when it must fail.
    fn enter(&mut self, seq: u16, replay: bool, modifying: bool) -> Result<Option<u64>, NtStatus> {
        let o = order(seq, self.channel_sequence);
        let may_count = !replay || self.pre_outstanding == 0;
        match o {
            Order::Equal if may_count => self.outstanding += 1,
            Order::Newer if may_count => {
                self.pre_outstanding += self.outstanding;
                self.outstanding = 1;
                self.channel_sequence = seq;
                self.epoch += 1;
            }
            _ if modifying => return Err(NtStatus::FILE_NOT_AVAILABLE),
            _ => return Ok(None),
        }
        Ok(Some(self.epoch))
    }

    fn leave(&mut self, epoch: u64) {
        if epoch == self.epoch {
            self.outstanding = self.outstanding.saturating_sub(1);
        } else {
            self.pre_outstanding = self.pre_outstanding.saturating_sub(1);
        }
    }
}

/// A request counted in its open's outstanding requests until dropped (MS-SMB2 3.3.4.1: the
/// counts go down when the response is sent).
pub struct InFlight {
    entry: Arc<Entry>,
    epoch: u64,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.entry.counters.lock().leave(self.epoch);
    }
}

/// What [`enter`] learned, handed back to [`finish`].
pub struct Ticket {
    in_flight: Option<InFlight>,
    /// For a CREATE: its ChannelSequence, session and tree, to record the new open's.
    create: Option<(u16, u64, u32)>,
}

/// Verifies the ChannelSequence of a request on an open (3.x only) before its handler runs.
/// An unknown FileId is left to the handler, which answers STATUS_FILE_CLOSED.
pub fn enter(ctx: &Ctx) -> Result<Ticket, NtStatus> {
    let mut ticket = Ticket {
        in_flight: None,
        create: None,
    };
    if ctx.dialect() < 0x0300 {
        return Ok(ticket);
    }
    let cmd = ctx.hdr.command;
    let seq = ctx.hdr.channel_sequence();
    if cmd == Command::CREATE {
        ticket.create = Some((seq, ctx.session_id, ctx.tree_id));
        return Ok(ticket);
    }
    let Some(off) = file_id_offset(cmd) else {
        return Ok(ticket);
    };
    let Some(raw) = ctx.msg.get(HEADER_LEN + off..HEADER_LEN + off + 16) else {
        return Ok(ticket);
    };
    let id = FileId {
        persistent: u64::from_le_bytes(raw[..8].try_into().unwrap_or_default()),
        volatile: u64::from_le_bytes(raw[8..].try_into().unwrap_or_default()),
    };
    let Ok(open) = super::handlers::files::find_open(ctx, id) else {
        return Ok(ticket);
    };
    let entry = ctx.conn.server.replay.table.entry(&open, seq);
    let replay = ctx.hdr.flags & crate::wire::header::flags::REPLAY_OPERATION != 0;
    let entered = entry.counters.lock().enter(seq, replay, is_modifying(cmd));
    match entered {
        Err(status) => {
            tracing::debug!(?cmd, seq, replay, "stale channel sequence");
            Err(status)
        }
        Ok(epoch) => {
            ticket.in_flight = epoch.map(|epoch| InFlight { entry, epoch });
            Ok(ticket)
        }
    }
}

/// Records a CREATE's ChannelSequence as its open's, from the reply that names the new open.
fn record_create(server: &super::Server, create: Option<(u16, u64, u32)>, reply: &Reply) {
    let (Some((seq, session_id, tree_id)), Some(id)) = (create, reply.file_id) else {
        return;
    };
    if reply.status.is_error() {
        return;
    }
    if let Some(open) = server.opens.get(id, session_id, tree_id) {
        // A FileId is never reused, so a fresh entry starts at the CREATE's sequence.
        server.replay.table.entry(&open, seq);
    }
}

/// Holds the ticket until the request's final response is ready (also for a request that went
/// asynchronous), and records a new open's ChannelSequence.
pub fn finish(server: Arc<super::Server>, ticket: Ticket, out: Outcome) -> Outcome {
    match out {
        Outcome::Reply(r) => {
            record_create(&server, ticket.create, &r);
            drop(ticket.in_flight);
            Outcome::Reply(r)
        }
        Outcome::Pending(p) => {
            let PendingOp { fut, cancel } = p;
            Outcome::Pending(PendingOp {
                fut: Box::pin(async move {
                    let r = fut.await;
                    record_create(&server, ticket.create, &r);
                    drop(ticket.in_flight);
                    r
                }),
                cancel,
            })
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_order_wraps() {
        assert_eq!(order(5, 5), Order::Equal);
        assert_eq!(order(6, 5), Order::Newer);
        assert_eq!(order(0, 0xFFFF), Order::Newer);
        assert_eq!(order(0x8000, 0), Order::Older);
        assert_eq!(order(4, 5), Order::Older);
    }

    #[test]
    fn stale_modifying_requests_fail() {
        let mut c = Counters::default();
        let e0 = c.enter(0, false, true).unwrap().unwrap();
        // A newer sequence moves the outstanding request to the "pre" count.
        let e1 = c.enter(1, false, true).unwrap().unwrap();
        assert_eq!((c.outstanding, c.pre_outstanding), (1, 1));
        assert_eq!(c.enter(0, false, true), Err(NtStatus::FILE_NOT_AVAILABLE));
        assert_eq!(
            c.enter(0, false, false),
            Ok(None),
            "stale reads run uncounted"
        );
        // A replay while an older request is in flight fails; after it completes it runs.
        assert_eq!(c.enter(1, true, true), Err(NtStatus::FILE_NOT_AVAILABLE));
        c.leave(e0);
        assert_eq!(c.pre_outstanding, 0);
        let e2 = c.enter(1, true, true).unwrap().unwrap();
        c.leave(e1);
        c.leave(e2);
        assert_eq!((c.outstanding, c.pre_outstanding), (0, 0));
    }
}
