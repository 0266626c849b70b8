//! Zeek-style connection uids: `C` and 17 base62 characters, like Zeek's own
//! (`CHhAvVGS1DHFjwGM9`). Zeek draws them at random; here a uid is derived from the capture
//! file (as named on the command line) and the conversation's flow id, so the same
//! conversation gets the same uid in every table and every log, run after run, and
//! conversations of different capture files do not collide.

/// Characters of Zeek's base62 alphabet.
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// FNV-1a, 64 bits, from `basis`.
fn fnv1a(basis: u64, parts: &[&[u8]]) -> u64 {
    let mut h = basis;
    for p in parts {
        for b in p.iter() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The uid of flow `flow_id` of `capture_file`.
pub fn uid(capture_file: &str, flow_id: u64) -> String {
    let id = flow_id.to_le_bytes();
    encode(&[capture_file.as_bytes(), &id])
}

/// A uid for a record whose flow is not known (connectionless DCE/RPC calls: the RPC
/// analyzer does not keep their flow), from its addresses: stable, but not the uid of the
/// conversation in `conn.log`.
pub fn uid_of_addresses(capture_file: &str, client: &str, server: &str) -> String {
    encode(&[capture_file.as_bytes(), b"addresses", client.as_bytes(), server.as_bytes()])
}

fn encode(parts: &[&[u8]]) -> String {
    let hi = fnv1a(0xcbf2_9ce4_8422_2325, parts);
    let lo = fnv1a(0x8422_2325_cbf2_9ce4, parts);
    let mut v: u128 = (u128::from(hi) << 32) | u128::from(lo & 0xffff_ffff);
    let mut out = [b'0'; 17];
    for slot in out.iter_mut().rev() {
        let d = (v % 62) as usize;
        *slot = ALPHABET.get(d).copied().unwrap_or(b'0');
        v /= 62;
    }
    let mut s = String::with_capacity(18);
    s.push('C');
    s.extend(out.iter().map(|b| char::from(*b)));
    s
}

#[cfg(test)]
mod tests {
    use super::uid;

    #[test]
    fn stable_and_distinct() {
        let a = uid("a.pcap", 1);
        assert_eq!(a, uid("a.pcap", 1));
        assert_eq!(a.len(), 18);
        assert!(a.starts_with('C') && a[1..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a, uid("a.pcap", 2));
        assert_ne!(a, uid("b.pcap", 1));
    }
}
