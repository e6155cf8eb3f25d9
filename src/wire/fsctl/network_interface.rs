//! NETWORK_INTERFACE_INFO (MS-SMB2 2.2.32.5), the FSCTL_QUERY_NETWORK_INTERFACE_INFO
//! response used by multichannel clients, with its SOCKADDR_STORAGE (2.2.32.5.1) holding a
//! SOCKADDR_IN (2.2.32.5.1.1) or SOCKADDR_IN6 (2.2.32.5.1.2).

use crate::wire::info::{decode_chain, encode_chain, Reader};
use crate::wire::{BytesMut, Error, Result};
use bytes::BufMut;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Capability RSS_CAPABLE: the interface supports receive-side scaling.
pub const RSS_CAPABLE: u32 = 0x0000_0001;
/// Capability RDMA_CAPABLE: the interface supports RDMA (SMB Direct).
pub const RDMA_CAPABLE: u32 = 0x0000_0002;

/// Family of an IPv4 SOCKADDR_STORAGE.
pub const INTER_NETWORK: u16 = 0x0002;
/// Family of an IPv6 SOCKADDR_STORAGE.
pub const INTER_NETWORK_V6: u16 = 0x0017;

/// One NETWORK_INTERFACE_INFO entry: 152 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkInterfaceInfo {
    /// IfIndex
    pub if_index: u32,
    /// Capability ([`RSS_CAPABLE`] | [`RDMA_CAPABLE`])
    pub capability: u32,
    /// LinkSpeed in bits per second
    pub link_speed: u64,
    /// SockAddr_Storage. MS-SMB2 says the port, flow info and scope id are 0; they are
    /// written as given (port and flow info in network order, scope id little-endian).
    pub sockaddr: SocketAddr,
}

impl NetworkInterfaceInfo {
    /// Size of one entry (also the NextEntryOffset between entries).
    pub const LEN: usize = 152;
    /// Size of SockAddr_Storage.
    pub const SOCKADDR_LEN: usize = 128;

    fn put(&self, out: &mut BytesMut) -> Result<()> {
        let start = out.len();
        out.put_u32_le(0);
        out.put_u32_le(self.if_index);
        out.put_u32_le(self.capability);
        out.put_u32_le(0);
        out.put_u64_le(self.link_speed);
        match self.sockaddr {
            SocketAddr::V4(a) => {
                out.put_u16_le(INTER_NETWORK);
                out.put_u16(a.port());
                out.put_slice(&a.ip().octets());
            }
            SocketAddr::V6(a) => {
                out.put_u16_le(INTER_NETWORK_V6);
                out.put_u16(a.port());
                out.put_u32(a.flowinfo());
                out.put_slice(&a.ip().octets());
                out.put_u32_le(a.scope_id());
            }
        }
        out.put_bytes(0, Self::LEN - (out.len() - start));
        Ok(())
    }

