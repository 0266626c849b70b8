//! Base64 decoding (RFC 4648 §4, standard alphabet, padding optional) of header tokens such
//! as HTTP `Authorization: NTLM …`. Output is capped.

/// Decode at most `max` output bytes; `None` on a character outside the alphabet.
pub fn decode(s: &str, max: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len().min(max).saturating_mul(3) / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            if out.len() >= max {
                break;
            }
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc4648_vectors() {
        for (i, o) in
            [("", ""), ("Zg==", "f"), ("Zm8=", "fo"), ("Zm9v", "foo"), ("Zm9vYmFy", "foobar")]
        {
            assert_eq!(super::decode(i, 100).as_deref(), Some(o.as_bytes()));
        }
        assert_eq!(super::decode("Zm9v!", 100), None);
        assert_eq!(super::decode("Zm9vYmFy", 2).as_deref(), Some(&b"fo"[..]));
    }
}
