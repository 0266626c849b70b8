//! DCE/RPC over SMB2 named pipes (ncacn_np; MS-SMB2 §2.2, MS-RPCE §2.1.1.2).
//!
//! TCP 445 (and 139 after the NetBIOS session request) carries NetBIOS session messages:
//! a 4-byte header (type 0x00, 24-bit big-endian length) around each SMB message. An SMB2
//! message is a 64-byte little-endian header (`\xfeSMB`, command at 12, flags at 16 with
//! 0x1 = response, NextCommand at 20 chaining compound messages, MessageId at 24, TreeId
//! at 36) and a command body. For named pipes we follow:
//! - TREE_CONNECT to `\\server\IPC$` (request path; the response header gives the TreeId);
//! - CREATE of a pipe name (`lsarpc`, `srvsvc`, ...) whose response gives the 16-byte FileId;
//! - WRITE (client to server) and READ responses (server to client) on that FileId, and
//!   IOCTL FSCTL_PIPE_TRANSCEIVE (0x0011c017) input/output;
//! - CLOSE.
//!
//! The pipe bytes of each direction go through a [`PduStream`] into an `Assoc` of their
//! own, so calls carry the pipe name. SMB1 (`\xffSMB`) pipes are followed the same way by
//! [`v1`]; SMB3 encrypted messages (`\xfdSMB` transform header) are counted and
//! reported as not visible.

use rustc_hash::FxHashMap as HashMap;

use tracehound_flows::{Dir, FlowInfo, Timestamp};

use crate::assoc::Assoc;
use crate::calls::Out;
use crate::config::RpcConfig;
use crate::reassembly::{deliver, PduStream};

pub mod v1;
pub mod v2;

pub use v2::Smb2;

pub const SMB2_MAGIC: &[u8; 4] = b"\xfeSMB";
pub const SMB1_MAGIC: &[u8; 4] = b"\xffSMB";
pub const SMB3_TRANSFORM_MAGIC: &[u8; 4] = b"\xfdSMB";
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
/// Requests kept waiting for their reply, per connection (SMB2, and SMB1 likewise).
pub(crate) const MAX_PENDING: usize = 4096;
const MAX_PIPES: usize = 1024;
const MAX_TREES: usize = 1024;
/// Longest SMB message buffered whole. Longer ones (file data: SMB2 allows 8 MiB) are
/// skipped after their header, without buffering; pipe traffic never comes near this.
const MAX_BUFFERED: usize = 1 << 20;

