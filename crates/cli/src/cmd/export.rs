//! `--format text|json|parquet|zeek` and `-o DIR` of `conversations`, `rpc` and `analyze`:
//! the glue to `tracehound-export` (the formats are documented there and in
//! docs/readme-export.md).

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use tracehound_export::{ExportError, Exporter, Format, Log, Source, Table};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum OutFormat {
    /// The text report or table (the default).
    Text,
    /// One JSON object per line (the same as --json).
    Json,
    /// Parquet tables partitioned by capture file, into -o DIR.
    Parquet,
    /// Zeek-compatible JSON logs (conn.log, dce_rpc.log, ssl.log, dns.log, http.log), into -o DIR.
    Zeek,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ExportArgs {
    /// Output format; parquet and zeek write files into -o DIR instead of standard output.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<OutFormat>,
    /// Directory for --format parquet / zeek (created when missing).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "DIR",
        requires = "format",
        required_if_eq_any([("format", "parquet"), ("format", "zeek")])
    )]
    pub output: Option<PathBuf>,
}

impl ExportArgs {
    /// `--format json`.
    pub fn json(&self) -> bool {
        self.format == Some(OutFormat::Json)
    }

    /// The exporter for --format parquet / zeek (None for text and JSON); an error when the
    /// directory is missing or given without such a format.
    pub fn exporter(&self) -> anyhow::Result<Option<Exporter>> {
        let format = match self.format {
            Some(OutFormat::Parquet) => Format::Parquet,
            Some(OutFormat::Zeek) => Format::Zeek,
            _ => {
                if self.output.is_some() {
                    anyhow::bail!("-o/--output needs --format parquet or --format zeek");
                }
                return Ok(None);
            }
        };
        let Some(dir) = &self.output else {
            anyhow::bail!("--format parquet / zeek writes into a directory: give -o DIR");
        };
        Ok(Some(Exporter::create(format, dir)?))
    }
}

/// The source of a capture file as the commands name it (`-` is `<stdin>`).
pub fn source_of(path: &Path) -> Source {
    if path.as_os_str() == "-" {
        return Source { capture_file: "<stdin>".into(), capture_point: String::new() };
    }
    Source::of_file(&path.display().to_string())
}

/// Close the exporter and say what was written (on standard error: standard output stays
/// free for pipes).
pub fn finish(ex: Exporter) -> anyhow::Result<()> {
    let s = ex.finish()?;
    eprintln!("tracehound: {s}");
    Ok(())
}

/// Keep the first error of a streaming callback.
pub fn keep_err(slot: &mut Option<ExportError>, r: Result<(), ExportError>) {
    if let (None, Err(e)) = (slot.as_ref(), r) {
        *slot = Some(e);
    }
}

/// `rpc`: the calls of a capture, as they complete.
pub fn calls(
    ex: Option<&mut Exporter>,
    src: &Source,
    cs: &[tracehound_rpc::Call],
    err: &mut Option<ExportError>,
) {
    let Some(x) = ex else { return };
    for c in cs {
        keep_err(err, x.call(src, c));
    }
}

/// `rpc`: a capture file is done: its endpoints handed out, then its partitions closed.
pub fn end_rpc(
    ex: &mut Exporter,
    err: &mut Option<ExportError>,
    src: &Source,
    endpoints: &[tracehound_rpc::endpoints::EndpointReport],
) -> anyhow::Result<()> {
    if let Some(e) = err.take() {
        return Err(e.into());
    }
    for e in endpoints {
        ex.endpoint(src, e)?;
    }
    ex.end_file(src, &[Table::Calls, Table::Endpoints], &[Log::DceRpc])?;
    Ok(())
}

/// `conversations`: a capture file is done.
pub fn end_conversations(
    ex: &mut Exporter,
    err: &mut Option<ExportError>,
    src: &Source,
) -> anyhow::Result<()> {
    if let Some(e) = err.take() {
        return Err(e.into());
    }
    ex.end_file(src, &[Table::Conversations], &[Log::Conn])?;
    Ok(())
}

/// `analyze`: what one capture file holds besides its calls (written as they came) and its
/// findings (written when every file is done): conversations, endpoints handed out, TLS
/// sessions, DNS and HTTP.
pub fn file_facts(
    ex: &mut Exporter,
    err: &mut Option<ExportError>,
    src: &Source,
    ff: &tracehound_pipeline::FileFacts,
) -> anyhow::Result<()> {
    if let Some(e) = err.take() {
        return Err(e.into());
    }
    let svc = tracehound_export::services(&ff.rpc.calls, &ff.apps);
    for c in &ff.conversations {
        let s = svc.get(&c.info.id).map(Vec::as_slice).unwrap_or(&[]);
        ex.conversation(src, c, None, None, s)?;
    }
    for e in &ff.endpoints {
        ex.endpoint(src, e)?;
    }
    ex.apps(src, &ff.apps)?;
    let tables = [Table::Conversations, Table::Calls, Table::Endpoints, Table::TlsSessions];
    let logs = [Log::Conn, Log::DceRpc, Log::Ssl, Log::Dns, Log::Http];
    ex.end_file(src, &tables, &logs)?;
    Ok(())
}

/// `analyze`: the findings of every file (each in the partition of the file its evidence
/// names; a comparison of several files under their names joined by ` + `), then done.
pub fn findings(
    mut ex: Exporter,
    all: &[tracehound_findings::Finding],
    names: &[String],
) -> anyhow::Result<()> {
    for f in all {
        let src = Source::of_file(f.evidence.file.as_deref().unwrap_or(""));
        ex.finding(&src, f)?;
    }
    for n in names {
        ex.end_file(&Source::of_file(n), &[Table::Findings], &[])?;
    }
    finish(ex)
}
