//! The named pipes of one SMB connection, whichever dialect opened them: each pipe (an SMB2
//! FileId, or an SMB1 FID as [`super::v1::pipe_key`]) has a [`PduStream`] per side and an
//! `Assoc` of its own, so its calls carry the pipe name. Whether a pipe carries DCE/RPC is
//! decided by its first bytes; other pipe protocols (e.g. PsExec's own) are not followed.
//!
//! [`Cx`] is what an SMB message handler works on: the report, the segment being read and
//! this pipe table.

use rustc_hash::FxHashMap as HashMap;

use tracehound_flows::Dir;

use crate::assoc::Assoc;
use crate::calls::Out;
use crate::ctx::{PerDir, Seg};
use crate::pdu::{check_header, HEADER_LEN};
use crate::reassembly::{deliver, PduStream};

/// Pipes followed at once per connection.
const MAX_PIPES: usize = 1024;

/// A pipe's key: an SMB2 FileId, or an SMB1 FID made into 16 bytes.
pub(crate) type PipeKey = [u8; 16];

#[derive(Debug)]
struct Pipe {
    /// None until the first bytes show whether the pipe carries DCE/RPC.
    rpc: Option<bool>,
    assoc: Assoc,
    /// Indexed by pipe side: `Dir::Orig` client to server, `Dir::Resp` server to client.
    streams: PerDir<PduStream>,
}

impl Pipe {
    fn new(rpc: Option<bool>, name: String, flow: u64) -> Pipe {
        Pipe {
            rpc,
            assoc: Assoc::new(Some(name), Some(flow)),
            streams: PerDir::new(PduStream::synced(), PduStream::synced()),
        }
    }
}

/// The pipes of one connection.
#[derive(Debug)]
pub(crate) struct Pipes {
    max_buffer: usize,
    pipes: HashMap<PipeKey, Pipe>,
    /// A limit of this connection (pipes, requests in flight) was reported.
    cap_noted: bool,
}

impl Pipes {
    pub fn new(max_buffer: usize) -> Pipes {
        Pipes { max_buffer, pipes: HashMap::default(), cap_noted: false }
    }

    /// Reports the first limit hit on this connection; later ones are only counted.
    pub fn note_cap(&mut self, out: &mut Out, seg: &Seg<'_>, what: &str) {
        if !self.cap_noted {
            self.cap_noted = true;
            out.issue_at(seg, format!("smb: limit reached: {what}"));
        }
    }

    /// A named pipe was opened (SMB2 CREATE / SMB1 NT_CREATE_ANDX reply): follow it under
    /// `key`. Whether it carries DCE/RPC is decided by its first bytes.
    pub fn open(&mut self, out: &mut Out, seg: &Seg<'_>, key: PipeKey, name: &str) {
        if self.pipes.len() >= MAX_PIPES {
            self.note_cap(out, seg, "named pipes");
            return;
        }
        out.stats.smb_pipes += 1;
        let name = name.trim_start_matches('\\').to_string();
        self.pipes.insert(key, Pipe::new(None, name, seg.flow.id));
    }

    /// The pipe was closed: its unanswered calls end.
    pub fn close(&mut self, out: &mut Out, key: &PipeKey) {
        if let Some(mut p) = self.pipes.remove(key) {
            p.assoc.finish(out);
        }
    }

    /// Pipe bytes of `side` (`Dir::Orig` client to server, `Dir::Resp` server to client).
    pub fn data(&mut self, out: &mut Out, seg: &Seg<'_>, key: PipeKey, side: Dir, data: &[u8]) {
        if !self.pipes.contains_key(&key) {
            // Create not seen (capture started later): follow the FileId if it carries DCE/RPC.
            if check_header(data).is_err() || self.pipes.len() >= MAX_PIPES {
                return;
            }
            out.stats.smb_pipes += 1;
            self.pipes.insert(key, Pipe::new(Some(true), "(create not seen)".into(), seg.flow.id));
        }
        let max = self.max_buffer;
        let Some(p) = self.pipes.get_mut(&key) else {
            return;
        };
        if p.rpc.is_none() {
            // Pipes carry other protocols too (e.g. PsExec's own): only DCE/RPC is followed.
            let is_rpc =
                check_header(data).is_ok() || data.len() < HEADER_LEN && data.first() == Some(&5);
            p.rpc = Some(is_rpc);
            if !is_rpc {
                out.stats.smb_non_rpc_pipes += 1;
            }
        }
        if p.rpc == Some(false) {
            return;
        }
        deliver(p.streams.get_mut(side), &mut p.assoc, out, seg, data, max, "smb pipe");
    }

    /// Ends every pipe still open, in key order.
    pub fn finish(&mut self, out: &mut Out) {
        let mut pipes: Vec<(PipeKey, Pipe)> = self.pipes.drain().collect();
        pipes.sort_by_key(|(id, _)| *id);
        for (_, mut p) in pipes {
            p.assoc.finish(out);
        }
    }
}

/// What an SMB message handler works on: the report, the segment being read and the pipes
/// of the connection.
pub(crate) struct Cx<'a, 's> {
    pub out: &'a mut Out,
    pub seg: &'a Seg<'s>,
    pub pipes: &'a mut Pipes,
}

impl Cx<'_, '_> {
    /// An issue about the segment being read.
    pub fn issue(&mut self, what: String) {
        self.out.issue_at(self.seg, what);
    }

    pub fn note_cap(&mut self, what: &str) {
        self.pipes.note_cap(self.out, self.seg, what);
    }

    pub fn open_pipe(&mut self, key: PipeKey, name: &str) {
        self.pipes.open(self.out, self.seg, key, name);
    }

    pub fn close_pipe(&mut self, key: &PipeKey) {
        self.pipes.close(self.out, key);
    }

    pub fn pipe_data(&mut self, key: PipeKey, side: Dir, data: &[u8]) {
        self.pipes.data(self.out, self.seg, key, side, data);
    }
}
