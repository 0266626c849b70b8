//! Name resolution through the system resolver (getaddrinfo / getnameinfo, so
//! /etc/hosts and nsswitch apply), each lookup bounded in time.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Parses an address literal (`10.0.0.1`, `fe80::1`, `[fe80::1]`).
pub fn literal(s: &str) -> Option<IpAddr> {
    let t = s.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(s);
    t.parse().ok()
}

/// Resolves a name to its addresses (IPv4 first, as PortQry uses the first one).
pub async fn forward(name: &str, wait: Duration) -> Result<Vec<IpAddr>, String> {
    if let Some(a) = literal(name) {
        return Ok(vec![a]);
    }
    let q = format!("{name}:0");
    let res = tokio::time::timeout(wait, tokio::net::lookup_host(q))
        .await
        .map_err(|_| format!("no answer from the resolver within {} ms", wait.as_millis()))?
        .map_err(|e| e.to_string())?;
    let mut v: Vec<IpAddr> = Vec::new();
    for sa in res.take(64) {
        if !v.contains(&sa.ip()) {
            v.push(sa.ip());
        }
    }
    v.sort_by_key(|a| a.is_ipv6());
    if v.is_empty() {
        return Err("no addresses".into());
    }
    Ok(v)
}

/// Resolves an address back to a name (None when there is none or the wait ran out).
pub async fn reverse(addr: IpAddr, wait: Duration) -> Option<String> {
    let job = tokio::task::spawn_blocking(move || getnameinfo(addr));
    match tokio::time::timeout(wait, job).await {
        Ok(Ok(r)) => r,
        _ => None,
    }
}

fn getnameinfo(addr: IpAddr) -> Option<String> {
    let sa = SocketAddr::new(addr, 0);
    let mut host = [0 as libc::c_char; 1025];
    // SAFETY: the sockaddr structs live on this stack frame with the length passed.
    let rc = unsafe {
        match sa {
            SocketAddr::V4(v4) => {
                let mut s: libc::sockaddr_in = std::mem::zeroed();
                s.sin_family = libc::AF_INET as libc::sa_family_t;
                s.sin_addr.s_addr = u32::from(*v4.ip()).to_be();
                libc::getnameinfo(
                    &s as *const _ as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
            SocketAddr::V6(v6) => {
                let mut s: libc::sockaddr_in6 = std::mem::zeroed();
                s.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                s.sin6_addr.s6_addr = v6.ip().octets();
                libc::getnameinfo(
                    &s as *const _ as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
        }
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: getnameinfo NUL-terminates within the buffer on success.
    let c = unsafe { std::ffi::CStr::from_ptr(host.as_ptr()) };
    c.to_str().ok().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(literal("10.1.2.3"), Some("10.1.2.3".parse().unwrap()));
        assert_eq!(literal("[::1]"), Some("::1".parse().unwrap()));
        assert_eq!(literal("host"), None);
    }

    #[test]
    fn localhost_resolves_both_ways() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let v = forward("localhost", Duration::from_secs(5)).await.unwrap();
            assert!(v.iter().any(|a| a.is_loopback()));
            let n = reverse("127.0.0.1".parse().unwrap(), Duration::from_secs(5)).await;
            assert_eq!(n.as_deref(), Some("localhost"));
        });
    }
}
