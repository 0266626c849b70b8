//! The TLS step: a rustls handshake whose certificate verifier only records the chain (the
//! handshake signatures are still checked against the leaf's key), so the chain and the
//! negotiated parameters are reported even when the chain does not validate; the chain is
//! then judged by [`super::cert`].
//!
//! `--tls-versions`: one handshake per version rustls speaks (TLS 1.2, TLS 1.3), and raw
//! ClientHellos for TLS 1.0 and 1.1 (rustls does not speak them). When a server refuses
//! TLS 1.2 and 1.3 with `protocol_version`, a raw TLS 1.0 hello says whether it speaks an
//! older version, and its certificates (sent in clear before TLS 1.3) are still reported.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::record::{TlsStep, VersionProbe};

/// Certificates recorded from one handshake (the rest are counted).
const KEEP: usize = 128;

/// Records the chain and lets the handshake finish.
#[derive(Debug)]
struct Recorder {
    provider: Arc<CryptoProvider>,
    chain: Mutex<(Vec<CertificateDer<'static>>, usize)>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut g) = self.chain.lock() {
            let total = intermediates.len().saturating_add(1);
            g.0 = std::iter::once(end_entity)
                .chain(intermediates.iter())
                .take(KEEP)
                .map(|c| c.clone().into_owned())
                .collect();
            g.1 = total;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// What one handshake produced.
pub struct Handshake {
    pub step: TlsStep,
    /// The chain as sent (at most [`KEEP`]) and how many certificates were sent.
    pub chain: Vec<CertificateDer<'static>>,
    pub sent: usize,
    pub stream: Option<TlsStream<TcpStream>>,
}

/// The SNI to send: none for an address literal (RFC 6066 §3).
pub fn sni_for(host: &str) -> Option<String> {
    crate::resolve::literal(host).is_none().then(|| host.trim_end_matches('.').to_string())
}

fn config(
    alpn: &[&str],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<(rustls::ClientConfig, Arc<Recorder>), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let rec = Arc::new(Recorder { provider: provider.clone(), chain: Mutex::new((Vec::new(), 0)) });
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| format!("TLS configuration: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(rec.clone())
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Ok((cfg, rec))
}

/// Runs a handshake on `tcp` for `host`, bounded by `wait`.
pub async fn handshake(
    tcp: TcpStream,
    host: &str,
    alpn: &[&str],
    versions: &[&'static rustls::SupportedProtocolVersion],
    wait: Duration,
) -> Handshake {
    let start = Instant::now();
    let sni = sni_for(host);
    let mut step = TlsStep { sni: sni.clone(), ..Default::default() };
    let mut hs = Handshake { step: TlsStep::default(), chain: Vec::new(), sent: 0, stream: None };
    let (cfg, rec) = match config(alpn, versions) {
        Ok(x) => x,
        Err(e) => {
            step.error = Some(e);
            hs.step = step;
            return hs;
        }
    };
    let name = match sni.clone() {
        Some(n) => ServerName::try_from(n).map_err(|e| e.to_string()),
        None => crate::resolve::literal(host)
            .map(|a| ServerName::IpAddress(a.into()))
            .ok_or_else(|| "not a name or address".to_string()),
    };
    let name = match name {
        Ok(n) => n,
        Err(e) => {
            step.error = Some(format!("cannot use {host:?} as a TLS server name: {e}"));
            hs.step = step;
            return hs;
        }
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let res = tokio::time::timeout(wait, connector.connect(name, tcp)).await;
    step.ms = start.elapsed().as_millis() as u64;
    if let Ok(g) = rec.chain.lock() {
        hs.chain = g.0.clone();
        hs.sent = g.1;
    }
    match res {
        Err(_) => {
            step.error = Some(format!(
                "no TLS handshake within {} ms (server silent after the TCP handshake?)",
                wait.as_millis()
            ))
        }
        Ok(Err(e)) => step.error = Some(describe_error(&e)),
        Ok(Ok(s)) => {
            let (_, conn) = s.get_ref();
            step.version =
                conn.protocol_version().map(|v| tracehound_proto::tls::version_name(u16::from(v)));
            step.cipher = conn.negotiated_cipher_suite().map(|c| {
                let s = c.suite();
                s.as_str().map(str::to_string).unwrap_or_else(|| format!("0x{:04x}", u16::from(s)))
            });
            step.alpn = conn.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned());
            step.ok = true;
            hs.stream = Some(s);
        }
    }
    hs.step = step;
    hs
}

/// A handshake error in words (alerts by name).
fn describe_error(e: &std::io::Error) -> String {
    if let Some(te) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return match te {
            rustls::Error::AlertReceived(a) => {
                let name = tracehound_proto::tls::alert_name(u8::from(*a));
                let hint = match a {
                    rustls::AlertDescription::ProtocolVersion => {
                        " (the server accepts neither TLS 1.2 nor 1.3: only versions older than TLS 1.2, or none)"
                    }
                    rustls::AlertDescription::HandshakeFailure => " (no cipher suite or group in common)",
                    rustls::AlertDescription::UnrecognisedName => " (the server does not know this SNI name)",
                    _ => "",
                };
                format!("the server sent alert {name}{hint}")
            }
            rustls::Error::PeerIncompatible(p) => {
                format!("no common protocol version or cipher with the server ({p:?})")
            }
            other => other.to_string(),
        };
    }
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            "connection closed by the server during the TLS handshake".into()
        }
        std::io::ErrorKind::ConnectionReset => {
            "connection reset by the server during the TLS handshake".into()
        }
        _ => e.to_string(),
    }
}

/// One raw ClientHello offering at most `version` (0x0301 TLS 1.0, 0x0302 TLS 1.1, 0x0303
/// TLS 1.2), built by the probe's TLS query ([`crate::query::tls::client_hello`] with its
/// client_version patched): what the server answered, and the certificates it sent in clear.
pub async fn legacy_probe(
    tcp: TcpStream,
    host: &str,
    version: u16,
    wait: Duration,
) -> (VersionProbe, Vec<Vec<u8>>) {
    use crate::query::tls as qtls;
    let name = tracehound_proto::tls::version_name(version);
    let mut hello =
        qtls::client_hello(sni_for(host).as_deref(), false, crate::query::random_bytes::<32>());
    // record header (5) + handshake header (4), then client_version
    if let Some(v) = hello.get_mut(9..11) {
        v.copy_from_slice(&version.to_be_bytes());
    }
    let mut tcp = tcp;
    let reply =
        crate::net::tcp_request(&mut tcp, &hello, qtls::MAX_FLIGHT, wait, qtls::complete).await;
    let probe =
        |accepted: bool, detail: String| VersionProbe { version: name.clone(), accepted, detail };
    let bytes = match reply {
        Ok(b) => b,
        Err(e) => return (probe(false, e.to_string()), Vec::new()),
    };
    match qtls::parse_flight(&bytes) {
        Err(e) => (probe(false, format!("unreadable answer: {e}")), Vec::new()),
        Ok(f) => match (f.version, f.alert) {
            (Some(v), _) if v == version => {
                let cipher = f.cipher.map(qtls::cipher_name).unwrap_or_default();
                (probe(true, cipher), f.certs)
            }
            (Some(v), _) => (
                probe(
                    false,
                    format!("the server chose {} instead", tracehound_proto::tls::version_name(v)),
                ),
                f.certs,
            ),
            (None, Some((_, d))) => (
                probe(false, format!("alert {}", tracehound_proto::tls::alert_name(d))),
                Vec::new(),
            ),
            (None, None) => (probe(false, "no ServerHello".into()), Vec::new()),
        },
    }
}

/// `--tls-versions`: TLS 1.0 and 1.1 with raw hellos ([`legacy_probe`]), TLS 1.2 and 1.3
/// with rustls, each on a fresh connection from `connect`.
pub async fn versions<F, Fut>(host: &str, wait: Duration, connect: F) -> Vec<VersionProbe>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<TcpStream, String>>,
{
    let mut out = Vec::new();
    for v in [0x0301u16, 0x0302] {
        match connect().await {
            Err(e) => out.push(VersionProbe {
                version: tracehound_proto::tls::version_name(v),
                accepted: false,
                detail: e,
            }),
            Ok(tcp) => out.push(legacy_probe(tcp, host, v, wait).await.0),
        }
    }
    for (name, v) in [("TLS 1.2", &rustls::version::TLS12), ("TLS 1.3", &rustls::version::TLS13)] {
        let probe = match connect().await {
            Err(e) => VersionProbe { version: name.into(), accepted: false, detail: e },
            Ok(tcp) => {
                let hs = handshake(tcp, host, &[], &[v], wait).await;
                match hs.step.error {
                    None => VersionProbe {
                        version: name.into(),
                        accepted: true,
                        detail: hs.step.cipher.unwrap_or_default(),
                    },
                    Some(e) => VersionProbe { version: name.into(), accepted: false, detail: e },
                }
            }
        };
        out.push(probe);
    }
    out
}
