//! `tracehound check` against real servers in network namespaces this test creates
//! (`th-h10-c*` client, `th-h10-s*` server, joined by a veth pair on 10.92.<slot>.0/24;
//! no link to the host's network). Servers: `openssl s_server` with a valid chain, an
//! expired leaf, a wrong-name leaf, a leaf without its intermediate, a self-signed leaf, a
//! 1024-bit RSA leaf; Python HTTP(S) (lab/check/servers.py) with a redirect loop, a 401
//! offering Negotiate + NTLM, a cross-host redirect and a HEAD-refusing path; hostile
//! servers (endless headers, 2 GiB Content-Length, silence); a port whose SYNs nftables
//! drops and a closed port that resets; a Python DNS responder with a CNAME chain and
//! NXDOMAIN. The PKI is made per run by lab/check/certs.sh (openssl). Results are
//! cross-checked with `openssl s_client` and `curl -v`. Root is required; a missing tool
//! fails the test (no skip). Servers are killed by PID and namespaces deleted on drop.

// Tests may unwrap, expect, panic and index: a failing test is the point (also in
// common/, whose helpers are not #[test] functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tracehound_probe::check::{self, Options, Record};

const LAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../lab/check");

fn sh(cmd: &str) -> std::process::Output {
    Command::new("sh").arg("-c").arg(cmd).output().expect("sh runs")
}

