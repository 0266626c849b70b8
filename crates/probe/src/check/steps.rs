//! One target through the steps: DNS once, then TCP → TLS → HTTP for every address,
//! stopping at the first failing step.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::cert::{self, Trust};
use super::http::{self, HttpError};
use super::record::{HttpStep, Record, Redirect, TcpStep};
use super::target::{self, Target};
use super::{dns, tls, Options};
use crate::net::{self, ConnectFail};

/// Shared by all targets of a run.
pub struct Ctx {
    pub opts: Options,
    /// The trust store, or why it could not be loaded.
    pub trust: Result<Arc<Trust>, String>,
}

/// A stream the HTTP client can use (plain TCP or TLS).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

fn ms(t: Instant) -> u64 {
    t.elapsed().as_millis() as u64
}

/// One unit of work: a target, and for presets the request to make and whether the answer's
/// links are wanted.
#[derive(Clone, Debug, Default)]
pub struct Job {
    pub raw: String,
    pub method: Option<String>,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
    pub links: bool,
    /// Credentials may be sent here (HTTP Basic, over TLS, same host, after a 401).
    pub auth: bool,
    /// The redirect method: the `Location` is a link (POSTed to next), not followed.
    pub redirect_link: bool,
    /// An SRV lookup (`raw` is the SRV name), see [`srv_candidate`].
    pub srv: bool,
}

impl Job {
    pub fn plain(raw: &str) -> Job {
        Job { raw: raw.to_string(), ..Default::default() }
    }
}

/// Checks one target: one record per address (one record when DNS fails).
pub async fn check_target(job: &Job, ctx: &Ctx) -> Vec<Record> {
    if job.srv {
        return Box::pin(srv_candidate(job, ctx)).await;
    }
    let start = Instant::now();
    let o = &ctx.opts;
    let raw = job.raw.as_str();
    let t = match target::parse(raw, o.force_tls) {
        Ok(t) => t,
        Err(e) => {
            let mut r = Record { target: raw.to_string(), ..Default::default() };
            r.fail("target", e);
            return vec![r];
        }
    };
    let base =
        Record { target: t.raw.clone(), host: t.host.clone(), port: t.port, ..Default::default() };
    // with --proxy, the client resolves and connects to the proxy only
    let dns_host = o.proxy.as_ref().map(|(h, _)| h.as_str()).unwrap_or(&t.host);
    let (dstep, hint) = dns::resolve(dns_host, &o.resolve, &o.dns, o.timeout).await;
    let addrs: Vec<IpAddr> = dstep.addresses.iter().filter_map(|a| a.parse().ok()).collect();
    let mut base = Record { dns: dstep, ..base };
    base.timings.dns = base.dns.ms;
    if let Some(h) = hint {
        base.problem("split-brain");
        base.why = h;
    }
    if !base.dns.ok || addrs.is_empty() {
        let why = base.dns.error.clone().unwrap_or_else(|| "no address".into());
        if why.contains("NXDOMAIN") {
            base.problem("nxdomain");
        }
        base.fail("dns", format!("name does not resolve: {why}"));
        base.timings.total = ms(start);
        return vec![base];
    }
    let mut out = Vec::new();
    for a in addrs.into_iter().take(16) {
        let mut r = base.clone();
        r.address = Some(a);
        let t0 = Instant::now();
        check_address(&t, a, ctx, job, &mut r).await;
        if r.verdict.is_empty() {
            r.verdict = "ok".into();
        }
        r.timings.total = r.timings.dns + ms(t0);
        out.push(r);
    }
    out
}

