//! Durable opens, v1 and v2 (MS-SMB2 3.3.5.9.6 DHnQ, 3.3.5.9.7 DHnC, 3.3.5.9.10 DH2Q,
//! 3.3.5.9.12 DH2C), kept over the loss of a connection (3.3.7.1) and closed by the durable
//! open scavenger once their timeout passes (3.3.2.4).
//!
//! A durable open is an ordinary [`Open`] in [`Server::opens`] plus a [`Durable`] record in
//! [`DurableTable`], keyed by the persistent half of its FileId (which rsmbd makes random, so
//! it names one open server-wide). While the open's session lives, the record only remembers
//! what a reconnect is checked against: the version (a v2 open also its CreateGuid), the
//! user, the ClientGuid and lease key, the share and the name. When the session goes away
//! (the connection dropped, a LOGOFF, or a new session named it as PreviousSessionId)
//! the open leaves the open table and is *parked* here instead of being closed
//! ([`DurableTable::park`]; only while it still holds a batch oplock or a lease with HANDLE
//! caching, MS-SMB2 3.3.7.1): its share entry, byte-range locks, oplock and lease stay in the
//! file's [`crate::server::file_state::FileState`], keyed by the open's volatile FileId as
//! before. A reconnect ([`DurableTable::take`], driven by
//! `handlers::create::reconnect`) puts the same open, with the same FileId, back into the open
//! table under the new session and tree, and points its oplock and lease at the new
//! connection ([`rebind`]). A LOGOFF keeps durable opens too, as Windows and Samba do
//! (smbtorture smb2.durable-open.reopen4: logoff, new session, reconnect); TREE_DISCONNECT
//! and CLOSE close them like any other (smb2.durable-open.reopen3). An open with
//! delete-on-close set is kept too: the file goes when the open finally closes, after a
//! reconnect (smb2.durable-open.delete_on_close2), when a conflicting open purges it
//! (delete_on_close1), or when it times out.
//!
//! Timeouts: DH2Q asks for one in milliseconds; 0 means the server's default, and everything
//! is capped (`[limits] durable_timeout_secs` and `durable_max_timeout_secs`, by default
//! [`DEFAULT_TIMEOUT`] and [`MAX_TIMEOUT`] as Windows Server and Samba). A v1 open gets the
//! default. A parked open whose timeout passes is closed by a timer task; so is one
//! whose oplock or lease a conflicting CREATE must break, because its client cannot
//! acknowledge the break ([`DurableTable::purge_breaking`], MS-SMB2 3.3.4.6 / 3.3.4.7 with
//! Open.Connection NULL; Windows and Samba give the file to the new open at once).
//!
//! Persistent handles ([`crate::server::persistent`]) are durable v2 opens marked
//! [`Durable::persistent`]: they are parked whatever their caching (MS-SMB2 3.3.7.1 keeps
//! an open with Open.IsPersistent), and forgetting one removes its record from the store.
use super::connection::Connection;
use super::file_state::FileState;
use super::open::Open;
use super::Server;
use crate::wire::{FileId, Guid, NtStatus};
use dashmap::DashMap;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Timeout of a v1 durable open, and of a v2 one that asked for 0.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest timeout granted (what Windows Server and Samba cap DH2Q at).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);

/// Which durable handle request made the open durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// DHnQ.
    V1,
    /// DH2Q, with its CreateGuid.
    V2 {
        /// Open.CreateGuid.
        create_guid: Guid,
    },
}

/// Where a durable open is.
enum Link {
    /// In the open table, with a live session.
    Connected,
    /// Parked after its session went away; `seq` tells this parking from a later one.
    Disconnected { open: Arc<Open>, seq: u64 },
}

