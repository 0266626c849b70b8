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
//! The decoder is table-driven: a two-level table (11-bit root, small subtables
//! for longer codes) gives symbol and length from the next 15 bits, a 64-bit buffer is
//! refilled four words at a time with one checked read, and the only position-sensitive
//! reads (the raw bytes of a long match length) go where the specification's 32-bit decoder
//! would stand (`Bits::spec`). `reference.rs` (tests only) is that specification loop,
//! symbol by symbol: the tests check both agree on output, errors and error positions.
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
/// Bits the first-level decoding table resolves at once (codes up to this long take one
/// lookup; longer ones a second, in a 2^[`SUB_BITS`]-entry subtable).
const ROOT_BITS: u32 = 11;
const SUB_BITS: u32 = MAX_LEN - ROOT_BITS;
const SUB_MASK: usize = (1 << SUB_BITS) - 1;
/// A root entry with this bit set points to a subtable (index in the low 15 bits).
const SUB_FLAG: u16 = 0x8000;

/// Two-level canonical Huffman decoding table. An entry is `symbol << 4 | code length`
/// (0 = no code has this prefix), or in the root `SUB_FLAG | subtable start`. The root
/// (4 KiB) stays in the L1 cache; it is rebuilt in place for every block.
struct Table {
    root: [u16; 1 << ROOT_BITS],
    sub: Vec<u16>,
}

impl Table {
    fn new() -> Table {
        Table { root: [0; 1 << ROOT_BITS], sub: Vec::new() }
    }

    /// Builds the table for `lengths`; `false` when they assign no code or more codes than
    /// fit (over-subscribed). An incomplete code is accepted: its missing patterns decode
    /// to "no code", an error only if the stream uses them.
    fn build(&mut self, lengths: &[u8; SYMBOLS]) -> bool {
        self.root.fill(0);
        self.sub.clear();
        // The used symbols in canonical order (by length, then by value): a counting sort.
        let mut count = [0usize; 16];
        for &l in lengths {
            if let Some(c) = count.get_mut(usize::from(l & 15)) {
                *c += 1;
            }
        }
        // first[l]: where the codes of length l start (length 0: unused, left out).
        let mut first = [0usize; 16];
        let mut used = 0usize;
        for (f, c) in first.iter_mut().zip(count).skip(1) {
            *f = used;
            used += c;
        }
        let mut order = [0u16; SYMBOLS];
        for (sym, &l) in lengths.iter().enumerate() {
            if l == 0 {
                continue;
            }
            if let Some(at) = first.get_mut(usize::from(l & 15)) {
                if let Some(slot) = order.get_mut(*at) {
                    *slot = sym as u16;
                }
                *at += 1;
            }
        }
        let mut code: u32 = 0; // next code, left-aligned to MAX_LEN bits
        let mut any = false;
        for &sym in order.get(..used).unwrap_or_default() {
            let len = u32::from(lengths.get(usize::from(sym)).copied().unwrap_or(0) & 15);
            any = true;
            let span = 1u32 << (MAX_LEN - len);
            let end = code.saturating_add(span);
            if end > 1 << MAX_LEN {
                return false; // over-subscribed
            }
            let entry = (sym << 4) | len as u16;
            if len <= ROOT_BITS {
                let (a, b) = ((code >> SUB_BITS) as usize, (end >> SUB_BITS) as usize);
                if let Some(s) = self.root.get_mut(a..b) {
                    s.fill(entry);
                }
            } else {
                // A code longer than the root: its span lies inside one root slot.
                let r = (code >> SUB_BITS) as usize;
                let base = match self.root.get(r) {
                    Some(&e) if e & SUB_FLAG != 0 => usize::from(e & !SUB_FLAG),
                    _ => {
                        let base = self.sub.len();
                        self.sub.resize(base + (1 << SUB_BITS), 0);
                        if let Some(e) = self.root.get_mut(r) {
                            // At most 2^ROOT_BITS subtables of 2^SUB_BITS: fits 15 bits.
                            *e = SUB_FLAG | base as u16;
                        }
                        base
                    }
                };
                let lo = base + (code as usize & SUB_MASK);
                if let Some(s) = self.sub.get_mut(lo..lo + span as usize) {
                    s.fill(entry);
                }
            }
            code = end;
        }
        any
    }

