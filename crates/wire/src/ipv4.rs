//! IPv4 (RFC 791).
//!
//! ```text
//! 0        4        8               16    19                       31
//! | ver=4  |  IHL   |   DSCP/ECN    |        total length          |
//! |        identification           |flags|   fragment offset (×8)  |
//! |      TTL        |   protocol    |       header checksum        |
//! |                       source address                           |
//! |                    destination address                         |
//! |                 options (IHL > 5) ...                          |
//! ```
//! A total length of 0 is what TCP segmentation offload leaves in captures taken on the
//! sending host: the payload is then taken as everything captured. Bytes after the total
//! length (Ethernet padding) are not payload.

use std::net::Ipv4Addr;

use crate::bytes::{arr, be16, put16, put8, put_slice, sub, tail, u8_at};
use crate::checksum;
use crate::error::{DecodeError, Layer, What};

pub const MIN_HEADER_LEN: usize = 20;

mod field {
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLG_OFF: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}

/// A view of an IPv4 packet. After `new_checked`: at least `header_len()` bytes are present,
/// version is 4, IHL ≥ 5, and the total length is 0 or ≥ the header length.
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
            return Err(DecodeError::truncated(Layer::Ipv4, MIN_HEADER_LEN, b.len()));
        }
        let vi = u8_at(b, field::VER_IHL);
        if vi >> 4 != 4 {
            return Err(DecodeError::new(
                Layer::Ipv4,
                0,
                What::Version { found: vi >> 4, expected: 4 },
            ));
        }
        let words = vi & 0x0f;
        if words < 5 {
            return Err(DecodeError::new(
                Layer::Ipv4,
                0,
                What::HeaderLenTooSmall { words, min: 5 },
            ));
        }
        let hl = usize::from(words) * 4;
        if b.len() < hl {
            return Err(DecodeError::new(
                Layer::Ipv4,
                0,
                What::HeaderLenBeyondData { len: hl, have: b.len() },
            ));
        }
        let total = be16(b, field::LENGTH);
        if total != 0 && usize::from(total) < hl {
            return Err(DecodeError::new(
                Layer::Ipv4,
                0,
                What::TotalLenTooSmall { total, header: hl },
            ));
        }
        Ok(Packet { buffer })
    }

    pub fn version(&self) -> u8 {
        u8_at(self.buffer.as_ref(), field::VER_IHL) >> 4
    }
    /// Header length in bytes (IHL × 4).
    pub fn header_len(&self) -> usize {
        usize::from(u8_at(self.buffer.as_ref(), field::VER_IHL) & 0x0f) * 4
    }
    pub fn dscp_ecn(&self) -> u8 {
        u8_at(self.buffer.as_ref(), field::DSCP_ECN)
    }
    pub fn total_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH)
    }
    pub fn ident(&self) -> u16 {
        be16(self.buffer.as_ref(), field::IDENT)
    }
    pub fn dont_frag(&self) -> bool {
        be16(self.buffer.as_ref(), field::FLG_OFF) & 0x4000 != 0
    }
    pub fn more_frags(&self) -> bool {
        be16(self.buffer.as_ref(), field::FLG_OFF) & 0x2000 != 0
    }
    /// The reserved ("evil") bit.
    pub fn reserved_flag(&self) -> bool {
        be16(self.buffer.as_ref(), field::FLG_OFF) & 0x8000 != 0
    }
    /// Fragment offset in bytes.
    pub fn frag_offset(&self) -> u16 {
        (be16(self.buffer.as_ref(), field::FLG_OFF) & 0x1fff) << 3
    }
    pub fn ttl(&self) -> u8 {
        u8_at(self.buffer.as_ref(), field::TTL)
    }
    pub fn protocol(&self) -> u8 {
        u8_at(self.buffer.as_ref(), field::PROTOCOL)
    }
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM)
    }
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(arr::<4>(self.buffer.as_ref(), field::SRC))
    }
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(arr::<4>(self.buffer.as_ref(), field::DST))
    }
    /// Captured payload length (trimmed to the total length).
    pub fn captured_payload_len(&self) -> usize {
        let b = self.buffer.as_ref();
        let end = match self.total_len() {
            0 => b.len(),
            t => usize::from(t).min(b.len()),
        };
        end.saturating_sub(self.header_len())
    }
    /// True when the header checksum is right.
    pub fn verify_checksum(&self) -> bool {
        checksum::fold(checksum::sum(sub(self.buffer.as_ref(), 0, self.header_len()))) == 0xffff
    }
    /// Payload length according to the header (`total_len - header_len`), or `None` when
    /// the total length is 0 (TSO).
    pub fn payload_wire_len(&self) -> Option<u16> {
        match self.total_len() {
            0 => None,
            t => Some(t.saturating_sub(self.header_len() as u16)),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The header including options.
    pub fn header(&self) -> &'a [u8] {
        sub(self.buffer.as_ref(), 0, self.header_len())
    }
    pub fn options(&self) -> Options<'a> {
        Options { data: sub(self.buffer.as_ref(), MIN_HEADER_LEN, self.header_len()), off: 0 }
    }
    /// The captured payload, trimmed to the total length (link padding removed).
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        let end = match self.total_len() {
            0 => b.len(),
            t => usize::from(t),
        };
        sub(b, self.header_len(), end)
    }
    /// Everything after the header, including padding.
    pub fn payload_untrimmed(&self) -> &'a [u8] {
        tail(self.buffer.as_ref(), self.header_len())
    }
}

