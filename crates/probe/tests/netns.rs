//! End-to-end portqry tests in network namespaces (root; they fail, never skip, without it).
//! Servers are real programs (Python sockets, openssl s_server, python http.server); the
//! reference for port states is nmap run in the same namespace against the same rules.

// Tests may unwrap, expect, panic and index: a failing test is the point (also in
// common/, whose helpers are not #[test] functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{json_lines, record, require_root_tools, Lab};

const SERVERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/servers/servers.py");

fn python() -> String {
    // Debian's interpreter: the namespace's PATH may not see a user's pyenv shims.
    for p in ["/usr/bin/python3", "/usr/local/bin/python3"] {
        if std::path::Path::new(p).exists() {
            return p.to_string();
        }
    }
    "python3".to_string()
}

/// nmap's grepable output -> (proto, port) -> state.
fn nmap_states(out: &str) -> BTreeMap<(String, u16), String> {
    let mut m = BTreeMap::new();
    for line in out.lines().filter(|l| l.contains("Ports:")) {
        let ports = line.split("Ports:").nth(1).unwrap_or("");
        let ports = ports.split('\t').next().unwrap_or("");
        for item in ports.split(',') {
            let f: Vec<&str> = item.trim().split('/').collect();
            if f.len() >= 3 {
                m.insert((f[2].to_string(), f[0].parse().unwrap()), f[1].to_string());
            }
        }
    }
    m
}

fn portqry_to_nmap(state: &str) -> &'static str {
    match state {
        "LISTENING" => "open",
        "NOT LISTENING" => "closed",
        "FILTERED" => "filtered",
        "LISTENING or FILTERED" => "open|filtered",
        other => panic!("unknown state {other}"),
    }
}

#[test]
fn port_states_agree_with_nmap() {
    require_root_tools(&["ip", "nft", "nmap"]);
    let mut lab = Lab::new(0);
    let ip = lab.server_ip.clone();
    // No ICMP rate limit at the server: this test is about classification.
    lab.server("sysctl -qw net.ipv4.icmp_ratelimit=0");
    lab.spawn_server(&python(), &[SERVERS, "tcp-listen", &ip, "8001"]);
    lab.spawn_server(&python(), &[SERVERS, "udp-echo", &ip, "8002"]);
    lab.wait_listen("tcp", 8001);
    lab.wait_listen("udp", 8002);
    lab.server(
        "nft add table inet pq && nft add chain inet pq in \"{ type filter hook input priority 0; }\" && \
         nft add rule inet pq in tcp dport 8003 drop && \
         nft add rule inet pq in tcp dport 8004 reject with icmp type admin-prohibited && \
         nft add rule inet pq in udp dport 8005 drop && \
         nft add rule inet pq in udp dport 8008 reject with icmp type admin-prohibited",
    );
    let (code, out, elapsed) = lab.portqry(&[
        "-n",
        &ip,
        "-nr",
        "-p",
        "both",
        "-r",
        "8001:8008",
        "--timeout",
        "500",
        "--json",
    ]);
    let recs = json_lines(&out);
    assert_eq!(recs.len(), 16, "{out}");
    // Exit code: some ports are NOT LISTENING / FILTERED -> 1.
    assert_eq!(code, Ok(1), "{out}");

    let nmap =
        lab.client_output(&format!("nmap -sT -sU -p 8001-8008 -n -Pn --max-retries 1 -oG - {ip}"));
    let reference = nmap_states(&nmap);
    assert_eq!(reference.len(), 16, "nmap output: {nmap}");
    for r in &recs {
        let proto = r["proto"].as_str().unwrap().to_string();
        let port = r["port"].as_u64().unwrap() as u16;
        let ours = portqry_to_nmap(r["state"].as_str().unwrap());
        assert_eq!(
            reference[&(proto.clone(), port)],
            ours,
            "{proto} {port}: portqry {} ({}), nmap {}",
            r["state"],
            r["reason"],
            reference[&(proto.clone(), port)]
        );
    }
    // The reasons name the ICMP message and who sent it.
    assert!(record(&recs, "tcp", 8004)["reason"]
        .as_str()
        .unwrap()
        .contains(&format!("administratively prohibited from {ip}")));
    assert!(record(&recs, "udp", 8003)["reason"].as_str().unwrap().contains("port unreachable"));
    assert_eq!(record(&recs, "udp", 8005)["state"], "LISTENING or FILTERED");
    assert_eq!(record(&recs, "tcp", 8003)["state"], "FILTERED");
    assert!(record(&recs, "tcp", 8003)["reason"]
        .as_str()
        .unwrap()
        .contains("no answer to 2 connection attempts"));
    // Documented bound: N/rate + ceil(N/C) * tries * timeout = 16/20000 + 1*2*0.5 s.
    assert!(elapsed < Duration::from_millis(1004 + 500), "took {elapsed:?}");

    // A TCP port rejected with ICMP port unreachable (iptables' default REJECT): connect()
    // sees ECONNREFUSED just like a reset, so `nmap -sT` says closed; the ICMP message on
    // the error queue shows it is a firewall, so we say FILTERED - as `nmap -sS` does.
    lab.server("nft add rule inet pq in tcp dport 8009 reject with icmp type port-unreachable");
    let (_, out, _) = lab.portqry(&["-n", &ip, "-nr", "-e", "8009", "--json"]);
    let r = record(&json_lines(&out), "tcp", 8009).clone();
    assert_eq!(r["state"], "FILTERED", "{r}");
    assert!(
        r["reason"].as_str().unwrap().contains(&format!("ICMP port unreachable from {ip}")),
        "{r}"
    );
    let syn = nmap_states(
        &lab.client_output(&format!("nmap -sS -p 8009 -n -Pn --max-retries 1 -oG - {ip}")),
    );
    assert_eq!(syn[&("tcp".to_string(), 8009)], "filtered");

    // Text layout and -q exit code for a single listening port.
    let (code, out, _) = lab.portqry(&["-n", &ip, "-nr", "-e", "8001"]);
    assert_eq!(code, Ok(0));
    assert!(out.contains("TCP port 8001 (unknown service): LISTENING"), "{out}");
    let (code, out, _) = lab.portqry(&["-n", &ip, "-nr", "-e", "8001", "-q"]);
    assert_eq!((code, out.as_str()), (Ok(0), ""));
    let (code, _, _) =
        lab.portqry(&["-n", &ip, "-nr", "-e", "8005", "-p", "udp", "-q", "--timeout", "200"]);
    assert_eq!(code, Ok(2));
    let (code, _, _) = lab.portqry(&["-n", &ip, "-nr", "-o", "8001,8006", "-q"]);
    assert_eq!(code, Ok(1));
}

