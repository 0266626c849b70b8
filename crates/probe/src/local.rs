//! Local mode (Linux): `-local` lists listening TCP and bound UDP sockets with the owning
//! process, `-wport` / `-wpid` watch a port or a process and report changes.
//!
//! Sources: `/proc/<self>/net/{tcp,tcp6,udp,udp6}` (one socket per line: hex
//! `address:port` in host byte order per 32-bit word, state, inode) and the
//! `socket:[inode]` links under `/proc/<pid>/fd` for the owner. The thread's own view
//! (`/proc/thread-self/net`) is used so a caller inside a network namespace sees that
//! namespace's sockets.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use crate::args::{Mode, Options};
use crate::{ProbeError, Proto};

/// Caps: lines read per table, processes and descriptors scanned.
pub const MAX_SOCKETS: usize = 200_000;
pub const MAX_FDS: usize = 1_000_000;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Socket {
    pub proto: Proto,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: String,
    pub inode: u64,
    pub pid: Option<u32>,
    pub process: Option<String>,
}

fn tcp_state(code: u8) -> &'static str {
    match code {
        0x01 => "ESTABLISHED",
        0x02 => "SYN_SENT",
        0x03 => "SYN_RECV",
        0x04 => "FIN_WAIT1",
        0x05 => "FIN_WAIT2",
        0x06 => "TIME_WAIT",
        0x07 => "CLOSE",
        0x08 => "CLOSE_WAIT",
        0x09 => "LAST_ACK",
        0x0a => "LISTENING",
        0x0b => "CLOSING",
        _ => "UNKNOWN",
    }
}

/// `0100007F:0016` or the 32-hex-digit IPv6 form.
fn parse_addr(s: &str) -> Option<SocketAddr> {
    let (a, p) = s.split_once(':')?;
    let port = u16::from_str_radix(p, 16).ok()?;
    let ip = match a.len() {
        8 => IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(a, 16).ok()?.swap_bytes())),
        32 => {
            let mut o = [0u8; 16];
            for (i, word) in o.chunks_exact_mut(4).enumerate() {
                let w = u32::from_str_radix(a.get(i * 8..i * 8 + 8)?, 16).ok()?;
                word.copy_from_slice(&w.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(o))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Parses one /proc/net table.
pub fn parse_table(text: &str, proto: Proto) -> Result<Vec<Socket>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if out.len() >= MAX_SOCKETS {
            break;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let &[_, f_local, f_remote, f_state, _, _, _, _, _, f_inode, ..] = f.as_slice() else {
            return Err(format!("line {}: {} fields, expected at least 10", i + 1, f.len()));
        };
        let local = parse_addr(f_local)
            .ok_or_else(|| format!("line {}: bad local address {:?}", i + 1, f_local))?;
        let remote = parse_addr(f_remote)
            .ok_or_else(|| format!("line {}: bad remote address {:?}", i + 1, f_remote))?;
        let st = u8::from_str_radix(f_state, 16)
            .map_err(|_| format!("line {}: bad state {:?}", i + 1, f_state))?;
        let inode =
            f_inode.parse().map_err(|_| format!("line {}: bad inode {:?}", i + 1, f_inode))?;
        let state = match proto {
            Proto::Tcp => tcp_state(st).to_string(),
            Proto::Udp => if st == 0x01 { "CONNECTED" } else { "BOUND" }.to_string(),
        };
        out.push(Socket { proto, local, remote, state, inode, pid: None, process: None });
    }
    Ok(out)
}

fn net_dir() -> &'static str {
    if std::path::Path::new("/proc/thread-self/net/tcp").exists() {
        "/proc/thread-self/net"
    } else {
        "/proc/net"
    }
}

