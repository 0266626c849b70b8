//! The Internet checksum (RFC 1071) and the TCP/UDP pseudo-headers (RFC 793, RFC 8200 §8.1).

use std::net::IpAddr;

/// One's-complement sum of `data` as big-endian 16-bit words (odd tail padded with zero),
/// not yet folded.
pub fn sum(data: &[u8]) -> u64 {
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        let v = u64::from_be_bytes(a);
        acc = acc.wrapping_add(v >> 32).wrapping_add(v & 0xffff_ffff);
    }
    let mut words = chunks.remainder().chunks_exact(2);
    for w in &mut words {
        if let [hi, lo] = *w {
            acc = acc.wrapping_add(u64::from(u16::from_be_bytes([hi, lo])));
        }
    }
    if let [last] = words.remainder() {
        acc = acc.wrapping_add(u64::from(*last) << 8);
    }
    acc
}

/// Folds a sum to 16 bits.
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The checksum field value for `data` (complement of the folded sum).
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum(data))
}

/// Sum of the pseudo-header for an upper-layer packet of `len` bytes.
pub fn pseudo_header(src: &IpAddr, dst: &IpAddr, proto: u8, len: u32) -> u64 {
    let mut acc = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => sum(&s.octets()).wrapping_add(sum(&d.octets())),
        (IpAddr::V6(s), IpAddr::V6(d)) => sum(&s.octets()).wrapping_add(sum(&d.octets())),
        (IpAddr::V4(s), IpAddr::V6(d)) => sum(&s.octets()).wrapping_add(sum(&d.octets())),
        (IpAddr::V6(s), IpAddr::V4(d)) => sum(&s.octets()).wrapping_add(sum(&d.octets())),
    };
    acc = acc.wrapping_add(u64::from(proto));
    acc = acc.wrapping_add(u64::from(len >> 16)).wrapping_add(u64::from(len & 0xffff));
    acc
}

/// True when `segment` (checksum field included) sums to 0xffff with its pseudo-header.
pub fn verify_l4(src: &IpAddr, dst: &IpAddr, proto: u8, segment: &[u8]) -> bool {
    let len = u32::try_from(segment.len()).unwrap_or(u32::MAX);
    fold(pseudo_header(src, dst, proto, len).wrapping_add(sum(segment))) == 0xffff
}

/// Checksum field value for `segment` (with its checksum field zeroed).
pub fn compute_l4(src: &IpAddr, dst: &IpAddr, proto: u8, segment: &[u8]) -> u16 {
    let len = u32::try_from(segment.len()).unwrap_or(u32::MAX);
    !fold(pseudo_header(src, dst, proto, len).wrapping_add(sum(segment)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 (before complement).
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&d)), 0xddf2);
        assert_eq!(
            fold(sum(&d[..7])),
            fold(sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0x00]))
        );
    }

    #[test]
    fn wide_sum_matches_word_sum() {
        let data: Vec<u8> =
            (0u32..1001).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        for n in 0..data.len() {
            let mut acc = 0u64;
            for w in data[..n].chunks(2) {
                acc += u64::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
            }
            assert_eq!(fold(acc), fold(sum(&data[..n])), "n={n}");
        }
    }
}
