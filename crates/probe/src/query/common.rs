//! What every protocol query shares: the target context, the output block, the two traits a
//! protocol implements ([`Query`] for the whole query, [`Exchange`] for the common
//! one-request-one-reply shape, run by [`ask`]), and the bounded TCP/UDP exchanges.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde_json::{json, Value};

use super::rd;
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
    pub(crate) fn sa(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.addr, port)
    }

    /// The name given with -n when it is a name (for SNI, Host and name matching).
    pub(crate) fn given_name(&self) -> Option<&str> {
        crate::resolve::literal(&self.host).is_none().then_some(self.host.as_str())
    }

    /// The name a certificate or Host header should carry: the given name, else the address.
    pub(crate) fn asked_name(&self) -> String {
        self.given_name().map(str::to_string).unwrap_or_else(|| self.addr.to_string())
    }

    /// The realm for the Kerberos question: `--realm` or a learned one, else the domain part
    /// of the target's name in upper case, else WORKGROUP.
    pub(crate) fn realm_guess(&self) -> String {
        if let Some(r) = &self.realm {
            return r.clone();
        }
        self.name
            .as_deref()
            .and_then(|n| n.split_once('.').map(|(_, d)| d.to_ascii_uppercase()))
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "WORKGROUP".to_string())
    }
}

/// Where one query goes: the query kind the port got, the transport and the port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Port {
    pub kind: Kind,
    pub proto: Proto,
    pub port: u16,
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

impl Output {
    /// Adds a second result (e.g. the TLS handshake after an RDP negotiation) as `key`.
    pub(crate) fn attach<T: serde::Serialize>(&mut self, key: &str, lines: Vec<String>, r: &T) {
        self.lines.extend(lines);
        if let Value::Object(o) = &mut self.result {
            o.insert(key.into(), serde_json::to_value(r).unwrap_or(Value::Null));
        }
    }
}

/// The block of a query that failed: its header, the reason, and `{"error": …}`.
pub(crate) fn fail(
    kind: Kind,
    header: String,
    e: impl std::fmt::Display,
    answered: bool,
) -> Output {
    Output {
        kind,
        lines: vec![header, format!("  query failed: {e}")],
        result: json!({ "error": e.to_string() }),
        endpoints: None,
        answered,
    }
}

