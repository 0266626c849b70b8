//! TCP (RFC 9293) headers and options.
//!
//! ```text
//! src port(16) dst port(16) | seq(32) | ack(32)
//! data offset(4) reserved(3) NS(1) CWR ECE URG ACK PSH RST SYN FIN | window(16)
//! checksum(16) urgent pointer(16) | options (data offset > 5) ...
//! ```
//! Options decoded: MSS (2), window scale (3), SACK permitted (4), SACK blocks (5, up to 4),
//! timestamps (8); others are skipped by their length. A malformed list (length < 2, an
//! option running past the header, a known option with the wrong length) sets
//! [`Opts::malformed`] and stops option parsing; the segment itself still decodes.

use std::net::IpAddr;

use crate::bytes::{be16, be32, put16, put32, put8, put_slice, sub, tail, u8_at};
use crate::checksum;
use crate::error::{DecodeError, Layer, What};

pub const MIN_HEADER_LEN: usize = 20;
/// The largest TCP header: a 4-bit data offset of 32-bit words (RFC 9293 3.1).
pub const MAX_HEADER_LEN: usize = 60;
pub const MAX_SACK_BLOCKS: usize = 4;

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const SEQ: usize = 4;
    pub const ACK: usize = 8;
    pub const OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: usize = 14;
    pub const CHECKSUM: usize = 16;
    pub const URGENT: usize = 18;
}

/// The eight TCP flag bits (byte 13 of the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;

    #[inline]
    pub const fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
    pub const fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    pub const fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    pub const fn rst(self) -> bool {
        self.has(Self::RST)
    }
    pub const fn psh(self) -> bool {
        self.has(Self::PSH)
    }
    pub const fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    pub const fn urg(self) -> bool {
        self.has(Self::URG)
    }
    pub const fn ece(self) -> bool {
        self.has(Self::ECE)
    }
    pub const fn cwr(self) -> bool {
        self.has(Self::CWR)
    }
}

impl std::fmt::Display for Flags {
    /// `SYN|ACK` style; `-` for none.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const NAMES: [&str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];
        let mut first = true;
        for (i, n) in NAMES.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(n)?;
                first = false;
            }
        }
        if first {
            f.write_str("-")?;
        }
        Ok(())
    }
}

/// Option kinds.
pub mod kind {
    pub const EOL: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WSCALE: u8 = 3;
    pub const SACK_PERM: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMP: u8 = 8;
}

/// Decoded TCP options (fixed size, no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Opts {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_permitted: bool,
    /// SACK blocks (left edge, right edge), first `sack_len` valid.
    pub sack: [(u32, u32); MAX_SACK_BLOCKS],
    pub sack_len: u8,
    /// Timestamps (TSval, TSecr).
    pub ts: Option<(u32, u32)>,
    /// Options of other kinds seen (skipped).
    pub unknown: u8,
    /// The option list was malformed; parsing stopped at `malformed_at` (offset in options).
    pub malformed: bool,
    pub malformed_at: u8,
}

impl Opts {
    /// The valid SACK blocks.
    pub fn sack_blocks(&self) -> &[(u32, u32)] {
        sub_blocks(&self.sack, self.sack_len)
    }

