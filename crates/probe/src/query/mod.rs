//! Protocol queries: for a port that answered (or a UDP port that stayed silent), a
//! protocol-specific request whose reply says what serves the port. One module per
//! protocol; this module maps ports to queries, runs them with bounded waits, and
//! renders each as a PortQry-style text block plus a JSON `result` object.
//!
//! Each query takes at most one connect wait plus three read waits (`4 x timeout`); the
//! TLS query may use two connections, and Kerberos / DNS may first learn the realm over
//! CLDAP or LDAP (`8 x timeout` each). The endpoint-mapper follow-up is bounded
//! separately (see [`epm`]).

pub mod dns;
pub mod epm;
pub mod http;
pub mod kerberos;
pub mod ldap;
pub mod mssql;
pub mod nbstat;
pub mod rd;
pub mod rdp;
pub mod smb;
pub mod snmp;
pub mod stun;
pub mod tls;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde_json::{json, Value};

use crate::net::{self, ConnectFail, UdpOutcome};
use crate::scan::Limits;
use crate::Proto;

/// Why a query produced no result.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Ber(#[from] crate::ber::BerError),
    #[error(transparent)]
    Malformed(#[from] rd::Malformed),
    #[error(transparent)]
    Exchange(#[from] net::ExchangeError),
    #[error("{0}")]
    Other(String),
}

/// Which query a port gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Epm,
    Ldap,
    GlobalCatalog,
    Cldap,
    Dns,
    Nbstat,
    Snmp,
    Kerberos,
    Smb,
    SqlBrowser,
    Tls,
    Stun,
    Http,
    Rdp,
}

impl Kind {
    /// The JSON `query` name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Epm => "epm",
            Kind::Ldap => "ldap",
            Kind::GlobalCatalog => "ldap-gc",
            Kind::Cldap => "cldap",
            Kind::Dns => "dns",
            Kind::Nbstat => "netbios-node-status",
            Kind::Snmp => "snmp",
            Kind::Kerberos => "kerberos",
            Kind::Smb => "smb2-negotiate",
            Kind::SqlBrowser => "sql-browser",
            Kind::Tls => "tls",
            Kind::Stun => "stun",
            Kind::Http => "http",
            Kind::Rdp => "rdp",
        }
    }

    /// LDAP runs first: it teaches the realm to the Kerberos query.
    pub fn priority(self) -> u8 {
        match self {
            Kind::Ldap | Kind::Cldap | Kind::GlobalCatalog => 0,
            _ => 1,
        }
    }
}

/// The query for a port, if we know one.
pub fn for_port(proto: Proto, port: u16) -> Option<Kind> {
    Some(match (proto, port) {
        (Proto::Tcp, 135) => Kind::Epm,
        (Proto::Tcp, 389) => Kind::Ldap,
        (Proto::Tcp, 3268) => Kind::GlobalCatalog,
        (Proto::Udp, 389) => Kind::Cldap,
        (_, 53) => Kind::Dns,
        (Proto::Udp, 137) => Kind::Nbstat,
        (Proto::Udp, 161) => Kind::Snmp,
        (_, 88) => Kind::Kerberos,
        (Proto::Tcp, 445) => Kind::Smb,
        (Proto::Udp, 1434) => Kind::SqlBrowser,
        (Proto::Tcp, 443 | 465 | 636 | 993 | 995 | 3269 | 5061 | 5986 | 8443 | 8531) => Kind::Tls,
        (_, 3478) => Kind::Stun,
        (Proto::Tcp, 80 | 8080 | 5985 | 8530) => Kind::Http,
        (Proto::Tcp, 3389) => Kind::Rdp,
        _ => return None,
    })
}

/// Everything a query needs to know about its target.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// The target as given on the command line.
    pub host: String,
    pub addr: IpAddr,
    /// A DNS name for the target: the one given, else the reverse lookup.
    pub name: Option<String>,
    pub limits: Limits,
    pub community: String,
    pub realm: Option<String>,
    pub follow_up: bool,
    pub map: Option<String>,
    pub verbose: bool,
}

