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

use crate::calls::{Assoc, Call, Limits, Out, RpcReport};
use crate::cl::ClState;
use crate::pdu::{check_header, Error as PduError, Packet, HEADER_LEN};
use crate::smb::{self, SmbConn};

/// The preamble of RPC over HTTP v1 (ncacn_http, port 593), sent by both sides.
pub const NCACN_HTTP_PREAMBLE: &[u8] = b"ncacn_http/1.0";

/// Limits and switches of the analyzer.
#[derive(Clone, Debug)]
pub struct RpcConfig {
    pub limits: Limits,
    /// Bytes buffered per direction while waiting for the rest of a PDU (64 KiB + max frag).
    pub max_buffer: usize,
    /// Bytes of each direction searched for a DCE/RPC or SMB header before giving up.
    pub detect_window: usize,
    /// Connections tracked at once.
    pub max_conns: usize,
}

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            limits: Limits::default(),
            max_buffer: 64 * 1024 + 65_535,
            detect_window: 64 * 1024,
            max_conns: 200_000,
        }
    }
}

/// What a [`PduStream`] found in the bytes pushed into it.
#[derive(Debug)]
pub enum Event<'a> {
    /// A complete PDU (exactly `frag_length` bytes) at this stream offset.
    Pdu { offset: u64, pdu: &'a [u8] },
    /// A header that failed the checks; the stream resynchronises after it.
    Bad { offset: u64, err: PduError },
    /// A plausible header found after skipping `skipped` bytes.
    Resync { offset: u64, skipped: u64 },
    /// The buffer limit was hit; `dropped` bytes were discarded.
    Overflow { offset: u64, dropped: u64 },
}

/// Reassembles PDUs of one direction. See the module docs.
#[derive(Debug, Default)]
pub struct PduStream {
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    offset: u64,
    synced: bool,
    /// Bytes skipped since the last sync (for the Resync report).
    skipped: u64,
    /// RPC over HTTP: an `ncacn_http/1.0` preamble may come first and is skipped.
    pub(crate) preamble: bool,
}

/// Does a plausible CO header start at `b`? Stricter than [`check_header`] for searching.
fn plausible(b: &[u8]) -> bool {
    check_header(b).is_ok()
}

/// Position of the first plausible header in `b` (which must be followed by 16 bytes).
fn find_header(b: &[u8]) -> Option<usize> {
    let end = b.len().checked_sub(HEADER_LEN - 1)?;
    memchr::memchr_iter(5, b.get(..end)?).find(|&i| b.get(i..).is_some_and(plausible))
}