#[test]
fn adaptive_waits_learn_from_answers_and_stay_bounded() {
    require_root_tools(&["ip", "nft"]);
    let mut lab = Lab::new(7);
    let ip = lab.server_ip.clone();
    lab.spawn_server(&python(), &[SERVERS, "tcp-listen", &ip, "8101"]);
    lab.wait_listen("tcp", 8101);
    lab.server(
        "nft add table inet pq && nft add chain inet pq in \"{ type filter hook input priority 0; }\" && \
         nft add rule inet pq in tcp dport 8103 drop",
    );
    // One at a time: the handshake on 8101 and the reset from 8102 are RTT samples (tens
    // of microseconds on a veth), so the silent 8103 waits the 100 ms floor, then 200 ms.
    let (code, out, elapsed) =
        lab.portqry(&["-n", &ip, "-nr", "-o", "8101,8102,8103", "--concurrency", "1", "--json"]);
    assert_eq!(code, Ok(1), "{out}");
    let recs = json_lines(&out);
    assert_eq!(record(&recs, "tcp", 8101)["state"], "LISTENING");
    assert_eq!(record(&recs, "tcp", 8102)["state"], "NOT LISTENING");
    let r = record(&recs, "tcp", 8103);
    assert_eq!(r["state"], "FILTERED");
    assert!(
        r["reason"].as_str().unwrap().contains(
            "no answer to 2 connection attempts (waits of 100, 200 ms: adaptive, at most 1000 ms)"
        ),
        "{r}"
    );
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_millis(900),
        "took {elapsed:?}"
    );

    // No answer yet: the full maximum for every try (the back-off is capped by it).
    let (_, out, elapsed) =
        lab.portqry(&["-n", &ip, "-nr", "-e", "8103", "--timeout", "300", "--json"]);
    let r = record(&json_lines(&out), "tcp", 8103).clone();
    assert!(
        r["reason"].as_str().unwrap().contains("waits of 300, 300 ms: adaptive, at most 300 ms"),
        "{r}"
    );
    assert!(
        elapsed >= Duration::from_millis(600) && elapsed < Duration::from_millis(600 + 500),
        "took {elapsed:?}"
    );

    // -sl doubles the maximum.
    let (_, out, _) =
        lab.portqry(&["-n", &ip, "-nr", "-e", "8103", "--timeout", "150", "-sl", "--json"]);
    let r = record(&json_lines(&out), "tcp", 8103).clone();
    assert!(
        r["reason"].as_str().unwrap().contains("waits of 300, 300 ms: adaptive, at most 300 ms"),
        "{r}"
    );

    // --no-adaptive: the fixed wait even after answers.
    let (_, out, elapsed) = lab.portqry(&[
        "-n",
        &ip,
        "-nr",
        "-o",
        "8101,8103",
        "--concurrency",
        "1",
        "--timeout",
        "400",
        "--no-adaptive",
        "--json",
    ]);
    let r = record(&json_lines(&out), "tcp", 8103).clone();
    assert!(
        r["reason"].as_str().unwrap().contains("no answer to 2 connection attempts (400 ms each)"),
        "{r}"
    );
    assert!(elapsed >= Duration::from_millis(800), "took {elapsed:?}");
}

