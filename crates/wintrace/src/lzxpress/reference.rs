//! Reference decoder for the tests of [`super`]: the MS-XCA 2.2 decoding loop as the
//! specification's pseudocode gives it — 32 bits held, one 16-bit word loaded whenever
//! fewer than 16 remain, one symbol at a time from a flat 2^15-entry table — kept to check
//! the table-driven decoder's output, errors and error positions against (the decoder the
//! crate used before it; slow, simple).
#![allow(clippy::indexing_slicing)]

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
pub(crate) fn decompress(
    input: &[u8],
    size: usize,
    out: &mut Vec<u8>,
) -> Result<(), super::DecodeError> {
    out.clear();
    out.reserve(size);
    let err = |at: usize, what| super::DecodeError { at, what };
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