/// The SRV candidate: looks `_autodiscover._tcp.<domain>` up (a record listing the
/// targets, or why none) and POSTs the POX request to the first target. Credentials go
/// there only when the target is the domain or under it.
pub async fn srv_candidate(job: &Job, ctx: &Ctx) -> Vec<Record> {
    let name = job.raw.as_str();
    let dom = name.strip_prefix("_autodiscover._tcp.").unwrap_or(name);
    let o = &ctx.opts;
    let start = std::time::Instant::now();
    let mut r =
        Record { target: format!("{name} SRV"), host: name.to_string(), ..Default::default() };
    let servers = super::dns::srv_servers(&o.dns);
    let found = super::dns::srv(name, &servers, o.timeout).await;
    r.dns.ms = start.elapsed().as_millis() as u64;
    r.timings.dns = r.dns.ms;
    r.timings.total = r.dns.ms;
    let (list, server) = match found {
        Ok(x) => x,
        Err(e) => {
            r.dns.server =
                servers.iter().map(|s| format!("udp://{s}")).collect::<Vec<_>>().join(", ");
            r.dns.error = Some(e.clone());
            if e.contains("NXDOMAIN") {
                r.problem("nxdomain");
            }
            r.problem("no-srv");
            r.fail("dns", format!("no SRV record: {e}"));
            return vec![r];
        }
    };
    r.dns.ok = true;
    r.dns.server = format!("udp://{server}");
    r.dns.addresses = list
        .iter()
        .take(super::links::MAX_LINKS)
        .map(|s| format!("{}:{} (priority {}, weight {})", s.target, s.port, s.priority, s.weight))
        .collect();
    let Some(best) = list.first() else { return vec![r] };
    let url = if best.port == 443 {
        format!("https://{}/autodiscover/autodiscover.xml", best.target)
    } else {
        format!("https://{}:{}/autodiscover/autodiscover.xml", best.target, best.port)
    };
    r.port = best.port;
    r.verdict = "ok".into();
    r.why = format!("SRV points to {url}");
    let t = best.target.to_ascii_lowercase();
    let inside =
        t == dom.to_ascii_lowercase() || t.ends_with(&format!(".{}", dom.to_ascii_lowercase()));
    let next = Job { raw: url, srv: false, auth: job.auth && inside, ..job.clone() };
    let mut out = vec![r];
    out.extend(check_target(&next, ctx).await);
    out
}

/// portqry's state and evidence for a failed connect (the words of [`crate::scan`]).
pub fn tcp_failure(f: &ConnectFail, wait_ms: u128) -> (&'static str, String, &'static str) {
    match f {
        ConnectFail::Refused(None) => {
            ("NOT LISTENING", "TCP reset (connection refused)".into(), "refused")
        }
        ConnectFail::Refused(Some(_)) => (
            "FILTERED",
            format!(
                "{} (a firewall's reject: a host answers a closed TCP port with a reset)",
                f.describe()
            ),
            "filtered",
        ),
        ConnectFail::Unreachable { .. } => ("FILTERED", f.describe(), "filtered"),
        ConnectFail::Timeout => (
            "FILTERED",
            format!("no answer to the SYN within {wait_ms} ms (silently dropped)"),
            "filtered",
        ),
    }
}

async fn check_address(t: &Target, a: IpAddr, ctx: &Ctx, job: &Job, r: &mut Record) {
    let o = &ctx.opts;
    let sa = SocketAddr::new(a, o.proxy.as_ref().map(|(_, p)| *p).unwrap_or(t.port));
    let t0 = Instant::now();
    let tcp = net::tcp_connect(sa, None, o.timeout).await;
    let connect_ms = ms(t0);
    r.timings.connect = Some(connect_ms);
    let tcp = match tcp {
        Ok(s) => {
            r.tcp = Some(TcpStep {
                state: "LISTENING".into(),
                ms: connect_ms,
                evidence: format!("TCP handshake completed in {connect_ms} ms"),
            });
            s
        }
        Err(f) => {
            let (state, evidence, word) = tcp_failure(&f, o.timeout.as_millis());
            r.tcp =
                Some(TcpStep { state: state.into(), ms: connect_ms, evidence: evidence.clone() });
            r.problem(word);
            r.fail("tcp", format!("{state}: {evidence}"));
            return;
        }
    };
    let mut tcp = tcp;
    if o.proxy.is_some() {
        match super::proxy::connect(&mut tcp, &t.host, t.port, o.timeout).await {
            Ok(what) => r.proxy = Some(what),
            Err(why) => {
                r.proxy = Some(why.clone());
                r.problem("proxy-refused");
                r.fail("proxy", why);
                return;
            }
        }
    }
    let stream: Box<dyn Io> = if t.tls {
        match tls_step(t, sa, ctx, r, tcp).await {
            Some(s) => s,
            None => return,
        }
    } else {
        Box::new(tcp)
    };
    if t.http {
        http_step(t, ctx, job, r, stream).await;
    }
}