/// inode -> (pid, process name), from /proc/*/fd.
fn owners() -> HashMap<u64, (u32, String)> {
    let mut m = HashMap::new();
    let Ok(procs) = std::fs::read_dir("/proc") else { return m };
    let mut fds_seen = 0usize;
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else { continue };
        let mut comm: Option<String> = None;
        for fd in fds.flatten() {
            fds_seen += 1;
            if fds_seen > MAX_FDS {
                return m;
            }
            let Ok(link) = std::fs::read_link(fd.path()) else { continue };
            let l = link.to_string_lossy();
            if let Some(ino) = l
                .strip_prefix("socket:[")
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.parse().ok())
            {
                let name = comm
                    .get_or_insert_with(|| {
                        std::fs::read_to_string(p.path().join("comm"))
                            .map(|s| s.trim().to_string())
                            .unwrap_or_default()
                    })
                    .clone();
                m.entry(ino).or_insert((pid, name));
            }
        }
    }
    m
}

/// All sockets of this network namespace with their owners.
pub fn sockets() -> Result<Vec<Socket>, ProbeError> {
    let dir = net_dir();
    let mut all = Vec::new();
    for (file, proto) in
        [("tcp", Proto::Tcp), ("tcp6", Proto::Tcp), ("udp", Proto::Udp), ("udp6", Proto::Udp)]
    {
        let path = format!("{dir}/{file}");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue, // no IPv6
            Err(e) => return Err(ProbeError::Local(format!("{path}: {e}"))),
        };
        all.extend(
            parse_table(&text, proto).map_err(|e| ProbeError::Local(format!("{path}: {e}")))?,
        );
    }
    let own = owners();
    for s in &mut all {
        if let Some((pid, name)) = own.get(&s.inode) {
            s.pid = Some(*pid);
            s.process = Some(name.clone());
        }
    }
    all.sort();
    Ok(all)
}

fn is_listening(s: &Socket) -> bool {
    (s.proto == Proto::Tcp && s.state == "LISTENING")
        || (s.proto == Proto::Udp && s.state == "BOUND")
}

fn row(s: &Socket) -> String {
    format!(
        "{:<5} {:<40} {:<12} {:<8} {}",
        s.proto.upper(),
        s.local.to_string(),
        s.state,
        s.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
        s.process.as_deref().unwrap_or("-")
    )
}

/// `-local`: listening sockets (all TCP states with -v).
pub fn list(o: &Options, w: &mut dyn Write) -> Result<i32, ProbeError> {
    let all = sockets()?;
    let shown: Vec<&Socket> = all.iter().filter(|s| o.verbose || is_listening(s)).collect();
    if o.json {
        for s in &shown {
            writeln!(w, "{}", serde_json::to_string(s).unwrap_or_default())?;
        }
        return Ok(0);
    }
    writeln!(w, "TCP/UDP Port Usage\n")?;
    writeln!(w, "{} active ports found\n", shown.len())?;
    writeln!(w, "{:<5} {:<40} {:<12} {:<8} Process", "Proto", "Local Address", "State", "PID")?;
    for s in &shown {
        writeln!(w, "{}", row(s))?;
    }
    let mut per_pid: BTreeMap<(u32, String), usize> = BTreeMap::new();
    for s in &shown {
        if let (Some(p), Some(n)) = (s.pid, &s.process) {
            *per_pid.entry((p, n.clone())).or_default() += 1;
        }
    }
    writeln!(w, "\nPort Statistics\n")?;
    for ((p, n), c) in per_pid {
        writeln!(w, "Process ID: {p} ({n}) - {c} port(s)")?;
    }
    writeln!(w)?;
    Ok(0)
}

fn key(s: &Socket) -> (Proto, SocketAddr, SocketAddr, Option<u32>) {
    (s.proto, s.local, s.remote, s.pid)
}

fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    crate::query::tls::unix_to_utc(secs)
}