impl Ctx {
    fn sa(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.addr, port)
    }

    /// The name given with -n when it is a name (for SNI, Host and name matching).
    fn given_name(&self) -> Option<&str> {
        crate::resolve::literal(&self.host).is_none().then_some(self.host.as_str())
    }

    fn realm_guess(&self) -> String {
        if let Some(r) = &self.realm {
            return r.clone();
        }
        self.name
            .as_deref()
            .and_then(|n| n.split_once('.').map(|(_, d)| d.to_ascii_uppercase()))
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "WORKGROUP".to_string())
    }

    fn dns_question(&self) -> (String, u16) {
        if let Some(r) = &self.realm {
            (r.to_ascii_lowercase(), dns::TYPE_SOA)
        } else if let Some(n) = self.given_name() {
            (n.to_string(), dns::TYPE_A)
        } else {
            (".".to_string(), dns::TYPE_SOA)
        }
    }
}

/// A query's text block and JSON result.
#[derive(Clone, Debug)]
pub struct Output {
    pub kind: Kind,
    pub lines: Vec<String>,
    pub result: Value,
    pub endpoints: Option<Value>,
    /// A reply came back (upgrades a silent UDP port to LISTENING).
    pub answered: bool,
}

fn fail(kind: Kind, header: String, e: impl std::fmt::Display, answered: bool) -> Output {
    Output {
        kind,
        lines: vec![header, format!("  query failed: {e}")],
        result: json!({ "error": e.to_string() }),
        endpoints: None,
        answered,
    }
}

fn ok<T: serde::Serialize>(kind: Kind, header: String, mut lines: Vec<String>, r: &T) -> Output {
    let mut all = vec![header];
    all.append(&mut lines);
    Output {
        kind,
        lines: all,
        result: serde_json::to_value(r).unwrap_or(Value::Null),
        endpoints: None,
        answered: true,
    }
}

/// A small non-cryptographic generator for ids, nonces and throwaway key shares.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    use std::sync::atomic::{AtomicU64, Ordering};
    static CTR: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = t
        ^ CTR.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
        ^ (u64::from(std::process::id()) << 32);
    let mut out = [0u8; N];
    for b in out.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = (x >> 24) as u8;
    }
    out
}

fn rand_u16() -> u16 {
    u16::from_be_bytes(random_bytes::<2>())
}

/// The dummy principal used for the AS-REQ.
pub const KRB_USER: &str = "tracehound-portqry-probe";

/// The datagram a UDP port gets during the state probe (empty when no query is known).
pub fn udp_payload(port: u16, ctx: &Ctx) -> Vec<u8> {
    match for_port(Proto::Udp, port) {
        Some(Kind::Cldap) => ldap::request(1),
        Some(Kind::Dns) => {
            let (q, t) = ctx.dns_question();
            dns::request(rand_u16(), &q, t)
        }
        Some(Kind::Nbstat) => nbstat::request(rand_u16()),
        Some(Kind::Snmp) => snmp::request(1, &ctx.community, i64::from(rand_u16())),
        Some(Kind::Kerberos) => {
            kerberos::request(&ctx.realm_guess(), KRB_USER, u32::from_be_bytes(random_bytes::<4>()))
        }
        Some(Kind::SqlBrowser) => mssql::request(),
        Some(Kind::Stun) => stun::binding(random_bytes::<12>()),
        _ => Vec::new(),
    }
}

async fn connect(ctx: &Ctx, port: u16) -> Result<tokio::net::TcpStream, QueryError> {
    net::tcp_connect(ctx.sa(port), ctx.limits.source_port, ctx.limits.timeout)
        .await
        .map_err(|f| QueryError::Other(format!("connect failed: {}", f.describe())))
}

async fn tcp_exchange<F: Fn(&[u8]) -> Option<usize>>(
    ctx: &Ctx,
    port: u16,
    req: &[u8],
    max: usize,
    complete: F,
) -> Result<Vec<u8>, QueryError> {
    let mut s = connect(ctx, port).await?;
    let r =
        net::tcp_request(&mut s, req, max, ctx.limits.timeout.saturating_mul(3), complete).await?;
    #[allow(deprecated)] // linger 0 closes with a reset at once: no blocking, no TIME_WAIT
    let _ = s.set_linger(Some(Duration::ZERO));
    Ok(r)
}

async fn udp_exchange(ctx: &Ctx, port: u16, req: &[u8]) -> Result<Vec<u8>, QueryError> {
    match net::udp_exchange(
        ctx.sa(port),
        ctx.limits.source_port,
        req,
        ctx.limits.timeout,
        ctx.limits.tries,
        crate::scan::MAX_UDP_REPLY,
    )
    .await
    {
        UdpOutcome::Reply(r) => Ok(r),
        UdpOutcome::Failed(ConnectFail::Timeout) => Err(QueryError::Other("no reply".into())),
        UdpOutcome::Failed(f) => Err(QueryError::Other(f.describe())),
    }
}

