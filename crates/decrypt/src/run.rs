//! The decryption pass: one streaming pass over a capture through the flows layer (which
//! reassembles each TCP direction and reports gaps), a [`Decryptor`] per run that keeps one
//! [`Conn`] per TCP connection, and optionally the plaintext capture writer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tracehound_capture::CaptureReader;
use tracehound_flows::{Config, Dir, FlowId, FlowInfo, Pass, Proto, StreamHandler, Timestamp};

use crate::kex::Shared;
use crate::keylog::KeyLog;
use crate::keys::PrivateKey;
use crate::pcapw::CaptureWriter;
use crate::rewrite::{Event, PlainWriter, WriteStats};
use crate::session::{Conn, Out};
use crate::suites;
use crate::verdict::{SessionReport, Why};

/// Live connections tracked at most (beyond it, new connections are counted, not decoded).
pub const MAX_LIVE: usize = 1 << 18;
/// Session reports kept at most.
pub const MAX_REPORTS: usize = 1 << 20;

/// Errors of a run (the CLI prefixes `tracehound:`).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Capture(#[from] tracehound_capture::CaptureError),
    #[error("{path}: {err}")]
    Write { path: String, err: std::io::Error },
    #[error("{path}: reading decryption secrets: {err}")]
    Secrets { path: String, err: std::io::Error },
}

/// Receives plaintext as it is decrypted (for `--follow`).
pub trait PlainSink {
    fn plain(&mut self, flow: &FlowInfo, dir: usize, data: &[u8], frame: u64);
}

/// Keys in, verdicts and plaintext out.
pub struct Decryptor<'s> {
    pub shared: Shared,
    conns: HashMap<FlowId, (FlowInfo, Conn)>,
    pub reports: Vec<SessionReport>,
    pub reports_dropped: u64,
    pub untracked: u64,
    events: Vec<Event>,
    want_events: bool,
    sink: Option<&'s mut (dyn PlainSink + Send)>,
}

impl<'s> Decryptor<'s> {
    pub fn new(
        shared: Shared,
        want_events: bool,
        sink: Option<&'s mut (dyn PlainSink + Send)>,
    ) -> Self {
        Decryptor {
            shared,
            conns: HashMap::new(),
            reports: Vec::new(),
            reports_dropped: 0,
            untracked: 0,
            events: Vec::new(),
            want_events,
            sink,
        }
    }

    /// Events produced since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn drain(&mut self, id: FlowId, frame: u64) {
        let Some((info, c)) = self.conns.get_mut(&id) else { return };
        let outs = std::mem::take(&mut c.out);
        for o in outs {
            match o {
                Out::Plain { dir, data, cipher_end, plain_end } => {
                    if let Some(s) = self.sink.as_deref_mut() {
                        s.plain(info, dir, &data, frame);
                    }
                    if self.want_events {
                        self.events.push(Event::Plain {
                            flow: *info,
                            dir,
                            data,
                            cipher_end,
                            plain_end,
                        });
                    }
                }
                Out::Decided(decrypt) if self.want_events => {
                    let comment = comment_for(c);
                    self.events.push(Event::Decided { flow: *info, decrypt, comment });
                }
                Out::Decided(_) => {}
            }
        }
    }

    fn conn(&mut self, flow: &FlowInfo, frame: u64) -> Option<&mut Conn> {
        if flow.proto != Proto::Tcp {
            return None;
        }
        if !self.conns.contains_key(&flow.id) {
            if self.conns.len() >= MAX_LIVE {
                self.untracked += 1;
                return None;
            }
            self.conns.insert(flow.id, (*flow, Conn::new(frame)));
        }
        self.conns.get_mut(&flow.id).map(|(_, c)| c)
    }
}

fn comment_for(c: &Conn) -> String {
    let v = c.version().map(suites::version_name).unwrap_or_default();
    let s = c.suite.map(|s| s.name).unwrap_or("?");
    format!(
        "tracehound decrypt: {v} session ({s}) decrypted; TLS records replaced by their plaintext"
    )
}

fn dir_idx(d: Dir) -> usize {
    d.idx()
}

impl StreamHandler for Decryptor<'_> {
    fn tcp_data(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        data: &[u8],
        frame: u64,
        _ts: Timestamp,
    ) {
        // Split borrows: the connection and the shared keys.
        let mut shared = std::mem::take(&mut self.shared);
        if let Some(c) = self.conn(flow, frame) {
            c.data(&mut shared, dir_idx(dir), offset, data, frame);
        }
        self.shared = shared;
        self.drain(flow.id, frame);
    }

    fn tcp_gap(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        _offset: u64,
        len: u64,
        frame: u64,
        _ts: Timestamp,
    ) {
        if let Some((_, c)) = self.conns.get_mut(&flow.id) {
            c.gap(dir_idx(dir), len, frame);
        }
    }

    fn tcp_end(&mut self, flow: &FlowInfo, _ts: Timestamp) {
        let Some((info, mut c)) = self.conns.remove(&flow.id) else {
            if self.want_events && flow.proto == Proto::Tcp {
                self.events.push(Event::Ended { flow: *flow });
            }
            return;
        };
        c.finish();
        self.conns.insert(flow.id, (info, c));
        self.drain(flow.id, 0);
        let Some((info, c)) = self.conns.remove(&flow.id) else { return };
        if self.want_events {
            self.events.push(Event::Ended { flow: info });
        }
        if c.not_tls {
            return;
        }
        if self.reports.len() >= MAX_REPORTS {
            self.reports_dropped += 1;
            return;
        }
        self.reports.push(report(&info, &c));
    }

    fn udp(&mut self, _: &FlowInfo, _: Dir, _: &[u8], _: u64, _: Timestamp) {}
}

