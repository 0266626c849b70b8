//! A small aligned-column table that measures cells without their colour codes.

use crate::style::{Style, Tone};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

pub struct Table {
    headers: Vec<(&'static str, Align)>,
    rows: Vec<Vec<(String, Tone)>>,
}

impl Table {
    pub fn new(headers: &[(&'static str, Align)]) -> Table {
        Table { headers: headers.to_vec(), rows: Vec::new() }
    }
    pub fn row(&mut self, cells: Vec<(String, Tone)>) {
        self.rows.push(cells);
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    pub fn render(&self, style: Style) -> String {
        let n = self.headers.len();
        let mut w: Vec<usize> = self.headers.iter().map(|(h, _)| h.chars().count()).collect();
        for r in &self.rows {
            for (i, (c, _)) in r.iter().enumerate().take(n) {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let mut out = String::new();
        let line = |cells: Vec<(String, Tone)>, out: &mut String, header: bool| {
            let mut parts = Vec::new();
            for (i, (c, tone)) in cells.into_iter().enumerate().take(n) {
                let pad = w[i].saturating_sub(c.chars().count());
                let last = i + 1 == n;
                let painted = style.paint(if header { Tone::Bold } else { tone }, &c);
                let cell = match self.headers[i].1 {
                    Align::Left if last => painted,
                    Align::Left => format!("{painted}{}", " ".repeat(pad)),
                    Align::Right => format!("{}{painted}", " ".repeat(pad)),
                };
                parts.push(cell);
            }
            out.push_str(parts.join("  ").trim_end());
            out.push('\n');
        };
        line(
            self.headers.iter().map(|(h, _)| (h.to_string(), Tone::Plain)).collect(),
            &mut out,
            true,
        );
        for r in &self.rows {
            line(r.clone(), &mut out, false);
        }
        out
    }
}

/// Human byte counts: 1.2 MB, 934 B.
pub fn bytes(n: u64) -> String {
    const U: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut i = 0;
    // 999,960 B is "1.0 MB", not "1000.0 kB": move up when the rounded value reaches 1000.
    while v >= 999.95 && i + 1 < U.len() {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

/// Human durations: 12 µs, 3.4 ms, 1.25 s, 2m03s.
pub fn secs(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "-".into();
    }
    // -0.0 passes the test above: print it as 0.
    let s = s + 0.0;
    if s < 0.001 {
        format!("{:.0} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else if s < 120.0 {
        format!("{s:.2} s")
    } else {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn aligns_and_formats() {
        let mut t = Table::new(&[("A", Align::Left), ("N", Align::Right), ("Z", Align::Left)]);
        t.row(vec![
            ("x".into(), Tone::Plain),
            ("10".into(), Tone::Bad),
            ("end".into(), Tone::Plain),
        ]);
        t.row(vec![
            ("long".into(), Tone::Plain),
            ("5".into(), Tone::Plain),
            ("e".into(), Tone::Plain),
        ]);
        assert_eq!(t.render(Style::plain()), "A      N  Z\nx     10  end\nlong   5  e\n");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_234_567), "1.2 MB");
        assert_eq!(secs(0.0034), "3.4 ms");
        assert_eq!(secs(185.0), "3m05s");
        assert_eq!(secs(-0.0), "0 µs");
        assert_eq!(bytes(999_960), "1.0 MB");
        assert_eq!(bytes(999_940), "999.9 kB");
    }
}