    /// Parses an option list (the bytes between the fixed header and the data offset).
    pub fn parse(data: &[u8]) -> Opts {
        // Fast path: NOP NOP TIMESTAMP, what Linux and Windows put on almost every segment
        // of an established connection with timestamps on.
        if let Some((&[1, 1, 8, 10], rest)) = data.split_first_chunk::<4>() {
            if rest.len() == 8 {
                return Opts { ts: Some((be32(rest, 0), be32(rest, 4))), ..Opts::default() };
            }
        }
        let mut o = Opts::default();
        let mut off = 0usize;
        while let Some(&k) = data.get(off) {
            match k {
                kind::EOL => break,
                kind::NOP => {
                    off += 1;
                    continue;
                }
                _ => {}
            }
            let len = usize::from(u8_at(data, off + 1));
            if off + 1 >= data.len() || len < 2 || off + len > data.len() {
                o.malformed = true;
                o.malformed_at = off as u8;
                break;
            }
            let body = sub(data, off + 2, off + len);
            let ok = match k {
                kind::MSS if len == 4 => {
                    o.mss = Some(be16(body, 0));
                    true
                }
                kind::WSCALE if len == 3 => {
                    o.wscale = Some(u8_at(body, 0));
                    true
                }
                kind::SACK_PERM if len == 2 => {
                    o.sack_permitted = true;
                    true
                }
                kind::SACK
                    if len >= 10 && (len - 2) % 8 == 0 && (len - 2) / 8 <= MAX_SACK_BLOCKS =>
                {
                    let n = (len - 2) / 8;
                    for (i, block) in o.sack.iter_mut().take(n).enumerate() {
                        *block = (be32(body, i * 8), be32(body, i * 8 + 4));
                    }
                    o.sack_len = n as u8;
                    true
                }
                kind::TIMESTAMP if len == 10 => {
                    o.ts = Some((be32(body, 0), be32(body, 4)));
                    true
                }
                kind::MSS | kind::WSCALE | kind::SACK_PERM | kind::SACK | kind::TIMESTAMP => false,
                _ => {
                    o.unknown = o.unknown.saturating_add(1);
                    true
                }
            };
            if !ok {
                o.malformed = true;
                o.malformed_at = off as u8;
                break;
            }
            off += len;
        }
        o
    }

    /// Length in bytes of these options when emitted (padded to a multiple of 4).
    pub fn emit_len(&self) -> usize {
        let mut n = 0;
        if self.mss.is_some() {
            n += 4;
        }
        if self.wscale.is_some() {
            n += 3;
        }
        if self.sack_permitted {
            n += 2;
        }
        if self.sack_len > 0 {
            n += 2 + 8 * usize::from(self.sack_len.min(MAX_SACK_BLOCKS as u8));
        }
        if self.ts.is_some() {
            n += 10;
        }
        (n + 3) & !3
    }

    /// Writes the options (NOP-padded) into `buf`, returning the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let mut off = 0;
        if let Some(m) = self.mss {
            put8(buf, off, kind::MSS);
            put8(buf, off + 1, 4);
            put16(buf, off + 2, m);
            off += 4;
        }
        if let Some(w) = self.wscale {
            put_slice(buf, off, &[kind::WSCALE, 3, w]);
            off += 3;
        }
        if self.sack_permitted {
            put_slice(buf, off, &[kind::SACK_PERM, 2]);
            off += 2;
        }
        if self.sack_len > 0 {
            let blocks = self.sack_blocks();
            put8(buf, off, kind::SACK);
            put8(buf, off + 1, 2 + 8 * blocks.len() as u8);
            off += 2;
            for (l, r) in blocks {
                put32(buf, off, *l);
                put32(buf, off + 4, *r);
                off += 8;
            }
        }
        if let Some((v, e)) = self.ts {
            put8(buf, off, kind::TIMESTAMP);
            put8(buf, off + 1, 10);
            put32(buf, off + 2, v);
            put32(buf, off + 6, e);
            off += 10;
        }
        while off % 4 != 0 {
            put8(buf, off, kind::NOP);
            off += 1;
        }
        off
    }
}

fn sub_blocks(s: &[(u32, u32); MAX_SACK_BLOCKS], n: u8) -> &[(u32, u32)] {
    s.get(..usize::from(n)).unwrap_or(&[])
}

