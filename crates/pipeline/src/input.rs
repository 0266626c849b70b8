//! Reading captures: one streaming pass per file, a progress bar on a terminal, and damage
//! reported (not fatal) with the file and position.

use std::io::IsTerminal;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use tracehound_capture::{CaptureReader, CaptureStats};
use tracehound_flows::{Config, Conversation, DecodeStats, EngineStats, Pass, StreamHandler};

use crate::fileset::map::FrameMap;
use crate::offload;
use crate::source::FrameSource;

/// What one file's pass produced besides the conversations handed to the caller.
pub struct FileRun {
    pub name: String,
    pub capture: CaptureStats,
    pub decode: DecodeStats,
    pub engine: EngineStats,
    /// IP reassembly counters (fragments, datagrams completed / left incomplete).
    pub defrag: tracehound_wire::defrag::Stats,
    /// The capture was damaged / cut short at this point (frames before it were analysed).
    pub damage: Option<String>,
    /// ETL / NetMon inputs: what the Windows reader saw (drops, interfaces, header facts) and
    /// the processes behind connections, taken once the pass ended.
    pub windows: Option<(tracehound_wintrace::WinStats, Vec<tracehound_wintrace::ProcessInfo>)>,
    /// Problems met on the way that did not stop the pass (e.g. unreadable decryption
    /// secrets blocks), for the caller to show.
    pub warnings: Vec<String>,
    /// A file set read as one capture (`crate::fileset`): its files and where their frames
    /// are in the pass's numbering (empty for a single file: numbers are the file's own).
    pub files: FrameMap,
}

/// Run the pass over `path`, handing every finished conversation to `on_conv`.
/// `after_frame` runs every few thousand frames and at the end (to drain analyzer output).
pub fn run_file<H: StreamHandler>(
    path: &Path,
    cfg: Config,
    handler: &mut H,
    on_conv: &mut dyn FnMut(Conversation, &mut H),
    after_frame: &mut dyn FnMut(&mut H),
) -> anyhow::Result<FileRun> {
    run_reader(open(path)?, cfg, handler, on_conv, after_frame)
}

/// [`run_file`] over a capture already opened (a file, standard input, or bytes in memory).
pub fn run_reader<H: StreamHandler>(
    reader: impl FrameSource,
    cfg: Config,
    handler: &mut H,
    on_conv: &mut dyn FnMut(Conversation, &mut H),
    after_frame: &mut dyn FnMut(&mut H),
) -> anyhow::Result<FileRun> {
    pass_over(reader, cfg, handler, &mut |convs, h, tick| {
        for c in convs {
            on_conv(c, h);
        }
        if tick {
            after_frame(h);
        }
    })
}

