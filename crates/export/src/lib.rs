//! Results a data platform can query.
//!
//! Two formats, both written into a directory (`--format parquet|zeek -o DIR`):
//!
//! - **Parquet** ([`parquet_out`]): the tables `conversations`, `calls`, `endpoints`,
//!   `tls_sessions` and `findings`, each a directory partitioned by capture file
//!   (`DIR/<table>/capture_file=<name>/part-0.parquet`, Hive style). Column names are the
//!   JSON field names of the `--json` output ([`schema`]); every row also has
//!   `capture_file` (the capture as named on the command line, the JSON's `file`) and
//!   `capture_point` (where it was captured: see [`Source`]). DuckDB, Spark, Trino and pandas
//!   read the directories as they are.
//! - **Zeek** ([`zeek`]): `conn.log`, `dce_rpc.log`, `ssl.log`, `dns.log`, `http.log` in
//!   Zeek's JSON log style, with Zeek's field names and types, tracehound's own fields after
//!   them prefixed `th_`.
//!
//! The rows are made by the same serializers as `--json` ([`rows`]), so a Parquet column
//! holds what the JSON field says, to the digit ([`columns`]).
//!
//! Use: make an [`Exporter`], hand it records per capture file with a [`Source`], call
//! [`Exporter::end_file`] after each capture file and [`Exporter::finish`] at the end.

pub mod columns;
pub mod parquet_out;
pub mod rows;
pub mod schema;
pub mod zeek;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tracehound_apps::{AppProto, AppReport};
use tracehound_findings::Finding;
use tracehound_flows::{Conversation, FlowId};
use tracehound_report::conversations::ProcessRef;
use tracehound_rpc::endpoints::EndpointReport;
use tracehound_rpc::Call;

pub use parquet_out::{ParquetSink, Written};
pub use schema::Table;
pub use zeek::{Log, ZeekSink};

/// Errors while writing.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    #[error("{0}: writing Parquet: {1}")]
    Parquet(PathBuf, #[source] parquet::errors::ParquetError),
    #[error("{0}: building columns: {1}")]
    Arrow(PathBuf, #[source] arrow_schema::ArrowError),
    #[error("table {table}: row {row} of the batch is not a JSON object: {source}")]
    Row {
        table: &'static str,
        row: usize,
        #[source]
        source: serde_json::Error,
    },
}

impl ExportError {
    fn io(p: &Path, e: std::io::Error) -> ExportError {
        ExportError::Io(p.to_path_buf(), e)
    }
    fn parquet(p: &Path, e: parquet::errors::ParquetError) -> ExportError {
        ExportError::Parquet(p.to_path_buf(), e)
    }
}

/// Where records come from: the capture file (as named on the command line; `<stdin>` for
/// standard input) and the capture point (where it was captured).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub capture_file: String,
    pub capture_point: String,
}

impl Source {
    /// A capture file whose capture point is the name of the directory it is in
    /// (`/captures/dc01/ring_00042.pcapng` → `dc01`: a support team's collection is usually
    /// one directory per server), or empty when it has none.
    pub fn of_file(capture_file: &str) -> Source {
        let point = Path::new(capture_file)
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Source { capture_file: capture_file.to_string(), capture_point: point }
    }
}

/// The output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Parquet,
    Zeek,
}

enum Sink {
    Parquet(ParquetSink),
    Zeek(ZeekSink),
}

/// Writes records in one format into one directory.
pub struct Exporter {
    sink: Sink,
    dir: PathBuf,
}

/// What was written, for the summary line.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub dir: PathBuf,
    /// Records per table (Parquet) or log file (Zeek).
    pub records: Vec<(&'static str, u64)>,
    /// Files written.
    pub files: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.records.iter().map(|(t, n)| format!("{t} {n}")).collect();
        write!(f, "wrote {} ({} files): {}", self.dir.display(), self.files, parts.join(", "))
    }
}

fn io_err(e: std::io::Error) -> ExportError {
    ExportError::Io(PathBuf::from("<record>"), e)
}

impl Exporter {
    /// Write `format` into `dir` (created when missing).
    pub fn create(format: Format, dir: &Path) -> Result<Exporter, ExportError> {
        let sink = match format {
            Format::Parquet => Sink::Parquet(ParquetSink::create(dir)?),
            Format::Zeek => Sink::Zeek(ZeekSink::create(dir)?),
        };
        Ok(Exporter { sink, dir: dir.to_path_buf() })
    }

    /// A conversation (with its TLS verdict object when keys were given, the process behind
    /// it from a Windows trace, and the services recognised on it for Zeek's `service`).
    pub fn conversation(
        &mut self,
        src: &Source,
        c: &Conversation,
        process: Option<ProcessRef<'_>>,
        tls: Option<&serde_json::Value>,
        services: &[&str],
    ) -> Result<(), ExportError> {
        match &mut self.sink {
            Sink::Parquet(p) => {
                let row =
                    rows::conversation_row(c, &src.capture_file, process, tls).map_err(io_err)?;
                p.push(Table::Conversations, src, row)
            }
            Sink::Zeek(z) => z.write(Log::Conn, zeek::conn::record(c, src, services)),
        }
    }

