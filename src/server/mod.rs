//! The SMB2/3 server core: connections, sessions, trees, opens, and one handler per command.
//!
//! The core never touches a socket: a connection gets its frames from a
//! [`crate::transport::FrameReader`] and answers through a [`crate::transport::FrameWriter`],
//! so tests drive it over in-memory pipes as well as TCP. Sessions live in a server-wide table
//! ([`Server::sessions`]) so that any channel of a session can carry its requests.
pub mod break_delivery;
pub mod connection;
pub mod control;
pub mod copy_stats;
pub mod credits;
pub mod dir_lease;
pub mod dispatch;
pub mod durable;
pub mod file_state;
pub mod handlers;
pub mod interfaces;
pub mod lease;
pub mod listener;
pub mod notify_bus;
pub mod odx;
pub mod open;
pub mod oplock;
pub mod persistent;
pub mod replay;
pub mod rpc;
pub mod session;
pub mod share;
pub mod status;
pub mod wildcard;
pub mod write_queue;

use crate::auth::{AuthConfig, UserDb};
use crate::config::Config;
use crate::wire::Guid;
use dashmap::DashMap;
use session::Session;
use share::Share;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The whole server: configuration, shares and the server-wide tables.
pub struct Server {
    /// The configuration it was started with.
    pub config: Config,
    /// ServerGuid, persisted in the state directory so clients see the same server after a
    /// restart.
    pub guid: Guid,
    /// Start time as a FILETIME.
    pub start_time: u64,
    /// Authentication settings and the user database.
    pub auth: Arc<AuthConfig>,
    /// Shares, IPC$ included.
    pub shares: Vec<Arc<Share>>,
    /// Sessions by SessionId.
    pub sessions: DashMap<u64, Arc<Session>>,
    /// Opens by FileId.
    pub opens: open::OpenTable,
    /// Per-file state (share modes, locks) by (device, inode).
    pub files: file_state::FileStates,
    /// Durable opens, connected and disconnected (MS-SMB2 3.3.5.9.6 – 3.3.5.9.12).
    pub durable: durable::DurableTable,
    /// Change-notification watches (CHANGE_NOTIFY).
    pub notify: notify_bus::NotifyBus,
    /// Failed logons per client address: count and time of the last, for the growing delay.
    pub failed_logons: DashMap<IpAddr, (u32, Instant)>,
    /// Live connections by id, with their per-channel counters (`rsmbd status`).
    pub connections: DashMap<u64, Arc<status::ConnectionInfo>>,
    /// Channel sequences and pending DH2Q CREATEs (MS-SMB2 3.3.5.2.10).
    pub replay: replay::Replay,
    /// Directories holding leases, for breaking them on changes beneath.
    pub dir_leases: dir_lease::DirLeases,
    /// Stream opens and their base files (share modes across streams, deletion).
    pub streams: handlers::create::streams::StreamLinks,
    next_connection_id: AtomicU64,
}

/// Now as a FILETIME (100 ns intervals since 1601-01-01).
pub fn filetime_now() -> u64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    116_444_736_000_000_000 + d.as_secs() * 10_000_000 + u64::from(d.subsec_nanos() / 100)
}

/// Reads the server GUID from `dir/server-guid`, or makes and stores a new one.
fn load_or_create_guid(dir: &Path) -> std::io::Result<Guid> {
    let path = dir.join("server-guid");
    if let Ok(b) = std::fs::read(&path) {
        if let Ok(g) = <[u8; 16]>::try_from(b.as_slice()) {
            return Ok(Guid(g));
        }
    }
    let mut g = [0u8; 16];
    getrandom::getrandom(&mut g).map_err(|e| std::io::Error::other(e.to_string()))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(".server-guid.tmp");
    std::fs::write(&tmp, g)?;
    std::fs::rename(&tmp, &path)?;
    Ok(Guid(g))
}

impl Server {
    /// Builds a server from a validated configuration: loads the user database, creates the
    /// state directory and missing share directories.
    pub fn new(config: Config) -> std::io::Result<Server> {
        let users = match UserDb::load(&config.users_file) {
            Ok(u) => u,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => UserDb::empty(),
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("users file {}: {e}", config.users_file.display()),
                ))
            }
        };
        let guid = load_or_create_guid(&config.state_dir)?;
        oplock::set_break_timeout(Duration::from_secs(
            config.limits.oplock_break_timeout_secs.max(1),
        ));
        let mut shares = vec![Arc::new(Share::ipc())];
        for s in &config.shares {
            std::fs::create_dir_all(&s.path)?;
            shares.push(Arc::new(Share::disk(s.clone())?));
        }
        let auth = Arc::new(AuthConfig {
            users: Arc::new(users),
            netbios_name: config.server_name.clone(),
            domain: config.workgroup.clone(),
            dns_name: config.server_name.to_lowercase(),
            allow_anonymous: config.allow_anonymous || config.shares.iter().any(|s| s.guest_ok),
        });
        Ok(Server {
            config,
            guid,
            start_time: filetime_now(),
            auth,
            shares,
            sessions: DashMap::new(),
            opens: open::OpenTable::default(),
            files: file_state::FileStates::default(),
            durable: durable::DurableTable::default(),
            notify: notify_bus::NotifyBus::default(),
            failed_logons: DashMap::new(),
            connections: DashMap::new(),
            replay: replay::Replay::default(),
            dir_leases: dir_lease::DirLeases::default(),
            streams: handlers::create::streams::StreamLinks::default(),
            next_connection_id: AtomicU64::new(1),
        })
    }

    /// A share by name, compared case-insensitively.
    pub fn share(&self, name: &str) -> Option<Arc<Share>> {
        self.shares
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
            .cloned()
    }

    /// A fresh connection id.
    pub fn next_connection_id(&self) -> u64 {
        self.next_connection_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A new SessionId: random, non-zero, never one in use (and never all ones).
    pub fn new_session_id(&self) -> u64 {
        loop {
            let mut b = [0u8; 8];
            if getrandom::getrandom(&mut b).is_err() {
                continue;
            }
            // Keep it below 2^63 and non-zero; some clients treat the top bit as a sign.
            let id = u64::from_le_bytes(b) >> 1;
            if id != 0 && !self.sessions.contains_key(&id) {
                return id;
            }
        }
    }

    /// How long to delay the answer to a logon attempt from `ip` after earlier failures:
    /// nothing for the first three, then doubling from 250 ms up to 8 s. Failures older than
    /// ten minutes are forgotten.
    pub fn logon_delay(&self, ip: IpAddr) -> Duration {
        match self.failed_logons.get(&ip) {
            Some(e) if e.1.elapsed() < Duration::from_secs(600) && e.0 > 3 => {
                Duration::from_millis(250u64 << (e.0 - 4).min(5))
            }
            _ => Duration::ZERO,
        }
    }

    /// Records a failed logon from `ip`.
    pub fn note_failed_logon(&self, ip: IpAddr) {
        let mut e = self.failed_logons.entry(ip).or_insert((0, Instant::now()));
        if e.1.elapsed() > Duration::from_secs(600) {
            e.0 = 0;
        }
        e.0 += 1;
        e.1 = Instant::now();
    }

    /// Forgets failures from `ip` after a successful logon.
    pub fn note_good_logon(&self, ip: IpAddr) {
        self.failed_logons.remove(&ip);
    }
}
