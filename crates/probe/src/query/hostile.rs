//! Every reply parser, fed random bytes and mutations of real servers' replies, must return
//! (Ok or Err) without panicking; and each parser reads its own protocol's real replies.
use std::collections::BTreeMap;

use super::*;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn all_parsers(b: &[u8]) {
    let _ = dns::parse(b);
    let _ = ldap::parse(b, 1);
    let _ = ldap::complete(b);
    let _ = kerberos::parse(b);
    let _ = smb::parse(b);
    let _ =
        nbstat::parse(b, u16::from_be_bytes([*b.first().unwrap_or(&0), *b.get(1).unwrap_or(&0)]));
    let _ = snmp::parse(b);
    let _ = mssql::parse(b);
    let _ = stun::parse(b, [0; 12]);
    let _ = http::parse(b);
    let _ = tls::parse_flight(b);
    let _ = tls::decode_cert(b);
    let _ = epm::pdu_complete(b);
}

/// The lab captures with real servers' replies (see lab/README.md: Samba AD DC for Kerberos,
/// LDAP, SMB and the endpoint mapper; python http.server; openssl s_server; xrdp; the DNS
/// server of the dns-failure scenario), with the server port to take replies from.
const REPLY_SOURCES: [(&str, u16); 8] = [
    ("auth-kerberos.pcap", 88),
    ("auth-ldap.pcap", 389),
    ("auth-smb.pcap", 445),
    ("auth-http.pcap", 8080),
    ("auth-rdp.pcap", 3389),
    ("net-tls-cert-mismatch.pcap", 4433),
    ("rpc-epm-lookup.pcap", 135),
    ("net-dns-failure.pcap", 53),
];

/// Real replies: per server port, each UDP datagram the server sent, and per TCP connection
/// the server's bytes in order (lab captures have no loss or reordering).
fn real_replies() -> BTreeMap<u16, Vec<Vec<u8>>> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab/");
    let mut out: BTreeMap<u16, Vec<Vec<u8>>> = BTreeMap::new();
    for (file, port) in REPLY_SOURCES {
        let path = std::path::PathBuf::from(root).join(file);
        let mut rd = tracehound_capture::CaptureReader::open(&path).unwrap();
        let mut tcp: BTreeMap<u16, Vec<u8>> = BTreeMap::new();
        let mut udp = Vec::new();
        while let Some(f) = rd.next_frame().unwrap() {
            let Ok(d) = tracehound_wire::decode_frame(f.link.0, f.data, f.orig_len) else {
                continue;
            };
            match d.transport {
                tracehound_wire::Transport::Tcp(t) if t.sport == port && !t.payload.is_empty() => {
                    tcp.entry(t.dport).or_default().extend_from_slice(t.payload)
                }
                tracehound_wire::Transport::Udp(u) if u.sport == port => {
                    udp.push(u.payload.to_vec())
                }
                _ => {}
            }
        }
        let v = out.entry(port).or_default();
        v.extend(tcp.into_values());
        v.extend(udp);
        assert!(!v.is_empty(), "{file}: no replies from port {port}");
    }
    out
}

#[test]
fn each_parser_reads_real_replies() {
    let r = real_replies();
    let ok = |port: u16, what: &str, f: &dyn Fn(&[u8]) -> bool| {
        let n = r[&port].iter().filter(|b| f(b)).count();
        assert!(n > 0, "{what}: none of {} real replies parsed", r[&port].len());
    };
    ok(53, "dns", &|b| dns::parse(b).is_ok());
    ok(88, "kerberos", &|b| kerberos::parse(b).is_ok());
    ok(445, "smb", &|b| smb::parse(b).is_ok());
    ok(8080, "http", &|b| http::parse(b).is_ok());
    ok(4433, "tls", &|b| tls::parse_flight(b).is_ok_and(|f| !f.certs.is_empty()));
    ok(3389, "rdp", &|b| rdp::parse(b).is_ok());
    ok(135, "epm", &|b| epm::pdu_complete(b).is_some());
    ok(389, "ldap", &|b| ldap::complete(b).is_some());
}

#[test]
fn random_and_mutated_inputs_never_panic() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let seeds: Vec<Vec<u8>> = real_replies().into_values().flatten().collect();
    for _ in 0..3000 {
        let n = (rng.next() % 300) as usize;
        all_parsers(&rng.bytes(n));
    }
    for seed in &seeds {
        all_parsers(seed);
        for _ in 0..100 {
            let mut m = seed.clone();
            match rng.next() % 3 {
                // A few bytes changed.
                0 => {
                    for _ in 0..(1 + rng.next() % 4) {
                        if m.is_empty() {
                            break;
                        }
                        let i = (rng.next() as usize) % m.len();
                        m[i] = rng.next() as u8;
                    }
                }
                // Cut short.
                1 => m.truncate((rng.next() as usize) % (m.len() + 1)),
                // A length-like field made huge.
                _ => {
                    if m.len() > 4 {
                        let i = (rng.next() as usize) % (m.len() - 1);
                        m[i] = 0xff;
                        m[i + 1] = 0xff;
                    }
                }
            }
            all_parsers(&m);
        }
    }
}
