//! Sockets: TCP connect and UDP request/reply with bounded waits, and the ICMP error that
//! explains a failure.
//!
//! Linux reports an ICMP error on a connected socket as an errno (ECONNREFUSED for "port
//! unreachable", EHOSTUNREACH for "host unreachable" and "administratively prohibited", ...).
//! With `IP_RECVERR` / `IPV6_RECVERR` set, the kernel also queues the ICMP message itself
//! (type, code, the router or host that sent it) on the socket's error queue, and reports
//! the non-fatal ICMP errors (host unreachable) on UDP at all; we read that queue so a
//! FILTERED verdict can say which message came back from where.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// An ICMP error read from the socket's error queue.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Icmp {
    pub v6: bool,
    #[serde(rename = "type")]
    pub kind: u8,
    pub code: u8,
    /// Who sent it (the target itself or a router/firewall on the way).
    pub from: Option<IpAddr>,
}

impl Icmp {
    /// A readable name, e.g. "ICMP port unreachable from 10.0.0.1".
    pub fn describe(&self) -> String {
        let what = if self.v6 {
            match (self.kind, self.code) {
                (1, 0) => "no route to destination".to_string(),
                (1, 1) => "communication administratively prohibited".to_string(),
                (1, 3) => "address unreachable".to_string(),
                (1, 4) => "port unreachable".to_string(),
                (1, 5) => "source address failed ingress/egress policy".to_string(),
                (1, 6) => "reject route to destination".to_string(),
                (t, c) => format!("type {t} code {c}"),
            }
        } else {
            match (self.kind, self.code) {
                (3, 0) => "net unreachable".to_string(),
                (3, 1) => "host unreachable".to_string(),
                (3, 2) => "protocol unreachable".to_string(),
                (3, 3) => "port unreachable".to_string(),
                (3, 4) => "fragmentation needed".to_string(),
                (3, 9) => "network administratively prohibited".to_string(),
                (3, 10) => "host administratively prohibited".to_string(),
                (3, 13) => "communication administratively prohibited".to_string(),
                (11, _) => "time exceeded".to_string(),
                (t, c) => format!("type {t} code {c}"),
            }
        };
        let v = if self.v6 { "ICMPv6" } else { "ICMP" };
        match self.from {
            Some(a) => format!("{v} {what} from {a}"),
            None => format!("{v} {what}"),
        }
    }

    /// Port unreachable: the host itself says nobody listens.
    pub fn is_port_unreachable(&self) -> bool {
        (!self.v6 && self.kind == 3 && self.code == 3)
            || (self.v6 && self.kind == 1 && self.code == 4)
    }
}

/// Enables IP_RECVERR / IPV6_RECVERR on a socket.
fn set_recverr(fd: RawFd, v6: bool) {
    let one: libc::c_int = 1;
    let (level, opt) = if v6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVERR)
    } else {
        (libc::IPPROTO_IP, libc::IP_RECVERR)
    };
    // SAFETY: fd is a valid socket owned by the caller; the option value is a c_int.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            &one as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Reads (and drains, at most 8 messages) the socket error queue; returns the last ICMP error.
