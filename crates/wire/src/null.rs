//! BSD null/loopback headers: LINKTYPE_NULL (0) and LINKTYPE_LOOP (108).
//!
//! A 4-byte address family precedes the IP packet. For LINKTYPE_NULL it is in the byte
//! order of the machine that captured, for LINKTYPE_LOOP in network order, and files in the
//! wild get this wrong, so both orders are accepted. AF_INET is 2 everywhere; AF_INET6 is
//! 24 (NetBSD, OpenBSD, BSD/OS), 28 (FreeBSD, DragonFly) or 30 (macOS, iOS).

use crate::bytes::{arr, tail};
use crate::error::{DecodeError, Layer};

pub const HEADER_LEN: usize = 4;

/// Address families seen in null headers.
pub mod af {
    pub const INET: u32 = 2;
    pub const INET6_BSD: u32 = 24;
    pub const INET6_FREEBSD: u32 = 28;
    pub const INET6_DARWIN: u32 = 30;
    /// Linux AF_INET6 (seen in some LINKTYPE_NULL files written on Linux).
    pub const INET6_LINUX: u32 = 10;
}

/// The network protocol a null header announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Ipv4,
    Ipv6,
    /// Unknown value, as read in little-endian order.
    Other(u32),
}

/// A view of a null/loopback header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let have = buffer.as_ref().len();
        if have < HEADER_LEN {
            return Err(DecodeError::truncated(Layer::Null, HEADER_LEN, have));
        }
        Ok(Packet { buffer })
    }
    /// The raw field in little-endian order.
    pub fn raw_le(&self) -> u32 {
        u32::from_le_bytes(arr(self.buffer.as_ref(), 0))
    }
    /// The family, trying both byte orders.
    pub fn family(&self) -> Family {
        let le = self.raw_le();
        let be = le.swap_bytes();
        for v in [le, be] {
            match v {
                af::INET => return Family::Ipv4,
                af::INET6_BSD | af::INET6_FREEBSD | af::INET6_DARWIN | af::INET6_LINUX => {
                    return Family::Ipv6
                }
                _ => {}
            }
        }
        Family::Other(le)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    pub fn payload(&self) -> &'a [u8] {
        tail(self.buffer.as_ref(), HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_byte_orders() {
        for (bytes, fam) in [
            ([2, 0, 0, 0], Family::Ipv4),
            ([0, 0, 0, 2], Family::Ipv4),
            ([24, 0, 0, 0], Family::Ipv6),
            ([0, 0, 0, 28], Family::Ipv6),
            ([30, 0, 0, 0], Family::Ipv6),
            ([0, 0, 0, 30], Family::Ipv6),
            ([7, 0, 0, 0], Family::Other(7)),
        ] {
            assert_eq!(Packet::new_checked(&bytes[..]).unwrap().family(), fam, "{bytes:?}");
        }
        assert!(Packet::new_checked(&[2u8, 0, 0][..]).is_err());
    }
}