    /// The entry for the next 15 bits of the stream.
    #[inline(always)]
    fn lookup(&self, next15: u32) -> u16 {
        let e = self.root.get((next15 >> SUB_BITS) as usize).copied().unwrap_or(0);
        if e & SUB_FLAG == 0 {
            return e;
        }
        let i = usize::from(e & !SUB_FLAG) + (next15 as usize & SUB_MASK);
        self.sub.get(i).copied().unwrap_or(0)
    }
}

/// The bit reader. It keeps up to 64 bits loaded (16-bit little-endian words, most
/// significant bit first), refilled several words at a time with checked reads (past the
/// end of the input they read as zeros). The raw bytes of a long match length sit where
/// the specification's decoder — which keeps 16 to 32 bits and loads one word when fewer
/// than 16 remain — stands at that moment, so that position ([`Bits::spec`]) is derived
/// from the words loaded ahead, and the reader goes back to it when raw bytes are read.
struct Bits<'a> {
    input: &'a [u8],
    /// Loaded bits, the next one at the top; `n` of them valid (the rest zero).
    buf: u64,
    n: u32,
    /// Input position of the next word to load.
    pos: usize,
    /// Position at which the specification's decoder holds exactly the bits in `buf`
    /// less the words loaded since (see [`Bits::spec`]).
    sync_pos: usize,
}

