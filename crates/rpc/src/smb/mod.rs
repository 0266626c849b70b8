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
//! The pipe bytes of each direction go through a `PduStream` into an `Assoc` of their
//! own, so calls carry the pipe name. SMB1 (`\xffSMB`) pipes are followed the same way by
//! [`v1`]; SMB3 encrypted messages (`\xfdSMB` transform header) are counted and
//! reported as not visible.
//!
//! Files: this one frames the NetBIOS session messages of a connection and hands each SMB
//! message to its dialect ([`v1`], [`v2`]); `pipes` holds the pipe table both dialects feed;
//! `wire` the magic numbers and byte readers they share.

use crate::calls::Out;
use crate::ctx::{PerDir, Seg};
use pipes::{Cx, Pipes};

mod pipes;
pub mod v1;
pub mod v2;
mod wire;

pub use v2::{cmd, Smb2, FSCTL_PIPE_TRANSCEIVE, SMB2_HEADER_LEN};
pub use wire::{netbios_smb_at, SMB1_MAGIC, SMB2_MAGIC, SMB3_TRANSFORM_MAGIC};

/// Longest SMB message buffered whole. Longer ones (file data: SMB2 allows 8 MiB) are
/// skipped after their header, without buffering; pipe traffic never comes near this.
const MAX_BUFFERED: usize = 1 << 20;
/// SMB2 messages followed in one compound chain.
const MAX_COMPOUND: usize = 256;

/// The NetBIOS session message framing of one direction.
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
    framers: PerDir<Framer>,
    pipes: Pipes,
    smb1: v1::Smb1State,
    smb2: v2::Smb2State,
    enc_noted: bool,
}

impl SmbConn {
    pub fn new(max_buffer: usize) -> SmbConn {
        SmbConn {
            max_buffer,
            framers: PerDir::default(),
            pipes: Pipes::new(max_buffer),
            smb1: v1::Smb1State::default(),
            smb2: v2::Smb2State::default(),
            enc_noted: false,
        }
    }

    /// In-order bytes of direction `seg.dir`.
    pub fn data(&mut self, out: &mut Out, seg: &Seg<'_>, data: &[u8]) {
        let cap = MAX_BUFFERED + 4 + 65_536;
        let mut data = data;
        {
            let f = self.framers.get_mut(seg.dir);
            if f.skip > 0 {
                let n = f.skip.min(data.len() as u64) as usize;
                f.skip -= n as u64;
                data = data.get(n..).unwrap_or(&[]);
            }
            if f.buf.len().saturating_add(data.len()) > cap.max(self.max_buffer) {
                out.stats.buffer_overflows += 1;
                out.issue_at(
                    seg,
                    format!(
                        "smb: buffer limit hit, {} bytes dropped; resynchronising",
                        f.buf.len().saturating_add(data.len())
                    ),
                );
                f.buf.clear();
                f.lost = true;
                return;
            }
        }
        // Nothing waiting: read the messages straight from `data` and keep only the
        // incomplete tail; else append and read from the buffer (taken out meanwhile).
        if self.framers.get(seg.dir).buf.is_empty() {
            let pos = self.messages(out, seg, data);
            let rest = data.get(pos..).unwrap_or(&[]);
            self.framers.get_mut(seg.dir).buf.extend_from_slice(rest);
        } else {
            let mut buf = std::mem::take(&mut self.framers.get_mut(seg.dir).buf);
            buf.extend_from_slice(data);
            let pos = self.messages(out, seg, &buf);
            buf.drain(..pos.min(buf.len()));
            self.framers.get_mut(seg.dir).buf = buf;
        }
    }

