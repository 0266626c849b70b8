//! DCE/RPC over byte streams: detection, PDU reassembly, resynchronisation.
//!
//! [`RpcAnalyzer`] receives the in-order bytes of every TCP connection (and every UDP
//! datagram) from the flows engine. A connection is classified by content, on any port:
//! - DCE/RPC when a direction starts with a plausible connection-oriented header (version
//!   5.0/5.1, a CO packet type, a real data representation label, `frag_length` >= 16 and
//!   `auth_length` fitting), or with the `ncacn_http/1.0` preamble of RPC over HTTP v1
//!   (port 593), or when such a header is found later in the first 64 KiB (a capture that
//!   starts mid-connection);
//! - SMB (then handled by [`crate::smb`]) when a NetBIOS session message carries an SMB1/2/3
//!   header;
//! - otherwise it is left alone after the detection window.
//!
//! Each direction of a DCE/RPC connection has a [`PduStream`]: it buffers bytes until a whole
//! PDU (`frag_length` bytes) is present, hands out every complete PDU (several per segment
//! are fine), and after a gap or a malformed header scans forward for the next plausible
//! header. The buffer is bounded ([`RpcConfig::max_buffer`]); overflowing it drops the buffer
//! and resynchronises, and is reported.

use rustc_hash::FxHashMap as HashMap;

use tracehound_flows::{Dir, FlowId, FlowInfo, StreamHandler, Timestamp};

use crate::assoc::Assoc;
use crate::calls::{Call, Out, RpcReport};
use crate::cl::ClState;
pub use crate::config::RpcConfig;
use crate::ctx::{PerDir, Seg};
use crate::pdu::HEADER_LEN;
use crate::reassembly::{deliver, plausible};
pub use crate::reassembly::{Event, PduStream, NCACN_HTTP_PREAMBLE};
use crate::smb::{self, SmbConn};

#[derive(Debug)]
enum Kind {
    Unknown,
    Rpc,
    Smb,
    /// RPC over HTTP (`RPC_IN_DATA` / `RPC_OUT_DATA`; with `true` the direct leg that
    /// begins with the `ncacn_http/1.0` banner): handled by [`crate::rpch`].
    Rpch(bool),
    Other,
}

/// Detection state of one direction.
#[derive(Debug, Default)]
struct Detect {
    /// Bytes not yet searched (only a tail that could start a header is kept).
    buf: Vec<u8>,
    /// Bytes of the direction searched so far (not counting `buf`).
    seen: u64,
    /// The direction gave up.
    done: bool,
}

#[derive(Debug)]
struct Conn {
    kind: Kind,
    det: PerDir<Detect>,
    streams: PerDir<PduStream>,
    assoc: Option<Assoc>,
    smb: Option<Box<SmbConn>>,
}

impl Conn {
    fn new() -> Conn {
        Conn {
            kind: Kind::Unknown,
            det: PerDir::default(),
            streams: PerDir::new(PduStream::unsynced(), PduStream::unsynced()),
            assoc: None,
            smb: None,
        }
    }
}

/// Finds DCE/RPC in TCP connections and UDP datagrams and turns it into [`Call`]s.
pub struct RpcAnalyzer {
    cfg: RpcConfig,
    out: Out,
    conns: HashMap<FlowId, Conn>,
    cl: ClState,
    conns_dropped: u64,
    rpch: crate::rpch::Rpch,
}

impl Default for RpcAnalyzer {
    fn default() -> Self {
        RpcAnalyzer::new(RpcConfig::default())
    }
}

impl RpcAnalyzer {
    pub fn new(cfg: RpcConfig) -> RpcAnalyzer {
        RpcAnalyzer {
            out: Out::new(cfg.limits.clone()),
            cfg,
            conns: HashMap::default(),
            cl: ClState::default(),
            conns_dropped: 0,
            rpch: crate::rpch::Rpch::default(),
        }
    }

