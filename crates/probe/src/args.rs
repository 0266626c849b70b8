//! PortQry's command line, parsed by hand.
//!
//! PortQry switches are a single dash followed by several letters (`-nr`, `-sl`, `-wport`),
//! which option parsers built for POSIX short options would split into letters; so every
//! switch is matched as a whole word here. Switches are case-insensitive like PortQry's and
//! may also be written with a slash (`/n host`). The modern extras use two dashes.

use std::path::PathBuf;
use std::time::Duration;

use crate::presets::Preset;
use crate::Proto;

/// Which protocols `-p` selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ProtoSel {
    Tcp,
    Udp,
    Both,
}

/// What the command does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Query ports on remote targets (`-n`).
    Scan,
    /// List local listening ports (`-local`).
    Local,
    /// Watch a local port (`-wport N`).
    WatchPort(u16),
    /// Watch a local process (`-wpid N`).
    WatchPid(u32),
}

/// Everything the command line says.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub mode: Mode,
    /// Targets from `-n` (comma-separated list allowed).
    pub targets: Vec<String>,
    pub proto: ProtoSel,
    /// The (protocol, port) pairs to query, in order, without duplicates.
    pub ports: Vec<(Proto, u16)>,
    /// `-nr`: no reverse lookup of the target address.
    pub no_reverse: bool,
    /// `-sl`: slow link, every wait doubled.
    pub slow_link: bool,
    /// `-sp`: source port.
    pub source_port: Option<u16>,
    /// `-cn`: SNMP community.
    pub community: String,
    /// `-l`: log file, `-y`: overwrite it without asking.
    pub logfile: Option<PathBuf>,
    pub overwrite: bool,
    /// `-q`: quiet (exit code only).
    pub quiet: bool,
    /// `-v`: verbose.
    pub verbose: bool,
    /// `-wt`: watch interval.
    pub watch_interval: Duration,
    /// `--count`: number of watch rounds (None: until `--duration`).
    pub watch_count: Option<u32>,
    /// `--duration`: hard limit for watch mode.
    pub watch_duration: Duration,
    pub json: bool,
    /// `--timeout`: per-attempt wait (doubled by `-sl`).
    pub timeout: Duration,
    /// `--tries`: connection attempts per port before FILTERED.
    pub tries: u32,
    /// `--concurrency`: sockets open at once (capped by the open-file limit at run time).
    pub concurrency: usize,
    /// Adaptive TCP waits from measured round trips (off with `--no-adaptive`).
    pub adaptive: bool,
    /// `--rate`: new probes per second (0 = unlimited).
    pub rate: u32,
    pub preset: Option<&'static Preset>,
    /// `--map UUID`: ept_map for one interface.
    pub map: Option<String>,
    /// Endpoint follow-up after an EPM dump (off with `--no-follow-up`).
    pub follow_up: bool,
    /// `--no-query`: port states only, no protocol queries.
    pub no_query: bool,
    /// `--realm`: Kerberos realm for the AS-REQ (default: learnt from LDAP or the name).
    pub realm: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Scan,
            targets: Vec::new(),
            proto: ProtoSel::Tcp,
            ports: Vec::new(),
            no_reverse: false,
            slow_link: false,
            source_port: None,
            community: "public".to_string(),
            logfile: None,
            overwrite: false,
            quiet: false,
            verbose: false,
            watch_interval: Duration::from_secs(60),
            watch_count: None,
            watch_duration: Duration::from_secs(3600),
            json: false,
            timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            tries: DEFAULT_TRIES,
            concurrency: DEFAULT_CONCURRENCY,
            adaptive: true,
            rate: DEFAULT_RATE,
            preset: None,
            map: None,
            follow_up: true,
            no_query: false,
            realm: None,
        }
    }
}

pub const DEFAULT_TIMEOUT_MS: u64 = 1000;
pub const DEFAULT_TRIES: u32 = 2;
pub const DEFAULT_CONCURRENCY: usize = 4096;
pub const DEFAULT_RATE: u32 = 50_000;
/// Upper bounds accepted on the command line.
pub const MAX_CONCURRENCY: usize = 4096;
pub const MAX_TIMEOUT_MS: u64 = 60_000;
pub const MAX_TRIES: u32 = 5;
pub const MAX_TARGETS: usize = 256;