async fn tls_step(
    t: &Target,
    sa: SocketAddr,
    ctx: &Ctx,
    r: &mut Record,
    tcp: TcpStream,
) -> Option<Box<dyn Io>> {
    let o = &ctx.opts;
    let alpn: &[&str] = if t.http { &["http/1.1"] } else { &[] };
    let versions = rustls::DEFAULT_VERSIONS;
    let mut hs = tls::handshake(tcp, &t.host, alpn, versions, o.timeout).await;
    if hs.chain.is_empty()
        && hs.step.error.as_deref().is_some_and(|e| e.contains("protocol_version"))
    {
        old_version(t, sa, o, &mut hs).await;
    }
    let mut step = hs.step;
    r.timings.tls = Some(step.ms);
    if !hs.chain.is_empty() {
        match &ctx.trust {
            Ok(trust) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(0);
                let an = cert::analyse(&hs.chain, &t.host, trust, now);
                for p in &an.problems {
                    r.problem(p);
                }
                step.certificate = Some(an.summary);
                step.chain = an.chain;
                step.chain_dropped = hs.sent.saturating_sub(step.chain.len());
                if hs.sent > cert::MAX_CHAIN {
                    r.problem("long-chain");
                }
            }
            Err(e) => step.error = step.error.or(Some(format!("cannot validate: {e}"))),
        }
    }
    if o.tls_versions {
        let wait = o.timeout;
        let via = o.proxy.is_some();
        let (host, port) = (t.host.clone(), t.port);
        step.versions = tls::versions(&t.host, wait, || {
            let host = host.clone();
            async move { super::proxy::dial(sa, &host, port, via, wait).await }
        })
        .await;
    }
    let fail = tls_failure(&step);
    // `ok`: the TLS step passed (handshake, chain, name), not only the handshake
    step.ok = fail.is_none();
    let stream = hs.stream;
    r.tls = Some(step);
    if let Some(why) = fail {
        if r.tls.as_ref().is_some_and(|t| t.error.is_some()) {
            r.problem(if why.contains("protocol_version") {
                "old-tls-only"
            } else {
                "handshake-failed"
            });
        }
        r.fail("tls", why);
        return None;
    }
    stream.map(|s| Box::new(s) as Box<dyn Io>)
}

/// The server refused TLS 1.2 and 1.3: a raw hello offering up to TLS 1.2 shows which older
/// version it picks, and the chain it sends in clear.
async fn old_version(t: &Target, sa: SocketAddr, o: &Options, hs: &mut tls::Handshake) {
    let via = o.proxy.is_some();
    let Ok(tcp) = super::proxy::dial(sa, &t.host, t.port, via, o.timeout).await else { return };
    let (p, certs) = tls::legacy_probe(tcp, &t.host, 0x0303, o.timeout).await;
    if let Some(e) = hs.step.error.as_mut() {
        e.push_str(&format!("; offered up to TLS 1.2 in a plain hello: {}", p.detail));
    }
    hs.sent = certs.len();
    hs.chain = certs.into_iter().map(rustls::pki_types::CertificateDer::from).collect();
}

/// Why the TLS step failed, if it did: handshake, chain, expiry, name.
fn tls_failure(step: &super::record::TlsStep) -> Option<String> {
    if let Some(e) = &step.error {
        return Some(format!("TLS handshake failed: {e}"));
    }
    let c = step.certificate.as_ref()?;
    if !c.chain_valid {
        return Some(c.chain_error.clone().unwrap_or_else(|| "certificate chain invalid".into()));
    }
    if !c.name_match {
        return Some(format!(
            "name mismatch: the certificate covers {} but not {}",
            c.names.join(", "),
            step.sni.clone().unwrap_or_default()
        ));
    }
    None
}

