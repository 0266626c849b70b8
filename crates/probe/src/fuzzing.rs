//! Entry points for the `probe_replies` fuzz target (fuzz/fuzz_targets/probe_replies.rs):
//! every reply parser of the protocol queries, fed exactly as the query feeds it (framing
//! check, parse, text rendering, JSON serialization). Not a stable API.
//!
//! Input layout: the first byte selects the parser ([`Parser::from_byte`], modulo the
//! number of parsers), the rest is the server's reply. fuzz/seed_probe_replies.sh writes
//! seeds in that layout from real replies captured in a lab.

use crate::net::Framed;
use crate::query::{dns, epm, http, kerberos, ldap, mssql, nbstat, rdp, smb, snmp, stun, tls};

/// The parsers, in selector order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parser {
    Dns,
    DnsTcp,
    Ldap,
    Kerberos,
    KerberosTcp,
    Smb,
    Nbstat,
    Snmp,
    SqlBrowser,
    Stun,
    Http,
    Tls,
    Rdp,
    EpmLookup,
    EpmMap,
    Certificate,
}

pub const PARSERS: [Parser; 16] = [
    Parser::Dns,
    Parser::DnsTcp,
    Parser::Ldap,
    Parser::Kerberos,
    Parser::KerberosTcp,
    Parser::Smb,
    Parser::Nbstat,
    Parser::Snmp,
    Parser::SqlBrowser,
    Parser::Stun,
    Parser::Http,
    Parser::Tls,
    Parser::Rdp,
    Parser::EpmLookup,
    Parser::EpmMap,
    Parser::Certificate,
];

impl Parser {
    pub fn from_byte(b: u8) -> Parser {
        let [first, ..] = PARSERS;
        PARSERS.get(usize::from(b) % PARSERS.len()).copied().unwrap_or(first)
    }

    /// The selector byte for this parser.
    pub fn byte(self) -> u8 {
        PARSERS.iter().position(|p| *p == self).unwrap_or(0) as u8
    }
}

fn json<T: serde::Serialize>(v: &T) {
    let _ = serde_json::to_string(v);
}

/// One fuzz input: selector byte + reply.
pub fn replies(data: &[u8]) {
    let Some((&sel, b)) = data.split_first() else { return };
    reply(Parser::from_byte(sel), b);
}

/// Feeds `b` to `p`'s framing check, parser and renderers.
pub fn reply(p: Parser, b: &[u8]) {
    match p {
        Parser::Dns => {
            if let Ok(r) = dns::parse(b) {
                let _ = r.lines("lab.tracehound.test", dns::TYPE_SOA);
                json(&r);
            }
        }
        Parser::DnsTcp => {
            if let Some(n) = dns::tcp_complete(b) {
                if let Some(m) = b.get(2..n) {
                    if let Ok(r) = dns::parse(m) {
                        let _ = r.lines(".", dns::TYPE_A);
                    }
                }
            }
        }
        Parser::Ldap => {
            let _ = ldap::complete(b);
            if let Ok(r) = ldap::parse(b, 1) {
                let _ = r.lines();
                let _ = r.realm();
                json(&r);
            }
        }
        Parser::Kerberos | Parser::KerberosTcp => kerberos_reply(p == Parser::KerberosTcp, b),
        Parser::Smb => {
            let _ = smb::complete(b);
            if let Ok(r) = smb::parse(b) {
                let _ = r.lines();
                json(&r);
            }
        }
        Parser::Nbstat => {
            let txid = u16::from_be_bytes([
                b.first().copied().unwrap_or(0),
                b.get(1).copied().unwrap_or(0),
            ]);
            if let Ok(r) = nbstat::parse(b, txid) {
                let _ = r.lines();
                json(&r);
            }
        }
        Parser::Snmp => {
            if let Ok(r) = snmp::parse(b) {
                let _ = r.lines("public");
                json(&r);
            }
        }
        Parser::SqlBrowser => {
            if let Ok(r) = mssql::parse(b) {
                let _ = mssql::lines(&r);
                json(&r);
            }
        }
        Parser::Stun => {
            let _ = stun::complete(b);
            let mut txid = [0u8; 12];
            if let Some(t) = b.get(8..20) {
                txid.copy_from_slice(t);
            }
            if let Ok(r) = stun::parse(b, txid) {
                let _ = r.lines("binding");
                json(&r);
            }
        }
        Parser::Http => {
            let _ = http::complete(b);
            if let Ok(r) = http::parse(b) {
                let _ = r.lines();
                json(&r);
            }
        }
        Parser::Tls => tls_flight(b),
        Parser::Certificate => {
            if let Ok(c) = tls::decode_cert(b) {
                let _ = tls::name_matches(&c, "dc1.lab.tracehound.test");
                json(&c);
            }
        }
        Parser::Rdp => {
            let _ = rdp::complete(b);
            if let Ok(r) = rdp::parse(b) {
                let _ = r.lines();
                json(&r);
            }
        }
        Parser::EpmLookup | Parser::EpmMap => epm_stream(p == Parser::EpmMap, b),
    }
}