fn epm_replay_files(
    dir: &std::path::Path,
    tower_ip: std::net::Ipv4Addr,
    status: u32,
) -> (String, String) {
    use tracehound_rpc_proto::epm::{self, Entry, EpmResponse, Tower};
    use tracehound_rpc_proto::ndr::Drep;
    use tracehound_rpc_proto::pdu::{BindAck, Body, CtxResult, Repr, Response, Syntax};
    let ack = Repr::new(
        1,
        Drep::LE,
        Body::BindAck(BindAck {
            max_xmit_frag: 5840,
            max_recv_frag: 5840,
            assoc_group: 0x1234,
            sec_addr: b"135".to_vec(),
            results: vec![CtxResult { result: 0, reason: 0, transfer_syntax: Syntax::NDR }],
        }),
    )
    .emit();
    let iface = "12345778-1234-abcd-ef00-0123456789ac".parse().unwrap();
    let resp = EpmResponse {
        opnum: 2,
        status,
        entry_handle: if status == 0 { [7; 20] } else { [0; 20] },
        num_towers: 1,
        entries: vec![Entry {
            object: tracehound_rpc_proto::uuid::Uuid::NIL,
            annotation: "endless".into(),
            tower: Some(Tower::ncacn_ip_tcp(&iface, 1, 0, tower_ip, 49999)),
        }],
        ..Default::default()
    };
    let stub = epm::emit_response(Drep::LE, &resp);
    let pdu = Repr::new(
        1,
        Drep::LE,
        Body::Response(Response {
            alloc_hint: stub.len() as u32,
            context_id: 0,
            cancel_count: 0,
            stub,
        }),
    )
    .emit();
    let (a, r) =
        (dir.join(format!("bind_ack-{status}.bin")), dir.join(format!("resp-{status}.bin")));
    std::fs::write(&a, ack).unwrap();
    std::fs::write(&r, pdu).unwrap();
    (a.display().to_string(), r.display().to_string())
}

#[test]
fn hostile_servers_give_clear_errors_within_the_bound() {
    require_root_tools(&["ip", "nft"]);
    let mut lab = Lab::new(1);
    let ip = lab.server_ip.clone();
    let py = python();
    lab.spawn_server(&py, &[SERVERS, "garbage", &ip, "135"]);
    lab.spawn_server(&py, &[SERVERS, "huge", &ip, "389"]);
    lab.spawn_server(&py, &[SERVERS, "swallow", &ip, "445"]);
    lab.spawn_server(&py, &[SERVERS, "udp-swallow", &ip, "53"]);
    for (p, port) in [("tcp", 135), ("tcp", 389), ("tcp", 445), ("udp", 53)] {
        lab.wait_listen(p, port);
    }
    lab.server("nft add table inet pq && nft add chain inet pq in \"{ type filter hook input priority 0; }\" && nft add rule inet pq in tcp dport 88 drop");
    let (code, out, elapsed) =
        lab.portqry(&["-n", &ip, "-nr", "-o", "135,389,445,88", "--timeout", "500", "--json"]);
    let recs = json_lines(&out);
    assert_eq!(code, Ok(1), "{out}");
    let epm = record(&recs, "tcp", 135);
    assert_eq!(epm["state"], "LISTENING");
    let e = epm["result"]["error"].as_str().unwrap();
    assert!(e.contains("endpoint mapper"), "{e}");
    let ldap = record(&recs, "tcp", 389);
    assert!(
        ldap["result"]["error"].as_str().unwrap().contains("larger than the 262144-byte limit"),
        "{ldap}"
    );
    let smb = record(&recs, "tcp", 445);
    assert!(smb["result"]["error"].as_str().unwrap().contains("timed out after"), "{smb}");
    let krb = record(&recs, "tcp", 88);
    assert_eq!(krb["state"], "FILTERED");
    assert!(krb.get("result").is_none());
    // Bound: scan 2 * 0.5 s + each query <= 4 * 0.5 s (3 queries ran).
    assert!(elapsed < Duration::from_millis(1000 + 3 * 2000 + 500), "took {elapsed:?}");

    // UDP that swallows: LISTENING or FILTERED, the DNS query stays unanswered.
    let (code, out, _) =
        lab.portqry(&["-n", &ip, "-nr", "-p", "udp", "-e", "53", "--timeout", "300", "--json"]);
    assert_eq!(code, Ok(2));
    assert_eq!(record(&json_lines(&out), "udp", 53)["state"], "LISTENING or FILTERED");
}