/// One IPv4 option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opt<'a> {
    /// Option type octet (copied flag, class, number).
    pub kind: u8,
    /// Option data after type and length (empty for EOL/NOP).
    pub data: &'a [u8],
}

/// Iterator over IPv4 options; yields `Err(offset)` once (offset within the options) on a
/// malformed length and stops.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    data: &'a [u8],
    off: usize,
}

impl<'a> Iterator for Options<'a> {
    type Item = Result<Opt<'a>, usize>;
    fn next(&mut self) -> Option<Self::Item> {
        let rest = tail(self.data, self.off);
        let (&kind, after) = rest.split_first()?;
        match kind {
            0 => {
                self.off = self.data.len();
                Some(Ok(Opt { kind, data: &[] }))
            }
            1 => {
                self.off += 1;
                Some(Ok(Opt { kind, data: &[] }))
            }
            _ => {
                let len = after.first().copied().map_or(0, usize::from);
                if len < 2 || len > rest.len() {
                    let at = self.off;
                    self.off = self.data.len();
                    return Some(Err(at));
                }
                self.off += len;
                Some(Ok(Opt { kind, data: sub(rest, 2, len) }))
            }
        }
    }
}

/// Owned IPv4 header (without options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    pub dscp_ecn: u8,
    pub ident: u16,
    pub dont_frag: bool,
    pub more_frags: bool,
    /// Fragment offset in bytes (multiple of 8).
    pub frag_offset: u16,
    pub payload_len: u16,
}