/// The report of a finished connection.
pub fn report(info: &FlowInfo, c: &Conn) -> SessionReport {
    let decrypted = c.decrypted_records() > 0 && !matches!(c.why, Some(Why::AuthFailed { .. }));
    SessionReport {
        src: info.orig.ip().to_string(),
        sport: info.orig.port(),
        dst: info.resp.ip().to_string(),
        dport: info.resp.port(),
        sni: c.ch.as_ref().and_then(|h| h.sni.clone()),
        version: c.version().map(suites::version_name),
        cipher: c.sh.as_ref().map(|s| suites::name(s.suite)),
        key_exchange: c.kx().map(|k| k.name().to_string()),
        decrypted,
        reason: c.why.as_ref().map(|w| w.to_string()),
        records: c.records(),
        client_bytes: c.app_bytes(0),
        server_bytes: c.app_bytes(1),
        first_frame: c.first_frame,
        resumed: c.resumed,
        secret_from: c.secret_from.clone(),
        early_data: c.early.summary(),
    }
}

/// What `tracehound decrypt` was asked to do.
#[derive(Default)]
pub struct Options {
    pub keys: Vec<PrivateKey>,
    pub keylog: KeyLog,
    pub write: Option<PathBuf>,
    pub keep_ports: bool,
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub sessions: Vec<SessionReport>,
    /// Keys that matched no server certificate (their sources).
    pub unmatched_keys: Vec<String>,
    /// Key log warnings, DSB problems, capture damage, limits reached.
    pub warnings: Vec<String>,
    pub write_stats: Option<WriteStats>,
    /// Key log entries found in decryption secrets blocks.
    pub dsb_entries: u64,
}

/// Decrypt the TLS sessions of one capture file.
pub fn run(
    path: &Path,
    mut opts: Options,
    sink: Option<&mut (dyn PlainSink + Send)>,
) -> Result<Outcome, RunError> {
    let name = path.display().to_string();
    let mut out = Outcome::default();
    if path != Path::new("-") {
        let found =
            crate::dsb::scan(path).map_err(|err| RunError::Secrets { path: name.clone(), err })?;
        let before = opts.keylog.entries;
        for (i, k) in found.keylogs.iter().enumerate() {
            opts.keylog.add_text(&format!("{name} (decryption secrets block {})", i + 1), k);
        }
        out.dsb_entries = opts.keylog.entries - before;
        out.warnings.extend(found.problems.into_iter().map(|p| format!("{name}: {p}")));
    }
    out.warnings.append(&mut opts.keylog.warnings);
    if opts.keylog.warnings_dropped > 0 {
        out.warnings
            .push(format!("{} more key log warnings not shown", opts.keylog.warnings_dropped));
    }
    let wpath = opts.write.clone();
    if let Some(w) = &wpath {
        // Writing over the capture being read would truncate it under the reader.
        let same = match (std::fs::canonicalize(path), std::fs::canonicalize(w)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            return Err(RunError::Write {
                path: w.display().to_string(),
                err: std::io::Error::other("is the capture being read: choose another output file"),
            });
        }
    }
    let mut rd = CaptureReader::open(path)?;
    let mut writer = match &wpath {
        Some(p) => {
            let cw = CaptureWriter::create(p)
                .map_err(|err| RunError::Write { path: p.display().to_string(), err })?;
            Some(PlainWriter::new(cw, opts.keep_ports))
        }
        None => None,
    };
    let werr = |err| RunError::Write {
        path: wpath.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        err,
    };
    let shared = Shared::new(std::mem::take(&mut opts.keys), std::mem::take(&mut opts.keylog));
    let mut dec = Decryptor::new(shared, writer.is_some(), sink);
    let mut pass = Pass::new(Config::default());
    loop {
        let frame = match rd.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                out.warnings.push(format!("{e} (everything before was decrypted)"));
                break;
            }
        };
        pass.frame(&frame, &mut dec);
        if let Some(w) = writer.as_mut() {
            let ev = dec.take_events();
            w.frame(frame.link.0, frame.ts.as_nanos(), frame.data, frame.orig_len, ev)
                .map_err(werr)?;
        }
    }
    if let Some(t) = &rd.stats().truncated {
        out.warnings.push(format!("{name}: {t}"));
    }
    pass.finish(&mut dec);
    if let Some(w) = writer.take() {
        let (_, st) = w.finish(dec.take_events()).map_err(werr)?;
        out.write_stats = Some(st);
    }
    if dec.untracked > 0 {
        out.warnings.push(format!(
            "{} connections not decoded: more than {MAX_LIVE} live at once",
            dec.untracked
        ));
    }
    if dec.reports_dropped > 0 {
        out.warnings
            .push(format!("{} sessions not listed: more than {MAX_REPORTS}", dec.reports_dropped));
    }
    out.unmatched_keys = dec.shared.unmatched_keys();
    out.sessions = std::mem::take(&mut dec.reports);
    out.sessions.sort_by_key(|s| s.first_frame);
    Ok(out)
}