/// Reports the PDUs and problems in `b` (which starts at stream offset `base`) and returns how
/// many bytes are done with: everything but an incomplete PDU, or a tail that could still
/// begin a header.
fn scan(
    b: &[u8],
    base: u64,
    synced: &mut bool,
    skipped: &mut u64,
    f: &mut impl FnMut(Event<'_>),
) -> usize {
    let mut pos = 0usize;
    loop {
        let rest = b.get(pos..).unwrap_or(&[]);
        if !*synced {
            match find_header(rest) {
                Some(i) => {
                    pos += i;
                    *skipped = skipped.saturating_add(i as u64);
                    *synced = true;
                    if *skipped > 0 {
                        f(Event::Resync {
                            offset: base.wrapping_add(pos as u64),
                            skipped: *skipped,
                        });
                    }
                    *skipped = 0;
                }
                None => {
                    // Keep a possible header start at the tail.
                    let keep = rest.len().min(HEADER_LEN - 1);
                    let skip = rest.len() - keep;
                    *skipped = skipped.saturating_add(skip as u64);
                    pos += skip;
                    break;
                }
            }
        }
        let rest = b.get(pos..).unwrap_or(&[]);
        if rest.len() < HEADER_LEN {
            break;
        }
        if let Err(err) = check_header(rest) {
            f(Event::Bad { offset: base.wrapping_add(pos as u64), err });
            *synced = false;
            *skipped = 1;
            pos += 1;
            continue;
        }
        let fl = Packet::new_unchecked(rest).frag_len() as usize;
        let Some(pdu) = rest.get(..fl) else { break };
        f(Event::Pdu { offset: base.wrapping_add(pos as u64), pdu });
        pos += fl;
    }
    pos
}

impl PduStream {
    /// A stream that expects a header at its first byte.
    pub fn synced() -> PduStream {
        PduStream { synced: true, ..Default::default() }
    }
    /// A stream that first searches for a header.
    pub fn unsynced() -> PduStream {
        PduStream::default()
    }

    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Appends `data` and reports every complete PDU and problem, in order.
    pub fn push(&mut self, data: &[u8], max_buffer: usize, mut f: impl FnMut(Event<'_>)) {
        if self.buf.len().saturating_add(data.len()) > max_buffer {
            let dropped = self.buf.len() as u64;
            f(Event::Overflow { offset: self.offset, dropped: dropped + data.len() as u64 });
            self.offset = self.offset.wrapping_add(dropped).wrapping_add(data.len() as u64);
            self.buf.clear();
            self.synced = false;
            return;
        }
        // Nothing waiting: read the PDUs straight from `data` and keep only the incomplete
        // tail (the common case costs no copy).
        if self.buf.is_empty() && !self.preamble {
            let used = scan(data, self.offset, &mut self.synced, &mut self.skipped, &mut f);
            let rest = data.get(used..).unwrap_or(&[]);
            self.buf.extend_from_slice(rest);
            self.offset = self.offset.wrapping_add(used as u64);
            return;
        }
        self.buf.extend_from_slice(data);
        let mut pos = 0usize;
        if self.preamble {
            if self.buf.len() < NCACN_HTTP_PREAMBLE.len()
                && NCACN_HTTP_PREAMBLE.starts_with(&self.buf)
            {
                return;
            }
            self.preamble = false;
            if self.buf.starts_with(NCACN_HTTP_PREAMBLE) {
                pos = NCACN_HTTP_PREAMBLE.len();
            }
        }
        let rest = self.buf.get(pos..).unwrap_or(&[]);
        pos += scan(
            rest,
            self.offset.wrapping_add(pos as u64),
            &mut self.synced,
            &mut self.skipped,
            &mut f,
        );
        self.buf.drain(..pos.min(self.buf.len()));
        self.offset = self.offset.wrapping_add(pos as u64);
    }

    /// `len` bytes were lost: drop the partial PDU and resynchronise.
    pub fn gap(&mut self, len: u64) {
        self.offset = self.offset.wrapping_add(self.buf.len() as u64).wrapping_add(len);
        self.buf.clear();
        self.synced = false;
        self.skipped = 0;
    }
}

/// Feeds the events of a push to an association and the report.
#[allow(clippy::too_many_arguments)]
pub(crate) fn deliver(
    stream: &mut PduStream,
    assoc: &mut Assoc,
    out: &mut Out,
    data: &[u8],
    max_buffer: usize,
    src: std::net::SocketAddr,
    dst: std::net::SocketAddr,
    frame: u64,
    ts: Timestamp,
    what: &str,
) {
    stream.push(data, max_buffer, |ev| match ev {
        Event::Pdu { pdu, .. } => assoc.pdu(out, pdu, src, dst, frame, ts),
        Event::Bad { offset, err } => {
            out.stats.malformed_pdus += 1;
            out.issue(frame, src, dst, format!("{what}: malformed DCE/RPC header at stream offset {offset}: {err}; resynchronising"));
        }
        Event::Resync { offset, skipped } => {
            out.stats.resyncs += 1;
            out.issue(frame, src, dst, format!("{what}: resynchronised at stream offset {offset} after skipping {skipped} bytes"));
        }
        Event::Overflow { offset, dropped } => {
            out.stats.buffer_overflows += 1;
            out.issue(frame, src, dst, format!("{what}: PDU buffer limit ({max_buffer} bytes) hit at stream offset {offset}: dropped {dropped} bytes"));
        }
    });
}

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
            Some((Kind::Rpc, at)) => {
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
                        let clean =
                            c.det_seen[d] == 0 && (at == 0 || at == NCACN_HTTP_PREAMBLE.len());
                        (0, clean && c.det_seen[i] == 0 && (bytes.is_empty() || plausible(bytes)))
                    };
                    let stream_off = c.det_seen[i].saturating_add(start as u64);
                    if i == d && !synced {
                        out.issue(frame, flow.src(dr), flow.dst(dr), format!("DCE/RPC found mid-stream: first header at stream offset {stream_off}"));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ndr::Drep;
    use crate::pdu::{Body, Repr, Request};

    fn req(call_id: u32) -> Vec<u8> {
        Repr::new(
            call_id,
            Drep::LE,
            Body::Request(Request { opnum: 1, stub: vec![0; 10], ..Default::default() }),
        )
        .emit()
    }

    fn collect(s: &mut PduStream, data: &[u8]) -> Vec<String> {
        let mut v = Vec::new();
        s.push(data, 1 << 20, |e| {
            v.push(match e {
                Event::Pdu { offset, pdu } => format!("pdu@{offset}:{}", pdu.len()),
                Event::Bad { offset, .. } => format!("bad@{offset}"),
                Event::Resync { offset, skipped } => format!("resync@{offset}+{skipped}"),
                Event::Overflow { offset, dropped } => format!("overflow@{offset}:{dropped}"),
            })
        });
        v
    }

    #[test]
    fn split_and_several_per_push() {
        let a = req(1);
        let mut two = req(2);
        two.extend(req(3));
        let mut s = PduStream::synced();
        assert!(collect(&mut s, &a[..5]).is_empty());
        assert_eq!(collect(&mut s, &a[5..]), vec!["pdu@0:34"]);
        assert_eq!(collect(&mut s, &two), vec!["pdu@34:34", "pdu@68:34"]);
    }

    #[test]
    fn garbage_then_resync() {
        let mut data = b"hello world, not rpc".to_vec();
        data.extend(req(1));
        let mut s = PduStream::unsynced();
        assert_eq!(collect(&mut s, &data), vec!["resync@20+20", "pdu@20:34"]);
        let mut s = PduStream::synced();
        let ev = collect(&mut s, &data);
        assert_eq!(ev, vec!["bad@0", "resync@20+20", "pdu@20:34"]);
    }

    #[test]
    fn overflow_is_reported() {
        let mut s = PduStream::synced();
        let mut v = Vec::new();
        let a = req(1);
        s.push(&a[..20], 30, |_| {});
        s.push(&a[20..], 30, |e| v.push(matches!(e, Event::Overflow { dropped: 34, .. })));
        assert_eq!(v, vec![true]);
    }
}
