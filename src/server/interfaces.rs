//! The network interfaces the server advertises to multichannel clients
//! (FSCTL_QUERY_NETWORK_INTERFACE_INFO, MS-SMB2 3.3.5.15.11; NETWORK_INTERFACE_INFO, 2.2.32.5).
//!
//! Where they come from:
//! - with no `[[interface]]` in the configuration, every interface that is up, with each of its
//!   IPv4 and global IPv6 addresses, loopback and IPv6 link-local addresses left out, and only
//!   the addresses the server listens on (all of a family for a wildcard `listen` address):
//!   a client would otherwise dial addresses where nothing answers (Samba with `bind
//!   interfaces only` advertises only its bound addresses too);
//! - with `[[interface]]` entries, exactly those (by name: all its addresses; by address: that
//!   one), loopback included when named, each with the speed and capabilities it configures.
//!
//! Link speed is read from `/sys/class/net/<if>/speed` (Mb/s; virtual links without one count
//! as 1 Gb/s), RSS capability from the number of receive queues (more than one), RDMA
//! capability from an RDMA device on the link, and only while SMB Direct listens. When nothing
//! is left to advertise, or the client came over loopback and nothing is configured, the
//! address the client connected to is answered, as Samba does. The system is probed at most every [`REFRESH`]; the selection
//! itself is the pure function [`select`], tested without a network.
use crate::config::InterfaceConfig;
use crate::wire::fsctl::network_interface::{NetworkInterfaceInfo, RDMA_CAPABLE, RSS_CAPABLE};
use parking_lot::Mutex;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// How long one probe of the system's interfaces is reused.
pub const REFRESH: Duration = Duration::from_secs(10);
/// Link speed assumed when the system reports none: 1 Gb/s.
pub const DEFAULT_SPEED: u64 = 1_000_000_000;

/// One address of one interface, as the system reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemAddress {
    /// Interface name (`eth0`).
    pub name: String,
    /// Interface index.
    pub index: u32,
    /// The address.
    pub addr: IpAddr,
    /// IFF_LOOPBACK.
    pub loopback: bool,
    /// Link speed in bits per second, if known.
    pub speed: Option<u64>,
    /// More than one receive queue.
    pub rss: bool,
    /// An RDMA device sits on this link.
    pub rdma: bool,
}

/// Whether a server listening on `listen` accepts connections to `addr` (an empty list: all).
fn listened(listen: &[SocketAddr], addr: IpAddr) -> bool {
    listen.is_empty()
        || listen.iter().any(|l| {
            l.ip() == addr || (l.ip().is_unspecified() && l.ip().is_ipv4() == addr.is_ipv4())
        })
}

/// Chooses what to advertise from the system's addresses and the configuration; without
/// configured entries, only addresses one of the `listen` addresses accepts.
/// `rdma_listening` says whether SMB Direct accepts connections (RDMA_CAPABLE only then).
pub fn select(
    config: &[InterfaceConfig],
    listen: &[SocketAddr],
    system: &[SystemAddress],
    rdma_listening: bool,
) -> Vec<NetworkInterfaceInfo> {
    let info = |a: &SystemAddress, c: Option<&InterfaceConfig>| {
        let rss = c.and_then(|c| c.rss).unwrap_or(a.rss);
        let rdma = rdma_listening && c.and_then(|c| c.rdma).unwrap_or(a.rdma);
        NetworkInterfaceInfo {
            if_index: a.index,
            capability: if rss { RSS_CAPABLE } else { 0 } | if rdma { RDMA_CAPABLE } else { 0 },
            link_speed: c.and_then(|c| c.speed).or(a.speed).unwrap_or(DEFAULT_SPEED),
            sockaddr: SocketAddr::new(a.addr, 0),
        }
    };
    let usable = |a: &&SystemAddress| match a.addr {
        IpAddr::V4(_) => true,
        // Link-local addresses need a scope the client cannot use.
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 != 0xfe80,
    };
    let mut out: Vec<NetworkInterfaceInfo> = Vec::new();
    if config.is_empty() {
        for a in system
            .iter()
            .filter(|a| !a.loopback && listened(listen, a.addr))
            .filter(usable)
        {
            out.push(info(a, None));
        }
    } else {
        for c in config {
            for a in system.iter().filter(usable) {
                let by_name = c.name.as_deref().is_some_and(|n| n == a.name);
                let by_addr = c.address.is_some_and(|ip| ip == a.addr);
                let named_ok = c.name.is_none() || by_name;
                let addr_ok = c.address.is_none() || by_addr;
                if (by_name || by_addr) && named_ok && addr_ok {
                    let i = info(a, Some(c));
                    if !out.iter().any(|o| o.sockaddr == i.sockaddr) {
                        out.push(i);
                    }
                }
            }
        }
    }
    out
}

