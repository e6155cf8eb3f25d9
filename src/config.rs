//! The configuration file (TOML) and its validation.
//!
//! Every key is optional; `rsmbd serve` with no file serves the built-in default described in
//! [`Config::builtin_default`]. Errors carry the line and column of the offending key so
//! `rsmbd check-config` can point at them. The reference of every key is in README.md.
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// One SMB dialect, parsed from "2.0.2", "2.1", "3.0", "3.0.2" or "3.1.1".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DialectSetting(pub u16);

impl DialectSetting {
    /// Parses the dotted form.
    pub fn parse(s: &str) -> Option<DialectSetting> {
        Some(DialectSetting(match s {
            "2.0.2" | "2.02" => 0x0202,
            "2.1" | "2.10" => 0x0210,
            "3.0" | "3.00" => 0x0300,
            "3.0.2" | "3.02" => 0x0302,
            "3.1.1" | "3.11" => 0x0311,
            _ => return None,
        }))
    }
}

/// The file as written (only syntax and types checked), with spans for later checks.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default, rename = "share")]
    shares: Vec<RawShare>,
    #[serde(default, rename = "interface")]
    interfaces: Vec<Spanned<RawInterface>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInterface {
    name: Option<String>,
    address: Option<Spanned<String>>,
    speed: Option<Spanned<u64>>,
    rss: Option<bool>,
    rdma: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<Vec<Spanned<String>>>,
    server_name: Option<Spanned<String>>,
    workgroup: Option<String>,
    min_dialect: Option<Spanned<String>>,
    max_dialect: Option<Spanned<String>>,
    require_signing: Option<bool>,
    encrypt: Option<bool>,
    users_file: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    allow_anonymous: Option<bool>,
    multichannel: Option<bool>,
    log_level: Option<String>,
    smb_direct: Option<bool>,
    smb_direct_port: Option<u16>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_credits: Option<Spanned<u32>>,
    max_message_size: Option<Spanned<u32>>,
    max_connections: Option<u32>,
    max_compound_elements: Option<u32>,
    max_opens_per_session: Option<u32>,
    max_pending_per_connection: Option<u32>,
    idle_timeout_secs: Option<u64>,
    frame_timeout_secs: Option<u64>,
    dead_peer_timeout_secs: Option<Spanned<u64>>,
    oplock_break_timeout_secs: Option<u64>,
    durable_timeout_secs: Option<u64>,
    durable_max_timeout_secs: Option<u64>,
    copychunk_max_chunks: Option<u32>,
    copychunk_max_chunk_size: Option<u32>,
    copychunk_max_total_size: Option<u32>,
    odx_token_lifetime_secs: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShare {
    name: Spanned<String>,
    path: Spanned<PathBuf>,
    #[serde(default)]
    read_only: bool,
    #[serde(default)]
    encrypt: bool,
    #[serde(default)]
    guest_ok: bool,
    #[serde(default)]
    comment: String,
    #[serde(default = "default_true")]
    case_insensitive: bool,
    #[serde(default)]
    continuous_availability: bool,
}

fn default_true() -> bool {
    true
}

/// A configuration error, positioned in the file when it comes from one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.position {
            Some((l, c)) => write!(f, "line {l}, column {c}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// One disk share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareConfig {
    /// The name clients connect to (compared case-insensitively).
    pub name: String,
    /// The directory served.
    pub path: PathBuf,
    /// Refuse every modification.
    pub read_only: bool,
    /// Require encryption on this share (3.x only).
    pub encrypt: bool,
    /// Let anonymous sessions connect.
    pub guest_ok: bool,
    /// Shown by share enumeration.
    pub comment: String,
    /// Case-insensitive name lookup (Windows semantics).
    pub case_insensitive: bool,
    /// Continuously available (MS-SMB2 Share.IsCA): persistent handles are granted on it and
    /// their state is kept in `state_dir` across restarts ([`crate::server::persistent`]).
    pub continuous_availability: bool,
}

/// One `[[interface]]` entry: an interface (by name, all its addresses) or one address that
/// FSCTL_QUERY_NETWORK_INTERFACE_INFO advertises, with what to claim for it. Unset fields are
/// read from the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceConfig {
    /// Interface name (`eth0`).
    pub name: Option<String>,
    /// One address (of `name`, when both are given).
    pub address: Option<std::net::IpAddr>,
    /// Link speed in bits per second.
    pub speed: Option<u64>,
    /// Claim RSS capability.
    pub rss: Option<bool>,
    /// Claim RDMA capability (only advertised while SMB Direct listens).
    pub rdma: Option<bool>,
}