#[test]
fn endless_epm_paging_is_stopped() {
    require_root_tools(&["ip"]);
    let mut lab = Lab::new(2);
    let ip = lab.server_ip.clone();
    let (a, r) = epm_replay_files(&lab.dir, std::net::Ipv4Addr::UNSPECIFIED, 0);
    let replay = lab.spawn_server(&python(), &[SERVERS, "replay", &ip, "135", &a, &r]);
    lab.wait_listen("tcp", 135);
    let (code, out, elapsed) =
        lab.portqry(&["-n", &ip, "-nr", "-e", "135", "--timeout", "500", "--no-follow-up"]);
    assert_eq!(code, Ok(0), "{out}");
    assert!(out.contains("endless paging"), "{out}");
    assert!(out.contains("UUID: 12345778-1234-abcd-ef00-0123456789ac endless"), "{out}");
    assert!(out.contains("Total endpoints found: 1"), "{out}");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    // With follow-up: the endpoint's port is closed -> verdict names it.
    let (_, out, _) = lab.portqry(&["-n", &ip, "-nr", "-e", "135", "--timeout", "500"]);
    assert!(out.contains("1 of 1 TCP endpoints unreachable (1 of 1 interface registrations): 49999 NOT LISTENING"), "{out}");
    assert!(!out.contains("WARNING"), "0.0.0.0 means the same host: {out}");

    // A tower naming another address: warned about; the list ends normally
    // (EPT_S_NOT_REGISTERED with a null handle).
    lab.interrupt(replay);
    let (a, r) = epm_replay_files(&lab.dir, std::net::Ipv4Addr::new(192, 0, 2, 7), 0x16c9_a0d6);
    lab.spawn_server(&python(), &[SERVERS, "replay", &ip, "135", &a, &r]);
    lab.wait_listen("tcp", 135);
    let (_, out, _) =
        lab.portqry(&["-n", &ip, "-nr", "-e", "135", "--timeout", "500", "--no-follow-up"]);
    assert!(out.contains(&format!("WARNING: endpoint ncacn_ip_tcp:192.0.2.7[49999] names 192.0.2.7, not the address asked ({ip})")), "{out}");
    assert!(!out.contains("query error"), "{out}");
}

