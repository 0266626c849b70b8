//! Network Monitor 2.x capture files (`.cap`, written by Network Monitor 3.x and `nmcap`).
//!
//! # Layout (all little-endian; facts as Wireshark's `wiretap/netmon.c` documents them)
//!
//! * File header, 128 bytes: magic `GMBU`; minor, major version (u8 each); network type
//!   (u16); capture start as a SYSTEMTIME (8 × u16, local time of the capturing machine, no
//!   zone: taken as UTC here); then u32 pairs (offset, length) for the frame table, user data,
//!   comment data, process info (offset, *count*) and network info.
//! * Frame table: one u32 absolute file offset per frame, in frame order. Frames need not be
//!   contiguous nor in file order (files have holes), so the table is the only way in.
//! * Frame: `ts_delta` (u64, microseconds since the capture start, read as Wireshark does:
//!   times 10 as a signed count of 100 ns), `orig_len` (u32), `incl_len` (u32), the captured
//!   bytes, then a trailer from 2.1 on: network type (u16); 2.2 adds a process-info index
//!   (u32); 2.3 adds a UTC FILETIME (u64) and a time-zone index (u8). A 2.3 frame's time is
//!   its FILETIME.
//! * Network types: 0 and 1 Ethernet (0 appears in NetMon 3.4 VPN captures), 2 Token Ring, 3
//!   FDDI, 6 802.11 behind a NetMon radio header (its own length at byte 1, stripped here), 7–9
//!   raw IP, `0xE000 | linktype` a frame converted from pcap, `0xE080` 802.11, `0xE081`–
//!   `0xE08A` Message Analyzer types (WFP captures and others: counted, not decoded),
//!   `0xFFE0` an ETW event, `0xFFFB`–`0xFFFF` metadata (network info, payload header, DNS
//!   cache, filter): counted and skipped, never delivered as packets.
//! * Process table (2.2+, NetMon 3.4): a u16 version, then `count` entries: path size (u32,
//!   bytes), UTF-16 path, icon size (u32), icon, PID (u32), local port (u16, 2 padding bytes),
//!   remote port (u16, 2 padding bytes), IPv6 flag (u32), local address (16 bytes), remote
//!   address (16 bytes; an IPv4 address is the first 4 bytes in network order).
//!
//! The whole file is held as one byte slice (a memory map for a file, a buffer read to its
//! end for a stream, capped by [`crate::Limits::max_stream_len`]): the frame table needs random
//! access. Nothing else is allocated per frame.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::{WinError, WinErrorKind};
use crate::le::{slice_at, u16_at, u32_at, u64_at, u8_at, utf16_lossy};
use crate::time::{filetime_to_unix_ns, systemtime_to_unix_ns};
use crate::{Direction, Limits, Loc, ProcessInfo, WinStats};

/// File header length (magic included).
pub const HEADER_LEN: usize = 128;
/// Magic of a 2.x file.
pub const MAGIC: [u8; 4] = *b"GMBU";
/// Magic of a 1.x file (recognised, refused).
pub const MAGIC_1X: [u8; 4] = *b"RTSS";
/// Per-frame record header length (2.x).
const FRAME_HEADER_LEN: usize = 16;
/// Largest process path accepted (bytes), as Wireshark.
const MAX_PATH_BYTES: u32 = 65_536;
/// Largest process icon skipped over (bytes).
const MAX_ICON_BYTES: u32 = 16 << 20;

/// The parsed file header.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Header {
    pub version: (u8, u8),
    pub network: u16,
    /// Capture start (SYSTEMTIME taken as UTC), nanoseconds since the Unix epoch.
    pub start_ns: i64,
    pub frame_table_offset: u32,
    pub frames: u32,
    pub process_table_offset: u32,
    pub process_count: u32,
}