/// Clears RDMA_CAPABLE on the entries whose address `accepts` refuses (no SMB Direct
/// listener there): MS-SMB2 3.3.5.15.11 advertises the capability only where the server
/// takes RDMA connections.
pub fn restrict_rdma(list: &mut [NetworkInterfaceInfo], accepts: impl Fn(IpAddr) -> bool) {
    for i in list.iter_mut() {
        if i.capability & RDMA_CAPABLE != 0 && !accepts(i.sockaddr.ip()) {
            i.capability &= !RDMA_CAPABLE;
        }
    }
}

/// The list to answer a client that connected to `local` of a server listening on `listen`:
/// [`select`] over the system's interfaces (probed at most every [`REFRESH`]), or `local`
/// alone when that is empty.
pub fn advertised(
    config: &[InterfaceConfig],
    listen: &[SocketAddr],
    local: SocketAddr,
    rdma_listening: bool,
) -> Vec<NetworkInterfaceInfo> {
    static CACHE: Mutex<Option<(Instant, Vec<SystemAddress>)>> = Mutex::new(None);
    let system = {
        let mut c = CACHE.lock();
        match c.as_ref() {
            Some((at, list)) if at.elapsed() < REFRESH => list.clone(),
            _ => {
                let list = probe();
                *c = Some((Instant::now(), list.clone()));
                list
            }
        }
    };
    // A client on loopback is on this machine: other addresses would only lead it off the
    // box (and tests must stay on loopback), so without configuration it gets its own.
    let mut list = if config.is_empty() && local.ip().is_loopback() {
        Vec::new()
    } else {
        select(config, listen, &system, rdma_listening)
    };
    if list.is_empty() {
        let index = system
            .iter()
            .find(|a| a.addr == local.ip())
            .map_or(1, |a| a.index);
        list.push(NetworkInterfaceInfo {
            if_index: index,
            capability: 0,
            link_speed: DEFAULT_SPEED,
            sockaddr: SocketAddr::new(local.ip(), 0),
        });
    }
    list
}

/// Reads the system's interfaces (getifaddrs) and what sysfs says about each link.
pub fn probe() -> Vec<SystemAddress> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return out;
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, alive until freeifaddrs.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_flags & libc::IFF_UP as u32 == 0 {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string of the list.
        let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: ifa_addr points at a sockaddr of the family it names.
        let addr = unsafe {
            match i32::from((*ifa.ifa_addr).sa_family) {
                libc::AF_INET => {
                    let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    IpAddr::from(u32::from_be(sin.sin_addr.s_addr).to_be_bytes())
                }
                libc::AF_INET6 => {
                    let sin6 = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                    IpAddr::from(sin6.sin6_addr.s6_addr)
                }
                _ => continue,
            }
        };
        // SAFETY: ifa_name is a valid C string.
        let index = unsafe { libc::if_nametoindex(ifa.ifa_name) };
        let (speed, rss, rdma) = link_info(&name);
        out.push(SystemAddress {
            name,
            index,
            addr,
            loopback: ifa.ifa_flags & libc::IFF_LOOPBACK as u32 != 0,
            speed,
            rss,
            rdma,
        });
    }
    // SAFETY: `head` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    out
}

/// Speed (bits/s), RSS and RDMA of a link, from sysfs.
fn link_info(name: &str) -> (Option<u64>, bool, bool) {
    if name.contains('/') || name.starts_with('.') {
        return (None, false, false);
    }
    let base = std::path::Path::new("/sys/class/net").join(name);
    let speed = std::fs::read_to_string(base.join("speed"))
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .filter(|&mbps| mbps > 0)
        .map(|mbps| mbps as u64 * 1_000_000);
    let rx_queues = std::fs::read_dir(base.join("queues"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
                .count()
        })
        .unwrap_or(0);
    let rdma = base.join("device/infiniband").is_dir() || rxe_on(name);
    (speed, rx_queues > 1, rdma)
}