#[test]
fn tls_certificate_matches_openssl() {
    require_root_tools(&["ip", "openssl"]);
    let mut lab = Lab::new(3);
    let ip = lab.server_ip.clone();
    let d = lab.dir.display().to_string();
    lab.server(&format!(
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout {d}/key.pem -out {d}/cert.pem -days 30 \
         -subj /CN=tls.lab.test -addext subjectAltName=DNS:tls.lab.test,IP:{ip} 2>/dev/null"
    ));
    // 8443: default (TLS 1.3 preferred); 443: TLS 1.2 only.
    lab.spawn_server(
        "openssl",
        &[
            "s_server",
            "-quiet",
            "-accept",
            &format!("{ip}:8443"),
            "-cert",
            &format!("{d}/cert.pem"),
            "-key",
            &format!("{d}/key.pem"),
        ],
    );
    lab.spawn_server(
        "openssl",
        &[
            "s_server",
            "-quiet",
            "-tls1_2",
            "-accept",
            &format!("{ip}:443"),
            "-cert",
            &format!("{d}/cert.pem"),
            "-key",
            &format!("{d}/key.pem"),
        ],
    );
    lab.wait_listen("tcp", 8443);
    lab.wait_listen("tcp", 443);
    let subject = lab
        .client_output(&format!("openssl x509 -in {d}/cert.pem -noout -subject -nameopt RFC2253"));
    let end = lab
        .client_output(&format!("openssl x509 -in {d}/cert.pem -noout -enddate -dateopt iso_8601"));
    let subject = subject.trim().trim_start_matches("subject=").to_string();
    let end = end.trim().trim_start_matches("notAfter=").trim_end_matches('Z').to_string();

    let (code, out, _) = lab.portqry(&["-n", &ip, "-nr", "-o", "443,8443", "--json"]);
    assert_eq!(code, Ok(0), "{out}");
    let recs = json_lines(&out);
    for (port, version) in [(443u16, "TLS 1.2"), (8443, "TLS 1.3")] {
        let r = &record(&recs, "tcp", port)["result"];
        assert_eq!(r["version"], version, "{r}");
        assert_eq!(r["chain_length"], 1, "{r}");
        let leaf = &r["chain"][0];
        assert_eq!(leaf["subject"], subject.as_str(), "{r}");
        assert_eq!(leaf["not_after"], format!("{end} UTC"), "{r}");
        assert_eq!(leaf["san"], serde_json::json!(["DNS:tls.lab.test", format!("IP:{ip}")]));
        assert_eq!(r["name_matches"], true);
        assert_eq!(leaf["self_signed"], true);
    }
    // Text block.
    let (_, out, _) = lab.portqry(&["-n", &ip, "-nr", "-e", "8443"]);
    assert!(out.contains("TLS handshake: TLS 1.3 with TLS_AES_"), "{out}");
    assert!(out.contains(&format!("name {ip} matches the certificate")), "{out}");
}

#[test]
fn http_head_against_python_http_server() {
    require_root_tools(&["ip"]);
    let mut lab = Lab::new(4);
    let ip = lab.server_ip.clone();
    let dir = lab.dir.display().to_string();
    lab.spawn_server(&python(), &["-m", "http.server", "8080", "--bind", &ip, "--directory", &dir]);
    lab.wait_listen("tcp", 8080);
    let (code, out, _) = lab.portqry(&["-n", &ip, "-nr", "-e", "8080", "--json"]);
    assert_eq!(code, Ok(0));
    let recs = json_lines(&out);
    let r = &record(&recs, "tcp", 8080)["result"];
    assert_eq!(r["status"], 200, "{r}");
    assert!(r["server"].as_str().unwrap().starts_with("SimpleHTTP/"), "{r}");
}