/// `-wport` / `-wpid`: one snapshot per interval, changes reported, bounded by `--count`
/// and `--duration`. Returns 0 (1 when a watched process is not there at the start).
pub fn watch(o: &Options, w: &mut dyn Write) -> Result<i32, ProbeError> {
    let select = |s: &Socket| match o.mode {
        Mode::WatchPort(p) => s.local.port() == p,
        Mode::WatchPid(pid) => s.pid == Some(pid),
        _ => false,
    };
    let what = match o.mode {
        Mode::WatchPort(p) => format!("port {p}"),
        Mode::WatchPid(p) => format!("process {p}"),
        _ => String::new(),
    };
    if let Mode::WatchPid(pid) = o.mode {
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            writeln!(w, "process {pid} does not exist")?;
            return Ok(1);
        }
    }
    let start = Instant::now();
    let mut prev: BTreeMap<(Proto, SocketAddr, SocketAddr, Option<u32>), Socket> = BTreeMap::new();
    let mut round = 0u32;
    let emit = |w: &mut dyn Write, event: &str, s: &Socket| -> std::io::Result<()> {
        if o.json {
            let mut v = serde_json::to_value(s).unwrap_or_default();
            if let serde_json::Value::Object(m) = &mut v {
                m.insert("time".into(), now_utc().into());
                m.insert("event".into(), event.into());
            }
            writeln!(w, "{v}")
        } else {
            writeln!(w, "[{}] {event}: {}", now_utc(), row(s))
        }
    };
    if !o.json {
        writeln!(w, "Watching {what} every {} s\n", o.watch_interval.as_secs())?;
    }
    loop {
        round += 1;
        let cur: BTreeMap<_, Socket> =
            sockets()?.into_iter().filter(|s| select(s)).map(|s| (key(&s), s)).collect();
        for (k, s) in &cur {
            if !prev.contains_key(k) {
                emit(w, if round == 1 { "present" } else { "opened" }, s)?;
            }
        }
        for (k, s) in &prev {
            if !cur.contains_key(k) {
                emit(w, "closed", s)?;
            }
        }
        for (k, s) in &cur {
            match prev.get(k) {
                Some(p) if p.state != s.state => emit(w, &format!("state {} ->", p.state), s)?,
                _ => {}
            }
        }
        if round == 1 && cur.is_empty() && !o.json {
            writeln!(w, "[{}] {what}: nothing in use", now_utc())?;
        }
        w.flush()?;
        prev = cur;
        if let Mode::WatchPid(pid) = o.mode {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                writeln!(w, "[{}] process {pid} exited", now_utc())?;
                break;
            }
        }
        if o.watch_count.is_some_and(|c| round >= c) {
            break;
        }
        let left = o.watch_duration.saturating_sub(start.elapsed());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(o.watch_interval.min(left));
        if start.elapsed() >= o.watch_duration {
            break;
        }
    }
    let _ = Duration::ZERO;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Lines as Linux 6.x prints them (from this machine's /proc/net/tcp and tcp6).
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
   1: 0100007F:8B4E 0100007F:0277 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000000000000 20 4 30 10 -1
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0
";

    #[test]
    fn parses_proc_tables() {
        let v = parse_table(TCP, Proto::Tcp).unwrap();
        assert_eq!(v[0].local, "127.0.0.1:631".parse().unwrap());
        assert_eq!(v[0].state, "LISTENING");
        assert_eq!(v[0].inode, 12345);
        assert_eq!(v[1].remote.port(), 631);
        assert_eq!(v[1].state, "ESTABLISHED");
        let v6 = parse_table(TCP6, Proto::Tcp).unwrap();
        assert_eq!(v6[0].local, "[::1]:22".parse().unwrap());
        assert!(parse_table("hdr\n 0: zz:1 00000000:0000 0A a b c d e 5", Proto::Tcp).is_err());
        assert!(parse_table("hdr\n 0: short", Proto::Tcp).is_err());
    }

    #[test]
    fn finds_own_listener() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let all = sockets().unwrap();
        let me = all
            .iter()
            .find(|s| s.proto == Proto::Tcp && s.local.port() == port && s.state == "LISTENING")
            .expect("own listener listed");
        assert_eq!(me.pid, Some(std::process::id()));
    }
}
