//! Checked little-endian reads from byte slices: every Windows trace format here is
//! little-endian, and every read says `None` instead of panicking when the bytes are short.

#[inline]
pub(crate) fn u8_at(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}

#[inline]
pub(crate) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let a: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_le_bytes(a))
}

#[inline]
pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let a: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(a))
}

#[inline]
pub(crate) fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let a: [u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(a))
}

#[inline]
pub(crate) fn i64_at(b: &[u8], at: usize) -> Option<i64> {
    u64_at(b, at).map(|v| v as i64)
}

/// `len` bytes at `at`, if the slice holds them.
#[inline]
pub(crate) fn slice_at(b: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    b.get(at..at.checked_add(len)?)
}

/// A UTF-16LE string of `bytes` bytes (stops at the first NUL), lossily decoded.
pub(crate) fn utf16_lossy(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .filter_map(|c| c.try_into().ok().map(u16::from_le_bytes))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// A NUL-terminated UTF-16LE string starting at `at`: its text and the offset just past its
/// terminator. `None` when no terminator comes before the end of `b`.
pub(crate) fn wstring_at(b: &[u8], at: usize) -> Option<(String, usize)> {
    let rest = b.get(at..)?;
    let mut i = 0usize;
    while let Some(u) = u16_at(rest, i) {
        if u == 0 {
            let text = utf16_lossy(rest.get(..i)?);
            return Some((text, at.checked_add(i)?.checked_add(2)?));
        }
        i = i.checked_add(2)?;
    }
    None
}

/// A GUID as Windows prints it (lower case, no braces): `data1-data2-data3-data4[0..2]-data4[2..]`.
pub(crate) fn guid_at(b: &[u8], at: usize) -> Option<Guid> {
    let a: [u8; 16] = slice_at(b, at, 16)?.try_into().ok()?;
    Some(Guid(a))
}

/// A GUID in its on-disk (little-endian fields) byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// From its textual fields (`0x2ed6006e, 0x4729, 0x4609, [0xb4, ...]`).
    pub const fn new(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Guid {
        let a = d1.to_le_bytes();
        let b = d2.to_le_bytes();
        let c = d3.to_le_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4],
            d4[5], d4[6], d4[7],
        ])
    }
}

impl std::fmt::Display for Guid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = &self.0;
        let d1 = u32::from_le_bytes([g[0], g[1], g[2], g[3]]);
        let d2 = u16::from_le_bytes([g[4], g[5]]);
        let d3 = u16::from_le_bytes([g[6], g[7]]);
        write!(f, "{d1:08x}-{d2:04x}-{d3:04x}-{:02x}{:02x}-", g[8], g[9])?;
        for x in &g[10..16] {
            write!(f, "{x:02x}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for Guid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