#[test]
fn local_mode_sees_namespace_listeners_with_owner() {
    require_root_tools(&["ip"]);
    let mut lab = Lab::new(5);
    let ip = lab.server_ip.clone();
    let pid = lab.spawn_server(&python(), &[SERVERS, "tcp-listen", &ip, "8101"]);
    let upid = lab.spawn_server(&python(), &[SERVERS, "udp-echo", &ip, "8102"]);
    lab.wait_listen("tcp", 8101);
    lab.wait_listen("udp", 8102);
    let (code, out) = lab.in_server(|| {
        let mut o = Vec::new();
        let r = tracehound_probe::run(&["-local".to_string(), "--json".to_string()], &mut o);
        (r.map_err(|e| e.to_string()), String::from_utf8_lossy(&o).into_owned())
    });
    assert_eq!(code, Ok(0));
    let socks = json_lines(&out);
    let tcp = socks
        .iter()
        .find(|s| s["local"] == format!("{ip}:8101"))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(tcp["state"], "LISTENING");
    assert_eq!(tcp["pid"], pid);
    let udp = socks
        .iter()
        .find(|s| s["local"] == format!("{ip}:8102"))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(udp["pid"], upid);
    // Only this namespace's sockets: the client namespace has none of them.
    let (_, cout) = lab.in_client(|| {
        let mut o = Vec::new();
        let r = tracehound_probe::run(&["-local".to_string()], &mut o);
        (r.map_err(|e| e.to_string()), String::from_utf8_lossy(&o).into_owned())
    });
    assert!(!cout.contains(":8101"), "{cout}");

    // -wport: bounded by --count.
    let (code, out) = lab.in_server(|| {
        let mut o = Vec::new();
        let args: Vec<String> =
            ["-wport", "8101", "-wt", "1", "--count", "2"].iter().map(|s| s.to_string()).collect();
        let t = std::time::Instant::now();
        let r = tracehound_probe::run(&args, &mut o);
        assert!(t.elapsed() < Duration::from_secs(4));
        (r.map_err(|e| e.to_string()), String::from_utf8_lossy(&o).into_owned())
    });
    assert_eq!(code, Ok(0));
    assert!(out.contains("present:") && out.contains(&format!("{ip}:8101")), "{out}");

    // -wpid: the process's sockets, JSON events; a process that is not there -> exit 1.
    let (code, out) = lab.in_server(move || {
        let mut o = Vec::new();
        let args: Vec<String> = ["-wpid", &pid.to_string(), "-wt", "1", "--count", "2", "--json"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let r = tracehound_probe::run(&args, &mut o);
        (r.map_err(|e| e.to_string()), String::from_utf8_lossy(&o).into_owned())
    });
    assert_eq!(code, Ok(0));
    let ev = json_lines(&out);
    assert!(
        ev.iter().any(|e| e["event"] == "present"
            && e["local"] == format!("{ip}:8101")
            && e["pid"] == pid),
        "{out}"
    );
    let mut o = Vec::new();
    let args: Vec<String> =
        ["-wpid", "4000000", "--count", "1"].iter().map(|s| s.to_string()).collect();
    assert_eq!(tracehound_probe::run(&args, &mut o).unwrap(), 1);
}

#[test]
fn logfile_needs_y_to_overwrite() {
    let dir = std::env::temp_dir().join(format!("thpq-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("out.log");
    std::fs::write(&log, "old").unwrap();
    let l = log.display().to_string();
    let args: Vec<String> = ["-local", "-l", &l].iter().map(|s| s.to_string()).collect();
    let err = tracehound_probe::run(&args, &mut Vec::new()).unwrap_err();
    assert!(err.to_string().contains("use -y"), "{err}");
    let args: Vec<String> =
        ["-local", "-l", &l, "-y", "-q"].iter().map(|s| s.to_string()).collect();
    let mut out = Vec::new();
    assert_eq!(tracehound_probe::run(&args, &mut out).unwrap(), 0);
    assert!(out.is_empty());
    assert!(std::fs::read_to_string(&log).unwrap().contains("TCP/UDP Port Usage"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn source_port_ipv6_and_several_targets() {
    require_root_tools(&["ip", "nft"]);
    let mut lab = Lab::new(6);
    let ip = lab.server_ip.clone();
    let ip6 = lab.add_v6();
    lab.spawn_server(&python(), &[SERVERS, "tcp-listen", "::", "8201"]);
    lab.wait_listen("tcp", 8201);
    // Only source port 5555 may reach 8201; 8202 is refused by policy over IPv6.
    lab.server(
        "nft add table inet pq && nft add chain inet pq in \"{ type filter hook input priority 0; }\" && \
         nft add rule inet pq in tcp dport 8201 tcp sport != 5555 drop && \
         nft add rule inet pq in meta nfproto ipv6 tcp dport 8202 reject with icmpv6 type admin-prohibited",
    );
    let (_, out, _) = lab.portqry(&["-n", &ip, "-nr", "-e", "8201", "--timeout", "300", "--json"]);
    assert_eq!(record(&json_lines(&out), "tcp", 8201)["state"], "FILTERED", "{out}");
    let (code, out, _) = lab.portqry(&["-n", &ip, "-nr", "-e", "8201", "-sp", "5555", "--json"]);
    assert_eq!(code, Ok(0), "{out}");
    // IPv6, and several targets in one -n (with -sp: one probe at a time, reset on close so
    // the same 4-tuple can be used again at once).
    let both = format!("{ip},{ip6}");
    let (code, out, _) = lab.portqry(&["-n", &both, "-nr", "-e", "8201", "-sp", "5555", "--json"]);
    let recs = json_lines(&out);
    assert_eq!(code, Ok(0), "{out}");
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1]["address"], ip6.as_str());
    assert_eq!(recs[1]["state"], "LISTENING");
    let (_, out, _) = lab.portqry(&["-n", &format!("[{ip6}]"), "-nr", "-e", "8202", "--json"]);
    let r = record(&json_lines(&out), "tcp", 8202).clone();
    assert_eq!(r["state"], "FILTERED", "{r}");
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("ICMPv6 communication administratively prohibited from {ip6}")),
        "{r}"
    );
}
