//! tracehound apps: application protocols over the flows engine's in-order streams.
//!
//! [`AppAnalyzer`] is a [`StreamHandler`]. It recognises each TCP connection's protocol by
//! content (ports are only a hint): TLS by its record header, HTTP/1.x by its request or
//! status line, SMB2 by the NetBIOS header + `0xFE 'SMB'`, LDAP by a BER `LDAPMessage`, DNS
//! over TCP on port 53 by its 2-byte length + header. UDP datagrams on the DNS ports (or that
//! parse strictly as DNS) go to the DNS tracker. One file per protocol:
//!
//! - [`dns`]: queries and responses matched by flow + id, rcodes, retransmissions, timeouts.
//! - [`tls`] (+ [`cert`]): hellos, certificates, alerts, the handshake outcome.
//! - [`http`], [`ldap`], [`smb2`]: message heads, matched into [`txn::Transaction`]s.
//!
//! Everything is bounded ([`AppConfig`]); hitting a bound is counted in [`AppStats`].
//! Parsing never panics on wire data: readers are checked ([`reader::Reader`]) and every
//! parse error becomes an [`Issue`] with the frame it was found in.
//!
//! ```
//! use tracehound_apps::{AppAnalyzer, AppConfig};
//! use tracehound_flows::{FlowInfo, Proto, StreamHandler, Dir, Timestamp};
//! let mut a = AppAnalyzer::new(AppConfig::default());
//! let flow = FlowInfo { id: 0, proto: Proto::Udp, orig: "10.0.0.1:5000".parse().unwrap(),
//!                       resp: "10.0.0.2:53".parse().unwrap() };
//! // A query for "a.example" A (RFC 1035 4.1 layout), never answered.
//! let q = b"\x00\x07\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x07example\x00\x00\x01\x00\x01";
//! a.udp(&flow, Dir::Orig, q, 1, Timestamp(0));
//! let report = a.finish();
//! assert_eq!(report.dns[0].name, "a.example");
//! ```

pub use tracehound_flows::Text;

pub mod cert;
pub mod dns;
pub mod http;
pub mod ldap;
pub mod reader;
pub mod smb2;
pub mod stream;
pub mod tls;
pub mod txn;

use rustc_hash::FxHashMap as HashMap;

use serde::Serialize;
use tracehound_flows::{Dir, FlowId, FlowInfo, StreamHandler, Timestamp};

pub use dns::{DnsOutcome, DnsQuery};
pub use tls::{TlsOutcome, TlsSession};
pub use txn::{AppProto, FlowTransactions, Transaction};

use stream::{At, Framer, Stream};

/// Limits. Hitting one is counted in [`AppStats`], never silent.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// TCP connections followed at once.
    pub max_flows: usize,
    pub max_dns_queries: usize,
    pub max_tls_sessions: usize,
    /// Flows with transaction records kept.
    pub max_transaction_flows: usize,
    pub max_issues: usize,
    /// Bytes buffered per direction.
    pub stream_cap: usize,
    /// Bytes buffered over all connections together; a direction that would pass it is no
    /// longer followed.
    pub total_buffer_cap: usize,
    /// A DNS query without answer for this long (capture time, seconds) is unanswered; an
    /// answer after it is late, and a new query for the same question after it is not a
    /// retry.
    pub dns_timeout: f64,
    /// At the end of the capture, a query without answer (and without retry) is unanswered
    /// when the capture went on for this long after it (seconds); else "capture ended".
    pub dns_min_wait: f64,
    /// Bytes looked at per direction to recognise a protocol before giving up.
    pub sniff_bytes: usize,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            max_flows: 65_536,
            max_dns_queries: 20_000,
            max_tls_sessions: 20_000,
            max_transaction_flows: 20_000,
            max_issues: 1_000,
            stream_cap: 256 * 1024,
            total_buffer_cap: 256 * 1024 * 1024,
            dns_timeout: 5.0,
            dns_min_wait: 1.0,
            sniff_bytes: 64,
        }
    }
}

