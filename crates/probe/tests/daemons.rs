//! Protocol queries against real daemons in a network namespace (root): net-snmp's
//! snmpd (SNMP sysDescr with a community), coturn (STUN binding + TURN allocate -> 401
//! with the realm), Samba's nmbd (NetBIOS node status, cross-checked with nmblookup -A),
//! xrdp (RDP negotiation and the TLS certificate behind it).
//! CI needs the Debian packages snmpd, coturn and xrdp besides samba.

// Tests may unwrap, expect, panic and index: a failing test is the point (also in
// common/, whose helpers are not #[test] functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{json_lines, record, require_root_tools, Lab};

#[test]
fn snmp_sysdescr_with_community() {
    require_root_tools(&["ip", "snmpd"]);
    let mut lab = Lab::new(20);
    let ip = lab.server_ip.clone();
    let d = lab.dir.display().to_string();
    std::fs::write(
        lab.dir.join("snmpd.conf"),
        format!("rocommunity s3cret 10.77.{}.0/24\nsysDescr tracehound-snmp-test\n", lab.net),
    )
    .unwrap();
    lab.spawn_server(
        "snmpd",
        &[
            "-f",
            "-Lf",
            &format!("{d}/snmpd.log"),
            "-C",
            "-c",
            &format!("{d}/snmpd.conf"),
            "-p",
            &format!("{d}/snmpd.pid"),
            &format!("udp:{ip}:161"),
        ],
    );
    lab.wait_listen("udp", 161);
    let (code, out, _) =
        lab.portqry(&["-n", &ip, "-nr", "-p", "udp", "-e", "161", "-cn", "!s3cret!", "--json"]);
    assert_eq!(code, Ok(0), "{out}");
    let recs = json_lines(&out);
    let r = record(&recs, "udp", 161);
    assert_eq!(r["state"], "LISTENING");
    assert_eq!(r["result"]["version"], "v2c");
    assert_eq!(
        r["result"]["varbinds"][0],
        serde_json::json!(["1.3.6.1.2.1.1.1.0", "tracehound-snmp-test"])
    );
    // The community is a secret: never in the output.
    assert!(!out.contains("s3cret"));
    // Wrong community: the agent stays silent -> LISTENING or FILTERED, exit code 2.
    let (code, out, _) =
        lab.portqry(&["-n", &ip, "-nr", "-p", "udp", "-e", "161", "--timeout", "300", "--json"]);
    assert_eq!(code, Ok(2), "{out}");
    assert_eq!(record(&json_lines(&out), "udp", 161)["state"], "LISTENING or FILTERED");
}

#[test]
fn stun_binding_and_turn_realm_from_coturn() {
    require_root_tools(&["ip", "turnserver"]);
    let mut lab = Lab::new(21);
    let ip = lab.server_ip.clone();
    let d = lab.dir.display().to_string();
    lab.spawn_server(
        "turnserver",
        &[
            "-n",
            &format!("--listening-ip={ip}"),
            "--realm=lab.tracehound.test",
            "--lt-cred-mech",
            "--user=probe:unused",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            &format!("--log-file={d}/turn.log"),
            &format!("--pidfile={d}/turn.pid"),
        ],
    );
    lab.wait_listen("udp", 3478);
    lab.wait_listen("tcp", 3478);
    let (code, out, _) = lab.portqry(&["-n", &ip, "-nr", "-p", "both", "-e", "3478", "--json"]);
    assert_eq!(code, Ok(0), "{out}");
    let recs = json_lines(&out);
    let u = &record(&recs, "udp", 3478)["result"];
    assert_eq!(u["class"], "success response", "{u}");
    assert!(
        u["mapped_address"].as_str().unwrap().starts_with(&format!("{}:", lab.client_ip)),
        "{u}"
    );
    assert_eq!(u["turn_allocate"]["error"][0], 401, "{u}");
    assert_eq!(u["turn_allocate"]["realm"], "lab.tracehound.test", "{u}");
    let t = &record(&recs, "tcp", 3478)["result"];
    assert_eq!(t["class"], "success response", "{t}");
}

