//! pcapng (draft-ietf-opsawg-pcapng): a sequence of blocks.
//!
//! ```text
//! block:   type u32 | total length u32 | body ... | total length u32 (again)
//! option:  code u16 | length u16 | value, padded to 4 bytes   (code 0 ends the list)
//! ```
//! A Section Header Block (type `0a0d0d0a`, a palindrome) starts every section; its
//! byte-order magic `1a2b3c4d` decides the byte order of every block up to the next section.
//! Interface Description Blocks define interfaces 0, 1, ... of the current section (link type,
//! snap length, timestamp resolution and offset); packet blocks refer to them by index.

use crate::source::Endian;
use crate::LinkType;

pub(crate) const SHB: u32 = 0x0a0d_0d0a;
pub(crate) const IDB: u32 = 0x0000_0001;
pub(crate) const OPB: u32 = 0x0000_0002;
pub(crate) const SPB: u32 = 0x0000_0003;
pub(crate) const NRB: u32 = 0x0000_0004;
pub(crate) const ISB: u32 = 0x0000_0005;
pub(crate) const EPB: u32 = 0x0000_0006;
pub(crate) const DSB: u32 = 0x0000_000a;

/// Block header: type and total length.
pub(crate) const BLOCK_HEADER_LEN: usize = 8;
/// Smallest legal block: header plus trailing length copy, empty body.
pub(crate) const MIN_BLOCK_LEN: u32 = 12;
/// SHB fixed part: byte-order magic, major, minor, section length.
pub(crate) const SHB_FIXED: usize = 16;
pub(crate) const MIN_SHB_LEN: u32 = 12 + SHB_FIXED as u32;
pub(crate) const IDB_FIXED: usize = 8;
/// EPB fixed part: interface, timestamp high, low, captured length, original length.
pub(crate) const EPB_FIXED: usize = 20;
/// OPB fixed part: interface u16, drops u16, timestamp high, low, captured, original length.
pub(crate) const OPB_FIXED: usize = 20;
pub(crate) const SPB_FIXED: usize = 4;

pub(crate) const OPT_END: u16 = 0;
pub(crate) const OPT_COMMENT: u16 = 1;
pub(crate) const IF_TSRESOL: u16 = 9;
pub(crate) const IF_TSOFFSET: u16 = 14;

/// The section byte order from the SHB's byte-order magic.
pub(crate) fn bom_endian(b: &[u8; 4]) -> Option<Endian> {
    match *b {
        [0x4d, 0x3c, 0x2b, 0x1a] => Some(Endian::Little),
        [0x1a, 0x2b, 0x3c, 0x4d] => Some(Endian::Big),
        _ => None,
    }
}

/// Custom Blocks (copiable or not) and systemd Journal Export Blocks: not packets, but
/// Wireshark (checked with tshark 4.0) gives each a frame number.
pub(crate) fn wireshark_numbers(t: u32) -> bool {
    matches!(t, 0x0000_0bad | 0x4000_0bad | 0x0000_0009)
}

/// A readable name for a block type (for messages); unknown types show as hex.
pub fn block_name(t: u32) -> String {
    let s = match t {
        SHB => "Section Header Block",
        IDB => "Interface Description Block",
        OPB => "Packet Block (obsolete)",
        SPB => "Simple Packet Block",
        NRB => "Name Resolution Block",
        ISB => "Interface Statistics Block",
        EPB => "Enhanced Packet Block",
        DSB => "Decryption Secrets Block",
        0x0000_0007 => "IRIG Timestamp Block",
        0x0000_0008 => "ARINC 429 Block",
        0x0000_0009 => "systemd Journal Export Block",
        0x0000_0bad | 0x4000_0bad => "Custom Block",
        0x8000_0001 => "Darwin Process Event Block",
        _ => return format!("block of type 0x{t:08x}"),
    };
    s.to_string()
}

/// A problem inside a block's options, at `offset` bytes into the options area.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OptionError {
    pub offset: usize,
    pub what: String,
}

