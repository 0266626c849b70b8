//! Network-namespace lab for the probe tests (root required; CI runs them as root).
//!
//! Each [`Lab`] creates two namespaces joined by a veth pair on its own /24
//! (`10.77.<200+n>.0/24`: client `.1`, server `.2`), with no link to the host's network.
//! Servers run in the server namespace through `ip netns exec`; the probe runs in-process
//! on a thread that has `setns()`-ed into the client namespace (its current-thread tokio
//! runtime and any helper threads it spawns inherit that namespace). Everything is torn
//! down on drop, also when a test fails: spawned processes are killed by PID, then the
//! namespaces are deleted. If `ip netns` does not work the test fails (never skips).

#![allow(dead_code)]

use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicU32 = AtomicU32::new(0);

pub struct Lab {
    pub client_ns: String,
    pub server_ns: String,
    pub client_ip: String,
    pub server_ip: String,
    pub net: u32,
    children: Vec<Child>,
    pub dir: std::path::PathBuf,
}

fn sh(cmd: &str) -> std::process::Output {
    Command::new("sh").arg("-c").arg(cmd).output().expect("sh runs")
}

fn must(cmd: &str) {
    let o = sh(cmd);
    assert!(
        o.status.success(),
        "command failed: {cmd}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

impl Lab {
    /// A fresh client/server namespace pair. `slot` (0..=49) picks the /24, so tests running
    /// in parallel in this binary never share addresses.
    pub fn new(slot: u32) -> Lab {
        assert!(slot < 50);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let tag = format!("{}{}", std::process::id() % 100000, n);
        let client_ns = format!("thpq-c{tag}");
        let server_ns = format!("thpq-s{tag}");
        let net = 200 + slot;
        let (client_ip, server_ip) = (format!("10.77.{net}.1"), format!("10.77.{net}.2"));
        let dir = std::env::temp_dir().join(format!("thpq-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let lab =
            Lab { client_ns, server_ns, client_ip, server_ip, net, children: Vec::new(), dir };
        let (c, s) = (&lab.client_ns, &lab.server_ns);
        let (vc, vs) = (format!("pqc{tag}"), format!("pqs{tag}"));
        must(&format!("ip netns add {c} && ip netns add {s}"));
        must(&format!("ip link add {vc} netns {c} type veth peer name {vs} netns {s}"));
        must(&format!(
            "ip -n {c} addr add {}/24 dev {vc} && ip -n {s} addr add {}/24 dev {vs} && \
             ip -n {c} link set lo up && ip -n {s} link set lo up && \
             ip -n {c} link set {vc} up && ip -n {s} link set {vs} up",
            lab.client_ip, lab.server_ip
        ));
        // Wait for the link (bounded).
        let end = Instant::now() + Duration::from_secs(10);
        // (no ping here) wait for carrier on both ends
        loop {
            let a = sh(&format!("ip -n {c} link show dev {vc}"));
            let b = sh(&format!("ip -n {s} link show dev {vs}"));
            if String::from_utf8_lossy(&a.stdout).contains("LOWER_UP")
                && String::from_utf8_lossy(&b.stdout).contains("LOWER_UP")
            {
                break;
            }
            assert!(Instant::now() < end, "veth link did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        lab
    }

    /// Adds IPv6 addresses (`fd77:<net>::1` client, `::2` server, no DAD); returns the server's.
    pub fn add_v6(&self) -> String {
        let (c, s) = (&self.client_ns, &self.server_ns);
        let dev = |ns: &str| {
            let o = sh(&format!("ip -n {ns} -o link show type veth"));
            let t = String::from_utf8_lossy(&o.stdout).to_string();
            t.split(':').nth(1).unwrap_or("").trim().split('@').next().unwrap_or("").to_string()
        };
        must(&format!("ip -n {c} addr add fd77:{}::1/64 dev {} nodad", self.net, dev(c)));
        must(&format!("ip -n {s} addr add fd77:{}::2/64 dev {} nodad", self.net, dev(s)));
        format!("fd77:{}::2", self.net)
    }

    /// Runs a shell command in the server namespace and waits (must succeed).
    pub fn server(&self, cmd: &str) {
        must(&format!("ip netns exec {} sh -c '{}'", self.server_ns, cmd.replace('\'', "'\\''")));
    }

    /// Runs a shell command in the client namespace, returns stdout (must succeed).
    pub fn client_output(&self, cmd: &str) -> String {
        let o =
            sh(&format!("ip netns exec {} sh -c '{}'", self.client_ns, cmd.replace('\'', "'\\''")));
        assert!(
            o.status.success(),
            "client command failed: {cmd}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Starts a long-running process in the server namespace (killed on drop).
    pub fn spawn_server(&mut self, program: &str, args: &[&str]) -> u32 {
        let ns = self.server_ns.clone();
        self.spawn_in(&ns, program, args)
    }

    /// Starts a long-running process in the client namespace (killed on drop).
    pub fn spawn_client(&mut self, program: &str, args: &[&str]) -> u32 {
        let ns = self.client_ns.clone();
        self.spawn_in(&ns, program, args)
    }

    /// Sends SIGINT to a process this lab started and waits for it (at most 10 s, then SIGKILL).
    pub fn interrupt(&mut self, pid: u32) {
        if let Some(i) = self.children.iter().position(|c| c.id() == pid) {
            let mut c = self.children.remove(i);
            // SAFETY: signalling a child we spawned and have not reaped.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) };
            let end = Instant::now() + Duration::from_secs(10);
            while Instant::now() < end {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn spawn_in(&mut self, ns: &str, program: &str, args: &[&str]) -> u32 {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, program]).args(args);
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::from(
            std::fs::File::create(self.dir.join(format!("server-{}.err", self.children.len())))
                .expect("log"),
        ));
        let child = cmd.spawn().expect("spawn server");
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// Waits until `proto` `port` is bound in the server namespace (bounded).
    pub fn wait_listen(&self, proto: &str, port: u16) {
        let flag = if proto == "udp" { "-Hlun" } else { "-Hltn" };
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let o = sh(&format!("ip netns exec {} ss {flag} 'sport = :{port}'", self.server_ns));
            if !String::from_utf8_lossy(&o.stdout).trim().is_empty() {
                return;
            }
            assert!(Instant::now() < end, "{proto} {port} never listened in {}", self.server_ns);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `f` on a thread inside the client namespace.
    pub fn in_client<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        in_ns(&self.client_ns, f)
    }

    pub fn in_server<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        in_ns(&self.server_ns, f)
    }

    /// Runs `portqry` with `args` in the client namespace: (exit code or error text, output, elapsed).
    pub fn portqry(&self, args: &[&str]) -> (Result<i32, String>, String, Duration) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        self.in_client(move || {
            let mut out = Vec::new();
            let t = Instant::now();
            let r = tracehound_probe::run(&args, &mut out).map_err(|e| e.to_string());
            (r, String::from_utf8_lossy(&out).into_owned(), t.elapsed())
        })
    }
}

pub fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        // SAFETY: setns on this thread only, with a namespace file descriptor we hold open.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns({path}) failed: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .expect("namespace thread panicked")
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = sh(&format!("ip netns del {} ; ip netns del {}", self.client_ns, self.server_ns));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Fails (not skips) when the environment cannot run these tests.
pub fn require_root_tools(tools: &[&str]) {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "these tests need root (CI runs them as root)");
    for t in tools {
        assert!(sh(&format!("command -v {t}")).status.success(), "required tool {t} is missing");
    }
}

/// Parses the JSON Lines output into values.
pub fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The record for proto/port.
pub fn record<'a>(v: &'a [serde_json::Value], proto: &str, port: u16) -> &'a serde_json::Value {
    v.iter()
        .find(|r| r["proto"] == proto && r["port"] == port)
        .unwrap_or_else(|| panic!("no record for {proto} {port} in {v:#?}"))
}
