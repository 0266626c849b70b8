//! SMB2/3 (MS-SMB2 2.2.1) over direct TCP (445): a 4-byte NetBIOS session header
//! (type 0, 24-bit length) framing one or more 64-byte SMB2 headers (compound requests chain
//! them with `NextCommand`). The header is decoded (command, flags, message id, status,
//! session and tree ids); for the commands that authenticate or open something (NEGOTIATE,
//! SESSION_SETUP, TREE_CONNECT, CREATE) the message is waited for in full (up to
//! [`MAX_DETAIL`] bytes) and the body read: the security buffer (SPNEGO / NTLM / Kerberos,
//! see [`crate::auth::token`]), the share path, the file or pipe name.
//! Encrypted SMB3 (transform header `0xFD 'SMB'`) and SMB1 are framed and skipped.

use crate::reader::{ParseError, Reader};
use crate::stream::Head;

/// Largest NetBIOS session message (24-bit length).
pub const MAX_MESSAGE: u64 = 0x00ff_ffff;
pub const STATUS_PENDING: u32 = 0x0000_0103;
const FLAG_RESPONSE: u32 = 0x1;
const FLAG_ASYNC: u32 = 0x2;
/// Headers decoded per compound message.
const MAX_CHAIN: usize = 16;

/// Messages of the commands below up to this size are waited for in full.
pub const MAX_DETAIL: u64 = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub command: u16,
    pub response: bool,
    pub is_async: bool,
    pub message_id: u64,
    pub status: u32,
    pub session_id: u64,
    /// Sync headers only (0 for async).
    pub tree_id: u32,
    pub detail: Option<Box<Detail>>,
}

/// What the body of an authenticating or opening command says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detail {
    /// NEGOTIATE response: the dialect chosen (0x02ff = "wildcard, SMB2 negotiate again").
    Negotiate { dialect: u16 },
    /// SESSION_SETUP request or response: the security buffer's content.
    SessionSetup(Box<crate::auth::TokenInfo>),
    /// TREE_CONNECT request: `\\server\share`.
    TreeConnect { path: String },
    /// CREATE request: the file or pipe name.
    Create { name: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    Smb2(Vec<Header>),
    /// SMB3 transform (encrypted) or compression header.
    Encrypted,
    Smb1,
    /// NetBIOS keep-alive or session request.
    Netbios(u8),
}

pub fn looks_like(d: &[u8]) -> bool {
    matches!((d.first(), d.get(4..8)), (Some(0), Some(m)) if m == b"\xfeSMB" || m == b"\xffSMB" || m == b"\xfdSMB" || m == b"\xfcSMB")
}

/// Frame the next NetBIOS message at the start of `d`.
pub fn head(d: &[u8]) -> Result<Head<Msg>, ParseError> {
    if d.len() < 4 {
        return Ok(Head::Need);
    }
    let mut r = Reader::new(d);
    let ty = r.u8("NetBIOS type")?;
    let len = r.u24("NetBIOS length")? as u64;
    let total = 4 + len;
    if ty != 0 {
        if !matches!(ty, 0x81..=0x85) {
            return Err(ParseError::invalid(
                "NetBIOS session header",
                0,
                format!("message type 0x{ty:02x}"),
            ));
        }
        return Ok(Head::Frame { total, info: Msg::Netbios(ty) });
    }
    if len == 0 {
        return Ok(Head::Frame { total, info: Msg::Netbios(0) });
    }
    let avail = d.len().min(total as usize);
    if avail < 4 + 64 && (d.len() as u64) < total {
        return Ok(Head::Need);
    }
    // the commands whose body we read: wait for the whole message
    let cmd = d.get(16..18).map(|b| b.iter().rev().fold(0u16, |a, &x| (a << 8) | x as u16));
    if matches!(cmd, Some(0 | 1 | 3 | 5)) && total <= MAX_DETAIL && (d.len() as u64) < total {
        return Ok(Head::Need);
    }
    let body = d.get(4..avail).unwrap_or(&[]);
    let info = match body.get(..4) {
        Some(b"\xfeSMB") => Msg::Smb2(chain(body)?),
        Some(b"\xfdSMB") | Some(b"\xfcSMB") => Msg::Encrypted,
        Some(b"\xffSMB") => Msg::Smb1,
        _ => {
            return Err(ParseError::invalid(
                "SMB header",
                4,
                format!("protocol id {:02x?} is not SMB", body.get(..4).unwrap_or(&[])),
            ))
        }
    };
    Ok(Head::Frame { total, info })
}

