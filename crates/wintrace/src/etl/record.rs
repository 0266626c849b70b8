//! Trace records inside an ETL buffer. Every record starts with a 4-byte marker: two bytes
//! (the header's version, or its size for the self-sized kinds), the header type (byte 2)
//! and marker flags (byte 3, top bit = trace header). Records are 8-byte aligned; a marker of
//! `ff ff ff ff` (or zero) ends the buffer's records.
//!
//! | type | kind | header bytes | size at | timestamp at | provider |
//! |---|---|---|---|---|---|
//! | 1, 2 | system (32/64) | 32 | 4 | 16 | — (hook id at 6: group << 8 \| type) |
//! | 3, 4 | compact (32/64) | 24 | 4 | 16 | — (hook id) |
//! | 0x10, 0x11 | perfinfo (32/64) | 16 | 4 | 8 | — (hook id) |
//! | 0x0a, 0x14 | full EVENT_TRACE_HEADER | 48 | 0 | 16 | GUID at 24; class type at 4, version at 6 |
//! | 0x0b, 0x15 | instance | 56 | 0 | 16 | — |
//! | 0x12, 0x13 | EVENT_HEADER | 80 | 0 | 16 | GUID at 24; descriptor at 40 |
//! | 0x0d–0x0f | error, WNODE, message | size only | 0 | — | — |
//!
//! An EVENT_HEADER with flag 0x0001 (extended info) is followed by extended data items, each
//! 8-byte aligned: reserved (u16), type (u16), linkage (u16, bit 0 = another follows), data
//! size (u16), data. Thread and process ids sit at 8 and 12 in every kind that has them.

use crate::le::{guid_at, u16_at, u32_at, u64_at, u8_at};
use crate::Guid;

/// What kind of record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    System,
    Compact,
    PerfInfo,
    Full,
    Instance,
    EventHeader,
    Other(u8),
}

impl Kind {
    pub fn name(self, ty: u8) -> String {
        let bits = match ty {
            1 | 3 | 0x0a | 0x0b | 0x10 | 0x12 => "32",
            _ => "64",
        };
        match self {
            Kind::System => format!("system{bits}"),
            Kind::Compact => format!("compact{bits}"),
            Kind::PerfInfo => format!("perfinfo{bits}"),
            Kind::Full => format!("full_header{bits}"),
            Kind::Instance => format!("instance{bits}"),
            Kind::EventHeader => format!("event_header{bits}"),
            Kind::Other(t) => format!("header type 0x{t:02x}"),
        }
    }
}

/// The EVENT_DESCRIPTOR of an EVENT_HEADER record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Descriptor {
    pub id: u16,
    pub version: u8,
    pub opcode: u8,
    pub keyword: u64,
}

/// One record, viewed in place.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    pub kind: Kind,
    pub header_type: u8,
    /// Bytes the record takes (before alignment).
    pub size: usize,
    /// Raw timestamp in the file's clock (see `clock.rs`); 0 when the kind has none.
    pub ts: i64,
    pub tid: u32,
    pub pid: u32,
    /// System / compact / perfinfo: group and type of the kernel event.
    pub hook: u16,
    pub provider: Option<Guid>,
    pub desc: Descriptor,
    /// Extended data item types seen (up to 8).
    pub ext_types: [u16; 8],
    pub ext_count: usize,
    /// The event's own data.
    pub payload: &'a [u8],
}

/// Why a record cannot be read (with the offset in the buffer payload).
#[derive(Debug)]
pub enum Bad {
    /// No more records in this buffer (filler, or too few bytes for a marker).
    End,
    /// The record cannot be followed: the rest of the buffer is skipped.
    Broken(String),
}

/// The kind of a header type byte.
pub fn kind_of(ty: u8) -> Kind {
    match ty {
        1 | 2 => Kind::System,
        3 | 4 => Kind::Compact,
        0x10 | 0x11 => Kind::PerfInfo,
        0x0a | 0x14 => Kind::Full,
        0x0b | 0x15 => Kind::Instance,
        0x12 | 0x13 => Kind::EventHeader,
        t => Kind::Other(t),
    }
}