impl Repr {
    /// Parses a checked packet. Options are skipped; the header checksum is not verified
    /// (see [`Packet::verify_checksum`]). A zero total length gives the captured length.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Repr {
        Repr {
            src: p.src_addr(),
            dst: p.dst_addr(),
            protocol: p.protocol(),
            ttl: p.ttl(),
            dscp_ecn: p.dscp_ecn(),
            ident: p.ident(),
            dont_frag: p.dont_frag(),
            more_frags: p.more_frags(),
            frag_offset: p.frag_offset(),
            payload_len: p
                .payload_wire_len()
                .unwrap_or(u16::try_from(p.captured_payload_len()).unwrap_or(u16::MAX)),
        }
    }

    pub const fn header_len(&self) -> usize {
        MIN_HEADER_LEN
    }
    pub const fn buffer_len(&self) -> usize {
        MIN_HEADER_LEN + self.payload_len as usize
    }

    /// Writes the 20-byte header (checksum filled in) into `buf[..20]`; the caller writes
    /// the payload after it. Does nothing past the end of a too-short buffer.
    pub fn emit(&self, buf: &mut [u8]) {
        put8(buf, field::VER_IHL, 0x45);
        put8(buf, field::DSCP_ECN, self.dscp_ecn);
        put16(buf, field::LENGTH, (MIN_HEADER_LEN as u16).saturating_add(self.payload_len));
        put16(buf, field::IDENT, self.ident);
        let flags = (u16::from(self.dont_frag) << 14) | (u16::from(self.more_frags) << 13);
        put16(buf, field::FLG_OFF, flags | ((self.frag_offset >> 3) & 0x1fff));
        put8(buf, field::TTL, self.ttl);
        put8(buf, field::PROTOCOL, self.protocol);
        put16(buf, field::CHECKSUM, 0);
        put_slice(buf, field::SRC, &self.src.octets());
        put_slice(buf, field::DST, &self.dst.octets());
        let c = checksum::checksum(sub(buf, 0, MIN_HEADER_LEN));
        put16(buf, field::CHECKSUM, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_options(opts: &[u8]) -> Vec<u8> {
        let r = Repr {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            protocol: 17,
            ttl: 64,
            dscp_ecn: 0,
            ident: 7,
            dont_frag: false,
            more_frags: true,
            frag_offset: 1480,
            payload_len: 8,
        };
        let mut b = vec![0u8; 20];
        r.emit(&mut b);
        let hl = 20 + opts.len();
        b[0] = 0x40 | (hl / 4) as u8;
        b.extend_from_slice(opts);
        b.extend_from_slice(&[0xee; 8]);
        let total = (hl + 8) as u16;
        b[2..4].copy_from_slice(&total.to_be_bytes());
        b[10] = 0;
        b[11] = 0;
        let c = checksum::checksum(&b[..hl]);
        b[10..12].copy_from_slice(&c.to_be_bytes());
        b
    }

    #[test]
    fn options_record_route_nop_eol() {
        // Record Route (7), length 7, pointer 4, one empty slot; NOP; EOL (RFC 791).
        let b = with_options(&[7, 7, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.header_len(), 32);
        assert!(p.verify_checksum());
        let opts: Vec<_> = p.options().collect();
        assert_eq!(
            opts,
            vec![
                Ok(Opt { kind: 7, data: &[4, 0, 0, 0, 0] }),
                Ok(Opt { kind: 1, data: &[] }),
                Ok(Opt { kind: 0, data: &[] })
            ]
        );
        assert_eq!(p.payload(), &[0xee; 8]);
        assert_eq!((p.more_frags(), p.frag_offset(), p.ident()), (true, 1480, 7));
        // option length running past the header: one Err, then the iterator stops
        let b = with_options(&[1, 68, 12, 0]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.options().collect::<Vec<_>>(), vec![Ok(Opt { kind: 1, data: &[] }), Err(1)]);
        let b = with_options(&[68, 1, 0, 0]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.options().collect::<Vec<_>>(), vec![Err(0)]);
    }

    #[test]
    fn repr_round_trip_and_padding() {
        let b = with_options(&[]);
        let p = Packet::new_checked(&b[..]).unwrap();
        let r = Repr::parse(&p);
        let mut out = vec![0u8; 20];
        r.emit(&mut out);
        assert_eq!(&out[..], &b[..20]);
        // trailing padding is not payload
        let mut padded = b.clone();
        padded.extend_from_slice(&[0; 18]);
        let p = Packet::new_checked(&padded[..]).unwrap();
        assert_eq!(p.payload().len(), 8);
        assert_eq!(p.payload_untrimmed().len(), 26);
        // header length beyond the data
        let mut short = b.clone();
        short[0] = 0x4f;
        assert!(matches!(
            Packet::new_checked(&short[..]).unwrap_err().what,
            What::HeaderLenBeyondData { len: 60, have: 28 }
        ));
    }
}
