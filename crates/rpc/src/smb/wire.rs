//! What both SMB dialects share on the wire: the NetBIOS session message that frames every
//! SMB message on TCP 445 / 139 (type 0x00 and a 24-bit big-endian length, then the message),
//! the magic numbers that start SMB1, SMB2 and SMB3-encrypted messages, and checked
//! little-endian readers.

pub const SMB2_MAGIC: &[u8; 4] = b"\xfeSMB";
pub const SMB1_MAGIC: &[u8; 4] = b"\xffSMB";
pub const SMB3_TRANSFORM_MAGIC: &[u8; 4] = b"\xfdSMB";

/// Requests kept waiting for their reply, per connection (SMB2, and SMB1 likewise).
pub(crate) const MAX_PENDING: usize = 4096;

/// Is there a NetBIOS session message with an SMB header at `b[i..]`?
pub fn netbios_smb_at(b: &[u8], i: usize) -> bool {
    match i.checked_add(8).and_then(|end| b.get(i..end)) {
        Some([0, l0, l1, l2, m0, m1, m2, m3]) => {
            let len = u32::from_be_bytes([0, *l0, *l1, *l2]) as usize;
            let magic = [*m0, *m1, *m2, *m3];
            len >= 32
                && (&magic == SMB2_MAGIC || &magic == SMB1_MAGIC || &magic == SMB3_TRANSFORM_MAGIC)
        }
        _ => false,
    }
}

pub(crate) fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}
pub(crate) fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}
pub(crate) fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
}
/// An SMB2 FileId (16 bytes) at `at`.
pub(crate) fn file_id(b: &[u8], at: usize) -> Option<[u8; 16]> {
    b.get(at..at.checked_add(16)?)?.try_into().ok()
}
/// UTF-16LE text (at most 512 code units; bad surrogates become U+FFFD).
pub(crate) fn utf16(b: &[u8]) -> String {
    let units =
        b.chunks_exact(2).take(512).filter_map(|c| c.try_into().ok()).map(u16::from_le_bytes);
    char::decode_utf16(units).map(|r| r.unwrap_or('\u{fffd}')).collect()
}
/// `len` bytes at `off` (from the SMB header start) of message `m`.
pub(crate) fn slice_at(m: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    m.get(off..off.checked_add(len)?)
}