/// Something that could not be parsed, with where.
#[derive(Clone, Debug, Serialize)]
pub struct Issue {
    pub frame: u64,
    pub what: String,
}

/// Bounded list of issues.
#[derive(Debug, Default)]
pub struct Issues {
    pub list: Vec<Issue>,
    pub max: usize,
    pub dropped: u64,
}

impl Issues {
    pub fn add(&mut self, frame: u64, what: String) {
        if self.list.len() < self.max {
            self.list.push(Issue { frame, what });
        } else {
            self.dropped += 1;
        }
    }
}

/// Counters, including every cap that was hit.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AppStats {
    pub tcp_flows: u64,
    pub udp_datagrams: u64,
    pub tls_flows: u64,
    pub http_flows: u64,
    pub ldap_flows: u64,
    pub smb2_flows: u64,
    pub dns_tcp_flows: u64,
    pub unrecognised_flows: u64,
    pub dns_messages: u64,
    pub dns_parse_errors: u64,
    pub dns_unmatched_responses: u64,
    pub ldap_sasl_wrapped: u64,
    pub smb2_encrypted: u64,
    pub gaps: u64,
    /// Cap hits:
    pub flows_dropped: u64,
    pub dns_dropped: u64,
    pub tls_dropped: u64,
    pub transaction_flows_dropped: u64,
    pub issues_dropped: u64,
    pub buffer_overflows: u64,
}

/// Everything the application analyzers found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AppReport {
    pub dns: Vec<DnsQuery>,
    pub tls: Vec<TlsSession>,
    pub transactions: Vec<FlowTransactions>,
    pub issues: Vec<Issue>,
    pub stats: AppStats,
}

/// Serialize a [`FlowInfo`] (which has no `Serialize` of its own).
pub fn ser_flow<S: serde::Serializer>(f: &FlowInfo, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut st = s.serialize_struct("Flow", 4)?;
    st.serialize_field("id", &f.id)?;
    st.serialize_field("proto", &f.proto)?;
    st.serialize_field("orig", &f.orig)?;
    st.serialize_field("resp", &f.resp)?;
    st.end()
}

enum Kind {
    Unknown,
    Tls(Box<tls::Conn>),
    Http {
        p: [http::Parser; 2],
        m: txn::Matcher,
    },
    Ldap {
        f: [Framer<ldap::Msg>; 2],
        m: txn::Matcher,
    },
    Smb2 {
        f: [Framer<smb2::Msg>; 2],
        m: txn::Matcher,
    },
    DnsTcp([Framer<Option<dns::Message>>; 2]),
    /// Not a protocol we follow.
    Other,
}

impl TcpFlow {
    fn buffered(&self) -> usize {
        let tls = match &self.kind {
            Kind::Tls(c) => c.buffered(),
            _ => 0,
        };
        self.st.iter().map(|s| s.data().len()).sum::<usize>().saturating_add(tls)
    }
}

struct TcpFlow {
    info: FlowInfo,
    kind: Kind,
    st: [Stream; 2],
    /// Bytes seen per direction while recognising.
    seen: [u64; 2],
    dead: [bool; 2],
}

/// The application-protocol [`StreamHandler`].
pub struct AppAnalyzer {
    cfg: AppConfig,
    /// Boxed: a flow is taken out of the map for each segment and put back.
    flows: HashMap<FlowId, Box<TcpFlow>>,
    dns: dns::Tracker,
    tls: Vec<TlsSession>,
    txns: Vec<FlowTransactions>,
    issues: Issues,
    stats: AppStats,
    last_ts: Timestamp,
    /// Bytes buffered over all flows (streams + TLS handshake reassembly).
    buffered: usize,
    certs: cert::Cache,
}

fn hint(info: &FlowInfo, ports: &[u16]) -> bool {
    ports.contains(&info.orig.port()) || ports.contains(&info.resp.port())
}

