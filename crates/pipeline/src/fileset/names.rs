//! Capture file names: directories expanded to the capture files in them (recognised by their
//! content, not their extension), natural name order, and the ring-buffer family a name belongs
//! to.
//!
//! Ring-buffer names understood (the family is the name without its sequence number):
//! * dumpcap `-b` / editcap `-c`/`-i`: `PREFIX_NNNNN_YYYYMMDDhhmmss.EXT` (family `PREFIX.EXT`);
//! * tcpdump `-C`/`-W`: `NAME`, `NAME1`, `NAME2` … (family `NAME`);
//! * NetMon chains (`nmcap … x.chn:100M`): `x(1).cap`, `x(2).cap` … (family `x.cap`);
//! * any other name with a number after `-`, `_` or `.` before its extension: `dc01-003.pcap`
//!   (family `dc01-.pcap`; `tls13.pcap` is a name, not a sequence).

use std::cmp::Ordering;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Files kept from one directory at most (a bound: a directory of a million files is refused).
pub const MAX_DIR_FILES: usize = 100_000;

/// The capture files of the inputs: files as given, directories replaced by the capture files
/// directly in them, in natural name order (`x2` before `x10`). Hidden files are skipped.
pub fn expand(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in inputs {
        if p.as_os_str() == "-" || !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let mut files = Vec::new();
        for e in std::fs::read_dir(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))? {
            let e = e.map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            let path = e.path();
            let hidden = e.file_name().to_string_lossy().starts_with('.');
            if hidden || !path.is_file() || !is_capture(&path) {
                continue;
            }
            if files.len() >= MAX_DIR_FILES {
                anyhow::bail!("{}: more than {MAX_DIR_FILES} capture files", p.display());
            }
            files.push(path);
        }
        if files.is_empty() {
            anyhow::bail!("{}: no capture files in this directory", p.display());
        }
        files.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
        out.extend(files);
    }
    Ok(out)
}

/// Does the file hold a capture the reader opens (pcap, pcapng, gzip, NetMon, ETL)? Decided by
/// its first bytes; an unknown start is tried with the reader (ETL has no fixed magic).
pub fn is_capture(path: &Path) -> bool {
    let mut head = [0u8; 4];
    let Ok(mut f) = std::fs::File::open(path) else { return false };
    if f.read_exact(&mut head).is_err() {
        return false;
    }
    let known = matches!(
        head,
        [0xa1, 0xb2, 0xc3, 0xd4]
            | [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0x0a, 0x0d, 0x0d, 0x0a]
            | [0x1f, 0x8b, _, _]
            | [b'G', b'M', b'B', b'U']
    );
    known || tracehound_capture::CaptureReader::open(path).is_ok()
}

/// Names compared with their digit runs as numbers: `a2` < `a10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return Ordering::Equal,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let (nx, rx) = digits(x);
                let (ny, ry) = digits(y);
                let o = nx.trim_start_matches('0').len().cmp(&ny.trim_start_matches('0').len());
                let o = o.then_with(|| nx.trim_start_matches('0').cmp(ny.trim_start_matches('0')));
                if o != Ordering::Equal {
                    return o;
                }
                (x, y) = (rx, ry);
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                (x, y) = (&x[1..], &y[1..]);
            }
        }
    }
}

/// The leading digit run of `s` and what follows it.
fn digits(s: &[u8]) -> (&str, &[u8]) {
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let (d, rest) = s.split_at(n);
    (std::str::from_utf8(d).unwrap_or(""), rest)
}

/// The ring-buffer family of a file name (see the module docs) and its sequence number, when
/// the name carries one. Files of the same family may be one capture cut in pieces.
pub fn ring_family(name: &str) -> (String, Option<u64>) {
    let (stem, ext) = split_ext(name);
    // dumpcap / editcap: PREFIX_NNNNN_YYYYMMDDhhmmss
    let parts: Vec<&str> = stem.rsplitn(3, '_').collect();
    if let [stamp, seq, prefix] = parts.as_slice() {
        if stamp.len() == 14 && all_digits(stamp) && !seq.is_empty() && all_digits(seq) {
            return (format!("{prefix}{ext}"), seq.parse().ok());
        }
    }
    // NetMon chain: x(N)
    if let Some(open) = stem.strip_suffix(')').and_then(|s| s.rfind('(').map(|i| (s, i))) {
        let (s, i) = open;
        let n = &s[i + 1..];
        if !n.is_empty() && all_digits(n) {
            return (format!("{}{ext}", &s[..i]), n.parse().ok());
        }
    }
    // tcpdump -C: NAME, NAME1, NAME2 … (the number after the whole name)
    let trailing = name.bytes().rev().take_while(u8::is_ascii_digit).count();
    if trailing > 0 && trailing < name.len() {
        let (base, n) = name.split_at(name.len() - trailing);
        if split_ext(base).1.len() > 1 {
            return (base.to_string(), n.parse().ok());
        }
    }
    // a number after a separator before the extension (`dc01-003.pcap`, not `tls13.pcap`)
    let t = stem.bytes().rev().take_while(u8::is_ascii_digit).count();
    if t > 0 && t < stem.len() {
        let (base, n) = stem.split_at(stem.len() - t);
        if base.ends_with(['-', '_', '.']) {
            return (format!("{base}{ext}"), n.parse().ok());
        }
    }
    (name.to_string(), None)
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// `x.pcapng.gz` → (`x`, `.pcapng.gz`); known capture extensions only.
fn split_ext(name: &str) -> (&str, &str) {
    let mut stem = name;
    for ext in [".gz", ".pcapng", ".pcap", ".cap", ".etl", ".ntar", ".dmp"] {
        if let Some(s) = stem.strip_suffix(ext) {
            if !s.is_empty() {
                stem = s;
            }
        }
    }
    name.split_at(stem.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_buffer_names() {
        assert_eq!(
            ring_family("dc01_00003_20260101120000.pcapng"),
            ("dc01.pcapng".into(), Some(3))
        );
        assert_eq!(ring_family("trace.pcap"), ("trace.pcap".into(), None));
        assert_eq!(ring_family("trace.pcap12"), ("trace.pcap".into(), Some(12)));
        assert_eq!(ring_family("x(2).cap"), ("x.cap".into(), Some(2)));
        assert_eq!(ring_family("dc01-003.pcap.gz"), ("dc01-.pcap.gz".into(), Some(3)));
        assert_eq!(ring_family("client.pcap"), ("client.pcap".into(), None));
        assert_eq!(ring_family("untrusted13.pcap"), ("untrusted13.pcap".into(), None));
        assert_eq!(ring_family("12345"), ("12345".into(), None));
    }

    #[test]
    fn natural_order() {
        let mut v = vec!["t.pcap10", "t.pcap2", "t.pcap", "t.pcap1", "a_010", "a_9"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["a_9", "a_010", "t.pcap", "t.pcap1", "t.pcap2", "t.pcap10"]);
    }
}
