//! `tracehound convert IN -w OUT.pcapng`: a capture tracehound reads — a Network Monitor
//! `.cap` (or `.chn` set), an ETL from `netsh trace` or `pktmon`, a pcap or pcapng, gzip'd
//! or not — written as a pcapng that Wireshark opens. For the Windows formats the trace's
//! interfaces become IDBs (named as the trace names them: `eth:12`, `wifi:7`,
//! `vNIC:...`, `pktmon:<component>`), the direction goes in `epb_flags`, and the process
//! (`process NAME (pid N)`) and 802.11 metadata in the packet comment.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use tracehound_capture::CaptureReader;
use tracehound_wintrace::pcapng_out::{convert, PcapngWriter};
use tracehound_wintrace::{Direction, WinReader};

use crate::exit;

#[derive(clap::Args)]
#[command(after_help = "Examples:
  tracehound convert NetTrace.etl -w NetTrace.pcapng       # netsh trace start capture=yes
  tracehound convert PktMon.etl -w pktmon.pcapng           # each packet once (nearest the wire)
  tracehound convert PktMon.etl --all-appearances -w all.pcapng
  tracehound convert trace.chn -w trace.pcapng             # trace.cap, trace(1).cap, ...

A summary (packets, interfaces, events that are not packets, PktMon drops) goes to stderr.")]
pub struct Args {
    /// The capture to convert (NetMon .cap/.chn, ETL, pcap, pcapng; .gz; - for standard input).
    #[arg(value_name = "IN")]
    input: PathBuf,
    /// The pcapng file to write (- for standard output).
    #[arg(short = 'w', long = "write", value_name = "OUT")]
    output: PathBuf,
    /// PktMon: keep every appearance of a packet (one per component it crossed) instead of
    /// the one nearest the wire.
    #[arg(long)]
    all_appearances: bool,
}

const APP: &str = concat!("tracehound ", env!("CARGO_PKG_VERSION"));

/// The input is a Windows capture readable with full metadata (a file, not a stream).
pub(crate) fn is_windows_file(path: &Path) -> bool {
    if path.as_os_str() == "-" {
        return false;
    }
    if !tracehound_wintrace::chain_paths(path).is_empty() {
        return true;
    }
    let mut head = [0u8; tracehound_wintrace::SNIFF_LEN];
    let Ok(mut f) = File::open(path) else { return false };
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    tracehound_wintrace::sniff(&head[..n]).is_some()
}

fn output(path: &Path) -> anyhow::Result<Box<dyn Write>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout())));
    }
    let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(Box::new(BufWriter::with_capacity(1 << 16, f)))
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    if is_windows_file(&a.input) {
        let mut rd =
            WinReader::open(&a.input).map_err(|e| anyhow::anyhow!("{}: {e}", a.input.display()))?;
        rd.set_all_appearances(a.all_appearances);
        let out = output(&a.output)?;
        let (sum, mut w) = convert(&mut rd, out, APP)
            .map_err(|e| anyhow::anyhow!("{}: {e}", a.input.display()))?;
        w.flush()?;
        let st = rd.stats();
        eprintln!(
            "{}: {} ({}), {} packets on {} interfaces written to {}{}",
            a.input.display(),
            st.format,
            st.files,
            sum.packets,
            sum.interfaces,
            a.output.display(),
            if sum.comments > 0 {
                format!(", {} with comments", sum.comments)
            } else {
                String::new()
            }
        );
        for (kind, n) in &st.not_packets {
            eprintln!("  skipped {n} × {kind}");
        }
        if st.duplicate_appearances > 0 {
            eprintln!(
                "  {} further PktMon appearances of the same packets left out",
                st.duplicate_appearances
            );
        }
        if st.drops_total > 0 {
            eprintln!("  {} packets dropped by Windows components (see analyze)", st.drops_total);
        }
        for p in &st.problems {
            eprintln!("  warning: {p}");
        }
        if let Some(t) = &st.truncated {
            eprintln!("  warning: {t}");
            return Ok(exit::DAMAGED);
        }
        return Ok(if st.problems.is_empty() { exit::OK } else { exit::DAMAGED });
    }
    generic(&a)
}

/// Any other capture: frames as they are, one IDB per (interface, link type).
fn generic(a: &Args) -> anyhow::Result<u8> {
    let mut rd = CaptureReader::open(&a.input).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut w = PcapngWriter::new(output(&a.output)?, APP)?;
    let mut idbs: HashMap<(u32, u32), u32> = HashMap::new();
    let mut n = 0u64;
    let mut code = exit::OK;
    loop {
        let f = match rd.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                eprintln!("tracehound: {e}");
                code = exit::DAMAGED;
                break;
            }
        };
        let key = (f.interface, f.link.0);
        let idb = match idbs.get(&key) {
            Some(&i) => i,
            None => {
                let i = w.interface(f.link.0, "", "")?;
                idbs.insert(key, i);
                i
            }
        };
        w.packet(idb, f.ts.as_nanos(), f.data, f.orig_len, Direction::Unknown, None)?;
        n += 1;
    }
    w.into_inner().flush()?;
    eprintln!(
        "{}: {n} packets on {} interfaces written to {}",
        a.input.display(),
        idbs.len(),
        a.output.display()
    );
    if let Some(t) = &rd.stats().truncated {
        eprintln!("  warning: {t}");
        code = exit::DAMAGED;
    }
    Ok(code)
}