impl AppAnalyzer {
    pub fn new(cfg: AppConfig) -> AppAnalyzer {
        let issues = Issues { list: Vec::new(), max: cfg.max_issues, dropped: 0 };
        AppAnalyzer {
            dns: dns::Tracker::new(cfg.max_dns_queries, cfg.dns_timeout),
            cfg,
            flows: HashMap::default(),
            tls: Vec::new(),
            txns: Vec::new(),
            issues,
            stats: AppStats::default(),
            last_ts: Timestamp::ZERO,
            buffered: 0,
            certs: cert::Cache::default(),
        }
    }

    /// Finish every open flow and return the report.
    pub fn finish(mut self) -> AppReport {
        let mut ids: Vec<FlowId> = self.flows.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(f) = self.flows.remove(&id) {
                self.close(*f);
            }
        }
        self.stats.dns_unmatched_responses = self.dns.unmatched;
        self.stats.dns_dropped = self.dns.dropped;
        self.stats.issues_dropped = self.issues.dropped;
        self.tls.sort_by_key(|s| s.flow.id);
        self.txns.sort_by_key(|t| t.flow.id);
        AppReport {
            dns: self.dns.finish(self.last_ts, self.cfg.dns_min_wait),
            tls: self.tls,
            transactions: self.txns,
            issues: self.issues.list,
            stats: self.stats,
        }
    }

    fn recognise(&mut self, f: &mut TcpFlow, d: usize) {
        let data = f.st[d].data();
        let info = f.info;
        let kind = if tls::looks_like(data) || (d == 0 && tls::sslv2_hello_len(data).is_some()) {
            self.stats.tls_flows += 1;
            Kind::Tls(Box::new(tls::Conn::new(info)))
        } else if (d == 0 && http::looks_like_request(data))
            || (d == 1 && http::looks_like_response(data))
        {
            self.stats.http_flows += 1;
            Kind::Http {
                p: [http::Parser::new(true), http::Parser::new(false)],
                m: txn::Matcher::new(info, AppProto::Http),
            }
        } else if smb2::looks_like(data) {
            self.stats.smb2_flows += 1;
            Kind::Smb2 { f: Default::default(), m: txn::Matcher::new(info, AppProto::Smb2) }
        } else if ldap::looks_like(data)
            || (hint(&info, &[389, 3268]) && data.first() == Some(&0x30))
        {
            self.stats.ldap_flows += 1;
            Kind::Ldap { f: Default::default(), m: txn::Matcher::new(info, AppProto::Ldap) }
        } else if hint(&info, &[53])
            && data.len() >= 14
            && dns::parse(data.get(2..).unwrap_or(&[])).is_ok()
        {
            self.stats.dns_tcp_flows += 1;
            Kind::DnsTcp(Default::default())
        } else {
            let enough =
                data.len() >= self.cfg.sniff_bytes || f.seen[d] >= self.cfg.sniff_bytes as u64;
            // wait for a few more bytes when the start could still be a TLS header
            if !enough && data.len() < 5 {
                return;
            }
            if data.len() < 8 && !enough {
                return;
            }
            self.stats.unrecognised_flows += 1;
            Kind::Other
        };
        if matches!(kind, Kind::Other) {
            f.st = Default::default();
        }
        f.kind = kind;
    }

    /// Parse what direction `d` of `f` has buffered.
    fn parse(&mut self, f: &mut TcpFlow, d: usize) {
        let [s0, s1] = &mut f.st;
        let st = if d == 0 { s0 } else { s1 };
        match &mut f.kind {
            Kind::Unknown | Kind::Other => {}
            Kind::Tls(c) => c.feed(d, st, &mut self.issues, &mut self.certs),
            Kind::Http { p, m } => {
                let mut out = Vec::new();
                let front =
                    m.front_request().map(|r| r.split(' ').next().unwrap_or("").to_string());
                let fm = move || front.clone();
                if let Some(p) = p.get_mut(d) {
                    if let Err((frame, e)) = p.feed(st, &fm, &mut out) {
                        self.issues.add(frame, format!("HTTP: {e}"));
                    }
                }
                http_emit(m, out);
            }
            Kind::Ldap { f: fr, m } => {
                let stats = &mut self.stats;
                let Some(fr) = fr.get_mut(d) else { return };
                let r = fr.feed(st, ldap::head, |msg, start, end| match msg {
                    ldap::Msg::Sasl => stats.ldap_sasl_wrapped += 1,
                    ldap::Msg::Op { id, op, result } => {
                        if ldap::is_request(op) {
                            m.request(Some(id), ldap::op_name(op), start, end, false);
                        } else if ldap::is_partial(op) {
                            m.partial(Some(id), start);
                        } else if ldap::is_response(op) {
                            let rc = result.unwrap_or(0);
                            m.response(
                                Some(id),
                                start,
                                end,
                                ldap::result_name(rc),
                                !ldap::result_ok(rc),
                            );
                        }
                    }
                });
                if let Err((frame, e)) = r {
                    self.issues.add(frame, format!("LDAP: {e}"));
                }
            }
            Kind::Smb2 { f: fr, m } => {
                let stats = &mut self.stats;
                let Some(fr) = fr.get_mut(d) else { return };
                let r = fr.feed(st, smb2::head, |msg, start, end| match msg {
                    smb2::Msg::Smb2(hs) => {
                        for h in hs {
                            if !h.response {
                                if h.command == 12 {
                                    continue; // CANCEL has no response of its own
                                }
                                m.request(
                                    Some(h.message_id),
                                    smb2::command_name(h.command),
                                    start,
                                    end,
                                    h.command == 15,
                                );
                            } else if h.is_async && h.status == smb2::STATUS_PENDING {
                                // interim response: the final one comes later
                            } else {
                                m.response(
                                    Some(h.message_id),
                                    start,
                                    end,
                                    smb2::status_name(h.status),
                                    smb2::status_is_error(h.status),
                                );
                            }
                        }
                    }
                    smb2::Msg::Encrypted => stats.smb2_encrypted += 1,
                    smb2::Msg::Smb1 | smb2::Msg::Netbios(_) => {}
                });
                if let Err((frame, e)) = r {
                    self.issues.add(frame, format!("SMB2: {e}"));
                }
            }
            Kind::DnsTcp(fr) => {
                let Some(fr) = fr.get_mut(d) else { return };
                let mut msgs = Vec::new();
                let r = fr.feed(
                    st,
                    |b| {
                        let Some(hdr) = b.get(..2) else { return Ok(stream::Head::Need) };
                        let n = u16::from_be_bytes([
                            hdr.first().copied().unwrap_or(0),
                            hdr.get(1).copied().unwrap_or(0),
                        ]) as u64;
                        if (b.len() as u64) < 2 + n {
                            // the message is at most 64 KiB: wait for all of it
                            return Ok(stream::Head::Need);
                        }
                        let m = dns::parse(b.get(2..2 + n as usize).unwrap_or(&[])).ok();
                        Ok(stream::Head::Frame { total: 2 + n, info: m })
                    },
                    |m, _start, end| msgs.push((m, end)),
                );
                if let Err((frame, e)) = r {
                    self.issues.add(frame, format!("DNS/TCP: {e}"));
                }
                let dir = if d == 0 { Dir::Orig } else { Dir::Resp };
                for (m, end) in msgs {
                    self.stats.dns_messages += 1;
                    match m {
                        Some(m) => self.dns.message(&f.info, dir, &m, end.frame, end.ts),
                        None => {
                            self.stats.dns_parse_errors += 1;
                            self.issues.add(end.frame, "DNS/TCP: message does not parse".into());
                        }
                    }
                }
            }
        }
    }

    fn close(&mut self, mut f: TcpFlow) {
        match f.kind {
            Kind::Tls(c) => {
                if self.tls.len() < self.cfg.max_tls_sessions {
                    self.tls.push(c.finish());
                } else {
                    self.stats.tls_dropped += 1;
                }
            }
            Kind::Http { mut p, mut m } => {
                let mut out = Vec::new();
                for (i, p) in p.iter_mut().enumerate() {
                    let last = f.st.get(i).map(|s| s.last).unwrap_or_default();
                    p.close(last, &mut out);
                }
                out.sort_by_key(|x| x.start.frame);
                http_emit(&mut m, out);
                self.keep(m);
            }
            Kind::Ldap { m, .. } => self.keep(m),
            Kind::Smb2 { f: mut fr, mut m } => {
                for (i, fr) in fr.iter_mut().enumerate() {
                    if let Some(st) = f.st.get_mut(i) {
                        fr.close(st, |msg, start, end| {
                            if let smb2::Msg::Smb2(hs) = msg {
                                for h in hs.into_iter().filter(|h| h.response) {
                                    m.response(
                                        Some(h.message_id),
                                        start,
                                        end,
                                        smb2::status_name(h.status),
                                        smb2::status_is_error(h.status),
                                    );
                                }
                            }
                        });
                    }
                }
                self.keep(m)
            }
            Kind::DnsTcp(_) | Kind::Unknown | Kind::Other => {}
        }
    }

    fn keep(&mut self, m: txn::Matcher) {
        let t = m.close();
        if t.requests == 0 && t.orphan_responses == 0 {
            return;
        }
        if self.txns.len() < self.cfg.max_transaction_flows {
            self.txns.push(t);
        } else {
            self.stats.transaction_flows_dropped += 1;
        }
    }
}

