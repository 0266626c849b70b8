//! The classic libpcap file format (draft-ietf-opsawg-pcap): a 24-byte file header, then
//! records of a 16-byte header plus the captured bytes.
//!
//! ```text
//! file header:   magic u32 | major u16 | minor u16 | reserved u32 | reserved u32 |
//!                snaplen u32 | linktype+fcs u32
//! record header: ts_sec u32 | ts_frac u32 (µs or ns) | caplen u32 | orig_len u32
//! ```
//! The magic is written in the writer's byte order: `a1b2c3d4` for microsecond and
//! `a1b23c4d` for nanosecond timestamps, so reading it decides the byte order of every other
//! field in the file.

use crate::source::Endian;
use crate::{LinkType, Timestamp};

pub(crate) const HEADER_LEN: usize = 24;
pub(crate) const RECORD_HEADER_LEN: usize = 16;

/// What the first four bytes say, if they are a pcap magic: (byte order, nanosecond stamps).
pub(crate) fn magic(b: &[u8; 4]) -> Option<(Endian, bool)> {
    match *b {
        [0xd4, 0xc3, 0xb2, 0xa1] => Some((Endian::Little, false)),
        [0xa1, 0xb2, 0xc3, 0xd4] => Some((Endian::Big, false)),
        [0x4d, 0x3c, 0xb2, 0xa1] => Some((Endian::Little, true)),
        [0xa1, 0xb2, 0x3c, 0x4d] => Some((Endian::Big, true)),
        _ => None,
    }
}

/// The modified ("Kuznetzov") pcap magic, which has a longer record header: recognised only
/// to say so in the error.
pub(crate) fn is_modified_magic(b: &[u8; 4]) -> bool {
    matches!(*b, [0x34, 0xcd, 0xb2, 0xa1] | [0xa1, 0xb2, 0xcd, 0x34])
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    pub endian: Endian,
    pub nanos: bool,
    pub version: (u16, u16),
    pub snaplen: u32,
    pub link: LinkType,
}

impl Header {
    /// Parses a full 24-byte header whose magic `magic` has already accepted.
    pub(crate) fn parse(b: &[u8; HEADER_LEN]) -> Option<Header> {
        let (endian, nanos) = magic(b.first_chunk::<4>()?)?;
        let major = endian.u16(b, 4)?;
        let minor = endian.u16(b, 6)?;
        let snaplen = endian.u32(b, 16)?;
        // The low 16 bits are the link type; the upper bits carry FCS information.
        let link = LinkType(endian.u32(b, 20)? & 0xffff);
        Some(Header { endian, nanos, version: (major, minor), snaplen, link })
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct RecordHeader {
    pub ts_sec: u32,
    pub ts_frac: u32,
    pub caplen: u32,
    pub orig_len: u32,
}

impl RecordHeader {
    pub(crate) fn parse(b: &[u8; RECORD_HEADER_LEN], endian: Endian) -> Option<RecordHeader> {
        Some(RecordHeader {
            ts_sec: endian.u32(b, 0)?,
            ts_frac: endian.u32(b, 4)?,
            caplen: endian.u32(b, 8)?,
            orig_len: endian.u32(b, 12)?,
        })
    }

    /// The record's timestamp. Seconds are unsigned (they run to 2106); a fraction at or over
    /// one second is added as it is, as other readers do.
    pub(crate) fn timestamp(&self, nanos: bool) -> Timestamp {
        let frac_ns = if nanos { i64::from(self.ts_frac) } else { i64::from(self.ts_frac) * 1000 };
        Timestamp(i64::from(self.ts_sec).saturating_mul(1_000_000_000).saturating_add(frac_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // First 40 bytes of /work/shared/captures/tcp/zeek__syn.pcap (file header and the
    // record header of frame 1).
    const SYN: [u8; 40] = [
        0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0xff, 0xff, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xae, 0x09, 0x39, 0x51, 0xe0, 0x43,
        0x0d, 0x00, 0x4e, 0x00, 0x00, 0x00, 0x4e, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn parses_real_header_and_record() {
        let h = Header::parse(SYN.first_chunk::<24>().unwrap()).unwrap();
        assert_eq!(h.endian, Endian::Little);
        assert!(!h.nanos);
        assert_eq!(h.version, (2, 4));
        assert_eq!(h.snaplen, 65535);
        assert_eq!(h.link, LinkType::ETHERNET);
        let r = RecordHeader::parse(SYN[24..].first_chunk::<16>().unwrap(), h.endian).unwrap();
        assert_eq!((r.caplen, r.orig_len), (78, 78));
        // 0x513909ae = 1362692526 s, 0x0d43e0 = 869344 µs; tshark: 1362692526.869344000
        assert_eq!(r.timestamp(false), Timestamp(1_362_692_526_869_344_000));
    }

    #[test]
    fn all_four_magics() {
        assert_eq!(magic(&[0xa1, 0xb2, 0xc3, 0xd4]), Some((Endian::Big, false)));
        assert_eq!(magic(&[0x4d, 0x3c, 0xb2, 0xa1]), Some((Endian::Little, true)));
        assert_eq!(magic(&[0xa1, 0xb2, 0x3c, 0x4d]), Some((Endian::Big, true)));
        assert_eq!(magic(&[0x0a, 0x0d, 0x0d, 0x0a]), None);
        assert!(is_modified_magic(&[0x34, 0xcd, 0xb2, 0xa1]));
    }

    #[test]
    fn timestamp_saturates_instead_of_overflowing() {
        let r = RecordHeader { ts_sec: u32::MAX, ts_frac: u32::MAX, caplen: 0, orig_len: 0 };
        assert_eq!(r.timestamp(false), Timestamp(4_294_967_295_000_000_000 + 4_294_967_295_000));
    }
}
