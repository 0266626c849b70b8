//! `tracehound check`: is a published service reachable end to end, and if not, at which
//! step it breaks. Each target goes through DNS → TCP (every address) → TLS → HTTP(S),
//! stopping at the first step that fails, with the reason in words.
//!
//! - [`target`]: URL / `host:port` / `@FILE` parsing, which steps apply.
//! - [`dns`]: `--resolve`, `--dns SERVER` (CNAME chain, TTLs, split-brain), system resolver.
//! - TCP: [`crate::net::tcp_connect`], states in portqry's words with the evidence.
//! - [`tls`]: rustls handshake that records the chain; [`cert`]: validation and its reason.
//! - [`http`]: a bounded HTTP/1.1 client; HEAD, then GET when HEAD is refused; redirects.
//! - [`output`]: the table and the JSON Lines records ([`record::Record`]).
//!
//! Targets run in parallel under a semaphore (`--parallel`); every wait is bounded by
//! `--timeout`, so one address costs at most about (3 + 2 × redirects) × timeout.

pub mod cert;
pub mod creds;
pub mod dns;
pub mod http;
pub mod links;
pub mod output;
pub mod presets;
pub mod proxy;
pub mod record;
pub mod steps;
pub mod target;
pub mod tls;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub use record::Record;

/// Options of one `check` run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Targets as given (`@FILE` already expanded by [`target::expand`] or not).
    pub targets: Vec<String>,
    pub parallel: usize,
    /// Wait per step.
    pub timeout: Duration,
    pub resolve: Vec<(String, IpAddr)>,
    pub dns: Vec<SocketAddr>,
    pub force_tls: bool,
    pub ca: Option<PathBuf>,
    /// HTTP method; None = HEAD, then GET when HEAD is refused.
    pub method: Option<String>,
    pub headers: Vec<(String, String)>,
    pub max_redirects: usize,
    pub tls_versions: bool,
    pub json: bool,
    /// `--watch SECONDS` and the number of rounds.
    pub watch: Option<Duration>,
    pub watch_rounds: u32,
    /// `--autodiscover user@domain`, `--lyncdiscover domain`.
    pub autodiscover: Option<String>,
    pub lyncdiscover: Option<String>,
    /// `--proxy http://HOST:PORT` (CONNECT).
    pub proxy: Option<(String, u16)>,
    /// `--user`: the Autodiscover user (default: the `--autodiscover` address).
    pub user: Option<String>,
    /// Credentials for the Autodiscover endpoints; [`run`] fills them from
    /// [`creds::PASSWORD_ENV`] or, with `prompt_password`, a terminal prompt.
    pub credentials: Option<creds::Credentials>,
    /// Ask for the password on the terminal when the environment does not hold it.
    pub prompt_password: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            targets: Vec::new(),
            parallel: 16,
            timeout: Duration::from_secs(5),
            resolve: Vec::new(),
            dns: Vec::new(),
            force_tls: false,
            ca: None,
            method: None,
            headers: Vec::new(),
            max_redirects: 10,
            tls_versions: false,
            json: false,
            watch: None,
            watch_rounds: 60,
            autodiscover: None,
            lyncdiscover: None,
            proxy: None,
            user: None,
            credentials: None,
            prompt_password: false,
        }
    }
}

/// Errors that stop the command (a failing target is a result, not an error).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("output: {0}")]
    Output(#[from] std::io::Error),
}

