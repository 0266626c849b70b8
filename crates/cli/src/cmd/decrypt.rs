//! `tracehound decrypt`: TLS sessions of a capture, decrypted with private keys and/or key
//! logs, each with a verdict in words; optionally a plaintext capture (`-w`) and the
//! decrypted streams (`--follow`). Secrets are never printed.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use tracehound_decrypt::{FlowInfo, Options, PlainSink, SessionReport};

use crate::exit;
use crate::keys::KeyArgs;

#[derive(clap::Args)]
#[command(after_help = "Examples:
  tracehound decrypt --key server.pfx capture.pcapng
  tracehound decrypt --keylog sslkeys.log -w plain.pcapng capture.pcap
  TRACEHOUND_KEY_PASSWORD=… tracehound decrypt --key key.pem --json capture.pcap

The key password comes from TRACEHOUND_KEY_PASSWORD, --key-password-file, or a prompt on a
terminal (never the command line). Decryption secrets blocks inside a pcapng are used
automatically. -w writes .pcapng or .pcap (by extension), mode 0600.")]
pub struct Args {
    /// The capture (pcap, pcapng, optionally .gz).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    secrets: KeyArgs,
    /// Write a capture with each decrypted session's TLS records replaced by plaintext.
    #[arg(short = 'w', value_name = "OUT")]
    write: Option<PathBuf>,
    /// Keep the TLS ports in the written capture (default: 443→80, 636→389, …).
    #[arg(long)]
    keep_ports: bool,
    /// Print each decrypted stream (both directions).
    #[arg(long)]
    follow: bool,
    /// One JSON object per session instead of a table.
    #[arg(long)]
    json: bool,
}

/// `--follow`: decrypted bytes as text, non-printable bytes as '.'.
struct Follow<W: Write> {
    out: W,
    last: Option<(u64, usize)>,
}

impl<W: Write> PlainSink for Follow<W> {
    fn plain(&mut self, flow: &FlowInfo, dir: usize, data: &[u8], frame: u64) {
        if self.last != Some((flow.id, dir)) {
            let (s, d) = if dir == 0 { (flow.orig, flow.resp) } else { (flow.resp, flow.orig) };
            let _ = writeln!(self.out, "\n=== {s} → {d} (frame {frame})");
            self.last = Some((flow.id, dir));
        }
        let text: String = data
            .iter()
            .map(|b| match *b {
                b'\n' | b'\t' => *b as char,
                b'\r' => '\r',
                0x20..=0x7e => *b as char,
                _ => '.',
            })
            .collect();
        let _ = self.out.write_all(text.as_bytes());
    }
}

fn table(out: &mut impl Write, sessions: &[SessionReport]) -> io::Result<()> {
    writeln!(
        out,
        "{:<22} {:<22} {:<20} {:<8} {:<40} {:<7} {:<14} {:>10} {:>10}",
        "CLIENT", "SERVER", "SNI", "VERSION", "SUITE", "KX", "VERDICT", "C→S BYTES", "S→C BYTES"
    )?;
    for s in sessions {
        let verdict = match (s.decrypted, &s.reason) {
            (true, None) => "decrypted",
            (true, Some(_)) => "decrypted, partly",
            (false, _) => "NOT decrypted",
        };
        writeln!(
            out,
            "{:<22} {:<22} {:<20} {:<8} {:<40} {:<7} {:<14} {:>10} {:>10}",
            format!("{}:{}", s.src, s.sport),
            format!("{}:{}", s.dst, s.dport),
            s.sni.as_deref().unwrap_or("-"),
            s.version.as_deref().unwrap_or("-"),
            s.cipher.as_deref().unwrap_or("-"),
            s.key_exchange.as_deref().unwrap_or("-"),
            verdict,
            s.client_bytes,
            s.server_bytes
        )?;
    }
    let why: Vec<_> = sessions.iter().filter(|s| s.reason.is_some()).collect();
    if !why.is_empty() {
        writeln!(out, "\nWhy:")?;
        for s in why {
            writeln!(
                out,
                "  {}:{} → {}:{} (frame {}): {}",
                s.src,
                s.sport,
                s.dst,
                s.dport,
                s.first_frame,
                s.reason.as_deref().unwrap_or("")
            )?;
        }
    }
    // TLS 1.3 0-RTT: what happened to the client's early data (JSON `early_data`).
    let early: Vec<_> = sessions.iter().filter(|s| s.early_data.is_some()).collect();
    if !early.is_empty() {
        writeln!(out, "\n0-RTT early data:")?;
        for s in early {
            let what = s.early_data.as_deref().unwrap_or("");
            let (c, d) = (format!("{}:{}", s.src, s.sport), format!("{}:{}", s.dst, s.dport));
            writeln!(out, "  {c} → {d} (frame {}): {what}", s.first_frame)?;
        }
    }
    Ok(())
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let keys = a.secrets.load_keys()?;
    let keylog = a.secrets.load_keylogs()?;
    let opts = Options { keys, keylog, write: a.write.clone(), keep_ports: a.keep_ports };
    let mut follow = Follow { out: BufWriter::new(io::stdout()), last: None };
    let sink: Option<&mut (dyn PlainSink + Send)> = if a.follow { Some(&mut follow) } else { None };
    let res = tracehound_decrypt::run(&a.file, opts, sink)?;
    follow.out.flush()?;
    if a.follow {
        writeln!(follow.out)?;
    }
    drop(follow);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for w in &res.warnings {
        eprintln!("tracehound: warning: {w}");
    }
    for k in &res.unmatched_keys {
        eprintln!("tracehound: key {k} matches no server certificate in the capture");
    }
    if a.json {
        for s in &res.sessions {
            serde_json::to_writer(&mut out, s)?;
            writeln!(out)?;
        }
    } else {
        if res.sessions.is_empty() {
            writeln!(out, "No TLS sessions in {}.", a.file.display())?;
        } else {
            table(&mut out, &res.sessions)?;
        }
        if let (Some(p), Some(st)) = (&a.write, &res.write_stats) {
            writeln!(
                out,
                "\nWrote {} ({} packets, {} rewritten with plaintext).",
                p.display(),
                st.packets_out,
                st.rewritten
            )?;
        }
    }
    out.flush()?;
    Ok(exit::OK)
}
