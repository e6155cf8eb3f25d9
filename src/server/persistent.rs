//! Persistent handles on continuously available shares (MS-SMB2 3.3.5.9.10 and 3.3.5.9.12 with
//! Share.IsCA, 3.3.7.1) and the crash-safe store that keeps them across a restart or crash
//! of rsmbd.
//!
//! A share with `continuous_availability = true` answers TREE_CONNECT with
//! SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY on 3.x, and NEGOTIATE advertises
//! SMB2_GLOBAL_CAP_PERSISTENT_HANDLES on 3.x whenever some share is CA (MS-SMB2 3.3.5.4).
//! A DH2Q with SMB2_DHANDLE_FLAG_PERSISTENT on such a share is granted as a persistent open
//! whatever oplock or lease it got (`handlers::create::reconnect::grant`), answered with the
//! PERSISTENT flag, and kept on the loss of its connection whatever its caching
//! ([`crate::server::durable`]). Everything else about it is an ordinary durable v2 open.
//!
//! # The store
//!
//! One file per persistent open in `<state_dir>/persistent/` (directory mode 0700), named
//! `<persistent FileId, 16 hex digits>.ph`. It is written before the CREATE response goes out,
//! again after each successful LOCK on the open, a lease break acknowledgment, a rename or a
//! change of delete-on-close (SET_INFO) and after a reconnect, by writing
//! `.<name>.tmp`, `fsync`ing it, renaming it over `<name>` and `fsync`ing the directory: a crash
//! leaves either the old or the new record, never a torn one. CLOSE and the timeout of a
//! disconnected open unlink it (without a directory fsync: a record that reappears after a
//! power loss only comes back as a disconnected open that times out, and only its user can
//! reclaim it).
//!
//! Record layout (version 1, little-endian):
//!
//! | bytes | field |
//! | --- | --- |
//! | 6 | magic `RSMBPH` |
//! | 2 | format version (1) |
//! | 4 | payload length N (at most 1 MiB) |
//! | N | payload |
//! | 32 | SHA-256 of everything before it |
//!
//! Payload, in order: FileId (persistent u64, volatile u64), CreateGuid (16), ClientGuid (16),
//! user, share and path (each u32 length + UTF-8; the open's current path relative to the
//! share, `\`-separated), file identity (FileStates key: device u64, inode u64), DesiredAccess as granted
//! (u32), ShareAccess (u32), CreateOptions (u32), timeout in ms (u64), AppInstanceId (u8 flag +
//! 16), delete-on-close (u8), oplock level (u8), lease (u8 flag; then key 16, state u32,
//! version u8, epoch u16, parent flag u8 + 16), byte-range locks (u32 count, each offset u64,
//! length u64, exclusive u8). A record with another magic or version, a bad checksum, a
//! length over the limits or trailing bytes is rejected: logged and renamed to
//! `<name>.corrupt`, never loaded.
//!
//! # Restart
//!
//! [`restore`] runs before the listeners start: each record's file is opened again through the
//! share's VFS (the same confined path resolution as any CREATE; a share that is gone or no
//! longer CA drops the record), and its (device, inode) must match the record's, so a file that
//! was replaced meanwhile is not handed out. The open comes back with its FileId, share entry,
//! byte-range locks and oplock or lease, disconnected ([`crate::server::durable`]): a DH2C with
//! its CreateGuid from the same user reclaims it (`handlers::create::reconnect`); otherwise it
//! is closed, and its record removed, when its timeout passes (counted from the restart).
mod record;

pub use record::{
    load_all, remove_record, store_dir, write_record, DecodeError, LeaseRecord, LockRecord, Record,
    FORMAT_VERSION,
};

use super::durable::{Durable, Version};
use super::file_state::{ByteLock, ShareEntry};
use super::open::{FileOpen, Open, OpenKind};
use super::session::TreeConnect;
use super::share::{Share, ShareKind};
use super::Server;
use crate::wire::{FileId, Guid};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
use std::sync::Arc;
use std::time::Duration;