/// A KDC's reply (over TCP: after its 4-byte length), as the Kerberos query reads it.
fn kerberos_reply(tcp: bool, b: &[u8]) {
    let m = if tcp {
        match kerberos::tcp_complete(b).and_then(|n| b.get(4..n)) {
            Some(m) => m,
            None => return,
        }
    } else {
        b
    };
    if let Ok(r) = kerberos::parse(m) {
        let _ = r.lines("LAB.TRACEHOUND.TEST", crate::query::KRB_USER);
        json(&r);
    }
}

/// A server's TLS flight, rendered as the TLS query's report.
fn tls_flight(b: &[u8]) {
    let _ = tls::complete(b);
    if let Ok(f) = tls::parse_flight(b) {
        let chain: Vec<tls::Cert> =
            f.certs.iter().filter_map(|d| tls::decode_cert(d).ok()).collect();
        let rep = tls::Report {
            version: f.version.map(tls::version_name),
            cipher: f.cipher.map(tls::cipher_name),
            chain_length: f.certs.len(),
            name_matches: chain.first().map(|l| tls::name_matches(l, "dc1.lab.tracehound.test")),
            chain,
            name_asked: "dc1.lab.tracehound.test".into(),
            notes: f.alert.map(|(_, d)| tls::alert_name(d)).into_iter().collect(),
        };
        let _ = rep.lines();
        json(&rep);
    }
}

/// The endpoint mapper's side of a connection as the query reads it: PDUs framed by
/// `frag_length` (at most `MAX_PDU` bytes each), the first one the bind reply, then the
/// response fragments of one call (at most `MAX_FRAGS`, `MAX_STUB` bytes of stub),
/// decoded as ept_lookup (opnum 2) or ept_map (opnum 3) and turned into display rows.
pub fn epm_stream(map: bool, b: &[u8]) {
    let mut f = Framed::new();
    f.push(b);
    let mut pdus = Vec::new();
    while let Ok(Some(m)) = f.take(epm::MAX_PDU, epm::pdu_complete) {
        pdus.push(m);
        if pdus.len() > epm::MAX_FRAGS {
            break;
        }
    }
    let mut it = pdus.iter();
    let Some(first) = it.next() else { return };
    let Ok((bind, _)) = tracehound_rpc_proto::pdu::Repr::parse(first) else { return };
    let outcome = epm::bind_outcome(bind.body);
    let _ = outcome.short();
    json(&outcome);
    let mut stub = Vec::new();
    for m in it {
        let Ok((r, _)) = tracehound_rpc_proto::pdu::Repr::parse(m) else { return };
        match epm::add_fragment(&mut stub, r) {
            Ok(Some(drep)) => {
                let opnum = if map { 3 } else { 2 };
                if let Ok(resp) = tracehound_rpc_proto::epm::decode_response(opnum, drep, &stub) {
                    let rows: Vec<epm::Row> = resp
                        .entries
                        .iter()
                        .take(epm::MAX_ENTRIES)
                        .filter_map(epm::entry_row)
                        .collect();
                    for t in resp.towers.iter().take(epm::MAX_ENTRIES) {
                        let _ = t.interface();
                        let _ = t.binding_string();
                    }
                    for r in &rows {
                        let _ = format!("UUID: {} {} {}", r.0, r.3, r.4);
                    }
                }
                return;
            }
            Ok(None) => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_round_trip() {
        for p in PARSERS {
            assert_eq!(Parser::from_byte(p.byte()), p);
        }
        replies(&[]);
        for b in 0..=255u8 {
            replies(&[b]);
            replies(&[b, 0x30, 0x84, 0xff, 0xff, 0xff, 0xff]);
        }
    }
}
