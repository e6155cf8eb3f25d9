//! What `rsmbd status` shows: every session with its channels (MS-SMB2 3.3.1.14), tree
//! connects and opens, and the connections that carry no session yet, so an administrator can
//! see I/O spreading over the channels of a multichannel session.
//!
//! Each connection registers a [`ConnectionInfo`] in [`Server::connections`] for its lifetime
//! and counts its requests and bytes in [`ChannelStats`] (relaxed atomics, nothing else on the
//! hot path). [`report`] takes a snapshot of the server's tables and renders it as text, one
//! record per line: `KIND key=value key=value ...`. A value is written bare when it has no
//! whitespace, quote or control character, else in double quotes with `\"`, `\\`, `\n`, `\t`
//! and `\xNN` escapes -- client-supplied names (domain, user, paths) cannot forge a line.
//! The line format is stable; scripts and tests parse it.
//!
//! The report travels over the control socket ([`super::control`]).
use super::open::{Open, OpenKind};
use super::session::SessionPhase;
use super::Server;
use crate::transport::TransportKind;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Per-connection (per-channel) counters.
#[derive(Debug, Default)]
pub struct ChannelStats {
    /// SMB2 requests received (each element of a compound chain counts).
    pub requests: AtomicU64,
    /// Bytes of SMB messages received (transport framing excluded).
    pub bytes_in: AtomicU64,
    /// Bytes of SMB messages sent (transport framing excluded).
    pub bytes_out: AtomicU64,
}

impl ChannelStats {
    /// Counts `n` received requests.
    pub fn add_requests(&self, n: u64) {
        self.requests.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` received bytes.
    pub fn add_in(&self, n: u64) {
        self.bytes_in.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` sent bytes.
    pub fn add_out(&self, n: u64) {
        self.bytes_out.fetch_add(n, Ordering::Relaxed);
    }
}

/// One live connection as the status report shows it.
#[derive(Debug)]
pub struct ConnectionInfo {
    /// The connection id (the key of the session channel lists).
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// The local address the client connected to.
    pub local: SocketAddr,
    /// TCP or SMB Direct.
    pub transport: TransportKind,
    /// When the connection was accepted.
    pub since: Instant,
    /// Its counters.
    pub stats: ChannelStats,
}

impl ConnectionInfo {
    /// A fresh record with zero counters, accepted now.
    pub fn new(
        id: u64,
        peer: SocketAddr,
        local: SocketAddr,
        transport: TransportKind,
    ) -> ConnectionInfo {
        ConnectionInfo {
            id,
            peer,
            local,
            transport,
            since: Instant::now(),
            stats: ChannelStats::default(),
        }
    }
}

/// A snapshot of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRow {
    /// Connection id.
    pub conn: u64,
    /// Transport, peer and local address; None for a channel whose connection is already
    /// gone (a session that is being torn down).
    pub link: Option<(TransportKind, SocketAddr, SocketAddr)>,
    /// Requests received.
    pub requests: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Time since the connection was accepted.
    pub age: Duration,
}

/// A snapshot of one open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRow {
    /// FileId (persistent, volatile).
    pub file_id: (u64, u64),
    /// The share it was opened through.
    pub share: String,
    /// Path relative to the share, as the client named it.
    pub path: String,
    /// GrantedAccess.
    pub access: u32,
    /// `file`, `dir` or `pipe`.
    pub kind: &'static str,
    /// Oplock level (MS-SMB2 2.2.13 RequestedOplockLevel values), 0 for none.
    pub oplock: u8,
    /// Lease state (R=1, H=2, W=4) when the open belongs to a lease.
    pub lease: Option<u32>,
}

/// A snapshot of one tree connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRow {
    /// TreeId.
    pub id: u32,
    /// Share name.
    pub share: String,
    /// Requests on it must be encrypted.
    pub encrypt: bool,
}

