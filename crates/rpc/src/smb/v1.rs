//! DCE/RPC over SMB1 named pipes ([MS-CIFS] §2.2, [MS-SMB]; MS-RPCE §2.1.1.2), for the old
//! dialect (NT LM 0.12) that Windows up to 2003/XP and SMB1-only devices still speak.
//!
//! An SMB1 message is a 32-byte little-endian header (`\xffSMB`, command at 4, NT status at 5,
//! flags at 9 with 0x80 = reply, flags2 at 10 with 0x8000 = Unicode strings, TID at 24, PID at
//! 26, UID at 28, MID at 30), then a parameter block (WordCount, 2×WordCount bytes) and a data
//! block (ByteCount, bytes). "AndX" commands chain a further command whose block starts at
//! AndXOffset from the header. For named pipes we follow:
//! - TREE_CONNECT_ANDX to `IPC$` (the path in the request; the reply header gives the TID);
//! - NT_CREATE_ANDX of a pipe name, whose reply gives the 16-bit FID;
//! - WRITE_ANDX (client to server) and READ_ANDX replies (server to client) on that FID;
//! - TRANSACTION with the TransactNmPipe setup (0x0026, FID): request and reply data;
//! - CLOSE.
//!
//! Offsets in messages are checked; a message that lies is counted as an SMB error and
//! reported once per connection, and the rest of it is skipped.

use rustc_hash::FxHashMap as HashMap;

use tracehound_flows::{Dir, FlowInfo, Timestamp};

use crate::calls::Out;
use crate::smb::{self, le16, le32, SmbConn, MAX_PENDING};

pub const HEADER_LEN: usize = 32;

/// SMB1 commands we follow.
pub mod cmd {
    pub const CLOSE: u8 = 0x04;
    pub const TRANSACTION: u8 = 0x25;
    pub const READ_ANDX: u8 = 0x2e;
    pub const WRITE_ANDX: u8 = 0x2f;
    pub const TREE_CONNECT_ANDX: u8 = 0x75;
    pub const NT_CREATE_ANDX: u8 = 0xa2;
    /// "No further command" in AndXCommand.
    pub const NO_ANDX: u8 = 0xff;
}

/// TransactNmPipe, the first setup word of a TRANSACTION on a pipe.
const TRANSACT_NMPIPE: u16 = 0x0026;
/// AndX steps followed in one message.
const MAX_ANDX: usize = 16;

/// What a request asked, kept until its reply (matched by PID and MID).
#[derive(Debug)]
pub(crate) enum Req1 {
    TreeConnect { ipc: bool },
    Create { name: String, tid: u16 },
    Read(u16),
    Transact(u16),
}

/// SMB1 state of one connection (inside [`SmbConn`]).
#[derive(Debug, Default)]
pub(crate) struct Smb1State {
    pending: HashMap<u32, Req1>,
    /// TIDs of IPC$ tree connects.
    ipc_trees: Vec<u16>,
    error_noted: bool,
}

/// The pipe key of an SMB1 FID (in the same table as SMB2 FileIds; a connection speaks one
/// dialect, and the marker keeps the two apart anyway).
pub(crate) fn pipe_key(fid: u16) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..4].copy_from_slice(b"SMB1");
    k[4..6].copy_from_slice(&fid.to_le_bytes());
    k
}

/// A view of one SMB1 message.
#[derive(Clone, Copy, Debug)]
pub struct Smb1<'a> {
    pub msg: &'a [u8],
}

