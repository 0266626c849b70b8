//! SMB2 NEGOTIATE (MS-SMB2 2.2.3 / 2.2.4) over direct TCP 445 (4-byte transport header,
//! RFC 1002 style with a 24-bit length). Offers 2.0.2 to 3.1.1 (with the preauth-integrity
//! and encryption contexts 3.1.1 requires) and reports the chosen dialect, signing, the
//! server GUID, capabilities, and the server time.

use super::common::{ask, random_bytes, Ctx, Exchange, Output, Port, Query, QueryError};
use super::rd::{hex, Malformed, Rd};
use crate::Proto;

pub const MAX_REPLY: usize = 64 * 1024;
const DIALECTS: [u16; 5] = [0x0202, 0x0210, 0x0300, 0x0302, 0x0311];

pub fn request(client_guid: [u8; 16], salt: [u8; 32]) -> Vec<u8> {
    // SMB2 header (64 bytes)
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(b"\xfeSMB");
    h.extend_from_slice(&64u16.to_le_bytes()); // StructureSize
    h.extend_from_slice(&0u16.to_le_bytes()); // CreditCharge
    h.extend_from_slice(&0u32.to_le_bytes()); // Status
    h.extend_from_slice(&0u16.to_le_bytes()); // Command NEGOTIATE
    h.extend_from_slice(&1u16.to_le_bytes()); // CreditRequest
    h.extend_from_slice(&0u32.to_le_bytes()); // Flags
    h.extend_from_slice(&0u32.to_le_bytes()); // NextCommand
    h.extend_from_slice(&0u64.to_le_bytes()); // MessageId
    h.extend_from_slice(&0u32.to_le_bytes()); // Reserved
    h.extend_from_slice(&0u32.to_le_bytes()); // TreeId
    h.extend_from_slice(&0u64.to_le_bytes()); // SessionId
    h.extend_from_slice(&[0u8; 16]); // Signature
                                     // NEGOTIATE request
    let mut b = Vec::new();
    b.extend_from_slice(&36u16.to_le_bytes());
    b.extend_from_slice(&(DIALECTS.len() as u16).to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // SecurityMode: signing enabled
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0x7fu32.to_le_bytes()); // Capabilities
    b.extend_from_slice(&client_guid);
    let ctx_off_pos = b.len();
    b.extend_from_slice(&0u32.to_le_bytes()); // NegotiateContextOffset (patched)
    b.extend_from_slice(&2u16.to_le_bytes()); // NegotiateContextCount
    b.extend_from_slice(&0u16.to_le_bytes());
    for d in DIALECTS {
        b.extend_from_slice(&d.to_le_bytes());
    }
    while (64 + b.len()) % 8 != 0 {
        b.push(0);
    }
    let off = (64 + b.len()) as u32;
    if let Some(at) = b.get_mut(ctx_off_pos..ctx_off_pos + 4) {
        at.copy_from_slice(&off.to_le_bytes());
    }
    // PREAUTH_INTEGRITY_CAPABILITIES: 1 hash (SHA-512), 32-byte salt
    let mut c1 = Vec::new();
    c1.extend_from_slice(&1u16.to_le_bytes());
    c1.extend_from_slice(&32u16.to_le_bytes());
    c1.extend_from_slice(&1u16.to_le_bytes());
    c1.extend_from_slice(&salt);
    push_ctx(&mut b, 1, &c1);
    while (64 + b.len()) % 8 != 0 {
        b.push(0);
    }
    // ENCRYPTION_CAPABILITIES: AES-128-GCM, AES-128-CCM
    push_ctx(&mut b, 2, &[2, 0, 2, 0, 1, 0]);
    let mut msg = Vec::with_capacity(4 + 64 + b.len());
    let len = (h.len() + b.len()) as u32;
    msg.extend_from_slice(&len.to_be_bytes());
    msg.extend(h);
    msg.extend(b);
    msg
}