/// A view of a TCP segment. After `new_checked`: 20 bytes present, data offset ≥ 5 and the
/// whole header (with options) present.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let b = buffer.as_ref();
        if b.len() < MIN_HEADER_LEN {
            return Err(DecodeError::truncated(Layer::Tcp, MIN_HEADER_LEN, b.len()));
        }
        let words = u8_at(b, field::OFF) >> 4;
        if words < 5 {
            return Err(DecodeError::new(
                Layer::Tcp,
                field::OFF,
                What::HeaderLenTooSmall { words, min: 5 },
            ));
        }
        let hl = usize::from(words) * 4;
        if b.len() < hl {
            return Err(DecodeError::new(
                Layer::Tcp,
                field::OFF,
                What::HeaderLenBeyondData { len: hl, have: b.len() },
            ));
        }
        Ok(Packet { buffer })
    }

    pub fn src_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SRC_PORT)
    }
    pub fn dst_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::DST_PORT)
    }
    pub fn seq(&self) -> u32 {
        be32(self.buffer.as_ref(), field::SEQ)
    }
    pub fn ack(&self) -> u32 {
        be32(self.buffer.as_ref(), field::ACK)
    }
    pub fn header_len(&self) -> usize {
        usize::from(u8_at(self.buffer.as_ref(), field::OFF) >> 4) * 4
    }
    /// The NS (nonce sum) bit, RFC 3540 (historic).
    pub fn ns(&self) -> bool {
        u8_at(self.buffer.as_ref(), field::OFF) & 1 != 0
    }
    pub fn flags(&self) -> Flags {
        Flags(u8_at(self.buffer.as_ref(), field::FLAGS))
    }
    pub fn window(&self) -> u16 {
        be16(self.buffer.as_ref(), field::WINDOW)
    }
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM)
    }
    pub fn urgent(&self) -> u16 {
        be16(self.buffer.as_ref(), field::URGENT)
    }
    pub fn options(&self) -> Opts {
        Opts::parse(sub(self.buffer.as_ref(), MIN_HEADER_LEN, self.header_len()))
    }
    /// Verifies the checksum of the whole buffer (header and payload) with its pseudo-header.
    pub fn verify_checksum(&self, src: &IpAddr, dst: &IpAddr) -> bool {
        checksum::verify_l4(src, dst, 6, self.buffer.as_ref())
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// Raw option bytes.
    pub fn options_raw(&self) -> &'a [u8] {
        sub(self.buffer.as_ref(), MIN_HEADER_LEN, self.header_len())
    }
    pub fn payload(&self) -> &'a [u8] {
        tail(self.buffer.as_ref(), self.header_len())
    }
}

/// Owned TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: Flags,
    pub window: u16,
    pub urgent: u16,
    pub opts: Opts,
    pub payload: &'a [u8],
}

/// Why [`Repr::parse`] refused a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReprError {
    #[error("tcp checksum mismatch (field {found:#06x})")]
    Checksum { found: u16 },
    #[error("tcp options malformed at option offset {at}")]
    Options { at: u8 },
}