fn http_emit(m: &mut txn::Matcher, out: Vec<http::Msg>) {
    for msg in out {
        match msg.head.status {
            // RPC over HTTP channels and CONNECT tunnels stay open by design
            None => {
                let long = matches!(
                    msg.head.method.as_deref(),
                    Some("RPC_IN_DATA" | "RPC_OUT_DATA" | "CONNECT")
                );
                m.request(None, msg.head.line.clone(), msg.start, msg.end, long)
            }
            Some(s) if (100..200).contains(&s) && s != 101 => m.partial(None, msg.start),
            Some(s) => {
                m.response(None, msg.start, msg.end, s.to_string(), s >= 400);
            }
        }
    }
}

impl StreamHandler for AppAnalyzer {
    fn tcp_data(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        _offset: u64,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
    ) {
        self.last_ts = self.last_ts.max(ts);
        let d = dir.idx();
        let mut f = match self.flows.remove(&flow.id) {
            Some(f) => f,
            None => {
                if self.flows.len() >= self.cfg.max_flows {
                    self.stats.flows_dropped += 1;
                    return;
                }
                self.stats.tcp_flows += 1;
                Box::new(TcpFlow {
                    info: *flow,
                    kind: Kind::Unknown,
                    st: Default::default(),
                    seen: [0; 2],
                    dead: [false; 2],
                })
            }
        };
        if matches!(f.kind, Kind::Other) || f.dead.get(d).copied().unwrap_or(true) {
            self.flows.insert(flow.id, f);
            return;
        }
        if let Some(s) = f.seen.get_mut(d) {
            *s = s.saturating_add(data.len() as u64);
        }
        let before = f.buffered();
        self.buffered = self.buffered.saturating_sub(before);
        let cap = self.cfg.stream_cap;
        let pushed = if self.buffered.saturating_add(before).saturating_add(data.len())
            > self.cfg.total_buffer_cap
        {
            Err(format!("{}: all connections together buffer more than {} bytes, stopped following this one", kind_name(&f.kind), self.cfg.total_buffer_cap))
        } else {
            match f.st.get_mut(d) {
                Some(st) => st.push(data, At { frame, ts }, cap).map_err(|_| {
                    format!(
                        "{}: more than {cap} bytes buffered in one direction, stopped following it",
                        kind_name(&f.kind)
                    )
                }),
                None => Ok(()),
            }
        };
        if let Err(what) = pushed {
            self.stats.buffer_overflows += 1;
            self.issues.add(frame, what);
            self.abandon(&mut f, d);
        } else {
            if matches!(f.kind, Kind::Unknown) {
                self.recognise(&mut f, d);
                // bytes the other direction buffered while the protocol was unknown
                if !matches!(f.kind, Kind::Unknown | Kind::Other) {
                    self.parse(&mut f, 1 - d);
                }
            }
            self.parse(&mut f, d);
        }
        self.buffered = self.buffered.saturating_add(f.buffered());
        self.flows.insert(flow.id, f);
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
        self.last_ts = self.last_ts.max(ts);
        let Some(mut f) = self.flows.remove(&flow.id) else { return };
        self.buffered = self.buffered.saturating_sub(f.buffered());
        let d = dir.idx();
        if !matches!(f.kind, Kind::Other | Kind::Unknown) && !f.dead.get(d).copied().unwrap_or(true)
        {
            self.stats.gaps += 1;
            self.issues.add(frame, format!("{}: {len} bytes at stream offset {offset} not captured, stopped following that direction", kind_name(&f.kind)));
        }
        self.abandon(&mut f, d);
        self.buffered = self.buffered.saturating_add(f.buffered());
        self.flows.insert(flow.id, f);
    }

