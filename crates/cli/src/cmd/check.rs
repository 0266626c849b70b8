//! `tracehound check`: is a published service reachable end to end (DNS → TCP → TLS →
//! HTTP), and if not, at which step it breaks. The work is in `tracehound_probe::check`.

use std::path::PathBuf;
use std::time::Duration;

use tracehound_probe::check::{self, CheckError, Options};

#[derive(clap::Args)]
pub struct Args {
    /// URL (https://host/path), host:port, or @FILE (one target a line, # comments).
    #[arg(required_unless_present_any = ["autodiscover", "lyncdiscover"], value_name = "TARGET")]
    targets: Vec<String>,
    /// Exchange preset: Autodiscover POX and JSON v2 for USER@DOMAIN, then the EWS URL it returns.
    #[arg(long, value_name = "USER@DOMAIN")]
    autodiscover: Option<String>,
    /// Skype/Lync preset: lyncdiscover.DOMAIN and lyncdiscoverinternal.DOMAIN, then their links.
    #[arg(long, value_name = "DOMAIN")]
    lyncdiscover: Option<String>,
    /// Targets checked at once.
    #[arg(long, default_value_t = 16)]
    parallel: usize,
    /// Wait per step in seconds (DNS, connect, TLS handshake, response head).
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
    /// Use ADDR for NAME (curl-style NAME:ADDR or NAME:PORT:ADDR); repeatable.
    #[arg(long, value_name = "NAME:ADDR")]
    resolve: Vec<String>,
    /// Ask this DNS server (ADDR or ADDR:PORT) instead of the system resolver; repeatable
    /// (servers that disagree are flagged split-brain).
    #[arg(long, value_name = "SERVER")]
    dns: Vec<String>,
    /// Go through this HTTP proxy with CONNECT (http://HOST:PORT).
    #[arg(long, value_name = "URL")]
    proxy: Option<String>,
    /// Do a TLS handshake whatever the port.
    #[arg(long)]
    tls: bool,
    /// Validate against the PEM certificates in FILE instead of the system roots.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// HTTP method (default: HEAD, then GET when HEAD is refused).
    #[arg(long)]
    method: Option<String>,
    /// Extra request header "Name: value"; repeatable.
    #[arg(long, value_name = "NAME: VALUE")]
    header: Vec<String>,
    /// Redirects followed at most.
    #[arg(long, default_value_t = 10)]
    max_redirects: usize,
    /// Also list which TLS versions the server accepts.
    #[arg(long)]
    tls_versions: bool,
    /// JSON Lines: one object per target and address.
    #[arg(long)]
    json: bool,
    /// Repeat every SECONDS and print only changes.
    #[arg(long, value_name = "SECONDS")]
    watch: Option<f64>,
    /// Rounds of --watch.
    #[arg(long, default_value_t = 60)]
    watch_rounds: u32,
    /// User for the Autodiscover preset's HTTP Basic logon (default: the preset's address).
    /// The password comes from TRACEHOUND_CHECK_PASSWORD or --password-prompt, never from the
    /// command line; it is sent only over TLS to the Autodiscover endpoints of the domain.
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    /// Ask for the Autodiscover password on the terminal (echo off).
    #[arg(long)]
    password_prompt: bool,
}

fn secs(v: f64, what: &str) -> anyhow::Result<Duration> {
    if !(v.is_finite() && v > 0.0 && v <= 86_400.0) {
        anyhow::bail!("check: {what} must be between 0 and 86400 seconds");
    }
    Ok(Duration::from_secs_f64(v))
}

fn options(a: Args) -> anyhow::Result<Options> {
    let mut o = Options {
        targets: a.targets,
        parallel: a.parallel.max(1),
        timeout: secs(a.timeout, "--timeout")?,
        force_tls: a.tls,
        ca: a.ca,
        method: a.method.map(|m| m.to_ascii_uppercase()),
        max_redirects: a.max_redirects.min(50),
        tls_versions: a.tls_versions,
        json: a.json,
        watch: a.watch.map(|w| secs(w, "--watch")).transpose()?,
        watch_rounds: a.watch_rounds,
        autodiscover: a.autodiscover,
        lyncdiscover: a.lyncdiscover,
        user: a.user,
        prompt_password: a.password_prompt,
        ..Options::default()
    };
    if let Some(p) = &a.proxy {
        o.proxy = Some(check::proxy::parse(p).map_err(|e| anyhow::anyhow!("check: {e}"))?);
    }
    for r in &a.resolve {
        o.resolve.push(check::parse_resolve(r).map_err(|e| anyhow::anyhow!("check: {e}"))?);
    }
    for d in &a.dns {
        o.dns.push(check::parse_dns_server(d).map_err(|e| anyhow::anyhow!("check: {e}"))?);
    }
    for h in &a.header {
        let (n, v) = h
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("check: --header {h:?}: want NAME: VALUE"))?;
        o.headers.push((n.trim().to_string(), v.trim().to_string()));
    }
    Ok(o)
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let o = match options(a) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tracehound: {e}");
            return Ok(crate::exit::USAGE);
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match check::run(&o, &mut out) {
        Ok(code) => Ok(code.clamp(0, 255) as u8),
        Err(CheckError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Ok(crate::exit::OK)
        }
        Err(e @ CheckError::Usage(_)) => {
            eprintln!("tracehound: check: {e}");
            Ok(crate::exit::USAGE)
        }
        Err(e) => Err(anyhow::anyhow!("check: {e}")),
    }
}
