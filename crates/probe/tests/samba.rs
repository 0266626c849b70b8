//! portqry against a real Samba AD DC (lab/samba-dc.sh) in a network namespace (root).
//!
//! Reference for the endpoint dump: the entries tshark decodes from a capture of impacket's
//! rpcdump querying the same server (impacket 0.10 prints nothing for Samba because it
//! treats Samba's end-of-list status as an error, but the entries are on the wire).

// Tests may unwrap, expect, panic and index: a failing test is the point (also in
// common/, whose helpers are not #[test] functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{json_lines, record, require_root_tools, Lab};
use serde_json::Value;

const SAMBA_DC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../lab/samba-dc.sh");
const REALM: &str = "LAB.TRACEHOUND.TEST";

/// Stops the DC on drop (declared after the Lab, so it is dropped first).
struct Samba(String);
impl Drop for Samba {
    fn drop(&mut self) {
        let _ = std::process::Command::new(SAMBA_DC).args(["stop", &self.0]).output();
    }
}

fn start_dc(lab: &Lab) -> Samba {
    let dir = lab.dir.join("dc").display().to_string();
    let o = std::process::Command::new(SAMBA_DC)
        .args(["start", &lab.server_ns, &lab.server_ip, &dir, "dc"])
        .output()
        .expect("run samba-dc.sh");
    assert!(o.status.success(), "samba-dc.sh start failed: {}", String::from_utf8_lossy(&o.stderr));
    Samba(dir)
}

fn leaves<'a>(v: &'a Value, acc: &mut Vec<(&'a str, &'a str)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match x {
                    Value::String(s) => acc.push((k.as_str(), s.as_str())),
                    other => leaves(other, acc),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| leaves(x, acc)),
        _ => {}
    }
}

fn entries<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k.starts_with("Entry: ") {
                    match x {
                        Value::Array(a) => out.extend(a.iter()),
                        other => out.push(other),
                    }
                } else {
                    entries(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| entries(x, out)),
        _ => {}
    }
}

