//! Decryption Secrets Blocks in pcapng (block type 0x0000000A): a secrets type (u32), a
//! length (u32) and the secrets, padded to 32 bits. Type 0x544c534b ("TLSK") holds an NSS
//! key log, which `editcap --inject-secrets tls,FILE` writes near the start of the file.
//!
//! The capture reader skips these blocks, so this module walks the pcapng block structure
//! itself: Section Header Blocks (0x0A0D0D0A) set the byte order through their magic
//! 0x1A2B3C4D; every block is type, total length, body, total length. Only the block headers
//! and DSB bodies are read; a gzip'd file is read through a decoder.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

/// "TLSK": an NSS key log.
pub const SECRETS_TLS_KEYLOG: u32 = 0x544c_534b;
const BT_SHB: u32 = 0x0A0D_0D0A;
const BT_DSB: u32 = 0x0000_000A;
/// Largest DSB body read (a key log of many sessions); larger blocks are skipped and reported.
pub const MAX_DSB: u32 = 64 << 20;

/// The TLS key logs found in a capture file's DSBs, plus problems met (with offsets).
#[derive(Debug, Default)]
pub struct Found {
    pub keylogs: Vec<Vec<u8>>,
    pub problems: Vec<String>,
}

/// Scan `path` for TLS key log DSBs. Not a pcapng file (pcap) → nothing found.
pub fn scan(path: &Path) -> io::Result<Found> {
    let f = File::open(path)?;
    let mut rd = BufReader::with_capacity(1 << 16, f);
    let mut magic = [0u8; 2];
    let peek = {
        use std::io::BufRead;
        let b = rd.fill_buf()?;
        magic.copy_from_slice(b.get(..2).unwrap_or(&[0, 0]));
        b.len()
    };
    if peek >= 2 && magic == [0x1f, 0x8b] {
        let gz = flate2::read::MultiGzDecoder::new(rd);
        return walk(&mut BufReader::with_capacity(1 << 16, gz), skip);
    }
    // A regular file: skip packet blocks by seeking instead of reading them.
    walk(&mut rd, |r: &mut BufReader<File>, n| {
        let n = i64::try_from(n).map_err(|_| io::Error::other("block too large"))?;
        r.seek_relative(n)?;
        Ok(n as u64)
    })
}

fn read_exact_or_eof<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        let Some(rest) = buf.get_mut(got..) else { break };
        let n = r.read(rest)?;
        if n == 0 {
            return Ok(false);
        }
        got += n;
    }
    Ok(true)
}

/// Walk the blocks of a pcapng stream.
pub fn walk<R: Read>(
    r: &mut R,
    mut skip: impl FnMut(&mut R, u64) -> io::Result<u64>,
) -> io::Result<Found> {
    let mut found = Found::default();
    let mut off: u64 = 0;
    let mut le = true;
    let mut hdr = [0u8; 8];
    let mut first = true;
    loop {
        if !read_exact_or_eof(r, &mut hdr)? {
            break;
        }
        let raw_type = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
        if first && raw_type != BT_SHB {
            return Ok(found); // pcap or something else: no DSBs
        }
        first = false;
        if raw_type == BT_SHB {
            let mut bom = [0u8; 4];
            if !read_exact_or_eof(r, &mut bom)? {
                break;
            }
            le = match bom {
                [0x4d, 0x3c, 0x2b, 0x1a] => true,
                [0x1a, 0x2b, 0x3c, 0x4d] => false,
                _ => {
                    found.problems.push(format!("byte {off}: section header with a bad byte-order magic; secrets scan stopped"));
                    break;
                }
            };
            let len = u32_at(&hdr[4..8], le);
            if len < 16 || len % 4 != 0 {
                found.problems.push(format!(
                    "byte {off}: bad section header length {len}; secrets scan stopped"
                ));
                break;
            }
            skip(r, u64::from(len) - 12)?;
            off += u64::from(len);
            continue;
        }
        let btype = u32_at(&hdr[0..4], le);
        let len = u32_at(&hdr[4..8], le);
        if len < 12 || len % 4 != 0 {
            found
                .problems
                .push(format!("byte {off}: bad block length {len}; secrets scan stopped"));
            break;
        }
        let body = u64::from(len) - 12;
        if btype == BT_DSB && len <= MAX_DSB {
            let mut b = vec![0u8; body as usize];
            if !read_exact_or_eof(r, &mut b)? {
                found
                    .problems
                    .push(format!("byte {off}: file ends inside a decryption secrets block"));
                break;
            }
            let mut trailer = [0u8; 4];
            let _ = read_exact_or_eof(r, &mut trailer)?;
            dsb_body(&b, le, off, &mut found);
        } else {
            if btype == BT_DSB {
                found.problems.push(format!(
                    "byte {off}: decryption secrets block of {len} bytes over the limit, skipped"
                ));
            }
            if skip(r, body + 4)? < body + 4 {
                break;
            }
        }
        off += u64::from(len);
    }
    Ok(found)
}

fn dsb_body(b: &[u8], le: bool, off: u64, found: &mut Found) {
    let (Some(t), Some(l)) = (b.get(0..4), b.get(4..8)) else {
        found.problems.push(format!("byte {off}: decryption secrets block too short"));
        return;
    };
    let stype = u32_at(t, le);
    let slen = u32_at(l, le) as usize;
    let Some(data) = b.get(8..8usize.saturating_add(slen)) else {
        found
            .problems
            .push(format!("byte {off}: decryption secrets length {slen} runs past its block"));
        return;
    };
    if stype == SECRETS_TLS_KEYLOG {
        found.keylogs.push(data.to_vec());
    } else {
        found.problems.push(format!(
            "byte {off}: decryption secrets of type 0x{stype:08x} (not TLS) ignored"
        ));
    }
}

fn u32_at(b: &[u8], le: bool) -> u32 {
    let a: [u8; 4] = b.get(..4).and_then(|s| s.try_into().ok()).unwrap_or_default();
    if le {
        u32::from_le_bytes(a)
    } else {
        u32::from_be_bytes(a)
    }
}

fn skip<R: Read>(r: &mut R, n: u64) -> io::Result<u64> {
    io::copy(&mut r.take(n), &mut io::sink())
}