/// One durable open (the durable part of MS-SMB2 3.3.1.10 Open).
pub struct Durable {
    /// Open.FileId.
    pub file_id: FileId,
    /// v1 or v2.
    pub version: Version,
    /// Open.DurableOpenTimeout.
    pub timeout: Duration,
    /// The user that opened it (Open.Session.UserSecurity, by name).
    pub user: String,
    /// Open.ClientGuid.
    pub client_guid: [u8; 16],
    /// The lease key, when the open holds a lease (Open.Lease).
    pub lease_key: Option<[u8; 16]>,
    /// The share it was opened on.
    pub share: String,
    /// Open.PathName, as the client sent it.
    pub name: String,
    /// Open.AppInstanceId (SMB2_CREATE_APP_INSTANCE_ID).
    pub app_instance: Option<Guid>,
    /// Durability was granted. A DH2Q open without the caching durability needs is recorded
    /// too, for replays of its CREATE by CreateGuid, but it is never kept disconnected.
    pub granted: bool,
    /// Open.IsPersistent: granted on a continuously available share, its state is in the
    /// persistent store.
    pub persistent: bool,
    link: Mutex<Link>,
    /// The CREATE response body of a v2 open, answered again to a replay of its CREATE.
    reply: Mutex<Option<bytes::Bytes>>,
}

impl Durable {
    /// A record for a connected open.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        file_id: FileId,
        version: Version,
        timeout: Duration,
        user: String,
        client_guid: [u8; 16],
        lease_key: Option<[u8; 16]>,
        share: String,
        name: String,
        app_instance: Option<Guid>,
        granted: bool,
    ) -> Durable {
        Durable {
            file_id,
            version,
            timeout,
            user,
            client_guid,
            lease_key,
            share,
            name,
            app_instance,
            granted,
            persistent: false,
            link: Mutex::new(Link::Connected),
            reply: Mutex::new(None),
        }
    }

    /// The same record, persistent or not.
    pub fn with_persistent(mut self, persistent: bool) -> Durable {
        self.persistent = persistent;
        self
    }

    /// The CREATE response body to answer a replay of the CREATE with (v2 opens).
    pub fn replay_reply(&self) -> Option<bytes::Bytes> {
        self.reply.lock().clone()
    }

    /// Whether the open is parked (Open.Connection is NULL).
    pub fn is_disconnected(&self) -> bool {
        matches!(*self.link.lock(), Link::Disconnected { .. })
    }
}

/// The timeout granted for a DH2Q asking for `requested_ms` (0: the default), capped at `max`.
pub fn granted_timeout(requested_ms: u32, default: Duration, max: Duration) -> Duration {
    let t = if requested_ms == 0 {
        default
    } else {
        Duration::from_millis(u64::from(requested_ms))
    };
    t.min(max)
}

/// (ClientGuid, CreateGuid).
type GuidPair = ([u8; 16], [u8; 16]);

/// A request: its connection id and MessageId.
pub type RequestId = (u64, u64);

/// The server-wide table of durable opens.
#[derive(Default)]
pub struct DurableTable {
    by_persistent: DashMap<u64, Arc<Durable>>,
    /// (ClientGuid, CreateGuid) of v2 opens to their persistent FileId (replay detection).
    by_create_guid: DashMap<GuidPair, u64>,
    /// DH2Q CREATEs waiting for a break, by (ClientGuid, CreateGuid), since when: a replay of
    /// one is STATUS_FILE_NOT_AVAILABLE until it completes (MS-SMB2 3.3.5.9.10).
    in_flight: DashMap<GuidPair, (std::time::Instant, RequestId)>,
    seq: AtomicU64,
    /// The persistent store's directory, once the server set it up.
    store: std::sync::OnceLock<std::path::PathBuf>,
}

impl DurableTable {
    /// Where the records of persistent opens live (set once, at start).
    pub fn set_store_dir(&self, dir: std::path::PathBuf) {
        let _ = self.store.set(dir);
    }

    /// Records a durable open granted by CREATE.
    pub fn insert(&self, d: Durable) {
        if let Version::V2 { create_guid } = d.version {
            self.by_create_guid
                .insert((d.client_guid, create_guid.0), d.file_id.persistent);
        }
        self.by_persistent.insert(d.file_id.persistent, Arc::new(d));
    }

    /// The record of an open, if it is durable.
    pub fn get(&self, id: FileId) -> Option<Arc<Durable>> {
        self.by_persistent
            .get(&id.persistent)
            .filter(|d| d.file_id == id)
            .map(|d| d.clone())
    }

