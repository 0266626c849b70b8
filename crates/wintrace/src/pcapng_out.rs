//! A small pcapng writer (draft-ietf-opsawg-pcapng) for `tracehound convert`: one section,
//! interfaces (IDBs, nanosecond resolution, name and description) added as they first
//! appear, Enhanced Packet Blocks with the direction in `epb_flags` (bits 0–1: 1 inbound, 2
//! outbound) and an optional comment (process, 802.11 metadata). Little-endian.

use std::io::{self, Write};

use crate::Direction;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const EPB: u32 = 6;
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const IF_NAME: u16 = 2;
const IF_DESCRIPTION: u16 = 3;
const IF_TSRESOL: u16 = 9;
const EPB_FLAGS: u16 = 2;
const SHB_USERAPPL: u16 = 4;

/// Writes one pcapng section to `W`.
pub struct PcapngWriter<W: Write> {
    w: W,
    interfaces: u32,
    scratch: Vec<u8>,
}

fn option(buf: &mut Vec<u8>, code: u16, value: &[u8]) {
    // Options longer than a u16 are cut (comments are short).
    let value = value.get(..usize::from(u16::MAX) - 3).unwrap_or(value);
    buf.extend_from_slice(&code.to_le_bytes());
    buf.extend_from_slice(&(value.len() as u16).to_le_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the Section Header Block (`shb_userappl` = `app`).
    pub fn new(mut w: W, app: &str) -> io::Result<PcapngWriter<W>> {
        let mut body = Vec::new();
        body.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        option(&mut body, SHB_USERAPPL, app.as_bytes());
        option(&mut body, OPT_END, &[]);
        write_block(&mut w, SHB, &body)?;
        Ok(PcapngWriter { w, interfaces: 0, scratch: Vec::new() })
    }

    /// Adds an interface; returns its index for [`packet`](PcapngWriter::packet).
    pub fn interface(&mut self, link: u32, name: &str, description: &str) -> io::Result<u32> {
        let mut body = Vec::new();
        body.extend_from_slice(&(link as u16).to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes()); // no snap length
        if !name.is_empty() {
            option(&mut body, IF_NAME, name.as_bytes());
        }
        if !description.is_empty() {
            option(&mut body, IF_DESCRIPTION, description.as_bytes());
        }
        option(&mut body, IF_TSRESOL, &[9]);
        option(&mut body, OPT_END, &[]);
        write_block(&mut self.w, IDB, &body)?;
        self.interfaces += 1;
        Ok(self.interfaces - 1)
    }

    /// Writes one packet (timestamp in nanoseconds since the Unix epoch; negative clamps to 0).
    pub fn packet(
        &mut self,
        interface: u32,
        ts_ns: i64,
        data: &[u8],
        orig_len: u32,
        direction: Direction,
        comment: Option<&str>,
    ) -> io::Result<()> {
        let ts = u64::try_from(ts_ns).unwrap_or(0);
        let b = &mut self.scratch;
        b.clear();
        b.extend_from_slice(&interface.to_le_bytes());
        b.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        b.extend_from_slice(&(ts as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&orig_len.max(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
        b.resize(b.len().next_multiple_of(4), 0);
        let flags: u32 = match direction {
            Direction::Inbound => 1,
            Direction::Outbound => 2,
            Direction::Unknown => 0,
        };
        let mut any = false;
        if flags != 0 {
            option(b, EPB_FLAGS, &flags.to_le_bytes());
            any = true;
        }
        if let Some(c) = comment.filter(|c| !c.is_empty()) {
            option(b, OPT_COMMENT, c.as_bytes());
            any = true;
        }
        if any {
            option(b, OPT_END, &[]);
        }
        write_block(&mut self.w, EPB, &self.scratch)
    }

    pub fn into_inner(self) -> W {
        self.w
    }
}

fn write_block<W: Write>(w: &mut W, ty: u32, body: &[u8]) -> io::Result<()> {
    let len = (body.len() + 12) as u32;
    w.write_all(&ty.to_le_bytes())?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(body)?;
    w.write_all(&len.to_le_bytes())
}

/// Why a conversion stopped.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("{0}")]
    Read(#[from] crate::WinError),
    #[error("writing the pcapng: {0}")]
    Write(#[from] io::Error),
}

/// What a conversion wrote.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ConvertSummary {
    pub packets: u64,
    pub interfaces: u32,
    /// Packets that got a comment (process, 802.11 metadata).
    pub comments: u64,
}

/// Writes every packet of `rd` to a pcapng on `w`: one IDB per (interface, link type) as
/// they appear (named as the trace names them), the direction in `epb_flags`, and the
/// process (`process NAME (pid N)`: from the NetMon frame's process index, else from the
/// connection events matching the packet's endpoints) and 802.11 metadata as the packet
/// comment.
pub fn convert<W: Write>(
    rd: &mut crate::WinReader,
    w: W,
    app: &str,
) -> Result<(ConvertSummary, W), ConvertError> {
    let mut out = PcapngWriter::new(w, app)?;
    let mut idbs: std::collections::HashMap<(u32, u32), u32> = std::collections::HashMap::new();
    let mut sum = ConvertSummary::default();
    let mut comment = String::new();
    while let Some(p) = rd.next_packet()? {
        let (iface, link, ts, orig, dir, pid, process) =
            (p.interface, p.link, p.ts_ns, p.orig_len, p.direction, p.pid, p.process);
        let idb = match idbs.get(&(iface, link)) {
            Some(&i) => i,
            None => {
                let info = rd.stats().interfaces.get(iface as usize);
                let name = info.map_or_else(|| rd.stats().format.clone(), |i| i.name.clone());
                let desc = info.map_or("", |i| i.description.as_str());
                let i = out.interface(link, &name, desc)?;
                idbs.insert((iface, link), i);
                i
            }
        };
        comment.clear();
        let by_index = process.and_then(|i| rd.processes().get(i as usize));
        let by_endpoints = || {
            if rd.processes().is_empty() {
                return None;
            }
            let (a, b) = crate::endpoints::endpoints(link, rd.last_packet_data())?;
            rd.process_for(a, b)
        };
        if let Some(pr) = by_index.or_else(by_endpoints) {
            if pr.name.is_empty() {
                comment.push_str(&format!("pid {}", pr.pid));
            } else {
                comment.push_str(&format!("process {} (pid {})", pr.name, pr.pid));
            }
        } else if let Some(pid) = pid {
            comment.push_str(&format!("pid {pid}"));
        }
        if let Some(c) = rd.last_comment() {
            if !comment.is_empty() {
                comment.push_str("; ");
            }
            comment.push_str(c);
        }
        if !comment.is_empty() {
            sum.comments += 1;
        }
        let data = rd.last_packet_data();
        out.packet(idb, ts, data, orig, dir, Some(comment.as_str()))?;
        sum.packets += 1;
    }
    sum.interfaces = idbs.len() as u32;
    Ok((sum, out.into_inner()))
}