/// Learns the realm (AD domain) for the Kerberos and DNS questions when neither `--realm`
/// nor an earlier LDAP query gave it: one CLDAP rootDSE search (UDP 389, one try), then
/// LDAP over TCP 389. Bounded by 1 + 4 waits; silence leaves the realm unknown.
async fn learn_realm(ctx: &mut Ctx) {
    if ctx.realm.is_some() {
        return;
    }
    let req = ldap::request(1);
    let once = Limits { tries: 1, ..ctx.limits.clone() };
    let cldap = net::udp_exchange(
        ctx.sa(389),
        ctx.limits.source_port,
        &req,
        once.timeout,
        1,
        crate::scan::MAX_UDP_REPLY,
    )
    .await;
    let reply = match cldap {
        UdpOutcome::Reply(r) => Some(r),
        _ => tcp_exchange(ctx, 389, &req, ldap::MAX_REPLY, ldap::complete).await.ok(),
    };
    if let Some(d) = reply.and_then(|b| ldap::parse(&b, 1).ok()) {
        ctx.realm = d.realm();
    }
}

/// Runs one query. `udp_reply` is the reply the state probe already received (its payload
/// was this query's request), so UDP queries usually cost nothing extra.
pub async fn run(
    kind: Kind,
    proto: Proto,
    port: u16,
    ctx: &mut Ctx,
    udp_reply: Option<Vec<u8>>,
) -> Output {
    let p = proto.upper();
    // DNS and Kerberos questions depend on the realm: learn it, then ask again.
    let udp_reply = if matches!(kind, Kind::Dns | Kind::Kerberos) {
        if ctx.given_name().is_none() || kind == Kind::Kerberos {
            learn_realm(ctx).await;
        }
        None
    } else {
        udp_reply
    };
    match kind {
        Kind::Epm => epm::run(ctx, port).await,
        Kind::Ldap | Kind::GlobalCatalog | Kind::Cldap => {
            let header = format!("Sending LDAP query to {p} port {port}...");
            let msgid = 1;
            let reply = if proto == Proto::Udp {
                match udp_reply {
                    Some(r) => Ok(r),
                    None => udp_exchange(ctx, port, &ldap::request(msgid)).await,
                }
            } else {
                tcp_exchange(ctx, port, &ldap::request(msgid), ldap::MAX_REPLY, ldap::complete)
                    .await
            };
            match reply {
                Err(e) => fail(kind, header, e, false),
                Ok(b) => match ldap::parse(&b, msgid) {
                    Ok(d) => {
                        if ctx.realm.is_none() {
                            ctx.realm = d.realm();
                        }
                        ok(kind, header, d.lines(), &d)
                    }
                    Err(e) => fail(kind, header, e, true),
                },
            }
        }
        Kind::Dns => {
            let (q, t) = ctx.dns_question();
            let header = format!("Sending DNS query to {p} port {port}...");
            let id = rand_u16();
            let reply = if proto == Proto::Udp {
                match udp_reply {
                    Some(r) => Ok(r),
                    None => udp_exchange(ctx, port, &dns::request(id, &q, t)).await,
                }
            } else {
                tcp_exchange(ctx, port, &dns::tcp_request(id, &q, t), 65537, dns::tcp_complete)
                    .await
                    .map(|b| b.get(2..).unwrap_or_default().to_vec())
            };
            match reply {
                Err(e) => fail(kind, header, e, false),
                Ok(b) => match dns::parse(&b) {
                    Ok(r) => ok(kind, header, r.lines(&q, t), &r),
                    Err(e) => fail(kind, header, e, true),
                },
            }
        }
        Kind::Kerberos => {
            let realm = ctx.realm_guess();
            let header = format!("Sending Kerberos AS-REQ to {p} port {port}...");
            let nonce = u32::from_be_bytes(random_bytes::<4>());
            let reply = if proto == Proto::Udp {
                match udp_reply {
                    Some(r) => Ok(r),
                    None => {
                        udp_exchange(ctx, port, &kerberos::request(&realm, KRB_USER, nonce)).await
                    }
                }
            } else {
                tcp_exchange(
                    ctx,
                    port,
                    &kerberos::tcp_request(&realm, KRB_USER, nonce),
                    kerberos::MAX_REPLY,
                    kerberos::tcp_complete,
                )
                .await
                .map(|b| b.get(4..).unwrap_or_default().to_vec())
            };
            match reply {
                Err(e) => fail(kind, header, e, false),
                Ok(b) => match kerberos::parse(&b) {
                    Ok(r) => ok(kind, header, r.lines(&realm, KRB_USER), &r),
                    Err(e) => fail(kind, header, e, true),
                },
            }
        }
        Kind::Smb => {
            let header = format!("Sending SMB2 NEGOTIATE to {p} port {port}...");
            match tcp_exchange(
                ctx,
                port,
                &smb::request(random_bytes::<16>(), random_bytes::<32>()),
                smb::MAX_REPLY,
                smb::complete,
            )
            .await
            {
                Err(e) => fail(kind, header, e, false),
                Ok(b) => match smb::parse(&b) {
                    Ok(r) => ok(kind, header, r.lines(), &r),
                    Err(e) => fail(kind, header, e, true),
                },
            }
        }
        Kind::Nbstat | Kind::Snmp | Kind::SqlBrowser | Kind::Stun if proto == Proto::Udp => {
            udp_simple(kind, port, ctx, udp_reply).await
        }
        Kind::Stun => {
            let header = format!("Sending STUN binding request to {p} port {port}...");
            let tx = random_bytes::<12>();
            match tcp_exchange(ctx, port, &stun::binding(tx), 4096, stun::complete).await {
                Err(e) => fail(kind, header, e, false),
                Ok(b) => match stun::parse(&b, tx) {
                    Ok(m) => ok(kind, header, m.lines("binding"), &m),
                    Err(e) => fail(kind, header, e, true),
                },
            }
        }
        Kind::Http => {
            let header = format!("Sending HTTP HEAD / to {p} port {port}...");
            let host = ctx.given_name().map(str::to_string).unwrap_or_else(|| ctx.addr.to_string());
            match tcp_exchange(ctx, port, &http::request(&host), http::MAX_REPLY, http::complete)
                .await
            {
                Err(e) => fail(kind, header, e, false),
                Ok(b) => match http::parse(&b) {
                    Ok(h) => ok(kind, header, h.lines(), &h),
                    Err(e) => fail(kind, header, e, true),
                },
            }
        }
        Kind::Tls => tls_query(ctx, port).await,
        Kind::Rdp => rdp_query(ctx, port).await,
        Kind::Nbstat | Kind::Snmp | Kind::SqlBrowser => {
            fail(kind, format!("{} over {p}", kind.name()), "only defined over UDP", false)
        }
    }
}