/// A snapshot of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// SessionId.
    pub id: u64,
    /// `DOMAIN\user` (`user` when the client named no domain), `(anonymous)`, or None before authentication completes.
    pub user: Option<String>,
    /// Dialect.
    pub dialect: u16,
    /// Authenticated (false while SESSION_SETUP is still going).
    pub valid: bool,
    /// Every request must be signed.
    pub signing_required: bool,
    /// Every message is encrypted; the cipher, if the connection negotiated one.
    pub encrypt_data: bool,
    /// Cipher of the creating connection.
    pub cipher: Option<crate::crypto::Cipher>,
    /// Channels, by connection id.
    pub channels: Vec<ChannelRow>,
    /// Tree connects, by TreeId.
    pub trees: Vec<TreeRow>,
    /// Opens, by volatile FileId.
    pub opens: Vec<OpenRow>,
}

/// Everything the report shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Server version.
    pub version: String,
    /// Time since the server started.
    pub uptime: Duration,
    /// Sessions, by id.
    pub sessions: Vec<SessionRow>,
    /// Connections that are no channel of any session, by id.
    pub idle: Vec<ChannelRow>,
    /// Opens whose session is gone (closing at this moment).
    pub orphan_opens: usize,
}

fn channel_row(server: &Server, conn: u64) -> ChannelRow {
    match server.connections.get(&conn) {
        Some(c) => info_row(&c),
        None => ChannelRow {
            conn,
            link: None,
            requests: 0,
            bytes_in: 0,
            bytes_out: 0,
            age: Duration::ZERO,
        },
    }
}

fn info_row(c: &ConnectionInfo) -> ChannelRow {
    ChannelRow {
        conn: c.id,
        link: Some((c.transport, c.peer, c.local)),
        requests: c.stats.requests.load(Ordering::Relaxed),
        bytes_in: c.stats.bytes_in.load(Ordering::Relaxed),
        bytes_out: c.stats.bytes_out.load(Ordering::Relaxed),
        age: c.since.elapsed(),
    }
}

fn open_row(o: &Open) -> OpenRow {
    let (kind, oplock, lease) = match &o.kind {
        OpenKind::File(f) => {
            let inner = f.state.inner.lock();
            let vol = o.file_id.volatile;
            let lease = inner
                .oplocks
                .leases
                .iter()
                .find(|l| l.opens.iter().any(|lo| lo.open == vol))
                .map(|l| l.state);
            let kind = if f.is_dir { "dir" } else { "file" };
            (kind, inner.oplocks.level_of(vol), lease)
        }
        OpenKind::Pipe(_) => ("pipe", 0, None),
    };
    OpenRow {
        file_id: (o.file_id.persistent, o.file_id.volatile),
        share: o.tree.share.name.clone(),
        path: o.name.clone(),
        access: o.granted_access,
        kind,
        oplock,
        lease,
    }
}