impl Header {
    /// Parses the 128-byte header of `file` (whose length is `len`).
    pub fn parse(b: &[u8]) -> Result<Header, WinError> {
        let bad =
            |at: usize, what: String| WinError::new(WinErrorKind::Corrupt, at as u64, 0, what);
        if b.len() < HEADER_LEN {
            let what = format!(
                "file ends after {} bytes, inside the {HEADER_LEN}-byte Network Monitor header",
                b.len()
            );
            return Err(WinError::new(WinErrorKind::Truncated, 0, 0, what));
        }
        let magic = slice_at(b, 0, 4).unwrap_or_default();
        if magic == MAGIC_1X {
            let what = "Network Monitor 1.x files are not supported (only 2.x)".to_string();
            return Err(WinError::new(WinErrorKind::Unsupported, 0, 0, what));
        }
        if magic != MAGIC {
            return Err(bad(0, "not a Network Monitor 2.x file (no GMBU magic)".into()));
        }
        let minor = u8_at(b, 4).unwrap_or(0);
        let major = u8_at(b, 5).unwrap_or(0);
        if major != 2 {
            let what = format!("Network Monitor file version {major}.{minor} is not supported");
            return Err(WinError::new(WinErrorKind::Unsupported, 5, 0, what));
        }
        let mut st = [0u16; 8];
        for (i, v) in st.iter_mut().enumerate() {
            *v = u16_at(b, 8 + 2 * i).unwrap_or(0);
        }
        let Some(start_ns) = systemtime_to_unix_ns(st) else {
            return Err(bad(
                8,
                format!("capture start time {st:?} is not a date between 1677 and 2262"),
            ));
        };
        let ft_off = u32_at(b, 24).unwrap_or(0);
        let ft_len = u32_at(b, 28).unwrap_or(0);
        if ft_len % 4 != 0 {
            return Err(bad(28, format!("frame table length {ft_len} is not a multiple of 4")));
        }
        let end = u64::from(ft_off) + u64::from(ft_len);
        if end > b.len() as u64 {
            let what = format!(
                "frame table ({ft_len} bytes at offset {ft_off}) ends past the end of the \
                 {}-byte file",
                b.len()
            );
            return Err(bad(24, what));
        }
        let (pt_off, pt_count) = if minor >= 2 {
            (u32_at(b, 48).unwrap_or(0), u32_at(b, 52).unwrap_or(0))
        } else {
            // Uninitialised before 2.2 (Wireshark's finding): ignored.
            (0, 0)
        };
        Ok(Header {
            version: (major, minor),
            network: u16_at(b, 6).unwrap_or(0),
            start_ns,
            frame_table_offset: ft_off,
            frames: ft_len / 4,
            process_table_offset: pt_off,
            process_count: pt_count,
        })
    }

    /// Bytes of the trailer after each frame's data.
    fn trailer_len(&self) -> usize {
        match self.version.1 {
            0 => 0,
            1 => 2,
            2 => 6,
            _ => 15,
        }
    }
}