fn read_errqueue(fd: RawFd) -> Option<Icmp> {
    let mut last = None;
    for _ in 0..8 {
        let mut data = [0u8; 512];
        let mut ctrl = [0u64; 64]; // 512 bytes, aligned for cmsghdr
                                   // SAFETY: sockaddr_storage is plain data; all-zero bytes are a valid value.
        let mut name: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut iov =
            libc::iovec { iov_base: data.as_mut_ptr() as *mut libc::c_void, iov_len: data.len() };
        // SAFETY: msghdr is plain data (null pointers, zero lengths); filled in below.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = &mut name as *mut _ as *mut libc::c_void;
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctrl.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = std::mem::size_of_val(&ctrl) as _;
        // SAFETY: all pointers in `msg` refer to live stack buffers with the lengths given;
        // MSG_DONTWAIT: the call does not block.
        let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT) };
        if n < 0 {
            break;
        }
        // SAFETY: CMSG_* walk the control buffer the kernel filled, within msg_controllen;
        // each header is read only when non-null, its data only when cmsg_len covers a
        // sock_extended_err, and `offender` gets exactly the bytes left in that message.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                let h = &*c;
                let v4 = h.cmsg_level == libc::IPPROTO_IP && h.cmsg_type == libc::IP_RECVERR;
                let v6 = h.cmsg_level == libc::IPPROTO_IPV6 && h.cmsg_type == libc::IPV6_RECVERR;
                let need =
                    libc::CMSG_LEN(std::mem::size_of::<libc::sock_extended_err>() as u32) as usize;
                if (v4 || v6) && (h.cmsg_len as usize) >= need {
                    let ee_ptr = libc::CMSG_DATA(c) as *const libc::sock_extended_err;
                    let ee = std::ptr::read_unaligned(ee_ptr);
                    let icmp_origin = ee.ee_origin == libc::SO_EE_ORIGIN_ICMP
                        || ee.ee_origin == libc::SO_EE_ORIGIN_ICMP6;
                    if icmp_origin {
                        // SO_EE_OFFENDER: the sockaddr right after the struct.
                        let off = ee_ptr.add(1) as *const u8;
                        let have = (h.cmsg_len as usize).saturating_sub(need);
                        let from = offender(off, have);
                        last = Some(Icmp {
                            v6: ee.ee_origin == libc::SO_EE_ORIGIN_ICMP6,
                            kind: ee.ee_type,
                            code: ee.ee_code,
                            from,
                        });
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
    }
    last
}

/// Decodes the offender sockaddr (SO_EE_OFFENDER) if `have` bytes cover it.
///
/// # Safety
///
/// `p` must point to at least `have` readable bytes (here: the rest of a control message
/// the kernel filled). Reads are unaligned and never go past `have` bytes.
unsafe fn offender(p: *const u8, have: usize) -> Option<IpAddr> {
    if have < 2 {
        return None;
    }
    let family = std::ptr::read_unaligned(p as *const libc::sa_family_t) as i32;
    if family == libc::AF_INET && have >= std::mem::size_of::<libc::sockaddr_in>() {
        let sin = std::ptr::read_unaligned(p as *const libc::sockaddr_in);
        Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))))
    } else if family == libc::AF_INET6 && have >= std::mem::size_of::<libc::sockaddr_in6>() {
        let sin6 = std::ptr::read_unaligned(p as *const libc::sockaddr_in6);
        Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
    } else {
        None
    }
}

/// Descriptors kept free for everything that is not a probe socket (stdio, the log file,
/// epoll, resolver, query connections).
pub const FD_RESERVE: u64 = 64;

/// Raises the soft RLIMIT_NOFILE to the hard limit (once per process) and returns how many
/// descriptors probes may hold at once: the soft limit minus [`FD_RESERVE`], at least 1.
/// A failure to raise keeps the old limit (the budget is then computed from it).
pub fn fd_budget() -> usize {
    static BUDGET: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *BUDGET.get_or_init(|| {
        let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes into a valid, live rlimit struct.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 {
            return 1024usize.saturating_sub(FD_RESERVE as usize);
        }
        if rl.rlim_cur < rl.rlim_max {
            let want = libc::rlimit { rlim_cur: rl.rlim_max, rlim_max: rl.rlim_max };
            // SAFETY: setrlimit reads a valid rlimit struct.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) } == 0 {
                rl.rlim_cur = rl.rlim_max;
            }
        }
        #[allow(clippy::useless_conversion)] // rlim_t is u32 on some 32-bit targets
        let soft = u64::try_from(rl.rlim_cur).unwrap_or(u64::MAX);
        usize::try_from(soft.saturating_sub(FD_RESERVE)).unwrap_or(usize::MAX).max(1)
    })
}

/// Why a connection attempt failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectFail {
    /// RST or ICMP port unreachable.
    Refused(Option<Icmp>),
    /// An ICMP unreachable / prohibited, or a local error; the text names it.
    Unreachable { errno: i32, icmp: Option<Icmp>, text: String },
    /// No answer within the wait.
    Timeout,
}