impl<'a> Bits<'a> {
    /// Starts the bit stream of a block at `at` (the spec loads two words: 32 bits).
    fn new(input: &'a [u8], at: usize) -> Bits<'a> {
        let mut b = Bits { input, buf: 0, n: 0, pos: at, sync_pos: at.saturating_add(4) };
        b.refill();
        b
    }

    #[inline(always)]
    fn refill(&mut self) {
        if self.n > 48 {
            return;
        }
        // Fast path: four words in one checked read, as many taken as fit.
        if let Some(chunk) = self.pos.checked_add(8).and_then(|e| self.input.get(self.pos..e)) {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(chunk);
            let y = u64::from_le_bytes(raw).rotate_left(32);
            let words = ((y >> 16) & 0x0000_FFFF_0000_FFFF) | ((y & 0x0000_FFFF_0000_FFFF) << 16);
            let k = (64 - self.n) / 16; // 1 to 4 words
            let keep = !u64::MAX.checked_shr(16 * k).unwrap_or(0);
            self.buf |= (words & keep) >> self.n;
            self.n += 16 * k;
            self.pos += 2 * k as usize;
            return;
        }
        while self.n <= 48 {
            let w = crate::le::u16_at(self.input, self.pos).map_or(0, u64::from);
            self.buf |= w << (48 - self.n);
            self.n += 16;
            self.pos = self.pos.saturating_add(2);
        }
    }

    /// The next `k` (≤ 15) bits.
    #[inline(always)]
    fn peek(&self, k: u32) -> u32 {
        ((self.buf >> 1) >> (63 - k)) as u32
    }

    #[inline(always)]
    fn consume(&mut self, k: u32) {
        // k ≤ 15 (a code length or a distance's bit count): no shift overflow.
        self.buf <<= k;
        self.n = self.n.saturating_sub(k);
    }

    /// Where the specification's decoder stands: its input position and bits loaded. It
    /// holds 16 to 31 bits after every step (32 right after a block's first two words):
    /// whole words beyond 16 loaded bits since the last sync are read-ahead, and with fewer
    /// than 16 loaded it has already taken the next word.
    #[inline]
    fn spec(&self) -> (usize, u32) {
        let since = self.pos.saturating_sub(self.sync_pos) / 2;
        match (self.n / 16).checked_sub(1) {
            Some(over) => {
                let ahead = since.min(over as usize);
                (self.pos.saturating_sub(2 * ahead), self.n.saturating_sub(16 * ahead as u32))
            }
            None => (self.pos.saturating_add(2), self.n + 16),
        }
    }

    /// Reads the raw bytes of a long match length at the spec's position (`None` when the
    /// input ends first), then drops the read-ahead words and goes on after those bytes.
    fn match_length(&mut self) -> Option<usize> {
        if self.n < 16 {
            self.refill(); // the spec's decoder has loaded the next word: hold it too
        }
        let (mut at, valid) = self.spec();
        let mut take = |k: usize| -> Option<u32> {
            let v = crate::le::slice_at(self.input, at, k)?
                .iter()
                .rev()
                .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
            at += k;
            Some(v)
        };
        let mut length = take(1)? as usize;
        if length == 255 {
            let mut l = take(2)? as usize;
            if l == 0 {
                l = take(4)? as usize;
            }
            // Below 15 is invalid: `usize::MAX` tells the caller.
            length = l.checked_sub(15).unwrap_or(usize::MAX);
        }
        self.buf &= u64::MAX.checked_shl(64 - valid).unwrap_or(0);
        self.n = valid;
        self.pos = at;
        self.sync_pos = at;
        self.refill();
        Some(length)
    }
}

/// Decompresses `input` into `out` (resized to `size`, then cut to the bytes produced), which must come to exactly `size`
/// bytes: fewer (input exhausted) or more (a match past the declared size) is an error.
pub fn decompress(input: &[u8], size: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    // Every byte up to `op` is written before it is kept: old contents need no clearing.
    out.resize(size, 0);
    let mut op = 0usize;
    let r = decode(input, out, &mut op);
    out.truncate(op);
    r
}

/// Where the spec's decoder has loaded a word at or past this, the input is exhausted
/// (it may legitimately pre-read two words past the end).
fn overrun_at(input: &[u8]) -> usize {
    input.len().saturating_add(6)
}

/// The decoding proper: `out` is `size` bytes long, `op` the bytes produced.
fn decode(input: &[u8], out: &mut [u8], op: &mut usize) -> Result<(), DecodeError> {
    let err = |at: usize, what| DecodeError { at, what };
    let size = out.len();
    let mut table = Table::new();
    let mut table_at = 0usize;
    let mut last: Option<Bits<'_>> = None;
    while *op < size {
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
        if !table.build(&lengths) {
            return Err(err(table_at, "invalid Huffman code lengths"));
        }
        let mut bits = Bits::new(input, table_at + TABLE_BYTES);
        let block_end = op.saturating_add(BLOCK).min(size);
        block(&table, &mut bits, out, op, block_end)?;
        // The next block's table follows the bytes the spec's decoder has taken.
        table_at = bits.spec().0;
        last = Some(bits);
    }
    // The output is complete: what follows must be the end-of-stream symbol (256) or
    // padding, not more data.
    if let Some(mut bits) = last {
        bits.refill();
        let e = table.lookup(bits.peek(MAX_LEN));
        let at = bits.spec().0;
        if input.len() > at.saturating_add(8) && !(e & 15 != 0 && e >> 4 == 256) {
            return Err(err(at, "data expands beyond the declared size"));
        }
    }
    Ok(())
}

/// Decodes one block's symbols until the output reaches `block_end`.
///
/// Literals (three in four symbols of a typical buffer) take an inner loop that decodes
/// them while the loaded bits hold a whole code (15 bits) with only the checks that can
/// fail there; the bit reader's refills are invisible to the decoding (and to
/// [`Bits::spec`]), so the symbols, errors and error positions are those of one symbol per
/// iteration.
#[inline(always)]
fn block(
    table: &Table,
    bits: &mut Bits<'_>,
    out: &mut [u8],
    op: &mut usize,
    block_end: usize,
) -> Result<(), DecodeError> {
    let err = |at: usize, what| DecodeError { at, what };
    // Input exhausted: the spec's decoder has loaded a word at or past `overrun`. Its
    // position is at most `pos + 2`: a cheap test first.
    let overrun = overrun_at(bits.input);
    let size = out.len();
    let mut o = *op;
    let r = 'symbols: loop {
        if o >= block_end {
            break Ok(());
        }
        // A symbol and a distance take at most 30 bits.
        if bits.n < 30 {
            bits.refill();
        }
        let mut e = table.lookup(bits.peek(MAX_LEN));
        while e & 15 != 0 && e >> 4 < 256 {
            bits.consume(u32::from(e & 15));
            if bits.pos + 2 >= overrun && bits.spec().0 >= overrun {
                break 'symbols Err(err(
                    bits.input.len(),
                    "input ends before the output is complete",
                ));
            }
            if let Some(slot) = out.get_mut(o) {
                *slot = (e >> 4) as u8;
            }
            o += 1;
            if o >= block_end {
                break 'symbols Ok(());
            }
            if bits.n < MAX_LEN {
                continue 'symbols;
            }
            e = table.lookup(bits.peek(MAX_LEN));
        }
        let len = u32::from(e & 15);
        if len == 0 {
            break Err(err(bits.spec().0, "bit pattern matches no Huffman code"));
        }
        if bits.n < 30 {
            bits.refill(); // the distance's bits (the entry stays that of the next 15 bits)
        }
        bits.consume(len);
        if bits.pos + 2 >= overrun && bits.spec().0 >= overrun {
            break Err(err(bits.input.len(), "input ends before the output is complete"));
        }
        let m = (e >> 4) - 256;
        let mut length = usize::from(m & 15);
        let dbits = u32::from(m >> 4);
        if length == 15 {
            let at = bits.spec().0;
            match bits.match_length() {
                None => break Err(err(at, "match length cut off")),
                Some(usize::MAX) => break Err(err(at, "invalid long match length")),
                Some(l) => length = l.saturating_add(15),
            }
        }
        length = length.saturating_add(3);
        let distance = (bits.peek(dbits) | (1 << dbits)) as usize;
        bits.consume(dbits);
        if distance > o {
            break Err(err(bits.spec().0, "match reaches before the start of the output"));
        }
        if o.saturating_add(length) > size {
            break Err(err(bits.spec().0, "data expands beyond the declared size"));
        }
        copy_match(out, o, distance, length);
        o += length;
    };
    *op = o;
    r
}

