//! JSON records to Arrow columns.
//!
//! A table's rows are the JSON objects tracehound's `--json` output writes (the same
//! serializers), so a column holds exactly what the JSON field says. Each row is parsed once
//! into a [`Node`] tree whose leaves keep their JSON text ([`RawValue`]): numbers are read
//! from their own digits, so a nanosecond timestamp stays exact (no `f64` on the way).
//!
//! A column is declared by a [`Col`]: its name, the path to its value inside the record (object
//! keys, or array indexes for pairs such as `rst_frames`' `[frame, "orig"]`), and its [`Ty`].
//! A value that is absent, `null`, or not of the declared kind is a null in the column.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Decimal128Array, Float64Array, Int64Array, ListArray, StringArray,
    StructArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Fields};
use serde_json::value::RawValue;

/// Precision and scale of [`Ty::Time`]: seconds since the Unix epoch to the nanosecond.
pub const TIME_PRECISION: u8 = 20;
pub const TIME_SCALE: i8 = 9;

/// Deepest nesting of a record followed (the records are a few levels deep).
const MAX_DEPTH: usize = 16;

/// The type of a column.
#[derive(Debug)]
pub enum Ty {
    /// UTF-8 string (a JSON string; a number or bool is kept as its JSON text).
    Str,
    /// 64-bit signed integer (counts, frames, ports).
    Int,
    /// 64-bit float (seconds of a duration, rates).
    Float,
    Bool,
    /// Seconds since the Unix epoch, exact: DECIMAL(20, 9).
    Time,
    /// Any JSON value kept as its JSON text (free-form objects such as `evidence.values`).
    Json,
    /// A JSON array.
    List(&'static Ty),
    /// A JSON object (or a pair array, with index paths) inside a list.
    Struct(&'static [Col]),
}

/// One column: its name, the path to its value in the record, its type.
#[derive(Debug)]
pub struct Col {
    pub name: &'static str,
    pub path: &'static [&'static str],
    pub ty: Ty,
}

impl Ty {
    /// The Arrow type of the column.
    pub fn data_type(&self) -> DataType {
        match self {
            Ty::Str | Ty::Json => DataType::Utf8,
            Ty::Int => DataType::Int64,
            Ty::Float => DataType::Float64,
            Ty::Bool => DataType::Boolean,
            Ty::Time => DataType::Decimal128(TIME_PRECISION, TIME_SCALE),
            Ty::List(t) => DataType::List(Arc::new(Field::new("item", t.data_type(), true))),
            Ty::Struct(cols) => DataType::Struct(fields_of(cols)),
        }
    }