impl ConnectFail {
    pub fn describe(&self) -> String {
        match self {
            ConnectFail::Refused(Some(i)) => i.describe(),
            ConnectFail::Refused(None) => "connection refused (TCP reset)".into(),
            ConnectFail::Unreachable { icmp: Some(i), text, .. } => {
                format!("{} ({text})", i.describe())
            }
            ConnectFail::Unreachable { text, .. } => text.clone(),
            ConnectFail::Timeout => "no answer".into(),
        }
    }
}

fn errno_text(e: &io::Error) -> String {
    let name = match e.raw_os_error() {
        Some(libc::EHOSTUNREACH) => "EHOSTUNREACH",
        Some(libc::ENETUNREACH) => "ENETUNREACH",
        Some(libc::EACCES) => "EACCES",
        Some(libc::EPERM) => "EPERM",
        Some(libc::ECONNREFUSED) => "ECONNREFUSED",
        Some(libc::ETIMEDOUT) => "ETIMEDOUT",
        Some(libc::EADDRNOTAVAIL) => "EADDRNOTAVAIL",
        Some(libc::EADDRINUSE) => "EADDRINUSE",
        Some(libc::EPROTO) => "EPROTO",
        Some(libc::ENOPROTOOPT) => "ENOPROTOOPT",
        _ => "",
    };
    let msg = e.to_string();
    let msg = msg.split(" (os error").next().unwrap_or(&msg).to_string();
    if name.is_empty() {
        msg
    } else {
        format!("{name}: {msg}")
    }
}

fn classify(e: &io::Error, icmp: Option<Icmp>) -> ConnectFail {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => match icmp {
            Some(i) if !i.is_port_unreachable() => ConnectFail::Unreachable {
                errno: libc::ECONNREFUSED,
                icmp: Some(i),
                text: errno_text(e),
            },
            other => ConnectFail::Refused(other),
        },
        Some(libc::ETIMEDOUT) => ConnectFail::Timeout,
        errno => ConnectFail::Unreachable { errno: errno.unwrap_or(0), icmp, text: errno_text(e) },
    }
}

/// A `sockaddr_in` / `sockaddr_in6` for `a`.
fn sockaddr(a: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; we fill the variant matching the family.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match a {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from(*v4.ip()).to_be() },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in, sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: v6.ip().octets() },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in6, sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

fn last_err() -> io::Error {
    io::Error::last_os_error()
}

fn local_fail(what: &str, e: io::Error) -> ConnectFail {
    ConnectFail::Unreachable {
        errno: e.raw_os_error().unwrap_or(0),
        icmp: None,
        text: format!("{what}: {}", errno_text(&e)),
    }
}

/// One TCP connection attempt bounded by `wait`: a non-blocking connect() on our own
/// socket, so after a failure the same descriptor still holds the ICMP error queue.
pub async fn tcp_connect(
    addr: SocketAddr,
    src_port: Option<u16>,
    wait: Duration,
) -> Result<TcpStream, ConnectFail> {
    use std::os::fd::{FromRawFd, OwnedFd};
    use tokio::io::unix::AsyncFd;
    use tokio::io::Interest;

    let family = if addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    // SAFETY: plain socket(2); the descriptor is owned by `sock` right away.
    let raw = unsafe {
        libc::socket(family, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0)
    };
    if raw < 0 {
        return Err(local_fail("socket", last_err()));
    }
    // SAFETY: `raw` is a fresh descriptor from socket(2) that nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    let fd = sock.as_raw_fd();
    set_recverr(fd, addr.is_ipv6());
    if let Some(sp) = src_port {
        let one: libc::c_int = 1;
        let local: SocketAddr = if addr.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, sp).into()
        } else {
            (Ipv6Addr::UNSPECIFIED, sp).into()
        };
        let (ss, len) = sockaddr(local);
        // SAFETY: valid descriptor, option and address buffers of the given sizes.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                &one as *const _ as *const libc::c_void,
                4,
            );
            libc::bind(fd, &ss as *const _ as *const libc::sockaddr, len)
        };
        if rc != 0 {
            return Err(local_fail(&format!("cannot bind source port {sp}"), last_err()));
        }
    }
    let (ss, len) = sockaddr(addr);
    // SAFETY: valid descriptor and address buffer.
    let rc = unsafe { libc::connect(fd, &ss as *const _ as *const libc::sockaddr, len) };
    if rc != 0 {
        let e = last_err();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(classify(&e, read_errqueue(fd)));
        }
        // SAFETY: `sock` is an OwnedFd: it stays open and keeps its descriptor number for
        // as long as the AsyncFd owns it.
        let afd = unsafe { AsyncFd::register_with_interest(sock, Interest::WRITABLE) }
            .map_err(|e| local_fail("register", e.into()))?;
        match tokio::time::timeout(wait, afd.writable()).await {
            Err(_) => return Err(ConnectFail::Timeout),
            Ok(Err(e)) => return Err(local_fail("poll", e)),
            Ok(Ok(_guard)) => {}
        }
        let mut err: libc::c_int = 0;
        let mut elen = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: SO_ERROR into a c_int.
        unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                &mut err as *mut _ as *mut libc::c_void,
                &mut elen,
            )
        };
        if err != 0 {
            return Err(classify(&io::Error::from_raw_os_error(err), read_errqueue(fd)));
        }
        let sock = afd.into_inner();
        return TcpStream::from_std(std::net::TcpStream::from(sock))
            .map_err(|e| local_fail("register", e));
    }
    TcpStream::from_std(std::net::TcpStream::from(sock)).map_err(|e| local_fail("register", e))
}