/// What a frame's network type means here.
enum Media {
    /// Deliver with this pcap link type, after skipping `strip` leading bytes.
    Link { link: u32, strip: usize },
    /// Not a packet (metadata, ETW event) or a type not decoded: counted under this name.
    Skip(&'static str),
}

fn media(network: u16, data: &[u8]) -> Media {
    match network {
        0 | 1 => Media::Link { link: 1, strip: 0 },
        2 => Media::Link { link: 6, strip: 0 },
        3 => Media::Link { link: 10, strip: 0 },
        6 => {
            // NetMon 802.11 radio header: version (u8), its length (u16), ...
            let strip = u16_at(data, 1).map_or(0, usize::from);
            Media::Link { link: 105, strip }
        }
        7..=9 => Media::Link { link: 101, strip: 0 },
        0xE080 => Media::Link { link: 105, strip: 0 },
        0xE081 => Media::Skip("Message Analyzer NDIS ETW Wi-Fi channel message"),
        0xE082 => Media::Skip("Message Analyzer Fiddler message"),
        0xE083..=0xE088 => Media::Skip("Message Analyzer WFP capture (not decoded)"),
        0xE089 | 0xE08A => Media::Skip("Message Analyzer PEF NDIS message"),
        n if n & 0xF000 == 0xE000 => Media::Link { link: u32::from(n & 0x0FFF), strip: 0 },
        0xFFE0 => Media::Skip("ETW event frame"),
        0xFFFB => Media::Skip("network info (extended) frame"),
        0xFFFC => Media::Skip("payload header frame"),
        0xFFFD => Media::Skip("network info frame"),
        0xFFFE => Media::Skip("DNS cache frame"),
        0xFFFF => Media::Skip("NetMon filter frame"),
        _ => Media::Skip("unknown network type"),
    }
}

/// Streaming-by-table reader of one NetMon 2.x file held in memory (or mapped).
pub struct NetmonReader {
    data: Box<dyn AsRef<[u8]> + Send + Sync>,
    header: Header,
    next: u32,
    limits: Limits,
    /// Frames (table entries) seen so far, delivered or not: the position used in messages.
    entries: u64,
    /// Process-table entries actually read (a damaged table holds fewer than it says).
    procs_loaded: u32,
}

impl NetmonReader {
    /// Reads the header and process table of `data`; the table is appended to `processes`.
    pub fn new(
        data: Box<dyn AsRef<[u8]> + Send + Sync>,
        limits: Limits,
        stats: &mut WinStats,
        processes: &mut Vec<ProcessInfo>,
    ) -> Result<NetmonReader, WinError> {
        let header = Header::parse((*data).as_ref())?;
        stats.format = format!("netmon {}.{}", header.version.0, header.version.1);
        let before = processes.len();
        if header.process_count > 0 && header.process_table_offset > 0 {
            read_processes((*data).as_ref(), &header, &limits, stats, processes);
        }
        let procs_loaded =
            u32::try_from(processes.len().saturating_sub(before)).unwrap_or(u32::MAX);
        Ok(NetmonReader { data, header, next: 0, limits, entries: 0, procs_loaded })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The bytes of a packet [`next_loc`](NetmonReader::next_loc) found.
    pub(crate) fn data(&self, loc: &Loc) -> &[u8] {
        slice_at((*self.data).as_ref(), loc.start, loc.len).unwrap_or_default()
    }

    /// The next packet; non-packet frames and damaged frames are counted in `stats` and
    /// skipped. `Ok(None)` after the last table entry.
    pub(crate) fn next_loc(
        &mut self,
        stats: &mut WinStats,
        process_base: u32,
    ) -> Result<Option<Loc>, WinError> {
        loop {
            if self.next >= self.header.frames {
                return Ok(None);
            }
            let idx = self.next;
            self.next += 1;
            self.entries += 1;
            let b: &[u8] = (*self.data).as_ref();
            let slot = self.header.frame_table_offset as usize + idx as usize * 4;
            let Some(off) = u32_at(b, slot) else {
                // Cannot happen: the table was checked to lie inside the file.
                return Ok(None);
            };
            match frame_at(b, off as usize, &self.header, &self.limits) {
                Err(what) => {
                    stats.note_problem(
                        &self.limits,
                        format!("at byte {off} (frame table entry {}): {what}", idx + 1),
                    );
                    stats.skipped_damaged = stats.skipped_damaged.saturating_add(1);
                }
                Ok(Parsed::Skip(kind, network)) => {
                    stats.count_not_packet(&format!("{kind} (type 0x{network:04x})"));
                }
                Ok(Parsed::Packet { ts_ns, link, start, len, orig_len, process }) => {
                    let process = process
                        .filter(|&p| p < self.procs_loaded)
                        .map(|p| p.saturating_add(process_base));
                    return Ok(Some(Loc {
                        ts_ns,
                        link,
                        start,
                        len,
                        orig_len,
                        interface: 0,
                        direction: Direction::Unknown,
                        pid: None,
                        process,
                        offset: u64::from(off),
                    }));
                }
            }
        }
    }
}

enum Parsed {
    Packet { ts_ns: i64, link: u32, start: usize, len: usize, orig_len: u32, process: Option<u32> },
    Skip(&'static str, u16),
}

/// Parses the frame record at `off`; `Err` says what is wrong with it.
fn frame_at(b: &[u8], off: usize, h: &Header, limits: &Limits) -> Result<Parsed, String> {
    let hdr = slice_at(b, off, FRAME_HEADER_LEN).ok_or_else(|| {
        format!("frame record header (16 bytes) lies outside the {}-byte file", b.len())
    })?;
    let delta = u64_at(hdr, 0).unwrap_or(0);
    let orig_len = u32_at(hdr, 8).unwrap_or(0);
    let incl = u32_at(hdr, 12).unwrap_or(0);
    if incl > limits.max_packet_len {
        return Err(format!(
            "frame says {incl} bytes were captured, over the {}-byte limit",
            limits.max_packet_len
        ));
    }
    let data_at = off + FRAME_HEADER_LEN;
    let data = slice_at(b, data_at, incl as usize).ok_or_else(|| {
        format!("frame's {incl} captured bytes run past the end of the {}-byte file", b.len())
    })?;
    let tr_at = data_at + incl as usize;
    let tr = slice_at(b, tr_at, h.trailer_len()).ok_or_else(|| {
        format!("frame trailer ({} bytes) runs past the end of the file", h.trailer_len())
    })?;
    let network = if h.version.1 >= 1 { u16_at(tr, 0).unwrap_or(0) } else { h.network };
    let process = if h.version.1 >= 2 { u32_at(tr, 2) } else { None };
    // Wireshark's reading: the unsigned microseconds times 10 as a signed count of 100 ns.
    let mut ts_ns = h.start_ns.saturating_add((delta.wrapping_mul(10) as i64).saturating_mul(100));
    if h.version.1 >= 3 {
        let ft = u64_at(tr, 6).unwrap_or(0);
        ts_ns = filetime_to_unix_ns(ft as i64);
    }
    match media(network, data) {
        Media::Skip(kind) => Ok(Parsed::Skip(kind, network)),
        Media::Link { link, strip } => {
            let strip = strip.min(incl as usize);
            Ok(Parsed::Packet {
                ts_ns,
                link,
                start: data_at + strip,
                len: incl as usize - strip,
                orig_len: orig_len.saturating_sub(strip as u32),
                process,
            })
        }
    }
}

/// Reads the process table; a damaged table is reported and what came before it kept.
fn read_processes(
    b: &[u8],
    h: &Header,
    limits: &Limits,
    stats: &mut WinStats,
    out: &mut Vec<ProcessInfo>,
) {
    let mut at = h.process_table_offset as usize + 2; // after the u16 version
    for i in 0..h.process_count {
        if out.len() >= limits.max_processes {
            stats.note_problem(
                limits,
                format!(
                    "process table: more than {} entries, the rest ignored",
                    limits.max_processes
                ),
            );
            return;
        }
        match process_at(b, at) {
            Ok((p, next)) => {
                out.push(p);
                at = next;
            }
            Err(what) => {
                stats.note_problem(
                    limits,
                    format!("at byte {at} (process table entry {}): {what}", i + 1),
                );
                return;
            }
        }
    }
}

fn process_at(b: &[u8], at: usize) -> Result<(ProcessInfo, usize), String> {
    let short = || format!("process entry runs past the end of the {}-byte file", b.len());
    let path_len = u32_at(b, at).ok_or_else(short)?;
    if path_len > MAX_PATH_BYTES {
        return Err(format!("path size {path_len} is over the {MAX_PATH_BYTES}-byte limit"));
    }
    let path = utf16_lossy(slice_at(b, at + 4, path_len as usize).ok_or_else(short)?);
    let mut p = at + 4 + path_len as usize;
    let icon = u32_at(b, p).ok_or_else(short)?;
    if icon > MAX_ICON_BYTES {
        return Err(format!("icon size {icon} is over the {MAX_ICON_BYTES}-byte limit"));
    }
    p = p + 4 + icon as usize;
    let fixed = slice_at(b, p, 4 + 4 + 4 + 4 + 16 + 16).ok_or_else(short)?;
    let pid = u32_at(fixed, 0).unwrap_or(0);
    let lport = u16_at(fixed, 4).unwrap_or(0);
    let rport = u16_at(fixed, 8).unwrap_or(0);
    let v6 = u32_at(fixed, 12).unwrap_or(0) != 0;
    let addr = |o: usize| -> IpAddr {
        let a: [u8; 16] = slice_at(fixed, o, 16).and_then(|s| s.try_into().ok()).unwrap_or([0; 16]);
        if v6 {
            IpAddr::V6(Ipv6Addr::from(a))
        } else {
            IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))
        }
    };
    let local = SocketAddr::new(addr(16), lport);
    let remote = SocketAddr::new(addr(32), rport);
    Ok((ProcessInfo::new(pid, path, Some(local), Some(remote)), p + fixed.len()))
}
