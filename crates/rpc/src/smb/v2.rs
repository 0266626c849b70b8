//! SMB2 messages on a named pipe (MS-SMB2 2.2): the message view and the commands followed
//! (TREE_CONNECT, CREATE, READ, WRITE, IOCTL FSCTL_PIPE_TRANSCEIVE, CLOSE). The framing is
//! in [`super`], the pipe table in `pipes`.

use rustc_hash::FxHashMap as HashMap;

use tracehound_flows::Dir;

use super::pipes::{Cx, PipeKey};
use super::wire::{file_id, le16, le32, le64, slice_at, utf16, MAX_PENDING, SMB2_MAGIC};

pub const SMB2_HEADER_LEN: usize = 64;
pub const FSCTL_PIPE_TRANSCEIVE: u32 = 0x0011_c017;

/// SMB2 commands we follow.
pub mod cmd {
    pub const TREE_CONNECT: u16 = 3;
    pub const CREATE: u16 = 5;
    pub const CLOSE: u16 = 6;
    pub const READ: u16 = 8;
    pub const WRITE: u16 = 9;
    pub const IOCTL: u16 = 0x0b;
}

const STATUS_PENDING: u32 = 0x0000_0103;
const STATUS_BUFFER_OVERFLOW: u32 = 0x8000_0005;
/// IPC$ tree connects remembered per connection.
const MAX_TREES: usize = 1024;

/// What a request asked, kept until its response (matched by MessageId).
#[derive(Debug)]
enum Req {
    TreeConnect(String),
    Create { name: String, tree: Option<u32> },
    Read(PipeKey),
    Ioctl(PipeKey),
}

/// SMB2 state of one connection: tree connects and requests waiting for their response.
#[derive(Debug, Default)]
pub(crate) struct Smb2State {
    trees: HashMap<u32, String>,
    pending: HashMap<u64, Req>,
}

/// A view of one SMB2 message (header + body, up to NextCommand).
#[derive(Clone, Copy, Debug)]
pub struct Smb2<'a> {
    pub msg: &'a [u8],
}

impl<'a> Smb2<'a> {
    pub fn new_checked(msg: &'a [u8]) -> Option<Smb2<'a>> {
        (msg.len() >= SMB2_HEADER_LEN && msg.get(..4)? == SMB2_MAGIC).then_some(Smb2 { msg })
    }
    pub fn status(&self) -> u32 {
        le32(self.msg, 8).unwrap_or(0)
    }
    pub fn command(&self) -> u16 {
        le16(self.msg, 12).unwrap_or(0)
    }
    pub fn flags(&self) -> u32 {
        le32(self.msg, 16).unwrap_or(0)
    }
    pub fn is_response(&self) -> bool {
        self.flags() & 1 != 0
    }
    pub fn is_async(&self) -> bool {
        self.flags() & 2 != 0
    }
    pub fn next_command(&self) -> u32 {
        le32(self.msg, 20).unwrap_or(0)
    }
    pub fn message_id(&self) -> u64 {
        le64(self.msg, 24).unwrap_or(0)
    }
    pub fn tree_id(&self) -> Option<u32> {
        (!self.is_async()).then(|| le32(self.msg, 36)).flatten()
    }
    pub fn body(&self) -> &'a [u8] {
        self.msg.get(SMB2_HEADER_LEN..).unwrap_or(&[])
    }
}

impl Smb2State {
    /// One SMB2 message of a compound chain; `last_create` is the FileId of the chain's CREATE.
    pub(super) fn message(
        &mut self,
        cx: &mut Cx<'_, '_>,
        m: Smb2<'_>,
        last_create: &mut Option<PipeKey>,
    ) {
        if m.is_response() {
            self.response(cx, m, last_create);
        } else {
            self.request(cx, m, last_create);
        }
    }

