//! Port states, probed concurrently under a semaphore and a rate limit.
//!
//! # Adaptive TCP waits
//!
//! Like nmap, the TCP state probe learns how long the target takes to answer: every
//! connect() that ends with a handshake or a reset is a round-trip sample (the SYN-ACK or
//! RST latency). [`Rtt`] keeps a smoothed RTT and its variance as RFC 6298 does
//! (`srtt = 7/8 srtt + 1/8 r`, `rttvar = 3/4 rttvar + 1/4 |srtt - r|`, the first sample
//! sets `srtt = r`, `rttvar = r/2`) and the wait for an attempt is
//! `clamp(srtt + 4 rttvar, MIN_WAIT, T)` where `T` is `--timeout` (default 1 s, doubled by
//! `-sl`) and [`MIN_WAIT`] 100 ms (or `T` if that is smaller). Until the first answer the
//! wait is `T`. A retry after silence doubles the wait (RFC 6298 back-off), never beyond
//! `T`. The estimate is shared by every probe of one target (also the endpoint follow-up).
//! UDP probes and protocol queries keep the fixed `T`: their answer time is the
//! application's, not the network's. `--no-adaptive` makes every TCP wait `T`.
//!
//! # Time bound
//!
//! With N ports, concurrency C, rate R (probes/s), a maximum wait T per attempt and K
//! tries, the probing phase ends within `N/R + ceil(N/C) * K * T` (each probe holds a
//! permit for at most K*T, adaptive waits are never longer than T; permits are handed out
//! in order, at most R per second). [`bound`] computes it. C is the requested concurrency
//! capped by the open-file limit ([`crate::net::fd_budget`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::net::{self, ConnectFail, UdpOutcome};
use crate::Proto;

/// A port's state in PortQry's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum PortState {
    #[serde(rename = "LISTENING")]
    Listening,
    #[serde(rename = "NOT LISTENING")]
    NotListening,
    #[serde(rename = "FILTERED")]
    Filtered,
    #[serde(rename = "LISTENING or FILTERED")]
    ListeningOrFiltered,
}

impl PortState {
    pub fn as_str(self) -> &'static str {
        match self {
            PortState::Listening => "LISTENING",
            PortState::NotListening => "NOT LISTENING",
            PortState::Filtered => "FILTERED",
            PortState::ListeningOrFiltered => "LISTENING or FILTERED",
        }
    }
}

impl std::fmt::Display for PortState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// PortQry's exit code for a set of states: 0 when every port is LISTENING, 1 when any
/// is NOT LISTENING or FILTERED, otherwise 2 (some UDP port LISTENING or FILTERED).
pub fn exit_code<I: IntoIterator<Item = PortState>>(states: I) -> i32 {
    let mut code = 0;
    for s in states {
        match s {
            PortState::Listening => {}
            PortState::NotListening | PortState::Filtered => return 1,
            PortState::ListeningOrFiltered => code = 2,
        }
    }
    code
}

/// The state of one port as probed (before any protocol query).
#[derive(Clone, Debug)]
pub struct Probed {
    pub proto: Proto,
    pub port: u16,
    pub state: PortState,
    pub reason: String,
    /// The UDP reply, kept for the protocol query (bounded by `MAX_UDP_REPLY`).
    pub reply: Option<Vec<u8>>,
    pub elapsed: Duration,
}

/// One JSON record: a probed target and port (see the crate docs for the schema).
#[derive(Clone, Debug, serde::Serialize)]
pub struct PortReport {
    pub host: String,
    pub address: IpAddr,
    pub proto: Proto,
    pub port: u16,
    pub service: &'static str,
    pub state: PortState,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<serde_json::Value>,
    /// Text block of the query (PortQry layout), not part of the JSON.
    #[serde(skip)]
    pub text: Vec<String>,
}

pub const MAX_UDP_REPLY: usize = 65536;

/// Limits for a probing run.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The maximum (and, with `adaptive` off or before any answer, the only) wait per attempt.
    pub timeout: Duration,
    pub tries: u32,
    pub concurrency: usize,
    pub rate: u32,
    pub source_port: Option<u16>,
    /// Adaptive TCP waits (see the module docs); shared by clones, so one target's probes
    /// and its endpoint follow-up learn from each other.
    pub rtt: Option<Arc<Rtt>>,
}

impl Limits {
    /// Fixed waits of `timeout` (no estimator).
    pub fn fixed(
        timeout: Duration,
        tries: u32,
        concurrency: usize,
        rate: u32,
        source_port: Option<u16>,
    ) -> Limits {
        Limits { timeout, tries, concurrency, rate, source_port, rtt: None }
    }