/// SMB2_GLOBAL_CAP_PERSISTENT_HANDLES on 3.x when some share is continuously available.
pub fn global_capabilities(server: &Server, dialect: u16) -> u32 {
    if dialect >= 0x0300
        && server
            .config
            .shares
            .iter()
            .any(|s| s.continuous_availability)
    {
        crate::wire::negotiate::SMB2_GLOBAL_CAP_PERSISTENT_HANDLES
    } else {
        0
    }
}

/// SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY for a CA disk share on 3.x.
pub fn share_capabilities(share: &Share, dialect: u16) -> u32 {
    if dialect >= 0x0300 && share.kind == ShareKind::Disk && share.config.continuous_availability {
        crate::wire::tree_connect::SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY
    } else {
        0
    }
}

/// The record of a persistent open as it stands (its locks and caching now).
pub fn snapshot(open: &Open, d: &Durable) -> Option<Record> {
    let f = open.file()?;
    let Version::V2 { create_guid } = d.version else {
        return None;
    };
    let id = open.file_id.volatile;
    let inner = f.state.inner.lock();
    let o = &inner.oplocks;
    let lease = o
        .leases
        .iter()
        .find(|l| l.opens.iter().any(|x| x.open == id))
        .map(|l| LeaseRecord {
            key: l.id.1,
            state: l.state,
            version: l.version,
            epoch: l.epoch,
            parent: l.parent,
        });
    let locks = inner
        .locks
        .iter()
        .filter(|l| l.open == id)
        .map(|l| LockRecord {
            offset: l.offset,
            length: l.length,
            exclusive: l.exclusive,
        })
        .collect();
    Some(Record {
        file_id: open.file_id,
        create_guid: create_guid.0,
        client_guid: d.client_guid,
        user: d.user.clone(),
        share: d.share.clone(),
        // The name now (renames through this open move it), not the one it was opened by.
        path: f.handle.path().to_smb_string(),
        file_key: f.state.key,
        granted_access: open.granted_access,
        share_access: f.share_access,
        create_options: f.create_options,
        timeout_ms: u64::try_from(d.timeout.as_millis()).unwrap_or(u64::MAX),
        app_instance: d.app_instance.map(|g| g.0),
        // FILE_DELETE_ON_CLOSE or SET_INFO's delete-on-close (per open), or the file's
        // delete-pending disposition (FileDispositionInformation, kept on the file): either
        // way the file goes when the reclaimed handle closes.
        delete_on_close: f.delete_on_close.load(std::sync::atomic::Ordering::SeqCst)
            || inner.delete_pending,
        oplock_level: if lease.is_some() {
            super::oplock::LEASE
        } else {
            o.level_of(id)
        },
        lease,
        locks,
    })
}

/// Writes the record of `open` when it is persistent (after its CREATE, a LOCK, a
/// reconnect, a rename or a change of delete-on-close). A failure is logged: the open stays durable for this run of the server.
pub async fn save(server: &Arc<Server>, open: &Open) {
    let Some(d) = server.durable.get(open.file_id).filter(|d| d.persistent) else {
        return;
    };
    let Some(rec) = snapshot(open, &d) else {
        return;
    };
    let dir = store_dir(&server.config.state_dir);
    let r = super::handlers::files::blocking(move || write_record(&dir, &rec)).await;
    if !matches!(r, Ok(Ok(()))) {
        tracing::error!(file_id = ?open.file_id, result = ?r, "cannot persist a persistent handle");
    }
}

/// [`save`] for the open a request names (hooks in CREATE and LOCK).
pub async fn save_by_id(server: &Arc<Server>, file_id: FileId, session_id: u64, tree_id: u32) {
    if server.durable.get(file_id).is_none_or(|d| !d.persistent) {
        return;
    }
    if let Some(open) = server.opens.get(file_id, session_id, tree_id) {
        save(server, &open).await;
    }
}