async fn udp_simple(kind: Kind, port: u16, ctx: &Ctx, udp_reply: Option<Vec<u8>>) -> Output {
    match kind {
        Kind::Nbstat => {
            let header = format!("Sending NetBIOS node status query to UDP port {port}...");
            // The probe's transaction id is unknown here; send our own when no reply is kept.
            let (reply, txid) = match udp_reply {
                Some(r) if r.len() >= 2 => {
                    let id = u16::from_be_bytes([r[0], r[1]]);
                    (Ok(r), id)
                }
                _ => {
                    let id = rand_u16();
                    (udp_exchange(ctx, port, &nbstat::request(id)).await, id)
                }
            };
            match reply {
                Err(e) => fail(kind, header, e, false),
                Ok(b) => match nbstat::parse(&b, txid) {
                    Ok(s) => ok(kind, header, s.lines(), &s),
                    Err(e) => fail(kind, header, e, true),
                },
            }
        }
        Kind::Snmp => {
            let header = format!("Sending SNMP get sysDescr to UDP port {port}...");
            let mut reply = match udp_reply {
                Some(r) => Ok(r),
                None => {
                    udp_exchange(
                        ctx,
                        port,
                        &snmp::request(1, &ctx.community, i64::from(rand_u16())),
                    )
                    .await
                }
            };
            if reply.is_err() {
                // v1-only agents ignore v2c
                reply = udp_exchange(
                    ctx,
                    port,
                    &snmp::request(0, &ctx.community, i64::from(rand_u16())),
                )
                .await;
            }
            match reply {
                Err(e) => {
                    fail(kind, header, format!("{e} (wrong community, or SNMP not served)"), false)
                }
                Ok(b) => match snmp::parse(&b) {
                    Ok(r) => ok(kind, header, r.lines(&ctx.community), &r),
                    Err(e) => fail(kind, header, e, true),
                },
            }
        }
        Kind::SqlBrowser => {
            let header = format!("Sending SQL Server Browser query to UDP port {port}...");
            let reply = match udp_reply {
                Some(r) => Ok(r),
                None => udp_exchange(ctx, port, &mssql::request()).await,
            };
            match reply {
                Err(e) => fail(kind, header, e, false),
                Ok(b) => match mssql::parse(&b) {
                    Ok(i) => ok(kind, header, mssql::lines(&i), &i),
                    Err(e) => fail(kind, header, e, true),
                },
            }
        }
        Kind::Stun => {
            let header = format!("Sending STUN binding request to UDP port {port}...");
            // A fresh binding (transaction ids must match), then a TURN allocate.
            let tx = random_bytes::<12>();
            let mut out = match udp_exchange(ctx, port, &stun::binding(tx)).await {
                Err(e) => return fail(kind, header, e, udp_reply.is_some()),
                Ok(b) => match stun::parse(&b, tx) {
                    Ok(m) => ok(kind, header, m.lines("binding"), &m),
                    Err(e) => return fail(kind, header, e, true),
                },
            };
            let tx2 = random_bytes::<12>();
            if let Ok(b) = udp_exchange(ctx, port, &stun::allocate(tx2)).await {
                if let Ok(m) = stun::parse(&b, tx2) {
                    out.lines.extend(m.lines("TURN allocate"));
                    if let Value::Object(o) = &mut out.result {
                        o.insert(
                            "turn_allocate".into(),
                            serde_json::to_value(&m).unwrap_or(Value::Null),
                        );
                    }
                }
            }
            out
        }
        _ => fail(kind, String::new(), "internal: not a UDP query", false),
    }
}

