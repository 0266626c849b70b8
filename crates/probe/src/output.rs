//! Output: PortQry's text layout and JSON Lines, written to the terminal and the `-l` log.

use std::io::{self, Write};

use crate::scan::{PortReport, PortState};
use crate::services;

/// Writes to the caller's output (unless quiet) and to the log file (always).
pub struct Tee<'a> {
    pub out: &'a mut dyn Write,
    pub log: Option<std::fs::File>,
    pub quiet: bool,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.quiet {
            self.out.write_all(buf)?;
        }
        if let Some(l) = &mut self.log {
            l.write_all(buf)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()?;
        if let Some(l) = &mut self.log {
            l.flush()?;
        }
        Ok(())
    }
}

/// `TCP port 135 (epmap service): LISTENING`
pub fn port_line(r: &PortReport) -> String {
    format!(
        "{} port {} ({} service): {}",
        r.proto.upper(),
        r.port,
        services::name(r.proto, r.port),
        r.state
    )
}

/// The text block of one port: the state line, the reason where it helps, the query.
pub fn port_block(
    r: &PortReport,
    probed_state: PortState,
    verbose: bool,
    w: &mut dyn Write,
) -> io::Result<()> {
    let mut first = r.clone();
    first.state = probed_state;
    writeln!(w, "{}", port_line(&first))?;
    if verbose || probed_state == PortState::Filtered {
        writeln!(w, "  ({})", r.reason)?;
    }
    if !r.text.is_empty() {
        for l in &r.text {
            writeln!(w, "{l}")?;
        }
        if probed_state != r.state {
            writeln!(w, "{} port {} is {}", r.proto.upper(), r.port, r.state)?;
        }
        writeln!(w)?;
    }
    Ok(())
}

/// One JSON Lines record.
pub fn json_line(r: &PortReport, w: &mut dyn Write) -> io::Result<()> {
    let s = serde_json::to_string(r).map_err(io::Error::other)?;
    writeln!(w, "{s}")
}