/// Copies `length` bytes from `distance` back to `at` (the caller checked both fit in
/// `out`); an overlapping match repeats its first `distance` bytes.
#[inline(always)]
fn copy_match(out: &mut [u8], at: usize, distance: usize, length: usize) {
    let from = at - distance;
    // Matches 16 bytes apart or more, with room after them: whole 16-byte chunks, each read
    // from bytes already final (the bytes written past the match are overwritten by what
    // follows it).
    if distance >= 16 && at + length + 16 <= out.len() {
        let mut i = 0;
        while i < length {
            let mut w = [0u8; 16];
            if let Some(s) = out.get(from + i..from + i + 16) {
                w.copy_from_slice(s);
            }
            if let Some(d) = out.get_mut(at + i..at + i + 16) {
                d.copy_from_slice(&w);
            }
            i += 16;
        }
        return;
    }
    // 8 to 15 bytes apart, short: 8-byte chunks likewise.
    if distance >= 8 && length <= 64 && at + length + 8 <= out.len() {
        let mut i = 0;
        while i < length {
            let mut w = [0u8; 8];
            if let Some(s) = out.get(from + i..from + i + 8) {
                w.copy_from_slice(s);
            }
            if let Some(d) = out.get_mut(at + i..at + i + 8) {
                d.copy_from_slice(&w);
            }
            i += 8;
        }
        return;
    }
    if distance == 1 {
        let b = out.get(from).copied().unwrap_or(0);
        if let Some(d) = out.get_mut(at..at + length) {
            d.fill(b);
        }
        return;
    }
    // Otherwise in chunks of the repeating part, doubling.
    let mut done = 0usize;
    while done < length {
        let dst = at + done;
        let n = (length - done).min(dst - from);
        let Some(w) = out.get_mut(from..dst + n) else { return };
        let Some((src, rest)) = w.split_at_mut_checked(dst - from) else { return };
        if let (Some(s), Some(d)) = (src.get(..n), rest.get_mut(..n)) {
            d.copy_from_slice(s);
        }
        done += n;
    }
}

pub use encode::compress;
#[cfg(test)]
use encode::compress_with;

mod encode;
#[cfg(test)]
mod reference;

#[cfg(test)]
mod tests;