/// Calls `f(code, value)` for each option in `opts` until `opt_endofopt` or the end of the
/// area. Stops at the first malformed option and says where it is.
pub(crate) fn for_each_option(
    opts: &[u8],
    endian: Endian,
    mut f: impl FnMut(u16, &[u8]),
) -> Result<(), OptionError> {
    let mut at = 0usize;
    loop {
        let rest = opts.get(at..).unwrap_or(&[]);
        if rest.is_empty() {
            return Ok(());
        }
        let (Some(code), Some(len)) = (endian.u16(rest, 0), endian.u16(rest, 2)) else {
            return Err(OptionError {
                offset: at,
                what: format!("{} stray bytes where an option header should be", rest.len()),
            });
        };
        if code == OPT_END {
            return Ok(());
        }
        let len = usize::from(len);
        let Some(value) = rest.get(4..4 + len) else {
            return Err(OptionError {
                offset: at,
                what: format!(
                    "option {code} says it is {len} bytes long, but only {} bytes are left",
                    rest.len().saturating_sub(4)
                ),
            });
        };
        f(code, value);
        // Value padded to 32 bits; tolerate a missing pad at the very end of the area.
        let padded = (len + 3) & !3;
        at = at.saturating_add(4 + padded);
    }
}

/// An interface's timestamp resolution: the `if_tsresol` byte. Top bit clear: units of
/// 10^-n s; set: units of 2^-n s. Default 6 (microseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TsResol(pub u8);

impl Default for TsResol {
    fn default() -> Self {
        TsResol(6)
    }
}

impl TsResol {
    /// Nanoseconds for `ticks` units (rounded down).
    pub(crate) fn to_nanos(self, ticks: u64) -> i128 {
        let exp = u32::from(self.0 & 0x7f);
        if self.0 & 0x80 != 0 {
            // ticks * 1e9 < 2^94, exp <= 127: no overflow, no over-long shift.
            ((u128::from(ticks) * 1_000_000_000) >> exp) as i128
        } else if exp <= 9 {
            i128::from(ticks) * 10i128.pow(9 - exp)
        } else if exp - 9 <= 38 {
            i128::from(ticks) / 10i128.pow(exp - 9)
        } else {
            0
        }
    }
}

/// One interface of a section, from its IDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Interface {
    pub link: LinkType,
    /// 0 = no limit.
    pub snaplen: u32,
    pub tsresol: TsResol,
    /// `if_tsoffset`: seconds added to every timestamp.
    pub tsoffset: i64,
}

/// What an IDB body says, plus a description of any option problem (the interface is still
/// defined, with defaults for what could not be read).
pub(crate) fn parse_idb(
    body: &[u8],
    endian: Endian,
    mut on_comment: impl FnMut(&[u8]),
) -> Option<(Interface, Option<String>)> {
    let link = LinkType(u32::from(endian.u16(body, 0)?));
    let snaplen = endian.u32(body, 4)?;
    let mut iface = Interface { link, snaplen, tsresol: TsResol::default(), tsoffset: 0 };
    let mut problem = None;
    let opts = body.get(IDB_FIXED..).unwrap_or(&[]);
    let r = for_each_option(opts, endian, |code, v| match code {
        OPT_COMMENT => on_comment(v),
        IF_TSRESOL => match v {
            [b] => iface.tsresol = TsResol(*b),
            _ => problem = Some(format!("if_tsresol option is {} bytes long, not 1", v.len())),
        },
        IF_TSOFFSET => match endian.u64(v, 0) {
            Some(off) if v.len() == 8 => iface.tsoffset = off as i64,
            _ => problem = Some(format!("if_tsoffset option is {} bytes long, not 8", v.len())),
        },
        _ => {}
    });
    if let Err(e) = r {
        problem = Some(format!(
            "option at byte {} of the block: {}",
            BLOCK_HEADER_LEN + IDB_FIXED + e.offset,
            e.what
        ));
    }
    Some((iface, problem))
}

/// The fixed part of an EPB or OPB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PacketFields {
    pub interface: u32,
    pub ts_ticks: u64,
    pub caplen: u32,
    pub orig_len: u32,
}