async fn rdp_query(ctx: &Ctx, port: u16) -> Output {
    let kind = Kind::Rdp;
    let header = format!("Sending RDP connection request to TCP port {port}...");
    let mut s = match connect(ctx, port).await {
        Ok(s) => s,
        Err(e) => return fail(kind, header, e, false),
    };
    let wait = ctx.limits.timeout.saturating_mul(3);
    let neg = match net::tcp_request(&mut s, &rdp::request(), rdp::MAX_REPLY, wait, rdp::complete)
        .await
    {
        Err(e) => return fail(kind, header, e, false),
        Ok(b) => match rdp::parse(&b) {
            Ok(n) => n,
            Err(e) => return fail(kind, header, e, true),
        },
    };
    let mut out = ok(kind, header, neg.lines(), &neg);
    // TLS (and CredSSP, which runs inside TLS) starts right here on the same connection.
    if let rdp::Negotiation::Selected { protocol, .. } = neg {
        if protocol != 0 {
            let sni = ctx.given_name().map(str::to_string);
            let hello = tls::client_hello(sni.as_deref(), false, random_bytes::<32>());
            if let Ok(b) =
                net::tcp_request(&mut s, &hello, tls::MAX_FLIGHT, wait, tls::complete).await
            {
                if let Ok(f) = tls::parse_flight(&b) {
                    let chain: Vec<tls::Cert> =
                        f.certs.iter().filter_map(|d| tls::decode_cert(d).ok()).collect();
                    let asked = ctx
                        .given_name()
                        .map(str::to_string)
                        .unwrap_or_else(|| ctx.addr.to_string());
                    let rep = tls::Report {
                        version: f.version.map(tls::version_name),
                        cipher: f.cipher.map(tls::cipher_name),
                        chain_length: f.certs.len(),
                        name_matches: chain.first().map(|l| tls::name_matches(l, &asked)),
                        chain,
                        name_asked: asked,
                        notes: f
                            .alert
                            .map(|(_, d)| format!("alert {}", tls::alert_name(d)))
                            .into_iter()
                            .collect(),
                    };
                    out.lines.extend(rep.lines());
                    if let Value::Object(o) = &mut out.result {
                        o.insert("tls".into(), serde_json::to_value(&rep).unwrap_or(Value::Null));
                    }
                }
            }
        }
    }
    #[allow(deprecated)]
    let _ = s.set_linger(Some(Duration::ZERO));
    out
}

