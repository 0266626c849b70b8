//! Tests of the decoder: round trips through [`super::compress`], and the table decoder
//! against the specification's loop (`reference.rs`) on intact and damaged streams.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;

/// xorshift64: the same "random" damage on every run.
fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

/// The table decoder and the reference decoder on one (possibly damaged) stream: the same
/// result, the same error and error position, and the same bytes produced (also before an
/// error: both buffers are reused, so stale bytes would show). True when it decoded.
fn agree(m: &[u8], size: usize, a: &mut Vec<u8>, b: &mut Vec<u8>, what: &str) -> bool {
    let ra = reference::decompress(m, size, a).map_err(|e| (e.at, e.what));
    let rb = decompress(m, size, b).map_err(|e| (e.at, e.what));
    assert_eq!(ra, rb, "{what}");
    assert!(a == b, "{what}: output differs");
    ra.is_ok()
}

fn roundtrip(data: &[u8]) {
    let c = compress(data);
    let mut out = Vec::new();
    decompress(&c, data.len(), &mut out).unwrap();
    assert_eq!(out, data);
}

#[test]
fn roundtrips() {
    roundtrip(b"");
    roundtrip(b"a");
    roundtrip(b"abcabcabcabcabcabcabcabcabcabcabcabcabcabc");
    let mut v = Vec::new();
    for i in 0..200_000u32 {
        v.extend_from_slice(&(i % 1000).to_le_bytes());
        if i % 7 == 0 {
            v.extend(std::iter::repeat_n(b'x', (i % 600) as usize));
        }
    }
    roundtrip(&v);
}

/// Code lengths up to 15 bits (literals 9 and 12, match symbols 13 and 15, one 1-bit
/// literal): codes longer than the root table take the subtables; incomplete code.
fn long_code_lengths() -> [u8; SYMBOLS] {
    let mut l = [0u8; SYMBOLS];
    for (i, x) in l.iter_mut().enumerate() {
        *x = match i {
            0x78 => 1,
            0..=127 => 9,
            128..=255 => 12,
            256..=383 => 13,
            _ => 15,
        };
    }
    l
}

fn sample_data() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..5_000u32 {
        v.extend_from_slice(&(i % 777).to_le_bytes());
        v.push((i * 7 % 256) as u8);
        if i % 5 == 0 {
            v.extend(std::iter::repeat_n(b'x', (i % 300) as usize));
        }
        if i % 11 == 0 {
            v.extend_from_slice(b"abcdefgh");
        }
    }
    v
}

#[test]
fn long_codes_roundtrip() {
    let data = sample_data();
    let c = compress_with(&data, &long_code_lengths());
    let mut out = Vec::new();
    decompress(&c, data.len(), &mut out).unwrap();
    assert_eq!(out, data);
}

/// The table decoder against the straightforward bit-by-bit decoder of the
/// specification (`reference.rs`) on damaged streams: same output, same error and the
/// same error position, for thousands of bit flips, cuts and wrong declared sizes.
#[test]
fn table_decoder_agrees_with_reference_on_damage() {
    let data = sample_data();
    let mut rnd = xorshift(0x9e37_79b9_7f4a_7c15);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let (mut errors, mut runs) = (0, 0);
    for c in [compress(&data), compress_with(&data, &long_code_lengths())] {
        for k in 0..150u64 {
            let mut m = c.clone();
            for _ in 0..=(k % 3) {
                let i = rnd() as usize % m.len();
                m[i] ^= 1 << (rnd() % 8);
            }
            if k % 5 == 0 {
                m.truncate(rnd() as usize % m.len());
            }
            let size = match k % 4 {
                1 => data.len() - (rnd() % 50) as usize,
                2 => data.len() + (rnd() % 50) as usize,
                _ => data.len(),
            };
            if !agree(&m, size, &mut a, &mut b, &format!("variant {k}")) {
                errors += 1;
            }
            runs += 1;
        }
    }
    // Most damage is detected; some flips only change literals.
    assert!(errors > runs / 2, "{errors} of {runs}");
}

#[test]
fn hostile_streams_fail_cleanly() {
    let data = b"hello hello hello hello hello hello".repeat(50);
    let c = compress(&data);
    let mut out = Vec::new();
    // Declared size smaller than what the stream produces: a match would overrun.
    let e = decompress(&c, data.len() - 1, &mut out);
    assert!(e.is_ok() || e.unwrap_err().what.contains("beyond"));
    assert!(out.len() < data.len());
    // Larger than the stream holds.
    assert!(decompress(&c[..c.len() - 10], data.len(), &mut out).is_err());
    // All-zero lengths: no code.
    assert_eq!(
        decompress(&[0u8; 300], 10, &mut out).unwrap_err().what,
        "invalid Huffman code lengths"
    );
    // Over-subscribed lengths.
    assert!(decompress(&[0x11u8; 300], 10, &mut out).is_err());
    for cut in [0, 1, 255, 256, 257, 260, c.len() / 2] {
        let _ = decompress(&c[..cut], data.len(), &mut out);
    }
}

