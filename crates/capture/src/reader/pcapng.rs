//! The pcapng side of [`CaptureReader`]: block framing (type, total length at both ends, the
//! byte order of the section), Section Header and Interface Description Blocks, and the three
//! packet blocks (Enhanced, Simple, obsolete Packet Block); other blocks are counted and
//! skipped (see `crate::pcapng` for the layouts).

use std::ops::Range;

use super::{CaptureReader, Pending, Step};
use crate::error::{CaptureError, ErrorKind};
use crate::pcapng as fmt;
use crate::source::{hex, Endian};
use crate::Timestamp;

impl CaptureReader {
    /// Reads and handles one pcapng block.
    pub(super) fn ng_step(&mut self) -> Result<Step, CaptureError> {
        const HDR: usize = fmt::BLOCK_HEADER_LEN;
        let start = self.input.offset();
        let n = self.need(HDR)?;
        if n == 0 {
            return Ok(Step::End);
        }
        if n < HDR {
            return Ok(self.ended_inside(format!(
                "file ends {n} bytes into a pcapng block header at offset {start}"
            )));
        }
        let raw_type: [u8; 4] = self.input.rest().first_chunk::<4>().copied().unwrap_or_default();
        let (endian, btype) = if raw_type == fmt::SHB.to_le_bytes() {
            let m = self.need(HDR + 4)?;
            if m < HDR + 4 {
                return Ok(self.ended_inside(format!(
                    "file ends {m} bytes into a pcapng Section Header Block at offset {start}"
                )));
            }
            let bom: [u8; 4] = self
                .input
                .rest()
                .get(HDR..HDR + 4)
                .and_then(|b| b.try_into().ok())
                .unwrap_or_default();
            let Some(e) = fmt::bom_endian(&bom) else {
                let what = format!(
                    "pcapng Section Header Block: byte-order magic {} is neither 1a2b3c4d nor 4d3c2b1a",
                    hex(&bom)
                );
                return Err(self.error(start, ErrorKind::Corrupt(what)));
            };
            (e, fmt::SHB)
        } else {
            let e = self.ng_endian;
            (e, e.u32(self.input.rest(), 0).unwrap_or_default())
        };
        let len = endian.u32(self.input.rest(), 4).unwrap_or_default();
        // The block's name is only needed for messages: made when one is.
        let name = || fmt::block_name(btype);
        let min = if btype == fmt::SHB { fmt::MIN_SHB_LEN } else { fmt::MIN_BLOCK_LEN };
        let bad_len = if len % 4 != 0 {
            Some(format!("block total length {len} is not a multiple of 4"))
        } else if len < min {
            Some(format!("block total length {len} is less than the minimum {min}"))
        } else if len > self.limits.max_block_len {
            Some(format!(
                "block total length {len} is over the {}-byte limit",
                self.limits.max_block_len
            ))
        } else {
            None
        };
        if let Some(what) = bad_len {
            return Err(self.error(start, ErrorKind::Corrupt(format!("pcapng {}: {what}", name()))));
        }
        let len_us = len as usize;
        let got = self.need(len_us)?;
        if got < len_us {
            return Ok(self.ended_inside(format!(
                "file ends {got} bytes into a {len}-byte pcapng {} at offset {start}",
                name()
            )));
        }
        let trailer = endian.u32(self.input.rest(), len_us.saturating_sub(4)).unwrap_or_default();
        if trailer != len {
            let what = format!(
                "pcapng {}: block total length is {len} at the start of the block but {trailer} at its end",
                name()
            );
            return Err(self.error(start, ErrorKind::Corrupt(what)));
        }
        // The block is complete: consume it; its bytes stay in place until the next call.
        let rec = self.input.consume(len_us);
        let body = rec + HDR..rec + len_us - 4;
        match btype {
            fmt::SHB => self.on_shb(start, endian, body),
            fmt::IDB => self.on_idb(start, body),
            fmt::EPB | fmt::OPB => Ok(self.on_packet_block(start, btype, body)),
            fmt::SPB => Ok(self.on_spb(start, body)),
            other => {
                if fmt::wireshark_numbers(other) {
                    self.stats.numbered_non_packets =
                        self.stats.numbered_non_packets.saturating_add(1);
                }
                let st = &mut self.stats;
                if let Some(c) = st.unknown_blocks.get_mut(&other) {
                    *c = c.saturating_add(1);
                } else if st.unknown_blocks.len() < self.limits.max_unknown_block_types {
                    st.unknown_blocks.insert(other, 1);
                } else {
                    st.unknown_blocks_other = st.unknown_blocks_other.saturating_add(1);
                }
                Ok(Step::Continue)
            }
        }
    }