/// A command line PortQry would not accept either.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    #[error("unknown switch {0:?} (see -? for help)")]
    Unknown(String),
    #[error("switch {0} needs a value")]
    MissingValue(String),
    #[error("invalid value {value:?} for {switch}: {why}")]
    Invalid { switch: String, value: String, why: String },
    #[error("{0}")]
    Conflict(String),
    #[error("help requested")]
    Help,
}

fn invalid(switch: &str, value: &str, why: impl Into<String>) -> ArgError {
    ArgError::Invalid { switch: switch.to_string(), value: value.to_string(), why: why.into() }
}

fn parse_port(switch: &str, s: &str) -> Result<u16, ArgError> {
    match s.trim().parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        _ => Err(invalid(switch, s, "a port is a number from 1 to 65535")),
    }
}

fn parse_num<T>(switch: &str, s: &str, min: T, max: T) -> Result<T, ArgError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match s.trim().parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(invalid(switch, s, format!("expected a number from {min} to {max}"))),
    }
}

/// Port list from `-o` (`80,443,1000-1010` - ranges are an extension).
fn parse_list(switch: &str, s: &str) -> Result<Vec<u16>, ArgError> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err(invalid(switch, s, "empty item in port list"));
        }
        if let Some((a, b)) = part.split_once(['-', ':']) {
            let (a, b) = (parse_port(switch, a)?, parse_port(switch, b)?);
            if a > b {
                return Err(invalid(switch, s, "range start is after its end"));
            }
            out.extend(a..=b);
        } else {
            out.push(parse_port(switch, part)?);
        }
    }
    Ok(out)
}

/// Strips PortQry's `!` delimiters from `-cn !community!`.
fn parse_community(s: &str) -> Result<String, ArgError> {
    let inner = match (s.strip_prefix('!'), s.len()) {
        (Some(rest), n) if n >= 2 => rest.strip_suffix('!').ok_or_else(|| {
            invalid("-cn", s, "community must be written !name! (closing ! missing)")
        })?,
        _ => s,
    };
    if inner.is_empty() || inner.len() > 255 {
        return Err(invalid("-cn", s, "community must be 1 to 255 characters"));
    }
    Ok(inner.to_string())
}

/// Parses the arguments after `portqry` (the program name is not included).
/// The switches that decide the mode and the ports, as given (checked after all are read).
#[derive(Default)]
struct Given {
    e: Option<u16>,
    list: Option<Vec<u16>>,
    range: Option<(u16, u16)>,
    proto: bool,
    local: bool,
    wport: Option<u16>,
    wpid: Option<u32>,
    wt: bool,
}

/// The value of the switch just read (the next argument).
type Value<'v, 'a> = &'v mut dyn FnMut() -> Result<&'a String, ArgError>;

pub fn parse_args(args: &[String]) -> Result<Options, ArgError> {
    let mut o = Options::default();
    let mut g = Given::default();
    let mut it = args.iter();
    while let Some(raw) = it.next() {
        let lower = raw.to_ascii_lowercase();
        // `/n` is accepted like `-n` (PortQry documents both); `--x` are our extras.
        let sw: String = if let Some(rest) = lower.strip_prefix("--") {
            format!("--{rest}")
        } else if let Some(rest) = lower.strip_prefix('-').or_else(|| lower.strip_prefix('/')) {
            format!("-{rest}")
        } else {
            return Err(ArgError::Unknown(raw.clone()));
        };
        let mut value = || -> Result<&String, ArgError> {
            it.next().ok_or_else(|| ArgError::MissingValue(raw.clone()))
        };
        let known = if sw.starts_with("--") {
            extra_switch(&sw, &mut value, &mut o)?
        } else {
            portqry_switch(&sw, &mut value, &mut o, &mut g)?
        };
        if !known {
            return Err(ArgError::Unknown(raw.clone()));
        }
    }
    set_mode(&mut o, &g)?;
    if o.mode != Mode::Scan {
        if g.e.is_some() || g.list.is_some() || g.range.is_some() || o.preset.is_some() || g.proto {
            return Err(ArgError::Conflict("-e, -o, -r, -p, --preset only apply with -n".into()));
        }
        return Ok(o);
    }

    o.ports = ports(&o, g)?;
    Ok(o)
}