/// Resource limits (each protects the server from one client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most credits one connection may hold (MS-SMB2 3.3.1.2).
    pub max_credits: u32,
    /// Largest READ/WRITE/TRANSACT payload advertised; frames may be this plus 64 KiB of headers.
    pub max_message_size: u32,
    /// Connections accepted at once; more are closed right after accept.
    pub max_connections: u32,
    /// Longest compound chain.
    pub max_compound_elements: u32,
    /// Open handles per session.
    pub max_opens_per_session: u32,
    /// Asynchronous operations pending per connection.
    pub max_pending_per_connection: u32,
    /// A connection with no session and no traffic for this long is closed.
    pub idle_timeout_secs: u64,
    /// A frame must arrive whole within this many seconds once its first byte came (slow senders).
    pub frame_timeout_secs: u64,
    /// A connection whose peer has vanished (power loss, cable pulled, link down: no FIN or RST
    /// ever comes) is closed after about this many seconds, by TCP keepalive probes when it is
    /// idle and TCP_USER_TIMEOUT when sent data stays unacknowledged; its session's opens then
    /// become disconnected durable opens or are closed, so locks and share modes are released.
    /// 0 turns both off (the system's keepalive defaults of two hours and more then apply).
    pub dead_peer_timeout_secs: u64,
    /// How long a conflicting open waits for an oplock holder to acknowledge a break
    /// (MS-SMB2 3.3.2.1 Oplock Break Acknowledgment Timer: 35 s on Windows).
    pub oplock_break_timeout_secs: u64,
    /// How long a disconnected durable open is kept for its client to reconnect: v1 opens,
    /// and v2 opens that ask for 0 (MS-SMB2 3.3.5.9.6, 3.3.5.9.10; Windows and Samba: 60 s).
    pub durable_timeout_secs: u64,
    /// The longest durable v2 timeout granted, whatever the client asks (300 s as Windows).
    pub durable_max_timeout_secs: u64,
    /// Most chunks in one FSCTL_SRV_COPYCHUNK request (MS-SMB2 3.3.3 ServerSideCopyMaxNumberofChunks: 256).
    pub copychunk_max_chunks: u32,
    /// Largest chunk of a copychunk request (ServerSideCopyMaxChunkSize: 1 MiB).
    pub copychunk_max_chunk_size: u32,
    /// Most bytes copied by one copychunk request (ServerSideCopyMaxDataSize: 16 MiB).
    pub copychunk_max_total_size: u32,
    /// How long an ODX token from FSCTL_OFFLOAD_READ stays valid (MS-FSCC 2.3.41; a client's
    /// shorter TokenTimeToLive wins). 1 s ..= 1 day.
    pub odx_token_lifetime_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_credits: 8192,
            max_message_size: 8 * 1024 * 1024,
            max_connections: 16384,
            max_compound_elements: 256,
            max_opens_per_session: 65536,
            max_pending_per_connection: 4096,
            idle_timeout_secs: 120,
            frame_timeout_secs: 60,
            dead_peer_timeout_secs: 120,
            oplock_break_timeout_secs: 35,
            durable_timeout_secs: 60,
            durable_max_timeout_secs: 300,
            copychunk_max_chunks: 256,
            copychunk_max_chunk_size: 1 << 20,
            copychunk_max_total_size: 16 << 20,
            odx_token_lifetime_secs: 60,
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Addresses to listen on (TCP).
    pub listen: Vec<SocketAddr>,
    /// NetBIOS-style server name.
    pub server_name: String,
    /// NetBIOS domain (workgroup) name.
    pub workgroup: String,
    /// Lowest dialect offered.
    pub min_dialect: u16,
    /// Highest dialect offered.
    pub max_dialect: u16,
    /// Require signed messages on every session.
    pub require_signing: bool,
    /// Require encryption on every session (3.x).
    pub encrypt: bool,
    /// The user database.
    pub users_file: PathBuf,
    /// Where the server keeps its GUID and (later) persistent state.
    pub state_dir: PathBuf,
    /// Accept anonymous (null) sessions; they reach only shares with `guest_ok`.
    pub allow_anonymous: bool,
    /// Offer multichannel (SMB2_GLOBAL_CAP_MULTI_CHANNEL on 3.x) and accept session binding
    /// (MS-SMB2 3.3.5.5.2).
    pub multichannel: bool,
    /// SMB Direct (MS-SMBD): an rdma_cm listener on `smb_direct_port` beside each TCP
    /// listener whose address has an RDMA device (`[server] smb_direct`, `--no-rdma`).
    pub smb_direct: bool,
    /// The SMB Direct port (5445, the port the Linux client tries first).
    pub smb_direct_port: u16,
    /// tracing filter when RUST_LOG is unset.
    pub log_level: String,
    /// Limits.
    pub limits: Limits,
    /// Disk shares (IPC$ is always present).
    pub shares: Vec<ShareConfig>,
    /// Interfaces advertised to multichannel clients; empty: every non-loopback one.
    pub interfaces: Vec<InterfaceConfig>,
}

