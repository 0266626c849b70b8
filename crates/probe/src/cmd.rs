//! The `portqry` command: options -> targets -> probes -> queries -> output.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::args::{self, ArgError, Mode, Options};
use crate::output::{self, Tee};
use crate::query::{self, Ctx};
use crate::scan::{self, Limits, PortReport, PortState};
use crate::{local, resolve, services, ProbeError};

/// Runs `portqry` with the arguments that follow it; returns PortQry's exit code (see
/// [`args::HELP`]). `-?` prints the help and returns 0. Errors (bad switches, log file
/// problems, a target that does not resolve) come back as [`ProbeError`].
pub fn run(args: &[String], out: &mut dyn Write) -> Result<i32, ProbeError> {
    let opts = match args::parse_args(args) {
        Ok(o) => o,
        Err(ArgError::Help) => {
            out.write_all(args::HELP.as_bytes())?;
            return Ok(0);
        }
        Err(e) => return Err(e.into()),
    };
    let log = open_log(&opts)?;
    let mut w = Tee { out, log, quiet: opts.quiet };
    let code = match opts.mode {
        Mode::Local => local::list(&opts, &mut w)?,
        Mode::WatchPort(_) | Mode::WatchPid(_) => local::watch(&opts, &mut w)?,
        Mode::Scan => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(ProbeError::Runtime)?;
            let limit = overall_bound(&opts);
            let r = rt
                .block_on(async { tokio::time::timeout(limit, scan_targets(&opts, &mut w)).await });
            rt.shutdown_timeout(Duration::from_millis(500));
            match r {
                Ok(r) => r?,
                Err(_) => return Err(ProbeError::Deadline(limit.as_secs())),
            }
        }
    };
    if !opts.json {
        let shown: Vec<&str> = args.iter().map(String::as_str).collect();
        writeln!(w, "tracehound portqry {} exits with return code 0x{code:08x}.", shown.join(" "))?;
    }
    w.flush()?;
    Ok(code)
}

fn open_log(o: &Options) -> Result<Option<std::fs::File>, ProbeError> {
    let Some(p) = &o.logfile else { return Ok(None) };
    let shown = p.display().to_string();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if o.overwrite {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    match opts.open(p) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(ProbeError::LogExists(shown))
        }
        Err(err) => Err(ProbeError::Log { path: shown, err }),
    }
}

/// The limits for one target: concurrency capped by the open-file budget (the soft
/// RLIMIT_NOFILE is raised to the hard limit first), a fresh RTT estimator unless
/// `--no-adaptive`.
pub(crate) fn limits(o: &Options) -> Limits {
    Limits {
        timeout: o.attempt_timeout(),
        tries: o.tries,
        concurrency: o.concurrency.min(crate::net::fd_budget()).max(1),
        rate: o.rate,
        source_port: o.source_port,
        rtt: o.adaptive.then(|| std::sync::Arc::new(scan::Rtt::new())),
    }
}

const RESOLVE_WAIT: Duration = Duration::from_secs(5);

/// The whole run's hard limit: per target, resolution + the probing bound + 8 waits per
/// query + the endpoint follow-up bound; plus slack.
pub fn overall_bound(o: &Options) -> Duration {
    let l = limits(o);
    let queries = o.ports.iter().filter(|(p, n)| query::for_port(*p, *n).is_some()).count() as u32;
    let follow = scan::bound(query::epm::MAX_FOLLOW_UP, &l)
        + l.timeout
            .saturating_mul(4 * query::epm::MAX_FOLLOW_UP.div_ceil(l.concurrency.max(1)) as u32);
    let epm_walk = l.timeout.saturating_mul(4 * query::epm::MAX_PAGES);
    let per_target = RESOLVE_WAIT.saturating_mul(2)
        + scan::bound(o.ports.len(), &l)
        + l.timeout.saturating_mul(8 * queries)
        + if o.ports.contains(&(crate::Proto::Tcp, 135)) {
            follow + epm_walk
        } else {
            Duration::ZERO
        };
    per_target.saturating_mul(o.targets.len().max(1) as u32) + Duration::from_secs(5)
}

async fn scan_targets(o: &Options, w: &mut dyn Write) -> Result<i32, ProbeError> {
    let mut all_states: Vec<PortState> = Vec::new();
    let mut failures = 0usize;
    for host in &o.targets {
        match scan_one(o, host, w).await {
            Ok(states) => all_states.extend(states),
            Err(e @ ProbeError::Resolve { .. }) if o.targets.len() == 1 => {
                // The caller prints it once, on standard error (exit code 3).
                return Err(e);
            }
            Err(e @ ProbeError::Resolve { .. }) => {
                failures += 1;
                if o.json {
                    writeln!(w, "{}", json!({ "host": host, "error": e.to_string() }))?;
                } else {
                    writeln!(w, "{e}")?;
                }
            }
            Err(e) => return Err(e),
        }
    }
    if failures == o.targets.len() {
        // No target could be resolved: nothing was probed.
        return Ok(EXIT_UNRESOLVED);
    }
    let mut code = scan::exit_code(all_states);
    if failures > 0 {
        code = 1;
    }
    Ok(code)
}

/// Exit code when no target name could be resolved (nothing probed); the same code the
/// binary returns for a single unresolvable target.
pub const EXIT_UNRESOLVED: i32 = 3;

