//! LZ77 + Huffman ("XPRESS_HUFF", `COMPRESSION_FORMAT_XPRESS_HUFF` = 4) per [MS-XCA]
//! sections 2.1 and 2.2: the compression of ETL buffers written with
//! `EVENT_TRACE_COMPRESSED_MODE` (most `pktmon` files). Written from the specification.
//!
//! The stream is a series of blocks, each producing up to 65 536 bytes of output:
//!
//! * 256 bytes: the code lengths of the 512 symbols, 4 bits each (symbol `2i` in the low
//!   nibble of byte `i`, `2i+1` in the high nibble); 0 = symbol unused, at most 15 bits.
//!   Codes are canonical: shorter first, then by symbol value.
//! * a bit stream read most-significant bit first from 16-bit little-endian words; the
//!   decoder keeps 32 bits and refills 16 at a time.
//! * symbols 0–255 are literals; symbol `256 + (d << 4 | l)` is a match: `l` is the length
//!   minus 3 (15 = more follows: one byte, and if that byte is 255 a u16, and if that u16 is
//!   0 a u32, read from the byte stream at the current position), `d` the position of the
//!   distance's top bit: distance = `(1 << d) | next d bits`.
//! * symbol 256 with the input exhausted at the end of output is end-of-stream.
//!
//! Hostile input: every table, length and distance is checked; output never grows past the
//! size the caller declares (a stream that would expand beyond it is an error, not a larger
//! buffer), and every loop is bounded by the output size or the input size.

/// Why a compressed stream could not be decoded (with the input position).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("LZXpress-Huffman data at compressed byte {at}: {what}")]
pub struct DecodeError {
    pub at: usize,
    pub what: &'static str,
}

const BLOCK: usize = 65_536;
const TABLE_BYTES: usize = 256;
const SYMBOLS: usize = 512;
const MAX_LEN: u32 = 15;

/// Decoding table: for every 15-bit prefix, (symbol, code length); length 0 = no code.
struct Table {
    entries: Vec<(u16, u8)>,
}

impl Table {
    fn build(lengths: &[u8; SYMBOLS]) -> Option<Table> {
        let mut entries = vec![(0u16, 0u8); 1 << MAX_LEN];
        let mut code: u32 = 0; // next code, left-aligned to 15 bits
        let mut any = false;
        for len in 1..=MAX_LEN {
            for (sym, &l) in lengths.iter().enumerate() {
                if u32::from(l) != len {
                    continue;
                }
                any = true;
                let span = 1u32 << (MAX_LEN - len);
                let end = code.checked_add(span)?;
                if end > 1 << MAX_LEN {
                    return None; // over-subscribed
                }
                for e in entries.get_mut(code as usize..end as usize)? {
                    *e = (sym as u16, len as u8);
                }
                code = end;
            }
        }
        any.then_some(Table { entries })
    }
}

/// The bit reader over the whole input.
struct Bits<'a> {
    input: &'a [u8],
    pos: usize,
    next: u32,
    extra: i32,
    /// Words were read more than two past the end of the input (which the pre-reading
    /// decoder may do legitimately): the stream is cut short.
    overrun: bool,
}

impl Bits<'_> {
    fn word(&mut self) -> u32 {
        // Reading past the end gives zeros; the caller checks positions where it matters.
        let w = match crate::le::u16_at(self.input, self.pos) {
            Some(b) => u32::from(b),
            None => {
                self.overrun |= self.pos >= self.input.len().saturating_add(4);
                0
            }
        };
        self.pos = self.pos.saturating_add(2);
        w
    }

    fn start(&mut self) {
        self.next = self.word() << 16;
        self.next |= self.word();
        self.extra = 16;
    }

    fn consume(&mut self, n: u32) {
        if n == 0 {
            return;
        }
        self.next = self.next.checked_shl(n).unwrap_or(0);
        self.extra -= n as i32;
        if self.extra < 0 {
            let w = self.word();
            self.next |= w << (-self.extra) as u32;
            self.extra += 16;
        }
    }

    fn peek(&self, n: u32) -> u32 {
        if n == 0 {
            0
        } else {
            self.next >> (32 - n)
        }
    }

    fn byte(&mut self) -> Option<u8> {
        let b = *self.input.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        let v = crate::le::u16_at(self.input, self.pos)?;
        self.pos += 2;
        Some(v)
    }

    fn u32(&mut self) -> Option<u32> {
        let v = crate::le::u32_at(self.input, self.pos)?;
        self.pos += 4;
        Some(v)
    }
}