    /// Whether `addr` is an endpoint handed out so far (an answer's address and port, or the
    /// asked server's address when the answer said 0.0.0.0 or named a host).
    pub fn is_handed_out(&self, addr: std::net::SocketAddr) -> bool {
        self.out.targets.contains(&(addr.ip(), addr.port()))
    }

    /// Completed calls so far (removed from the analyzer).
    pub fn take_calls(&mut self) -> Vec<Call> {
        std::mem::take(&mut self.out.calls)
    }

    /// Ends every connection still open and returns what is left.
    pub fn finish(mut self) -> RpcReport {
        let mut ids: Vec<FlowId> = self.conns.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(c) = self.conns.remove(&id) {
                Self::end_conn(&mut self.out, c);
            }
        }
        self.rpch.finish(&mut self.out);
        self.cl.finish(&mut self.out);
        if self.conns_dropped > 0 {
            let n = self.conns_dropped;
            self.out.issues.push(crate::calls::Issue {
                frame: 0,
                src: String::new(),
                dst: String::new(),
                what: format!("{n} connections not analysed: connection limit reached"),
            });
        }
        RpcReport {
            calls: self.out.calls,
            endpoints: self.out.endpoints,
            issues: self.out.issues,
            issues_dropped: self.out.issues_dropped,
            stats: self.out.stats,
            tunnel_failures: std::mem::take(&mut self.rpch.failures),
        }
    }

    fn end_conn(out: &mut Out, mut c: Conn) {
        if let Some(a) = c.assoc.as_mut() {
            a.finish(out);
        }
        if let Some(s) = c.smb.as_mut() {
            s.finish(out);
        }
    }

    /// DCE/RPC found in direction `seg.dir` at `at` of its detection buffer: deliver what
    /// both directions buffered so far to a new association.
    fn start_rpc(out: &mut Out, cfg: &RpcConfig, c: &mut Conn, seg: &Seg<'_>, at: usize) {
        let dir = seg.dir;
        out.stats.tcp_connections_rpc += 1;
        c.kind = Kind::Rpc;
        let mut assoc = Assoc::new(None, Some(seg.flow.id));
        let this_seen = c.det.get(dir).seen;
        for dr in [Dir::Orig, Dir::Resp] {
            let det = c.det.get_mut(dr);
            let bytes = std::mem::take(&mut det.buf);
            let seen = det.seen;
            let (start, synced) = if dr == dir {
                (
                    at,
                    seen == 0
                        && (at == 0
                            || at == NCACN_HTTP_PREAMBLE.len()
                                && bytes.starts_with(NCACN_HTTP_PREAMBLE)),
                )
            } else if seen == 0 && bytes.starts_with(NCACN_HTTP_PREAMBLE) {
                (NCACN_HTTP_PREAMBLE.len(), true)
            } else {
                // The other direction starts clean when this one did (a connection
                // seen from its start) and its bytes so far, if any, begin a header.
                let clean = this_seen == 0 && (at == 0 || at == NCACN_HTTP_PREAMBLE.len());
                (0, clean && seen == 0 && (bytes.is_empty() || plausible(&bytes)))
            };
            let stream_off = seen.saturating_add(start as u64);
            let seg = seg.with_dir(dr);
            if dr == dir && !synced {
                out.issue_at(
                    &seg,
                    format!("DCE/RPC found mid-stream: first header at stream offset {stream_off}"),
                );
            }
            let stream = c.streams.get_mut(dr);
            *stream = if synced { PduStream::synced() } else { PduStream::unsynced() };
            stream.offset = stream_off;
            // RPC over HTTP: the other side's preamble may still come.
            stream.preamble = dr != dir && start == 0 && synced && at == NCACN_HTTP_PREAMBLE.len();
            let Some(data) = bytes.get(start..) else {
                continue;
            };
            deliver(stream, &mut assoc, out, &seg, data, cfg.max_buffer, "tcp");
        }
        c.assoc = Some(assoc);
    }

    /// SMB found in direction `seg.dir` at `at` of its detection buffer: hand what both
    /// directions buffered so far to a new SMB connection.
    fn start_smb(out: &mut Out, cfg: &RpcConfig, c: &mut Conn, seg: &Seg<'_>, at: usize) {
        out.stats.smb_connections += 1;
        c.kind = Kind::Smb;
        let mut s = Box::new(SmbConn::new(cfg.max_buffer));
        for dr in [Dir::Orig, Dir::Resp] {
            let bytes = std::mem::take(&mut c.det.get_mut(dr).buf);
            let start = if dr == seg.dir { at } else { 0 };
            s.data(out, &seg.with_dir(dr), bytes.get(start..).unwrap_or(&[]));
        }
        c.smb = Some(s);
    }

    /// Classifies the connection from the detection buffer of `seg.dir`.
    fn detect(out: &mut Out, cfg: &RpcConfig, c: &mut Conn, seg: &Seg<'_>) {
        let d = seg.dir;
        let det = c.det.get(d);
        let buf = &det.buf;
        let mut found: Option<(Kind, usize)> = None;
        let at_start = det.seen == 0;
        if at_start && buf.starts_with(NCACN_HTTP_PREAMBLE) {
            c.kind = Kind::Rpch(true); // RTS (v2) or plain PDUs (v1) follow: `crate::rpch`
            return;
        } else if at_start && NCACN_HTTP_PREAMBLE.starts_with(buf) && !buf.is_empty() {
            return; // wait for the whole preamble
        } else if let Some(is_rpch) =
            (at_start && matches!(d, Dir::Orig)).then(|| crate::rpch::detect(buf)).flatten()
        {
            if is_rpch {
                c.kind = Kind::Rpch(false); // the caller hands the buffers to `crate::rpch`
            }
            return;
        } else {
            let end = buf.len().saturating_sub(HEADER_LEN - 1);
            // An SMB session message starts with 0, a DCE/RPC header with 5: look only there.
            for i in memchr::memchr2_iter(0, 5, buf.get(..end).unwrap_or(&[])) {
                if smb::netbios_smb_at(buf, i) {
                    found = Some((Kind::Smb, i));
                    break;
                }
                if buf.get(i) == Some(&5) && buf.get(i..).is_some_and(plausible) {
                    found = Some((Kind::Rpc, i));
                    break;
                }
            }
        }
        match found {
            Some((Kind::Rpc, at)) => Self::start_rpc(out, cfg, c, seg, at),
            Some((Kind::Smb, at)) => Self::start_smb(out, cfg, c, seg, at),
            _ => {
                // Keep only a tail that could start a header; count the rest as searched.
                let det = c.det.get_mut(d);
                let len = det.buf.len();
                let keep = if at_start && len < NCACN_HTTP_PREAMBLE.len() {
                    len
                } else {
                    len.min(HEADER_LEN - 1)
                };
                let searched = len.saturating_sub(keep);
                det.buf.drain(..searched);
                det.seen = det.seen.saturating_add(searched as u64);
                if det.seen >= cfg.detect_window as u64 {
                    det.done = true;
                    det.buf = Vec::new();
                    if c.det.get(d.flip()).done {
                        c.kind = Kind::Other;
                        c.det.get_mut(Dir::Orig).buf = Vec::new();
                        c.det.get_mut(Dir::Resp).buf = Vec::new();
                    }
                }
            }
        }
    }

    /// Bytes of a connection already classified as DCE/RPC or SMB.
    fn classified(out: &mut Out, cfg: &RpcConfig, c: &mut Conn, seg: &Seg<'_>, data: &[u8]) {
        match c.kind {
            Kind::Rpc => {
                if let Some(a) = c.assoc.as_mut() {
                    let stream = c.streams.get_mut(seg.dir);
                    deliver(stream, a, out, seg, data, cfg.max_buffer, "tcp");
                }
            }
            Kind::Smb => {
                if let Some(s) = c.smb.as_mut() {
                    s.data(out, seg, data);
                }
            }
            Kind::Unknown | Kind::Rpch(_) | Kind::Other => {}
        }
    }
}