    /// Handles the complete NetBIOS session messages at the start of `buf` and returns how
    /// many bytes are done with.
    fn messages(&mut self, out: &mut Out, seg: &Seg<'_>, buf: &[u8]) -> usize {
        let mut pos = 0usize;
        loop {
            let rest = buf.get(pos..).unwrap_or(&[]);
            if self.framers.get(seg.dir).lost {
                match (0..rest.len().saturating_sub(7)).find(|&i| netbios_smb_at(rest, i)) {
                    Some(i) => {
                        pos += i;
                        self.framers.get_mut(seg.dir).lost = false;
                        out.stats.resyncs += 1;
                        out.issue_at(seg, format!("smb: resynchronised after skipping {i} bytes"));
                    }
                    None => {
                        pos += rest.len().saturating_sub(7);
                        break;
                    }
                }
            }
            let rest = buf.get(pos..).unwrap_or(&[]);
            let &[kind, l0, l1, l2, ..] = rest else {
                break;
            };
            let len = u32::from_be_bytes([0, l0, l1, l2]) as usize;
            // 0: session message; 0x81..=0x85: session request / responses / keepalive.
            if !matches!(kind, 0 | 0x81..=0x85) {
                out.stats.smb_errors += 1;
                out.issue_at(
                    seg,
                    format!("smb: bad NetBIOS session message type 0x{kind:02x}; resynchronising"),
                );
                self.framers.get_mut(seg.dir).lost = true;
                pos += 1;
                continue;
            }
            let Some(msg) = rest.get(4..4 + len) else {
                if len > MAX_BUFFERED {
                    // Large message: skip its body as it streams past.
                    out.stats.smb_messages += 1;
                    let have = rest.len() - 4;
                    self.framers.get_mut(seg.dir).skip = len.saturating_sub(have) as u64;
                    pos = buf.len();
                }
                break;
            };
            if kind == 0 {
                self.message(out, seg, msg);
            }
            pos += 4 + len;
        }
        pos
    }

    /// `len` bytes of direction `seg.dir` missing at stream offset `offset`.
    pub fn gap(&mut self, out: &mut Out, seg: &Seg<'_>, offset: u64, len: u64) {
        let f = self.framers.get_mut(seg.dir);
        f.buf.clear();
        if f.skip > 0 && len <= f.skip {
            // The gap falls inside a message being skipped: still in sync after it.
            f.skip -= len;
            return;
        }
        f.skip = 0;
        f.lost = true;
        out.issue_at(
            seg,
            format!("smb: {len} bytes missing at stream offset {offset}; resynchronising"),
        );
    }

    /// One SMB message (the payload of a NetBIOS session message).
    fn message(&mut self, out: &mut Out, seg: &Seg<'_>, msg: &[u8]) {
        match msg.get(..4) {
            Some(m) if m == SMB1_MAGIC => {
                out.stats.smb1_messages += 1;
                let mut cx = Cx { out, seg, pipes: &mut self.pipes };
                self.smb1.message(&mut cx, msg);
                return;
            }
            Some(m) if m == SMB3_TRANSFORM_MAGIC => {
                out.stats.smb_encrypted += 1;
                if !self.enc_noted {
                    self.enc_noted = true;
                    out.issue_at(
                        seg,
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
        for _ in 0..MAX_COMPOUND {
            let Some(m) = msg.get(at..).and_then(Smb2::new_checked) else {
                out.stats.smb_errors += 1;
                out.issue_at(seg, format!("smb: not an SMB2 header at message offset {at}"));
                return;
            };
            let next = m.next_command() as usize;
            let this = if next == 0 { m.msg } else { m.msg.get(..next).unwrap_or(m.msg) };
            out.stats.smb_messages += 1;
            let mut cx = Cx { out: &mut *out, seg, pipes: &mut self.pipes };
            self.smb2.message(&mut cx, Smb2 { msg: this }, &mut last_create);
            if next == 0 {
                return;
            }
            if next < SMB2_HEADER_LEN {
                out.stats.smb_errors += 1;
                out.issue_at(
                    seg,
                    format!("smb: NextCommand {next} too small at message offset {at}"),
                );
                return;
            }
            at = at.saturating_add(next);
        }
    }

    /// Ends every pipe still open.
    pub fn finish(&mut self, out: &mut Out) {
        self.pipes.finish(out);
    }
}
