//! IEEE 802.11 (Wi-Fi) frames as captures hold them: LINKTYPE_IEEE802_11 (105, the MAC
//! header first; what `netsh trace` on a Wi-Fi adapter and pktmon's Wi-Fi appearances record)
//! and LINKTYPE_IEEE802_11_RADIOTAP (127, a radiotap header first; monitor-mode captures).
//!
//! ```text
//! MAC header (IEEE 802.11-2020 §9.2.3):
//!   frame control(2) duration(2) addr1(6) addr2(6) addr3(6) sequence control(2)
//!   [addr4(6)          when both To DS and From DS are set]
//!   [QoS control(2)    QoS data subtypes: bit 3 of the subtype]
//!   [HT control(4)     QoS frames with the +HTC/Order flag]
//! frame control byte 0: version (bits 0-1), type (bits 2-3; 2 = data), subtype (bits 4-7;
//!   bit 2 of the subtype = no data, bit 3 = QoS)
//! frame control byte 1: To DS 0x01, From DS 0x02, More Fragments 0x04, Retry 0x08,
//!   Protected 0x40, +HTC/Order 0x80
//! body of a data frame: LLC/SNAP (RFC 1042): AA AA 03, OUI 00 00 00 (or 00 00 F8, the
//!   802.1H bridge tunnel), EtherType(2), then the network packet.
//! radiotap: version(1) = 0, pad(1), length(2, little-endian, covering the whole radiotap
//!   header), present bitmaps …: skipped by its length.
//! ```
//!
//! Only data frames carry IP. Management and control frames, null data frames, fragments after
//! the first and A-MSDU aggregates are network traffic of another kind: they are returned as
//! [`Body::NotIp`] with a reason (counted by the caller), not as errors. A protected (encrypted)
//! data frame cannot be read without the Wi-Fi keys: an error that says so. The frame check
//! sequence, when a capture keeps it, is trailing bytes after the IP packet and is ignored
//! the same way Ethernet padding is.

use crate::bytes::{be16, sub, tail, u8_at};
use crate::error::{DecodeError, Layer, What};

/// The shortest MAC header (a three-address data frame).
pub const MIN_HEADER_LEN: usize = 24;
/// LLC/SNAP: DSAP, SSAP, control, OUI(3), EtherType(2).
pub const SNAP_LEN: usize = 8;
/// The fixed part of a radiotap header (version, pad, length, first present word).
pub const RADIOTAP_MIN_LEN: usize = 8;

const TYPE_DATA: u8 = 2;

/// What the body of an 802.11 frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// A network packet with this EtherType, starting `offset` bytes into the frame.
    Packet { ethertype: u16, payload: &'a [u8], offset: usize },
    /// Not a network packet (management / control / null data / fragment / aggregate / not
    /// SNAP): the reason, for counting.
    NotIp(&'static str),
}

/// The body of an 802.11 frame (`data` starts with the MAC header).
pub fn body(data: &[u8]) -> Result<Body<'_>, DecodeError> {
    if data.len() < MIN_HEADER_LEN {
        return Err(DecodeError::truncated(Layer::Ieee80211, MIN_HEADER_LEN, data.len()));
    }
    let (fc0, fc1) = (u8_at(data, 0), u8_at(data, 1));
    if fc0 & 0x03 != 0 {
        return Err(DecodeError::new(
            Layer::Ieee80211,
            0,
            What::Version { found: fc0 & 0x03, expected: 0 },
        ));
    }
    if (fc0 >> 2) & 0x03 != TYPE_DATA {
        return Ok(Body::NotIp(if (fc0 >> 2) & 0x03 == 0 { "management" } else { "control" }));
    }
    let subtype = fc0 >> 4;
    if subtype & 0x04 != 0 {
        return Ok(Body::NotIp("null data"));
    }
    // a fragment holds part of a packet: More Fragments set, or a fragment number (the low 4
    // bits of the little-endian sequence control field) other than 0
    if fc1 & 0x04 != 0 || u8_at(data, 22) & 0x0F != 0 {
        return Ok(Body::NotIp("fragment"));
    }
    let qos = subtype & 0x08 != 0;
    let mut len = MIN_HEADER_LEN;
    if fc1 & 0x03 == 0x03 {
        len += 6;
    }
    if qos {
        // A-MSDU present: bit 7 of the QoS control field's first byte
        if data.len() >= len + 2 && u8_at(data, len) & 0x80 != 0 {
            return Ok(Body::NotIp("A-MSDU aggregate"));
        }
        len += 2;
        if fc1 & 0x80 != 0 {
            len += 4;
        }
    }
    if fc1 & 0x40 != 0 {
        return Err(DecodeError::new(Layer::Ieee80211, 1, What::Encrypted));
    }
    if data.len() < len + SNAP_LEN {
        return Err(DecodeError::truncated(Layer::Ieee80211, len + SNAP_LEN, data.len()));
    }
    let snap = sub(data, len, len + 6);
    if snap != [0xAA, 0xAA, 0x03, 0, 0, 0] && snap != [0xAA, 0xAA, 0x03, 0, 0, 0xF8] {
        return Ok(Body::NotIp("LLC without SNAP"));
    }
    let offset = len + SNAP_LEN;
    Ok(Body::Packet { ethertype: be16(data, len + 6), payload: tail(data, offset), offset })
}

