//! The compressing side (tests, benchmarks, synthetic files): never applied to input read
//! from a file.

use super::{BLOCK, MAX_LEN, SYMBOLS, TABLE_BYTES};

// The encoder below works on arrays and buffers it sized itself, from data it is handed by
// its caller (tests, benchmarks): never on input read from a file.
#[allow(clippy::indexing_slicing)]
/// Compresses `data` (tests, benchmarks, synthetic files): greedy LZ77 matching over a
/// 3-byte hash; literals 0–127 get 8-bit codes, 128–255 9-bit codes, match symbols 10-bit
/// codes (a complete canonical code with three lengths, so table building and matches are
/// both exercised).
pub fn compress(data: &[u8]) -> Vec<u8> {
    let mut lengths = [10u8; SYMBOLS];
    for (i, l) in lengths.iter_mut().enumerate().take(256) {
        *l = if i < 128 { 8 } else { 9 };
    }
    compress_with(data, &lengths)
}

#[allow(clippy::indexing_slicing)] // see `compress`
/// [`compress`] with the caller's code lengths (1–15 for every symbol it may need: all 512,
/// Kraft sum at most 1).
pub(crate) fn compress_with(data: &[u8], lengths: &[u8; SYMBOLS]) -> Vec<u8> {
    // Canonical codes for these lengths.
    let mut codes = [0u32; SYMBOLS];
    let mut code = 0u32;
    let mut prev_len = 0u32;
    for len in 1..=MAX_LEN {
        for (s, &l) in lengths.iter().enumerate() {
            if u32::from(l) == len {
                code <<= len - prev_len;
                prev_len = len;
                codes[s] = code;
                code += 1;
            }
        }
    }
    let mut out = Vec::new();
    let mut table = [0u8; TABLE_BYTES];
    for (i, t) in table.iter_mut().enumerate() {
        *t = lengths[2 * i] | (lengths[2 * i + 1] << 4);
    }
    let mut head = vec![usize::MAX; 1 << 14];
    let mut pos = 0usize;
    loop {
        out.extend_from_slice(&table);
        let mut w = Writer::new(&mut out);
        let block_end = (pos + BLOCK).min(data.len());
        while pos < block_end {
            let (mlen, dist) = find_match(data, pos, block_end, &mut head);
            if mlen >= 3 {
                let d = usize::BITS - 1 - dist.leading_zeros();
                let l = mlen - 3;
                let sym = 256 + ((d as usize) << 4) + l.min(15);
                w.put(codes[sym], u32::from(lengths[sym]));
                if l >= 15 {
                    if l - 15 < 255 {
                        w.raw(&[(l - 15) as u8]);
                    } else {
                        w.raw(&[255]);
                        w.raw(&(l as u16).to_le_bytes());
                    }
                }
                w.put((dist as u32) & ((1 << d) - 1), d);
                pos += mlen;
            } else {
                let b = usize::from(data[pos]);
                w.put(codes[b], u32::from(lengths[b]));
                pos += 1;
            }
        }
        if pos >= data.len() {
            w.put(codes[256], u32::from(lengths[256]));
        }
        w.finish();
        if pos >= data.len() {
            break;
        }
    }
    out
}

#[allow(clippy::indexing_slicing)] // see `compress`
fn find_match(data: &[u8], pos: usize, end: usize, head: &mut [usize]) -> (usize, usize) {
    let Some(b) = data.get(pos..pos + 3) else { return (0, 0) };
    let h =
        ((usize::from(b[0]) << 6) ^ (usize::from(b[1]) << 3) ^ usize::from(b[2])) & ((1 << 14) - 1);
    let cand = head[h];
    head[h] = pos;
    if cand == usize::MAX || cand >= pos || pos - cand >= 65_536 {
        return (0, 0);
    }
    let mut n = 0;
    while pos + n < end && data[cand + n] == data[pos + n] && n < 1000 {
        n += 1;
    }
    (n, pos - cand)
}

/// Bit writer mirroring the decoder: 16-bit words, most significant bit first. The decoder
/// loads a word as soon as fewer than 16 bits remain loaded, and reads a long match
/// length's raw bytes at its input position at that moment, so words are given their place
/// in the output when the decoder would load them and raw bytes go where it reads them.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// Output position of each word loaded so far, and its bits.
    slots: Vec<usize>,
    words: Vec<u16>,
    /// Bits written (= bits the decoder has consumed at this point).
    nbits: usize,
}

#[allow(clippy::indexing_slicing)] // see `compress`
impl<'a> Writer<'a> {
    fn new(out: &'a mut Vec<u8>) -> Writer<'a> {
        let mut w = Writer { out, slots: Vec::new(), words: Vec::new(), nbits: 0 };
        w.load_to(2);
        w
    }

    fn load_to(&mut self, n: usize) {
        while self.slots.len() < n {
            self.slots.push(self.out.len());
            self.out.extend_from_slice(&[0, 0]);
            self.words.push(0);
        }
    }

    fn put(&mut self, value: u32, n: u32) {
        for i in (0..n).rev() {
            if value >> i & 1 == 1 {
                let k = self.nbits / 16;
                if k >= self.words.len() {
                    self.load_to(k + 1);
                }
                self.words[k] |= 1 << (15 - self.nbits % 16);
            }
            self.nbits += 1;
        }
        self.load_to(self.nbits.div_ceil(16) + 1);
    }

    fn raw(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }

    fn finish(self) {
        for (k, at) in self.slots.iter().enumerate() {
            let w = self.words[k].to_le_bytes();
            self.out[*at] = w[0];
            self.out[*at + 1] = w[1];
        }
    }
}
