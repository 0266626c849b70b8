//! UDP (RFC 768).
//!
//! ```text
//! src port(16) dst port(16) | length(16) checksum(16) | payload
//! ```
//! Over IPv4 a zero checksum means "not computed"; an emitted checksum of 0 is sent as
//! 0xffff.

use std::net::IpAddr;

use crate::bytes::{be16, put16, put_slice, sub};
use crate::checksum;
use crate::error::{DecodeError, Layer, What};

pub const HEADER_LEN: usize = 8;

/// A view of a UDP datagram. After `new_checked`: 8 bytes present and length field ≥ 8.
/// The length field may exceed the buffer (snaplen cut); `payload()` is clamped.
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
        if b.len() < HEADER_LEN {
            return Err(DecodeError::truncated(Layer::Udp, HEADER_LEN, b.len()));
        }
        let len = be16(b, 4);
        if usize::from(len) < HEADER_LEN {
            return Err(DecodeError::new(Layer::Udp, 4, What::UdpLenTooSmall { len }));
        }
        Ok(Packet { buffer })
    }
    pub fn src_port(&self) -> u16 {
        be16(self.buffer.as_ref(), 0)
    }
    pub fn dst_port(&self) -> u16 {
        be16(self.buffer.as_ref(), 2)
    }
    pub fn len(&self) -> u16 {
        be16(self.buffer.as_ref(), 4)
    }
    pub fn is_empty(&self) -> bool {
        self.len() <= HEADER_LEN as u16
    }
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), 6)
    }
    /// Verifies the checksum over `len()` bytes (false if they are not all present).
    pub fn verify_checksum(&self, src: &IpAddr, dst: &IpAddr) -> bool {
        let b = self.buffer.as_ref();
        match b.get(..usize::from(self.len())) {
            Some(seg) => checksum::verify_l4(src, dst, 17, seg),
            None => false,
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// Payload clamped to the length field and to the buffer.
    pub fn payload(&self) -> &'a [u8] {
        sub(self.buffer.as_ref(), HEADER_LEN, usize::from(self.len()))
    }
}

/// Owned UDP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: &'a [u8],
}

/// Why [`Repr::parse`] refused a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReprError {
    #[error("udp checksum mismatch (field {found:#06x})")]
    Checksum { found: u16 },
    #[error("udp length {len} > {have} bytes present")]
    Truncated { len: u16, have: usize },
}

impl<'a> Repr<'a> {
    /// Parses a checked datagram; verifies the checksum unless it is 0 over IPv4.
    pub fn parse(p: &Packet<&'a [u8]>, src: &IpAddr, dst: &IpAddr) -> Result<Repr<'a>, ReprError> {
        let b: &'a [u8] = p.buffer;
        if usize::from(p.len()) > b.len() {
            return Err(ReprError::Truncated { len: p.len(), have: b.len() });
        }
        let skip = p.checksum() == 0 && src.is_ipv4();
        if !skip && !p.verify_checksum(src, dst) {
            return Err(ReprError::Checksum { found: p.checksum() });
        }
        Ok(Repr {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
            payload: sub(b, HEADER_LEN, usize::from(p.len())),
        })
    }
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }
    /// Writes the datagram with its checksum; `None` when `buf` is too short or the payload
    /// does not fit a 16-bit length.
    pub fn emit(&self, buf: &mut [u8], src: &IpAddr, dst: &IpAddr) -> Option<usize> {
        let total = self.buffer_len();
        let len = u16::try_from(total).ok()?;
        let out = buf.get_mut(..total)?;
        put16(out, 0, self.src_port);
        put16(out, 2, self.dst_port);
        put16(out, 4, len);
        put16(out, 6, 0);
        put_slice(out, HEADER_LEN, self.payload);
        let c = match checksum::compute_l4(src, dst, 17, out) {
            0 => 0xffff,
            c => c,
        };
        put16(out, 6, c);
        Some(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_v4_v6() {
        for (s, d) in [("192.0.2.1", "192.0.2.2"), ("fd00::1", "fd00::2")] {
            let src: IpAddr = s.parse().unwrap();
            let dst: IpAddr = d.parse().unwrap();
            let r = Repr { src_port: 53, dst_port: 40000, payload: b"\x12\x34query" };
            let mut buf = [0u8; 64];
            let n = r.emit(&mut buf, &src, &dst).unwrap();
            let p = Packet::new_checked(&buf[..n]).unwrap();
            assert_eq!(Repr::parse(&p, &src, &dst).unwrap(), r);
            let mut bad = buf;
            bad[9] ^= 0x40;
            let p = Packet::new_checked(&bad[..n]).unwrap();
            assert!(Repr::parse(&p, &src, &dst).is_err());
        }
    }

    #[test]
    fn bad_length() {
        let e = Packet::new_checked(&[0u8, 1, 0, 2, 0, 7, 0, 0][..]).unwrap_err();
        assert_eq!(e.to_string(), "udp at offset 4: length field 7 < 8");
    }
}