/// Takes a snapshot of the server's sessions, connections and opens. Each table is read
/// entry by entry (no lock is held across tables), so the snapshot is consistent per entry,
/// not as a whole -- good enough for a look at a live server.
pub fn snapshot(server: &Server) -> Snapshot {
    let sessions: Vec<Arc<super::session::Session>> =
        server.sessions.iter().map(|s| s.clone()).collect();
    // Opens first, out of the table, before any per-file lock is taken.
    let opens = server.opens.snapshot();
    let mut rows = Vec::with_capacity(sessions.len());
    let mut on_channel = std::collections::HashSet::new();
    for s in &sessions {
        let (valid, user) = {
            let st = s.state.lock();
            let valid = matches!(
                st.phase,
                SessionPhase::Valid | SessionPhase::Reauthenticating
            );
            let user = st.identity.as_ref().map(|i| {
                if i.anonymous {
                    "(anonymous)".to_string()
                } else if i.domain.is_empty() {
                    i.user.clone()
                } else {
                    format!("{}\\{}", i.domain, i.user)
                }
            });
            (valid, user)
        };
        let mut conns: Vec<u64> = s.channels.lock().keys().copied().collect();
        conns.sort_unstable();
        on_channel.extend(conns.iter().copied());
        let mut trees: Vec<TreeRow> = s
            .trees
            .iter()
            .map(|t| TreeRow {
                id: t.id,
                share: t.share.name.clone(),
                encrypt: t.encrypt,
            })
            .collect();
        trees.sort_by_key(|t| t.id);
        rows.push(SessionRow {
            id: s.id,
            user,
            dialect: s.dialect,
            valid,
            signing_required: s.signing_required.load(Ordering::Relaxed),
            encrypt_data: s.encrypt_data.load(Ordering::Relaxed),
            cipher: s.cipher,
            channels: conns.iter().map(|&c| channel_row(server, c)).collect(),
            trees,
            opens: Vec::new(),
        });
    }
    rows.sort_by_key(|s| s.id);
    let mut orphan_opens = 0;
    for o in &opens {
        match rows.binary_search_by_key(&o.session_id, |s| s.id) {
            Ok(i) => rows[i].opens.push(open_row(o)),
            Err(_) => orphan_opens += 1,
        }
    }
    for s in &mut rows {
        s.opens.sort_by_key(|o| o.file_id.1);
    }
    let mut idle: Vec<ChannelRow> = server
        .connections
        .iter()
        .filter(|c| !on_channel.contains(c.key()))
        .map(|c| info_row(&c))
        .collect();
    idle.sort_by_key(|c| c.conn);
    let now = super::filetime_now();
    Snapshot {
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime: Duration::from_secs(now.saturating_sub(server.start_time) / 10_000_000),
        sessions: rows,
        idle,
        orphan_opens,
    }
}

/// The status report of a running server (see the module documentation for its format).
pub fn report(server: &Server) -> String {
    let mut out = render(&snapshot(server));
    out.push_str(&super::copy_stats::render(server));
    out
}

/// A value as the report writes it: bare, or quoted with escapes.
pub fn quote(v: &str) -> String {
    let bare = !v.is_empty()
        && !v
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"');
    if bare {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// "3.1.1" for 0x0311, and so on.
pub fn dialect_name(d: u16) -> String {
    match d {
        0x0202 => "2.0.2".into(),
        0x0210 => "2.1".into(),
        0x0300 => "3.0".into(),
        0x0302 => "3.0.2".into(),
        0x0311 => "3.1.1".into(),
        0x02FF => "2.x".into(),
        d => format!("0x{d:04x}"),
    }
}

fn transport_name(t: TransportKind) -> &'static str {
    match t {
        TransportKind::Tcp => "tcp",
        TransportKind::Rdma => "rdma",
    }
}

fn cipher_name(c: crate::crypto::Cipher) -> &'static str {
    use crate::crypto::Cipher;
    match c {
        Cipher::Aes128Ccm => "aes-128-ccm",
        Cipher::Aes128Gcm => "aes-128-gcm",
        Cipher::Aes256Ccm => "aes-256-ccm",
        Cipher::Aes256Gcm => "aes-256-gcm",
    }
}

/// MS-SMB2 2.2.13 oplock levels.
fn oplock_name(level: u8) -> &'static str {
    match level {
        0x00 => "none",
        0x01 => "level2",
        0x08 => "exclusive",
        0x09 => "batch",
        0xFF => "lease",
        _ => "unknown",
    }
}

/// Lease state as Windows writes it: R, W, H (SMB2_LEASE_READ_CACHING = 1, HANDLE = 2,
/// WRITE = 4), `none` for no caching.
fn lease_name(state: u32) -> String {
    let mut s = String::new();
    for (bit, c) in [(1, 'R'), (4, 'W'), (2, 'H')] {
        if state & bit != 0 {
            s.push(c);
        }
    }
    if s.is_empty() {
        s.push_str("none");
    }
    s
}