/// The SMB2 headers of one message (as far as buffered).
fn chain(body: &[u8]) -> Result<Vec<Header>, ParseError> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while out.len() < MAX_CHAIN {
        let Some(h) = body.get(off..) else { break };
        if h.len() < 64 {
            if out.is_empty() {
                return Err(ParseError::Short {
                    what: "SMB2 header",
                    at: off + 4,
                    need: 64,
                    have: h.len(),
                });
            }
            break;
        }
        let mut r = Reader::new(h);
        let magic = r.take(4, "ProtocolId")?;
        if magic != b"\xfeSMB" {
            return Err(ParseError::invalid(
                "SMB2 header",
                off + 4,
                "bad ProtocolId in compound chain",
            ));
        }
        let ss = r.u16le("StructureSize")?;
        if ss != 64 {
            return Err(ParseError::invalid("SMB2 header", off + 8, format!("StructureSize {ss}")));
        }
        r.u16le("CreditCharge")?;
        let status = r.u32le("Status")?;
        let command = r.u16le("Command")?;
        r.u16le("Credit")?;
        let flags = r.u32le("Flags")?;
        let next = r.u32le("NextCommand")? as usize;
        let message_id = r.u64le("MessageId")?;
        let is_async = flags & FLAG_ASYNC != 0;
        r.skip(4, "Reserved")?;
        let tree_id = if is_async { 0 } else { r.u32le("TreeId")? };
        if is_async {
            r.skip(4, "AsyncId high")?;
        }
        let session_id = r.u64le("SessionId")?;
        let response = flags & FLAG_RESPONSE != 0;
        let end = if next >= 64 { next.min(h.len()) } else { h.len() };
        let detail = detail(h.get(..end).unwrap_or(&[]), command, response, status);
        out.push(Header {
            command,
            response,
            is_async,
            message_id,
            status,
            session_id,
            tree_id,
            detail,
        });
        if next == 0 {
            break;
        }
        if next < 64 {
            return Err(ParseError::invalid(
                "SMB2 NextCommand",
                off + 24,
                format!("{next} is inside the header"),
            ));
        }
        off = off.saturating_add(next);
    }
    Ok(out)
}

pub fn command_name(c: u16) -> crate::Text {
    let s = match c {
        0 => "NEGOTIATE",
        1 => "SESSION_SETUP",
        2 => "LOGOFF",
        3 => "TREE_CONNECT",
        4 => "TREE_DISCONNECT",
        5 => "CREATE",
        6 => "CLOSE",
        7 => "FLUSH",
        8 => "READ",
        9 => "WRITE",
        10 => "LOCK",
        11 => "IOCTL",
        12 => "CANCEL",
        13 => "ECHO",
        14 => "QUERY_DIRECTORY",
        15 => "CHANGE_NOTIFY",
        16 => "QUERY_INFO",
        17 => "SET_INFO",
        18 => "OPLOCK_BREAK",
        n => return format!("command 0x{n:04x}").into(),
    };
    s.into()
}

/// The body of one command (`h` is the SMB2 header + body; offsets count from the header).
fn detail(h: &[u8], command: u16, response: bool, status: u32) -> Option<Box<Detail>> {
    let mut r = Reader::new(h.get(64..)?);
    let buf = |off: u16, len: usize| crate::reader::slice(h, off as usize, len);
    let d = match (command, response) {
        (0, true) if status == 0 => {
            r.skip(4, "StructureSize, SecurityMode").ok()?;
            Detail::Negotiate { dialect: r.u16le("DialectRevision").ok()? }
        }
        (1, false) => {
            r.skip(12, "StructureSize … Channel").ok()?;
            let (off, len) = (r.u16le("SecurityBufferOffset").ok()?, r.u16le("Length").ok()?);
            Detail::SessionSetup(Box::new(crate::auth::token(buf(off, len as usize)?)))
        }
        (1, true) => {
            r.skip(4, "StructureSize, SessionFlags").ok()?;
            let (off, len) = (r.u16le("SecurityBufferOffset").ok()?, r.u16le("Length").ok()?);
            Detail::SessionSetup(Box::new(crate::auth::token(
                buf(off, len as usize).unwrap_or(&[]),
            )))
        }
        (3, false) => {
            r.skip(4, "StructureSize, Flags").ok()?;
            let (off, len) = (r.u16le("PathOffset").ok()?, r.u16le("PathLength").ok()?);
            Detail::TreeConnect { path: crate::reader::utf16le(buf(off, len as usize)?, 260) }
        }
        (5, false) => {
            r.skip(44, "CREATE fixed part").ok()?;
            let (off, len) = (r.u16le("NameOffset").ok()?, r.u16le("NameLength").ok()?);
            Detail::Create { name: crate::reader::utf16le(buf(off, len as usize)?, 260) }
        }
        _ => return None,
    };
    Some(Box::new(d))
}