/// Parses `--resolve NAME:ADDR` (curl's `NAME:PORT:ADDR` is accepted, the port ignored).
pub fn parse_resolve(s: &str) -> Result<(String, IpAddr), String> {
    let (name, rest) =
        s.split_once(':').ok_or_else(|| format!("--resolve {s:?}: want NAME:ADDR"))?;
    let addr = match rest.split_once(':') {
        Some((p, a)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => a,
        _ => rest,
    };
    let ip = crate::resolve::literal(addr)
        .ok_or_else(|| format!("--resolve {s:?}: {addr:?} is not an address"))?;
    Ok((name.to_string(), ip))
}

/// Parses `--dns SERVER` (`ADDR` or `ADDR:PORT`, `[v6]:PORT`).
pub fn parse_dns_server(s: &str) -> Result<SocketAddr, String> {
    if let Some(a) = crate::resolve::literal(s) {
        return Ok(SocketAddr::new(a, 53));
    }
    s.parse().map_err(|_| format!("--dns {s:?}: want an address or ADDR:PORT"))
}

/// Checks every target (bounded parallelism), records in target order.
pub async fn check_all(opts: &Options) -> Result<Vec<Record>, CheckError> {
    let targets = target::expand(&opts.targets).map_err(CheckError::Usage)?;
    let trust = match cert::Trust::load(opts.ca.as_deref()) {
        Ok(t) => Ok(Arc::new(t)),
        Err(e) if opts.ca.is_some() => return Err(CheckError::Usage(e)),
        Err(e) => Err(e),
    };
    let ctx = Arc::new(steps::Ctx { opts: opts.clone(), trust });
    let mut jobs: Vec<steps::Job> = targets.iter().map(|t| steps::Job::plain(t)).collect();
    jobs.extend(presets::jobs(opts).map_err(CheckError::Usage)?);
    let mut recs = run_jobs(jobs, &ctx).await;
    // presets: the URLs the services pointed to are checked next (once, at most 32)
    let follow = presets::follow_up(&recs, opts);
    if !follow.is_empty() {
        recs.extend(run_jobs(follow, &ctx).await);
    }
    Ok(recs)
}

async fn run_jobs(jobs: Vec<steps::Job>, ctx: &Arc<steps::Ctx>) -> Vec<Record> {
    let sem = Arc::new(Semaphore::new(ctx.opts.parallel.clamp(1, crate::net::fd_budget().max(1))));
    let mut set = JoinSet::new();
    for (i, job) in jobs.into_iter().enumerate() {
        let (ctx, sem) = (ctx.clone(), sem.clone());
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            (i, steps::check_target(&job, &ctx).await)
        });
    }
    let mut out: Vec<(usize, Vec<Record>)> = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(x) = r {
            out.push(x);
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().flat_map(|(_, v)| v).collect()
}

/// Runs `check` and writes the table or JSON Lines; the exit code is 0 only when every
/// target passed (1 otherwise).
pub fn run(opts: &Options, out: &mut dyn Write) -> Result<i32, CheckError> {
    if opts.targets.is_empty() && opts.autodiscover.is_none() && opts.lyncdiscover.is_none() {
        return Err(CheckError::Usage("no target given".into()));
    }
    let mut with_creds;
    let mut opts = opts;
    if let (Some(addr), None) = (&opts.autodiscover, &opts.credentials) {
        let user = opts.user.clone().unwrap_or_else(|| addr.clone());
        let c = creds::Credentials::from_env(&user)
            .or_else(|| opts.prompt_password.then(|| creds::Credentials::prompt(&user)).flatten());
        if c.is_some() {
            with_creds = opts.clone();
            with_creds.credentials = c;
            opts = &with_creds;
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CheckError::Runtime)?;
    let Some(every) = opts.watch else {
        let recs = rt.block_on(check_all(opts))?;
        output::write(&recs, opts.json, out)?;
        return Ok(if recs.iter().all(Record::passed) { 0 } else { 1 });
    };
    let mut last = std::collections::HashMap::new();
    let mut code = 0;
    for round in 0..opts.watch_rounds.max(1) {
        if round > 0 {
            std::thread::sleep(every);
        }
        let recs = rt.block_on(check_all(opts))?;
        let changed = output::changes(&mut last, &recs);
        if !changed.is_empty() {
            output::write_changes(&changed, round, opts.json, out)?;
        }
        code = if recs.iter().all(Record::passed) { 0 } else { 1 };
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_parsers() {
        assert_eq!(parse_resolve("a.example:10.1.2.3").unwrap().1.to_string(), "10.1.2.3");
        assert_eq!(parse_resolve("a.example:443:10.1.2.3").unwrap().1.to_string(), "10.1.2.3");
        assert_eq!(parse_resolve("a:[fd00::1]").unwrap().1.to_string(), "fd00::1");
        assert!(parse_resolve("a.example").is_err());
        assert_eq!(parse_dns_server("10.0.0.1").unwrap().port(), 53);
        assert_eq!(parse_dns_server("10.0.0.1:5353").unwrap().port(), 5353);
        assert!(parse_dns_server("ns1").is_err());
    }
}