    fn tcp_end(&mut self, flow: &FlowInfo, ts: Timestamp) {
        self.last_ts = self.last_ts.max(ts);
        if let Some(f) = self.flows.remove(&flow.id) {
            self.buffered = self.buffered.saturating_sub(f.buffered());
            self.close(*f);
        }
    }

    fn udp(&mut self, flow: &FlowInfo, dir: Dir, data: &[u8], frame: u64, ts: Timestamp) {
        self.last_ts = self.last_ts.max(ts);
        self.stats.udp_datagrams += 1;
        let port_hint = dns::is_dns_port(flow.orig.port()) || dns::is_dns_port(flow.resp.port());
        let netbios =
            dns::is_netbios_port(flow.orig.port()) || dns::is_netbios_port(flow.resp.port());
        if !port_hint && (netbios || !dns::looks_like(data)) {
            return;
        }
        match dns::parse(data) {
            Ok(m) => {
                self.stats.dns_messages += 1;
                self.dns.message(flow, dir, &m, frame, ts);
            }
            Err(e) => {
                self.stats.dns_parse_errors += 1;
                self.issues.add(frame, format!("DNS: {e}"));
            }
        }
    }
}

impl AppAnalyzer {
    /// Stop following direction `d` (a gap or a full buffer).
    fn abandon(&mut self, f: &mut TcpFlow, d: usize) {
        if let Some(x) = f.dead.get_mut(d) {
            *x = true;
        }
        if let Some(st) = f.st.get_mut(d) {
            st.reset();
        }
        match &mut f.kind {
            Kind::Tls(c) => c.lose_sync(d),
            Kind::Http { p, .. } => {
                if let Some(p) = p.get_mut(d) {
                    p.stop();
                }
            }
            Kind::Ldap { f: fr, .. } => {
                if let Some(fr) = fr.get_mut(d) {
                    fr.dead = true;
                }
            }
            Kind::Smb2 { f: fr, .. } => {
                if let Some(fr) = fr.get_mut(d) {
                    fr.dead = true;
                }
            }
            Kind::DnsTcp(fr) => {
                if let Some(fr) = fr.get_mut(d) {
                    fr.dead = true;
                }
            }
            Kind::Unknown => f.kind = Kind::Other,
            Kind::Other => {}
        }
    }
}

fn kind_name(k: &Kind) -> &'static str {
    match k {
        Kind::Unknown | Kind::Other => "TCP",
        Kind::Tls(_) => "TLS",
        Kind::Http { .. } => "HTTP",
        Kind::Ldap { .. } => "LDAP",
        Kind::Smb2 { .. } => "SMB2",
        Kind::DnsTcp(_) => "DNS/TCP",
    }
}