    /// The durable open a client made with `create_guid`.
    pub fn by_create_guid(&self, client_guid: [u8; 16], create_guid: Guid) -> Option<Arc<Durable>> {
        let p = *self.by_create_guid.get(&(client_guid, create_guid.0))?;
        self.by_persistent.get(&p).map(|d| d.clone())
    }

    /// The durable opens made with AppInstanceId `app`.
    pub fn by_app_instance(&self, app: Guid) -> Vec<Arc<Durable>> {
        self.by_persistent
            .iter()
            .filter(|d| d.granted && d.app_instance == Some(app))
            .map(|d| d.clone())
            .collect()
    }

    /// Keeps the CREATE response of a durable v2 open for replays of its CREATE
    /// (MS-SMB2 3.3.5.9.10: the replay gets the original answer).
    pub fn remember_reply(&self, id: FileId, body: &[u8]) {
        if let Some(d) = self.get(id) {
            if matches!(d.version, Version::V2 { .. }) {
                *d.reply.lock() = Some(bytes::Bytes::copy_from_slice(body));
            }
        }
    }

    /// Notes that the DH2Q CREATE with `create_guid`, request `req` (connection id and
    /// MessageId), waits for a break (`waiting`), or no longer does.
    pub fn note_in_flight(
        &self,
        client_guid: [u8; 16],
        create_guid: Guid,
        req: (u64, u64),
        waiting: bool,
    ) {
        let key = (client_guid, create_guid.0);
        if waiting {
            if self.in_flight.len() > 4096 {
                self.prune_in_flight();
            }
            self.in_flight.insert(key, (std::time::Instant::now(), req));
        } else {
            self.in_flight.remove_if(&key, |_, v| v.1 == req);
        }
    }

    /// Whether a DH2Q CREATE with `create_guid` other than request `req` is waiting for a
    /// break. Entries older than two break timeouts are stale (a cancelled CREATE).
    pub fn is_in_flight(&self, client_guid: [u8; 16], create_guid: Guid, req: (u64, u64)) -> bool {
        let limit = super::oplock::break_timeout() * 2;
        self.in_flight
            .get(&(client_guid, create_guid.0))
            .is_some_and(|v| v.1 != req && v.0.elapsed() < limit)
    }

    fn prune_in_flight(&self) {
        let limit = super::oplock::break_timeout() * 2;
        self.in_flight.retain(|_, v| v.0.elapsed() < limit);
    }

    /// Notes that a request other than its CREATE used the open: a replay of the CREATE no
    /// longer finds it (it makes a new open, as Samba; smbtorture smb2.replay.replay6).
    pub fn note_used(&self, id: FileId) {
        // One shard's read lock (not `is_empty`, which locks them all): most opens are not
        // durable, and a durable one's reply goes at its first use.
        let Some(d) = self.get(id) else {
            return;
        };
        if d.reply.lock().take().is_none() {
            return;
        }
        if let Version::V2 { create_guid } = d.version {
            self.by_create_guid
                .remove_if(&(d.client_guid, create_guid.0), |_, p| *p == id.persistent);
        }
    }

    /// Forgets an open that closed (or is closing).
    pub fn forget(&self, id: FileId) {
        if let Some((_, d)) = self
            .by_persistent
            .remove_if(&id.persistent, |_, d| d.file_id == id)
        {
            if let Version::V2 { create_guid } = d.version {
                self.by_create_guid
                    .remove_if(&(d.client_guid, create_guid.0), |_, p| *p == id.persistent);
            }
            if d.persistent {
                if let Some(dir) = self.store.get() {
                    super::persistent::remove_record(dir, id.persistent);
                }
            }
        }
    }

