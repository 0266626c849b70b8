//! ARP (RFC 826) for Ethernet/IPv4, the only pair seen in practice.
//!
//! ```text
//! htype(2) ptype(2) hlen(1) plen(1) oper(2) sha(6) spa(4) tha(6) tpa(4)  = 28 bytes
//! ```

use std::net::Ipv4Addr;

use crate::bytes::{arr, be16, u8_at};
use crate::error::{DecodeError, Layer, What};

pub const PACKET_LEN: usize = 28;

/// ARP operation codes.
pub mod op {
    pub const REQUEST: u16 = 1;
    pub const REPLY: u16 = 2;
}

/// A view of an Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks length and that this is Ethernet (1) / IPv4 (0x0800) with lengths 6/4.
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let b = buffer.as_ref();
        if b.len() < 8 {
            return Err(DecodeError::truncated(Layer::Arp, 8, b.len()));
        }
        let (htype, ptype, hlen, plen) = (be16(b, 0), be16(b, 2), u8_at(b, 4), u8_at(b, 5));
        if htype != 1 || ptype != 0x0800 || hlen != 6 || plen != 4 {
            return Err(DecodeError::new(
                Layer::Arp,
                0,
                What::ArpUnsupported { htype, ptype, hlen, plen },
            ));
        }
        if b.len() < PACKET_LEN {
            return Err(DecodeError::truncated(Layer::Arp, PACKET_LEN, b.len()));
        }
        Ok(Packet { buffer })
    }
    pub fn operation(&self) -> u16 {
        be16(self.buffer.as_ref(), 6)
    }
    pub fn sender_mac(&self) -> [u8; 6] {
        arr(self.buffer.as_ref(), 8)
    }
    pub fn sender_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(arr::<4>(self.buffer.as_ref(), 14))
    }
    pub fn target_mac(&self) -> [u8; 6] {
        arr(self.buffer.as_ref(), 18)
    }
    pub fn target_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(arr::<4>(self.buffer.as_ref(), 24))
    }
    pub fn info(&self) -> Info {
        Info {
            op: self.operation(),
            sender_mac: self.sender_mac(),
            sender_ip: self.sender_ip(),
            target_mac: self.target_mac(),
            target_ip: self.target_ip(),
        }
    }
}

/// Summary of an ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    pub op: u16,
    pub sender_mac: [u8; 6],
    pub sender_ip: Ipv4Addr,
    pub target_mac: [u8; 6],
    pub target_ip: Ipv4Addr,
}
