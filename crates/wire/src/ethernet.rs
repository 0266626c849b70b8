//! Ethernet II frames (IEEE 802.3 with an EtherType) and VLAN tags.
//!
//! ```text
//! 0      6      12        14
//! | dst  | src  | type/len | payload ...
//! ```
//! A type of 0x8100 (802.1Q), 0x88a8 (802.1ad S-tag) or 0x9100 (old QinQ) is followed by a
//! 4-byte tag: TCI (PCP 3 bits, DEI 1, VLAN id 12) and the next EtherType. Values ≤ 1500
//! are 802.3 lengths (LLC follows) and are reported as they are.

use crate::bytes::{arr, be16, tail};
use crate::error::{DecodeError, Layer, What};

pub const HEADER_LEN: usize = 14;
/// Tags accepted in one frame (QinQ uses 2); more is an error.
pub const MAX_VLANS: u8 = 4;

/// Well-known EtherType values.
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
    pub const IPV6: u16 = 0x86dd;
    pub const QINQ: u16 = 0x88a8;
    pub const QINQ_OLD: u16 = 0x9100;

    /// True for the EtherTypes that introduce a VLAN tag.
    pub const fn is_vlan(t: u16) -> bool {
        matches!(t, VLAN | QINQ | QINQ_OLD)
    }
}

mod field {
    pub const DST: usize = 0;
    pub const SRC: usize = 6;
    pub const TYPE: usize = 12;
}

/// A view of an Ethernet II frame.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Checks that the 14-byte header is present.
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let have = buffer.as_ref().len();
        if have < HEADER_LEN {
            return Err(DecodeError::truncated(Layer::Ethernet, HEADER_LEN, have));
        }
        Ok(Packet { buffer })
    }

    pub fn dst_addr(&self) -> [u8; 6] {
        arr(self.buffer.as_ref(), field::DST)
    }
    pub fn src_addr(&self) -> [u8; 6] {
        arr(self.buffer.as_ref(), field::SRC)
    }
    pub fn ethertype(&self) -> u16 {
        be16(self.buffer.as_ref(), field::TYPE)
    }
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// Bytes after the 14-byte header (VLAN tags not yet removed).
    pub fn payload(&self) -> &'a [u8] {
        tail(self.buffer.as_ref(), HEADER_LEN)
    }
}

/// A VLAN tag (802.1Q / 802.1ad).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanTag {
    /// The EtherType that introduced this tag (0x8100, 0x88a8 or 0x9100).
    pub tpid: u16,
    pub pcp: u8,
    pub dei: bool,
    pub vid: u16,
}

/// What is left after the VLAN tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Untagged<'a> {
    /// The inner EtherType.
    pub ethertype: u16,
    /// The bytes after the last tag.
    pub payload: &'a [u8],
    /// Number of tags removed.
    pub count: u8,
    /// The outermost tag, if any.
    pub outer: Option<VlanTag>,
}

/// Removes the VLAN tags that follow `ethertype`. `offset` is the frame offset of `data`,
/// used in errors.
pub fn strip_vlans(
    mut ethertype: u16,
    mut data: &[u8],
    offset: usize,
) -> Result<Untagged<'_>, DecodeError> {
    let mut count = 0u8;
    let mut outer = None;
    let mut off = offset;
    while ethertype::is_vlan(ethertype) {
        if count >= MAX_VLANS {
            return Err(DecodeError::new(Layer::Vlan, off, What::TooManyVlans { max: MAX_VLANS }));
        }
        let Some((tag, rest)) = data.split_first_chunk::<4>() else {
            return Err(DecodeError::truncated(Layer::Vlan, 4, data.len()).shifted(off));
        };
        let tci = u16::from_be_bytes([tag[0], tag[1]]);
        if outer.is_none() {
            outer = Some(VlanTag {
                tpid: ethertype,
                pcp: (tci >> 13) as u8,
                dei: tci & 0x1000 != 0,
                vid: tci & 0x0fff,
            });
        }
        ethertype = u16::from_be_bytes([tag[2], tag[3]]);
        data = rest;
        count += 1;
        off = off.saturating_add(4);
    }
    Ok(Untagged { ethertype, payload: data, count, outer })
}

/// Owned Ethernet header (for building test frames).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src: [u8; 6],
    pub dst: [u8; 6],
    pub ethertype: u16,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Repr {
        Repr { src: p.src_addr(), dst: p.dst_addr(), ethertype: p.ethertype() }
    }
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }
    /// Writes the header into the first 14 bytes of `buf` (which must be that long).
    pub fn emit(&self, buf: &mut [u8]) {
        crate::bytes::put_slice(buf, field::DST, &self.dst);
        crate::bytes::put_slice(buf, field::SRC, &self.src);
        crate::bytes::put16(buf, field::TYPE, self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qinq_two_tags() {
        // 802.1ad S-tag vid 100, then 802.1Q C-tag vid 200 (pcp 5), then IPv4.
        let data = [0xa0, 0x64, 0x81, 0x00, 0xa0, 0xc8, 0x08, 0x00, 0x45];
        let u = strip_vlans(ethertype::QINQ, &data, 12).unwrap();
        assert_eq!((u.ethertype, u.payload, u.count), (ethertype::IPV4, &[0x45][..], 2));
        assert_eq!(u.outer, Some(VlanTag { tpid: 0x88a8, pcp: 5, dei: false, vid: 100 }));
    }

    #[test]
    fn vlan_truncated_and_too_many() {
        let e = strip_vlans(ethertype::VLAN, &[0, 1, 0x81], 12).unwrap_err();
        assert_eq!(e.to_string(), "vlan at offset 12: truncated: need 4 bytes, have 3");
        let many = [0u8, 1, 0x81, 0x00].repeat(6);
        let e = strip_vlans(ethertype::VLAN, &many, 12).unwrap_err();
        assert_eq!(e.what, What::TooManyVlans { max: MAX_VLANS });
        assert_eq!(e.offset, 28);
    }

    #[test]
    fn repr_round_trip() {
        let r = Repr { src: [1, 2, 3, 4, 5, 6], dst: [0xff; 6], ethertype: 0x86dd };
        let mut buf = [0u8; 14];
        r.emit(&mut buf);
        assert_eq!(Repr::parse(&Packet::new_checked(&buf[..]).unwrap()), r);
        assert!(Packet::new_checked(&buf[..13]).is_err());
    }
}