impl<'a> Smb1<'a> {
    pub fn new_checked(msg: &'a [u8]) -> Option<Smb1<'a>> {
        (msg.len() >= HEADER_LEN && msg.starts_with(smb::SMB1_MAGIC)).then_some(Smb1 { msg })
    }
    pub fn command(&self) -> u8 {
        self.msg.get(4).copied().unwrap_or(0)
    }
    /// NT status (the 32-bit form; flags2 0x4000). With DOS error codes, 0 still means success.
    pub fn status(&self) -> u32 {
        le32(self.msg, 5).unwrap_or(0)
    }
    pub fn is_reply(&self) -> bool {
        self.msg.get(9).is_some_and(|f| f & 0x80 != 0)
    }
    pub fn unicode(&self) -> bool {
        le16(self.msg, 10).unwrap_or(0) & 0x8000 != 0
    }
    pub fn tid(&self) -> u16 {
        le16(self.msg, 24).unwrap_or(0)
    }
    /// PID (low 16 bits) and MID: what pairs a reply with its request.
    pub fn key(&self) -> u32 {
        (le16(self.msg, 26).unwrap_or(0) as u32) << 16 | le16(self.msg, 30).unwrap_or(0) as u32
    }
    /// The parameter words and the data bytes of the command block at `at`.
    pub fn block(&self, at: usize) -> Option<(&'a [u8], &'a [u8], usize)> {
        let wc = *self.msg.get(at)? as usize;
        let words = self.msg.get(at + 1..at + 1 + 2 * wc)?;
        let bc_at = at + 1 + 2 * wc;
        let bc = le16(self.msg, bc_at)? as usize;
        let bytes_at = bc_at + 2;
        let bytes = self.msg.get(bytes_at..bytes_at + bc)?;
        Some((words, bytes, bytes_at))
    }
    /// `len` bytes at `off` from the start of the SMB header.
    pub fn at(&self, off: usize, len: usize) -> Option<&'a [u8]> {
        self.msg.get(off..off.checked_add(len)?)
    }
}

/// Does `b` (UTF-16LE or 8-bit) name a path whose last component is `IPC$`?
fn is_ipc_path(b: &[u8], unicode: bool) -> bool {
    let text: String = if unicode {
        // skip a pad byte before the string when it is odd-aligned
        let s = if b.len() % 2 == 1 { b.get(1..).unwrap_or(b) } else { b };
        char::decode_utf16(
            s.chunks_exact(2).filter_map(|c| c.try_into().ok()).map(u16::from_le_bytes),
        )
        .map(|r| r.unwrap_or('\u{fffd}'))
        .take_while(|c| *c != '\0')
        .collect()
    } else {
        b.iter().take_while(|c| **c != 0).map(|c| *c as char).collect()
    };
    text.rsplit('\\').next().is_some_and(|last| last.eq_ignore_ascii_case("IPC$"))
}

/// The file name of an NT_CREATE_ANDX request (`bytes` start at `bytes_at` in the message).
fn create_name(m: &Smb1<'_>, words: &[u8], bytes: &[u8], bytes_at: usize) -> String {
    let len = le16(words, 5).unwrap_or(0) as usize;
    if m.unicode() {
        // Unicode strings are 2-aligned from the header start: a pad byte may come first.
        let skip = bytes_at % 2;
        let b = bytes.get(skip..).unwrap_or(&[]);
        let b = b.get(..len.min(b.len())).unwrap_or(b);
        char::decode_utf16(
            b.chunks_exact(2).take(512).filter_map(|c| c.try_into().ok()).map(u16::from_le_bytes),
        )
        .map(|r| r.unwrap_or('\u{fffd}'))
        .take_while(|c| *c != '\0')
        .collect()
    } else {
        bytes.iter().take(len.min(512)).take_while(|c| **c != 0).map(|c| *c as char).collect()
    }
}

impl SmbConn {
    /// One SMB1 message.
    pub(super) fn smb1(
        &mut self,
        out: &mut Out,
        flow: &FlowInfo,
        dir: Dir,
        msg: &[u8],
        frame: u64,
        ts: Timestamp,
    ) {
        let Some(m) = Smb1::new_checked(msg) else {
            self.smb1_error(out, flow, dir, frame, "SMB1 header shorter than 32 bytes");
            return;
        };
        let mut command = m.command();
        let mut at = HEADER_LEN;
        for _ in 0..MAX_ANDX {
            let Some((words, bytes, bytes_at)) = m.block(at) else {
                self.smb1_error(
                    out,
                    flow,
                    dir,
                    frame,
                    &format!("SMB1 command 0x{command:02x}: parameter or data block runs past the message (offset {at})"),
                );
                return;
            };
            self.smb1_command(out, flow, dir, &m, command, words, bytes, bytes_at, frame, ts);
            let andx = matches!(
                command,
                cmd::TREE_CONNECT_ANDX | cmd::NT_CREATE_ANDX | cmd::READ_ANDX | cmd::WRITE_ANDX
            );
            if !andx || words.len() < 4 || words.first() == Some(&cmd::NO_ANDX) {
                return;
            }
            let next = le16(words, 2).unwrap_or(0) as usize;
            if next <= at {
                // AndX must move forward; a reply to a failed request has none
                return;
            }
            command = words.first().copied().unwrap_or(cmd::NO_ANDX);
            at = next;
        }
    }