/// Sends one request on a fresh or given stream.
async fn one_request(
    stream: &mut Box<dyn Io>,
    method: &str,
    t: &Target,
    ctx: &Ctx,
    job: &Job,
) -> Result<http::Response, HttpError> {
    let host_hdr = host_header(t);
    let mut headers = ctx.opts.headers.clone();
    headers.extend(job.headers.iter().cloned());
    let req = http::encode(method, &host_hdr, &t.path, &headers, &job.body);
    http::exchange(stream, &req, ctx.opts.timeout, job.links).await
}

fn host_header(t: &Target) -> String {
    let h = if t.host.contains(':') { format!("[{}]", t.host) } else { t.host.clone() };
    let default = if t.tls { 443 } else { 80 };
    if t.port == default {
        h
    } else {
        format!("{h}:{}", t.port)
    }
}

fn url_of(t: &Target) -> String {
    let scheme = if t.tls { "https" } else { "http" };
    format!("{scheme}://{}{}", host_header(t), t.path)
}

/// Opens a connection for a redirect target (first address, TLS without judging the chain).
async fn open(t: &Target, ctx: &Ctx) -> Result<Box<dyn Io>, String> {
    let o = &ctx.opts;
    let (host, port) = o.proxy.clone().unwrap_or_else(|| (t.host.clone(), t.port));
    let (d, _) = dns::resolve(&host, &o.resolve, &o.dns, o.timeout).await;
    let a: IpAddr = d
        .addresses
        .first()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("{host} does not resolve: {}", d.error.unwrap_or_default()))?;
    let sa = SocketAddr::new(a, port);
    let tcp = super::proxy::dial(sa, &t.host, t.port, o.proxy.is_some(), o.timeout).await?;
    if !t.tls {
        return Ok(Box::new(tcp));
    }
    let hs = tls::handshake(tcp, &t.host, &["http/1.1"], rustls::DEFAULT_VERSIONS, o.timeout).await;
    match hs.stream {
        Some(s) => Ok(Box::new(s)),
        None => Err(format!("TLS to {}: {}", t.host, hs.step.error.unwrap_or_default())),
    }
}