    fn request(&mut self, cx: &mut Cx<'_, '_>, m: Smb2<'_>, last_create: &Option<PipeKey>) {
        let b = m.body();
        let related = m.flags() & 4 != 0;
        let fix = |id: PipeKey, last: &Option<PipeKey>| {
            if related && id == [0xff; 16] {
                last.unwrap_or(id)
            } else {
                id
            }
        };
        let req = match m.command() {
            cmd::TREE_CONNECT => {
                let (off, len) =
                    (le16(b, 4).unwrap_or(0) as usize, le16(b, 6).unwrap_or(0) as usize);
                Some(Req::TreeConnect(slice_at(m.msg, off, len).map(utf16).unwrap_or_default()))
            }
            cmd::CREATE => {
                let (off, len) =
                    (le16(b, 44).unwrap_or(0) as usize, le16(b, 46).unwrap_or(0) as usize);
                let name = slice_at(m.msg, off, len).map(utf16).unwrap_or_default();
                Some(Req::Create { name, tree: m.tree_id() })
            }
            cmd::READ => file_id(b, 16).map(|id| Req::Read(fix(id, last_create))),
            cmd::WRITE => {
                if let Some(id) = file_id(b, 16).map(|id| fix(id, last_create)) {
                    let (off, len) =
                        (le16(b, 2).unwrap_or(0) as usize, le32(b, 4).unwrap_or(0) as usize);
                    if let Some(data) = slice_at(m.msg, off, len) {
                        cx.pipe_data(id, Dir::Orig, data);
                    }
                }
                None
            }
            cmd::IOCTL => {
                let code = le32(b, 4).unwrap_or(0);
                match file_id(b, 8).map(|id| fix(id, last_create)) {
                    Some(id) if code == FSCTL_PIPE_TRANSCEIVE => {
                        let (off, len) =
                            (le32(b, 24).unwrap_or(0) as usize, le32(b, 28).unwrap_or(0) as usize);
                        if let Some(data) = slice_at(m.msg, off, len) {
                            cx.pipe_data(id, Dir::Orig, data);
                        }
                        Some(Req::Ioctl(id))
                    }
                    _ => None,
                }
            }
            cmd::CLOSE => {
                if let Some(id) = file_id(b, 8) {
                    cx.close_pipe(&id);
                }
                None
            }
            _ => None,
        };
        if let Some(r) = req {
            if self.pending.len() >= MAX_PENDING {
                cx.note_cap("SMB2 requests in flight");
            } else {
                self.pending.insert(m.message_id(), r);
            }
        }
    }

    fn response(&mut self, cx: &mut Cx<'_, '_>, m: Smb2<'_>, last_create: &mut Option<PipeKey>) {
        let b = m.body();
        let status = m.status();
        if status == STATUS_PENDING && m.is_async() {
            return; // interim response; the final one follows
        }
        let Some(req) = self.pending.remove(&m.message_id()) else {
            return;
        };
        let ok = status == 0 || status == STATUS_BUFFER_OVERFLOW;
        match req {
            Req::TreeConnect(path) => {
                if let (true, Some(t)) = (status == 0, m.tree_id()) {
                    if self.trees.len() < MAX_TREES {
                        self.trees.insert(t, path);
                    }
                }
            }
            Req::Create { name, tree } => {
                if status != 0 {
                    return;
                }
                let Some(id) = file_id(b, 64) else { return };
                *last_create = Some(id);
                let is_pipe = match tree.and_then(|t| self.trees.get(&t)) {
                    Some(share) => share.to_ascii_uppercase().ends_with("IPC$"),
                    None => true, // tree connect not seen: decide by content later
                };
                if is_pipe {
                    cx.open_pipe(id, &name);
                }
            }
            Req::Read(id) => {
                if ok {
                    let (off, len) =
                        (b.get(2).copied().unwrap_or(0) as usize, le32(b, 4).unwrap_or(0) as usize);
                    if let Some(data) = slice_at(m.msg, off, len) {
                        cx.pipe_data(id, Dir::Resp, data);
                    }
                }
            }
            Req::Ioctl(id) => {
                if ok {
                    let (off, len) =
                        (le32(b, 32).unwrap_or(0) as usize, le32(b, 36).unwrap_or(0) as usize);
                    if let Some(data) = slice_at(m.msg, off, len) {
                        cx.pipe_data(id, Dir::Resp, data);
                    }
                }
            }
        }
    }
}