pub(crate) fn parse_epb(body: &[u8], endian: Endian) -> Option<PacketFields> {
    Some(PacketFields {
        interface: endian.u32(body, 0)?,
        ts_ticks: (u64::from(endian.u32(body, 4)?) << 32) | u64::from(endian.u32(body, 8)?),
        caplen: endian.u32(body, 12)?,
        orig_len: endian.u32(body, 16)?,
    })
}

pub(crate) fn parse_opb(body: &[u8], endian: Endian) -> Option<PacketFields> {
    Some(PacketFields {
        interface: u32::from(endian.u16(body, 0)?),
        ts_ticks: (u64::from(endian.u32(body, 4)?) << 32) | u64::from(endian.u32(body, 8)?),
        caplen: endian.u32(body, 12)?,
        orig_len: endian.u32(body, 16)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsresol_forms() {
        assert_eq!(TsResol(6).to_nanos(1_616_663_658_368_794), 1_616_663_658_368_794_000);
        assert_eq!(TsResol(9).to_nanos(5), 5);
        assert_eq!(TsResol(0).to_nanos(3), 3_000_000_000);
        assert_eq!(TsResol(12).to_nanos(1_234_567), 1_234);
        assert_eq!(TsResol(127).to_nanos(u64::MAX), 0);
        // 2^-10 s units: 1024 ticks = 1 s, 1 tick = 976562.5 ns (rounded down)
        assert_eq!(TsResol(0x8a).to_nanos(1024), 1_000_000_000);
        assert_eq!(TsResol(0x8a).to_nanos(1), 976_562);
        assert_eq!(TsResol(0x80).to_nanos(2), 2_000_000_000);
        assert_eq!(TsResol(0xff).to_nanos(u64::MAX), 0);
    }

    /// Real bytes: /work/shared/captures/dcerpc/zeek__kerberos445_auth.pcapng, its second
    /// block (the IDB at byte 0x34, 132 bytes long): link type 1, snaplen 262144, options
    /// if_name, if_tsresol 6, if_os.
    #[test]
    fn parses_real_idb() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/captures/dcerpc/zeek__kerberos445_auth.pcapng"
        );
        let file = std::fs::read(path).expect("shared captures missing");
        let block = &file[0x34..0x34 + 132];
        assert_eq!(Endian::Little.u32(block, 0), Some(IDB));
        let body = &block[BLOCK_HEADER_LEN..block.len() - 4];
        let mut comments = 0;
        let (iface, problem) = parse_idb(body, Endian::Little, |_| comments += 1).unwrap();
        assert_eq!(problem, None);
        assert_eq!(comments, 0);
        assert_eq!(
            iface,
            Interface {
                link: LinkType::ETHERNET,
                snaplen: 262_144,
                tsresol: TsResol(6),
                tsoffset: 0
            }
        );
        // Same block with the if_tsresol value (block byte 0x4c) set to 2^-20 and a truncated
        // last option: the interface keeps what was read, the problem is described.
        let mut patched = body.to_vec();
        patched[0x4c - 8] = 0x94;
        let cut = patched.len() - 8;
        let (iface, problem) = parse_idb(&patched[..cut], Endian::Little, |_| ()).unwrap();
        assert_eq!(iface.tsresol, TsResol(0x94));
        assert_eq!(
            problem.as_deref(),
            Some("option at byte 80 of the block: option 12 says it is 37 bytes long, but only 36 bytes are left")
        );
    }

    #[test]
    fn options_walk_stops_on_overrun() {
        // code 1 (comment) "ab" padded, then code 9 claiming 8 bytes with only 1 present
        let opts = [1, 0, 2, 0, b'a', b'b', 0, 0, 9, 0, 8, 0, 6, 0, 0, 0];
        let mut seen = vec![];
        let e =
            for_each_option(&opts, Endian::Little, |c, v| seen.push((c, v.to_vec()))).unwrap_err();
        assert_eq!(seen, vec![(1, b"ab".to_vec())]);
        assert_eq!(e.offset, 8);
        assert!(
            e.what.contains("option 9 says it is 8 bytes long, but only 4 bytes are left"),
            "{}",
            e.what
        );
    }

    #[test]
    fn names() {
        assert_eq!(block_name(EPB), "Enhanced Packet Block");
        assert_eq!(block_name(0x1234_5678), "block of type 0x12345678");
    }
}