impl StreamHandler for RpcAnalyzer {
    fn tcp_data(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        _offset: u64,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
    ) {
        if data.is_empty() {
            return;
        }
        if !self.conns.contains_key(&flow.id) {
            if self.conns.len() >= self.cfg.max_conns {
                self.conns_dropped += 1;
                return;
            }
            self.conns.insert(flow.id, Conn::new());
        }
        let Some(c) = self.conns.get_mut(&flow.id) else {
            return;
        };
        let out = &mut self.out;
        let cfg = &self.cfg;
        let seg = Seg::new(flow, dir, frame, ts);
        match c.kind {
            Kind::Other => {}
            Kind::Unknown => {
                let det = c.det.get_mut(dir);
                if det.done {
                    return;
                }
                // Search at most what is left of the window in this segment.
                let room = (cfg.detect_window as u64)
                    .saturating_sub(det.seen)
                    .min(usize::MAX as u64) as usize;
                let room = room.max(HEADER_LEN).min(data.len());
                let (head, rest) = data.split_at_checked(room).unwrap_or((data, &[]));
                det.buf.extend_from_slice(head);
                Self::detect(out, cfg, c, &seg);
                if let Kind::Rpch(direct) = c.kind {
                    self.rpch.open(flow, direct);
                    for dr in [Dir::Orig, Dir::Resp] {
                        let bytes = std::mem::take(&mut c.det.get_mut(dr).buf);
                        self.rpch.data(out, cfg.max_buffer, &seg.with_dir(dr), &bytes);
                    }
                    self.rpch.data(out, cfg.max_buffer, &seg, rest);
                    return;
                }
                // Bytes beyond the window of a now-classified connection.
                if !rest.is_empty() {
                    Self::classified(out, cfg, c, &seg, rest);
                }
            }
            Kind::Rpc | Kind::Smb => Self::classified(out, cfg, c, &seg, data),
            Kind::Rpch(_) => self.rpch.data(out, cfg.max_buffer, &seg, data),
        }
    }