/// The length of the radiotap header at the start of `data`.
pub fn radiotap_len(data: &[u8]) -> Result<usize, DecodeError> {
    if data.len() < RADIOTAP_MIN_LEN {
        return Err(DecodeError::truncated(Layer::Radiotap, RADIOTAP_MIN_LEN, data.len()));
    }
    let version = u8_at(data, 0);
    if version != 0 {
        return Err(DecodeError::new(
            Layer::Radiotap,
            0,
            What::Version { found: version, expected: 0 },
        ));
    }
    let len = usize::from(u16::from_le_bytes([u8_at(data, 2), u8_at(data, 3)]));
    if len < RADIOTAP_MIN_LEN || len > data.len() {
        return Err(DecodeError::new(
            Layer::Radiotap,
            2,
            What::HeaderLenBeyondData { len, have: data.len() },
        ));
    }
    Ok(len)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// A data frame header: frame control, 3 or 4 addresses, QoS when asked.
    fn frame(fc0: u8, fc1: u8, body: &[u8]) -> Vec<u8> {
        let mut f = vec![fc0, fc1, 0, 0];
        f.extend_from_slice(&[1; 18]);
        f.extend_from_slice(&[0x10, 0x00]); // sequence 1, fragment 0
        if fc1 & 0x03 == 0x03 {
            f.extend_from_slice(&[2; 6]);
        }
        if fc0 & 0x80 != 0 {
            f.extend_from_slice(&[0x00, 0x00]);
            if fc1 & 0x80 != 0 {
                f.extend_from_slice(&[0; 4]);
            }
        }
        f.extend_from_slice(body);
        f
    }

    const SNAP_IP: [u8; 9] = [0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00, 0x45];

    #[test]
    fn data_frames_of_every_header_shape() {
        for (fc0, fc1, at) in [
            (0x08, 0x01, 24), // data, to the AP
            (0x08, 0x02, 24), // data, from the AP
            (0x88, 0x01, 26), // QoS data
            (0x88, 0x03, 32), // QoS data, four addresses (mesh / WDS)
            (0x88, 0x81, 30), // QoS data with HT control
            (0x08, 0x03, 30),
        ] {
            let f = frame(fc0, fc1, &SNAP_IP);
            let b = body(&f).unwrap();
            assert_eq!(
                b,
                Body::Packet { ethertype: 0x0800, payload: &[0x45][..], offset: at + 8 },
                "{fc0:#x} {fc1:#x}"
            );
        }
        let mut tunnel = SNAP_IP;
        tunnel[5] = 0xF8;
        assert!(matches!(body(&frame(0x08, 0x01, &tunnel)).unwrap(), Body::Packet { .. }));
    }

    #[test]
    fn frames_without_ip_are_named_not_errors() {
        assert_eq!(body(&frame(0x80, 0, &[0; 12])).unwrap(), Body::NotIp("management"));
        assert_eq!(body(&frame(0xD4, 0, &[])).unwrap(), Body::NotIp("control"));
        assert_eq!(body(&frame(0x48, 0x01, &[])).unwrap(), Body::NotIp("null data"));
        assert_eq!(body(&frame(0xC8, 0x01, &[])).unwrap(), Body::NotIp("null data"));
        let mut frag = frame(0x08, 0x01, &SNAP_IP);
        frag[22] = 0x11;
        assert_eq!(body(&frag).unwrap(), Body::NotIp("fragment"));
        assert_eq!(body(&frame(0x08, 0x05, &SNAP_IP)).unwrap(), Body::NotIp("fragment"));
        let mut amsdu = frame(0x88, 0x01, &SNAP_IP);
        amsdu[24] = 0x80;
        assert_eq!(body(&amsdu).unwrap(), Body::NotIp("A-MSDU aggregate"));
        let llc = [0x42, 0x42, 0x03, 0, 0, 0, 0, 0];
        assert_eq!(body(&frame(0x08, 0x01, &llc)).unwrap(), Body::NotIp("LLC without SNAP"));
    }

    #[test]
    fn damaged_and_encrypted_frames_are_errors_that_say_where() {
        let e = body(&[0x08; 10]).unwrap_err();
        assert_eq!(e.what, What::Truncated { need: 24, have: 10 });
        let e = body(&frame(0x08, 0x41, &SNAP_IP)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "802.11 at offset 1: protected (encrypted) frame: needs the Wi-Fi keys"
        );
        let e = body(&frame(0x09, 0x01, &SNAP_IP)).unwrap_err();
        assert_eq!(e.what, What::Version { found: 1, expected: 0 });
        let e = body(&frame(0x88, 0x01, &SNAP_IP[..4])).unwrap_err();
        assert_eq!(e.what, What::Truncated { need: 34, have: 30 });
    }

    #[test]
    fn radiotap_is_skipped_by_its_length() {
        let mut r = vec![0, 0, 12, 0, 0x02, 0, 0, 0, 0x10, 0, 0, 0];
        assert_eq!(radiotap_len(&r).unwrap(), 12);
        r[2] = 13;
        assert!(radiotap_len(&r).is_err());
        r[2] = 4;
        assert!(radiotap_len(&r).is_err());
        r[0] = 1;
        assert!(radiotap_len(&r).is_err());
        assert!(radiotap_len(&r[..5]).is_err());
    }
}