/// The per-user data directory: `$XDG_DATA_HOME/rsmbd` or `~/.local/share/rsmbd`.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("rsmbd");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/tmp".into());
    home.join(".local/share/rsmbd")
}

impl Config {
    /// The built-in default: listen on 127.0.0.1:4455, one share `share` at `<data dir>/share`,
    /// users in `<data dir>/users`, dialects 2.0.2–3.1.1, signing and encryption as the client
    /// asks.
    pub fn builtin_default() -> Config {
        let data = default_data_dir();
        Config {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 4455))],
            server_name: "RSMBD".into(),
            workgroup: "WORKGROUP".into(),
            min_dialect: 0x0202,
            max_dialect: 0x0311,
            require_signing: false,
            encrypt: false,
            users_file: data.join("users"),
            state_dir: data.clone(),
            allow_anonymous: false,
            multichannel: true,
            smb_direct: true,
            smb_direct_port: 5445,
            log_level: "info".into(),
            limits: Limits::default(),
            shares: vec![ShareConfig {
                name: "share".into(),
                path: data.join("share"),
                read_only: false,
                encrypt: false,
                guest_ok: false,
                comment: "rsmbd default share".into(),
                case_insensitive: true,
                continuous_availability: false,
            }],
            interfaces: Vec::new(),
        }
    }

    /// Parses and validates a config file's text. Returns every error found.
    pub fn parse(text: &str) -> Result<Config, Vec<ConfigError>> {
        let pos = |offset: usize| {
            let before = &text[..offset.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
            Some((line, col))
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            vec![ConfigError {
                position: e.span().and_then(|s| pos(s.start)),
                message: e.message().to_string(),
            }]
        })?;
        let mut errors = Vec::new();
        let mut err = |span: std::ops::Range<usize>, message: String| {
            errors.push(ConfigError {
                position: pos(span.start),
                message,
            })
        };
        let mut c = Config::builtin_default();
        c.shares.clear();
        let s = raw.server;
        if let Some(listen) = s.listen {
            c.listen.clear();
            for l in listen {
                match l.get_ref().parse::<SocketAddr>() {
                    Ok(a) => c.listen.push(a),
                    Err(_) => err(
                        l.span(),
                        format!("listen: `{}` is not ADDR:PORT", l.get_ref()),
                    ),
                }
            }
        }
        if let Some(n) = s.server_name {
            if n.get_ref().is_empty() || n.get_ref().len() > 15 {
                err(n.span(), "server_name must have 1 to 15 characters".into());
            }
            c.server_name = n.into_inner().to_uppercase();
        }
        if let Some(w) = s.workgroup {
            c.workgroup = w.to_uppercase();
        }
        for (field, target) in [
            (s.min_dialect, &mut c.min_dialect),
            (s.max_dialect, &mut c.max_dialect),
        ] {
            if let Some(d) = field {
                match DialectSetting::parse(d.get_ref()) {
                    Some(v) => *target = v.0,
                    None => err(
                        d.span(),
                        format!(
                            "dialect `{}`: use 2.0.2, 2.1, 3.0, 3.0.2 or 3.1.1",
                            d.get_ref()
                        ),
                    ),
                }
            }
        }
        if c.min_dialect > c.max_dialect {
            errors.push(ConfigError {
                position: None,
                message: "min_dialect is above max_dialect".into(),
            });
        }
        c.require_signing = s.require_signing.unwrap_or(false);
        c.encrypt = s.encrypt.unwrap_or(false);
        if let Some(u) = s.users_file {
            c.users_file = u;
        }
        if let Some(d) = s.state_dir {
            c.state_dir = d;
        }
        c.allow_anonymous = s.allow_anonymous.unwrap_or(false);
        c.multichannel = s.multichannel.unwrap_or(true);
        c.smb_direct = s.smb_direct.unwrap_or(true);
        c.smb_direct_port = s.smb_direct_port.unwrap_or(5445);
        if let Some(l) = s.log_level {
            c.log_level = l;
        }
        let l = raw.limits;
        let mut err = |span: std::ops::Range<usize>, message: String| {
            errors.push(ConfigError {
                position: pos(span.start),
                message,
            })
        };
        if let Some(m) = l.max_credits {
            if !(16..=65535).contains(m.get_ref()) {
                err(m.span(), "max_credits must be 16..=65535".into());
            }
            c.limits.max_credits = *m.get_ref();
        }
        if let Some(m) = l.max_message_size {
            if !(65536..=16 * 1024 * 1024).contains(m.get_ref()) {
                err(m.span(), "max_message_size must be 64 KiB..=16 MiB".into());
            }
            c.limits.max_message_size = *m.get_ref();
        }
        macro_rules! copy {
            ($($f:ident),*) => { $(if let Some(v) = l.$f { c.limits.$f = v; })* };
        }
        copy!(
            max_connections,
            max_compound_elements,
            max_opens_per_session,
            max_pending_per_connection,
            idle_timeout_secs,
            frame_timeout_secs,
            oplock_break_timeout_secs,
            durable_timeout_secs,
            durable_max_timeout_secs,
            copychunk_max_chunks,
            copychunk_max_chunk_size,
            copychunk_max_total_size
        );
        if let Some(v) = l.dead_peer_timeout_secs {
            if *v.get_ref() != 0 && !(10..=86_400).contains(v.get_ref()) {
                err(
                    v.span(),
                    "dead_peer_timeout_secs must be 0 (off) or 10..=86400".into(),
                );
            }
            c.limits.dead_peer_timeout_secs = *v.get_ref();
        }
        if let Some(v) = l.odx_token_lifetime_secs {
            if !(1..=86_400).contains(v.get_ref()) {
                err(v.span(), "odx_token_lifetime_secs must be 1..=86400".into());
            }
            c.limits.odx_token_lifetime_secs = *v.get_ref();
        }
        for sh in raw.shares {
            let name = sh.name.get_ref();
            if !valid_share_name(name) {
                err(
                    sh.name.span(),
                    format!(
                        "share name `{name}` is invalid (1-80 characters, none of \\/:*?\"<>|)"
                    ),
                );
            } else if name.eq_ignore_ascii_case("IPC$")
                || c.shares.iter().any(|o| o.name.eq_ignore_ascii_case(name))
            {
                err(
                    sh.name.span(),
                    format!("share `{name}` is defined twice or reserved"),
                );
            }
            if !sh.path.get_ref().is_absolute() {
                err(sh.path.span(), "share path must be absolute".into());
            }
            c.shares.push(ShareConfig {
                name: sh.name.into_inner(),
                path: sh.path.into_inner(),
                read_only: sh.read_only,
                encrypt: sh.encrypt,
                guest_ok: sh.guest_ok,
                comment: sh.comment,
                case_insensitive: sh.case_insensitive,
                continuous_availability: sh.continuous_availability,
            });
        }
        for spanned in raw.interfaces {
            let span = spanned.span();
            let i = spanned.into_inner();
            let address = i.address.as_ref().and_then(|a| {
                let parsed = a.get_ref().parse::<std::net::IpAddr>().ok();
                if parsed.is_none() {
                    err(
                        a.span(),
                        format!("interface address `{}` is not an IP address", a.get_ref()),
                    );
                }
                parsed
            });
            if i.name.is_none() && i.address.is_none() {
                err(span, "an [[interface]] needs a name or an address".into());
            }
            if let Some(sp) = &i.speed {
                if *sp.get_ref() == 0 {
                    err(
                        sp.span(),
                        "interface speed must be positive (bits per second)".into(),
                    );
                }
            }
            c.interfaces.push(InterfaceConfig {
                name: i.name,
                address,
                speed: i.speed.map(|s| s.into_inner()),
                rss: i.rss,
                rdma: i.rdma,
            });
        }
        if errors.is_empty() {
            Ok(c)
        } else {
            Err(errors)
        }
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![ConfigError {
                position: None,
                message: format!("{}: {e}", path.display()),
            }]
        })?;
        Config::parse(&text)
    }
}