/// The follow-up states of the endpoints an endpoint-mapper query handed out (`-e 135`):
/// they count for the exit code like the ports asked for, so that a FILTERED dynamic port
/// makes `portqry -e 135` exit 1.
fn follow_up_states(endpoints: Option<&serde_json::Value>) -> Vec<PortState> {
    let Some(list) = endpoints.and_then(|e| e.as_array()) else { return Vec::new() };
    list.iter()
        .filter_map(|e| e.get("follow_up")?.get("state")?.as_str())
        .filter_map(|s| match s {
            "LISTENING" => Some(PortState::Listening),
            "NOT LISTENING" => Some(PortState::NotListening),
            "FILTERED" => Some(PortState::Filtered),
            "LISTENING or FILTERED" => Some(PortState::ListeningOrFiltered),
            _ => None,
        })
        .collect()
}

async fn scan_one(
    o: &Options,
    host: &str,
    w: &mut dyn Write,
) -> Result<Vec<PortState>, ProbeError> {
    let text = !o.json;
    if text {
        writeln!(w, "Querying target system called:\n\n {host}\n")?;
    }
    let (addr, name) = resolve_target(o, host, w).await?;
    if text {
        writeln!(w, "querying...\n")?;
    }

    let mut ctx = Ctx {
        host: host.to_string(),
        addr,
        name,
        limits: limits(o),
        community: o.community.clone(),
        realm: o.realm.clone(),
        follow_up: o.follow_up,
        map: o.map.clone(),
        verbose: o.verbose,
    };
    let started = Instant::now();
    let payload_ctx = ctx.clone();
    let probed = scan::probe_all(addr, &o.ports, &ctx.limits, &|port| {
        query::udp_payload(port, &payload_ctx)
    })
    .await;
    let scan_time = started.elapsed();

    let mut reports: Vec<(PortReport, PortState)> = probed
        .iter()
        .map(|p| {
            (
                PortReport {
                    host: host.to_string(),
                    address: addr,
                    proto: p.proto,
                    port: p.port,
                    service: services::name(p.proto, p.port),
                    state: p.state,
                    reason: p.reason.clone(),
                    query: None,
                    result: None,
                    endpoints: None,
                    text: Vec::new(),
                },
                p.state,
            )
        })
        .collect();

    if !o.no_query {
        run_queries(o, &probed, &mut ctx, &mut reports).await;
    }

    for (r, probed_state) in &reports {
        if o.json {
            output::json_line(r, w)?;
        } else {
            output::port_block(r, *probed_state, o.verbose, w)?;
        }
    }
    if text && o.verbose {
        writeln!(w, "\n{} ports probed in {} ms\n", reports.len(), scan_time.as_millis())?;
    }
    let mut states: Vec<PortState> = Vec::with_capacity(reports.len());
    for (r, _) in &reports {
        states.push(r.state);
        states.extend(follow_up_states(r.endpoints.as_ref()));
    }
    Ok(states)
}

/// Resolves the target as PortQry does (a name forward, an address back unless `-nr`),
/// saying so in text mode: the address to probe and the name to show.
async fn resolve_target(
    o: &Options,
    host: &str,
    w: &mut dyn Write,
) -> Result<(std::net::IpAddr, Option<String>), ProbeError> {
    let text = !o.json;
    let literal = resolve::literal(host);
    let addrs = if literal.is_some() {
        vec![literal.unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]))]
    } else {
        if text {
            writeln!(w, "Attempting to resolve name to IP address...\n")?;
        }
        resolve::forward(host, RESOLVE_WAIT)
            .await
            .map_err(|why| ProbeError::Resolve { name: host.to_string(), why })?
    };
    let Some(&addr) = addrs.first() else {
        return Err(ProbeError::Resolve { name: host.to_string(), why: "no address".into() });
    };
    let mut name = None;
    if literal.is_none() {
        if text {
            writeln!(w, "Name resolved to {addr}")?;
            if addrs.len() > 1 && o.verbose {
                let others: Vec<String> = addrs.iter().skip(1).map(|a| a.to_string()).collect();
                writeln!(w, "  (also: {}; PortQry uses the first)", others.join(", "))?;
            }
            writeln!(w)?;
        }
        name = Some(host.to_string());
    } else if !o.no_reverse {
        if text {
            writeln!(w, "Attempting to resolve IP address to a name...\n")?;
        }
        name = resolve::reverse(addr, RESOLVE_WAIT).await;
        if text {
            match &name {
                Some(n) => writeln!(w, "IP address resolved to {n}\n")?,
                None => writeln!(w, "Failed to resolve IP address to name\n")?,
            }
        }
    }
    Ok((addr, name))
}

/// Protocol queries of the listening ports: LDAP first (it teaches the realm), then in port
/// order; their answers go into the ports' reports.
async fn run_queries(
    o: &Options,
    probed: &[scan::Probed],
    ctx: &mut Ctx,
    reports: &mut [(PortReport, PortState)],
) {
    let mut order: Vec<(usize, &scan::Probed)> = probed
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            query::for_port(p.proto, p.port).is_some()
                && matches!(p.state, PortState::Listening | PortState::ListeningOrFiltered)
        })
        .collect();
    order.sort_by_key(|(_, p)| query::for_port(p.proto, p.port).map(|k| k.priority()));
    for (i, p) in order {
        let Some(kind) = query::for_port(p.proto, p.port) else { continue };
        let out = query::run(kind, p.proto, p.port, ctx, p.reply.clone()).await;
        let Some((rep, _)) = reports.get_mut(i) else { continue };
        if out.answered && rep.state == PortState::ListeningOrFiltered {
            rep.state = PortState::Listening;
            rep.reason = format!("{}; the {} query was answered", rep.reason, kind.name());
        }
        // A silent UDP port whose query got no answer: nothing to show but the state.
        if p.state != PortState::ListeningOrFiltered || out.answered || o.verbose {
            rep.text = out.lines;
            rep.query = Some(kind.name());
            rep.result = Some(out.result);
            rep.endpoints = out.endpoints;
        }
    }
}