async fn tls_query(ctx: &Ctx, port: u16) -> Output {
    let kind = Kind::Tls;
    let header = format!("Sending TLS ClientHello to TCP port {port}...");
    let sni = ctx.given_name().map(str::to_string);
    let asked = ctx.given_name().map(str::to_string).unwrap_or_else(|| ctx.addr.to_string());
    let hello = |tls13| tls::client_hello(sni.as_deref(), tls13, random_bytes::<32>());
    let first = match tcp_exchange(ctx, port, &hello(true), tls::MAX_FLIGHT, tls::complete).await {
        Ok(b) => b,
        Err(e) => return fail(kind, header, e, false),
    };
    let f1 = match tls::parse_flight(&first) {
        Ok(f) => f,
        Err(e) => return fail(kind, header, e, true),
    };
    let mut notes = Vec::new();
    if let Some((_, d)) = f1.alert {
        return fail(kind, header, format!("server sent alert {} ({d})", tls::alert_name(d)), true);
    }
    let mut flight = f1.clone();
    if f1.version == Some(0x0304) {
        notes.push("server chose TLS 1.3 (its certificate is encrypted); chain read from a second, TLS 1.2 handshake".into());
        match tcp_exchange(ctx, port, &hello(false), tls::MAX_FLIGHT, tls::complete)
            .await
            .map(|b| tls::parse_flight(&b))
        {
            Ok(Ok(f2)) if f2.alert.is_none() => flight.certs = f2.certs,
            Ok(Ok(f2)) => notes.push(format!(
                "the server refuses TLS 1.2 (alert {}), so its certificate cannot be shown",
                f2.alert.map(|(_, d)| tls::alert_name(d)).unwrap_or_default()
            )),
            Ok(Err(e)) => notes.push(format!("second handshake: {e}")),
            Err(e) => notes.push(format!("second handshake: {e}")),
        }
        if f1.hello_retry {
            notes.push("the server asked for another key share (HelloRetryRequest)".into());
        }
    }
    let mut chain = Vec::new();
    for der in &flight.certs {
        match tls::decode_cert(der) {
            Ok(c) => chain.push(c),
            Err(e) => notes.push(e),
        }
    }
    let matches = chain.first().map(|leaf| tls::name_matches(leaf, &asked));
    let rep = tls::Report {
        version: f1.version.map(tls::version_name),
        cipher: f1.cipher.map(tls::cipher_name),
        chain_length: flight.certs.len(),
        chain,
        name_asked: asked,
        name_matches: matches,
        notes,
    };
    ok(kind, header, rep.lines(), &rep)
}

#[cfg(test)]
mod hostile {
    //! Every reply parser, fed random bytes and mutations of well-formed messages, must
    //! return (Ok or Err) without panicking.
    use super::*;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    fn all_parsers(b: &[u8]) {
        let _ = dns::parse(b);
        let _ = ldap::parse(b, 1);
        let _ = ldap::complete(b);
        let _ = kerberos::parse(b);
        let _ = smb::parse(b);
        let _ = nbstat::parse(
            b,
            u16::from_be_bytes([*b.first().unwrap_or(&0), *b.get(1).unwrap_or(&0)]),
        );
        let _ = snmp::parse(b);
        let _ = mssql::parse(b);
        let _ = stun::parse(b, [0; 12]);
        let _ = http::parse(b);
        let _ = tls::parse_flight(b);
        let _ = tls::decode_cert(b);
        let _ = epm::pdu_complete(b);
    }

    #[test]
    fn random_and_mutated_inputs_never_panic() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let seeds: Vec<Vec<u8>> = vec![
            dns::request(1, "a.example.com", dns::TYPE_A),
            ldap::request(1),
            kerberos::request("R", "u", 1),
            smb::request([1; 16], [2; 32]),
            nbstat::request(1),
            snmp::request(1, "public", 1),
            stun::allocate([0; 12]),
            tls::client_hello(Some("x"), true, [3; 32]),
            b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n".to_vec(),
        ];
        for _ in 0..3000 {
            let n = (rng.next() % 300) as usize;
            all_parsers(&rng.bytes(n));
        }
        for seed in &seeds {
            for _ in 0..400 {
                let mut m = seed.clone();
                for _ in 0..(1 + rng.next() % 4) {
                    if m.is_empty() {
                        break;
                    }
                    let i = (rng.next() as usize) % m.len();
                    m[i] = rng.next() as u8;
                }
                all_parsers(&m);
            }
        }
    }
}
