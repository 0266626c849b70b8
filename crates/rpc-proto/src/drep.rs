//! The data representation format label (C706 14.1): four bytes in every PDU header that
//! give the integer byte order (byte 0, high nibble: 0 = big, 1 = little endian), the
//! character set (byte 0, low nibble: 0 = ASCII, 1 = EBCDIC) and the floating-point format
//! (byte 1). A leaf: [`crate::ndr`] and [`crate::uuid`] both build on it.

/// Data representation format label (C706 14.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Drep {
    pub little_endian: bool,
    pub char_ebcdic: bool,
    /// Floating-point representation: 0 IEEE, 1 VAX, 2 Cray, 3 IBM.
    pub float: u8,
}

impl Drep {
    /// Little endian, ASCII, IEEE (`10 00 00 00`): what Windows sends.
    pub const LE: Drep = Drep { little_endian: true, char_ebcdic: false, float: 0 };
    /// Big endian, ASCII, IEEE (`00 00 00 00`).
    pub const BE: Drep = Drep { little_endian: false, char_ebcdic: false, float: 0 };

    pub fn from_bytes(b: [u8; 4]) -> Drep {
        Drep { little_endian: b[0] & 0xf0 == 0x10, char_ebcdic: b[0] & 0x0f == 0x01, float: b[1] }
    }

    pub fn to_bytes(self) -> [u8; 4] {
        let mut b0 = 0u8;
        if self.little_endian {
            b0 |= 0x10;
        }
        if self.char_ebcdic {
            b0 |= 0x01;
        }
        [b0, self.float, 0, 0]
    }
}

impl Default for Drep {
    fn default() -> Drep {
        Drep::LE
    }
}
