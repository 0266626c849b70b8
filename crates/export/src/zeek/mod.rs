//! Zeek-compatible logs: `conn.log`, `dce_rpc.log`, `ssl.log`, `dns.log`, `http.log` in
//! Zeek's JSON log style (`LogAscii::use_json=T`): one JSON object per line, field names as
//! Zeek writes them (`id.orig_h`, …), unset optional fields left out, times as seconds since
//! the epoch, intervals as seconds, counts and ports as integers, bools as `true`/`false`.
//! tracehound's own fields follow Zeek's, each prefixed `th_` (so a Zeek pipeline that keeps
//! unknown fields keeps them, and one that drops them loses nothing of Zeek's).
//!
//! Every record of a connection carries the conversation's `uid` ([`uid::uid`]), as in Zeek.

pub mod conn;
pub mod dce_rpc;
pub mod dns;
pub mod http;
pub mod ssl;
pub mod uid;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::{ExportError, Source};

/// The logs written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Log {
    Conn,
    DceRpc,
    Ssl,
    Dns,
    Http,
}

impl Log {
    /// The file name (Zeek's log path plus `.log`).
    pub fn file_name(self) -> &'static str {
        match self {
            Log::Conn => "conn.log",
            Log::DceRpc => "dce_rpc.log",
            Log::Ssl => "ssl.log",
            Log::Dns => "dns.log",
            Log::Http => "http.log",
        }
    }
}

/// One log record, its fields written in order.
pub struct Rec {
    buf: Vec<u8>,
}

impl Default for Rec {
    fn default() -> Self {
        Rec::new()
    }
}

impl Rec {
    pub fn new() -> Rec {
        let mut buf = Vec::with_capacity(512);
        buf.push(b'{');
        Rec { buf }
    }

    fn key(&mut self, k: &str) {
        if self.buf.len() > 1 {
            self.buf.push(b',');
        }
        self.buf.push(b'"');
        self.buf.extend_from_slice(k.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    /// A number already written as JSON (an exact timestamp).
    pub fn num_text(&mut self, k: &str, v: &str) {
        self.key(k);
        self.buf.extend_from_slice(v.as_bytes());
    }

    pub fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        match serde_json::to_vec(v) {
            Ok(s) => self.buf.extend_from_slice(&s),
            Err(_) => self.buf.extend_from_slice(b"\"\""),
        }
    }

    pub fn opt_str(&mut self, k: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.str(k, v);
        }
    }

    pub fn count(&mut self, k: &str, v: u64) {
        self.key(k);
        self.buf.extend_from_slice(v.to_string().as_bytes());
    }

    pub fn opt_count(&mut self, k: &str, v: Option<u64>) {
        if let Some(v) = v {
            self.count(k, v);
        }
    }

    /// An interval or a real, in seconds (Zeek writes them with microsecond precision).
    pub fn real(&mut self, k: &str, v: f64) {
        if !v.is_finite() {
            return;
        }
        self.key(k);
        let s = format!("{v:.6}");
        self.buf.extend_from_slice(s.as_bytes());
    }

    pub fn opt_real(&mut self, k: &str, v: Option<f64>) {
        if let Some(v) = v {
            self.real(k, v);
        }
    }

    pub fn bool(&mut self, k: &str, v: bool) {
        self.key(k);
        self.buf.extend_from_slice(if v { b"true" } else { b"false" });
    }

    /// A set or vector of strings.
    pub fn strs(&mut self, k: &str, v: &[String]) {
        self.key(k);
        match serde_json::to_vec(v) {
            Ok(s) => self.buf.extend_from_slice(&s),
            Err(_) => self.buf.extend_from_slice(b"[]"),
        }
    }

    /// Zeek's `id` record: `id.orig_h`, `id.orig_p`, `id.resp_h`, `id.resp_p`.
    pub fn id(&mut self, orig: (IpAddr, u16), resp: (IpAddr, u16)) {
        self.str("id.orig_h", &orig.0.to_string());
        self.count("id.orig_p", u64::from(orig.1));
        self.str("id.resp_h", &resp.0.to_string());
        self.count("id.resp_p", u64::from(resp.1));
    }

    /// `id` from socket addresses.
    pub fn id_of(&mut self, orig: SocketAddr, resp: SocketAddr) {
        self.id((orig.ip(), orig.port()), (resp.ip(), resp.port()));
    }

    /// tracehound's fields common to every record: where it comes from.
    pub fn source(&mut self, src: &Source) {
        self.str("th_capture_file", &src.capture_file);
        self.str("th_capture_point", &src.capture_point);
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(b'}');
        self.buf
    }
}

/// Writes Zeek logs into one directory (records of every capture file appended).
pub struct ZeekSink {
    dir: PathBuf,
    open: BTreeMap<Log, (BufWriter<File>, u64)>,
}

impl ZeekSink {
    /// Write into `dir` (created when missing); existing logs there are replaced.
    pub fn create(dir: &Path) -> Result<ZeekSink, ExportError> {
        std::fs::create_dir_all(dir).map_err(|e| ExportError::io(dir, e))?;
        Ok(ZeekSink { dir: dir.to_path_buf(), open: BTreeMap::new() })
    }

    /// Make sure `logs` exist (empty when nothing was written to them).
    pub fn ensure(&mut self, logs: &[Log]) -> Result<(), ExportError> {
        for l in logs {
            self.writer(*l)?;
        }
        Ok(())
    }

    fn writer(&mut self, log: Log) -> Result<&mut (BufWriter<File>, u64), ExportError> {
        if !self.open.contains_key(&log) {
            let p = self.dir.join(log.file_name());
            let f = File::create(&p).map_err(|e| ExportError::io(&p, e))?;
            self.open.insert(log, (BufWriter::new(f), 0));
        }
        self.open
            .get_mut(&log)
            .ok_or_else(|| ExportError::io(&self.dir, std::io::Error::other("log writer vanished")))
    }

    /// Append one record.
    pub fn write(&mut self, log: Log, rec: Rec) -> Result<(), ExportError> {
        let path = self.dir.join(log.file_name());
        let (w, n) = self.writer(log)?;
        let line = rec.finish();
        w.write_all(&line)
            .and_then(|_| w.write_all(b"\n"))
            .map_err(|e| ExportError::io(&path, e))?;
        *n += 1;
        Ok(())
    }

    /// Flush and close; records written per log file.
    pub fn finish(self) -> Result<BTreeMap<&'static str, u64>, ExportError> {
        let mut out = BTreeMap::new();
        for (log, (mut w, n)) in self.open {
            let p = self.dir.join(log.file_name());
            w.flush().map_err(|e| ExportError::io(&p, e))?;
            out.insert(log.file_name(), n);
        }
        Ok(out)
    }
}