    fn parse(entry: &[u8]) -> Result<(Self, usize)> {
        let mut r = Reader::new(entry);
        r.skip(4)?;
        let if_index = r.u32()?;
        let capability = r.u32()?;
        r.skip(4)?;
        let link_speed = r.u64()?;
        let mut s = Reader::new(r.bytes(Self::SOCKADDR_LEN)?);
        let family = s.u16()?;
        let port = u16::from_be_bytes(s.array()?);
        let sockaddr = match family {
            INTER_NETWORK => {
                SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(s.array::<4>()?), port))
            }
            INTER_NETWORK_V6 => {
                let flow = u32::from_be_bytes(s.array()?);
                let ip = Ipv6Addr::from(s.array::<16>()?);
                let scope = s.u32()?;
                SocketAddr::V6(SocketAddrV6::new(ip, port, flow, scope))
            }
            _ => return Err(Error::Invalid("SockAddr_Storage Family")),
        };
        Ok((
            NetworkInterfaceInfo {
                if_index,
                capability,
                link_speed,
                sockaddr,
            },
            Self::LEN,
        ))
    }

    /// Appends the entries chained by Next (152 for all but the last, which has 0).
    pub fn encode_list(list: &[Self], out: &mut BytesMut) -> Result<()> {
        encode_chain(list, 8, out, |e, o| e.put(o))
    }

    /// Decodes a chain of entries; each Next must be a multiple of 8, at least 152, and
    /// inside `b`. An unknown address family is an error.
    pub fn decode_list(b: &[u8]) -> Result<Vec<Self>> {
        decode_chain(b, 8, Self::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn layout() {
        let list = [
            NetworkInterfaceInfo {
                if_index: 3,
                capability: RSS_CAPABLE | RDMA_CAPABLE,
                link_speed: 10_000_000_000,
                sockaddr: "192.168.1.2:0".parse().unwrap(),
            },
            NetworkInterfaceInfo {
                if_index: 4,
                capability: 0,
                link_speed: 1_000_000_000,
                sockaddr: "[fe80::1]:0".parse().unwrap(),
            },
        ];
        let mut out = BytesMut::new();
        NetworkInterfaceInfo::encode_list(&list, &mut out).unwrap();
        assert_eq!(out.len(), 304);
        assert_eq!(&out[0..4], &152u32.to_le_bytes());
        assert_eq!(&out[8..12], &3u32.to_le_bytes());
        assert_eq!(&out[24..28], &[2, 0, 0, 0]);
        assert_eq!(&out[28..32], &[192, 168, 1, 2]);
        assert_eq!(&out[152..156], &0u32.to_le_bytes());
        assert_eq!(&out[176..178], &[0x17, 0]);
        assert_eq!(&out[184..186], &[0xfe, 0x80]);
        assert_eq!(NetworkInterfaceInfo::decode_list(&out).unwrap(), list);
    }

    #[test]
    fn refuses_bad_chains() {
        let mut out = BytesMut::new();
        let e = NetworkInterfaceInfo {
            if_index: 1,
            capability: 0,
            link_speed: 0,
            sockaddr: "10.0.0.1:0".parse().unwrap(),
        };
        NetworkInterfaceInfo::encode_list(&[e, e], &mut out).unwrap();
        let mut b = out.to_vec();
        b[0] = 8; // Next inside the entry
        assert!(NetworkInterfaceInfo::decode_list(&b).is_err());
        let mut b = out.to_vec();
        b[1] = 4; // Next past the end
        assert_eq!(NetworkInterfaceInfo::decode_list(&b), Err(Error::Truncated));
        let mut b = out.to_vec();
        b[24] = 9; // unknown family
        assert!(NetworkInterfaceInfo::decode_list(&b).is_err());
        assert_eq!(
            NetworkInterfaceInfo::decode_list(&out[..151]),
            Err(Error::Truncated)
        );
    }

    fn addr() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<u16>())
                .prop_map(|(ip, p)| SocketAddr::V4(SocketAddrV4::new(ip.into(), p))),
            (any::<[u8; 16]>(), any::<u16>(), any::<u32>(), any::<u32>())
                .prop_map(|(ip, p, f, s)| SocketAddr::V6(SocketAddrV6::new(ip.into(), p, f, s))),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(list in proptest::collection::vec((any::<u32>(), any::<u32>(), any::<u64>(), addr()), 0..5)) {
            let list: Vec<_> = list.into_iter().map(|(i, c, l, a)| NetworkInterfaceInfo {
                if_index: i, capability: c, link_speed: l, sockaddr: a }).collect();
            let mut out = BytesMut::new();
            NetworkInterfaceInfo::encode_list(&list, &mut out).unwrap();
            prop_assert_eq!(out.len(), 152 * list.len());
            prop_assert_eq!(NetworkInterfaceInfo::decode_list(&out).unwrap(), list);
        }

        #[test]
        fn decoder_never_panics(b in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = NetworkInterfaceInfo::decode_list(&b);
        }
    }
}