/// One of PortQry's own switches (and `-?`, `-help`); false: not one of them.
fn portqry_switch(
    sw: &str,
    value: Value,
    o: &mut Options,
    g: &mut Given,
) -> Result<bool, ArgError> {
    match sw {
        "-?" | "-h" | "--help" | "-help" => return Err(ArgError::Help),
        "-n" => {
            let v = value()?;
            for t in v.split(',') {
                let t = t.trim();
                if t.is_empty() || t.len() > 253 || t.contains(char::is_whitespace) {
                    return Err(invalid("-n", v, "empty or malformed target"));
                }
                if !o.targets.iter().any(|x| x == t) {
                    o.targets.push(t.to_string());
                }
            }
            if o.targets.len() > MAX_TARGETS {
                return Err(invalid("-n", v, format!("at most {MAX_TARGETS} targets")));
            }
        }
        "-p" => {
            let v = value()?;
            o.proto = match v.to_ascii_lowercase().as_str() {
                "tcp" => ProtoSel::Tcp,
                "udp" => ProtoSel::Udp,
                "both" => ProtoSel::Both,
                _ => return Err(invalid("-p", v, "expected tcp, udp or both")),
            };
            g.proto = true;
        }
        "-e" => g.e = Some(parse_port("-e", value()?)?),
        "-o" => g.list = Some(parse_list("-o", value()?)?),
        "-r" => {
            let v = value()?;
            let (a, b) = v.split_once(':').ok_or_else(|| invalid("-r", v, "expected start:end"))?;
            let (a, b) = (parse_port("-r", a)?, parse_port("-r", b)?);
            if a > b {
                return Err(invalid("-r", v, "range start is after its end"));
            }
            g.range = Some((a, b));
        }
        "-nr" => o.no_reverse = true,
        "-sl" => o.slow_link = true,
        "-sp" => o.source_port = Some(parse_port("-sp", value()?)?),
        "-cn" => o.community = parse_community(value()?)?,
        "-l" => o.logfile = Some(PathBuf::from(value()?)),
        "-y" => o.overwrite = true,
        "-q" => o.quiet = true,
        "-v" => o.verbose = true,
        "-local" => g.local = true,
        "-wport" => g.wport = Some(parse_port("-wport", value()?)?),
        "-wpid" => g.wpid = Some(parse_num::<u32>("-wpid", value()?, 1, u32::MAX)?),
        "-wt" => {
            o.watch_interval = Duration::from_secs(parse_num::<u64>("-wt", value()?, 1, 1200)?);
            g.wt = true;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// One of our `--` switches (and `--help`); false: not one of them.
fn extra_switch(sw: &str, value: Value, o: &mut Options) -> Result<bool, ArgError> {
    match sw {
        "--help" => return Err(ArgError::Help),
        "--count" => o.watch_count = Some(parse_num::<u32>("--count", value()?, 1, 1_000_000)?),
        "--duration" => {
            o.watch_duration =
                Duration::from_secs(parse_num::<u64>("--duration", value()?, 1, 7 * 86400)?)
        }
        "--json" => o.json = true,
        "--timeout" => {
            o.timeout =
                Duration::from_millis(parse_num::<u64>("--timeout", value()?, 10, MAX_TIMEOUT_MS)?)
        }
        "--tries" => o.tries = parse_num::<u32>("--tries", value()?, 1, MAX_TRIES)?,
        "--concurrency" => {
            o.concurrency = parse_num::<usize>("--concurrency", value()?, 1, MAX_CONCURRENCY)?
        }
        "--rate" => o.rate = parse_num::<u32>("--rate", value()?, 0, 1_000_000)?,
        "--preset" => {
            let v = value()?;
            o.preset = Some(crate::presets::find(v).ok_or_else(|| {
                invalid("--preset", v, format!("known presets: {}", crate::presets::names()))
            })?);
        }
        "--map" => {
            let v = value()?;
            crate::query::epm::parse_uuid(v).map_err(|why| invalid("--map", v, why))?;
            o.map = Some(v.clone());
        }
        "--no-follow-up" => o.follow_up = false,
        "--no-adaptive" => o.adaptive = false,
        "--no-query" => o.no_query = true,
        "--realm" => {
            let v = value()?;
            if v.is_empty() || v.len() > 255 {
                return Err(invalid("--realm", v, "1 to 255 characters"));
            }
            o.realm = Some(v.to_ascii_uppercase());
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// The mode (scan, local, watch a port or a process) and the switches that only fit some.
fn set_mode(o: &mut Options, g: &Given) -> Result<(), ArgError> {
    let modes = [g.local, g.wport.is_some(), g.wpid.is_some(), !o.targets.is_empty()];
    if modes.iter().filter(|m| **m).count() > 1 {
        return Err(ArgError::Conflict(
            "-n, -local, -wport and -wpid are mutually exclusive".into(),
        ));
    }
    o.mode = if g.local {
        Mode::Local
    } else if let Some(p) = g.wport {
        Mode::WatchPort(p)
    } else if let Some(p) = g.wpid {
        Mode::WatchPid(p)
    } else if !o.targets.is_empty() {
        Mode::Scan
    } else {
        return Err(ArgError::Conflict(
            "a target is required: -n name (or -local, -wport, -wpid)".into(),
        ));
    };
    if g.wt && !matches!(o.mode, Mode::WatchPort(_) | Mode::WatchPid(_)) {
        return Err(ArgError::Conflict("-wt is only meaningful with -wport or -wpid".into()));
    }
    if o.overwrite && o.logfile.is_none() {
        return Err(ArgError::Conflict("-y needs -l logfile".into()));
    }
    if o.source_port.is_some() {
        // One fixed source port cannot serve parallel connections (same 4-tuple).
        o.concurrency = 1;
    }

    Ok(())
}

/// The ports of a scan: `-e`, `-o` or `-r` (else PortQry's default) for the protocols of
/// `-p`, then the preset's, each once.
fn ports(o: &Options, g: Given) -> Result<Vec<(Proto, u16)>, ArgError> {
    let given = [g.e.is_some(), g.list.is_some(), g.range.is_some()].iter().filter(|x| **x).count();
    if given > 1 {
        return Err(ArgError::Conflict("-e, -o and -r are mutually exclusive".into()));
    }
    let nums: Vec<u16> = if let Some(p) = g.e {
        vec![p]
    } else if let Some(l) = g.list {
        l
    } else if let Some((a, b)) = g.range {
        (a..=b).collect()
    } else if o.preset.is_some() || o.map.is_some() {
        Vec::new()
    } else {
        vec![80] // PortQry's default: TCP port 80.
    };
    let mut ports = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut push = |p: (Proto, u16), ports: &mut Vec<(Proto, u16)>| {
        if seen.insert(p) {
            ports.push(p);
        }
    };
    for n in &nums {
        if matches!(o.proto, ProtoSel::Tcp | ProtoSel::Both) {
            push((Proto::Tcp, *n), &mut ports);
        }
        if matches!(o.proto, ProtoSel::Udp | ProtoSel::Both) {
            push((Proto::Udp, *n), &mut ports);
        }
    }
    if let Some(pr) = o.preset {
        for p in pr.ports {
            push(*p, &mut ports);
        }
    }
    if o.map.is_some() && ports.is_empty() {
        push((Proto::Tcp, 135), &mut ports);
    }
    Ok(ports)
}

impl Options {
    /// The per-attempt wait, doubled on a slow link.
    pub fn attempt_timeout(&self) -> Duration {
        if self.slow_link {
            self.timeout.saturating_mul(2)
        } else {
            self.timeout
        }
    }
}

/// Help text with examples.
pub const HELP: &str = "\
tracehound portqry - PortQry-compatible port and service query tool

USAGE
  tracehound portqry -n name[,name...] [-p tcp|udp|both] [-e port | -o list | -r a:b]
                     [-nr] [-sl] [-sp port] [-cn !community!] [-l logfile [-y]] [-q] [-v]
  tracehound portqry -local [-v]
  tracehound portqry -wport port | -wpid pid  [-wt seconds] [--count N] [--duration S]

PORTQRY SWITCHES (one dash, whole words, case-insensitive; /n works too)
  -n name      target: host name, IPv4 or IPv6 address; several separated by commas
  -p proto     tcp (default), udp or both
  -e port      one port (default: TCP 80)
  -o list      port list, e.g. 25,110,135 (ranges like 1000-1010 allowed)
  -r a:b       port range, e.g. 1:1024
  -nr          do not resolve the address back to a name
  -sl          slow link: every wait doubled
  -sp port     use this source port (probes then run one at a time)
  -cn !name!   SNMP community (default public), PortQry style between ! marks
  -l file      also write the output to file; -y overwrites an existing file
               (without -y an existing file is an error: there is no prompt)
  -q           quiet: no output, only the exit code
  -v           verbose: attempt details, raw reasons
  -local       list local listening TCP/UDP ports with PID and process
  -wport N     watch local port N and report changes
  -wpid N      watch the ports of process N and report changes
  -wt S        watch interval in seconds (default 60)

EXTRAS
  --json            JSON Lines: one object per target and port (stable schema:
                    host, address, proto, port, state, reason, and where a query ran
                    query + result; the EPM query adds endpoints)
  --timeout MS      longest wait per attempt (default 1000; -sl doubles it). TCP
                    state probes adapt like nmap: from the SYN-ACK / reset latencies
                    seen so far, wait = clamp(srtt + 4 x rttvar, 100 ms, timeout),
                    doubled on each retry (never above timeout); the full timeout
                    until the first answer. UDP probes and protocol queries always
                    wait the full timeout.
  --no-adaptive     every TCP attempt waits the full --timeout
  --tries N         attempts per port before FILTERED (default 2, max 5; PortQry
                    itself tries a TCP port 3 times, a UDP port once)
  --concurrency N   sockets open at once (default and max 4096; capped by the open-
                    file limit, whose soft value is raised to the hard one at start)
  --rate N          new probes per second (default 50000, 0 = unlimited)
  --preset NAME     port sets like PortQryUI: domain, exchange, sccm, rdp, sql, web,
                    netbios, ipsec, dns, kerberos, ldap, smb, snmp, tls, stun
  --map UUID        ept_map for one interface UUID on TCP 135
  --no-follow-up    after an endpoint-mapper dump, do not probe the endpoints
  --no-query        port states only, no protocol queries
  --realm REALM     Kerberos realm for the AS-REQ probe (default: from LDAP or the name)
  --count N         watch rounds (default: until --duration, 3600 s)

PORT STATES
  LISTENING              TCP handshake completed / a UDP reply came back
  NOT LISTENING          TCP reset, or ICMP port unreachable for UDP
  FILTERED               no answer after all tries, or ICMP unreachable / prohibited
                         (the reason names the ICMP message or error)
  LISTENING or FILTERED  UDP: silence (nothing proves either)

EXIT CODES (also with -q)
  0  every port LISTENING (with -e 135: every TCP endpoint handed out too)
  1  at least one port NOT LISTENING or FILTERED, or (-e 135) an endpoint the endpoint
     mapper handed out is NOT LISTENING or FILTERED, or some of several targets did
     not resolve
  2  otherwise: at least one port LISTENING or FILTERED (UDP), the rest LISTENING
  3  no target name could be resolved (nothing probed)
  2 is also a bad command line, 3 any other error (log file, the run's hard time
  limit); error messages start with 'tracehound: portqry:'

TIME BOUND
  The scan takes at most  N/rate + ceil(N/concurrency) x tries x timeout  seconds for N
  ports, with timeout = the --timeout maximum (doubled with -sl; adaptive waits only
  shorten it) and concurrency as capped by the open-file limit. Each protocol query
  adds at most 4 x timeout (TLS, and Kerberos/DNS when the realm must first be learnt
  over CLDAP/LDAP: 8); the endpoint-mapper walk at most 64 pages; the endpoint follow-up
  probes E <= 512 endpoints with the same formula plus one bind (4 x timeout) per
  interface, concurrency at a time. A hard limit over the whole run enforces the sum
  (error when reached).

EXAMPLES
  tracehound portqry -n dc1.example.com -e 135
  tracehound portqry -n 10.0.0.5 -p udp -e 389
  tracehound portqry -n dc1 --preset domain
  tracehound portqry -n 10.0.0.5,10.0.0.6 -o 88,389,445 -p both -q; echo $?
  tracehound portqry -n fs1 -r 1:1024 --concurrency 200 --json
  tracehound portqry -n dc1 -e 161 -p udp -cn !secret!
  tracehound portqry -n dc1 --map 12345778-1234-abcd-ef00-0123456789ab
  tracehound portqry -local
  tracehound portqry -wport 3389 -wt 5 --count 12
";

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Options, ArgError> {
        let v: Vec<String> = s.split_whitespace().map(String::from).collect();
        parse_args(&v)
    }

    #[test]
    fn default_port_is_tcp_80() {
        let o = p("-n host").unwrap();
        assert_eq!(o.ports, vec![(Proto::Tcp, 80)]);
        assert_eq!(o.targets, vec!["host"]);
        assert_eq!(o.mode, Mode::Scan);
    }

    #[test]
    fn multi_letter_switches_are_whole_words() {
        let o = p("-n h -nr -sl -e 135 -sp 5000 -cn !secret! -q -v").unwrap();
        assert!(o.no_reverse && o.slow_link && o.quiet && o.verbose);
        assert_eq!(o.source_port, Some(5000));
        assert_eq!(o.concurrency, 1);
        assert_eq!(o.community, "secret");
        assert_eq!(o.attempt_timeout(), Duration::from_millis(2 * DEFAULT_TIMEOUT_MS));
        // case-insensitive and slash form
        let o = p("/N h -NR -P UDP /E 53").unwrap();
        assert!(o.no_reverse);
        assert_eq!(o.ports, vec![(Proto::Udp, 53)]);
    }

    #[test]
    fn lists_ranges_both() {
        let o = p("-n a,b,a -p both -o 53,88").unwrap();
        assert_eq!(o.targets, vec!["a", "b"]);
        assert_eq!(
            o.ports,
            vec![(Proto::Tcp, 53), (Proto::Udp, 53), (Proto::Tcp, 88), (Proto::Udp, 88)]
        );
        let o = p("-n a -r 1:65535").unwrap();
        assert_eq!(o.ports.len(), 65535);
        assert!(p("-n a -r 10:5").is_err());
        assert!(p("-n a -r 0:5").is_err());
        assert!(p("-n a -e 65536").is_err());
        assert!(p("-n a -e 1 -o 2").is_err());
        assert!(p("-n a -o 1,,2").is_err());
    }

    #[test]
    fn community_delimiters() {
        assert_eq!(p("-n a -cn public2").unwrap().community, "public2");
        assert!(p("-n a -cn !open").is_err());
        assert!(p("-n a -cn !!").is_err());
    }

    #[test]
    fn modes_and_conflicts() {
        assert_eq!(p("-local").unwrap().mode, Mode::Local);
        let o = p("-wport 80 -wt 5 --count 3").unwrap();
        assert_eq!(o.mode, Mode::WatchPort(80));
        assert_eq!(o.watch_interval, Duration::from_secs(5));
        assert_eq!(o.watch_count, Some(3));
        assert_eq!(p("-wpid 1").unwrap().mode, Mode::WatchPid(1));
        assert!(p("-local -n a").is_err());
        assert!(p("").is_err());
        assert!(p("-n a -wt 5").is_err());
        assert!(p("-n a -y").is_err());
        assert!(matches!(p("-n"), Err(ArgError::MissingValue(_))));
        assert!(matches!(p("-n a -bogus"), Err(ArgError::Unknown(_))));
        assert!(matches!(p("-?"), Err(ArgError::Help)));
        assert!(matches!(p("-n a host2"), Err(ArgError::Unknown(_))));
    }

    #[test]
    fn extras() {
        let o = p("-n a --json --timeout 250 --concurrency 10 --rate 0 --tries 3 --no-follow-up")
            .unwrap();
        assert!(o.json && !o.follow_up);
        assert_eq!(o.timeout, Duration::from_millis(250));
        assert_eq!((o.concurrency, o.rate, o.tries), (10, 0, 3));
        assert!(p("-n a --timeout 0").is_err());
        assert!(p("-n a --concurrency 0").is_err());
        let o = p("-n a --preset domain").unwrap();
        assert!(o.ports.contains(&(Proto::Udp, 389)) && o.ports.contains(&(Proto::Tcp, 3269)));
        assert!(p("-n a --preset nonsense").is_err());
        let o = p("-n a --map e1af8308-5d1f-11c9-91a4-08002b14a0fa").unwrap();
        assert_eq!(o.ports, vec![(Proto::Tcp, 135)]);
        assert!(p("-n a --map not-a-uuid").is_err());
    }
}
