//! The TCP/UDP endpoints of a packet, to look its process up
//! ([`crate::WinReader::process_for`]): the packet decoded by `tracehound-wire` (every link
//! type the analysis reads, 802.11 included), ports from the TCP / UDP header, or from the
//! first bytes of a first fragment or of a transport header cut short (pktmon logs the first
//! 128 bytes).

use std::net::SocketAddr;

use tracehound_wire::{decode, Transport};

/// (source, destination) of a TCP or UDP packet with link type `link`.
pub fn endpoints(link: u32, data: &[u8]) -> Option<(SocketAddr, SocketAddr)> {
    let d = decode(link, data).ok()?;
    let ip = d.net.ip()?;
    let (sp, dp) = match d.transport {
        Transport::Tcp(t) => (t.sport, t.dport),
        Transport::Udp(u) => (u.sport, u.dport),
        Transport::Fragment { payload, .. } if ip.fragment.is_some_and(|f| f.offset == 0) => {
            ports(ip.proto, payload)?
        }
        Transport::Malformed { proto, payload, .. } => ports(proto, payload)?,
        _ => return None,
    };
    Some((SocketAddr::new(ip.src, sp), SocketAddr::new(ip.dst, dp)))
}

/// The ports at the start of a TCP or UDP header.
fn ports(proto: u8, l4: &[u8]) -> Option<(u16, u16)> {
    if proto != tracehound_wire::proto::TCP && proto != tracehound_wire::proto::UDP {
        return None;
    }
    let p = l4.get(..4)?;
    Some((
        u16::from_be_bytes([*p.first()?, *p.get(1)?]),
        u16::from_be_bytes([*p.get(2)?, *p.get(3)?]),
    ))
}

#[cfg(test)]
mod tests {
    use super::endpoints;

    /// An IPv4/TCP packet 10.0.0.1:1234 → 10.0.0.2:80 behind an 802.11 header of `hdr`
    /// bytes (frame control `fc0`, `fc1`) and LLC/SNAP.
    fn wifi(fc0: u8, fc1: u8, hdr: usize) -> Vec<u8> {
        let mut f = vec![0u8; hdr];
        f[0] = fc0;
        f[1] = fc1;
        f.extend_from_slice(&[0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00]);
        let mut ip = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        ip.extend_from_slice(&[0x04, 0xD2, 0, 80]);
        ip.resize(40, 0);
        f.extend_from_slice(&ip);
        f
    }

    #[test]
    fn wifi_data_frames_plain_qos_and_four_address() {
        let want = Some(("10.0.0.1:1234".parse().unwrap(), "10.0.0.2:80".parse().unwrap()));
        assert_eq!(endpoints(105, &wifi(0x08, 0x01, 24)), want);
        assert_eq!(endpoints(105, &wifi(0x88, 0x02, 26)), want);
        assert_eq!(endpoints(105, &wifi(0x88, 0x03, 32)), want);
        assert_eq!(endpoints(105, &wifi(0x08, 0x03, 30)), want);
        // A management frame, and a data frame without LLC/SNAP where it should be.
        assert_eq!(endpoints(105, &wifi(0x80, 0x00, 24)), None);
        let mut f = wifi(0x08, 0x01, 24);
        f[24] = 0;
        assert_eq!(endpoints(105, &f), None);
    }
}