    /// A DCE/RPC call.
    pub fn call(&mut self, src: &Source, c: &Call) -> Result<(), ExportError> {
        match &mut self.sink {
            Sink::Parquet(p) => {
                p.push(Table::Calls, src, rows::call_row(c, &src.capture_file).map_err(io_err)?)
            }
            Sink::Zeek(z) => z.write(Log::DceRpc, zeek::dce_rpc::record(c, src)),
        }
    }

    /// An endpoint handed out (Parquet only: Zeek has no such log).
    pub fn endpoint(&mut self, src: &Source, e: &EndpointReport) -> Result<(), ExportError> {
        match &mut self.sink {
            Sink::Parquet(p) => {
                p.push(Table::Endpoints, src, rows::endpoint_row(e).map_err(io_err)?)
            }
            Sink::Zeek(_) => Ok(()),
        }
    }

    /// A finding (Parquet only).
    pub fn finding(&mut self, src: &Source, f: &Finding) -> Result<(), ExportError> {
        match &mut self.sink {
            Sink::Parquet(p) => p.push(Table::Findings, src, rows::finding_row(f).map_err(io_err)?),
            Sink::Zeek(_) => Ok(()),
        }
    }

    /// The application protocols of a capture: TLS sessions (Parquet and `ssl.log`), DNS
    /// (`dns.log`) and HTTP (`http.log`).
    pub fn apps(&mut self, src: &Source, apps: &AppReport) -> Result<(), ExportError> {
        match &mut self.sink {
            Sink::Parquet(p) => {
                for s in &apps.tls {
                    let row = rows::tls_row(s, &src.capture_file).map_err(io_err)?;
                    p.push(Table::TlsSessions, src, row)?;
                }
                Ok(())
            }
            Sink::Zeek(z) => {
                for s in &apps.tls {
                    z.write(Log::Ssl, zeek::ssl::record(s, src))?;
                }
                for q in &apps.dns {
                    z.write(Log::Dns, zeek::dns::record(q, src))?;
                }
                for ft in apps.transactions.iter().filter(|t| t.proto == AppProto::Http) {
                    for r in zeek::http::records(ft, src) {
                        z.write(Log::Http, r)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// The capture file of `src` is done. Parquet: its parts are closed, and each of
    /// `tables` gets a part (empty when no row came). Zeek: `logs` exist.
    pub fn end_file(
        &mut self,
        src: &Source,
        tables: &[Table],
        logs: &[Log],
    ) -> Result<(), ExportError> {
        match &mut self.sink {
            Sink::Parquet(p) => p.end_file(src, tables),
            Sink::Zeek(z) => z.ensure(logs),
        }
    }

    /// Close everything.
    pub fn finish(self) -> Result<Summary, ExportError> {
        let (records, files) = match self.sink {
            Sink::Parquet(p) => {
                let w = p.finish()?;
                (w.rows.into_iter().collect(), w.files.len())
            }
            Sink::Zeek(z) => {
                let w = z.finish()?;
                let n = w.len();
                (w.into_iter().collect(), n)
            }
        };
        Ok(Summary { dir: self.dir, records, files })
    }
}

/// The services recognised on each connection (Zeek's `conn.log` `service`), from the
/// DCE/RPC calls and the application analyzers: `dce_rpc`, `ssl`, `dns`, `http`, `ldap`,
/// `smb`.
pub fn services(calls: &[Call], apps: &AppReport) -> HashMap<FlowId, Vec<&'static str>> {
    let mut m: HashMap<FlowId, Vec<&'static str>> = HashMap::new();
    let mut add = |f: FlowId, s: &'static str| {
        let v = m.entry(f).or_default();
        if !v.contains(&s) {
            v.push(s);
        }
    };
    for c in calls {
        if let Some(f) = c.flow {
            add(f, if c.pipe.is_some() { "smb" } else { "dce_rpc" });
            if c.pipe.is_some() {
                add(f, "dce_rpc");
            }
        }
    }
    for s in &apps.tls {
        add(s.flow.id, "ssl");
    }
    for q in &apps.dns {
        add(q.flow_id, "dns");
    }
    for t in &apps.transactions {
        let s = match t.proto {
            AppProto::Http => "http",
            AppProto::Ldap => "ldap",
            AppProto::Smb2 => "smb",
            AppProto::Dns => "dns",
        };
        add(t.flow.id, s);
    }
    for v in m.values_mut() {
        v.sort_unstable();
    }
    m
}
