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

use tracehound_flows::Dir;

use super::pipes::{Cx, PipeKey};
use super::wire::{le16, le32, MAX_PENDING, SMB1_MAGIC};

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

/// SMB1 state of one connection (inside `SmbConn`).
#[derive(Debug, Default)]
pub(crate) struct Smb1State {
    pending: HashMap<u32, Req1>,
    /// TIDs of IPC$ tree connects.
    ipc_trees: Vec<u16>,
    error_noted: bool,
}

/// The pipe key of an SMB1 FID (in the same table as SMB2 FileIds; a connection speaks one
/// dialect, and the marker keeps the two apart anyway).
pub(crate) fn pipe_key(fid: u16) -> PipeKey {
    let [f0, f1] = fid.to_le_bytes();
    [b'S', b'M', b'B', b'1', f0, f1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
}

/// A view of one SMB1 message.
#[derive(Clone, Copy, Debug)]
pub struct Smb1<'a> {
    pub msg: &'a [u8],
}

impl<'a> Smb1<'a> {
    pub fn new_checked(msg: &'a [u8]) -> Option<Smb1<'a>> {
        (msg.len() >= HEADER_LEN && msg.starts_with(SMB1_MAGIC)).then_some(Smb1 { msg })
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

/// One command block of a message: the command, its parameter words and data bytes
/// (`bytes` start at `bytes_at` in the message).
#[derive(Clone, Copy, Debug)]
struct Block<'a> {
    command: u8,
    words: &'a [u8],
    bytes: &'a [u8],
    bytes_at: usize,
}

impl Smb1State {
    /// One SMB1 message.
    pub(super) fn message(&mut self, cx: &mut Cx<'_, '_>, msg: &[u8]) {
        let Some(m) = Smb1::new_checked(msg) else {
            self.error(cx, "SMB1 header shorter than 32 bytes");
            return;
        };
        let mut command = m.command();
        let mut at = HEADER_LEN;
        for _ in 0..MAX_ANDX {
            let Some((words, bytes, bytes_at)) = m.block(at) else {
                self.error(
                    cx,
                    &format!("SMB1 command 0x{command:02x}: parameter or data block runs past the message (offset {at})"),
                );
                return;
            };
            let block = Block { command, words, bytes, bytes_at };
            if m.is_reply() {
                self.reply(cx, &m, &block);
            } else {
                self.request(cx, &m, &block);
            }
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

    /// The `len` pipe bytes at `off` in `m`, to the pipe of `fid` (`side` `Dir::Orig`: client
    /// to server, `Dir::Resp`: server to client); `what` names them when they run past the
    /// message.
    fn pipe_bytes(
        &mut self,
        cx: &mut Cx<'_, '_>,
        m: &Smb1<'_>,
        (fid, side): (u16, Dir),
        (off, len): (usize, usize),
        what: &str,
    ) {
        match m.at(off, len) {
            Some(data) => cx.pipe_data(pipe_key(fid), side, data),
            None => self.error(cx, &format!("SMB1 {what} data runs past the message")),
        }
    }

    /// A message that lies: counted, and reported once per connection.
    fn error(&mut self, cx: &mut Cx<'_, '_>, what: &str) {
        cx.out.stats.smb_errors += 1;
        if !self.error_noted {
            self.error_noted = true;
            cx.issue(format!("smb: {what}"));
        }
    }

    fn request(&mut self, cx: &mut Cx<'_, '_>, m: &Smb1<'_>, block: &Block<'_>) {
        let Block { command, words, bytes, bytes_at } = *block;
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
                self.pipe_bytes(cx, m, (fid, Dir::Orig), (off, len), "WRITE_ANDX");
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
                        self.pipe_bytes(cx, m, (fid, Dir::Orig), (off, count), "TransactNmPipe");
                        Some(Req1::Transact(fid))
                    }
                    _ => None,
                }
            }
            cmd::CLOSE => {
                if let Some(fid) = le16(words, 0) {
                    cx.close_pipe(&pipe_key(fid));
                }
                None
            }
            _ => None,
        };
        if let Some(r) = req {
            if self.pending.len() >= MAX_PENDING {
                cx.note_cap("SMB1 requests in flight");
            } else {
                self.pending.insert(m.key(), r);
            }
        }
    }

    fn reply(&mut self, cx: &mut Cx<'_, '_>, m: &Smb1<'_>, block: &Block<'_>) {
        let words = block.words;
        // Reply. Only the first command of a chain carries the request's key.
        let Some(req) = self.pending.remove(&m.key()) else { return };
        let status = m.status();
        // STATUS_BUFFER_OVERFLOW: a pipe message larger than the read; the data is valid
        let ok = status == 0 || status == 0x8000_0005;
        match req {
            Req1::TreeConnect { ipc } => {
                if status == 0 && ipc && self.ipc_trees.len() < 1024 {
                    self.ipc_trees.push(m.tid());
                }
            }
            Req1::Create { name, tid } => {
                let Some(fid) = le16(words, 5).filter(|_| status == 0) else { return };
                // Tree connect not seen: decide by content later (as for SMB2).
                let ipc = self.ipc_trees.is_empty() || self.ipc_trees.contains(&tid);
                if ipc {
                    cx.open_pipe(pipe_key(fid), &name);
                }
            }
            // READ_ANDX reply: DataLength at word 10, DataOffset at 12; TRANSACTION reply:
            // DataCount at 12, DataOffset at 14.
            Req1::Read(fid) if ok => {
                let (len, off) = (le16(words, 10).unwrap_or(0), le16(words, 12).unwrap_or(0));
                let span = (off as usize, len as usize);
                self.pipe_bytes(cx, m, (fid, Dir::Resp), span, "READ_ANDX reply");
            }
            Req1::Transact(fid) if ok => {
                let (len, off) = (le16(words, 12).unwrap_or(0), le16(words, 14).unwrap_or(0));
                let span = (off as usize, len as usize);
                self.pipe_bytes(cx, m, (fid, Dir::Resp), span, "TransactNmPipe reply");
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
