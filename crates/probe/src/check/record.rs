//! The result of checking one target at one address: the JSON record of `check --json`
//! (one object per target and address) and the verdict rules.

use std::net::IpAddr;

use serde::Serialize;

/// DNS step.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DnsStep {
    pub ok: bool,
    pub addresses: Vec<String>,
    /// The CNAME chain, first alias first (`name -> target`).
    pub cname: Vec<String>,
    /// Who answered: `udp://ADDR:53`, `system resolver`, `--resolve`, `literal`.
    pub server: String,
    /// TTL of each address record, parallel to `addresses` (absent for the system resolver).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ttls: Vec<u32>,
    pub error: Option<String>,
    pub ms: u64,
}

/// TCP step (portqry's words).
#[derive(Clone, Debug, Default, Serialize)]
pub struct TcpStep {
    pub state: String,
    pub ms: u64,
    pub evidence: String,
}

/// The leaf certificate and the verdict on its chain.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CertSummary {
    pub subject: String,
    /// DNS and IP SANs (the CN when there is no SAN).
    pub names: Vec<String>,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    pub days_left: i64,
    pub expired: bool,
    pub name_match: bool,
    pub chain_valid: bool,
    pub chain_error: Option<String>,
}

/// One certificate as the server sent it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ChainCert {
    pub subject: String,
    pub issuer: String,
    pub names: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    /// `RSA 2048`, `EC 256 (prime256v1)`, ...
    pub key: String,
    pub signature: String,
    pub self_signed: bool,
}

/// TLS step.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TlsStep {
    pub ok: bool,
    pub sni: Option<String>,
    pub version: Option<String>,
    pub cipher: Option<String>,
    pub alpn: Option<String>,
    pub error: Option<String>,
    pub ms: u64,
    pub certificate: Option<CertSummary>,
    pub chain: Vec<ChainCert>,
    /// Certificates sent beyond the number kept.
    #[serde(skip_serializing_if = "is_zero")]
    pub chain_dropped: usize,
    /// `--tls-versions`: each version tried and whether the server accepted it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<VersionProbe>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Clone, Debug, Serialize)]
pub struct VersionProbe {
    pub version: String,
    pub accepted: bool,
    pub detail: String,
}

/// One redirect followed.
#[derive(Clone, Debug, Serialize)]
pub struct Redirect {
    pub status: u16,
    pub from: String,
    pub location: String,
}

/// HTTP step.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HttpStep {
    pub method: String,
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub location: Option<String>,
    pub server: Option<String>,
    /// WWW-Authenticate schemes offered (Negotiate, NTLM, Basic, Bearer, ...).
    pub auth: Vec<String>,
    pub ms_first_byte: Option<u64>,
    pub content_length: Option<u64>,
    pub redirects: Vec<Redirect>,
    pub error: Option<String>,
    /// Presets: the URLs the service's answer points to (checked next).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    /// `--autodiscover` with credentials: the user and whether they were sent (never the
    /// password), e.g. `jane@contoso.com sent (Basic over TLS): HTTP 200 OK`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
}

/// Milliseconds per step.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Timings {
    pub dns: u64,
    pub connect: Option<u64>,
    pub tls: Option<u64>,
    pub first_byte: Option<u64>,
    pub total: u64,
}

/// One target at one address.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Record {
    pub target: String,
    pub host: String,
    pub port: u16,
    pub address: Option<IpAddr>,
    pub dns: DnsStep,
    pub tcp: Option<TcpStep>,
    /// `--proxy`: the CONNECT exchange (`dns`/`tcp` then concern the proxy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    pub tls: Option<TlsStep>,
    pub http: Option<HttpStep>,
    pub timings: Timings,
    /// `ok`, or the step that failed: `target`, `dns`, `tcp`, `proxy`, `tls`, `http`.
    pub verdict: String,
    /// Short words: `expired`, `name-mismatch`, `missing-intermediate`, ...
    pub problems: Vec<String>,
    /// The failing step's reason in words (the table's last column).
    pub why: String,
}

impl Record {
    pub fn problem(&mut self, word: &str) {
        if !self.problems.iter().any(|p| p == word) {
            self.problems.push(word.to_string());
        }
    }

    pub fn fail(&mut self, step: &str, why: String) {
        self.verdict = step.to_string();
        self.why = why;
    }

    pub fn passed(&self) -> bool {
        self.verdict == "ok"
    }
}