/// [`save`] after a successful LOCK on the open `file_id` of the request `ctx` (which may be
/// the related open of a compound).
pub async fn save_lock_change(server: &Arc<Server>, ctx: &super::dispatch::Ctx, file_id: FileId) {
    if server.durable.is_empty() {
        return;
    }
    if let Ok(open) = super::handlers::files::find_open(ctx, file_id) {
        save(server, &open).await;
    }
}

/// [`save`] for the connected persistent opens of a lease whose state changed (a lease break
/// acknowledgment).
pub async fn save_lease(server: &Arc<Server>, client_guid: [u8; 16], key: [u8; 16]) {
    let ids = server.durable.persistent_with_lease(client_guid, key);
    if ids.is_empty() {
        return;
    }
    for open in ids.into_iter().filter_map(|id| server.opens.by_file_id(id)) {
        save(server, &open).await;
    }
}

/// [`save`] for the opens whose oplock or lease changed with no acknowledgment to come (a
/// break that timed out, a break to none; [`super::oplock::Notice`]).
pub(super) async fn save_changed(server: &Arc<Server>, what: super::oplock::Persist) {
    match what {
        super::oplock::Persist::Lease((client_guid, key)) => {
            save_lease(server, client_guid, key).await
        }
        super::oplock::Persist::Open(file_id) => {
            if server.durable.get(file_id).is_none_or(|d| !d.persistent) {
                return;
            }
            if let Some(open) = server.opens.by_file_id(file_id) {
                save(server, &open).await;
            }
        }
    }
}

/// Loads the persistent opens of the previous run as disconnected durable opens (before the
/// listeners start). Records that cannot be restored are logged and dropped.
pub async fn restore(server: &Arc<Server>) {
    let dir = store_dir(&server.config.state_dir);
    server.durable.set_store_dir(dir.clone());
    let records = {
        let dir = dir.clone();
        super::handlers::files::blocking(move || load_all(&dir))
            .await
            .unwrap_or_default()
    };
    let mut restored = 0usize;
    for rec in records {
        let id = rec.file_id;
        match restore_one(server, rec).await {
            Ok(()) => restored += 1,
            Err(why) => {
                tracing::warn!(file_id = ?id, reason = why, "persistent handle not restored");
                remove_record(&dir, id.persistent);
            }
        }
    }
    if restored > 0 {
        tracing::info!(
            count = restored,
            "persistent handles restored, waiting for their clients"
        );
    }
}