    /// The wait for attempt `attempt` (1-based) of a TCP probe.
    pub fn tcp_wait(&self, attempt: u32) -> Duration {
        match &self.rtt {
            None => self.timeout,
            Some(r) => {
                let base = r.timeout(self.timeout);
                let shift = attempt.saturating_sub(1).min(16);
                base.saturating_mul(1u32 << shift).min(self.timeout)
            }
        }
    }
}

/// The smallest adaptive wait (nmap's default --min-rtt-timeout is 100 ms).
pub const MIN_WAIT: Duration = Duration::from_millis(100);

/// Smoothed round-trip time and variance (RFC 6298, section 2), from connect() latencies.
#[derive(Debug, Default)]
pub struct Rtt {
    /// (srtt, rttvar, samples), in microseconds.
    inner: std::sync::Mutex<(u64, u64, u64)>,
}

impl Rtt {
    pub fn new() -> Rtt {
        Rtt::default()
    }

    /// Adds one round-trip sample.
    pub fn sample(&self, d: Duration) {
        let r = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let Ok(mut g) = self.inner.lock() else { return };
        let (srtt, rttvar, n) = *g;
        *g = if n == 0 {
            (r, r / 2, 1)
        } else {
            let dev = srtt.abs_diff(r);
            let rttvar = rttvar.saturating_mul(3) / 4 + dev / 4;
            let srtt = srtt.saturating_mul(7) / 8 + r / 8;
            (srtt, rttvar, n.saturating_add(1))
        };
    }

    /// (srtt, rttvar, samples) so far.
    pub fn get(&self) -> (Duration, Duration, u64) {
        let (s, v, n) = self.inner.lock().map(|g| *g).unwrap_or((0, 0, 0));
        (Duration::from_micros(s), Duration::from_micros(v), n)
    }

    /// `clamp(srtt + 4 rttvar, min(MIN_WAIT, max), max)`; `max` until the first sample.
    pub fn timeout(&self, max: Duration) -> Duration {
        let (srtt, rttvar, n) = self.get();
        if n == 0 {
            return max;
        }
        let rto = srtt.saturating_add(rttvar.saturating_mul(4));
        rto.clamp(MIN_WAIT.min(max), max)
    }
}

/// Upper bound of the probing phase for `n` ports (see the module docs).
pub fn bound(n: usize, l: &Limits) -> Duration {
    let c = l.concurrency.max(1);
    let rounds = n.div_ceil(c) as u32;
    let pacing = if l.rate == 0 {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(n as f64 / l.rate as f64)
    };
    pacing + l.timeout.saturating_mul(l.tries.max(1)).saturating_mul(rounds)
}

/// Probes one TCP port: up to `tries` connects, each waiting [`Limits::tcp_wait`].
pub async fn tcp_state(addr: SocketAddr, l: &Limits) -> (PortState, String) {
    let tries = l.tries.max(1);
    let mut waits: Vec<String> = Vec::new();
    for attempt in 1..=tries {
        let start = Instant::now();
        let wait = l.tcp_wait(attempt);
        waits.push(wait.as_millis().to_string());
        let res = net::tcp_connect(addr, l.source_port, wait).await;
        if let (Some(rtt), Ok(_) | Err(ConnectFail::Refused(None))) = (&l.rtt, &res) {
            rtt.sample(start.elapsed());
        }
        match res {
            Ok(s) => {
                // Close with a reset: no TIME_WAIT left behind (65535-port sweeps, -sp reuse).
                #[allow(deprecated)]
                let _ = s.set_linger(Some(Duration::ZERO));
                drop(s);
                return (
                    PortState::Listening,
                    format!("TCP handshake completed in {} ms", start.elapsed().as_millis()),
                );
            }
            Err(ConnectFail::Timeout) => continue,
            Err(ConnectFail::Refused(None)) => {
                return (PortState::NotListening, "TCP reset (connection refused)".into())
            }
            Err(f @ ConnectFail::Refused(Some(_))) => {
                return (
                    PortState::Filtered,
                    format!(
                        "{} (a firewall's reject: a host answers a closed TCP port with a reset)",
                        f.describe()
                    ),
                )
            }
            Err(f @ ConnectFail::Unreachable { .. }) => {
                let _ = attempt;
                return (PortState::Filtered, f.describe());
            }
        }
    }
    let how = if l.rtt.is_some() {
        format!("waits of {} ms: adaptive, at most {} ms", waits.join(", "), l.timeout.as_millis())
    } else {
        format!("{} ms each", l.timeout.as_millis())
    };
    (PortState::Filtered, format!("no answer to {tries} connection attempts ({how})"))
}

