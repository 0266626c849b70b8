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
use crate::pdu::HEADER_LEN;
use crate::reassembly::{deliver, plausible};
pub use crate::reassembly::{Event, PduStream, NCACN_HTTP_PREAMBLE};
use crate::smb::{self, SmbConn};

#[derive(Debug)]
enum Kind {
    Unknown,
    Rpc,
    Smb,
    Other,
}

#[derive(Debug)]
struct Conn {
    kind: Kind,
    /// Detection buffers per direction, and whether the direction gave up.
    det: [Vec<u8>; 2],
    /// Bytes of each direction searched so far (the buffer keeps only an unsearched tail).
    det_seen: [u64; 2],
    det_done: [bool; 2],
    streams: [PduStream; 2],
    assoc: Option<Assoc>,
    smb: Option<Box<SmbConn>>,
}

impl Conn {
    fn new() -> Conn {
        Conn {
            kind: Kind::Unknown,
            det: [Vec::new(), Vec::new()],
            det_seen: [0; 2],
            det_done: [false; 2],
            streams: [PduStream::unsynced(), PduStream::unsynced()],
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

    /// DCE/RPC found in direction `dir` at `at` of its detection buffer: deliver what both
    /// directions buffered so far to a new association.
    #[allow(clippy::too_many_arguments)]
    fn start_rpc(
        out: &mut Out,
        cfg: &RpcConfig,
        c: &mut Conn,
        flow: &FlowInfo,
        dir: Dir,
        at: usize,
        frame: u64,
        ts: Timestamp,
    ) {
        let d = dir.idx();
        out.stats.tcp_connections_rpc += 1;
        c.kind = Kind::Rpc;
        c.assoc = Some(Assoc::new(None, Some(flow.id)));
        let det = [std::mem::take(&mut c.det[0]), std::mem::take(&mut c.det[1])];
        for (i, bytes) in det.iter().enumerate() {
            let dr = if i == 0 { Dir::Orig } else { Dir::Resp };
            let (start, synced) = if i == d {
                (
                    at,
                    c.det_seen[i] == 0
                        && (at == 0
                            || at == NCACN_HTTP_PREAMBLE.len()
                                && bytes.starts_with(NCACN_HTTP_PREAMBLE)),
                )
            } else if c.det_seen[i] == 0 && bytes.starts_with(NCACN_HTTP_PREAMBLE) {
                (NCACN_HTTP_PREAMBLE.len(), true)
            } else {
                // The other direction starts clean when this one did (a connection
                // seen from its start) and its bytes so far, if any, begin a header.
                let clean = c.det_seen[d] == 0 && (at == 0 || at == NCACN_HTTP_PREAMBLE.len());
                (0, clean && c.det_seen[i] == 0 && (bytes.is_empty() || plausible(bytes)))
            };
            let stream_off = c.det_seen[i].saturating_add(start as u64);
            if i == d && !synced {
                out.issue(
                    frame,
                    flow.src(dr),
                    flow.dst(dr),
                    format!("DCE/RPC found mid-stream: first header at stream offset {stream_off}"),
                );
            }
            c.streams[i] = if synced { PduStream::synced() } else { PduStream::unsynced() };
            c.streams[i].offset = stream_off;
            // RPC over HTTP: the other side's preamble may still come.
            c.streams[i].preamble =
                i != d && start == 0 && synced && at == NCACN_HTTP_PREAMBLE.len();
            let (Some(a), Some(data)) = (c.assoc.as_mut(), bytes.get(start..)) else {
                continue;
            };
            deliver(
                &mut c.streams[i],
                a,
                out,
                data,
                cfg.max_buffer,
                flow.src(dr),
                flow.dst(dr),
                frame,
                ts,
                "tcp",
            );
        }
    }

    /// Classifies `flow` from the detection buffer of `dir`.
    fn detect(
        out: &mut Out,
        cfg: &RpcConfig,
        c: &mut Conn,
        flow: &FlowInfo,
        dir: Dir,
        frame: u64,
        ts: Timestamp,
    ) {
        let d = dir.idx();
        let buf = &c.det[d];
        let mut found: Option<(Kind, usize)> = None;
        let at_start = c.det_seen[d] == 0;
        if at_start && buf.starts_with(NCACN_HTTP_PREAMBLE) {
            found = Some((Kind::Rpc, NCACN_HTTP_PREAMBLE.len()));
        } else if at_start && NCACN_HTTP_PREAMBLE.starts_with(buf) && !buf.is_empty() {
            return; // wait for the whole preamble
        } else {
            let end = buf.len().saturating_sub(HEADER_LEN - 1);
            // An SMB session message starts with 0, a DCE/RPC header with 5: look only there.
            for i in memchr::memchr2_iter(0, 5, buf.get(..end).unwrap_or(&[])) {
                if smb::netbios_smb_at(buf, i) {
                    found = Some((Kind::Smb, i));
                    break;
                }
                if buf[i] == 5 && plausible(&buf[i..]) {
                    found = Some((Kind::Rpc, i));
                    break;
                }
            }
        }
        match found {
            Some((Kind::Rpc, at)) => Self::start_rpc(out, cfg, c, flow, dir, at, frame, ts),
            Some((Kind::Smb, at)) => {
                out.stats.smb_connections += 1;
                c.kind = Kind::Smb;
                let mut s = Box::new(SmbConn::new(cfg.max_buffer));
                let det = [std::mem::take(&mut c.det[0]), std::mem::take(&mut c.det[1])];
                for (i, bytes) in det.iter().enumerate() {
                    let dr = if i == 0 { Dir::Orig } else { Dir::Resp };
                    let start = if i == d { at } else { 0 };
                    s.data(
                        out,
                        cfg,
                        flow,
                        dr,
                        bytes.get(start..).unwrap_or(&[]),
                        frame,
                        ts,
                        i == d,
                    );
                }
                c.smb = Some(s);
            }
            _ => {
                // Keep only a tail that could start a header; count the rest as searched.
                let len = c.det[d].len();
                let keep = if at_start && len < NCACN_HTTP_PREAMBLE.len() {
                    len
                } else {
                    len.min(HEADER_LEN - 1)
                };
                c.det[d].drain(..len - keep);
                c.det_seen[d] = c.det_seen[d].saturating_add((len - keep) as u64);
                if c.det_seen[d] >= cfg.detect_window as u64 {
                    c.det_done[d] = true;
                    c.det[d] = Vec::new();
                    if c.det_done[dir.flip().idx()] {
                        c.kind = Kind::Other;
                        c.det = [Vec::new(), Vec::new()];
                    }
                }
            }
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
        let d = dir.idx();
        match c.kind {
            Kind::Other => {}
            Kind::Unknown => {
                if c.det_done[d] {
                    return;
                }
                // Search at most what is left of the window in this segment.
                let room = (cfg.detect_window as u64)
                    .saturating_sub(c.det_seen[d])
                    .min(usize::MAX as u64) as usize;
                let room = room.max(HEADER_LEN).min(data.len());
                c.det[d].extend_from_slice(&data[..room]);
                Self::detect(out, cfg, c, flow, dir, frame, ts);
                // Bytes beyond the window of a now-classified connection.
                if data.len() > room && !matches!(c.kind, Kind::Unknown | Kind::Other) {
                    let rest = &data[room..];
                    match c.kind {
                        Kind::Rpc => {
                            if let Some(a) = c.assoc.as_mut() {
                                deliver(
                                    &mut c.streams[d],
                                    a,
                                    out,
                                    rest,
                                    cfg.max_buffer,
                                    flow.src(dir),
                                    flow.dst(dir),
                                    frame,
                                    ts,
                                    "tcp",
                                );
                            }
                        }
                        Kind::Smb => {
                            if let Some(s) = c.smb.as_mut() {
                                s.data(out, cfg, flow, dir, rest, frame, ts, false);
                            }
                        }
                        _ => {}
                    }
                }
            }
            Kind::Rpc => {
                if let Some(a) = c.assoc.as_mut() {
                    deliver(
                        &mut c.streams[d],
                        a,
                        out,
                        data,
                        cfg.max_buffer,
                        flow.src(dir),
                        flow.dst(dir),
                        frame,
                        ts,
                        "tcp",
                    );
                }
            }
            Kind::Smb => {
                if let Some(s) = c.smb.as_mut() {
                    s.data(out, cfg, flow, dir, data, frame, ts, false);
                }
            }
        }
    }

    fn tcp_gap(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        len: u64,
        frame: u64,
        _ts: Timestamp,
    ) {
        let Some(c) = self.conns.get_mut(&flow.id) else {
            return;
        };
        let d = dir.idx();
        match c.kind {
            Kind::Rpc => {
                self.out.stats.gaps += 1;
                let buffered = c.streams[d].buffered();
                c.streams[d].gap(len);
                self.out.issue(
                    frame,
                    flow.src(dir),
                    flow.dst(dir),
                    format!("tcp: {len} bytes missing at stream offset {offset} ({buffered} buffered bytes of a partial PDU dropped); resynchronising"),
                );
            }
            Kind::Smb => {
                self.out.stats.gaps += 1;
                if let Some(s) = c.smb.as_mut() {
                    s.gap(&mut self.out, flow, dir, offset, len, frame);
                }
            }
            Kind::Unknown => {
                // Detection continues on the bytes after the gap.
                c.det_seen[d] =
                    c.det_seen[d].saturating_add(c.det[d].len() as u64).saturating_add(len);
                c.det[d].clear();
            }
            Kind::Other => {}
        }
    }

    fn tcp_end(&mut self, flow: &FlowInfo, _ts: Timestamp) {
        if let Some(c) = self.conns.remove(&flow.id) {
            Self::end_conn(&mut self.out, c);
        }
    }

    fn udp(&mut self, flow: &FlowInfo, dir: Dir, data: &[u8], frame: u64, ts: Timestamp) {
        self.cl.datagram(&mut self.out, flow, dir, data, frame, ts);
    }
}
