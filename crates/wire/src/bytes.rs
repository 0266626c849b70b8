//! Checked big-endian reads used by every view. Out-of-range reads return 0 instead of
//! panicking; views check their length in `new_checked` so that never happens for the
//! fixed fields, and the compiler removes most of the checks.

#[inline(always)]
pub(crate) fn u8_at(b: &[u8], off: usize) -> u8 {
    match b.get(off) {
        Some(v) => *v,
        None => 0,
    }
}

#[inline(always)]
pub(crate) fn be16(b: &[u8], off: usize) -> u16 {
    match b.get(off..).and_then(|s| s.first_chunk::<2>()) {
        Some(a) => u16::from_be_bytes(*a),
        None => 0,
    }
}

#[inline(always)]
pub(crate) fn be32(b: &[u8], off: usize) -> u32 {
    match b.get(off..).and_then(|s| s.first_chunk::<4>()) {
        Some(a) => u32::from_be_bytes(*a),
        None => 0,
    }
}

#[inline(always)]
pub(crate) fn arr<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    match b.get(off..).and_then(|s| s.first_chunk::<N>()) {
        Some(a) => *a,
        None => [0; N],
    }
}

/// `b[from..to]` clamped to the buffer (empty when out of range); never panics.
#[inline(always)]
pub(crate) fn sub(b: &[u8], from: usize, to: usize) -> &[u8] {
    let to = to.min(b.len());
    b.get(from..to).unwrap_or(&[])
}

/// `b[from..]`, empty when out of range.
#[inline(always)]
pub(crate) fn tail(b: &[u8], from: usize) -> &[u8] {
    b.get(from..).unwrap_or(&[])
}

/// Writes `v` at `off` if it fits (emit paths check the buffer length first).
#[inline]
pub(crate) fn put16(b: &mut [u8], off: usize, v: u16) {
    if let Some(s) = b.get_mut(off..).and_then(|s| s.first_chunk_mut::<2>()) {
        *s = v.to_be_bytes();
    }
}

#[inline]
pub(crate) fn put32(b: &mut [u8], off: usize, v: u32) {
    if let Some(s) = b.get_mut(off..).and_then(|s| s.first_chunk_mut::<4>()) {
        *s = v.to_be_bytes();
    }
}

#[inline]
pub(crate) fn put8(b: &mut [u8], off: usize, v: u8) {
    if let Some(s) = b.get_mut(off) {
        *s = v;
    }
}

#[inline]
pub(crate) fn put_slice(b: &mut [u8], off: usize, v: &[u8]) {
    if let Some(s) = b.get_mut(off..).and_then(|s| s.get_mut(..v.len())) {
        s.copy_from_slice(v);
    }
}