/// Open a capture file (or `-`, standard input) for a pass.
pub fn open(path: &Path) -> anyhow::Result<CaptureReader> {
    CaptureReader::open(path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// [`run_reader`] with the handler (and `on_conv`, `after_frame`) on a second thread, and `side`
/// (a further handler that needs neither) on a third: the reading thread decodes and tracks
/// flows while the workers run the protocol analyzers. Each handler sees the same calls in the
/// same order as with [`run_file`]; see [`crate::offload`].
pub fn run_reader_parallel<H: StreamHandler + Send, S: StreamHandler + Send>(
    reader: impl FrameSource,
    cfg: Config,
    handler: &mut H,
    side: Option<&mut S>,
    on_conv: &mut (dyn FnMut(Conversation, &mut H) + Send),
    after_frame: &mut (dyn FnMut(&mut H) + Send),
) -> anyhow::Result<FileRun> {
    let (mut rec, main, side_rep) = offload::channel(side.is_some(), reader.shared_map());
    std::thread::scope(|s| {
        let worker = std::thread::Builder::new()
            .name("analyzers".into())
            .spawn_scoped(s, move || main.run(handler, on_conv, after_frame))?;
        let side_worker = match (side, side_rep) {
            (Some(h), Some(rep)) => Some(
                std::thread::Builder::new()
                    .name("analyzers-2".into())
                    .spawn_scoped(s, move || rep.run(h, &mut |_, _| {}, &mut |_| {}))?,
            ),
            _ => None,
        };
        let run = pass_over(reader, cfg, &mut rec, &mut |convs, r, tick| {
            for c in convs {
                r.conversation(c);
            }
            if tick {
                r.tick();
            }
        });
        rec.flush();
        drop(rec);
        for w in std::iter::once(worker).chain(side_worker) {
            if let Err(panic) = w.join() {
                std::panic::resume_unwind(panic);
            }
        }
        run
    })
}

/// The streaming pass itself. `convs_done(conversations, handler, tick)` gets the finished
/// conversations every few thousand frames (`tick` set) and at the end.
fn pass_over<H: StreamHandler>(
    mut reader: impl FrameSource,
    cfg: Config,
    handler: &mut H,
    convs_done: &mut dyn FnMut(&mut dyn Iterator<Item = Conversation>, &mut H, bool),
) -> anyhow::Result<FileRun> {
    let bar = progress(&reader);
    let mut pass = Pass::new(cfg);
    let mut damage = None;
    let mut n: u64 = 0;
    loop {
        match reader.next_frame() {
            Ok(Some(f)) => pass.frame(&f, handler),
            Ok(None) => break,
            Err(e) => {
                damage = Some(e.to_string());
                break;
            }
        }
        n += 1;
        if n % 4096 == 0 {
            convs_done(&mut pass.drain_finished(), handler, true);
            if let Some(b) = &bar {
                if n % 65536 == 0 {
                    b.set_position(reader.source_bytes_read());
                }
            }
        }
    }
    convs_done(&mut pass.drain_finished(), handler, false);
    // End the flows still alive in batches: 400,000 half-open flows (a SYN flood) are not
    // all turned into conversations at once.
    loop {
        let batch = pass.finish_batch(handler, 4096);
        if batch.is_empty() {
            break;
        }
        convs_done(&mut batch.into_iter(), handler, true);
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let name = reader.name().to_string();
    let capture = reader.stats().clone();
    let windows = reader.windows().map(|w| (w.stats().clone(), w.processes().to_vec()));
    if damage.is_none() {
        damage = capture.truncated.clone().map(|t| format!("{name}: {t}"));
    }
    Ok(FileRun {
        name,
        capture,
        decode: pass.decode_stats().clone(),
        engine: pass.engine.take_stats(),
        defrag: pass.defrag_stats(),
        damage,
        windows,
        warnings: Vec::new(),
        files: reader.frame_map(),
    })
}

fn progress(r: &impl FrameSource) -> Option<ProgressBar> {
    let len = r.source_len()?;
    if !std::io::stderr().is_terminal() || len < 32 << 20 {
        return None;
    }
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .ok()?
        .progress_chars("=> "),
    );
    b.set_message(r.name().to_string());
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_flows::{Dir, FlowInfo, Timestamp};

    /// A handler that writes down every call it gets (with a digest of the bytes).
    #[derive(Default)]
    struct Log(Vec<String>);

    fn digest(data: &[u8]) -> u64 {
        data.iter()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100_0000_01b3))
    }

    impl StreamHandler for Log {
        fn tcp_data(
            &mut self,
            flow: &FlowInfo,
            dir: Dir,
            offset: u64,
            data: &[u8],
            frame: u64,
            ts: Timestamp,
        ) {
            self.0.push(format!(
                "data {} {dir:?} {offset} {} {:x} {frame} {ts:?}",
                flow.id,
                data.len(),
                digest(data)
            ));
        }
        fn tcp_gap(
            &mut self,
            flow: &FlowInfo,
            dir: Dir,
            offset: u64,
            len: u64,
            frame: u64,
            _: Timestamp,
        ) {
            self.0.push(format!("gap {} {dir:?} {offset} {len} {frame}", flow.id));
        }
        fn tcp_end(&mut self, flow: &FlowInfo, ts: Timestamp) {
            self.0.push(format!("end {} {ts:?}", flow.id));
        }
        fn udp(&mut self, flow: &FlowInfo, dir: Dir, data: &[u8], frame: u64, _: Timestamp) {
            self.0.push(format!(
                "udp {} {dir:?} {} {:x} {frame}",
                flow.id,
                data.len(),
                digest(data)
            ));
        }
    }

    fn runs(path: &Path) -> (Vec<String>, Vec<String>, Vec<String>) {
        let mut on_conv = |c: Conversation, h: &mut Log| {
            h.0.push(format!("conv {} {}", c.info.id, c.first_frame))
        };
        let mut tick = |h: &mut Log| h.0.push("tick".into());
        let mut one = Log::default();
        run_file(path, Config::default(), &mut one, &mut on_conv, &mut tick).unwrap();
        let (mut main, mut side) = (Log::default(), Log::default());
        run_reader_parallel(
            open(path).unwrap(),
            Config::default(),
            &mut main,
            Some(&mut side),
            &mut on_conv,
            &mut tick,
        )
        .unwrap();
        (one.0, main.0, side.0)
    }

    #[test]
    fn analyzers_on_other_threads_get_the_same_calls_in_the_same_order() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        // Real captures with DCE/RPC over TCP and SMB, TLS, DNS over UDP, gaps (packets the
        // capture missed) and many connections.
        for f in [
            "tests/fixtures/lab/rpc-smb-pipe.pcap",
            "tests/fixtures/lab/net-capture-missed.pcap",
            "tests/fixtures/lab/net-dns-failure.pcap",
            "tests/fixtures/lab/net-tls-expired.pcap",
            "../shared/captures/dcerpc/dcerpc-smb-test-01__input.pcap",
        ] {
            let path = Path::new(root).join(f);
            let (one, main, side) = runs(&path);
            assert!(one.len() > 10, "{f}: only {} calls", one.len());
            assert!(one.iter().any(|l| l.starts_with("conv ")), "{f}");
            assert!(one.iter().any(|l| l.starts_with("data ") || l.starts_with("udp ")), "{f}");
            assert_eq!(one, main, "{f}: the main worker saw something else");
            let streams: Vec<&String> =
                one.iter().filter(|l| !l.starts_with("conv ") && l.as_str() != "tick").collect();
            assert_eq!(
                streams,
                side.iter().collect::<Vec<_>>(),
                "{f}: the second worker saw something else"
            );
        }
        let gaps = runs(&Path::new(root).join("tests/fixtures/lab/net-capture-missed.pcap")).0;
        assert!(
            gaps.iter().any(|l| l.starts_with("gap ")),
            "the capture with missed packets has a gap"
        );
    }
}