impl<'a> Repr<'a> {
    /// Parses a checked segment, verifying its checksum and option list.
    pub fn parse(p: &Packet<&'a [u8]>, src: &IpAddr, dst: &IpAddr) -> Result<Repr<'a>, ReprError> {
        if !p.verify_checksum(src, dst) {
            return Err(ReprError::Checksum { found: p.checksum() });
        }
        let opts = p.options();
        if opts.malformed {
            return Err(ReprError::Options { at: opts.malformed_at });
        }
        let b: &'a [u8] = p.buffer;
        Ok(Repr {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
            seq: p.seq(),
            ack: p.ack(),
            flags: p.flags(),
            window: p.window(),
            urgent: p.urgent(),
            opts,
            payload: tail(b, p.header_len()),
        })
    }

    pub fn header_len(&self) -> usize {
        MIN_HEADER_LEN + self.opts.emit_len()
    }
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// Writes header, options, payload and checksum into `buf[..self.buffer_len()]`.
    /// Returns the bytes written, or `None` when `buf` is too short or the options do not fit
    /// the 40 bytes a TCP header has room for (the data offset field is 4 bits of 32-bit
    /// words: at most 60 header bytes). Nothing is written then.
    pub fn emit(&self, buf: &mut [u8], src: &IpAddr, dst: &IpAddr) -> Option<usize> {
        let hl = self.header_len();
        if hl > MAX_HEADER_LEN {
            return None;
        }
        let total = self.buffer_len();
        let out = buf.get_mut(..total)?;
        put16(out, field::SRC_PORT, self.src_port);
        put16(out, field::DST_PORT, self.dst_port);
        put32(out, field::SEQ, self.seq);
        put32(out, field::ACK, self.ack);
        put8(out, field::OFF, ((hl / 4) as u8) << 4);
        put8(out, field::FLAGS, self.flags.0);
        put16(out, field::WINDOW, self.window);
        put16(out, field::CHECKSUM, 0);
        put16(out, field::URGENT, self.urgent);
        self.opts.emit(out.get_mut(MIN_HEADER_LEN..hl).unwrap_or(&mut []));
        put_slice(out, hl, self.payload);
        let c = checksum::compute_l4(src, dst, 6, out);
        put16(out, field::CHECKSUM, c);
        Some(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emit_refuses_options_longer_than_40_bytes() {
        let mut opts =
            Opts { mss: Some(1460), wscale: Some(7), sack_permitted: true, ..Opts::default() };
        opts.ts = Some((1, 2));
        opts.sack = [(1, 2); MAX_SACK_BLOCKS];
        opts.sack_len = MAX_SACK_BLOCKS as u8;
        let r = Repr {
            src_port: 1,
            dst_port: 2,
            seq: 0,
            ack: 0,
            flags: Flags(0x10),
            window: 1,
            urgent: 0,
            opts,
            payload: &[],
        };
        assert!(r.header_len() > MAX_HEADER_LEN, "the test needs options over 40 bytes");
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let mut buf = [0u8; 128];
        assert_eq!(r.emit(&mut buf, &a, &b), None);
        assert!(buf.iter().all(|&x| x == 0), "nothing written");
        // Without the SACK blocks the same segment fits and round-trips.
        let small = Repr { opts: Opts { sack_len: 0, ..opts }, ..r };
        let n = small.emit(&mut buf, &a, &b).unwrap();
        let p = Packet::new_checked(&buf[..n]).unwrap();
        assert_eq!(Repr::parse(&p, &a, &b).unwrap().opts.mss, Some(1460));
    }

    #[test]
    fn options_malformed_variants() {
        // MSS with length 3
        let o = Opts::parse(&[2, 3, 5, 1]);
        assert!(o.malformed && o.mss.is_none());
        // length 0 (would loop forever if not caught)
        let o = Opts::parse(&[1, 1, 30, 0]);
        assert!(o.malformed);
        assert_eq!(o.malformed_at, 2);
        // option running past the end
        let o = Opts::parse(&[2, 4, 5, 0xb4, 8, 10, 0, 0]);
        assert_eq!(o.mss, Some(1460));
        assert!(o.malformed);
        // lone kind byte at the end
        assert!(Opts::parse(&[1, 1, 1, 3]).malformed);
        // SACK with 5 blocks is too many for a 40-byte option space anyway, but check bound
        let mut s = vec![5u8, 42];
        s.extend_from_slice(&[0; 40]);
        assert!(Opts::parse(&s).malformed);
        // unknown kind skipped, EOL stops (junk after EOL ignored)
        let o = Opts::parse(&[30, 4, 0, 0, 4, 2, 0, 99]);
        assert_eq!((o.unknown, o.sack_permitted, o.malformed), (1, true, false));
    }

    #[test]
    fn repr_round_trip_with_all_options() {
        let src: IpAddr = "10.0.0.1".parse().unwrap();
        let dst: IpAddr = "10.0.0.2".parse().unwrap();
        let mut opts = Opts {
            mss: Some(1460),
            wscale: Some(7),
            sack_permitted: true,
            ts: Some((123456, 654321)),
            ..Opts::default()
        };
        opts.sack[0] = (1000, 2000);
        opts.sack[1] = (3000, 4000);
        opts.sack_len = 2;
        let r = Repr {
            src_port: 49152,
            dst_port: 135,
            seq: 0xfffffff0,
            ack: 7,
            flags: Flags(Flags::SYN | Flags::ACK | Flags::ECE),
            window: 64240,
            urgent: 0,
            opts,
            payload: b"hello",
        };
        assert_eq!(r.header_len(), 20 + 40);
        let mut buf = vec![0u8; r.buffer_len()];
        assert_eq!(r.emit(&mut buf, &src, &dst), Some(65));
        let p = Packet::new_checked(&buf[..]).unwrap();
        let back = Repr::parse(&p, &src, &dst).unwrap();
        assert_eq!(back, r);
        // a flipped bit fails the checksum
        buf[30] ^= 1;
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert!(matches!(Repr::parse(&p, &src, &dst), Err(ReprError::Checksum { .. })));
        assert!(r.emit(&mut [0u8; 10], &src, &dst).is_none());
    }

    #[test]
    fn flags_display() {
        assert_eq!(Flags(0x12).to_string(), "SYN|ACK");
        assert_eq!(Flags(0).to_string(), "-");
    }
}