    fn on_shb(
        &mut self,
        start: u64,
        endian: Endian,
        body: Range<usize>,
    ) -> Result<Step, CaptureError> {
        let body = self.input.bytes().get(body).unwrap_or(&[]);
        let major = endian.u16(body, 4).unwrap_or_default();
        let minor = endian.u16(body, 6).unwrap_or_default();
        if major != 1 {
            let what = format!(
                "pcapng Section Header Block: version {major}.{minor} is not supported (only 1.x)"
            );
            return Err(self.error(start, ErrorKind::Corrupt(what)));
        }
        self.ng_endian = endian;
        self.interfaces.clear();
        self.stats.sections = self.stats.sections.saturating_add(1);
        let opts = body.get(fmt::SHB_FIXED..).unwrap_or(&[]);
        let (st, limits) = (&mut self.stats, &self.limits);
        let r = fmt::for_each_option(opts, endian, |code, v| {
            if code == fmt::OPT_COMMENT {
                st.note_comment(limits, v);
            }
        });
        if let Err(e) = r {
            let at =
                start.saturating_add((fmt::BLOCK_HEADER_LEN + fmt::SHB_FIXED + e.offset) as u64);
            st.note_problem(limits, at, format!("pcapng Section Header Block option: {}", e.what));
        }
        Ok(Step::Continue)
    }

    fn on_idb(&mut self, start: u64, body: Range<usize>) -> Result<Step, CaptureError> {
        if self.interfaces.len() >= self.limits.max_interfaces {
            let what = format!(
                "pcapng Interface Description Block: more than {} interfaces in one section (limit)",
                self.limits.max_interfaces
            );
            return Err(self.error(start, ErrorKind::Corrupt(what)));
        }
        let endian = self.ng_endian;
        let body = self.input.bytes().get(body).unwrap_or(&[]);
        let (st, limits) = (&mut self.stats, &self.limits);
        let Some((iface, problem)) = fmt::parse_idb(body, endian, |v| st.note_comment(limits, v))
        else {
            let what = format!(
                "pcapng Interface Description Block: body is {} bytes, shorter than its {}-byte fixed part",
                body.len(),
                fmt::IDB_FIXED
            );
            return Err(self.error(start, ErrorKind::Corrupt(what)));
        };
        if let Some(p) = problem {
            st.note_problem(
                limits,
                start,
                format!(
                    "pcapng Interface Description Block (interface {}): {p}",
                    self.interfaces.len()
                ),
            );
        }
        if st.sections <= 1 {
            let index = self.interfaces.len();
            let names = idb_names(body, endian, |at, what| {
                let at = start.saturating_add((fmt::BLOCK_HEADER_LEN + fmt::IDB_FIXED + at) as u64);
                let what =
                    format!("pcapng Interface Description Block (interface {index}): {what}");
                st.note_problem(limits, at, what);
            });
            st.interface_names.push(names);
        }
        self.interfaces.push(iface);
        self.stats.interfaces = self.stats.interfaces.saturating_add(1);
        Ok(Step::Continue)
    }

    fn skip_packet(&mut self, start: u64, what: String) -> Step {
        self.stats.skipped_packets = self.stats.skipped_packets.saturating_add(1);
        self.stats.note_problem(&self.limits, start, format!("packet skipped: {what}"));
        Step::Continue
    }

    fn on_packet_block(&mut self, start: u64, btype: u32, body: Range<usize>) -> Step {
        let endian = self.ng_endian;
        let name = || fmt::block_name(btype);
        let body_at = body.start;
        let body = self.input.bytes().get(body).unwrap_or(&[]);
        let body_len = body.len();
        let (fields, fixed) = if btype == fmt::EPB {
            (fmt::parse_epb(body, endian), fmt::EPB_FIXED)
        } else {
            (fmt::parse_opb(body, endian), fmt::OPB_FIXED)
        };
        let Some(f) = fields else {
            return self.skip_packet(
                start,
                format!(
                    "{}: body is {body_len} bytes, shorter than its {fixed}-byte fixed part",
                    name()
                ),
            );
        };
        let Some(iface) =
            usize::try_from(f.interface).ok().and_then(|i| self.interfaces.get(i)).copied()
        else {
            return self.skip_packet(
                start,
                format!(
                    "{} refers to interface {}, but the section has defined only {} interface(s) before it",
                    name(),
                    f.interface,
                    self.interfaces.len()
                ),
            );
        };
        let room = body_len.saturating_sub(fixed);
        if f.caplen as usize > room {
            return self.skip_packet(
                start,
                format!(
                    "{}: captured length {} is more than the {room} bytes the block has room for",
                    name(),
                    f.caplen
                ),
            );
        }
        if f.caplen > self.limits.max_packet_len {
            return self.skip_packet(
                start,
                format!(
                    "{}: captured length {} is over the {}-byte limit",
                    name(),
                    f.caplen,
                    self.limits.max_packet_len
                ),
            );
        }
        let caplen = f.caplen as usize;
        // Options follow the packet data, padded to 32 bits.
        let opts_at = fixed + ((caplen + 3) & !3);
        let opts = body.get(opts_at..).unwrap_or(&[]);
        let (st, limits) = (&mut self.stats, &self.limits);
        let r = fmt::for_each_option(opts, endian, |code, v| {
            if code == fmt::OPT_COMMENT {
                st.note_comment(limits, v);
            }
        });
        if let Err(e) = r {
            let at = start.saturating_add((fmt::BLOCK_HEADER_LEN + opts_at + e.offset) as u64);
            st.note_problem(limits, at, format!("{} option: {}", name(), e.what));
        }
        let ns = iface.tsresol.to_nanos(f.ts_ticks) + i128::from(iface.tsoffset) * 1_000_000_000;
        let ts = Timestamp(ns.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64);
        Step::Packet(Pending {
            ts,
            link: iface.link,
            start: body_at + fixed,
            len: caplen,
            orig_len: f.orig_len,
            interface: f.interface,
        })
    }