    /// The SQL-ish name used in the documentation.
    pub fn sql_name(&self) -> String {
        match self {
            Ty::Str => "VARCHAR".into(),
            Ty::Json => "VARCHAR (JSON)".into(),
            Ty::Int => "BIGINT".into(),
            Ty::Float => "DOUBLE".into(),
            Ty::Bool => "BOOLEAN".into(),
            Ty::Time => format!("DECIMAL({TIME_PRECISION},{TIME_SCALE})"),
            Ty::List(t) => format!("{}[]", t.sql_name()),
            Ty::Struct(cols) => {
                let f: Vec<String> =
                    cols.iter().map(|c| format!("{} {}", c.name, c.ty.sql_name())).collect();
                format!("STRUCT({})", f.join(", "))
            }
        }
    }
}

/// The Arrow fields of a list of columns (all nullable).
pub fn fields_of(cols: &[Col]) -> Fields {
    cols.iter().map(|c| Field::new(c.name, c.ty.data_type(), true)).collect()
}

/// A parsed JSON value whose leaves keep their text.
#[derive(Debug)]
pub enum Node<'a> {
    Obj(HashMap<String, Node<'a>>, &'a RawValue),
    Arr(Vec<Node<'a>>, &'a RawValue),
    Leaf(&'a RawValue),
}

impl<'a> Node<'a> {
    /// Parse one JSON record.
    pub fn parse(text: &'a str) -> serde_json::Result<Node<'a>> {
        let raw: &'a RawValue = serde_json::from_str(text)?;
        Node::of(raw, 0)
    }

    fn of(raw: &'a RawValue, depth: usize) -> serde_json::Result<Node<'a>> {
        let first = raw.get().trim_start().as_bytes().first().copied();
        if depth >= MAX_DEPTH {
            return Ok(Node::Leaf(raw));
        }
        match first {
            Some(b'{') => {
                let m: HashMap<String, &'a RawValue> = serde_json::from_str(raw.get())?;
                let mut out = HashMap::with_capacity(m.len());
                for (k, v) in m {
                    out.insert(k, Node::of(v, depth + 1)?);
                }
                Ok(Node::Obj(out, raw))
            }
            Some(b'[') => {
                let items: Vec<&'a RawValue> = serde_json::from_str(raw.get())?;
                let nodes = items
                    .into_iter()
                    .map(|v| Node::of(v, depth + 1))
                    .collect::<serde_json::Result<Vec<_>>>()?;
                Ok(Node::Arr(nodes, raw))
            }
            _ => Ok(Node::Leaf(raw)),
        }
    }

    /// The value at `path` (object keys, or indexes into arrays).
    pub fn at(&self, path: &[&str]) -> Option<&Node<'a>> {
        let mut cur = self;
        for seg in path {
            cur = match cur {
                Node::Obj(m, _) => m.get(*seg)?,
                Node::Arr(v, _) => v.get(seg.parse::<usize>().ok()?)?,
                Node::Leaf(_) => return None,
            };
        }
        match cur {
            Node::Leaf(r) if r.get() == "null" => None,
            n => Some(n),
        }
    }

    /// The keys of an object (for the coverage checks of the schema).
    pub fn keys(&self) -> Vec<&str> {
        match self {
            Node::Obj(m, _) => m.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }

    fn raw(&self) -> &'a RawValue {
        match self {
            Node::Obj(_, r) | Node::Arr(_, r) | Node::Leaf(r) => r,
        }
    }

    fn leaf_text(&self) -> Option<&'a str> {
        match self {
            Node::Leaf(r) => Some(r.get()),
            _ => None,
        }
    }
}

/// Build the column of type `ty` from one value (or none) per row.
pub fn build(ty: &Ty, vals: &[Option<&Node<'_>>]) -> ArrayRef {
    match ty {
        Ty::Str => Arc::new(vals.iter().map(|v| v.and_then(string_of)).collect::<StringArray>()),
        Ty::Json => Arc::new(
            vals.iter().map(|v| v.map(|n| n.raw().get().to_string())).collect::<StringArray>(),
        ),
        Ty::Int => Arc::new(
            vals.iter()
                .map(|v| v.and_then(|n| n.leaf_text()).and_then(|t| t.parse::<i64>().ok()))
                .collect::<Int64Array>(),
        ),
        Ty::Float => Arc::new(
            vals.iter()
                .map(|v| v.and_then(|n| n.leaf_text()).and_then(|t| t.parse::<f64>().ok()))
                .collect::<Float64Array>(),
        ),
        Ty::Bool => Arc::new(
            vals.iter()
                .map(|v| match v.and_then(|n| n.leaf_text()) {
                    Some("true") => Some(true),
                    Some("false") => Some(false),
                    _ => None,
                })
                .collect::<BooleanArray>(),
        ),
        Ty::Time => {
            let a: Decimal128Array =
                vals.iter().map(|v| v.and_then(|n| n.leaf_text()).and_then(nanos_of)).collect();
            match a.clone().with_precision_and_scale(TIME_PRECISION, TIME_SCALE) {
                Ok(a) => Arc::new(a),
                Err(_) => Arc::new(a),
            }
        }
        Ty::List(inner) => build_list(inner, vals),
        Ty::Struct(cols) => build_struct(cols, vals),
    }
}

fn build_list(inner: &'static Ty, vals: &[Option<&Node<'_>>]) -> ArrayRef {
    let mut children: Vec<Option<&Node<'_>>> = Vec::new();
    let mut lens = Vec::with_capacity(vals.len());
    let mut valid = Vec::with_capacity(vals.len());
    for v in vals {
        match v {
            Some(Node::Arr(items, _)) => {
                lens.push(items.len());
                valid.push(true);
                children.extend(items.iter().map(|n| match n {
                    Node::Leaf(r) if r.get() == "null" => None,
                    n => Some(n),
                }));
            }
            _ => {
                lens.push(0);
                valid.push(false);
            }
        }
    }
    let values = build(inner, &children);
    let field = Arc::new(Field::new("item", inner.data_type(), true));
    let nulls = NullBuffer::from(valid);
    Arc::new(ListArray::new(field, OffsetBuffer::from_lengths(lens), values, Some(nulls)))
}

fn build_struct(cols: &'static [Col], vals: &[Option<&Node<'_>>]) -> ArrayRef {
    let arrays: Vec<ArrayRef> = cols
        .iter()
        .map(|c| {
            let sub: Vec<Option<&Node<'_>>> =
                vals.iter().map(|v| v.and_then(|n| n.at(c.path))).collect();
            build(&c.ty, &sub)
        })
        .collect();
    let nulls = NullBuffer::from(vals.iter().map(|v| v.is_some()).collect::<Vec<bool>>());
    Arc::new(StructArray::new(fields_of(cols), arrays, Some(nulls)))
}

/// A JSON string's value; a number or bool as its JSON text.
fn string_of(n: &Node<'_>) -> Option<String> {
    let t = n.leaf_text()?;
    if t.starts_with('"') {
        serde_json::from_str::<String>(t).ok()
    } else {
        Some(t.to_string())
    }
}

/// An exact decimal number of seconds (`1600193670.865925`) as nanoseconds.
pub fn nanos_of(text: &str) -> Option<i128> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    if body.contains(['e', 'E']) {
        let f = text.parse::<f64>().ok()?;
        return Some((f * 1e9).round() as i128);
    }
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i128 = int.parse().ok()?;
    let mut nanos: i128 = 0;
    for i in 0..9 {
        let d = frac.as_bytes().get(i).map_or(0, |b| i128::from(b - b'0'));
        nanos = nanos * 10 + d;
    }
    let v = secs.checked_mul(1_000_000_000)?.checked_add(nanos)?;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_times() {
        assert_eq!(nanos_of("1600193670.865925"), Some(1_600_193_670_865_925_000));
        assert_eq!(nanos_of("1600193670.123456789"), Some(1_600_193_670_123_456_789));
        assert_eq!(nanos_of("12"), Some(12_000_000_000));
        assert_eq!(nanos_of("-1.5"), Some(-1_500_000_000));
        assert_eq!(nanos_of("x"), None);
    }

    #[test]
    fn paths_and_pairs() {
        let n = Node::parse(r#"{"a":{"b":3},"p":[[7,"orig"]],"z":null}"#).unwrap();
        assert_eq!(n.at(&["a", "b"]).and_then(|n| n.leaf_text()), Some("3"));
        let p = n.at(&["p"]).unwrap();
        let Node::Arr(items, _) = p else { panic!("not a list") };
        assert_eq!(items[0].at(&["1"]).and_then(string_of).as_deref(), Some("orig"));
        assert!(n.at(&["z"]).is_none());
        assert!(n.at(&["missing"]).is_none());
    }
}