/// NTSTATUS names (MS-ERREF 2.3.1) for the codes SMB2 commonly returns.
pub fn status_name(s: u32) -> crate::Text {
    let n = match s {
        0x0000_0000 => "STATUS_SUCCESS",
        0x0000_0103 => "STATUS_PENDING",
        0x0000_010b => "STATUS_NOTIFY_CLEANUP",
        0x0000_010c => "STATUS_NOTIFY_ENUM_DIR",
        0x8000_0005 => "STATUS_BUFFER_OVERFLOW",
        0x8000_0006 => "STATUS_NO_MORE_FILES",
        0xc000_000d => "STATUS_INVALID_PARAMETER",
        0xc000_000f => "STATUS_NO_SUCH_FILE",
        0xc000_0010 => "STATUS_INVALID_DEVICE_REQUEST",
        0xc000_0011 => "STATUS_END_OF_FILE",
        0xc000_0016 => "STATUS_MORE_PROCESSING_REQUIRED",
        0xc000_0022 => "STATUS_ACCESS_DENIED",
        0xc000_0023 => "STATUS_BUFFER_TOO_SMALL",
        0xc000_0033 => "STATUS_OBJECT_NAME_INVALID",
        0xc000_0034 => "STATUS_OBJECT_NAME_NOT_FOUND",
        0xc000_0035 => "STATUS_OBJECT_NAME_COLLISION",
        0xc000_003a => "STATUS_OBJECT_PATH_NOT_FOUND",
        0xc000_0043 => "STATUS_SHARING_VIOLATION",
        0xc000_0061 => "STATUS_PRIVILEGE_NOT_HELD",
        0xc000_006a => "STATUS_WRONG_PASSWORD",
        0xc000_006d => "STATUS_LOGON_FAILURE",
        0xc000_0071 => "STATUS_PASSWORD_EXPIRED",
        0xc000_0072 => "STATUS_ACCOUNT_DISABLED",
        0xc000_00b5 => "STATUS_IO_TIMEOUT",
        0xc000_00ba => "STATUS_FILE_IS_A_DIRECTORY",
        0xc000_00bb => "STATUS_NOT_SUPPORTED",
        0xc000_00c9 => "STATUS_NETWORK_NAME_DELETED",
        0xc000_00cc => "STATUS_BAD_NETWORK_NAME",
        0xc000_0120 => "STATUS_CANCELLED",
        0xc000_0128 => "STATUS_FILE_CLOSED",
        0xc000_015b => "STATUS_LOGON_TYPE_NOT_GRANTED",
        0xc000_0203 => "STATUS_USER_SESSION_DELETED",
        0xc000_020c => "STATUS_CONNECTION_DISCONNECTED",
        0xc000_0234 => "STATUS_ACCOUNT_LOCKED_OUT",
        0xc000_035c => "STATUS_NETWORK_SESSION_EXPIRED",
        0xc000_0225 => "STATUS_NOT_FOUND",
        n => return format!("0x{n:08x}").into(),
    };
    n.into()
}

/// NTSTATUS severity "error" (0xC…), except the normal multi-leg session setup.
pub fn status_is_error(s: u32) -> bool {
    s >> 30 == 3 && s != 0xc000_0016
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn hostile_headers() {
        // NetBIOS says 0xffffff bytes, 4 of "SMB2" data: need more, no panic
        let d = [0, 0xff, 0xff, 0xff, 0xfe, b'S', b'M', b'B'];
        assert!(matches!(head(&d).unwrap(), Head::Need));
        // a compound whose NextCommand points inside the header
        let mut m = vec![0, 0, 0, 64];
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\xfeSMB");
        h[4] = 64;
        h[20] = 8;
        m.extend_from_slice(&h);
        assert!(head(&m).is_err());
        h[20] = 0;
        let mut ok = vec![0, 0, 0, 64];
        ok.extend_from_slice(&h);
        assert!(matches!(head(&ok).unwrap(), Head::Frame { total: 68, .. }));
        for n in 0..ok.len() {
            let _ = head(&ok[..n]);
        }
    }
}