async fn http_step(t: &Target, ctx: &Ctx, job: &Job, r: &mut Record, first: Box<dyn Io>) {
    let o = &ctx.opts;
    let method = job.method.clone().or_else(|| o.method.clone());
    let mut step =
        HttpStep { method: method.clone().unwrap_or_else(|| "HEAD".into()), ..Default::default() };
    let mut cur = t.clone();
    let mut stream = Some(first);
    let mut seen = vec![url_of(t)];
    let t0 = Instant::now();
    let mut fail: Option<String> = None;
    for hop in 0..=o.max_redirects {
        let mut s = match stream.take() {
            Some(s) => s,
            None => match open(&cur, ctx).await {
                Ok(s) => s,
                Err(e) => {
                    fail = Some(format!("redirect target unreachable: {e}"));
                    break;
                }
            },
        };
        let mut resp = one_request(&mut s, &step.method, &cur, ctx, job).await;
        drop(s);
        if method.is_none() && matches!(&resp, Ok(x) if matches!(x.status, 400 | 405 | 501)) {
            step.method = "GET".into();
            resp = match open(&cur, ctx).await {
                Ok(mut s) => one_request(&mut s, "GET", &cur, ctx, job).await,
                Err(e) => Err(HttpError::Io(e)),
            };
        }
        let resp = match resp {
            Ok(x) => x,
            Err(e) => {
                fail = Some(e.to_string());
                if matches!(e, HttpError::Silent(_) | HttpError::Slow(..)) {
                    r.problem("timeout");
                }
                break;
            }
        };
        if hop == 0 {
            step.ms_first_byte = Some(resp.first_byte.as_millis() as u64);
            r.timings.first_byte = step.ms_first_byte;
        }
        fill(&mut step, &resp, job);
        let redirect = matches!(resp.status, 301 | 302 | 303 | 307 | 308);
        let Some(loc) = step.location.clone().filter(|_| redirect) else {
            if resp.status == 401 && job.auth {
                auth_retry(&cur, t, ctx, job, &mut step).await;
            }
            break;
        };
        let from = url_of(&cur);
        let next_url = http::join(&from, &loc);
        if job.redirect_link {
            // Autodiscover's redirect method: the Location gets the POX POST next
            step.links = vec![next_url];
            break;
        }
        step.redirects.push(Redirect {
            status: resp.status,
            from: from.clone(),
            location: next_url.clone(),
        });
        if seen.contains(&next_url) {
            r.problem("redirect-loop");
            fail = Some(format!("redirect loop: {} -> {next_url}", seen.join(" -> ")));
            break;
        }
        seen.push(next_url.clone());
        let next = match target::parse(&next_url, false) {
            Ok(n) => n,
            Err(e) => {
                fail = Some(format!("bad redirect location {loc:?}: {e}"));
                break;
            }
        };
        if !next.host.eq_ignore_ascii_case(&t.host) {
            r.problem("cross-host-redirect");
        }
        if hop == o.max_redirects {
            r.problem("too-many-redirects");
            fail = Some(format!("more than {} redirects", o.max_redirects));
            break;
        }
        cur = next;
    }
    let _ = t0;
    if fail.is_none() {
        if let Some(st) = step.status {
            if st == 401 {
                r.problem("auth-required");
            } else if st >= 400 {
                fail = Some(format!("HTTP {st} {}", step.reason.clone().unwrap_or_default()));
            }
        }
    }
    step.error = fail.clone();
    r.http = Some(step);
    if let Some(why) = fail {
        r.fail("http", why);
    }
}

/// Takes a response's facts into the step.
fn fill(step: &mut HttpStep, resp: &http::Response, job: &Job) {
    step.status = Some(resp.status);
    step.reason = Some(resp.reason.clone());
    step.server = resp.header("server").map(str::to_string);
    step.location = resp.header("location").map(str::to_string);
    step.auth = resp.auth_schemes();
    step.content_length = resp.header("content-length").and_then(|v| v.trim().parse().ok());
    if job.links {
        step.links = super::links::links(&resp.body);
    }
}

/// A 401 on an endpoint the user asked credentials for: one more request with HTTP Basic,
/// only over TLS, only to the job's own host, only when Basic is offered.
async fn auth_retry(cur: &Target, t: &Target, ctx: &Ctx, job: &Job, step: &mut HttpStep) {
    let Some(c) = &ctx.opts.credentials else { return };
    let why_not = if !cur.tls {
        Some("not sent: plain HTTP")
    } else if !cur.host.eq_ignore_ascii_case(&t.host) {
        Some("not sent: redirected to another host")
    } else if !step.auth.iter().any(|a| a.eq_ignore_ascii_case("basic")) {
        Some("not sent: the server does not offer Basic")
    } else {
        None
    };
    if let Some(w) = why_not {
        step.credentials = Some(format!("{} {w}", c.user));
        return;
    }
    let mut with = job.clone();
    with.headers.push(("Authorization".into(), c.basic()));
    let resp = match open(cur, ctx).await {
        Ok(mut s) => one_request(&mut s, &step.method, cur, ctx, &with).await,
        Err(e) => Err(HttpError::Io(e)),
    };
    match resp {
        Ok(resp) => {
            step.credentials = Some(format!(
                "{} sent (Basic over TLS): HTTP {} {}",
                c.user, resp.status, resp.reason
            ));
            fill(step, &resp, job);
        }
        Err(e) => step.credentials = Some(format!("{} sent (Basic over TLS): {e}", c.user)),
    }
}
