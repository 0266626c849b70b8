//! `check` output: a compact table (one row per target and address: the verdict, and the
//! failing step's reason or the highlights of a pass) or JSON Lines (one [`Record`] a line).
//! `--watch` prints only the rows whose verdict, reason or problems changed.

use std::collections::HashMap;
use std::io::Write;

use super::record::Record;

/// The one-line summary of a record (the table's last column).
pub fn detail(r: &Record) -> String {
    if !r.passed() {
        let mut s = r.why.clone();
        if let Some(c) =
            r.tls.as_ref().and_then(|t| t.certificate.as_ref()).filter(|_| r.verdict == "tls")
        {
            s.push_str(&format!(" [cert {}, {} days left]", c.subject, c.days_left));
        }
        return s;
    }
    let mut parts = Vec::new();
    if let Some(t) = &r.tcp {
        parts.push(format!("tcp {} ms", t.ms));
    }
    if let Some(t) = &r.tls {
        parts.push(format!(
            "{} {}",
            t.version.clone().unwrap_or_default(),
            t.cipher.clone().unwrap_or_default()
        ));
        if let Some(c) = &t.certificate {
            parts.push(format!("cert {} days left", c.days_left));
        }
    }
    if let Some(h) = &r.http {
        let mut s = format!("HTTP {}", h.status.map(|x| x.to_string()).unwrap_or_default());
        if !h.auth.is_empty() {
            s.push_str(&format!(" auth {}", h.auth.join("/")));
        }
        if !h.redirects.is_empty() {
            s.push_str(&format!(" after {} redirects", h.redirects.len()));
        }
        if let Some(fb) = h.ms_first_byte {
            s.push_str(&format!(" ({fb} ms to first byte)"));
        }
        if let Some(c) = &h.credentials {
            s.push_str(&format!("; credentials: {c}"));
        }
        if !h.links.is_empty() {
            s.push_str(&format!("; {} URLs returned", h.links.len()));
        }
        parts.push(s);
    }
    if !r.why.is_empty() {
        parts.push(r.why.clone());
    }
    parts.join(", ")
}

fn row(r: &Record) -> (String, String, String, String, String) {
    let addr = r.address.map(|a| a.to_string()).unwrap_or_else(|| "-".into());
    let problems = if r.problems.is_empty() { "-".into() } else { r.problems.join(",") };
    (r.target.clone(), addr, r.verdict.clone(), problems, detail(r))
}

/// Writes the records as a table or JSON Lines.
pub fn write(recs: &[Record], json: bool, out: &mut dyn Write) -> std::io::Result<()> {
    if json {
        for r in recs {
            serde_json::to_writer(&mut *out, r)?;
            out.write_all(b"\n")?;
        }
        return Ok(());
    }
    let rows: Vec<_> = recs.iter().map(row).collect();
    let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0).clamp(6, 60);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(7);
    let w3 = rows.iter().map(|r| r.3.len()).max().unwrap_or(0).clamp(8, 40);
    writeln!(
        out,
        "{:w0$}  {:w1$}  {:7}  {:w3$}  DETAIL",
        "TARGET", "ADDRESS", "VERDICT", "PROBLEMS"
    )?;
    for (t, a, v, p, d) in rows {
        writeln!(out, "{t:w0$}  {a:w1$}  {v:7}  {p:w3$}  {d}")?;
    }
    let failed = recs.iter().filter(|r| !r.passed()).count();
    writeln!(out, "{} checked, {} passed, {failed} failed", recs.len(), recs.len() - failed)?;
    Ok(())
}

/// Records whose state changed since the last round (updates `last`).
pub fn changes<'a>(last: &mut HashMap<String, String>, recs: &'a [Record]) -> Vec<&'a Record> {
    let mut out = Vec::new();
    for r in recs {
        let key = format!("{}|{:?}", r.target, r.address);
        let state = format!("{}|{}|{}", r.verdict, r.problems.join(","), r.why);
        if last.get(&key) != Some(&state) {
            last.insert(key, state);
            out.push(r);
        }
    }
    out
}

/// `--watch`: the changed rows of one round.
pub fn write_changes(
    recs: &[&Record],
    round: u32,
    json: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let owned: Vec<Record> = recs.iter().map(|r| (*r).clone()).collect();
    if !json {
        writeln!(out, "# round {round}: {} changed", owned.len())?;
    }
    write(&owned, json, out)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(target: &str, verdict: &str) -> Record {
        Record { target: target.into(), verdict: verdict.into(), ..Default::default() }
    }

    #[test]
    fn watch_prints_only_changes_and_table_counts() {
        let mut last = HashMap::new();
        let r1 = vec![rec("a:443", "ok"), rec("b:443", "tcp")];
        assert_eq!(changes(&mut last, &r1).len(), 2, "first round: everything is new");
        assert!(changes(&mut last, &r1).is_empty(), "same state: nothing printed");
        let r2 = vec![rec("a:443", "tls"), rec("b:443", "tcp")];
        let c = changes(&mut last, &r2);
        assert_eq!((c.len(), c[0].target.as_str()), (1, "a:443"));
        let mut out = Vec::new();
        write(&r2, false, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("TARGET") && text.ends_with("2 checked, 0 passed, 2 failed\n"),
            "{text}"
        );
        let mut out = Vec::new();
        write(&r2, true, &mut out).unwrap();
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        for k in [
            "target", "host", "port", "address", "dns", "tcp", "tls", "http", "verdict", "problems",
        ] {
            assert!(lines[0].get(k).is_some(), "JSON field {k} missing");
        }
    }
}