/// (interface uuid, annotation, binding) multiset from tshark's epm decode.
fn tshark_endpoints(pcap: &str) -> BTreeMap<(String, String, String), usize> {
    let o = std::process::Command::new("tshark")
        .args(["-r", pcap, "-Y", "epm.num_ents > 0", "-T", "json", "--no-duplicate-keys"])
        .output()
        .expect("tshark runs");
    assert!(o.status.success(), "tshark: {}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).expect("tshark JSON");
    let mut ents = Vec::new();
    entries(&v, &mut ents);
    let mut m = BTreeMap::new();
    for e in ents {
        let mut l = Vec::new();
        leaves(e, &mut l);
        let get = |k: &str| l.iter().find(|(a, _)| *a == k).map(|(_, b)| b.to_string());
        let uuid = get("epm.uuid").expect("interface uuid");
        let ann = get("epm.annotation").unwrap_or_default();
        let ip = get("epm.proto.ip").unwrap_or_default();
        let binding = if let Some(p) = get("epm.proto.tcp_port") {
            format!("ncacn_ip_tcp:{ip}[{p}]")
        } else if let Some(p) = get("epm.proto.http_port") {
            format!("ncacn_http:{ip}[{p}]")
        } else if let Some(p) = get("epm.proto.named_pipe") {
            if l.iter().any(|(k, v)| *k == "epm.tower.proto_id" && *v == "0x10") {
                format!("ncalrpc:[{p}]")
            } else {
                let nb = get("epm.proto.netbios_name").unwrap_or_default();
                let host = if nb.is_empty() { String::new() } else { format!("\\\\{nb}") };
                format!("ncacn_np:{host}[{p}]")
            }
        } else {
            panic!("tower tshark could not place: {l:?}");
        };
        *m.entry((uuid, ann, binding)).or_insert(0) += 1;
    }
    m
}

#[test]
fn samba_dc_endpoints_follow_up_and_domain_queries() {
    require_root_tools(&["ip", "iptables", "tcpdump", "tshark", "samba", "ldapsearch", "dig"]);
    let mut lab = Lab::new(10);
    let _dc = start_dc(&lab);
    let ip = lab.server_ip.clone();

    // Reference: capture impacket's rpcdump.
    let pcap = lab.dir.join("rpcdump.pcap").display().to_string();
    let tcpdump = lab.spawn_client(
        "tcpdump",
        &["-i", "any", "-U", "--immediate-mode", "-s", "0", "-w", &pcap, "tcp", "port", "135"],
    );
    std::thread::sleep(Duration::from_millis(800));
    lab.client_output(&format!(
        "timeout 60 /usr/bin/python3 /usr/share/doc/python3-impacket/examples/rpcdump.py {ip} >/dev/null 2>&1 || true"
    ));
    std::thread::sleep(Duration::from_millis(300));
    lab.interrupt(tcpdump);
    let reference = tshark_endpoints(&pcap);
    assert!(
        reference.values().sum::<usize>() >= 40,
        "rpcdump capture holds too few entries: {reference:?}"
    );

    // Our dump with follow-up.
    let (code, out, _) =
        lab.portqry(&["-n", &ip, "-nr", "-e", "135", "--timeout", "1000", "--json"]);
    assert_eq!(code, Ok(0), "{out}");
    let recs = json_lines(&out);
    let epm = record(&recs, "tcp", 135);
    let eps = epm["endpoints"].as_array().expect("endpoints");
    let mut ours: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for e in eps {
        *ours
            .entry((
                e["uuid"].as_str().unwrap().into(),
                e["annotation"].as_str().unwrap().into(),
                e["binding"].as_str().unwrap().into(),
            ))
            .or_insert(0) += 1;
    }
    assert_eq!(ours, reference, "endpoint dump differs from tshark's decode of rpcdump's capture");
    assert_eq!(epm["result"]["total"], eps.len());
    // Every TCP endpoint: LISTENING and bind accepted (Samba serves them all).
    let tcp: Vec<&Value> = eps
        .iter()
        .filter(|e| e["binding"].as_str().unwrap().starts_with("ncacn_ip_tcp:"))
        .collect();
    assert!(tcp.len() >= 4);
    for e in &tcp {
        assert_eq!(e["follow_up"]["state"], "LISTENING", "{e}");
        assert_eq!(e["follow_up"]["bind"]["result"], "accepted", "{e}");
    }
    assert!(epm["result"]["verdict"].as_str().unwrap().starts_with("All "), "{epm}");

    // ept_map for SAMR: the towers it returns name ports the dump lists for SAMR over TCP.
    let samr = "12345778-1234-abcd-ef00-0123456789ac";
    let dump_samr_tcp: Vec<String> = eps
        .iter()
        .filter(|e| {
            e["uuid"] == samr && e["binding"].as_str().unwrap().starts_with("ncacn_ip_tcp:")
        })
        .map(|e| e["binding"].as_str().unwrap().rsplit('[').next().unwrap().to_string())
        .collect();
    assert!(!dump_samr_tcp.is_empty(), "no SAMR over TCP in the dump");
    let (code, out, _) =
        lab.portqry(&["-n", &ip, "-nr", "--map", &format!("{samr}:1.0"), "--json"]);
    assert_eq!(code, Ok(0), "{out}");
    let recs = json_lines(&out);
    let m = record(&recs, "tcp", 135);
    assert_eq!(m["result"]["operation"], "ept_map", "{m}");
    let towers = m["endpoints"].as_array().unwrap();
    assert!(!towers.is_empty(), "{m}");
    for t in towers {
        let b = t["binding"].as_str().unwrap();
        assert!(b.starts_with("ncacn_ip_tcp:"), "{b}");
        assert!(
            dump_samr_tcp.contains(&b.rsplit('[').next().unwrap().to_string()),
            "{b} vs {dump_samr_tcp:?}"
        );
        assert_eq!(t["follow_up"]["bind"]["result"], "accepted", "{t}");
    }

    // Text layout.
    let (_, text, _) = lab.portqry(&["-n", &ip, "-nr", "-e", "135", "--timeout", "1000"]);
    assert!(text.contains("TCP port 135 (epmap service): LISTENING"), "{text}");
    assert!(text.contains(&format!("Total endpoints found: {}", eps.len())), "{text}");
    assert!(text.contains("ncacn_ip_tcp:0.0.0.0["), "{text}");

    // Dynamic ports dropped -> FILTERED; rejected with a reset -> NOT LISTENING.
    lab.server("iptables -A INPUT -p tcp --dport 49152:65535 -j DROP");
    let (code, out, elapsed) =
        lab.portqry(&["-n", &ip, "-nr", "-e", "135", "--timeout", "300", "--json"]);
    // Port 135 answers, but endpoints it handed out are not reachable: exit code 1.
    assert_eq!(code, Ok(1), "{out}");
    let recs = json_lines(&out);
    let epm = record(&recs, "tcp", 135);
    let mut dynamic = 0;
    for e in epm["endpoints"].as_array().unwrap() {
        let b = e["binding"].as_str().unwrap();
        let port: u16 = b.rsplit('[').next().unwrap().trim_end_matches(']').parse().unwrap_or(0);
        if b.starts_with("ncacn_ip_tcp:") && port >= 49152 {
            dynamic += 1;
            assert_eq!(e["follow_up"]["state"], "FILTERED", "{e}");
        }
    }
    assert!(dynamic > 0);
    let verdict = epm["result"]["verdict"].as_str().unwrap();
    assert!(
        verdict.contains("TCP endpoints unreachable") && verdict.contains("FILTERED"),
        "{verdict}"
    );
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");
    lab.server("iptables -F INPUT && iptables -A INPUT -p tcp --dport 49152:65535 -j REJECT --reject-with tcp-reset");
    let (_, out, _) = lab.portqry(&["-n", &ip, "-nr", "-e", "135", "--timeout", "300", "--json"]);
    let recs = json_lines(&out);
    for e in record(&recs, "tcp", 135)["endpoints"].as_array().unwrap() {
        let b = e["binding"].as_str().unwrap();
        if b.starts_with("ncacn_ip_tcp:") && !b.ends_with("[135]") {
            assert_eq!(e["follow_up"]["state"], "NOT LISTENING", "{e}");
        }
    }
    // A firewall's ICMP reject is FILTERED with the ICMP message named, like a capture of the
    // same (`rpc --endpoints`: icmp_prohibited, state FILTERED), never NOT LISTENING.
    lab.server("iptables -F INPUT && iptables -A INPUT -p tcp --dport 49152:65535 -j REJECT --reject-with icmp-admin-prohibited");
    let (code, out, _) =
        lab.portqry(&["-n", &ip, "-nr", "-e", "135", "--timeout", "300", "--json"]);
    assert_eq!(code, Ok(1), "{out}");
    let recs = json_lines(&out);
    for e in record(&recs, "tcp", 135)["endpoints"].as_array().unwrap() {
        let b = e["binding"].as_str().unwrap();
        if b.starts_with("ncacn_ip_tcp:") && !b.ends_with("[135]") {
            assert_eq!(e["follow_up"]["state"], "FILTERED", "{e}");
            let why = e["follow_up"]["reason"].as_str().unwrap();
            assert!(why.contains("administratively prohibited"), "{e}");
        }
    }
    lab.server("iptables -F INPUT");

    // LDAP (TCP and CLDAP), GC, DNS, Kerberos, SMB against the same DC.
    let (code, out, _) = lab.portqry(&[
        "-n",
        &ip,
        "-nr",
        "-p",
        "both",
        "-o",
        "389,53,88",
        "--timeout",
        "1000",
        "--json",
    ]);
    assert_eq!(code, Ok(0), "{out}");
    let recs = json_lines(&out);
    let ldapsearch = lab.client_output(&format!(
        "ldapsearch -x -LLL -H ldap://{ip} -s base -b '' defaultNamingContext dnsHostName"
    ));
    for proto in ["tcp", "udp"] {
        let r = &record(&recs, proto, 389)["result"]["attributes"];
        for attr in ["defaultNamingContext", "dnsHostName"] {
            let v = r[attr][0].as_str().unwrap();
            assert!(
                ldapsearch.contains(&format!("{attr}: {v}")),
                "{proto} {attr}={v} vs ldapsearch:\n{ldapsearch}"
            );
        }
        assert!(r["supportedLDAPVersion"].as_array().unwrap().iter().any(|v| v == "3"));
        assert!(r["domainFunctionality"][0].as_str().is_some());
    }
    let dig =
        lab.client_output(&format!("dig +short +time=2 +tries=1 @{ip} SOA lab.tracehound.test"));
    for proto in ["tcp", "udp"] {
        let d = &record(&recs, proto, 53)["result"];
        assert_eq!(d["rcode_name"], "NOERROR", "{d}");
        assert_eq!(d["answer_count"], 1, "{d}");
        let first = dig.split_whitespace().next().unwrap_or("").trim_end_matches('.');
        assert!(d["answers"][0]["data"].as_str().unwrap().starts_with(first), "{d} vs dig {dig}");
    }
    for proto in ["tcp", "udp"] {
        let k = &record(&recs, proto, 88)["result"];
        assert_eq!(k["message"], "KRB-ERROR", "{k}");
        assert_eq!(k["error_name"], "KDC_ERR_C_PRINCIPAL_UNKNOWN", "{k}");
        assert_eq!(k["realm"], REALM, "{k}");
    }
    // Without LDAP in the list (and an address, not a name) the realm is learnt by CLDAP.
    let (_, out, _) = lab.portqry(&["-n", &ip, "-nr", "-p", "udp", "-o", "88,53", "--json"]);
    let recs = json_lines(&out);
    assert_eq!(record(&recs, "udp", 88)["result"]["realm"], REALM, "{out}");
    assert_eq!(record(&recs, "udp", 53)["result"]["rcode_name"], "NOERROR", "{out}");
    let (_, out, _) = lab.portqry(&["-n", &ip, "-nr", "-o", "445,3268", "--json"]);
    let recs = json_lines(&out);
    let smb = &record(&recs, "tcp", 445)["result"];
    assert_eq!(smb["dialect"], "3.1.1", "{smb}");
    assert_eq!(smb["signing_required"], true, "{smb}");
    let gc = &record(&recs, "tcp", 3268)["result"]["attributes"];
    assert_eq!(gc["isGlobalCatalogReady"][0], "TRUE");
}