    /// Parks an open whose session went away. Answers the open back when it is not durable
    /// (or already parked) and has to be closed.
    pub fn park(&self, server: &Arc<Server>, open: Arc<Open>) -> Result<(), Arc<Open>> {
        let Some(d) = self.get(open.file_id).filter(|d| d.granted) else {
            return Err(open);
        };
        let Some(f) = open.file() else {
            return Err(open);
        };
        // MS-SMB2 3.3.7.1: only an open still holding a batch oplock or a lease with HANDLE
        // caching survives (one broken to LEVEL_II, or its lease to R, closes).
        let caching = {
            let inner = f.state.inner.lock();
            let o = &inner.oplocks;
            let id = open.file_id.volatile;
            o.level_of(id) == super::oplock::BATCH
                || o.leases.iter().any(|l| {
                    l.state & super::lease::HANDLE != 0 && l.opens.iter().any(|x| x.open == id)
                })
        };
        if !caching && !d.persistent {
            return Err(open);
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        {
            let mut link = d.link.lock();
            if matches!(*link, Link::Disconnected { .. }) {
                return Err(open);
            }
            *link = Link::Disconnected { open, seq };
        }
        tracing::debug!(file_id = ?d.file_id, timeout = ?d.timeout, "durable open disconnected");
        if let Some(state) = self.parked_state(d.file_id) {
            let mut inner = state.inner.lock();
            // Oplock breaks have nowhere to go until a reconnect (after a LOGOFF the
            // connection may live on, but the open is no longer its session's).
            for h in inner
                .oplocks
                .holders
                .iter_mut()
                .filter(|h| h.open == d.file_id.volatile)
            {
                h.conn = std::sync::Weak::new();
            }
            // A CREATE waiting for this open's break looks again: it can purge it now.
            inner.oplocks.generation += 1;
            drop(inner);
            state.oplock_changed.notify_waiters();
        }
        let server = server.clone();
        let timeout = d.timeout;
        let id = d.file_id;
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                tokio::time::sleep(timeout).await;
                let expired = server.durable.take_parked(id, Some(seq));
                if let Some(open) = expired {
                    tracing::debug!(file_id = ?id, "durable open timed out");
                    close_parked_open(&server, open).await;
                }
            });
        }
        Ok(())
    }

    /// The file state of a parked open.
    fn parked_state(&self, id: FileId) -> Option<Arc<FileState>> {
        let d = self.get(id)?;
        let link = d.link.lock();
        match &*link {
            Link::Disconnected { open, .. } => open.file().map(|f| f.state.clone()),
            Link::Connected => None,
        }
    }

    /// Removes a parked open from the table (for closing it): the one of parking `seq`, or
    /// whichever when `seq` is None.
    fn take_parked(&self, id: FileId, seq: Option<u64>) -> Option<Arc<Open>> {
        let d = self.get(id)?;
        let open = {
            let mut link = d.link.lock();
            match &*link {
                Link::Disconnected { seq: s, .. } if seq.is_none_or(|q| q == *s) => {}
                _ => return None,
            }
            match std::mem::replace(&mut *link, Link::Connected) {
                Link::Disconnected { open, .. } => open,
                Link::Connected => return None,
            }
        };
        self.forget(id);
        Some(open)
    }

    /// Takes a parked open for a reconnect, after `check` accepted the record; the record
    /// stays (connected again). STATUS_OBJECT_NAME_NOT_FOUND when there is no such parked open.
    pub fn take(
        &self,
        id: FileId,
        check: impl FnOnce(&Durable) -> Result<(), NtStatus>,
    ) -> Result<(Arc<Durable>, Arc<Open>), NtStatus> {
        let d = self
            .by_persistent
            .get(&id.persistent)
            .filter(|d| d.granted)
            .map(|d| d.clone())
            .ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)?;
        let mut link = d.link.lock();
        if !matches!(*link, Link::Disconnected { .. }) {
            return Err(NtStatus::OBJECT_NAME_NOT_FOUND);
        }
        check(&d)?;
        let Link::Disconnected { open, .. } = std::mem::replace(&mut *link, Link::Connected) else {
            return Err(NtStatus::OBJECT_NAME_NOT_FOUND);
        };
        drop(link);
        Ok((d, open))
    }

    /// Puts back an open taken by [`DurableTable::take`] whose reconnect failed afterwards.
    pub fn put_back(&self, server: &Arc<Server>, open: Arc<Open>) {
        if let Err(open) = self.park(server, open) {
            let server = server.clone();
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move { close_parked_open(&server, open).await });
            }
        }
    }

    /// Closes the parked opens of the file `state` whose oplock or lease is being broken: a
    /// CREATE waits for that break, and a disconnected client can never acknowledge it.
    /// Answers whether any was closed (the CREATE then runs again at once).
    pub async fn purge_breaking(&self, server: &Arc<Server>, state: &FileState) -> bool {
        let ids: Vec<u64> = {
            let inner = state.inner.lock();
            let o = &inner.oplocks;
            let mut ids: Vec<u64> = o
                .holders
                .iter()
                .filter(|h| h.breaking.is_some())
                .map(|h| h.open)
                .collect();
            for l in o.leases.iter().filter(|l| l.breaking) {
                ids.extend(l.opens.iter().map(|x| x.open));
            }
            ids
        };
        if ids.is_empty() {
            return false;
        }
        let parked: Vec<FileId> = self
            .by_persistent
            .iter()
            .filter(|d| ids.contains(&d.file_id.volatile) && d.is_disconnected())
            .map(|d| d.file_id)
            .collect();
        let mut any = false;
        for id in parked {
            if let Some(open) = self.take_parked(id, None) {
                tracing::debug!(file_id = ?id, "disconnected durable open purged by a conflicting open");
                close_parked_open(server, open).await;
                any = true;
            }
        }
        any
    }

    /// Closes a parked open (AppInstanceId replacement); true when there was one.
    pub async fn close_parked(&self, server: &Arc<Server>, id: FileId) -> bool {
        match self.take_parked(id, None) {
            Some(open) => {
                close_parked_open(server, open).await;
                true
            }
            None => false,
        }
    }

    /// The FileIds of the persistent opens holding the lease (`client_guid`, `key`).
    pub fn persistent_with_lease(&self, client_guid: [u8; 16], key: [u8; 16]) -> Vec<FileId> {
        self.by_persistent
            .iter()
            .filter(|d| d.persistent && d.client_guid == client_guid && d.lease_key == Some(key))
            .map(|d| d.file_id)
            .collect()
    }

    /// Number of durable opens (connected or parked), for status and tests.
    pub fn len(&self) -> usize {
        self.by_persistent.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_persistent.is_empty()
    }
}

