//! `--proxy http://HOST:PORT`: checks through an HTTP proxy with CONNECT (RFC 9110 §9.3.6),
//! as clients that go out through one do. The DNS and TCP steps then concern the proxy (the
//! proxy resolves the target); a refused or failed CONNECT fails the `proxy` step with the
//! proxy's status line; TLS and HTTP run inside the tunnel.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

use super::http;
use crate::net;

/// Parses `http://HOST:PORT` (or `HOST:PORT`; port 8080 when absent).
pub fn parse(s: &str) -> Result<(String, u16), String> {
    let rest = s.strip_prefix("http://").unwrap_or(s).trim_end_matches('/');
    if s.contains("://") && !s.starts_with("http://") {
        return Err(format!("--proxy {s:?}: only http:// proxies (CONNECT) are supported"));
    }
    let t = super::target::parse(&format!("tcp://{rest}"), false)
        .or_else(|_| super::target::parse(&format!("tcp://{rest}:8080"), false))
        .map_err(|e| format!("--proxy {s:?}: {e}"))?;
    Ok((t.host, t.port))
}

/// Sends CONNECT for `host:port` on `tcp` and reads the proxy's answer.
pub async fn connect(
    tcp: &mut TcpStream,
    host: &str,
    port: u16,
    wait: Duration,
) -> Result<String, String> {
    let authority =
        if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let req = format!(
        "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: tracehound-check\r\n\r\n"
    );
    match http::exchange(tcp, req.as_bytes(), wait, false).await {
        Ok(r) if (200..300).contains(&r.status) => {
            Ok(format!("CONNECT {authority}: {} {}", r.status, r.reason))
        }
        Ok(r) => {
            Err(format!("the proxy answered CONNECT {authority} with {} {}", r.status, r.reason))
        }
        Err(e) => Err(format!("CONNECT {authority}: {e}")),
    }
}

/// A TCP stream to `host:port`: directly to `sa`, or to the proxy at `sa` and tunnelled.
pub async fn dial(
    sa: SocketAddr,
    host: &str,
    port: u16,
    via_proxy: bool,
    wait: Duration,
) -> Result<TcpStream, String> {
    let mut tcp =
        net::tcp_connect(sa, None, wait).await.map_err(|f| format!("{sa}: {}", f.describe()))?;
    if via_proxy {
        connect(&mut tcp, host, port, wait).await?;
    }
    Ok(tcp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls() {
        assert_eq!(parse("http://proxy.corp:3128").unwrap(), ("proxy.corp".into(), 3128));
        assert_eq!(parse("10.0.0.1:8080").unwrap(), ("10.0.0.1".into(), 8080));
        assert_eq!(parse("http://proxy.corp/").unwrap(), ("proxy.corp".into(), 8080));
        assert!(parse("socks5://p:1080").is_err());
    }
}