/// What a UDP exchange produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UdpOutcome {
    Reply(Vec<u8>),
    Failed(ConnectFail),
}

/// Sends `payload` up to `tries` times, each waiting `wait` for one datagram (at most
/// `max` bytes kept; longer replies are truncated and flagged by the caller's parser).
pub async fn udp_exchange(
    addr: SocketAddr,
    src_port: Option<u16>,
    payload: &[u8],
    wait: Duration,
    tries: u32,
    max: usize,
) -> UdpOutcome {
    let local: SocketAddr = if addr.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, src_port.unwrap_or(0)).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, src_port.unwrap_or(0)).into()
    };
    let sock = match UdpSocket::bind(local).await {
        Ok(s) => s,
        Err(e) => {
            return UdpOutcome::Failed(ConnectFail::Unreachable {
                errno: e.raw_os_error().unwrap_or(0),
                icmp: None,
                text: errno_text(&e),
            })
        }
    };
    set_recverr(sock.as_raw_fd(), addr.is_ipv6());
    if let Err(e) = sock.connect(addr).await {
        return UdpOutcome::Failed(classify(&e, None));
    }
    let mut buf = vec![0u8; max.clamp(1, 65536)];
    for _ in 0..tries.max(1) {
        if let Err(e) = sock.send(payload).await {
            let icmp = read_errqueue(sock.as_raw_fd());
            return UdpOutcome::Failed(classify(&e, icmp));
        }
        // A connected UDP socket only receives from the peer: one datagram is the answer
        // (a late answer to an earlier try counts too).
        match tokio::time::timeout(wait, sock.recv(&mut buf)).await {
            Ok(Ok(n)) => {
                let n = n.min(buf.len());
                return UdpOutcome::Reply(buf.get(..n).unwrap_or_default().to_vec());
            }
            Ok(Err(e)) => {
                let icmp = read_errqueue(sock.as_raw_fd());
                return UdpOutcome::Failed(classify(&e, icmp));
            }
            Err(_) => {}
        }
    }
    UdpOutcome::Failed(ConnectFail::Timeout)
}

/// Errors of a request/reply exchange over TCP (protocol queries).
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("connect failed: {0}")]
    Connect(String),
    #[error("timed out after {0} ms waiting for the reply ({1} bytes received)")]
    Timeout(u128, usize),
    #[error("connection closed by the server after {0} bytes")]
    Closed(usize),
    #[error("reply larger than the {0}-byte limit")]
    TooLarge(usize),
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

/// Sends `req` on a stream and reads until `complete(buf)` returns `Some(len)` (a whole
/// message of `len` bytes is in `buf`), bounded by `max` bytes and `wait`.
pub async fn tcp_request<S, F>(
    stream: &mut S,
    req: &[u8],
    max: usize,
    wait: Duration,
    complete: F,
) -> Result<Vec<u8>, ExchangeError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    F: Fn(&[u8]) -> Option<usize>,
{
    let start = Instant::now();
    if !req.is_empty() {
        tokio::time::timeout(wait, stream.write_all(req))
            .await
            .map_err(|_| ExchangeError::Timeout(wait.as_millis(), 0))??;
    }
    read_message(stream, max, wait.saturating_sub(start.elapsed()), complete).await
}