/// The record at `b[at..]` (`b` = the buffer payload, records start at 0).
pub fn parse(b: &[u8], at: usize) -> Result<Record<'_>, Bad> {
    let Some(marker) = u32_at(b, at) else { return Err(Bad::End) };
    if marker == 0xFFFF_FFFF || marker == 0 {
        return Err(Bad::End);
    }
    let ty = u8_at(b, at + 2).unwrap_or(0);
    let flags = u8_at(b, at + 3).unwrap_or(0);
    if flags & 0x80 == 0 {
        return Err(Bad::Broken(format!("marker {marker:08x} lacks the trace-header flag")));
    }
    let (kind, hdr_len, size_at, ts_at) = match ty {
        1 | 2 => (Kind::System, 32, 4, Some(16)),
        3 | 4 => (Kind::Compact, 24, 4, Some(16)),
        0x10 | 0x11 => (Kind::PerfInfo, 16, 4, Some(8)),
        0x0a | 0x14 => (Kind::Full, 48, 0, Some(16)),
        0x0b | 0x15 => (Kind::Instance, 56, 0, Some(16)),
        0x12 | 0x13 => (Kind::EventHeader, 80, 0, Some(16)),
        0x0d..=0x0f => (Kind::Other(ty), 4, 0, None),
        _ => return Err(Bad::Broken(format!("unknown trace header type 0x{ty:02x}"))),
    };
    let size = usize::from(u16_at(b, at + size_at).unwrap_or(0));
    if size < hdr_len {
        return Err(Bad::Broken(format!(
            "{} record says it is {size} bytes, less than its {hdr_len}-byte header",
            kind.name(ty)
        )));
    }
    let Some(rec) = b.get(at..at + size) else {
        return Err(Bad::Broken(format!(
            "{} record of {size} bytes runs past the end of the buffer",
            kind.name(ty)
        )));
    };
    let ts = ts_at.and_then(|o| u64_at(rec, o)).map_or(0, |v| v as i64);
    let has_ids = !matches!(kind, Kind::PerfInfo | Kind::Other(_));
    let (tid, pid) =
        if has_ids { (u32_at(rec, 8).unwrap_or(0), u32_at(rec, 12).unwrap_or(0)) } else { (0, 0) };
    let mut r = Record {
        kind,
        header_type: ty,
        size,
        ts,
        tid,
        pid,
        hook: 0,
        provider: None,
        desc: Descriptor::default(),
        ext_types: [0; 8],
        ext_count: 0,
        payload: rec.get(hdr_len..).unwrap_or_default(),
    };
    match kind {
        Kind::System | Kind::Compact | Kind::PerfInfo => r.hook = u16_at(rec, 6).unwrap_or(0),
        Kind::Full => {
            r.provider = guid_at(rec, 24);
            r.desc.opcode = u8_at(rec, 4).unwrap_or(0);
            r.desc.version = u16_at(rec, 6).unwrap_or(0) as u8;
        }
        Kind::EventHeader => event_header(rec, &mut r)?,
        _ => {}
    }
    Ok(r)
}

fn event_header<'a>(rec: &'a [u8], r: &mut Record<'a>) -> Result<(), Bad> {
    r.provider = guid_at(rec, 24);
    r.desc = Descriptor {
        id: u16_at(rec, 40).unwrap_or(0),
        version: u8_at(rec, 42).unwrap_or(0),
        opcode: u8_at(rec, 45).unwrap_or(0),
        keyword: u64_at(rec, 48).unwrap_or(0),
    };
    let flags = u16_at(rec, 4).unwrap_or(0);
    let mut at = 80usize;
    if flags & 0x0001 != 0 {
        // Extended data items; at most one per 8 bytes of the record, so bounded.
        loop {
            let (Some(ty), Some(link), Some(len)) =
                (u16_at(rec, at + 2), u16_at(rec, at + 4), u16_at(rec, at + 6))
            else {
                return Err(Bad::Broken("extended data item runs past the record".into()));
            };
            if let Some(slot) = r.ext_types.get_mut(r.ext_count) {
                *slot = ty;
            }
            r.ext_count += 1;
            let end = at + 8 + usize::from(len);
            if end > rec.len() {
                return Err(Bad::Broken(format!(
                    "extended data item of {len} bytes runs past the {}-byte record",
                    rec.len()
                )));
            }
            at = end.next_multiple_of(8);
            if link & 1 == 0 {
                break;
            }
        }
    }
    r.payload = rec.get(at..).unwrap_or_default();
    Ok(())
}