fn push_ctx(b: &mut Vec<u8>, ty: u16, data: &[u8]) {
    b.extend_from_slice(&ty.to_le_bytes());
    b.extend_from_slice(&(data.len() as u16).to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(data);
}

pub fn complete(b: &[u8]) -> Option<usize> {
    let n = u32::from_be_bytes([*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?]);
    let n = (n & 0x00ff_ffff) as usize + 4;
    (b.len() >= n || n > MAX_REPLY).then_some(n)
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Negotiate {
    pub dialect: String,
    pub signing_enabled: bool,
    pub signing_required: bool,
    pub server_guid: String,
    pub capabilities: Vec<String>,
    pub capabilities_raw: u32,
    pub max_transact: u32,
    pub max_read: u32,
    pub max_write: u32,
    pub system_time: Option<String>,
    pub cipher: Option<String>,
    pub security_blob_len: u16,
}

pub fn dialect_name(d: u16) -> String {
    match d {
        0x0202 => "2.0.2".into(),
        0x0210 => "2.1".into(),
        0x0300 => "3.0".into(),
        0x0302 => "3.0.2".into(),
        0x0311 => "3.1.1".into(),
        0x02ff => "2.??? (wildcard)".into(),
        n => format!("0x{n:04x}"),
    }
}

fn guid(b: &[u8]) -> String {
    // GUID in its mixed-endian Windows layout.
    let &[b0, b1, b2, b3, b4, b5, b6, b7, ref clock @ ..] = b else { return hex(b) };
    if b.len() != 16 {
        return hex(b);
    }
    let (seq, node) = clock.split_at(2);
    format!(
        "{b3:02x}{b2:02x}{b1:02x}{b0:02x}-{b5:02x}{b4:02x}-{b7:02x}{b6:02x}-{}-{}",
        hex(seq),
        hex(node)
    )
}

/// FILETIME (100 ns since 1601) as UTC text.
fn filetime(ft: u64) -> Option<String> {
    if ft == 0 {
        return None;
    }
    let secs = (ft / 10_000_000).checked_sub(11_644_473_600)?;
    Some(super::tls::unix_to_utc(secs as i64))
}

pub fn parse(b: &[u8]) -> Result<Negotiate, Malformed> {
    let mut r = Rd::new(b);
    let _nb = r.u32be("transport header")?;
    let proto = r.take(4, "ProtocolId")?;
    if proto == b"\xffSMB" {
        return Err(r.err("server answered with SMB1 only (no SMB2 support)").into());
    }
    if proto != b"\xfeSMB" {
        return Err(Malformed {
            offset: 4,
            what: format!("ProtocolId {} is not SMB2", hex(proto)),
        });
    }
    let hs = r.u16le("StructureSize")?;
    if hs != 64 {
        return Err(r.err(format!("header StructureSize {hs}, expected 64")).into());
    }
    r.skip(2, "CreditCharge")?;
    let status = r.u32le("Status")?;
    let cmd = r.u16le("Command")?;
    if status != 0 {
        return Err(r.err(format!("NEGOTIATE failed with NTSTATUS 0x{status:08x}")).into());
    }
    if cmd != 0 {
        return Err(r.err(format!("reply to command {cmd}, expected NEGOTIATE (0)")).into());
    }
    let mut r = Rd::at(b, 4 + 64);
    let ss = r.u16le("StructureSize")?;
    if ss != 65 {
        return Err(r.err(format!("NEGOTIATE response StructureSize {ss}, expected 65")).into());
    }
    let sec = r.u16le("SecurityMode")?;
    let dialect = r.u16le("DialectRevision")?;
    let ctx_count = r.u16le("NegotiateContextCount")?;
    let sg = r.take(16, "ServerGuid")?;
    let caps = r.u32le("Capabilities")?;
    let max_transact = r.u32le("MaxTransactSize")?;
    let max_read = r.u32le("MaxReadSize")?;
    let max_write = r.u32le("MaxWriteSize")?;
    let systime = r.u64le("SystemTime")?;
    let _start = r.u64le("ServerStartTime")?;
    let _sb_off = r.u16le("SecurityBufferOffset")?;
    let sb_len = r.u16le("SecurityBufferLength")?;
    let ctx_off = r.u32le("NegotiateContextOffset")? as usize;
    let mut cipher = None;
    if dialect == 0x0311 && ctx_count > 0 {
        let mut c = Rd::at(b, 4usize.saturating_add(ctx_off));
        for _ in 0..ctx_count.min(16) {
            while (c.pos() - 4) % 8 != 0 && c.left() > 0 {
                c.skip(1, "context padding")?;
            }
            let ty = c.u16le("ContextType")?;
            let len = c.u16le("DataLength")? as usize;
            c.skip(4, "Reserved")?;
            let data = c.take(len, "context data")?;
            if ty == 2 {
                let mut d = Rd::new(data);
                let n = d.u16le("CipherCount")?;
                if n >= 1 {
                    cipher = Some(match d.u16le("Cipher")? {
                        0 => "none (no common cipher)".to_string(),
                        1 => "AES-128-CCM".into(),
                        2 => "AES-128-GCM".into(),
                        3 => "AES-256-CCM".into(),
                        4 => "AES-256-GCM".into(),
                        x => format!("cipher {x}"),
                    });
                }
            }
        }
    }
    let names = [
        (0x01, "DFS"),
        (0x02, "LEASING"),
        (0x04, "LARGE_MTU"),
        (0x08, "MULTI_CHANNEL"),
        (0x10, "PERSISTENT_HANDLES"),
        (0x20, "DIRECTORY_LEASING"),
        (0x40, "ENCRYPTION"),
        (0x80, "NOTIFICATIONS"),
    ];
    Ok(Negotiate {
        dialect: dialect_name(dialect),
        signing_enabled: sec & 1 != 0,
        signing_required: sec & 2 != 0,
        server_guid: guid(sg),
        capabilities: names
            .iter()
            .filter(|(b, _)| caps & b != 0)
            .map(|(_, n)| n.to_string())
            .collect(),
        capabilities_raw: caps,
        max_transact,
        max_read,
        max_write,
        system_time: filetime(systime),
        cipher,
        security_blob_len: sb_len,
    })
}

impl Negotiate {
    pub fn lines(&self) -> Vec<String> {
        let signing = if self.signing_required {
            "required"
        } else if self.signing_enabled {
            "enabled, not required"
        } else {
            "disabled"
        };
        let mut v = vec![
            format!("SMB2 NEGOTIATE: dialect {}", self.dialect),
            format!("  signing: {signing}"),
            format!("  server GUID: {}", self.server_guid),
            format!(
                "  capabilities: {} (0x{:08x})",
                self.capabilities.join(" "),
                self.capabilities_raw
            ),
            format!(
                "  max transact/read/write: {}/{}/{}",
                self.max_transact, self.max_read, self.max_write
            ),
        ];
        if let Some(c) = &self.cipher {
            v.push(format!("  encryption cipher: {c}"));
        }
        if let Some(t) = &self.system_time {
            v.push(format!("  server time: {t}"));
        }
        v
    }
}

/// The SMB2 NEGOTIATE query (TCP 445).
pub struct Smb {
    client_guid: [u8; 16],
    salt: [u8; 32],
}

impl Exchange for Smb {
    type Reply = Negotiate;
    const WHAT: &'static str = "SMB2 NEGOTIATE";
    const MAX_REPLY: usize = MAX_REPLY;

    fn new(_ctx: &Ctx) -> Self {
        Smb { client_guid: random_bytes::<16>(), salt: random_bytes::<32>() }
    }
    fn request(&self, _proto: Proto) -> Vec<u8> {
        request(self.client_guid, self.salt)
    }
    fn complete(b: &[u8]) -> Option<usize> {
        complete(b)
    }
    fn parse(&self, b: &[u8]) -> Result<Negotiate, QueryError> {
        Ok(parse(b)?)
    }
    fn lines(&self, r: &Negotiate, _ctx: &Ctx) -> Vec<String> {
        r.lines()
    }
}

impl Query for Smb {
    async fn run(ctx: &mut Ctx, at: Port, kept: Option<Vec<u8>>) -> Output {
        ask::<Self>(ctx, at, kept).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout() {
        let r = request([1; 16], [2; 32]);
        assert_eq!(complete(&r), Some(r.len()));
        assert_eq!(&r[4..8], b"\xfeSMB");
        let ctx_off = u32::from_le_bytes(r[4 + 64 + 28..4 + 64 + 32].try_into().unwrap()) as usize;
        assert_eq!(ctx_off % 8, 0);
        assert_eq!(u16::from_le_bytes([r[4 + ctx_off], r[5 + ctx_off]]), 1);
        // Parsing our own request fails cleanly (it is not a response).
        assert!(parse(&r).is_err());
        for n in 0..r.len() {
            let _ = parse(&r[..n]);
        }
    }
}