/// Closes a parked open: share entry, locks, oplock and lease go, delete-on-close happens
/// (its open-table slot was given back when it was parked).
async fn close_parked_open(server: &Arc<Server>, open: Arc<Open>) {
    server.durable.forget(open.file_id);
    let _ = crate::server::handlers::close::finish(server, open).await;
}

/// Points the oplock and lease of a reconnected open `open` (volatile FileId) at its new
/// connection and session, so breaks reach the client again.
pub fn rebind(state: &FileState, open: u64, conn: &Arc<Connection>, session_id: u64) {
    let mut inner = state.inner.lock();
    let o = &mut inner.oplocks;
    for h in o.holders.iter_mut().filter(|h| h.open == open) {
        h.conn = Arc::downgrade(conn);
        h.session_id = session_id;
    }
    for l in o.leases.iter_mut() {
        for x in l.opens.iter_mut().filter(|x| x.open == open) {
            x.conn = Arc::downgrade(conn);
            x.session_id = session_id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        let (d, m) = (DEFAULT_TIMEOUT, MAX_TIMEOUT);
        assert_eq!(granted_timeout(0, d, m), d);
        assert_eq!(granted_timeout(1, d, m), Duration::from_millis(1));
        assert_eq!(granted_timeout(u32::MAX, d, m), m);
    }

    #[test]
    fn table_records_and_forgets() {
        let t = DurableTable::default();
        let id = FileId {
            persistent: 7,
            volatile: 3,
        };
        let g = Guid([9; 16]);
        t.insert(Durable::new(
            id,
            Version::V2 { create_guid: g },
            DEFAULT_TIMEOUT,
            "u".into(),
            [1; 16],
            None,
            "s".into(),
            "f".into(),
            None,
            true,
        ));
        assert!(t.get(id).is_some());
        assert!(t
            .get(FileId {
                persistent: 7,
                volatile: 4
            })
            .is_none());
        assert!(t.by_create_guid([1; 16], g).is_some());
        assert!(t.by_create_guid([2; 16], g).is_none());
        // Connected: nothing to take.
        assert_eq!(
            t.take(id, |_| Ok(())).err(),
            Some(NtStatus::OBJECT_NAME_NOT_FOUND)
        );
        t.forget(id);
        assert!(t.is_empty() && t.by_create_guid([1; 16], g).is_none());
    }
}
