//! The Parquet writer: one table per directory, one partition per capture file.
//!
//! ```text
//! DIR/<table>/capture_file=<capture file, percent-encoded>/part-<n>.parquet
//! ```
//!
//! The partition directory is Hive style (`key=value`, the value escaped as Hive escapes it:
//! `%` and the bytes outside `A-Z a-z 0-9 . _ -` as `%XX`), so Spark, Trino and DuckDB
//! (`hive_partitioning`) see the same `capture_file` as the column inside the files. Rows are
//! written in row groups of [`BATCH`]; memory holds one batch per open table. Writing a
//! capture file again replaces its partition (its old parts are removed when the first part
//! of this run is created).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::columns::{build, Node};
use crate::schema::Table;
use crate::{ExportError, Source};

/// Rows per row group (and per batch held in memory).
pub const BATCH: usize = 8192;

/// Longest partition directory name; longer encoded names are cut and end with a hash.
const MAX_DIR_NAME: usize = 200;

/// The Arrow schema of a table: `capture_file`, `capture_point`, then its columns.
pub fn arrow_schema(t: Table) -> SchemaRef {
    let mut fields = vec![
        Field::new("capture_file", DataType::Utf8, false),
        Field::new("capture_point", DataType::Utf8, false),
    ];
    fields.extend(t.columns().iter().map(|c| Field::new(c.name, c.ty.data_type(), true)));
    Arc::new(Schema::new(fields))
}

/// One table's part file of one capture file, being written.
struct Part {
    src: Source,
    schema: SchemaRef,
    rows: Vec<Vec<u8>>,
    writer: ArrowWriter<File>,
    path: PathBuf,
    written: u64,
}

/// What was written.
#[derive(Debug, Default, Clone)]
pub struct Written {
    /// Rows per table.
    pub rows: BTreeMap<&'static str, u64>,
    /// The Parquet files written.
    pub files: Vec<PathBuf>,
}

/// Writes tables as Parquet under one directory.
pub struct ParquetSink {
    dir: PathBuf,
    open: BTreeMap<(Table, String), Part>,
    /// Partitions started in this run (their old parts removed), and the next part number.
    started: BTreeMap<(Table, String), u32>,
    written: Written,
}

impl ParquetSink {
    /// Write under `dir` (created when missing).
    pub fn create(dir: &Path) -> Result<ParquetSink, ExportError> {
        fs::create_dir_all(dir).map_err(|e| ExportError::io(dir, e))?;
        Ok(ParquetSink {
            dir: dir.to_path_buf(),
            open: BTreeMap::new(),
            started: BTreeMap::new(),
            written: Written::default(),
        })
    }

    /// Add one row (a JSON object) to `table` for the capture file of `src`.
    pub fn push(&mut self, table: Table, src: &Source, row: Vec<u8>) -> Result<(), ExportError> {
        let key = (table, src.capture_file.clone());
        if !self.open.contains_key(&key) {
            let part = self.open_part(table, src)?;
            self.open.insert(key.clone(), part);
        }
        let Some(part) = self.open.get_mut(&key) else { return Ok(()) };
        part.rows.push(row);
        if part.rows.len() >= BATCH {
            flush(part, table)?;
        }
        Ok(())
    }

    /// The capture file of `src` is done: close its parts, and write an empty part for each
    /// of `tables` that got no row (so every capture file is in every table it was asked for:
    /// a count of 0 reads as 0, and a glob over the table always finds files).
    pub fn end_file(&mut self, src: &Source, tables: &[Table]) -> Result<(), ExportError> {
        for t in tables {
            let key = (*t, src.capture_file.clone());
            if !self.open.contains_key(&key) && !self.started.contains_key(&key) {
                let part = self.open_part(*t, src)?;
                self.open.insert(key, part);
            }
        }
        let keys: Vec<(Table, String)> =
            self.open.keys().filter(|(_, f)| *f == src.capture_file).cloned().collect();
        for k in keys {
            if let Some(p) = self.open.remove(&k) {
                self.close(k.0, p)?;
            }
        }
        Ok(())
    }

    /// Close every open part; what was written.
    pub fn finish(mut self) -> Result<Written, ExportError> {
        let open = std::mem::take(&mut self.open);
        for ((t, _), p) in open {
            self.close(t, p)?;
        }
        Ok(self.written)
    }