/// Reads until `complete` says a whole message is there (see [`tcp_request`]).
pub async fn read_message<S, F>(
    stream: &mut S,
    max: usize,
    wait: Duration,
    complete: F,
) -> Result<Vec<u8>, ExchangeError>
where
    S: tokio::io::AsyncRead + Unpin,
    F: Fn(&[u8]) -> Option<usize>,
{
    let deadline = Instant::now() + wait;
    let mut buf: Vec<u8> = Vec::with_capacity(4096.min(max));
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(len) = complete(&buf) {
            if len > max {
                return Err(ExchangeError::TooLarge(max));
            }
            buf.truncate(len);
            return Ok(buf);
        }
        if buf.len() >= max {
            return Err(ExchangeError::TooLarge(max));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let room = (max - buf.len()).min(chunk.len());
        let n = match tokio::time::timeout(
            left,
            stream.read(chunk.get_mut(..room).unwrap_or_default()),
        )
        .await
        {
            Ok(Ok(0)) => return Err(ExchangeError::Closed(buf.len())),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(ExchangeError::Io(e)),
            Err(_) => return Err(ExchangeError::Timeout(wait.as_millis(), buf.len())),
        };
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

/// A stream reader that keeps bytes past the end of one message for the next one
/// (DCE/RPC servers may send several fragments in one segment).
#[derive(Debug, Default)]
pub struct Framed {
    buf: Vec<u8>,
}

impl Framed {
    pub fn new() -> Self {
        Framed::default()
    }

    /// Appends received bytes (the caller bounds them by checking [`Framed::take`] first).
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held that are not yet a whole message.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next whole message if `complete` finds one in the bytes held; an error when it
    /// is (or would be) larger than `max`.
    pub fn take<F>(&mut self, max: usize, complete: F) -> Result<Option<Vec<u8>>, ExchangeError>
    where
        F: Fn(&[u8]) -> Option<usize>,
    {
        if let Some(len) = complete(&self.buf) {
            if len > max {
                return Err(ExchangeError::TooLarge(max));
            }
            if len <= self.buf.len() {
                let rest = self.buf.split_off(len);
                return Ok(Some(std::mem::replace(&mut self.buf, rest)));
            }
        }
        if self.buf.len() >= max {
            return Err(ExchangeError::TooLarge(max));
        }
        Ok(None)
    }

    /// The next whole message (per `complete`), at most `max` bytes, within `wait`.
    pub async fn next<S, F>(
        &mut self,
        stream: &mut S,
        max: usize,
        wait: Duration,
        complete: F,
    ) -> Result<Vec<u8>, ExchangeError>
    where
        S: tokio::io::AsyncRead + Unpin,
        F: Fn(&[u8]) -> Option<usize>,
    {
        let deadline = Instant::now() + wait;
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(m) = self.take(max, &complete)? {
                return Ok(m);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let room = max.saturating_sub(self.buf.len()).min(chunk.len());
            let n = match tokio::time::timeout(
                left,
                stream.read(chunk.get_mut(..room).unwrap_or_default()),
            )
            .await
            {
                Ok(Ok(0)) => return Err(ExchangeError::Closed(self.buf.len())),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(ExchangeError::Io(e)),
                Err(_) => return Err(ExchangeError::Timeout(wait.as_millis(), self.buf.len())),
            };
            self.push(chunk.get(..n).unwrap_or_default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_budget_raises_the_soft_limit() {
        let budget = fd_budget();
        let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit into a valid struct.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) }, 0);
        assert_eq!(rl.rlim_cur, rl.rlim_max, "soft limit raised to the hard one");
        #[allow(clippy::useless_conversion)] // rlim_t is u32 on some 32-bit targets
        let soft = u64::try_from(rl.rlim_cur).unwrap_or(u64::MAX);
        assert_eq!(budget as u64, soft.saturating_sub(FD_RESERVE).max(1));
        assert_eq!(fd_budget(), budget, "computed once");
    }
}