fn must(cmd: &str) -> String {
    let o = sh(cmd);
    assert!(o.status.success(), "failed: {cmd}\n{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

struct Lab {
    client: String,
    server: String,
    ip: String,
    dir: std::path::PathBuf,
    kids: Vec<Child>,
}

impl Lab {
    fn new(slot: u32) -> Lab {
        // SAFETY: geteuid has no preconditions.
        assert_eq!(unsafe { libc::geteuid() }, 0, "needs root (CI runs as root)");
        for t in ["ip", "nft", "openssl", "python3", "curl", "ss", "dig"] {
            assert!(sh(&format!("command -v {t}")).status.success(), "missing tool {t}");
        }
        let tag = format!("{}{slot}", std::process::id() % 100000);
        let (client, server) = (format!("th-h10-c{tag}"), format!("th-h10-s{tag}"));
        let dir = std::env::temp_dir().join(format!("th-h10-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let lab = Lab { client, server, ip: format!("10.92.{slot}.2"), dir, kids: Vec::new() };
        let (c, s) = (&lab.client, &lab.server);
        let (vc, vs) = (format!("h10c{tag}"), format!("h10s{tag}"));
        must(&format!("ip netns add {c} && ip netns add {s}"));
        must(&format!("ip link add {vc} netns {c} type veth peer name {vs} netns {s}"));
        must(&format!(
            "ip -n {c} addr add 10.92.{slot}.1/24 dev {vc} && ip -n {s} addr add {}/24 dev {vs} && \
             ip -n {c} link set lo up && ip -n {s} link set lo up && \
             ip -n {c} link set {vc} up && ip -n {s} link set {vs} up",
            lab.ip
        ));
        let end = Instant::now() + Duration::from_secs(10);
        while !must(&format!("ip -n {c} link show dev {vc}")).contains("LOWER_UP") {
            assert!(Instant::now() < end, "veth never came up");
            std::thread::sleep(Duration::from_millis(50));
        }
        lab
    }

    fn spawn(&mut self, args: &[&str]) {
        let err = std::fs::File::create(self.dir.join(format!("srv{}.err", self.kids.len())))
            .expect("log");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.server])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(err))
            .spawn()
            .expect("spawn");
        self.kids.push(child);
    }

    fn wait_listen(&self, flag: &str, port: u16) {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let o = sh(&format!("ip netns exec {} ss -H{flag}n 'sport = :{port}'", self.server));
            if !String::from_utf8_lossy(&o.stdout).trim().is_empty() {
                return;
            }
            assert!(Instant::now() < end, "port {port} never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn client_sh(&self, cmd: &str) -> std::process::Output {
        sh(&format!("ip netns exec {} sh -c '{}'", self.client, cmd.replace('\'', "'\\''")))
    }

    fn check(&self, opts: Options) -> Vec<Record> {
        let path = format!("/var/run/netns/{}", self.client);
        std::thread::spawn(move || {
            let f = std::fs::File::open(&path).expect("netns file");
            // SAFETY: setns on this thread only, with a descriptor we hold open.
            assert_eq!(unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(check::check_all(&opts)).expect("check runs")
        })
        .join()
        .expect("check thread")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for k in &mut self.kids {
            let _ = k.kill();
            let _ = k.wait();
        }
        let _ = sh(&format!("ip netns del {} ; ip netns del {}", self.client, self.server));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rec<'a>(v: &'a [Record], target: &str) -> &'a Record {
    v.iter()
        .find(|r| r.target == target)
        .unwrap_or_else(|| panic!("no record for {target}: {v:#?}"))
}

fn has(r: &Record, word: &str) -> bool {
    r.problems.iter().any(|p| p == word)
}

/// Starts every server; returns the lab and the PKI directory.
fn lab_with_servers(slot: u32) -> (Lab, String) {
    let mut lab = Lab::new(slot);
    let pki = lab.dir.join("pki").display().to_string();
    must(&format!("sh {LAB}/certs.sh {pki}"));
    let p = |f: &str| format!("{pki}/{f}");
    let tls = [
        (8441, "good.pem", "leaf.key", Some("int.pem")),
        (8442, "expired.pem", "leaf.key", Some("int.pem")),
        (8443, "wrongname.pem", "leaf.key", Some("int.pem")),
        (8444, "good.pem", "leaf.key", None),
        (8445, "self.pem", "leaf.key", None),
        (8450, "rsa1024.pem", "rsa1024.key", Some("int.pem")),
    ];
    for (port, cert, key, chain) in tls {
        let (port, cert, key) = (port.to_string(), p(cert), p(key));
        let mut a =
            vec!["openssl", "s_server", "-quiet", "-accept", &port, "-cert", &cert, "-key", &key];
        let chain = chain.map(p);
        if let Some(c) = &chain {
            a.extend(["-cert_chain", c]);
        }
        if port == "8450" {
            a.extend(["-cipher", "DEFAULT@SECLEVEL=0"]); // let OpenSSL load the 1024-bit key
        }
        lab.spawn(&a);
    }
    let py = format!("{LAB}/servers.py");
    let (chain, key) = (p("good-chain.pem"), p("leaf.key"));
    lab.spawn(&["python3", &py, "web", "8446", &chain, &key]);
    lab.spawn(&["python3", &py, "web", "8080"]);
    lab.spawn(&["python3", &py, "hostile", "8447", "endless"]);
    lab.spawn(&["python3", &py, "hostile", "8448", "silent"]);
    lab.spawn(&["python3", &py, "hostile", "8449", "big"]);
    let ip = lab.ip.clone();
    lab.spawn(&["python3", &py, "dns", "53", &ip]);
    must(&format!(
        "ip netns exec {0} nft add table inet th_h10 && \
         ip netns exec {0} nft add chain inet th_h10 input '{{ type filter hook input priority 0; }}' && \
         ip netns exec {0} nft add rule inet th_h10 input tcp dport 4444 drop",
        lab.server
    ));
    for port in [8441, 8442, 8443, 8444, 8445, 8450, 8446, 8080, 8447, 8448, 8449] {
        lab.wait_listen("lt", port);
    }
    lab.wait_listen("lu", 53);
    (lab, pki)
}

#[test]
fn check_reports_each_failure_at_its_step() {
    let (lab, pki) = lab_with_servers(10);
    let ip = lab.ip.clone();
    let names = ["good.lab", "other.lab", "wrong.lab"];
    let opts = Options {
        targets: vec![
            "ldaps://good.lab:8441".into(),
            "ldaps://good.lab:8442".into(),
            "ldaps://good.lab:8443".into(),
            "ldaps://good.lab:8444".into(),
            "ldaps://good.lab:8445".into(),
            "ldaps://good.lab:8450".into(),
            "https://good.lab:8446/".into(),
            "https://good.lab:8446/loop".into(),
            "https://good.lab:8446/auth".into(),
            "https://good.lab:8446/cross".into(),
            "http://good.lab:8080/nohead".into(),
            "http://good.lab:8447/".into(),
            "http://good.lab:8448/".into(),
            "http://good.lab:8449/".into(),
            "good.lab:4444".into(),
            "good.lab:4445".into(),
        ],
        parallel: 8,
        timeout: Duration::from_millis(1500),
        resolve: names.iter().map(|n| (n.to_string(), ip.parse().unwrap())).collect(),
        ca: Some(format!("{pki}/root.pem").into()),
        ..Options::default()
    };
    let t = Instant::now();
    let v = lab.check(opts);
    let took = t.elapsed();
    assert!(took < Duration::from_secs(12), "bounded: {took:?}");

    let good = rec(&v, "ldaps://good.lab:8441");
    assert_eq!(good.verdict, "ok", "{good:#?}");
    let tls = good.tls.as_ref().unwrap();
    assert_eq!(tls.sni.as_deref(), Some("good.lab"));
    assert_eq!(tls.version.as_deref(), Some("TLS 1.3"));
    let c = tls.certificate.as_ref().unwrap();
    assert!(c.chain_valid && c.name_match && !c.expired, "{c:#?}");
    assert!((360..=365).contains(&c.days_left), "{}", c.days_left);
    assert_eq!(tls.chain.len(), 2);
    assert_eq!(tls.chain[1].subject, "CN=TH Test Intermediate");
    assert!(
        tls.chain[0].key.starts_with("EC") && tls.chain[0].key.ends_with("256"),
        "{}",
        tls.chain[0].key
    );
    assert_eq!(tls.chain[0].signature, "ecdsa-with-SHA256");

    let expired = rec(&v, "ldaps://good.lab:8442");
    assert_eq!(expired.verdict, "tls");
    assert!(has(expired, "expired"), "{expired:#?}");
    assert!(expired.why.contains("expired on 2021-01-01"), "{}", expired.why);
    assert!(expired.tls.as_ref().unwrap().certificate.as_ref().unwrap().days_left < -1000);

    let wrong = rec(&v, "ldaps://good.lab:8443");
    assert_eq!(wrong.verdict, "tls");
    assert!(has(wrong, "name-mismatch") && wrong.why.contains("wrong.example"), "{wrong:#?}");

    let missing = rec(&v, "ldaps://good.lab:8444");
    assert_eq!(missing.verdict, "tls");
    assert!(has(missing, "missing-intermediate"), "{missing:#?}");
    assert!(missing.why.contains("CN=TH Test Intermediate"), "{}", missing.why);
    assert_eq!(missing.tls.as_ref().unwrap().chain.len(), 1);

    let selfs = rec(&v, "ldaps://good.lab:8445");
    assert!(has(selfs, "self-signed") && selfs.verdict == "tls", "{selfs:#?}");
    assert!(rec(&v, "ldaps://good.lab:8450").problems.iter().any(|p| p == "weak-key"));

    let root = rec(&v, "https://good.lab:8446/");
    assert_eq!(root.verdict, "ok", "{root:#?}");
    let h = root.http.as_ref().unwrap();
    assert_eq!((h.status, h.server.as_deref()), (Some(200), Some("th-lab")));
    assert_eq!(root.tls.as_ref().unwrap().alpn, None, "python's server offers no ALPN");

    let lp = rec(&v, "https://good.lab:8446/loop");
    assert_eq!(lp.verdict, "http");
    assert!(has(lp, "redirect-loop"), "{lp:#?}");
    assert_eq!(lp.http.as_ref().unwrap().redirects.len(), 2);

    let auth = rec(&v, "https://good.lab:8446/auth");
    assert_eq!(auth.verdict, "ok");
    assert_eq!(auth.http.as_ref().unwrap().auth, vec!["Negotiate", "NTLM"]);
    assert_eq!(auth.http.as_ref().unwrap().status, Some(401));

    let cross = rec(&v, "https://good.lab:8446/cross");
    assert!(has(cross, "cross-host-redirect"), "{cross:#?}");
    assert_eq!(cross.http.as_ref().unwrap().status, Some(200));

    let nohead = rec(&v, "http://good.lab:8080/nohead");
    assert_eq!(
        (nohead.verdict.as_str(), nohead.http.as_ref().unwrap().method.as_str()),
        ("ok", "GET")
    );

    let endless = rec(&v, "http://good.lab:8447/");
    assert_eq!(endless.verdict, "http");
    assert!(endless.why.contains("larger than the 65536-byte limit"), "{}", endless.why);
    let silent = rec(&v, "http://good.lab:8448/");
    assert!(
        silent.verdict == "http" && silent.why.contains("no response within 1500 ms"),
        "{silent:#?}"
    );
    let big = rec(&v, "http://good.lab:8449/");
    assert_eq!(big.verdict, "ok");
    assert_eq!(big.http.as_ref().unwrap().content_length, Some(2_147_483_648));

    let drop = rec(&v, "good.lab:4444");
    assert_eq!(
        (drop.verdict.as_str(), drop.tcp.as_ref().unwrap().state.as_str()),
        ("tcp", "FILTERED")
    );
    assert!(drop.why.contains("no answer"), "{}", drop.why);
    let rst = rec(&v, "good.lab:4445");
    assert_eq!(rst.tcp.as_ref().unwrap().state, "NOT LISTENING");
    assert!(rst.why.contains("reset"), "{}", rst.why);

    // Cross-checks: openssl s_client and curl agree on the chain and the 401.
    let o = lab.client_sh(&format!(
        "echo | openssl s_client -connect {ip}:8444 -servername good.lab -CAfile {pki}/root.pem -verify_return_error 2>&1"
    ));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("unable to get local issuer certificate"), "{text}");
    let o = lab.client_sh(&format!(
        "echo | openssl s_client -connect {ip}:8441 -servername good.lab -CAfile {pki}/root.pem -verify_return_error 2>&1"
    ));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Verify return code: 0 (ok)"));
    let o = lab.client_sh(&format!(
        "curl -sv --max-time 5 --cacert {pki}/root.pem --resolve good.lab:8446:{ip} https://good.lab:8446/auth 2>&1"
    ));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("< HTTP/1.0 401") || text.contains("< HTTP/1.1 401"), "{text}");
    assert!(
        text.contains("< WWW-Authenticate: Negotiate") && text.contains("< WWW-Authenticate: NTLM")
    );
}

#[test]
fn check_dns_cname_chain_and_nxdomain() {
    let mut lab = Lab::new(11);
    let py = format!("{LAB}/servers.py");
    let ip = lab.ip.clone();
    lab.spawn(&["python3", &py, "dns", "53", &ip]);
    lab.spawn(&["python3", &py, "web", "8080"]);
    lab.wait_listen("lu", 53);
    lab.wait_listen("lt", 8080);
    let opts = Options {
        targets: vec!["http://www.lab:8080/".into(), "nx.lab:443".into()],
        timeout: Duration::from_millis(1500),
        dns: vec![format!("{ip}:53").parse().unwrap()],
        ..Options::default()
    };
    let v = lab.check(opts);
    let www = rec(&v, "http://www.lab:8080/");
    assert_eq!(www.verdict, "ok", "{www:#?}");
    assert_eq!(www.dns.cname, vec!["www.lab -> edge.lab", "edge.lab -> good.lab"]);
    assert_eq!(www.dns.addresses, vec![ip.clone()]);
    assert_eq!(www.dns.ttls, vec![60]);
    assert_eq!(www.dns.server, format!("udp://{ip}:53"));
    let nx = rec(&v, "nx.lab:443");
    assert_eq!(nx.verdict, "dns");
    assert!(has(nx, "nxdomain"), "{nx:#?}");
    // cross-check with dig: the same chain and address
    let o = lab.client_sh(&format!("dig +short +time=2 +tries=1 @{ip} www.lab A"));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        text.split_whitespace().collect::<Vec<_>>(),
        vec!["edge.lab.", "good.lab.", ip.as_str()]
    );
}