/// Whether a soft-RoCE (or other) RDMA device names `netdev` as its link
/// (`/sys/class/infiniband/*/ports/*/gid_attrs/ndevs/*`).
fn rxe_on(netdev: &str) -> bool {
    let Ok(devs) = std::fs::read_dir("/sys/class/infiniband") else {
        return false;
    };
    for dev in devs.filter_map(Result::ok) {
        let Ok(ports) = std::fs::read_dir(dev.path().join("ports")) else {
            continue;
        };
        for port in ports.filter_map(Result::ok) {
            let ndev = port.path().join("gid_attrs/ndevs/0");
            if std::fs::read_to_string(ndev).is_ok_and(|n| n.trim() == netdev) {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sys(name: &str, index: u32, addr: &str, loopback: bool) -> SystemAddress {
        SystemAddress {
            name: name.into(),
            index,
            addr: addr.parse().unwrap(),
            loopback,
            speed: Some(10_000_000_000),
            rss: true,
            rdma: true,
        }
    }

    fn system() -> Vec<SystemAddress> {
        vec![
            sys("lo", 1, "127.0.0.1", true),
            sys("lo", 1, "::1", true),
            sys("eth0", 2, "192.0.2.10", false),
            sys("eth0", 2, "fe80::1", false),
            sys("eth0", 2, "2001:db8::10", false),
            sys("eth1", 3, "198.51.100.7", false),
        ]
    }

    fn addrs(list: &[NetworkInterfaceInfo]) -> Vec<String> {
        list.iter().map(|i| i.sockaddr.ip().to_string()).collect()
    }

    #[test]
    fn default_is_every_non_loopback_address_without_link_local() {
        let list = select(&[], &[], &system(), false);
        assert_eq!(addrs(&list), ["192.0.2.10", "2001:db8::10", "198.51.100.7"]);
        assert!(list.iter().all(|i| i.capability == RSS_CAPABLE));
        assert!(list.iter().all(|i| i.link_speed == 10_000_000_000));
        assert_eq!(list[2].if_index, 3);
        // RDMA is advertised only while SMB Direct listens.
        assert!(select(&[], &[], &system(), true)
            .iter()
            .all(|i| i.capability == RSS_CAPABLE | RDMA_CAPABLE));
    }

    #[test]
    fn configured_entries_choose_and_override() {
        let cfg = vec![
            InterfaceConfig {
                name: Some("lo".into()),
                address: Some("127.0.0.1".parse().unwrap()),
                speed: Some(25_000_000_000),
                rss: Some(false),
                rdma: None,
            },
            InterfaceConfig {
                name: Some("eth1".into()),
                address: None,
                speed: None,
                rss: None,
                rdma: Some(false),
            },
            InterfaceConfig {
                name: None,
                address: Some("203.0.113.1".parse().unwrap()),
                speed: None,
                rss: None,
                rdma: None,
            },
        ];
        // Configured entries are advertised whatever the server listens on.
        let list = select(&cfg, &["192.0.2.10:445".parse().unwrap()], &system(), true);
        assert_eq!(addrs(&list), ["127.0.0.1", "198.51.100.7"]);
        assert_eq!(list[0].link_speed, 25_000_000_000);
        assert_eq!(list[0].capability, RDMA_CAPABLE);
        assert_eq!(list[1].capability, RSS_CAPABLE);
    }

    #[test]
    fn default_keeps_only_the_addresses_listened_on() {
        let listen: Vec<SocketAddr> = vec!["198.51.100.7:445".parse().unwrap()];
        assert_eq!(
            addrs(&select(&[], &listen, &system(), false)),
            ["198.51.100.7"]
        );
        // A wildcard address takes every address of its family.
        let any4: Vec<SocketAddr> = vec!["0.0.0.0:445".parse().unwrap()];
        assert_eq!(
            addrs(&select(&[], &any4, &system(), false)),
            ["192.0.2.10", "198.51.100.7"]
        );
        let both: Vec<SocketAddr> = vec![
            "[::]:445".parse().unwrap(),
            "192.0.2.10:445".parse().unwrap(),
        ];
        assert_eq!(
            addrs(&select(&[], &both, &system(), false)),
            ["192.0.2.10", "2001:db8::10"]
        );
    }

    #[test]
    fn loopback_only_server_answers_its_own_address() {
        let local: SocketAddr = "127.0.0.1:445".parse().unwrap();
        let only_lo = vec![InterfaceConfig {
            name: Some("no-such-interface".into()),
            address: None,
            speed: None,
            rss: None,
            rdma: None,
        }];
        let list = advertised(&only_lo, &[], local, false);
        assert_eq!(addrs(&list), ["127.0.0.1"]);
        assert_eq!(list[0].sockaddr.port(), 0);
    }

    #[test]
    fn probe_finds_loopback() {
        assert!(probe()
            .iter()
            .any(|a| a.loopback && a.addr == IpAddr::from([127, 0, 0, 1])));
    }

    #[test]
    fn rdma_capable_only_where_smb_direct_listens() {
        let mut list = select(&[], &[], &system(), true);
        let rdma_on: IpAddr = "198.51.100.7".parse().unwrap();
        restrict_rdma(&mut list, |ip| ip == rdma_on);
        for i in &list {
            let want = if i.sockaddr.ip() == rdma_on {
                RSS_CAPABLE | RDMA_CAPABLE
            } else {
                RSS_CAPABLE
            };
            assert_eq!(i.capability, want, "{}", i.sockaddr);
        }
    }
}