    fn on_spb(&mut self, start: u64, body: Range<usize>) -> Step {
        let endian = self.ng_endian;
        let body_at = body.start;
        let body = self.input.bytes().get(body).unwrap_or(&[]);
        let body_len = body.len();
        let Some(orig_len) = endian.u32(body, 0) else {
            return self.skip_packet(
                start,
                format!("Simple Packet Block: body is {body_len} bytes, too short"),
            );
        };
        let Some(iface) = self.interfaces.first().copied() else {
            return self.skip_packet(
                start,
                "Simple Packet Block, but the section has no interface defined before it"
                    .to_string(),
            );
        };
        // Captured length: the original length, cut by interface 0's snap length (spec) and
        // by the room the block has.
        let room = body_len.saturating_sub(fmt::SPB_FIXED);
        let mut caplen = orig_len as usize;
        if iface.snaplen != 0 {
            caplen = caplen.min(iface.snaplen as usize);
        }
        caplen = caplen.min(room);
        if caplen > self.limits.max_packet_len as usize {
            return self.skip_packet(
                start,
                format!(
                    "Simple Packet Block: captured length {caplen} is over the {}-byte limit",
                    self.limits.max_packet_len
                ),
            );
        }
        self.stats.frames_without_timestamp = self.stats.frames_without_timestamp.saturating_add(1);
        Step::Packet(Pending {
            ts: self.last_ts,
            link: iface.link,
            start: body_at + fmt::SPB_FIXED,
            len: caplen,
            orig_len,
            interface: 0,
        })
    }
}

/// Longest `if_name` / `if_description` kept, in bytes (longer ones are cut at a character
/// boundary and reported).
pub(crate) const MAX_IDB_NAME: usize = 256;

/// The `if_name` (2) and `if_description` (3) options of an IDB body (pcapng spec: UTF-8
/// strings, not NUL-terminated; trailing NULs some writers add are dropped). A value that is
/// not valid UTF-8 is reported (`problem(offset in the options area, what)`) and left out,
/// never decoded lossily; one over [`MAX_IDB_NAME`] bytes is cut and reported. Framing errors
/// of the options area were already reported by `parse_idb`: the options before them count.
fn idb_names(
    body: &[u8],
    endian: Endian,
    mut problem: impl FnMut(usize, String),
) -> crate::stats::InterfaceName {
    let mut names = crate::stats::InterfaceName::default();
    let opts = body.get(fmt::IDB_FIXED..).unwrap_or(&[]);
    let mut at = 0usize;
    let _ = fmt::for_each_option(opts, endian, |code, v| {
        let here = at;
        at = at.saturating_add(4 + ((v.len() + 3) & !3));
        let (slot, opt) = match code {
            2 => (&mut names.name, "if_name"),
            3 => (&mut names.description, "if_description"),
            _ => return,
        };
        let v = match v.iter().rposition(|&b| b != 0) {
            Some(last) => v.get(..=last).unwrap_or(v),
            None => &[],
        };
        let text = match std::str::from_utf8(v) {
            Ok(t) => t,
            Err(e) => {
                let bad = e.valid_up_to();
                return problem(here, format!("{opt} is not UTF-8 (byte {bad} of its value)"));
            }
        };
        let mut end = text.len().min(MAX_IDB_NAME);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if end < text.len() {
            let what = format!("{opt} is {} bytes long, kept the first {end}", text.len());
            problem(here, what);
        }
        *slot = text.get(..end).map(str::to_string);
    });
    names
}