/// Probes one UDP port with `payload`.
pub async fn udp_state(
    addr: SocketAddr,
    payload: &[u8],
    l: &Limits,
) -> (PortState, String, Option<Vec<u8>>) {
    match net::udp_exchange(addr, l.source_port, payload, l.timeout, l.tries, MAX_UDP_REPLY).await {
        UdpOutcome::Reply(r) => {
            (PortState::Listening, format!("reply received ({} bytes)", r.len()), Some(r))
        }
        UdpOutcome::Failed(ConnectFail::Refused(icmp)) => (
            PortState::NotListening,
            icmp.map(|i| i.describe()).unwrap_or_else(|| "ICMP port unreachable".into()),
            None,
        ),
        UdpOutcome::Failed(ConnectFail::Timeout) => (
            PortState::ListeningOrFiltered,
            format!(
                "no reply and no ICMP error to {} datagrams ({} bytes, {} ms wait each)",
                l.tries.max(1),
                payload.len(),
                l.timeout.as_millis()
            ),
            None,
        ),
        UdpOutcome::Failed(f) => (PortState::Filtered, f.describe(), None),
    }
}

/// Slots a late caller may use at once (at least [`PACER_CATCH_UP`] worth of schedule, so
/// a timer that wakes a millisecond late costs no rate even at 20000/s).
pub const PACER_BURST: u32 = 16;
pub const PACER_CATCH_UP: Duration = Duration::from_millis(5);

/// Paces new probes to at most `rate` per second.
pub struct Pacer {
    interval: Option<Duration>,
    next: Instant,
}

impl Pacer {
    pub fn new(rate: u32) -> Pacer {
        Pacer {
            interval: (rate > 0).then(|| Duration::from_secs_f64(1.0 / rate as f64)),
            next: Instant::now(),
        }
    }

    /// Waits for the next slot. Slots follow an absolute schedule, so the timer's
    /// millisecond granularity (a sleep ends up to 1 ms late) does not lower the rate; a
    /// caller that fell behind may catch up by at most [`PACER_BURST`] slots or
    /// [`PACER_CATCH_UP`] of schedule at once.
    pub async fn wait(&mut self) {
        if let Some(iv) = self.interval {
            let now = Instant::now();
            let window = iv.saturating_mul(PACER_BURST).max(PACER_CATCH_UP);
            let earliest = now.checked_sub(window).unwrap_or(now);
            let slot = self.next.max(earliest);
            self.next = slot + iv;
            if slot > now + Duration::from_millis(1) {
                tokio::time::sleep_until(slot.into()).await;
            }
        }
    }
}

