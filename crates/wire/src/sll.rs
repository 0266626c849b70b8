//! Linux "cooked" capture headers (`tcpdump -i any`): LINKTYPE_LINUX_SLL (113, v1) and
//! LINKTYPE_LINUX_SLL2 (276, v2).
//!
//! ```text
//! v1 (16 bytes): packet type(2) ARPHRD type(2) addr len(2) addr(8) protocol(2)
//! v2 (20 bytes): protocol(2) reserved(2) ifindex(4) ARPHRD type(2) packet type(1)
//!                addr len(1) addr(8)
//! ```
//! For most ARPHRD types the protocol field is an EtherType; a few small values are Linux
//! `ETH_P_*` pseudo protocols (e.g. 0x0004 = 802.2 LLC) and are reported as they are.

use crate::bytes::{arr, be16, be32, tail, u8_at};
use crate::error::{DecodeError, Layer};

pub const V1_HEADER_LEN: usize = 16;
pub const V2_HEADER_LEN: usize = 20;

/// Linux packet types (`PACKET_*`).
pub mod packet_type {
    pub const HOST: u16 = 0;
    pub const BROADCAST: u16 = 1;
    pub const MULTICAST: u16 = 2;
    pub const OTHERHOST: u16 = 3;
    pub const OUTGOING: u16 = 4;
}

/// A view of a v1 header (LINKTYPE_LINUX_SLL).
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let have = buffer.as_ref().len();
        if have < V1_HEADER_LEN {
            return Err(DecodeError::truncated(Layer::Sll, V1_HEADER_LEN, have));
        }
        Ok(Packet { buffer })
    }
    pub fn packet_type(&self) -> u16 {
        be16(self.buffer.as_ref(), 0)
    }
    pub fn arphrd(&self) -> u16 {
        be16(self.buffer.as_ref(), 2)
    }
    pub fn addr_len(&self) -> u16 {
        be16(self.buffer.as_ref(), 4)
    }
    /// The 8-byte address field (only the first `addr_len` bytes, max 8, are meaningful).
    pub fn addr(&self) -> [u8; 8] {
        arr(self.buffer.as_ref(), 6)
    }
    pub fn protocol(&self) -> u16 {
        be16(self.buffer.as_ref(), 14)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    pub fn payload(&self) -> &'a [u8] {
        tail(self.buffer.as_ref(), V1_HEADER_LEN)
    }
}

/// A view of a v2 header (LINKTYPE_LINUX_SLL2).
#[derive(Debug, Clone, Copy)]
pub struct Packet2<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet2<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let have = buffer.as_ref().len();
        if have < V2_HEADER_LEN {
            return Err(DecodeError::truncated(Layer::Sll2, V2_HEADER_LEN, have));
        }
        Ok(Packet2 { buffer })
    }
    pub fn protocol(&self) -> u16 {
        be16(self.buffer.as_ref(), 0)
    }
    pub fn ifindex(&self) -> u32 {
        be32(self.buffer.as_ref(), 4)
    }
    pub fn arphrd(&self) -> u16 {
        be16(self.buffer.as_ref(), 8)
    }
    pub fn packet_type(&self) -> u8 {
        u8_at(self.buffer.as_ref(), 10)
    }
    pub fn addr_len(&self) -> u8 {
        u8_at(self.buffer.as_ref(), 11)
    }
    pub fn addr(&self) -> [u8; 8] {
        arr(self.buffer.as_ref(), 12)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet2<&'a T> {
    pub fn payload(&self) -> &'a [u8] {
        tail(self.buffer.as_ref(), V2_HEADER_LEN)
    }
}