#[test]
fn check_hostile_and_old_tls_servers_end_with_reasons() {
    let mut lab = Lab::new(12);
    let ip = lab.ip.clone();
    let pki = lab.dir.join("pki").display().to_string();
    must(&format!("sh {LAB}/certs.sh {pki}"));
    // a chain of 100 entries: the leaf, then the intermediate sent 99 times
    let long = format!("{pki}/long-chain.pem");
    let int = std::fs::read_to_string(format!("{pki}/int.pem")).unwrap();
    std::fs::write(&long, int.repeat(99)).unwrap();
    let (cert, key) = (format!("{pki}/good.pem"), format!("{pki}/leaf.key"));
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut servers = vec![
        s(&["openssl", "s_server", "-quiet", "-accept", "8441", "-cert", &cert, "-key", &key]),
        s(&["openssl", "s_server", "-quiet", "-accept", "8451", "-cert", &cert, "-key", &key]),
        s(&["openssl", "s_server", "-quiet", "-accept", "8452", "-cert", &cert, "-key", &key]),
    ];
    servers[0].extend(s(&["-cert_chain", &format!("{pki}/int.pem")]));
    // an old server: TLS 1.0 only, RSA 1024
    servers[1] = s(&["openssl", "s_server", "-quiet", "-accept", "8451"]);
    servers[1].extend(s(&[
        "-cert",
        &format!("{pki}/rsa1024.pem"),
        "-key",
        &format!("{pki}/rsa1024.key"),
    ]));
    servers[1].extend(s(&["-cert_chain", &format!("{pki}/int.pem")]));
    servers[1].extend(s(&["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]));
    servers[2].extend(s(&["-cert_chain", &long]));
    for a in &servers {
        lab.spawn(&a.iter().map(String::as_str).collect::<Vec<_>>());
    }
    lab.spawn(&["python3", &format!("{LAB}/servers.py"), "hostile", "8448", "silent"]);
    for port in [8441, 8451, 8452, 8448] {
        lab.wait_listen("lt", port);
    }
    let opts = Options {
        targets: vec![
            "ldaps://good.lab:8441".into(),
            "ldaps://good.lab:8451".into(),
            "ldaps://good.lab:8452".into(),
            "ldaps://good.lab:8448".into(),
        ],
        timeout: Duration::from_millis(1500),
        resolve: vec![("good.lab".into(), ip.parse().unwrap())],
        ca: Some(format!("{pki}/root.pem").into()),
        tls_versions: true,
        ..Options::default()
    };
    let t = Instant::now();
    let v = lab.check(opts);
    assert!(t.elapsed() < Duration::from_secs(10), "bounded: {:?}", t.elapsed());

    let good = rec(&v, "ldaps://good.lab:8441");
    assert_eq!(good.verdict, "ok", "{good:#?}");
    let vers = &good.tls.as_ref().unwrap().versions;
    let acc = |n: &str| vers.iter().find(|p| p.version == n).map(|p| p.accepted);
    assert_eq!((acc("TLS 1.2"), acc("TLS 1.3")), (Some(true), Some(true)), "{vers:#?}");

    let old = rec(&v, "ldaps://good.lab:8451");
    assert_eq!(old.verdict, "tls", "{old:#?}");
    assert!(old.why.contains("alert protocol_version"), "{}", old.why);
    assert!(old.why.contains("older than TLS 1.2"), "{}", old.why);
    assert!(old.why.contains("the server chose TLS 1.0"), "{}", old.why);
    assert!(has(old, "old-tls-only") && has(old, "weak-key"), "{old:#?}");
    let otls = old.tls.as_ref().unwrap();
    assert_eq!(otls.chain.len(), 2, "chain read from the clear TLS 1.0 flight");
    assert_eq!(otls.chain[0].key, "RSA 1024");
    let acc = |n: &str| otls.versions.iter().find(|p| p.version == n).map(|p| p.accepted);
    let got = (acc("TLS 1.0"), acc("TLS 1.1"), acc("TLS 1.2"), acc("TLS 1.3"));
    assert_eq!(got, (Some(true), Some(false), Some(false), Some(false)), "{:#?}", otls.versions);
    // cross-check: openssl s_client agrees that TLS 1.2 is refused
    let o = lab.client_sh(&format!("echo | openssl s_client -connect {ip}:8451 -tls1_2 2>&1"));
    assert!(!o.status.success() || String::from_utf8_lossy(&o.stdout).contains("alert"));

    let long = rec(&v, "ldaps://good.lab:8452");
    let tls = long.tls.as_ref().unwrap();
    assert_eq!((tls.chain.len(), tls.chain_dropped), (16, 84), "bounded: {long:#?}");
    assert!(has(long, "long-chain") && long.verdict == "ok", "{long:#?}");

    let silent = rec(&v, "ldaps://good.lab:8448");
    assert_eq!(silent.verdict, "tls");
    assert!(silent.why.contains("no TLS handshake within 1500 ms"), "{}", silent.why);
}

#[test]
fn check_autodiscover_and_lyncdiscover_presets() {
    let mut lab = Lab::new(13);
    let ip = lab.ip.clone();
    let pki = lab.dir.join("pki").display().to_string();
    must(&format!("sh {LAB}/certs.sh {pki}"));
    let (chain, key) = (format!("{pki}/good-chain.pem"), format!("{pki}/leaf.key"));
    lab.spawn(&["python3", &format!("{LAB}/servers.py"), "web", "443", &chain, &key]);
    lab.wait_listen("lt", 443);
    let names = ["good.lab", "autodiscover.good.lab", "mail.good.lab", "lyncdiscover.good.lab"];
    let names = names.iter().chain(&["lyncdiscoverinternal.good.lab", "pool.good.lab"]);
    let opts = Options {
        autodiscover: Some("jane@good.lab".into()),
        lyncdiscover: Some("good.lab".into()),
        timeout: Duration::from_millis(1500),
        resolve: names.map(|n| (n.to_string(), ip.parse().unwrap())).collect(),
        ca: Some(format!("{pki}/root.pem").into()),
        ..Options::default()
    };
    let v = lab.check(opts);
    let pox = rec(&v, "https://autodiscover.good.lab/autodiscover/autodiscover.xml");
    let h = pox.http.as_ref().unwrap();
    assert_eq!((h.method.as_str(), h.status, pox.verdict.as_str()), ("POST", Some(401), "ok"));
    assert_eq!(h.auth, vec!["Negotiate", "NTLM"]);
    assert_eq!(rec(&v, "https://good.lab/autodiscover/autodiscover.xml").verdict, "ok");
    let v2 = v.iter().find(|r| r.target.contains("autodiscover.json")).expect("json v2 record");
    assert_eq!(v2.http.as_ref().unwrap().links, vec!["https://mail.good.lab/EWS/Exchange.asmx"]);
    // the EWS URL it returned was checked next
    let ews = rec(&v, "https://mail.good.lab/EWS/Exchange.asmx");
    assert_eq!((ews.verdict.as_str(), ews.http.as_ref().unwrap().status), ("ok", Some(401)));
    let lync = rec(&v, "https://lyncdiscover.good.lab/");
    assert_eq!(lync.http.as_ref().unwrap().links.len(), 2, "{lync:#?}");
    assert_eq!(rec(&v, "https://lyncdiscoverinternal.good.lab/").verdict, "ok");
    let user =
        rec(&v, "https://pool.good.lab/Autodiscover/AutodiscoverService.svc/root/oauth/user");
    assert_eq!(user.http.as_ref().unwrap().auth, vec!["Bearer", "MsRtcOAuth"], "{user:#?}");
}

#[test]
fn check_through_a_connect_proxy() {
    let mut lab = Lab::new(14);
    let ip = lab.ip.clone();
    let pki = lab.dir.join("pki").display().to_string();
    must(&format!("sh {LAB}/certs.sh {pki}"));
    let (chain, key) = (format!("{pki}/good-chain.pem"), format!("{pki}/leaf.key"));
    let py = format!("{LAB}/servers.py");
    lab.spawn(&["python3", &py, "web", "8446", &chain, &key]);
    // the proxy listens on the server side; targets are reached only through it
    lab.spawn(&["python3", &py, "proxy", "3128", "127.0.0.1"]);
    lab.wait_listen("lt", 8446);
    lab.wait_listen("lt", 3128);
    let opts = Options {
        targets: vec![
            "https://good.lab:8446/auth".into(),
            "https://blocked.lab:8446/".into(),
            "https://good.lab:8446/loop".into(),
        ],
        timeout: Duration::from_millis(1500),
        proxy: Some(("proxy.lab".into(), 3128)),
        resolve: vec![("proxy.lab".into(), ip.parse().unwrap())],
        ca: Some(format!("{pki}/root.pem").into()),
        ..Options::default()
    };
    let v = lab.check(opts);
    let ok = rec(&v, "https://good.lab:8446/auth");
    assert_eq!(ok.verdict, "ok", "{ok:#?}");
    assert_eq!(ok.proxy.as_deref(), Some("CONNECT good.lab:8446: 200 Connection established"));
    assert_eq!(ok.address.map(|a| a.to_string()), Some(ip.clone()), "the proxy's address");
    assert!(ok.tls.as_ref().unwrap().certificate.as_ref().unwrap().chain_valid);
    assert_eq!(ok.http.as_ref().unwrap().auth, vec!["Negotiate", "NTLM"]);
    let blocked = rec(&v, "https://blocked.lab:8446/");
    assert_eq!(blocked.verdict, "proxy");
    assert!(blocked.why.contains("403 Forbidden") && has(blocked, "proxy-refused"), "{blocked:#?}");
    // redirects are followed through the proxy too
    let lp = rec(&v, "https://good.lab:8446/loop");
    assert!(has(lp, "redirect-loop"), "{lp:#?}");
}

/// `--autodiscover` with the SRV record, the POX answer's URLs and credentials: the
/// candidates in Exchange's order, each with its result; the password (a per-run value)
/// goes only over TLS to the user's domain, never into the output, never over plain HTTP.
#[test]
fn check_autodiscover_srv_pox_and_credentials() {
    let mut lab = Lab::new(15);
    let ip = lab.ip.clone();
    let pki = lab.dir.join("pki").display().to_string();
    must(&format!("sh {LAB}/certs.sh {pki}"));
    let (chain, key) = (format!("{pki}/good-chain.pem"), format!("{pki}/leaf.key"));
    let py = format!("{LAB}/servers.py");
    let password = format!("Pw-{}-{}", std::process::id(), Instant::now().elapsed().as_nanos());
    lab.spawn(&["python3", &py, "web", "443", &chain, &key, &password]);
    lab.spawn(&["python3", &py, "web", "80", "", "", &password]);
    lab.spawn(&["python3", &py, "dns", "53", &ip]);
    lab.wait_listen("lt", 443);
    lab.wait_listen("lt", 80);
    lab.wait_listen("lu", 53);
    let names = ["good.lab", "autodiscover.good.lab", "mail.good.lab", "outlook.good.lab"];
    let opts = Options {
        autodiscover: Some("jane@good.lab".into()),
        credentials: Some(check::creds::Credentials::new("jane@good.lab", &password)),
        timeout: Duration::from_millis(1500),
        dns: vec![format!("{ip}:53").parse().unwrap()],
        resolve: names.iter().map(|n| (n.to_string(), ip.parse().unwrap())).collect(),
        ca: Some(format!("{pki}/root.pem").into()),
        ..Options::default()
    };
    let v = lab.check(opts);
    // the candidates in Exchange's order, each with its result
    let order: Vec<&str> = v.iter().take(6).map(|r| r.target.as_str()).collect();
    assert_eq!(
        order,
        [
            "https://good.lab/autodiscover/autodiscover.xml",
            "https://autodiscover.good.lab/autodiscover/autodiscover.xml",
            "http://autodiscover.good.lab/autodiscover/autodiscover.xml",
            "_autodiscover._tcp.good.lab SRV",
            "https://mail.good.lab/autodiscover/autodiscover.xml",
            "https://autodiscover.good.lab/autodiscover/autodiscover.json/v1.0/jane@good.lab?Protocol=EWS",
        ],
        "{v:#?}"
    );
    // apex: redirected to plain HTTP, which offers Basic: the password is withheld
    let apex = rec(&v, "https://good.lab/autodiscover/autodiscover.xml");
    let h = apex.http.as_ref().unwrap();
    assert_eq!(h.status, Some(401), "{apex:#?}");
    assert_eq!(h.credentials.as_deref(), Some("jane@good.lab not sent: plain HTTP"));
    // autodiscover.<domain> over TLS: 401, then Basic, then the POX answer
    let ad = rec(&v, "https://autodiscover.good.lab/autodiscover/autodiscover.xml");
    let h = ad.http.as_ref().unwrap();
    assert_eq!((h.status, ad.verdict.as_str()), (Some(200), "ok"), "{ad:#?}");
    assert_eq!(h.credentials.as_deref(), Some("jane@good.lab sent (Basic over TLS): HTTP 200 OK"));
    let urls = [
        "https://mail.good.lab/EWS/Exchange.asmx",
        "https://mail.good.lab/OAB/7f3a/",
        "https://outlook.good.lab/rpc/rpcproxy.dll",
        "https://outlook.good.lab/mapi/emsmdb/?MailboxId=5d2c0f1e@good.lab",
    ];
    assert_eq!(h.links, urls);
    // the redirect method: the Location is the next POX endpoint (already a candidate)
    let redir = rec(&v, "http://autodiscover.good.lab/autodiscover/autodiscover.xml");
    let h = redir.http.as_ref().unwrap();
    assert_eq!(h.status, Some(302));
    assert_eq!(h.links, ["https://autodiscover.good.lab/autodiscover/autodiscover.xml"]);
    // SRV: found at the lab's DNS server, its target POSTed to (inside the domain: creds)
    let srv = rec(&v, "_autodiscover._tcp.good.lab SRV");
    assert_eq!(srv.verdict, "ok", "{srv:#?}");
    assert_eq!(srv.dns.addresses, ["mail.good.lab:443 (priority 0, weight 0)"]);
    assert_eq!(srv.dns.server, format!("udp://{ip}:53"));
    let dig = lab
        .client_sh(&format!("dig +short +time=2 +tries=1 SRV _autodiscover._tcp.good.lab @{ip}"));
    assert_eq!(String::from_utf8_lossy(&dig.stdout).trim(), "0 0 443 mail.good.lab.", "dig agrees");
    let via_srv = rec(&v, "https://mail.good.lab/autodiscover/autodiscover.xml");
    assert_eq!(via_srv.http.as_ref().unwrap().links, urls, "{via_srv:#?}");
    // the POX URLs were checked next
    for u in urls {
        let r = rec(&v, u);
        assert_eq!((r.verdict.as_str(), r.http.as_ref().unwrap().status), ("ok", Some(401)), "{u}");
    }
    // the password never appears in the output (JSON and table), nor its Basic encoding
    let mut out = Vec::new();
    check::output::write(&v, true, &mut out).unwrap();
    check::output::write(&v, false, &mut out).unwrap();
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("jane@good.lab sent (Basic over TLS)"), "{out}");
    let basic = check::creds::Credentials::new("jane@good.lab", &password).basic();
    let b64 = basic.trim_start_matches("Basic ");
    assert!(!out.contains(&password) && !out.contains(b64), "password in the output");
    assert!(!format!("{v:?}").contains(&password));
    // and never over plain HTTP: the plain server saw no Authorization header
    for i in 0..3 {
        let log = std::fs::read_to_string(lab.dir.join(format!("srv{i}.err"))).unwrap_or_default();
        assert!(!log.contains("PLAIN-AUTH-SEEN"), "credentials sent over plain HTTP: {log}");
        assert!(!log.contains(&password));
    }
}