/// Short literal codes (16 literals of 5 bits), long ones for the rest (10 bits) and 11-bit
/// match symbols: several literals per refill, the decoder's literal loop down to its last
/// loaded bits. Incomplete code.
fn short_literal_lengths() -> [u8; SYMBOLS] {
    let mut l = [0u8; SYMBOLS];
    for (i, x) in l.iter_mut().enumerate() {
        *x = match i {
            0..=15 => 5,
            16..=255 => 10,
            _ => 11,
        };
    }
    l
}

/// Data of several blocks: runs of the 16 short literals, long matches (raw length bytes,
/// one and three of them), far and near distances, overlapping repeats.
fn mixed_data() -> Vec<u8> {
    let mut v = Vec::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for i in 0..16_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        match i % 9 {
            0..=3 => v.extend((0..(x % 40)).map(|k| ((x >> k) & 15) as u8)),
            4 => v.extend_from_slice(&x.to_le_bytes()),
            5 if v.len() > 5000 => {
                let from = v.len() - 1 - (x % 4000) as usize;
                let n = (x >> 20) % 700;
                for k in 0..n as usize {
                    v.push(v[from + k]);
                }
            }
            6 => v.extend(std::iter::repeat_n((x >> 8) as u8, (x % 300) as usize)),
            _ => v.push((x >> 3) as u8),
        }
    }
    v
}

/// As above with every code-length set, cuts near the end of the stream (where the input
/// runs out inside the bit buffer) and more variants.
#[test]
fn table_decoder_agrees_with_reference_on_mixed_data() {
    let data = mixed_data();
    assert!(data.len() > 3 * 65_536, "{}", data.len());
    let mut rnd = xorshift(0x51_7cc1_b727_220a);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let (mut oks, mut runs) = (0, 0);
    let sets = [[0u8; SYMBOLS], long_code_lengths(), short_literal_lengths()];
    for (n, lengths) in sets.iter().enumerate() {
        let c = if n == 0 { compress(&data) } else { compress_with(&data, lengths) };
        decompress(&c, data.len(), &mut b).unwrap();
        assert!(b == data, "code set {n}");
        for k in 0..36u64 {
            let mut m = c.clone();
            if k % 3 != 0 {
                for _ in 0..=(k % 2) {
                    let i = rnd() as usize % m.len();
                    m[i] ^= 1 << (rnd() % 8);
                }
            }
            match k % 4 {
                0 => m.truncate(m.len() - (rnd() % 16) as usize),
                1 => m.truncate(rnd() as usize % m.len()),
                _ => {}
            }
            let size = match k % 5 {
                1 => data.len() - (rnd() % 2000) as usize,
                2 => data.len() + (rnd() % 50) as usize,
                _ => data.len(),
            };
            oks +=
                usize::from(agree(&m, size, &mut a, &mut b, &format!("code set {n}, variant {k}")));
            runs += 1;
        }
    }
    // Both outcomes occur.
    assert!(oks > 0 && oks < runs, "{oks} of {runs}");
}

/// The decoder against the reference on every compressed buffer of an ETL file and on
/// damaged variants of them (`TRACEHOUND_LZX_FILE=bench/out/1000MB.etlz cargo test -p
/// tracehound-wintrace --lib -- --ignored lzx_file`): the large differential check of a
/// decoder change; `TRACEHOUND_LZX_BUFFERS` (default 1500) buffers, 21 variants each.
#[test]
#[ignore = "needs a large compressed ETL file (TRACEHOUND_LZX_FILE)"]
fn lzx_file_agrees_with_reference() {
    let path = std::env::var("TRACEHOUND_LZX_FILE").expect("TRACEHOUND_LZX_FILE");
    let max: usize = std::env::var("TRACEHOUND_LZX_BUFFERS").map_or(1500, |v| v.parse().unwrap());
    let file = std::fs::read(path).unwrap();
    let mut rnd = xorshift(0x9e37_79b9_7f4a_7c15);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let (mut off, mut bufs, mut runs, mut errors) = (0usize, 0, 0, 0);
    let u32_at = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().unwrap()) as usize;
    while off + 72 <= file.len() && bufs < max {
        let (size, saved) = (u32_at(off), u32_at(off + 4));
        let flag = u16::from_le_bytes([file[off + 52], file[off + 53]]);
        if size < 72 || off + size > file.len() {
            break;
        }
        if flag & 0x40 != 0 && saved >= 72 {
            let c = &file[off + 72..off + size];
            bufs += 1;
            for k in 0..21u64 {
                let mut m = c.to_vec();
                if k > 0 {
                    for _ in 0..=(k % 3) {
                        let i = rnd() as usize % m.len();
                        m[i] ^= 1 << (rnd() % 8);
                    }
                }
                match k % 7 {
                    1 => m.truncate(m.len() - (rnd() % 16) as usize),
                    2 => m.truncate(rnd() as usize % m.len()),
                    _ => {}
                }
                let want = match k % 5 {
                    3 => saved - 72 - (rnd() % 100) as usize,
                    4 => saved - 72 + (rnd() % 100) as usize,
                    _ => saved - 72,
                };
                let ok = agree(&m, want, &mut a, &mut b, &format!("buffer at {off}, variant {k}"));
                runs += 1;
                errors += usize::from(!ok);
            }
        }
        off += size;
    }
    eprintln!("{bufs} buffers, {runs} runs, {errors} errors, 0 differences");
    assert!(bufs > 0);
}