    /// The `len` pipe bytes at `off` in `m`, to the pipe of `fid` (`side` 0: client to server,
    /// 1: server to client); `what` names them when they run past the message.
    #[allow(clippy::too_many_arguments)]
    fn smb1_pipe_bytes(
        &mut self,
        out: &mut Out,
        flow: &FlowInfo,
        dir: Dir,
        m: &Smb1<'_>,
        (fid, side): (u16, usize),
        (off, len): (usize, usize),
        what: &str,
        frame: u64,
        ts: Timestamp,
    ) {
        match m.at(off, len) {
            Some(data) => self.pipe_data(out, flow, dir, pipe_key(fid), side, data, frame, ts),
            None => self.smb1_error(
                out,
                flow,
                dir,
                frame,
                &format!("SMB1 {what} data runs past the message"),
            ),
        }
    }

    fn smb1_error(&mut self, out: &mut Out, flow: &FlowInfo, dir: Dir, frame: u64, what: &str) {
        out.stats.smb_errors += 1;
        if !self.smb1.error_noted {
            self.smb1.error_noted = true;
            out.issue(frame, flow.src(dir), flow.dst(dir), format!("smb: {what}"));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn smb1_command(
        &mut self,
        out: &mut Out,
        flow: &FlowInfo,
        dir: Dir,
        m: &Smb1<'_>,
        command: u8,
        words: &[u8],
        bytes: &[u8],
        bytes_at: usize,
        frame: u64,
        ts: Timestamp,
    ) {
        if m.is_reply() {
            self.smb1_reply(out, flow, dir, m, words, frame, ts);
        } else {
            self.smb1_request(out, flow, dir, m, command, words, bytes, bytes_at, frame, ts);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn smb1_request(
        &mut self,
        out: &mut Out,
        flow: &FlowInfo,
        dir: Dir,
        m: &Smb1<'_>,
        command: u8,
        words: &[u8],
        bytes: &[u8],
        bytes_at: usize,
        frame: u64,
        ts: Timestamp,
    ) {
        let req = match command {
            cmd::TREE_CONNECT_ANDX => {
                let pw = le16(words, 6).unwrap_or(0) as usize;
                let path = bytes.get(pw..).unwrap_or(&[]);
                Some(Req1::TreeConnect { ipc: is_ipc_path(path, m.unicode()) })
            }
            cmd::NT_CREATE_ANDX => {
                Some(Req1::Create { name: create_name(m, words, bytes, bytes_at), tid: m.tid() })
            }
            cmd::WRITE_ANDX => {
                let fid = le16(words, 4).unwrap_or(0);
                let len = le16(words, 20).unwrap_or(0) as usize
                    | (le16(words, 18).unwrap_or(0) as usize) << 16;
                let off = le16(words, 22).unwrap_or(0) as usize;
                self.smb1_pipe_bytes(
                    out,
                    flow,
                    dir,
                    m,
                    (fid, 0),
                    (off, len),
                    "WRITE_ANDX",
                    frame,
                    ts,
                );
                None
            }
            cmd::READ_ANDX => le16(words, 4).map(Req1::Read),
            cmd::TRANSACTION => {
                let setup_count = words.get(26).copied().unwrap_or(0) as usize;
                let (op, fid) = (le16(words, 28), le16(words, 30));
                match (setup_count >= 2, op, fid) {
                    (true, Some(TRANSACT_NMPIPE), Some(fid)) => {
                        let count = le16(words, 22).unwrap_or(0) as usize;
                        let off = le16(words, 24).unwrap_or(0) as usize;
                        self.smb1_pipe_bytes(
                            out,
                            flow,
                            dir,
                            m,
                            (fid, 0),
                            (off, count),
                            "TransactNmPipe",
                            frame,
                            ts,
                        );
                        Some(Req1::Transact(fid))
                    }
                    _ => None,
                }
            }
            cmd::CLOSE => {
                if let Some(fid) = le16(words, 0) {
                    if let Some(mut p) = self.pipes.remove(&pipe_key(fid)) {
                        p.assoc.finish(out);
                    }
                }
                None
            }
            _ => None,
        };
        if let Some(r) = req {
            if self.smb1.pending.len() >= MAX_PENDING {
                self.note_cap(out, flow, dir, frame, "SMB1 requests in flight");
            } else {
                self.smb1.pending.insert(m.key(), r);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn smb1_reply(
        &mut self,
        out: &mut Out,
        flow: &FlowInfo,
        dir: Dir,
        m: &Smb1<'_>,
        words: &[u8],
        frame: u64,
        ts: Timestamp,
    ) {
        // Reply. Only the first command of a chain carries the request's key.
        let Some(req) = self.smb1.pending.remove(&m.key()) else { return };
        let status = m.status();
        // STATUS_BUFFER_OVERFLOW: a pipe message larger than the read; the data is valid
        let ok = status == 0 || status == 0x8000_0005;
        match req {
            Req1::TreeConnect { ipc } => {
                if status == 0 && ipc && self.smb1.ipc_trees.len() < 1024 {
                    self.smb1.ipc_trees.push(m.tid());
                }
            }
            Req1::Create { name, tid } => {
                let Some(fid) = le16(words, 5).filter(|_| status == 0) else { return };
                // Tree connect not seen: decide by content later (as for SMB2).
                let ipc = self.smb1.ipc_trees.is_empty() || self.smb1.ipc_trees.contains(&tid);
                if ipc {
                    self.open_pipe(out, flow, dir, frame, pipe_key(fid), &name);
                }
            }
            // READ_ANDX reply: DataLength at word 10, DataOffset at 12; TRANSACTION reply:
            // DataCount at 12, DataOffset at 14.
            Req1::Read(fid) if ok => {
                let (len, off) = (le16(words, 10).unwrap_or(0), le16(words, 12).unwrap_or(0));
                self.smb1_pipe_bytes(
                    out,
                    flow,
                    dir,
                    m,
                    (fid, 1),
                    (off as usize, len as usize),
                    "READ_ANDX reply",
                    frame,
                    ts,
                );
            }
            Req1::Transact(fid) if ok => {
                let (len, off) = (le16(words, 12).unwrap_or(0), le16(words, 14).unwrap_or(0));
                self.smb1_pipe_bytes(
                    out,
                    flow,
                    dir,
                    m,
                    (fid, 1),
                    (off as usize, len as usize),
                    "TransactNmPipe reply",
                    frame,
                    ts,
                );
            }
            Req1::Read(_) | Req1::Transact(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipc_paths() {
        let u: Vec<u8> =
            "\\\\10.0.0.1\\IPC$\0".encode_utf16().flat_map(|c| c.to_le_bytes()).collect();
        assert!(is_ipc_path(&u, true));
        let mut padded = vec![0u8];
        padded.extend_from_slice(&u);
        assert!(is_ipc_path(&padded, true));
        assert!(is_ipc_path(b"\\\\SRV\\ipc$\0", false));
        assert!(!is_ipc_path(b"\\\\SRV\\C$\0", false));
        assert!(!is_ipc_path(b"", false));
    }

    #[test]
    fn block_bounds_are_checked() {
        let mut msg = b"\xffSMB".to_vec();
        msg.resize(HEADER_LEN, 0);
        // WordCount 2 but only one word present
        msg.extend_from_slice(&[2, 0, 0]);
        let m = Smb1::new_checked(&msg).unwrap();
        assert!(m.block(HEADER_LEN).is_none());
        assert!(Smb1::new_checked(b"\xffSMB").is_none());
        assert!(m.at(usize::MAX, 2).is_none());
    }
}
