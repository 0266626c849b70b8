//! `mkcapture OUT.pcap SIZE_MB INPUT...`: writes a pcap (nanosecond timestamps) of at least
//! SIZE_MB megabytes by repeating the Ethernet frames of real captures. Copy k gets IPv4
//! and IPv6 addresses rewritten (k added to the middle bytes, so flows of different copies
//! stay distinct) and its times shifted by k × 2 hours (so each copy's flows have ended
//! before the next begins, as in a long-running capture). The IPv4 header checksum and the
//! TCP, UDP and ICMPv6 checksums (whose pseudo-header holds the addresses) are updated for
//! the new addresses (RFC 1624), so a checksum that was right stays right and one that was
//! wrong (offload on the capturing host) stays wrong by the same amount. The packet an ICMP
//! or ICMPv6 error quotes is rewritten the same way, so the error still names its flow. Not
//! followed: IPv6 extension headers.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use tracehound_capture::{CaptureReader, LinkType};

struct Frame {
    ts: i64,
    data: Vec<u8>,
    orig_len: u32,
}

fn load(paths: &[PathBuf]) -> anyhow::Result<Vec<Vec<Frame>>> {
    let mut files = Vec::new();
    for p in paths {
        let mut r = CaptureReader::open(p).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut v = Vec::new();
        let mut base = None;
        while let Ok(Some(f)) = r.next_frame() {
            if f.link != LinkType::ETHERNET {
                continue;
            }
            let b = *base.get_or_insert(f.ts.as_nanos());
            v.push(Frame { ts: f.ts.as_nanos() - b, data: f.data.to_vec(), orig_len: f.orig_len });
        }
        if !v.is_empty() {
            files.push(v);
        }
    }
    Ok(files)
}