async fn restore_one(server: &Arc<Server>, rec: Record) -> Result<(), &'static str> {
    if server.durable.get(rec.file_id).is_some()
        || server
            .durable
            .by_create_guid(rec.client_guid, Guid(rec.create_guid))
            .is_some()
    {
        return Err("duplicate record");
    }
    let share = server
        .share(&rec.share)
        .filter(|s| s.kind == ShareKind::Disk && s.config.continuous_availability)
        .ok_or("share gone or no longer continuously available")?;
    let vfs = share.vfs.clone().ok_or("share gone")?;
    let path = crate::vfs::SharePath::parse(&rec.path).map_err(|_| "invalid path")?;
    use crate::wire::create::{access_mask as am, create_options as co};
    let write = rec.granted_access & (am::FILE_WRITE_DATA | am::FILE_APPEND_DATA) != 0;
    let req = crate::vfs::OpenRequest {
        disposition: crate::vfs::CreateDisposition::Open,
        directory: None,
        read: true,
        write,
        write_through: rec.create_options & co::FILE_WRITE_THROUGH != 0,
        ..Default::default()
    };
    let (handle, stat) = {
        let path = path.clone();
        super::handlers::files::blocking(move || {
            let (h, _) = vfs.open(&path, &req).map_err(|_| "file cannot be opened")?;
            let st = h.stat().map_err(|_| "file cannot be read")?;
            Ok::<_, &'static str>((h, st))
        })
        .await
        .map_err(|_| "internal error")??
    };
    let key = super::handlers::create::state_key(&stat, path.stream());
    if key != rec.file_key {
        return Err("the file was replaced");
    }
    let state = server.files.get_or_create(key);
    let vol = rec.file_id.volatile;
    {
        let mut inner = state.inner.lock();
        if inner.opens.iter().any(|e| e.open == vol) {
            drop(inner);
            drop(state);
            server.files.forget(key);
            return Err("duplicate open");
        }
        inner.opens.push(ShareEntry {
            open: vol,
            access: rec.granted_access,
            share: rec.share_access,
        });
        inner.locks.extend(rec.locks.iter().map(|l| ByteLock {
            open: vol,
            offset: l.offset,
            length: l.length,
            exclusive: l.exclusive,
        }));
        let opens = inner.opens.clone();
        if let Some(l) = rec.lease {
            let req = super::lease::Request {
                id: (rec.client_guid, l.key),
                state: l.state,
                version: l.version,
                epoch: l.epoch.wrapping_sub(1),
                parent: l.parent,
            };
            let lo = super::lease::LeaseOpen {
                open: vol,
                conn: std::sync::Weak::new(),
                session_id: 0,
            };
            let _ = inner
                .oplocks
                .grant_lease(&state, &opens, &req, stat.is_dir, lo);
        } else if rec.oplock_level != super::oplock::NONE
            && rec.oplock_level != super::oplock::LEASE
        {
            inner.oplocks.holders.push(super::oplock::Holder {
                open: vol,
                file_id: rec.file_id,
                session_id: 0,
                conn: std::sync::Weak::new(),
                level: rec.oplock_level,
                breaking: None,
            });
        }
    }
    server.opens.reserve_volatile(vol);
    let tree = Arc::new(TreeConnect {
        id: 0,
        share: share.clone(),
        encrypt: false,
        maximal_access: rec.granted_access,
    });
    let open = Arc::new(Open {
        file_id: rec.file_id,
        session_id: 0,
        tree,
        granted_access: rec.granted_access,
        name: rec.path.clone(),
        kind: OpenKind::File(FileOpen {
            handle,
            state,
            share_access: rec.share_access,
            create_options: rec.create_options,
            is_dir: stat.is_dir,
            delete_on_close: AtomicBool::new(rec.delete_on_close),
            position: AtomicU64::new(0),
            mode: AtomicU32::new(
                rec.create_options
                    & (co::FILE_WRITE_THROUGH
                        | co::FILE_SEQUENTIAL_ONLY
                        | co::FILE_NO_INTERMEDIATE_BUFFERING
                        | co::FILE_SYNCHRONOUS_IO_ALERT
                        | co::FILE_SYNCHRONOUS_IO_NONALERT
                        | co::FILE_DELETE_ON_CLOSE),
            ),
            dir: parking_lot::Mutex::new(None),
        }),
    });
    let d = Durable::new(
        rec.file_id,
        Version::V2 {
            create_guid: Guid(rec.create_guid),
        },
        // Capped by the current configuration (it may have been lowered since).
        Duration::from_millis(rec.timeout_ms).min(Duration::from_secs(
            server
                .config
                .limits
                .durable_max_timeout_secs
                .max(server.config.limits.durable_timeout_secs),
        )),
        rec.user,
        rec.client_guid,
        rec.lease.map(|l| l.key),
        share.name.clone(),
        rec.path,
        rec.app_instance.map(Guid),
        true,
    )
    .with_persistent(true);
    server.durable.insert(d);
    if let Err(open) = server.durable.park(server, open) {
        server.durable.forget(open.file_id);
        let _ = super::handlers::close::finish(server, open).await;
        return Err("cannot park");
    }
    tracing::debug!(file_id = ?rec.file_id, "persistent handle restored");
    Ok(())
}
