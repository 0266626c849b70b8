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
//! - [`auth`]: logon and request outcomes ([`kerberos`] on port 88, [`ldapauth`],
//!   [`smbauth`], [`httpauth`], NTLM and Kerberos tokens wherever they travel) and the
//!   wrong protocol on a port / RDP negotiation ([`mismatch`]), in [`AppReport::auth`].
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
/// The shared protocol facts (code names, readers), for the rules over this crate's output.
pub use tracehound_proto as proto;

pub mod auth;
pub mod cert;
mod config;
pub mod dns;
pub mod http;
pub mod httpauth;
pub mod kerberos;
pub mod ldap;
pub mod ldapauth;
pub mod mismatch;
pub mod reader;
pub mod smb2;
pub mod smbauth;
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

pub use config::{AppConfig, Issue, Issues};

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
    /// Logons, failed requests, protocol mismatches.
    pub auth: auth::AuthReport,
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
        a: httpauth::HttpAuth,
    },
    Ldap {
        f: [Framer<ldap::Msg>; 2],
        m: txn::Matcher,
        a: Box<ldapauth::LdapAuth>,
    },
    Kerberos {
        f: [Framer<Result<tracehound_proto::krb::KrbMsg, String>>; 2],
        p: kerberos::Pairing,
    },
    Smb2 {
        f: [Framer<smb2::Msg>; 2],
        m: txn::Matcher,
        a: Box<smbauth::SmbAuth>,
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
    /// The first bytes of each direction (wrong protocol on a port, RDP negotiation).
    first: [mismatch::First; 2],
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
    auth: auth::AuthReport,
    /// Kerberos over UDP: requests waiting for their answer, per flow (bounded).
    krb_udp: HashMap<FlowId, kerberos::Pairing>,
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
            auth: auth::AuthReport::default(),
            krb_udp: HashMap::default(),
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
            auth: self.auth,
        }
    }

    fn recognise(&mut self, f: &mut TcpFlow, d: usize) {
        let data = stream::by_dir(&f.st, d).data();
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
                a: httpauth::HttpAuth::default(),
            }
        } else if smb2::looks_like(data) {
            self.stats.smb2_flows += 1;
            Kind::Smb2 {
                f: Default::default(),
                m: txn::Matcher::new(info, AppProto::Smb2),
                a: Default::default(),
            }
        } else if ldap::looks_like(data)
            || (hint(&info, &[389, 3268]) && data.first() == Some(&0x30))
        {
            self.stats.ldap_flows += 1;
            Kind::Ldap {
                f: Default::default(),
                m: txn::Matcher::new(info, AppProto::Ldap),
                a: Default::default(),
            }
        } else if kerberos::is_port(&info)
            && data.first() == Some(&0)
            && matches!(data.get(4), Some(0x6a..=0x6d | 0x7e))
        {
            Kind::Kerberos { f: Default::default(), p: Default::default() }
        } else if hint(&info, &[53])
            && data.len() >= 14
            && dns::parse(data.get(2..).unwrap_or(&[])).is_ok()
        {
            self.stats.dns_tcp_flows += 1;
            Kind::DnsTcp(Default::default())
        } else {
            let enough = data.len() >= self.cfg.sniff_bytes
                || *stream::by_dir(&f.seen, d) >= self.cfg.sniff_bytes as u64;
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
            Kind::Http { p, m, a } => {
                let mut out = Vec::new();
                let front =
                    m.front_request().map(|r| r.split(' ').next().unwrap_or("").to_string());
                let fm = move || front.clone();
                if let Some(p) = p.get_mut(d) {
                    if let Err((frame, e)) = p.feed(st, &fm, &mut out) {
                        self.issues.add(frame, format!("HTTP: {e}"));
                    }
                }
                for msg in &out {
                    a.message(msg, &f.info, &mut self.auth);
                }
                http::emit(m, out);
            }
            Kind::Ldap { f: fr, m, a } => {
                let stats = &mut self.stats;
                let (info, auth) = (f.info, &mut self.auth);
                let Some(fr) = fr.get_mut(d) else { return };
                let r = fr.feed(st, ldap::head, |msg, start, end| match msg {
                    ldap::Msg::Sasl => stats.ldap_sasl_wrapped += 1,
                    ldap::Msg::Op { id, op, result, detail } => {
                        let msg = ldapauth::Message { id, op, result, detail };
                        a.message(msg, &info, start, auth);
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
            Kind::Smb2 { f: fr, m, a } => {
                let stats = &mut self.stats;
                let (info, auth) = (f.info, &mut self.auth);
                let Some(fr) = fr.get_mut(d) else { return };
                let r = fr.feed(st, smb2::head, |msg, start, end| match msg {
                    smb2::Msg::Smb2(hs) => {
                        for h in hs {
                            a.header(&h, &info, start.frame, start.ts, auth);
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
            Kind::Kerberos { f: fr, p } => {
                if let Some(fr) = fr.get_mut(d) {
                    kerberos::feed(fr, p, st, &f.info, &mut self.auth, &mut self.issues);
                }
            }
            Kind::DnsTcp(fr) => {
                let Some(fr) = fr.get_mut(d) else { return };
                let mut msgs = Vec::new();
                let r = fr.feed(st, dns_tcp_head, |m, _start, end| msgs.push((m, end)));
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
        mismatch::classify(&f.info, &f.first, &mut self.auth);
        match f.kind {
            Kind::Tls(c) => {
                if self.tls.len() < self.cfg.max_tls_sessions {
                    self.tls.push(c.finish());
                } else {
                    self.stats.tls_dropped += 1;
                }
            }
            Kind::Http { mut p, mut m, mut a } => {
                let mut out = Vec::new();
                for (i, p) in p.iter_mut().enumerate() {
                    let last = f.st.get(i).map(|s| s.last).unwrap_or_default();
                    p.close(last, &mut out);
                }
                out.sort_by_key(|x| x.start.frame);
                for msg in &out {
                    a.message(msg, &f.info, &mut self.auth);
                }
                http::emit(&mut m, out);
                self.keep(m);
            }
            Kind::Ldap { m, .. } => self.keep(m),
            Kind::Smb2 { f: mut fr, mut m, mut a } => {
                let auth = &mut self.auth;
                for (i, fr) in fr.iter_mut().enumerate() {
                    if let Some(st) = f.st.get_mut(i) {
                        fr.close(st, |msg, start, end| {
                            if let smb2::Msg::Smb2(hs) = msg {
                                for h in hs.into_iter().filter(|h| h.response) {
                                    a.header(&h, &f.info, start.frame, start.ts, auth);
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
            Kind::DnsTcp(_) | Kind::Kerberos { .. } | Kind::Unknown | Kind::Other => {}
        }
    }

    fn keep(&mut self, m: txn::Matcher) {
        let mut t = m.close();
        if t.requests == 0 && t.orphan_responses == 0 {
            return;
        }
        // Kept to the end: give back the room the lists grew into.
        t.samples.shrink_to_fit();
        t.slowest.shrink_to_fit();
        if self.txns.len() < self.cfg.max_transaction_flows {
            self.txns.push(t);
        } else {
            self.stats.transaction_flows_dropped += 1;
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
                    first: Default::default(),
                    dead: [false; 2],
                })
            }
        };
        if let Some(x) = f.first.get_mut(d) {
            x.push(data, frame, ts);
        }
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
        if kerberos::is_port(flow) {
            self.krb_udp_datagram(flow, data, frame, ts);
            return;
        }
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
    /// One Kerberos datagram (UDP 88).
    fn krb_udp_datagram(&mut self, flow: &FlowInfo, data: &[u8], frame: u64, ts: Timestamp) {
        match tracehound_proto::krb::parse(data) {
            Ok(m) => {
                if self.krb_udp.len() >= 4096 && !self.krb_udp.contains_key(&flow.id) {
                    self.krb_udp.clear();
                }
                let p = self.krb_udp.entry(flow.id).or_default();
                p.message(m, flow, frame, ts, &mut self.auth);
            }
            Err(e) => self.issues.add(frame, format!("Kerberos/UDP: {e}")),
        }
    }

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
            Kind::Kerberos { f: fr, .. } => {
                if let Some(fr) = fr.get_mut(d) {
                    fr.dead = true;
                }
            }
            Kind::Unknown => f.kind = Kind::Other,
            Kind::Other => {}
        }
    }
}

/// Frame one DNS-over-TCP message (2-byte length; at most 64 KiB, so wait for all of it).
fn dns_tcp_head(b: &[u8]) -> Result<stream::Head<Option<dns::Message>>, reader::ParseError> {
    let Some(hdr) = b.get(..2) else { return Ok(stream::Head::Need) };
    let n =
        u16::from_be_bytes([hdr.first().copied().unwrap_or(0), hdr.get(1).copied().unwrap_or(0)])
            as u64;
    if (b.len() as u64) < 2 + n {
        return Ok(stream::Head::Need);
    }
    let m = dns::parse(b.get(2..2 + n as usize).unwrap_or(&[])).ok();
    Ok(stream::Head::Frame { total: 2 + n, info: m })
}

fn kind_name(k: &Kind) -> &'static str {
    match k {
        Kind::Unknown | Kind::Other => "TCP",
        Kind::Tls(_) => "TLS",
        Kind::Http { .. } => "HTTP",
        Kind::Ldap { .. } => "LDAP",
        Kind::Smb2 { .. } => "SMB2",
        Kind::DnsTcp(_) => "DNS/TCP",
        Kind::Kerberos { .. } => "Kerberos",
    }
}