/// The rights that matter to an administrator, from an access mask: R (read data),
/// W (write or append data), D (delete), `-` for none of them.
fn rights(access: u32) -> String {
    const READ: u32 = 0x0001;
    const WRITE: u32 = 0x0002 | 0x0004;
    const DELETE: u32 = 0x0001_0000;
    const GENERIC_ALL: u32 = 0x1000_0000;
    const GENERIC_READ: u32 = 0x8000_0000;
    const GENERIC_WRITE: u32 = 0x4000_0000;
    const MAXIMUM: u32 = 0x0200_0000;
    let all = access & (GENERIC_ALL | MAXIMUM) != 0;
    let mut s = String::new();
    if all || access & (READ | GENERIC_READ) != 0 {
        s.push('R');
    }
    if all || access & (WRITE | GENERIC_WRITE) != 0 {
        s.push('W');
    }
    if all || access & DELETE != 0 {
        s.push('D');
    }
    if s.is_empty() {
        s.push('-');
    }
    s
}

fn write_channel(out: &mut String, kind: &str, c: &ChannelRow) {
    let _ = write!(out, "{kind} conn={}", c.conn);
    match c.link {
        Some((t, peer, local)) => {
            let _ = write!(
                out,
                " transport={} peer={peer} local={local}",
                transport_name(t)
            );
        }
        None => out.push_str(" transport=- peer=- local=-"),
    }
    let _ = writeln!(
        out,
        " requests={} bytes_in={} bytes_out={} age={}s",
        c.requests,
        c.bytes_in,
        c.bytes_out,
        c.age.as_secs()
    );
}