    fn close(&mut self, t: Table, mut p: Part) -> Result<(), ExportError> {
        flush(&mut p, t)?;
        p.writer.close().map_err(|e| ExportError::parquet(&p.path, e))?;
        *self.written.rows.entry(t.name()).or_default() += p.written;
        self.written.files.push(p.path);
        Ok(())
    }

    fn open_part(&mut self, t: Table, src: &Source) -> Result<Part, ExportError> {
        let dir = self
            .dir
            .join(t.name())
            .join(format!("capture_file={}", partition_value(&src.capture_file)));
        let key = (t, src.capture_file.clone());
        let n = match self.started.get_mut(&key) {
            Some(n) => {
                *n += 1;
                *n
            }
            None => {
                fs::create_dir_all(&dir).map_err(|e| ExportError::io(&dir, e))?;
                remove_old_parts(&dir)?;
                self.started.insert(key, 0);
                0
            }
        };
        let path = dir.join(format!("part-{n}.parquet"));
        let file = File::create(&path).map_err(|e| ExportError::io(&path, e))?;
        let schema = arrow_schema(t);
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_size(BATCH)
            .set_created_by(concat!("tracehound ", env!("CARGO_PKG_VERSION")).to_string())
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| ExportError::parquet(&path, e))?;
        Ok(Part { src: src.clone(), schema, rows: Vec::new(), writer, path, written: 0 })
    }
}

/// Remove the parts of an earlier run from a partition directory.
fn remove_old_parts(dir: &Path) -> Result<(), ExportError> {
    let rd = fs::read_dir(dir).map_err(|e| ExportError::io(dir, e))?;
    for entry in rd.flatten() {
        let p = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("part-") && name.ends_with(".parquet") {
            fs::remove_file(&p).map_err(|e| ExportError::io(&p, e))?;
        }
    }
    Ok(())
}

/// Write the rows held as one record batch (one row group).
fn flush(p: &mut Part, t: Table) -> Result<(), ExportError> {
    if p.rows.is_empty() {
        return Ok(());
    }
    let batch = batch_of(t, &p.schema, &p.src, &p.rows).map_err(|e| match e {
        BatchError::Json(row, e) => ExportError::Row { table: t.name(), row, source: e },
        BatchError::Arrow(e) => ExportError::Arrow(p.path.clone(), e),
    })?;
    p.writer.write(&batch).map_err(|e| ExportError::parquet(&p.path, e))?;
    p.written += p.rows.len() as u64;
    p.rows.clear();
    Ok(())
}

enum BatchError {
    Json(usize, serde_json::Error),
    Arrow(arrow_schema::ArrowError),
}

fn batch_of(
    t: Table,
    schema: &SchemaRef,
    src: &Source,
    rows: &[Vec<u8>],
) -> Result<RecordBatch, BatchError> {
    let texts: Vec<&str> =
        rows.iter().map(|r| std::str::from_utf8(r).unwrap_or("{}")).collect::<Vec<_>>();
    let mut nodes = Vec::with_capacity(rows.len());
    for (i, text) in texts.iter().enumerate() {
        nodes.push(Node::parse(text).map_err(|e| BatchError::Json(i, e))?);
    }
    let n = nodes.len();
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![src.capture_file.as_str(); n])),
        Arc::new(StringArray::from(vec![src.capture_point.as_str(); n])),
    ];
    for c in t.columns() {
        let vals: Vec<Option<&Node<'_>>> = nodes.iter().map(|r| r.at(c.path)).collect();
        arrays.push(build(&c.ty, &vals));
    }
    RecordBatch::try_new(schema.clone(), arrays).map_err(BatchError::Arrow)
}

/// A capture file's name as a Hive partition value.
pub fn partition_value(name: &str) -> String {
    let mut s = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    if s.len() > MAX_DIR_NAME {
        let mut cut = MAX_DIR_NAME - 18;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        let h = crate::zeek::uid::uid(name, 0);
        s = format!("{}~{}", s.get(..cut).unwrap_or(""), h.get(1..).unwrap_or(""));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::partition_value;

    #[test]
    fn hive_escaping() {
        assert_eq!(partition_value("tests/lab/a b.pcap"), "tests%2Flab%2Fa%20b.pcap");
        assert_eq!(partition_value("x=1%"), "x%3D1%25");
        let long = "d/".repeat(300);
        let v = partition_value(&long);
        assert!(v.len() <= 200, "{}", v.len());
        assert_ne!(v, partition_value(&"d/".repeat(301)));
    }
}
