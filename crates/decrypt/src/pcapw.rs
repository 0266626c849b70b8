//! Writing pcap (nanosecond magic `a1b23c4d`, little-endian) and pcapng (one section, an
//! Interface Description Block per link type with `if_tsresol` = 9, Enhanced Packet Blocks
//! with an optional `opt_comment`). Files are created with mode 0600: they hold plaintext.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Output format, chosen by the file extension (`.pcapng` / `.ntar` → pcapng, else pcap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pcap,
    Pcapng,
}

impl Format {
    pub fn for_path(p: &Path) -> Format {
        match p.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()) {
            Some(e) if e == "pcapng" || e == "ntar" => Format::Pcapng,
            _ => Format::Pcap,
        }
    }
}

/// A capture file being written.
pub struct CaptureWriter<W: Write> {
    out: W,
    format: Format,
    /// pcap: the file's link type (from the first packet). pcapng: one interface per type.
    links: Vec<u32>,
    pub packets: u64,
}

/// Create `path` with mode 0600 (truncating an existing file and tightening its mode).
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let f = o.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(f)
}

impl CaptureWriter<BufWriter<File>> {
    pub fn create(path: &Path) -> io::Result<Self> {
        let f = create_private(path)?;
        CaptureWriter::new(BufWriter::with_capacity(1 << 20, f), Format::for_path(path))
    }
}

fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}

impl<W: Write> CaptureWriter<W> {
    pub fn new(mut out: W, format: Format) -> io::Result<Self> {
        if format == Format::Pcapng {
            let appl = b"tracehound decrypt";
            let opt_len = 4 + appl.len() + pad4(appl.len()) + 4;
            let len = (28 + opt_len) as u32;
            out.write_all(&0x0A0D_0D0Au32.to_le_bytes())?;
            out.write_all(&len.to_le_bytes())?;
            out.write_all(&0x1A2B_3C4Du32.to_le_bytes())?;
            out.write_all(&1u16.to_le_bytes())?;
            out.write_all(&0u16.to_le_bytes())?;
            out.write_all(&(-1i64).to_le_bytes())?;
            out.write_all(&4u16.to_le_bytes())?; // shb_userappl
            out.write_all(&(appl.len() as u16).to_le_bytes())?;
            out.write_all(appl)?;
            out.write_all(&vec![0u8; pad4(appl.len())])?;
            out.write_all(&[0u8; 4])?; // opt_endofopt
            out.write_all(&len.to_le_bytes())?;
        }
        Ok(CaptureWriter { out, format, links: Vec::new(), packets: 0 })
    }

    fn interface(&mut self, link: u32) -> io::Result<u32> {
        if let Some(i) = self.links.iter().position(|l| *l == link) {
            return Ok(i as u32);
        }
        match self.format {
            Format::Pcap => {
                if let Some(first) = self.links.first() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("the capture mixes link types {first} and {link}: a pcap file holds one; write a .pcapng"),
                    ));
                }
                let mut h = Vec::with_capacity(24);
                h.extend_from_slice(&0xA1B2_3C4Du32.to_le_bytes());
                h.extend_from_slice(&2u16.to_le_bytes());
                h.extend_from_slice(&4u16.to_le_bytes());
                h.extend_from_slice(&0i32.to_le_bytes());
                h.extend_from_slice(&0u32.to_le_bytes());
                h.extend_from_slice(&262_144u32.to_le_bytes());
                h.extend_from_slice(&link.to_le_bytes());
                self.out.write_all(&h)?;
            }
            Format::Pcapng => {
                let len: u32 = 20 + 8 + 4;
                self.out.write_all(&1u32.to_le_bytes())?;
                self.out.write_all(&len.to_le_bytes())?;
                self.out.write_all(&(link as u16).to_le_bytes())?;
                self.out.write_all(&0u16.to_le_bytes())?;
                self.out.write_all(&0u32.to_le_bytes())?; // snaplen: none
                self.out.write_all(&9u16.to_le_bytes())?; // if_tsresol
                self.out.write_all(&1u16.to_le_bytes())?;
                self.out.write_all(&[9, 0, 0, 0])?;
                self.out.write_all(&[0u8; 4])?;
                self.out.write_all(&len.to_le_bytes())?;
            }
        }
        self.links.push(link);
        Ok((self.links.len() - 1) as u32)
    }

    /// Write one packet. `comment` is kept in pcapng only.
    pub fn packet(
        &mut self,
        link: u32,
        ts_nanos: i64,
        data: &[u8],
        orig_len: u32,
        comment: Option<&str>,
    ) -> io::Result<()> {
        let iface = self.interface(link)?;
        let caplen = data.len() as u32;
        let orig_len = orig_len.max(caplen);
        self.packets += 1;
        match self.format {
            Format::Pcap => {
                let secs = ts_nanos.div_euclid(1_000_000_000) as u32;
                let nanos = ts_nanos.rem_euclid(1_000_000_000) as u32;
                let mut h = [0u8; 16];
                h[0..4].copy_from_slice(&secs.to_le_bytes());
                h[4..8].copy_from_slice(&nanos.to_le_bytes());
                h[8..12].copy_from_slice(&caplen.to_le_bytes());
                h[12..16].copy_from_slice(&orig_len.to_le_bytes());
                self.out.write_all(&h)?;
                self.out.write_all(data)
            }
            Format::Pcapng => {
                let c = comment.map(|c| c.as_bytes()).filter(|c| c.len() < 60_000);
                let opt_len = c.map(|c| 4 + c.len() + pad4(c.len()) + 4).unwrap_or(0);
                let len = (32 + data.len() + pad4(data.len()) + opt_len) as u32;
                let ts = ts_nanos as u64;
                self.out.write_all(&6u32.to_le_bytes())?;
                self.out.write_all(&len.to_le_bytes())?;
                self.out.write_all(&iface.to_le_bytes())?;
                self.out.write_all(&((ts >> 32) as u32).to_le_bytes())?;
                self.out.write_all(&(ts as u32).to_le_bytes())?;
                self.out.write_all(&caplen.to_le_bytes())?;
                self.out.write_all(&orig_len.to_le_bytes())?;
                self.out.write_all(data)?;
                self.out.write_all(&vec![0u8; pad4(data.len())])?;
                if let Some(c) = c {
                    self.out.write_all(&1u16.to_le_bytes())?;
                    self.out.write_all(&(c.len() as u16).to_le_bytes())?;
                    self.out.write_all(c)?;
                    self.out.write_all(&vec![0u8; pad4(c.len())])?;
                    self.out.write_all(&[0u8; 4])?;
                }
                self.out.write_all(&len.to_le_bytes())
            }
        }
    }

    pub fn finish(mut self) -> io::Result<W> {
        if self.links.is_empty() && self.format == Format::Pcap {
            self.interface(1)?; // an empty pcap still needs its header
        }
        self.out.flush()?;
        Ok(self.out)
    }
}