/// Probes every (proto, port) on `addr`; `payload(port)` gives the UDP datagram.
/// Results come back in the order of `ports`.
pub async fn probe_all(
    addr: IpAddr,
    ports: &[(Proto, u16)],
    l: &Limits,
    payload: &dyn Fn(u16) -> Vec<u8>,
) -> Vec<Probed> {
    let sem = Arc::new(Semaphore::new(l.concurrency.max(1)));
    let mut pacer = Pacer::new(l.rate);
    let mut set: JoinSet<(usize, Probed)> = JoinSet::new();
    let mut out: Vec<Option<Probed>> = vec![None; ports.len()];
    let lim = Arc::new(l.clone());
    for (i, &(proto, port)) in ports.iter().enumerate() {
        let Ok(permit) = sem.clone().acquire_owned().await else { break };
        pacer.wait().await;
        let lim = lim.clone();
        let data = if proto == Proto::Udp { payload(port) } else { Vec::new() };
        set.spawn(async move {
            let start = Instant::now();
            let sa = SocketAddr::new(addr, port);
            let (state, reason, reply) = match proto {
                Proto::Tcp => {
                    let (s, r) = tcp_state(sa, &lim).await;
                    (s, r, None)
                }
                Proto::Udp => udp_state(sa, &data, &lim).await,
            };
            drop(permit);
            (i, Probed { proto, port, state, reason, reply, elapsed: start.elapsed() })
        });
        while let Some(Ok((i, p))) = set.try_join_next() {
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(p);
            }
        }
    }
    while let Some(res) = set.join_next().await {
        if let Ok((i, p)) = res {
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(p);
            }
        }
    }
    out.into_iter()
        .zip(ports)
        .map(|(p, &(proto, port))| {
            p.unwrap_or(Probed {
                proto,
                port,
                state: PortState::Filtered,
                reason: "probe task failed".into(),
                reply: None,
                elapsed: Duration::ZERO,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        use PortState::*;
        assert_eq!(exit_code([Listening, Listening]), 0);
        assert_eq!(exit_code([Listening, NotListening]), 1);
        assert_eq!(exit_code([ListeningOrFiltered, Filtered]), 1);
        assert_eq!(exit_code([Listening, ListeningOrFiltered]), 2);
        assert_eq!(exit_code([]), 0);
    }

    #[test]
    fn pacer_keeps_its_rate() {
        // 2000 slots at 10000/s must take about 0.2 s, 10000 at 50000/s also 0.2 s.
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        for (rate, n) in [(10_000u32, 2000u32), (50_000, 10_000)] {
            let t = rt.block_on(async {
                let mut p = Pacer::new(rate);
                let start = Instant::now();
                for _ in 0..n {
                    p.wait().await;
                }
                start.elapsed()
            });
            assert!(
                t >= Duration::from_millis(190) && t < Duration::from_millis(260),
                "{rate}/s: {t:?}"
            );
        }
    }

    #[test]
    fn bound_formula() {
        let l = Limits::fixed(Duration::from_millis(1000), 2, 500, 0, None);
        assert_eq!(bound(1000, &l), Duration::from_secs(4));
        let l = Limits { rate: 1000, ..l };
        assert_eq!(bound(1000, &l), Duration::from_secs(5));
    }

    #[test]
    fn rtt_estimator_follows_rfc6298() {
        let max = Duration::from_secs(1);
        let r = Rtt::new();
        assert_eq!(r.timeout(max), max, "no sample yet: the maximum");
        // First sample 200 ms: srtt 200, rttvar 100 -> 600 ms.
        r.sample(Duration::from_millis(200));
        assert_eq!(r.timeout(max), Duration::from_millis(600));
        // Second sample 100 ms: rttvar = 75 + 25 = 100, srtt = 175 + 12.5 = 187.5 -> 587.5.
        r.sample(Duration::from_millis(100));
        assert_eq!(r.timeout(max), Duration::from_micros(587_500));
        // Many fast samples: the wait falls to the floor, never below it.
        for _ in 0..200 {
            r.sample(Duration::from_micros(50));
        }
        assert_eq!(r.timeout(max), MIN_WAIT);
        // A slow link: the estimate grows, capped at the maximum.
        r.sample(Duration::from_millis(900));
        // One slow answer: srtt ~ 112.5 ms, rttvar ~ 225 ms -> 1.01 s, capped at 1 s.
        assert_eq!(r.timeout(max), max);
        for _ in 0..50 {
            r.sample(Duration::from_millis(900));
        }
        // Steady 900 ms: srtt -> 900 ms, rttvar -> 0: just above 900 ms.
        let t = r.timeout(max);
        assert!(t >= Duration::from_millis(900) && t < max, "{t:?}");
        r.sample(Duration::from_millis(1500));
        assert_eq!(r.timeout(max), max, "capped at the maximum");
        // A maximum below the floor wins.
        assert_eq!(Rtt::new().timeout(Duration::from_millis(40)), Duration::from_millis(40));
        let fast = Rtt::new();
        fast.sample(Duration::from_micros(10));
        assert_eq!(fast.timeout(Duration::from_millis(40)), Duration::from_millis(40));
    }

    #[test]
    fn retries_back_off_up_to_the_maximum() {
        let mut l = Limits::fixed(Duration::from_millis(1000), 3, 1, 0, None);
        assert_eq!(l.tcp_wait(2), Duration::from_millis(1000));
        let r = Arc::new(Rtt::new());
        r.sample(Duration::from_micros(100));
        l.rtt = Some(r);
        assert_eq!(l.tcp_wait(1), MIN_WAIT);
        assert_eq!(l.tcp_wait(2), 2 * MIN_WAIT);
        assert_eq!(l.tcp_wait(3), 4 * MIN_WAIT);
        assert_eq!(l.tcp_wait(9), Duration::from_millis(1000));
        assert_eq!(l.tcp_wait(u32::MAX), Duration::from_millis(1000));
    }

    #[test]
    fn states_serialize_as_portqry_words() {
        assert_eq!(
            serde_json::to_string(&PortState::ListeningOrFiltered).unwrap(),
            "\"LISTENING or FILTERED\""
        );
        assert_eq!(serde_json::to_string(&PortState::NotListening).unwrap(), "\"NOT LISTENING\"");
    }
}
