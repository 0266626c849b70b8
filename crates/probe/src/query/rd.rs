//! A checked byte reader for the binary protocols (DNS, SMB2, NetBIOS, STUN, TLS): every
//! read is bounds-checked and a failure names the field and the offset.

/// Malformed reply: what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed reply at offset {offset}: {what}")]
pub struct Malformed {
    pub offset: usize,
    pub what: String,
}

#[derive(Debug, Clone)]
pub struct Rd<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Rd<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Rd { buf, pos: 0 }
    }
    pub fn at(buf: &'a [u8], pos: usize) -> Self {
        Rd { buf, pos }
    }
    pub fn pos(&self) -> usize {
        self.pos
    }
    pub fn left(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    pub fn buf(&self) -> &'a [u8] {
        self.buf
    }
    pub fn err(&self, what: impl Into<String>) -> Malformed {
        Malformed { offset: self.pos, what: what.into() }
    }
    pub fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Malformed> {
        let end =
            self.pos.checked_add(n).ok_or_else(|| self.err(format!("{what}: length overflow")))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| self.err(format!("{what}: need {n} bytes, {} left", self.left())))?;
        self.pos = end;
        Ok(s)
    }
    pub fn u8(&mut self, what: &str) -> Result<u8, Malformed> {
        Ok(self.take(1, what)?[0])
    }
    pub fn u16be(&mut self, what: &str) -> Result<u16, Malformed> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    pub fn u16le(&mut self, what: &str) -> Result<u16, Malformed> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub fn u24be(&mut self, what: &str) -> Result<u32, Malformed> {
        let b = self.take(3, what)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }
    pub fn u32be(&mut self, what: &str) -> Result<u32, Malformed> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u32le(&mut self, what: &str) -> Result<u32, Malformed> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64le(&mut self, what: &str) -> Result<u64, Malformed> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    pub fn skip(&mut self, n: usize, what: &str) -> Result<(), Malformed> {
        self.take(n, what).map(|_| ())
    }
}

/// Hex for short byte strings (at most 64 bytes shown).
pub fn hex(b: &[u8]) -> String {
    let mut s: String = b.iter().take(64).map(|x| format!("{x:02x}")).collect();
    if b.len() > 64 {
        s.push('…');
    }
    s
}

/// Printable text of untrusted bytes (control characters escaped, length capped).
pub fn printable(b: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(b.get(..b.len().min(max)).unwrap_or_default());
    let mut out: String = s.chars().map(|c| if c.is_control() { '.' } else { c }).collect();
    if b.len() > max {
        out.push('…');
    }
    out
}