/// The block of a query that was answered: its header, `lines`, and `r` as the result.
pub(crate) fn ok<T: serde::Serialize>(
    kind: Kind,
    header: String,
    mut lines: Vec<String>,
    r: &T,
) -> Output {
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

pub(crate) fn rand_u16() -> u16 {
    u16::from_be_bytes(random_bytes::<2>())
}

/// One protocol query: everything from the first packet to the rendered block. The
/// dispatcher ([`super::run`]) calls it for the ports [`super::for_port`] maps to it.
///
/// Only this crate implements it and calls it with concrete types (no `Send` bound is
/// needed on the returned future: the queries run one after another on one task).
#[allow(async_fn_in_trait)]
pub trait Query {
    /// Runs the query against `at`. `kept` is the reply the state probe already received
    /// for a UDP port (its payload was this query's request).
    async fn run(ctx: &mut Ctx, at: Port, kept: Option<Vec<u8>>) -> Output;
}

/// The common shape of a query: one request, one reply, one parse. [`ask`] runs it; a
/// protocol whose query is just that implements [`Query::run`] as `ask::<Self>(…)`.
pub trait Exchange: Sized {
    /// The parsed reply, which is also the JSON `result`.
    type Reply: serde::Serialize;
    /// What is sent, for the header line "Sending {WHAT} to {TCP|UDP} port {port}...".
    const WHAT: &'static str;
    /// The query is only defined over UDP.
    const UDP_ONLY: bool = false;
    /// Largest TCP reply read (not used by UDP-only queries).
    const MAX_REPLY: usize = 64 * 1024;

    /// A fresh query for the target: draws its ids and nonces.
    fn new(ctx: &Ctx) -> Self;
    /// Takes on a reply the state probe kept (e.g. its transaction id); false to ask anew.
    fn adopt(&mut self, _kept: &[u8]) -> bool {
        true
    }
    /// The request for this transport.
    fn request(&self, proto: Proto) -> Vec<u8>;
    /// The length of the TCP reply when `b` holds all of it (not used by UDP-only queries).
    fn complete(b: &[u8]) -> Option<usize> {
        (!b.is_empty()).then_some(b.len())
    }
    /// The message inside a TCP reply (drops a length prefix).
    fn unframe(b: Vec<u8>) -> Vec<u8> {
        b
    }
    /// Parses the reply.
    fn parse(&self, b: &[u8]) -> Result<Self::Reply, QueryError>;
    /// The text block of a parsed reply.
    fn lines(&self, r: &Self::Reply, ctx: &Ctx) -> Vec<String>;
    /// What a reply teaches the later queries (the LDAP rootDSE teaches the realm).
    fn learn(&self, _r: &Self::Reply, _ctx: &mut Ctx) {}

    /// The header line of the block.
    fn header(at: Port) -> String {
        format!("Sending {} to {} port {}...", Self::WHAT, at.proto.upper(), at.port)
    }
    /// Parses `b` and renders it, or says why it could not be read.
    fn answer(&self, ctx: &mut Ctx, at: Port, header: String, b: &[u8]) -> Output {
        match self.parse(b) {
            Ok(r) => {
                self.learn(&r, ctx);
                ok(at.kind, header, self.lines(&r, ctx), &r)
            }
            Err(e) => fail(at.kind, header, e, true),
        }
    }
}

/// Runs an [`Exchange`]: over UDP the kept reply (when the query adopts it) or one bounded
/// exchange, over TCP one connection that reads until [`Exchange::complete`].
pub async fn ask<Q: Exchange>(ctx: &mut Ctx, at: Port, kept: Option<Vec<u8>>) -> Output {
    let header = Q::header(at);
    let mut q = Q::new(ctx);
    let reply = match (at.proto, kept) {
        (Proto::Udp, Some(r)) if q.adopt(&r) => Ok(r),
        (Proto::Udp, _) => udp_exchange(ctx, at.port, &q.request(at.proto)).await,
        (Proto::Tcp, _) => {
            tcp_exchange(ctx, at.port, &q.request(at.proto), Q::MAX_REPLY, Q::complete)
                .await
                .map(Q::unframe)
        }
    };
    match reply {
        Err(e) => fail(at.kind, header, e, false),
        Ok(b) => q.answer(ctx, at, header, &b),
    }
}

pub(crate) async fn connect(ctx: &Ctx, port: u16) -> Result<tokio::net::TcpStream, QueryError> {
    net::tcp_connect(ctx.sa(port), ctx.limits.source_port, ctx.limits.timeout)
        .await
        .map_err(|f| QueryError::Other(format!("connect failed: {}", f.describe())))
}

/// Closes with a reset at once (linger 0): no blocking, no TIME_WAIT.
pub(crate) fn reset(s: &tokio::net::TcpStream) {
    #[allow(deprecated)]
    let _ = s.set_linger(Some(Duration::ZERO));
}

/// One connection, one request, one reply read until `complete` (3 read waits).
pub(crate) async fn tcp_exchange<F: Fn(&[u8]) -> Option<usize>>(
    ctx: &Ctx,
    port: u16,
    req: &[u8],
    max: usize,
    complete: F,
) -> Result<Vec<u8>, QueryError> {
    let mut s = connect(ctx, port).await?;
    let r =
        net::tcp_request(&mut s, req, max, ctx.limits.timeout.saturating_mul(3), complete).await?;
    reset(&s);
    Ok(r)
}

/// One datagram and its reply, `tries` times at most.
pub(crate) async fn udp_exchange(ctx: &Ctx, port: u16, req: &[u8]) -> Result<Vec<u8>, QueryError> {
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
