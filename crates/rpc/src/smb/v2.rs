//! SMB2 messages on a named pipe (MS-SMB2 2.2): the message view and the commands followed
//! (TREE_CONNECT, CREATE, READ, WRITE, IOCTL FSCTL_PIPE_TRANSCEIVE, CLOSE). The framing and
//! the pipe state are in [`super`].

use tracehound_flows::{Dir, FlowInfo, Timestamp};

use super::*;
use crate::calls::Out;

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

impl SmbConn {
    /// One SMB2 message of a compound chain; `last_create` is the FileId of the chain's CREATE.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn smb2(
        &mut self,
        out: &mut Out,
        flow: &FlowInfo,
        dir: Dir,
        m: Smb2<'_>,
        frame: u64,
        ts: Timestamp,
        last_create: &mut Option<[u8; 16]>,
    ) {
        if m.is_response() {
            self.smb2_response(out, flow, dir, m, frame, ts, last_create);
        } else {
            self.smb2_request(out, flow, dir, m, frame, ts, last_create);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn smb2_request(
        &mut self,
        out: &mut Out,
        flow: &FlowInfo,
        dir: Dir,
        m: Smb2<'_>,
        frame: u64,
        ts: Timestamp,
        last_create: &mut Option<[u8; 16]>,
    ) {
        let b = m.body();
        let related = m.flags() & 4 != 0;
        let fix = |id: [u8; 16], last: &Option<[u8; 16]>| {
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
                        self.pipe_data(out, flow, dir, id, 0, data, frame, ts);
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
                            self.pipe_data(out, flow, dir, id, 0, data, frame, ts);
                        }
                        Some(Req::Ioctl(id))
                    }
                    _ => None,
                }
            }
            cmd::CLOSE => {
                if let Some(id) = file_id(b, 8) {
                    if let Some(mut p) = self.pipes.remove(&id) {
                        p.assoc.finish(out);
                    }
                }
                None
            }
            _ => None,
        };
        if let Some(r) = req {
            if self.pending.len() >= MAX_PENDING {
                self.note_cap(out, flow, dir, frame, "SMB2 requests in flight");
            } else {
                self.pending.insert(m.message_id(), r);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn smb2_response(
        &mut self,
        out: &mut Out,
        flow: &FlowInfo,
        dir: Dir,
        m: Smb2<'_>,
        frame: u64,
        ts: Timestamp,
        last_create: &mut Option<[u8; 16]>,
    ) {
        let b = m.body();
        // Response.
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
                    self.open_pipe(out, flow, dir, frame, id, &name);
                }
            }
            Req::Read(id) => {
                if ok {
                    let (off, len) =
                        (b.get(2).copied().unwrap_or(0) as usize, le32(b, 4).unwrap_or(0) as usize);
                    if let Some(data) = slice_at(m.msg, off, len) {
                        self.pipe_data(out, flow, dir, id, 1, data, frame, ts);
                    }
                }
            }
            Req::Ioctl(id) => {
                if ok {
                    let (off, len) =
                        (le32(b, 32).unwrap_or(0) as usize, le32(b, 36).unwrap_or(0) as usize);
                    if let Some(data) = slice_at(m.msg, off, len) {
                        self.pipe_data(out, flow, dir, id, 1, data, frame, ts);
                    }
                }
            }
        }
    }
}