#[test]
fn netbios_node_status_matches_nmblookup() {
    require_root_tools(&["ip", "nmbd", "nmblookup"]);
    let mut lab = Lab::new(22);
    let ip = lab.server_ip.clone();
    let d = lab.dir.display().to_string();
    for sub in ["lock", "state", "cache", "private", "run", "log"] {
        std::fs::create_dir_all(lab.dir.join("nb").join(sub)).unwrap();
    }
    std::fs::write(
        lab.dir.join("nb/smb.conf"),
        format!(
            "[global]\n netbios name = NBTEST\n workgroup = LABGROUP\n interfaces = {ip}/24\n bind interfaces only = yes\n \
             lock directory = {d}/nb/lock\n state directory = {d}/nb/state\n cache directory = {d}/nb/cache\n \
             private dir = {d}/nb/private\n pid directory = {d}/nb/run\n ncalrpc dir = {d}/nb/run/ncalrpc\n \
             log file = {d}/nb/log/log.%m\n local master = no\n"
        ),
    )
    .unwrap();
    lab.spawn_server("nmbd", &["-F", "--no-process-group", "-s", &format!("{d}/nb/smb.conf")]);
    lab.wait_listen("udp", 137);
    // nmbd registers its names a moment after binding (bounded wait for the reference).
    let mut reference = String::new();
    for _ in 0..40 {
        reference = lab.client_output(&format!("nmblookup -A {ip} 2>/dev/null || true"));
        if reference.contains("LABGROUP") && reference.contains("NBTEST") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let (code, out, _) = lab.portqry(&["-n", &ip, "-nr", "-p", "udp", "-e", "137", "--json"]);
    assert_eq!(code, Ok(0), "{out}");
    let recs = json_lines(&out);
    let r = &record(&recs, "udp", 137)["result"];
    let names = r["names"].as_array().unwrap();
    // Every name nmblookup lists, with its suffix and group flag, is in ours and vice versa.
    let theirs: Vec<(String, u64, bool)> = reference
        .lines()
        .filter(|l| l.contains('<') && l.contains("ACTIVE"))
        .map(|l| {
            let name = l.split('<').next().unwrap().trim().to_string();
            let suffix =
                u64::from_str_radix(l.split('<').nth(1).unwrap().split('>').next().unwrap(), 16)
                    .unwrap();
            (name, suffix, l.contains("<GROUP>"))
        })
        .collect();
    let ours: Vec<(String, u64, bool)> = names
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_string(),
                n["suffix"].as_u64().unwrap(),
                n["group"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(!theirs.is_empty(), "nmblookup saw nothing: {reference}");
    assert_eq!(ours, theirs, "nmblookup -A:\n{reference}");
    let mac = reference
        .lines()
        .find(|l| l.contains("MAC Address"))
        .unwrap()
        .split('=')
        .nth(1)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(r["mac"].as_str().unwrap().to_ascii_uppercase(), mac);
}

#[test]
fn rdp_negotiation_and_certificate_from_xrdp() {
    require_root_tools(&["ip", "xrdp", "openssl"]);
    let mut lab = Lab::new(23);
    let ip = lab.server_ip.clone();
    lab.spawn_server("xrdp", &["--nodaemon", "--port", "3389"]);
    lab.wait_listen("tcp", 3389);
    let cert = "/etc/xrdp/cert.pem";
    let subject =
        lab.client_output(&format!("openssl x509 -in {cert} -noout -subject -nameopt RFC2253"));
    let end =
        lab.client_output(&format!("openssl x509 -in {cert} -noout -enddate -dateopt iso_8601"));
    let (code, out, _) = lab.portqry(&["-n", &ip, "-nr", "--preset", "rdp", "--json"]);
    let recs = json_lines(&out);
    let r = &record(&recs, "tcp", 3389)["result"];
    assert_eq!(r["negotiation"], "selected", "{r}");
    assert_eq!(r["protocol_name"], "TLS", "{r}");
    let leaf = &r["tls"]["chain"][0];
    assert_eq!(leaf["subject"], subject.trim().trim_start_matches("subject="), "{r}");
    assert_eq!(
        leaf["not_after"],
        format!("{} UTC", end.trim().trim_start_matches("notAfter=").trim_end_matches('Z')),
        "{r}"
    );
    assert_eq!(r["tls"]["name_matches"], false, "{r}");
    // xrdp does not serve UDP 3389: ICMP port unreachable -> exit code 1.
    assert_eq!(record(&recs, "udp", 3389)["state"], "NOT LISTENING");
    assert_eq!(code, Ok(1));
}