/// The ones'-complement sum of 16-bit big-endian words (RFC 1071), folded to 16 bits.
fn sum16(b: &[u8]) -> u16 {
    let mut s: u32 =
        b.chunks(2).map(|w| u32::from(w[0]) << 8 | u32::from(*w.get(1).unwrap_or(&0))).sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// Updates the checksum at `d[at..at + 2]` for covered data whose sum went from `old` to
/// `new`: HC' = ~(~HC + ~m + m') (RFC 1624, eqn. 3). `zero_is_none`: a 0 there means "no
/// checksum" (UDP over IPv4) and stays 0, and a computed 0 is sent as 0xffff.
fn update(d: &mut [u8], at: usize, old: u16, new: u16, zero_is_none: bool) {
    let Some(f) = d.get_mut(at..at + 2) else { return };
    let hc = u16::from_be_bytes([f[0], f[1]]);
    if zero_is_none && hc == 0 {
        return;
    }
    let mut s = u32::from(!hc) + u32::from(!old) + u32::from(new);
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    let mut v = !(s as u16);
    if zero_is_none && v == 0 {
        v = 0xffff;
    }
    f.copy_from_slice(&v.to_be_bytes());
}

/// Adds `k` to the middle bytes of both addresses of the IP packet after the Ethernet
/// header (and its VLAN tags), keeping the checksums that cover them consistent.
fn rewrite(d: &mut [u8], k: u32) {
    let mut off = 12;
    // Skip VLAN tags.
    while d.len() >= off + 2 && matches!(u16::from_be_bytes([d[off], d[off + 1]]), 0x8100 | 0x88a8)
    {
        off += 4;
    }
    if d.len() < off + 2 {
        return;
    }
    match u16::from_be_bytes([d[off], d[off + 1]]) {
        0x0800 => rewrite_v4(d, off + 2, k, true),
        0x86dd => rewrite_v6(d, off + 2, k, true),
        _ => {}
    }
}

/// Adds `k` to the two bytes at `d[at..at + 2]` (big endian, wrapping).
fn bump(d: &mut [u8], at: usize, k: u32) {
    let v = u16::from_be_bytes([d[at], d[at + 1]]).wrapping_add(k as u16);
    d[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// The IPv4 packet at `d[ip..]`: addresses, header checksum, transport checksum and, in
/// an `outer` packet that is an ICMP error, the packet it quotes.
fn rewrite_v4(d: &mut [u8], ip: usize, k: u32, outer: bool) {
    if d.len() < ip + 20 {
        return;
    }
    let old = sum16(&d[ip + 12..ip + 20]);
    bump(d, ip + 13, k);
    bump(d, ip + 17, k);
    let new = sum16(&d[ip + 12..ip + 20]);
    update(d, ip + 10, old, new, false);
    let l4 = ip + usize::from(d[ip] & 0x0f) * 4;
    if u16::from_be_bytes([d[ip + 6], d[ip + 7]]) & 0x1fff != 0 {
        return; // not the first fragment: no transport header here
    }
    match d[ip + 9] {
        6 => update(d, l4 + 16, old, new, false),
        17 => update(d, l4 + 6, old, new, true),
        // Destination unreachable, source quench, redirect, time exceeded, parameter problem.
        1 if outer && matches!(d.get(l4), Some(3 | 4 | 5 | 11 | 12)) => quoted(d, l4, k),
        _ => {}
    }
}

/// The IPv6 packet at `d[ip..]`, as [`rewrite_v4`] (no extension headers followed).
fn rewrite_v6(d: &mut [u8], ip: usize, k: u32, outer: bool) {
    if d.len() < ip + 40 {
        return;
    }
    let old = sum16(&d[ip + 8..ip + 40]);
    bump(d, ip + 8 + 6, k);
    bump(d, ip + 24 + 6, k);
    let new = sum16(&d[ip + 8..ip + 40]);
    let l4 = ip + 40;
    match d[ip + 6] {
        6 => update(d, l4 + 16, old, new, false),
        17 => update(d, l4 + 6, old, new, false),
        58 => {
            update(d, l4 + 2, old, new, false);
            // Types 1 to 4 are errors that quote the packet that caused them.
            if outer && matches!(d.get(l4), Some(1..=4)) {
                quoted(d, l4, k);
            }
        }
        _ => {}
    }
}

/// The packet quoted by the ICMP or ICMPv6 error at `d[icmp..]` (after its 8-byte header)
/// is rewritten like the packets of its flow, and the error's own checksum follows.
fn quoted(d: &mut [u8], icmp: usize, k: u32) {
    let q = icmp + 8;
    let Some(&first) = d.get(q) else { return };
    let old = sum16(&d[q..]);
    match first >> 4 {
        4 => rewrite_v4(d, q, k, false),
        6 => rewrite_v6(d, q, k, false),
        _ => return,
    }
    let new = sum16(&d[q..]);
    update(d, icmp + 2, old, new, false);
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        anyhow::bail!("usage: mkcapture OUT.pcap SIZE_MB INPUT...");
    }
    let out = PathBuf::from(&args[1]);
    let target: u64 = args[2].parse::<u64>()? * 1_000_000;
    let inputs: Vec<PathBuf> = args[3..].iter().map(PathBuf::from).collect();
    let files = load(&inputs)?;
    anyhow::ensure!(!files.is_empty(), "no Ethernet frames in the inputs");
    let mut w = BufWriter::with_capacity(1 << 20, File::create(&out)?);
    // pcap header, nanosecond magic, little endian, snaplen 262144, Ethernet.
    w.write_all(&0xa1b2_3c4du32.to_le_bytes())?;
    w.write_all(&2u16.to_le_bytes())?;
    w.write_all(&4u16.to_le_bytes())?;
    w.write_all(&[0u8; 8])?;
    w.write_all(&262_144u32.to_le_bytes())?;
    w.write_all(&1u32.to_le_bytes())?;
    let mut written: u64 = 24;
    let mut frames: u64 = 0;
    let start: i64 = 1_700_000_000_000_000_000;
    let mut k: u32 = 0;
    let mut buf = Vec::new();
    while written < target {
        for (i, file) in files.iter().enumerate() {
            let copy = k * files.len() as u32 + i as u32;
            let shift = start + copy as i64 * 7200 * 1_000_000_000;
            for f in file {
                buf.clear();
                buf.extend_from_slice(&f.data);
                rewrite(&mut buf, copy + 1);
                let ts = shift + f.ts;
                w.write_all(&((ts / 1_000_000_000) as u32).to_le_bytes())?;
                w.write_all(&((ts % 1_000_000_000) as u32).to_le_bytes())?;
                w.write_all(&(buf.len() as u32).to_le_bytes())?;
                w.write_all(&f.orig_len.to_le_bytes())?;
                w.write_all(&buf)?;
                written += 16 + buf.len() as u64;
                frames += 1;
            }
        }
        k += 1;
    }
    w.flush()?;
    eprintln!(
        "{}: {} MB, {frames} frames, {k} rounds of {} captures",
        out.display(),
        written / 1_000_000,
        files.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the checksums of an Ethernet/IP frame (untagged) are right, computed in full:
    /// (IPv4 header, transport). None where there is no such checksum in the frame.
    fn sums_ok(d: &[u8]) -> (Option<bool>, Option<bool>) {
        let ip = 14;
        let fold = |parts: &[&[u8]]| {
            let mut s: u32 = parts.iter().map(|p| u32::from(sum16(p))).sum();
            while s > 0xffff {
                s = (s & 0xffff) + (s >> 16);
            }
            s == 0xffff
        };
        let (hdr, src_dst, proto, l4) = match u16::from_be_bytes([d[12], d[13]]) {
            0x0800 => {
                let ihl = usize::from(d[ip] & 0x0f) * 4;
                let len = usize::from(u16::from_be_bytes([d[ip + 2], d[ip + 3]]));
                if d[ip + 6] & 0x3f != 0 || d[ip + 7] != 0 || d.len() < ip + len {
                    return (Some(fold(&[&d[ip..ip + ihl]])), None);
                }
                (
                    Some(fold(&[&d[ip..ip + ihl]])),
                    &d[ip + 12..ip + 20],
                    d[ip + 9],
                    &d[ip + ihl..ip + len],
                )
            }
            0x86dd => {
                let len = usize::from(u16::from_be_bytes([d[ip + 4], d[ip + 5]]));
                (None, &d[ip + 8..ip + 40], d[ip + 6], &d[ip + 40..ip + 40 + len])
            }
            _ => return (None, None),
        };
        // (`sum16` pads an odd-length last part with a zero byte, as the checksums do.)
        if proto == 1 && hdr.is_some() {
            // ICMP: its checksum covers the message alone.
            return (hdr, Some(fold(&[l4])));
        }
        if !matches!(proto, 6 | 17 | 58) || (proto == 17 && hdr.is_some() && l4[6..8] == [0, 0]) {
            return (hdr, None);
        }
        let pseudo = [0, proto, (l4.len() >> 8) as u8, l4.len() as u8];
        (hdr, Some(fold(&[src_dst, &pseudo, l4])))
    }

    #[test]
    fn rewritten_frames_keep_their_checksums_right_or_wrong() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/lab/");
        let paths: Vec<PathBuf> = ["rpc-epm-lookup.pcap", "net-dns-failure.pcap", "auth-ldap.pcap"]
            .iter()
            .map(|n| PathBuf::from(dir).join(n))
            .collect();
        let files = load(&paths).unwrap();
        let (mut checked, mut bad) = (0, 0);
        for f in files.iter().flatten() {
            let before = sums_ok(&f.data);
            for k in [1, 7, 0x1234, 0xffff] {
                let mut d = f.data.clone();
                rewrite(&mut d, k);
                let is_ip = matches!(u16::from_be_bytes([d[12], d[13]]), 0x0800 | 0x86dd);
                assert_eq!(d != f.data, is_ip, "only IP packets are rewritten");
                assert_eq!(sums_ok(&d), before, "copy {k}");
            }
            checked += usize::from(before.1.is_some());
            bad += usize::from(before.1 == Some(false));
        }
        // Both kinds were there: the lab's veth offload leaves one direction's sums unset.
        assert!(checked > 50 && bad > 0 && bad < checked, "{checked} checked, {bad} bad");
    }

    #[test]
    fn ipv6_udp_checksums_follow_the_new_addresses() {
        let mut d = vec![0u8; 14 + 40 + 8 + 3];
        d[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
        d[14] = 0x60;
        d[14 + 4..14 + 6].copy_from_slice(&11u16.to_be_bytes());
        d[14 + 6] = 17;
        d[14 + 8..14 + 40].iter_mut().enumerate().for_each(|(i, b)| *b = 0xf0 ^ i as u8);
        d[54..56].copy_from_slice(&53u16.to_be_bytes());
        d[58..60].copy_from_slice(&11u16.to_be_bytes());
        d[62..65].copy_from_slice(b"abc");
        // Make the checksum right: the sum with the field at 0, complemented.
        d[60..62].copy_from_slice(&[0, 0]);
        let mut s: u32 = [sum16(&d[22..54]), sum16(&[0, 17, 0, 11]), sum16(&d[54..65])]
            .iter()
            .map(|v| u32::from(*v))
            .sum();
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        d[60..62].copy_from_slice(&(!(s as u16)).to_be_bytes());
        assert_eq!(sums_ok(&d), (None, Some(true)));
        for k in [1, 0x8000, 0xffff] {
            let mut c = d.clone();
            rewrite(&mut c, k);
            assert_eq!(sums_ok(&c), (None, Some(true)), "copy {k}");
        }
        d[63] ^= 1;
        rewrite(&mut d, 5);
        assert_eq!(sums_ok(&d), (None, Some(false)));
    }

    #[test]
    fn an_icmp_error_quotes_its_flow_with_the_rewritten_addresses() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/lab/");
        let paths: Vec<PathBuf> =
            ["rpc-dynamic-icmp.pcap", "net-icmp-prohibited.pcap", "net-icmp-port-unreachable.pcap"]
                .iter()
                .map(|n| PathBuf::from(dir).join(n))
                .collect();
        let mut errors = 0;
        for f in load(&paths).unwrap().iter().flatten() {
            let d = &f.data;
            // IPv4 ICMP destination unreachable, quoting an IPv4 packet.
            if d[12..14] != [8, 0] || d[23] != 1 || d[14 + 20] != 3 {
                continue;
            }
            let q = 14 + 20 + 8;
            // The quoted packet was sent by the error's receiver to the host it could not reach.
            assert_eq!(d[q + 12..q + 16], d[30..34]);
            let mut c = d.clone();
            rewrite(&mut c, 0x0102);
            assert_ne!(c[30..34], d[30..34]);
            assert_eq!(c[q + 12..q + 16], c[30..34], "quoted source = the rewritten receiver");
            assert_ne!(c[q + 16..q + 20], d[q + 16..q + 20], "quoted destination rewritten too");
            assert_eq!(sums_ok(&c), sums_ok(d));
            errors += 1;
        }
        assert!(errors >= 3, "{errors} ICMP errors seen");
    }
}