/// A share name as MS-SRVS allows: 1 to 80 characters, no control or reserved characters.
pub fn valid_share_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 80
        && !name
            .chars()
            .any(|ch| ch.is_control() || "\\/:*?\"<>|".contains(ch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smb_direct_keys() {
        let c = Config::parse("").unwrap();
        assert!(c.smb_direct);
        assert_eq!(c.smb_direct_port, 5445);
        let c = Config::parse("[server]\nsmb_direct = false\nsmb_direct_port = 5446\n").unwrap();
        assert!(!c.smb_direct);
        assert_eq!(c.smb_direct_port, 5446);
    }

    #[test]
    fn dead_peer_timeout_is_checked() {
        assert_eq!(
            Config::parse("").unwrap().limits.dead_peer_timeout_secs,
            120
        );
        let c = Config::parse("[limits]\ndead_peer_timeout_secs = 0\n").unwrap();
        assert_eq!(c.limits.dead_peer_timeout_secs, 0);
        let c = Config::parse("[limits]\ndead_peer_timeout_secs = 30\n").unwrap();
        assert_eq!(c.limits.dead_peer_timeout_secs, 30);
        for bad in ["5", "86401"] {
            let e =
                Config::parse(&format!("[limits]\ndead_peer_timeout_secs = {bad}\n")).unwrap_err();
            assert_eq!(e[0].position.map(|p| p.0), Some(2), "{bad}: {e:?}");
        }
    }

    #[test]
    fn empty_file_gives_defaults_without_shares() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.listen, Config::builtin_default().listen);
        assert!(c.shares.is_empty());
    }

    #[test]
    fn full_file_parses() {
        let c = Config::parse(
            "[server]\nlisten=[\"127.0.0.1:0\"]\nmin_dialect=\"3.0\"\nencrypt=true\n[limits]\nmax_credits=512\noplock_break_timeout_secs=5\n\
             [[share]]\nname=\"data\"\npath=\"/srv/data\"\nread_only=true\n",
        )
        .unwrap();
        assert_eq!(c.min_dialect, 0x0300);
        assert!(c.encrypt);
        assert_eq!(c.limits.max_credits, 512);
        assert_eq!(c.limits.oplock_break_timeout_secs, 5);
        assert_eq!(
            Config::builtin_default().limits.oplock_break_timeout_secs,
            35
        );
        assert_eq!(c.shares[0].name, "data");
        assert!(c.shares[0].read_only);
    }

    #[test]
    fn errors_have_line_and_column() {
        let e = Config::parse(
            "[server]\nmin_dialect = \"4.0\"\n[[share]]\nname=\"a*\"\npath=\"rel\"\n",
        )
        .unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!(e[0].position, Some((2, 15)));
        assert_eq!(e[1].position, Some((4, 6)));
        assert_eq!(e[2].position, Some((5, 6)));
        let e = Config::parse("[server]\nbogus = 1\n").unwrap_err();
        assert_eq!(e[0].position.map(|p| p.0), Some(2));
        let e = Config::parse("[server\n").unwrap_err();
        assert!(e[0].position.is_some());
    }

    #[test]
    fn interfaces_parse_and_are_checked() {
        let c = Config::parse(
            "[[interface]]\nname = \"eth0\"\nspeed = 10000000000\nrss = true\n\
             [[interface]]\naddress = \"::1\"\nrdma = false\n",
        )
        .unwrap();
        assert_eq!(c.interfaces.len(), 2);
        assert_eq!(c.interfaces[0].name.as_deref(), Some("eth0"));
        assert_eq!(c.interfaces[0].speed, Some(10_000_000_000));
        assert_eq!(c.interfaces[0].rss, Some(true));
        assert_eq!(c.interfaces[1].address, Some("::1".parse().unwrap()));
        assert_eq!(c.interfaces[1].rdma, Some(false));
        let e = Config::parse("[[interface]]\nspeed = 0\n[[interface]]\naddress = \"x\"\n")
            .unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(Config::parse("[[interface]]\nname = \"a\"\nbogus = 1\n").is_err());
    }

    #[test]
    fn duplicate_and_reserved_share_names_refused() {
        let e = Config::parse(
            "[[share]]\nname=\"a\"\npath=\"/a\"\n[[share]]\nname=\"A\"\npath=\"/b\"\n",
        )
        .unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(Config::parse("[[share]]\nname=\"ipc$\"\npath=\"/a\"\n").is_err());
    }
}
