//! The TCP/UDP endpoints of a packet, parsed just far enough to look its process up
//! ([`crate::WinReader::process_for`]): Ethernet (with up to two VLAN tags), raw IP and
//! 802.11 data frames with LLC/SNAP, IPv4 (first fragment) and IPv6 (no extension headers).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::le::slice_at;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = slice_at(b, at, 2)?;
    Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
}

/// (source, destination) of a TCP or UDP packet with link type `link`.
pub fn endpoints(link: u32, data: &[u8]) -> Option<(SocketAddr, SocketAddr)> {
    let (ethertype, l3) = match link {
        1 => {
            let mut at = 12;
            let mut et = be16(data, at)?;
            while et == 0x8100 || et == 0x88A8 {
                at += 4;
                et = be16(data, at)?;
            }
            (et, at + 2)
        }
        101 | 228 | 229 => match data.first()? >> 4 {
            4 => (0x0800, 0),
            6 => (0x86DD, 0),
            _ => return None,
        },
        105 => {
            let fc = *data.first()?;
            if fc & 0x0C != 0x08 {
                return None; // not a data frame
            }
            let hdr = if fc & 0x80 != 0 { 26 } else { 24 }; // QoS data
            (be16(data, hdr + 6)?, hdr + 8)
        }
        _ => return None,
    };
    let ip = data.get(l3..)?;
    let (src, dst, proto, l4) = match ethertype {
        0x0800 => {
            let ihl = usize::from(ip.first()? & 0x0F) * 4;
            let frag = be16(ip, 6)? & 0x1FFF;
            if frag != 0 || ihl < 20 {
                return None;
            }
            let s: [u8; 4] = slice_at(ip, 12, 4)?.try_into().ok()?;
            let d: [u8; 4] = slice_at(ip, 16, 4)?.try_into().ok()?;
            (IpAddr::V4(Ipv4Addr::from(s)), IpAddr::V4(Ipv4Addr::from(d)), *ip.get(9)?, ihl)
        }
        0x86DD => {
            let s: [u8; 16] = slice_at(ip, 8, 16)?.try_into().ok()?;
            let d: [u8; 16] = slice_at(ip, 24, 16)?.try_into().ok()?;
            (IpAddr::V6(Ipv6Addr::from(s)), IpAddr::V6(Ipv6Addr::from(d)), *ip.get(6)?, 40)
        }
        _ => return None,
    };
    if proto != 6 && proto != 17 {
        return None;
    }
    let sp = be16(ip, l4)?;
    let dp = be16(ip, l4 + 2)?;
    Some((SocketAddr::new(src, sp), SocketAddr::new(dst, dp)))
}
