//! The frame table of a joined file set: inside the set frames are numbered across the files
//! (file 2's first frame follows file 1's last), everything shown to the user names the file
//! and that file's own frame number. [`FrameMap::resolve`] turns one into the other.

use tracehound_capture::Timestamp;

/// One file of a set: its name, where its frames start in the set's numbering, and its span.
#[derive(Clone, Debug)]
pub struct FileSpan {
    pub name: String,
    /// Set-wide frame numbers of this file are `offset + 1 ..= offset + last_frame`.
    pub offset: u64,
    /// The file's own number of its last frame (0: no frame).
    pub last_frame: u64,
    /// First and last packet time (none when the file held no packet).
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
}

/// The files of one input (one entry for a single file), in reading order.
#[derive(Clone, Debug, Default)]
pub struct FrameMap {
    pub files: Vec<FileSpan>,
}

impl FrameMap {
    /// More than one file read as one stream: frame numbers need [`FrameMap::resolve`].
    pub fn is_joined(&self) -> bool {
        self.files.len() > 1
    }

    /// Set-wide frame number → (file name, that file's frame number). Frame 0 ("none") and a
    /// single file map to themselves (with the only file's name).
    pub fn resolve(&self, global: u64) -> (&str, u64) {
        let i = self.file_index(global);
        match self.files.get(i) {
            Some(f) => (&f.name, global.saturating_sub(f.offset)),
            None => ("", global),
        }
    }

    /// Set-wide frame number → that file's own number.
    pub fn local(&self, global: u64) -> u64 {
        self.resolve(global).1
    }

    /// Which file (index) holds a set-wide frame number.
    pub fn file_index(&self, global: u64) -> usize {
        // the last file whose offset is below the frame number
        let n = self.files.partition_point(|f| f.offset < global);
        n.saturating_sub(1)
    }

    /// "a.pcap frame 12" (a single file: "frame 12").
    pub fn describe(&self, global: u64) -> String {
        if !self.is_joined() {
            return format!("frame {global}");
        }
        let (f, n) = self.resolve(global);
        format!("{f} frame {n}")
    }

    /// The set's time span, first to last packet.
    pub fn span(&self) -> (Option<Timestamp>, Option<Timestamp>) {
        let first = self.files.iter().filter_map(|f| f.first_ts).min();
        let last = self.files.iter().filter_map(|f| f.last_ts).max();
        (first, last)
    }

    /// One line for standard error: the files of the group and its time span.
    pub fn group_line(&self) -> String {
        let names: Vec<&str> = self.files.iter().map(|f| f.name.as_str()).collect();
        let span = match self.span() {
            (Some(a), Some(b)) => format!("{} – {}", a.iso(), b.iso()),
            _ => "no packets".to_string(),
        };
        let what = if self.is_joined() { "one capture" } else { "alone" };
        format!(
            "{what} ({} file{}, {span}): {}",
            names.len(),
            plural(names.len()),
            names.join(", ")
        )
    }

    /// Rewrite the frame references in a human-readable line: "frame 12" becomes
    /// "b.pcap frame 3", "frames 12, 40" becomes "a.pcap frame 12, b.pcap frame 3". Lines of
    /// a single file are returned unchanged.
    pub fn rewrite_text(&self, line: &str) -> String {
        if !self.is_joined() {
            return line.to_string();
        }
        let mut out = String::with_capacity(line.len() + 16);
        let mut rest = line;
        while let Some(i) = rest.find("frame") {
            let (head, tail) = rest.split_at(i);
            out.push_str(head);
            let after_word = if tail.starts_with("frames ") {
                "frames ".len()
            } else if tail.starts_with("frame ") {
                "frame ".len()
            } else {
                out.push_str("frame");
                rest = &tail["frame".len()..];
                continue;
            };
            // a word boundary before "frame"
            let boundary = head.chars().last().is_none_or(|c| !c.is_alphanumeric() && c != '_');
            let nums = tail[after_word..].bytes().take_while(u8::is_ascii_digit).count();
            if !boundary || nums == 0 {
                out.push_str(&tail[..after_word]);
                rest = &tail[after_word..];
                continue;
            }
            rest = self.rewrite_list(&tail[after_word..], &mut out);
        }
        out.push_str(rest);
        out
    }

    /// A list of numbers after "frame(s) ": each one as "FILE frame N"; returns what follows.
    fn rewrite_list<'a>(&self, mut s: &'a str, out: &mut String) -> &'a str {
        let mut first = true;
        loop {
            let n = s.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return s;
            }
            let Ok(g) = s[..n].parse::<u64>() else {
                out.push_str(&s[..n]);
                return &s[n..];
            };
            if !first {
                out.push_str(", ");
            }
            first = false;
            out.push_str(&self.describe(g));
            s = &s[n..];
            // another frame number follows (not a decimal such as "0.2 ms")
            match s.strip_prefix(", ") {
                Some(r) if is_whole_number(r) => s = r,
                _ => return s,
            }
        }
    }
}

/// `s` starts with a whole number (digits not followed by `.` and a digit).
fn is_whole_number(s: &str) -> bool {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    let mut rest = s.bytes().skip(n);
    n > 0 && !(rest.next() == Some(b'.') && rest.next().is_some_and(|b| b.is_ascii_digit()))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> FrameMap {
        let span = |name: &str, offset, last_frame| FileSpan {
            name: name.into(),
            offset,
            last_frame,
            first_ts: None,
            last_ts: None,
        };
        FrameMap {
            files: vec![span("a.pcap", 0, 10), span("b.pcap", 10, 5), span("c.pcap", 15, 7)],
        }
    }

    #[test]
    fn resolves_across_files() {
        let m = map();
        assert_eq!(m.resolve(1), ("a.pcap", 1));
        assert_eq!(m.resolve(10), ("a.pcap", 10));
        assert_eq!(m.resolve(11), ("b.pcap", 1));
        assert_eq!(m.resolve(16), ("c.pcap", 1));
        assert_eq!(m.resolve(22), ("c.pcap", 7));
        assert_eq!(m.resolve(0), ("a.pcap", 0));
    }

    #[test]
    fn rewrites_frame_references_in_text() {
        let m = map();
        assert_eq!(
            m.rewrite_text("frame 12: SYN to 10.0.0.5:49667, retransmitted 3×"),
            "b.pcap frame 2: SYN to 10.0.0.5:49667, retransmitted 3×"
        );
        assert_eq!(
            m.rewrite_text("resets in frames 3, 17 (server); keyframe 4"),
            "resets in a.pcap frame 3, c.pcap frame 2 (server); keyframe 4"
        );
        assert_eq!(m.rewrite_text("no frames here"), "no frames here");
        assert_eq!(
            m.rewrite_text("→ SERVFAIL (frame 12, 0.2 ms)"),
            "→ SERVFAIL (b.pcap frame 2, 0.2 ms)"
        );
    }
}