/// Is there a NetBIOS session message with an SMB header at `b[i..]`?
pub fn netbios_smb_at(b: &[u8], i: usize) -> bool {
    match b.get(i..i + 8) {
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
fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
}
fn file_id(b: &[u8], at: usize) -> Option<[u8; 16]> {
    b.get(at..at.checked_add(16)?)?.try_into().ok()
}
fn utf16(b: &[u8]) -> String {
    let units =
        b.chunks_exact(2).take(512).filter_map(|c| c.try_into().ok()).map(u16::from_le_bytes);
    char::decode_utf16(units).map(|r| r.unwrap_or('\u{fffd}')).collect()
}
/// `len` bytes at `off` (from the SMB2 header start) of message `m`.
fn slice_at(m: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    m.get(off..off.checked_add(len)?)
}

#[derive(Debug)]
enum Req {
    TreeConnect(String),
    Create { name: String, tree: Option<u32> },
    Read([u8; 16]),
    Ioctl([u8; 16]),
}

#[derive(Debug)]
pub(crate) struct Pipe {
    /// None until the first bytes show whether the pipe carries DCE/RPC.
    rpc: Option<bool>,
    pub(crate) assoc: Assoc,
    /// 0: client to server, 1: server to client.
    streams: [PduStream; 2],
}

#[derive(Debug, Default)]
struct Framer {
    buf: Vec<u8>,
    /// Lost sync (gap): searching for the next NetBIOS+SMB header.
    lost: bool,
    /// Bytes still to skip of a large message.
    skip: u64,
}

/// SMB state of one TCP connection.
#[derive(Debug)]
pub(crate) struct SmbConn {
    max_buffer: usize,
    framers: [Framer; 2],
    trees: HashMap<u32, String>,
    pending: HashMap<u64, Req>,
    /// SMB2 FileIds, and SMB1 FIDs as [`v1::pipe_key`].
    pub(crate) pipes: HashMap<[u8; 16], Pipe>,
    pub(crate) smb1: v1::Smb1State,
    enc_noted: bool,
    cap_noted: bool,
}

impl SmbConn {
    pub fn new(max_buffer: usize) -> SmbConn {
        SmbConn {
            max_buffer,
            framers: [Framer::default(), Framer::default()],
            trees: HashMap::default(),
            pending: HashMap::default(),
            pipes: HashMap::default(),
            smb1: Default::default(),
            enc_noted: false,
            cap_noted: false,
        }
    }

    /// In-order bytes of one direction. `synced`: `data` starts at a NetBIOS header.
    #[allow(clippy::too_many_arguments)]
    pub fn data(
        &mut self,
        out: &mut Out,
        cfg: &RpcConfig,
        flow: &FlowInfo,
        dir: Dir,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
        _synced: bool,
    ) {
        let d = dir.idx();
        let cap = MAX_BUFFERED + 4 + 65_536;
        let mut data = data;
        {
            let f = &mut self.framers[d];
            if f.skip > 0 {
                let n = f.skip.min(data.len() as u64) as usize;
                f.skip -= n as u64;
                data = &data[n..];
            }
            if f.buf.len().saturating_add(data.len()) > cap.max(cfg.max_buffer) {
                out.stats.buffer_overflows += 1;
                out.issue(
                    frame,
                    flow.src(dir),
                    flow.dst(dir),
                    format!(
                        "smb: buffer limit hit, {} bytes dropped; resynchronising",
                        f.buf.len() + data.len()
                    ),
                );
                f.buf.clear();
                f.lost = true;
                return;
            }
        }
        // Nothing waiting: read the messages straight from `data` and keep only the
        // incomplete tail; else append and read from the buffer (taken out meanwhile).
        if self.framers[d].buf.is_empty() {
            let pos = self.messages(out, flow, dir, data, frame, ts);
            let rest = data.get(pos..).unwrap_or(&[]);
            self.framers[d].buf.extend_from_slice(rest);
        } else {
            let mut buf = std::mem::take(&mut self.framers[d].buf);
            buf.extend_from_slice(data);
            let pos = self.messages(out, flow, dir, &buf, frame, ts);
            buf.drain(..pos.min(buf.len()));
            self.framers[d].buf = buf;
        }
    }

    /// Handles the complete NetBIOS session messages at the start of `buf` and returns how
    /// many bytes are done with.
    fn messages(
        &mut self,
        out: &mut Out,
        flow: &FlowInfo,
        dir: Dir,
        buf: &[u8],
        frame: u64,
        ts: Timestamp,
    ) -> usize {
        let d = dir.idx();
        let mut pos = 0usize;
        loop {
            let rest = buf.get(pos..).unwrap_or(&[]);
            if self.framers[d].lost {
                match (0..rest.len().saturating_sub(7)).find(|&i| netbios_smb_at(rest, i)) {
                    Some(i) => {
                        pos += i;
                        self.framers[d].lost = false;
                        out.stats.resyncs += 1;
                        out.issue(
                            frame,
                            flow.src(dir),
                            flow.dst(dir),
                            format!("smb: resynchronised after skipping {i} bytes"),
                        );
                    }
                    None => {
                        pos += rest.len().saturating_sub(7);
                        break;
                    }
                }
            }
            let rest = buf.get(pos..).unwrap_or(&[]);
            if rest.len() < 4 {
                break;
            }
            let len = u32::from_be_bytes([0, rest[1], rest[2], rest[3]]) as usize;
            let kind = rest[0];
            let Some(msg) = rest.get(4..4 + len) else {
                if kind != 0
                    && kind != 0x81
                    && kind != 0x82
                    && kind != 0x83
                    && kind != 0x84
                    && kind != 0x85
                {
                    out.stats.smb_errors += 1;
                    out.issue(
                        frame,
                        flow.src(dir),
                        flow.dst(dir),
                        format!(
                            "smb: bad NetBIOS session message type 0x{kind:02x}; resynchronising"
                        ),
                    );
                    self.framers[d].lost = true;
                    pos += 1;
                    continue;
                }
                if len > MAX_BUFFERED {
                    // Large message: skip its body as it streams past.
                    out.stats.smb_messages += 1;
                    let have = rest.len() - 4;
                    self.framers[d].skip = (len - have) as u64;
                    pos = buf.len();
                }
                break;
            };
            match kind {
                0 => self.message(out, flow, dir, msg, frame, ts),
                0x81..=0x85 => {} // session request / responses / keepalive
                _ => {
                    out.stats.smb_errors += 1;
                    out.issue(
                        frame,
                        flow.src(dir),
                        flow.dst(dir),
                        format!(
                            "smb: bad NetBIOS session message type 0x{kind:02x}; resynchronising"
                        ),
                    );
                    self.framers[d].lost = true;
                    pos += 1;
                    continue;
                }
            }
            pos += 4 + len;
        }
        pos
    }

    pub fn gap(
        &mut self,
        out: &mut Out,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        len: u64,
        frame: u64,
    ) {
        let f = &mut self.framers[dir.idx()];
        f.buf.clear();
        if f.skip > 0 && len <= f.skip {
            // The gap falls inside a message being skipped: still in sync after it.
            f.skip -= len;
            return;
        }
        f.skip = 0;
        f.lost = true;
        out.issue(
            frame,
            flow.src(dir),
            flow.dst(dir),
            format!("smb: {len} bytes missing at stream offset {offset}; resynchronising"),
        );
    }

    fn message(
        &mut self,
        out: &mut Out,
        flow: &FlowInfo,
        dir: Dir,
        msg: &[u8],
        frame: u64,
        ts: Timestamp,
    ) {
        match msg.get(..4) {
            Some(m) if m == SMB1_MAGIC => {
                out.stats.smb1_messages += 1;
                self.smb1(out, flow, dir, msg, frame, ts);
                return;
            }
            Some(m) if m == SMB3_TRANSFORM_MAGIC => {
                out.stats.smb_encrypted += 1;
                if !self.enc_noted {
                    self.enc_noted = true;
                    out.issue(
                        frame,
                        flow.src(dir),
                        flow.dst(dir),
                        "smb: SMB3 encrypted messages: named pipe traffic not visible".into(),
                    );
                }
                return;
            }
            _ => {}
        }
        // Compound chain, bounded by the message length (each step moves forward >= 64).
        let mut at = 0usize;
        let mut last_create: Option<[u8; 16]> = None;
        for _ in 0..256 {
            let Some(m) = msg.get(at..).and_then(Smb2::new_checked) else {
                out.stats.smb_errors += 1;
                out.issue(
                    frame,
                    flow.src(dir),
                    flow.dst(dir),
                    format!("smb: not an SMB2 header at message offset {at}"),
                );
                return;
            };
            let next = m.next_command() as usize;
            let this = if next == 0 { m.msg } else { m.msg.get(..next).unwrap_or(m.msg) };
            out.stats.smb_messages += 1;
            self.smb2(out, flow, dir, Smb2 { msg: this }, frame, ts, &mut last_create);
            if next == 0 {
                return;
            }
            if next < SMB2_HEADER_LEN {
                out.stats.smb_errors += 1;
                out.issue(
                    frame,
                    flow.src(dir),
                    flow.dst(dir),
                    format!("smb: NextCommand {next} too small at message offset {at}"),
                );
                return;
            }
            at += next;
        }
    }

    pub(crate) fn note_cap(
        &mut self,
        out: &mut Out,
        flow: &FlowInfo,
        dir: Dir,
        frame: u64,
        what: &str,
    ) {
        if !self.cap_noted {
            self.cap_noted = true;
            out.issue(frame, flow.src(dir), flow.dst(dir), format!("smb: limit reached: {what}"));
        }
    }

    /// A named pipe was opened (SMB2 CREATE / SMB1 NT_CREATE_ANDX reply): follow it under
    /// `key`. Whether it carries DCE/RPC is decided by its first bytes.
    pub(crate) fn open_pipe(
        &mut self,
        out: &mut Out,
        flow: &FlowInfo,
        dir: Dir,
        frame: u64,
        key: [u8; 16],
        name: &str,
    ) {
        if self.pipes.len() >= MAX_PIPES {
            self.note_cap(out, flow, dir, frame, "named pipes");
            return;
        }
        out.stats.smb_pipes += 1;
        let name = name.trim_start_matches('\\').to_string();
        self.pipes.insert(
            key,
            Pipe {
                rpc: None,
                assoc: Assoc::new(Some(name), Some(flow.id)),
                streams: [PduStream::synced(), PduStream::synced()],
            },
        );
    }

    /// Pipe bytes; `side` 0 = client to server, 1 = server to client.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn pipe_data(
        &mut self,
        out: &mut Out,
        flow: &FlowInfo,
        dir: Dir,
        id: [u8; 16],
        side: usize,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
    ) {
        if !self.pipes.contains_key(&id) {
            // Create not seen (capture started later): follow the FileId if it carries DCE/RPC.
            if crate::pdu::check_header(data).is_err() || self.pipes.len() >= MAX_PIPES {
                return;
            }
            out.stats.smb_pipes += 1;
            self.pipes.insert(
                id,
                Pipe {
                    rpc: Some(true),
                    assoc: Assoc::new(Some("(create not seen)".into()), Some(flow.id)),
                    streams: [PduStream::synced(), PduStream::synced()],
                },
            );
        }
        let max = self.max_buffer;
        let Some(p) = self.pipes.get_mut(&id) else {
            return;
        };
        if p.rpc.is_none() {
            // Pipes carry other protocols too (e.g. PsExec's own): only DCE/RPC is followed.
            let is_rpc = crate::pdu::check_header(data).is_ok()
                || data.len() < crate::pdu::HEADER_LEN && data.first() == Some(&5);
            p.rpc = Some(is_rpc);
            if !is_rpc {
                out.stats.smb_non_rpc_pipes += 1;
            }
        }
        if p.rpc == Some(false) {
            return;
        }
        let Some(stream) = p.streams.get_mut(side) else {
            return;
        };
        deliver(
            stream,
            &mut p.assoc,
            out,
            data,
            max,
            flow.src(dir),
            flow.dst(dir),
            frame,
            ts,
            "smb pipe",
        );
    }

    pub fn finish(&mut self, out: &mut Out) {
        let mut pipes: Vec<([u8; 16], Pipe)> = self.pipes.drain().collect();
        pipes.sort_by_key(|(id, _)| *id);
        for (_, mut p) in pipes {
            p.assoc.finish(out);
        }
    }
}