/// Renders a snapshot. Records, one per line:
///
/// ```text
/// rsmbd version=V uptime=Ns connections=N sessions=N opens=N
/// session id=0x... user=DOMAIN\name dialect=3.1.1 state=valid signing=required|optional encryption=on|off cipher=C|- channels=N trees=N opens=N
///   channel conn=N transport=tcp|rdma peer=ADDR local=ADDR requests=N bytes_in=N bytes_out=N age=Ns
///   tree id=N share=NAME encrypt=yes|no
///   open id=0xP:0xV share=NAME path=\PATH type=file|dir|pipe access=0x... rights=RWD oplock=LEVEL lease=RWH|-
/// connection conn=N transport=... (same fields as channel: a connection without a session)
/// ```
pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    let opens: usize = s.sessions.iter().map(|x| x.opens.len()).sum::<usize>() + s.orphan_opens;
    let mut conns: std::collections::HashSet<u64> = s.idle.iter().map(|c| c.conn).collect();
    for x in &s.sessions {
        conns.extend(
            x.channels
                .iter()
                .filter(|c| c.link.is_some())
                .map(|c| c.conn),
        );
    }
    let _ = writeln!(
        out,
        "rsmbd version={} uptime={}s connections={} sessions={} opens={}",
        quote(&s.version),
        s.uptime.as_secs(),
        conns.len(),
        s.sessions.len(),
        opens
    );
    for x in &s.sessions {
        let _ = writeln!(
            out,
            "session id=0x{:016x} user={} dialect={} state={} signing={} encryption={} cipher={} channels={} trees={} opens={}",
            x.id,
            x.user.as_deref().map_or_else(|| "-".to_string(), quote),
            dialect_name(x.dialect),
            if x.valid { "valid" } else { "in-progress" },
            if x.signing_required { "required" } else { "optional" },
            if x.encrypt_data { "on" } else { "off" },
            x.cipher.map_or("-", cipher_name),
            x.channels.len(),
            x.trees.len(),
            x.opens.len(),
        );
        for c in &x.channels {
            write_channel(&mut out, "  channel", c);
        }
        for t in &x.trees {
            let _ = writeln!(
                out,
                "  tree id={} share={} encrypt={}",
                t.id,
                quote(&t.share),
                if t.encrypt { "yes" } else { "no" }
            );
        }
        for o in &x.opens {
            let path = format!("\\{}", o.path.trim_start_matches(['\\', '/']));
            let _ = writeln!(
                out,
                "  open id=0x{:x}:0x{:x} share={} path={} type={} access=0x{:08x} rights={} oplock={} lease={}",
                o.file_id.0,
                o.file_id.1,
                quote(&o.share),
                quote(&path),
                o.kind,
                o.access,
                rights(o.access),
                oplock_name(o.oplock),
                o.lease.map_or_else(|| "-".to_string(), lease_name),
            );
        }
    }
    for c in &s.idle {
        write_channel(&mut out, "connection", c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(conn: u64, port: u16, requests: u64) -> ChannelRow {
        ChannelRow {
            conn,
            link: Some((
                TransportKind::Tcp,
                SocketAddr::from(([127, 0, 0, 1], port)),
                SocketAddr::from(([127, 0, 0, 1], 445)),
            )),
            requests,
            bytes_in: requests * 100,
            bytes_out: requests * 200,
            age: Duration::from_secs(7),
        }
    }

    fn sample() -> Snapshot {
        Snapshot {
            version: "1.2.3".into(),
            uptime: Duration::from_secs(90),
            sessions: vec![SessionRow {
                id: 0x1234,
                user: Some("WORKGROUP\\tester".into()),
                dialect: 0x0311,
                valid: true,
                signing_required: true,
                encrypt_data: false,
                cipher: Some(crate::crypto::Cipher::Aes128Gcm),
                channels: vec![channel(5, 5100, 12), channel(9, 5101, 3)],
                trees: vec![TreeRow {
                    id: 1,
                    share: "share".into(),
                    encrypt: false,
                }],
                opens: vec![OpenRow {
                    file_id: (0xabc, 4),
                    share: "share".into(),
                    path: "dir\\my file.txt".into(),
                    access: 0x0012_019f,
                    kind: "file",
                    oplock: 0xFF,
                    lease: Some(7),
                }],
            }],
            idle: vec![channel(11, 5200, 1)],
            orphan_opens: 0,
        }
    }

    #[test]
    fn renders_one_record_per_line() {
        let text = render(&sample());
        let expected = "\
rsmbd version=1.2.3 uptime=90s connections=3 sessions=1 opens=1
session id=0x0000000000001234 user=WORKGROUP\\tester dialect=3.1.1 state=valid signing=required encryption=off cipher=aes-128-gcm channels=2 trees=1 opens=1
  channel conn=5 transport=tcp peer=127.0.0.1:5100 local=127.0.0.1:445 requests=12 bytes_in=1200 bytes_out=2400 age=7s
  channel conn=9 transport=tcp peer=127.0.0.1:5101 local=127.0.0.1:445 requests=3 bytes_in=300 bytes_out=600 age=7s
  tree id=1 share=share encrypt=no
  open id=0xabc:0x4 share=share path=\"\\\\dir\\\\my file.txt\" type=file access=0x0012019f rights=RW oplock=lease lease=RWH
connection conn=11 transport=tcp peer=127.0.0.1:5200 local=127.0.0.1:445 requests=1 bytes_in=100 bytes_out=200 age=7s
";
        assert_eq!(text, expected);
    }

    #[test]
    fn client_names_cannot_forge_lines() {
        let mut s = sample();
        s.sessions[0].user = Some("EVIL\nsession id=0x1 user=root".into());
        s.sessions[0].opens[0].path = "a\"b\tc\u{1}".into();
        let text = render(&s);
        assert_eq!(text.lines().count(), 7);
        assert!(text.contains("user=\"EVIL\\nsession id=0x1 user=root\""));
        assert!(text.contains("path=\"\\\\a\\\"b\\tc\\x01\""));
    }

    #[test]
    fn quoting_and_names() {
        assert_eq!(quote("plain\\name"), "plain\\name");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(lease_name(0), "none");
        assert_eq!(lease_name(1 | 2), "RH");
        assert_eq!(rights(0x0012_0089), "R");
        assert_eq!(rights(0x0000_0080), "-");
        assert_eq!(rights(0x1000_0000), "RWD");
        assert_eq!(dialect_name(0x0210), "2.1");
        assert_eq!(dialect_name(0x0999), "0x0999");
    }

    #[test]
    fn unknown_and_unauthenticated_rows() {
        let mut s = sample();
        s.sessions[0].user = None;
        s.sessions[0].valid = false;
        s.sessions[0].cipher = None;
        s.sessions[0].channels[1].link = None;
        s.idle.clear();
        let text = render(&s);
        assert!(
            text.contains("user=- dialect=3.1.1 state=in-progress"),
            "{text}"
        );
        assert!(text.contains("cipher=- channels=2"), "{text}");
        assert!(text.contains("channel conn=9 transport=- peer=- local=- requests=3"));
        // A channel whose connection is gone is not counted as a connection.
        assert!(text.starts_with("rsmbd version=1.2.3 uptime=90s connections=1 "));
    }

    #[test]
    fn report_of_a_live_server() {
        use crate::crypto::{PreauthHash, SigningAlgorithm};
        use crate::server::session::{Identity, Session};
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = crate::config::Config::builtin_default();
        cfg.state_dir = dir.path().join("state");
        cfg.users_file = dir.path().join("users");
        cfg.shares[0].path = dir.path().join("share");
        let server = Server::new(cfg).unwrap();
        let info = Arc::new(ConnectionInfo::new(
            3,
            "10.0.0.2:40000".parse().unwrap(),
            "10.0.0.1:445".parse().unwrap(),
            TransportKind::Rdma,
        ));
        info.stats.add_requests(4);
        info.stats.add_in(400);
        info.stats.add_out(800);
        server.connections.insert(3, info);
        server.connections.insert(
            4,
            Arc::new(ConnectionInfo::new(
                4,
                "10.0.0.3:40001".parse().unwrap(),
                "10.0.0.1:445".parse().unwrap(),
                TransportKind::Tcp,
            )),
        );
        let session = Arc::new(Session::new(
            0xfeed,
            0x0300,
            3,
            PreauthHash::new(),
            None,
            SigningAlgorithm::AesCmac,
        ));
        session.state.lock().identity = Some(Identity {
            user: "tester".into(),
            domain: "DOM".into(),
            anonymous: false,
        });
        session.state.lock().phase = SessionPhase::Valid;
        let ipc = server.share("IPC$").unwrap();
        let tree = session.add_tree(ipc, false, 0x001f_01ff);
        server.sessions.insert(session.id, session.clone());
        let pipe = crate::server::rpc::SrvsvcPipe::new("RSMBD".into(), Vec::new());
        server.opens.insert(Arc::new(Open {
            file_id: crate::wire::FileId {
                persistent: 1,
                volatile: 2,
            },
            session_id: session.id,
            tree,
            granted_access: 0x0012_019f,
            name: "srvsvc".into(),
            kind: OpenKind::Pipe(parking_lot::Mutex::new(pipe)),
        }));
        let text = report(&server);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with(&format!(
                "rsmbd version={} uptime=",
                env!("CARGO_PKG_VERSION")
            )),
            "{text}"
        );
        assert!(
            lines[0].ends_with(" connections=2 sessions=1 opens=1"),
            "{text}"
        );
        assert!(lines[1].starts_with("session id=0x000000000000feed user=DOM\\tester dialect=3.0 state=valid signing=optional encryption=off cipher=- channels=1 trees=1 opens=1"), "{text}");
        assert!(lines[2].starts_with("  channel conn=3 transport=rdma peer=10.0.0.2:40000 local=10.0.0.1:445 requests=4 bytes_in=400 bytes_out=800 age="), "{text}");
        assert_eq!(lines[3], "  tree id=1 share=IPC$ encrypt=no");
        assert_eq!(lines[4], "  open id=0x1:0x2 share=IPC$ path=\\srvsvc type=pipe access=0x0012019f rights=RW oplock=none lease=-");
        assert!(
            lines[5].starts_with("connection conn=4 transport=tcp peer=10.0.0.3:40001 "),
            "{text}"
        );
        // Then one copy-counter line per disk share, and nothing else.
        assert!(
            lines[6..].iter().all(|l| l.starts_with("share name=")),
            "{text}"
        );
    }
}