/// Decompresses `input` into `out` (cleared first), which must come to exactly `size`
/// bytes: fewer (input exhausted) or more (a match past the declared size) is an error.
pub fn decompress(input: &[u8], size: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    out.clear();
    out.reserve(size);
    let err = |at: usize, what| DecodeError { at, what };
    let mut bits = Bits { input, pos: 0, next: 0, extra: 0, overrun: false };
    let mut last: Option<Table> = None;
    while out.len() < size {
        let table_at = bits.pos;
        let Some(raw) = input.get(table_at..table_at.saturating_add(TABLE_BYTES)) else {
            return Err(err(table_at, "input ends before the output is complete"));
        };
        let mut lengths = [0u8; SYMBOLS];
        for (pair, b) in lengths.chunks_exact_mut(2).zip(raw) {
            if let [lo, hi] = pair {
                *lo = b & 0x0F;
                *hi = b >> 4;
            }
        }
        let Some(table) = Table::build(&lengths) else {
            return Err(err(table_at, "invalid Huffman code lengths"));
        };
        bits.pos = table_at + TABLE_BYTES;
        bits.start();
        let block_end = out.len().saturating_add(BLOCK).min(size);
        while out.len() < block_end {
            let (sym, len) =
                table.entries.get(bits.peek(MAX_LEN) as usize).copied().unwrap_or((0, 0));
            if len == 0 {
                return Err(err(bits.pos, "bit pattern matches no Huffman code"));
            }
            bits.consume(u32::from(len));
            if bits.overrun {
                return Err(err(input.len(), "input ends before the output is complete"));
            }
            if sym < 256 {
                out.push(sym as u8);
                continue;
            }
            let m = sym - 256;
            let mut length = usize::from(m & 15);
            let dbits = u32::from(m >> 4);
            if length == 15 {
                let at = bits.pos;
                length = usize::from(bits.byte().ok_or(err(at, "match length cut off"))?);
                if length == 255 {
                    let mut l = usize::from(bits.u16().ok_or(err(at, "match length cut off"))?);
                    if l == 0 {
                        l = bits.u32().ok_or(err(at, "match length cut off"))? as usize;
                    }
                    if l < 15 {
                        return Err(err(at, "invalid long match length"));
                    }
                    length = l - 15;
                }
                length = length.saturating_add(15);
            }
            length = length.saturating_add(3);
            let distance = (bits.peek(dbits) | (1 << dbits)) as usize;
            bits.consume(dbits);
            if distance > out.len() {
                return Err(err(bits.pos, "match reaches before the start of the output"));
            }
            if out.len().saturating_add(length) > size {
                return Err(err(bits.pos, "data expands beyond the declared size"));
            }
            let from = out.len() - distance;
            for i in 0..length {
                let b = out.get(from + i).copied().unwrap_or(0);
                out.push(b);
            }
        }
        // The next block's table follows the bytes the bit reader has taken.
        last = Some(table);
    }
    // The output is complete: what follows must be the end-of-stream symbol (256) or
    // padding, not more data.
    if let Some(t) = &last {
        let (sym, len) = t.entries.get(bits.peek(MAX_LEN) as usize).copied().unwrap_or((0, 0));
        if input.len() > bits.pos.saturating_add(8) && !(len > 0 && sym == 256) {
            return Err(err(bits.pos, "data expands beyond the declared size"));
        }
    }
    Ok(())
}

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

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
}