    fn tcp_gap(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        len: u64,
        frame: u64,
        ts: Timestamp,
    ) {
        let Some(c) = self.conns.get_mut(&flow.id) else {
            return;
        };
        let seg = Seg::new(flow, dir, frame, ts);
        match c.kind {
            Kind::Rpc => {
                self.out.stats.gaps += 1;
                let stream = c.streams.get_mut(dir);
                let buffered = stream.buffered();
                stream.gap(len);
                self.out.issue_at(
                    &seg,
                    format!("tcp: {len} bytes missing at stream offset {offset} ({buffered} buffered bytes of a partial PDU dropped); resynchronising"),
                );
            }
            Kind::Smb => {
                self.out.stats.gaps += 1;
                if let Some(s) = c.smb.as_mut() {
                    s.gap(&mut self.out, &seg, offset, len);
                }
            }
            Kind::Rpch(_) => self.rpch.gap(&mut self.out, &seg, offset, len),
            Kind::Unknown => {
                // Detection continues on the bytes after the gap.
                let det = c.det.get_mut(dir);
                det.seen = det.seen.saturating_add(det.buf.len() as u64).saturating_add(len);
                det.buf.clear();
            }
            Kind::Other => {}
        }
    }

    fn tcp_end(&mut self, flow: &FlowInfo, _ts: Timestamp) {
        if let Some(c) = self.conns.remove(&flow.id) {
            if matches!(c.kind, Kind::Rpch(_)) {
                self.rpch.end(&mut self.out, flow);
            }
            Self::end_conn(&mut self.out, c);
        }
    }

    fn udp(&mut self, flow: &FlowInfo, dir: Dir, data: &[u8], frame: u64, ts: Timestamp) {
        self.cl.datagram(&mut self.out, &Seg::new(flow, dir, frame, ts), data);
    }
}
