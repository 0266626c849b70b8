//! Test helpers: the shared captures, a minimal pcap reader (the source of truth the Windows
//! files are built from), tshark, and writers of NetMon files built byte by byte from the
//! layout Wireshark's `wiretap/netmon.c` documents.
#![allow(dead_code)]

pub mod etl;

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn shared() -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures"));
    assert!(p.is_dir(), "shared captures missing at {}", p.display());
    p
}

pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tracehound-wintrace-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// One pcap record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rec {
    pub ts_ns: i64,
    pub orig_len: u32,
    pub data: Vec<u8>,
}

/// (link type, records) of a classic pcap file.
pub fn read_pcap(path: &Path) -> (u32, Vec<Rec>) {
    let b = std::fs::read(path).unwrap();
    let magic = u32::from_le_bytes(b[0..4].try_into().unwrap());
    let (le, nanos) = match magic {
        0xa1b2c3d4 => (true, false),
        0xa1b23c4d => (true, true),
        0xd4c3b2a1 => (false, false),
        0x4d3cb2a1 => (false, true),
        m => panic!("{}: not a pcap ({m:08x})", path.display()),
    };
    let u32at = |o: usize| {
        let a: [u8; 4] = b[o..o + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let link = u32at(20);
    let mut out = Vec::new();
    let mut o = 24;
    while o + 16 <= b.len() {
        let secs = u32at(o) as i64;
        let frac = u32at(o + 4) as i64;
        let incl = u32at(o + 8) as usize;
        let orig = u32at(o + 12);
        if o + 16 + incl > b.len() {
            break;
        }
        let ts_ns = secs * 1_000_000_000 + if nanos { frac } else { frac * 1000 };
        out.push(Rec { ts_ns, orig_len: orig, data: b[o + 16..o + 16 + incl].to_vec() });
        o += 16 + incl;
    }
    (link, out)
}

/// tshark's view of a file: (epoch time in ns, frame.len, frame.cap_len) per frame.
pub fn tshark_frames(path: &Path) -> Vec<(i64, u32, u32)> {
    let out = Command::new("tshark")
        .env("TZ", "UTC")
        .args(["-r"])
        .arg(path)
        .args(["-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len"])
        .output()
        .expect("tshark must be installed (/usr/bin/tshark)");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (epoch_ns(f[0]), f[1].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect()
}

/// `1715848158.133508000` to nanoseconds.
pub fn epoch_ns(s: &str) -> i64 {
    let (a, b) = s.split_once('.').unwrap_or((s, "0"));
    let mut frac = b.to_string();
    frac.truncate(9);
    while frac.len() < 9 {
        frac.push('0');
    }
    a.parse::<i64>().unwrap() * 1_000_000_000 + frac.parse::<i64>().unwrap()
}

/// One frame to write into a NetMon file.
#[derive(Clone, Debug)]
pub struct NmFrame {
    pub ts_ns: i64,
    pub orig_len: u32,
    pub data: Vec<u8>,
    pub network: u16,
    pub process: u32,
}

/// One process-table entry to write.
pub struct NmProcess {
    pub path: String,
    pub pid: u32,
    pub local: std::net::SocketAddr,
    pub remote: std::net::SocketAddr,
}

/// Writes a NetMon 2.`minor` file. `start_ns` goes in the header (SYSTEMTIME, UTC); frames
/// are stored in *reverse* file order with `gap` garbage bytes between them (holes), and the
/// frame table lists them in frame order: a reader that does not follow the table fails.
pub fn write_netmon(
    minor: u8,
    start_ns: i64,
    frames: &[NmFrame],
    procs: &[NmProcess],
    gap: usize,
) -> Vec<u8> {
    let mut f = vec![0u8; 128];
    f[0..4].copy_from_slice(b"GMBU");
    f[4] = minor;
    f[5] = 2;
    f[6..8].copy_from_slice(&1u16.to_le_bytes());
    let secs = start_ns.div_euclid(1_000_000_000);
    let ms = (start_ns.rem_euclid(1_000_000_000) / 1_000_000) as u16;
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let st = [
        y as u16,
        m as u16,
        0,
        d as u16,
        (sod / 3600) as u16,
        (sod / 60 % 60) as u16,
        (sod % 60) as u16,
        ms,
    ];
    for (i, v) in st.iter().enumerate() {
        f[8 + 2 * i..10 + 2 * i].copy_from_slice(&v.to_le_bytes());
    }
    let base_ns = secs * 1_000_000_000 + i64::from(ms) * 1_000_000;
    let mut offsets = vec![0u32; frames.len()];
    for (i, fr) in frames.iter().enumerate().rev() {
        f.extend(std::iter::repeat_n(0xAAu8, gap));
        offsets[i] = f.len() as u32;
        let delta_us = ((fr.ts_ns - base_ns) / 1000) as u64;
        f.extend_from_slice(&delta_us.to_le_bytes());
        f.extend_from_slice(&fr.orig_len.to_le_bytes());
        f.extend_from_slice(&(fr.data.len() as u32).to_le_bytes());
        f.extend_from_slice(&fr.data);
        if minor >= 1 {
            f.extend_from_slice(&fr.network.to_le_bytes());
        }
        if minor >= 2 {
            f.extend_from_slice(&fr.process.to_le_bytes());
        }
        if minor >= 3 {
            let ft = fr.ts_ns / 100 + 116_444_736_000_000_000;
            f.extend_from_slice(&ft.to_le_bytes());
            f.push(0);
        }
    }
    let pt_off = f.len() as u32;
    if !procs.is_empty() {
        f.extend_from_slice(&1u16.to_le_bytes());
        for p in procs {
            let mut path: Vec<u8> = p.path.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
            path.extend_from_slice(&[0, 0]);
            f.extend_from_slice(&(path.len() as u32).to_le_bytes());
            f.extend_from_slice(&path);
            f.extend_from_slice(&4u32.to_le_bytes()); // icon size
            f.extend_from_slice(&[1, 2, 3, 4]);
            f.extend_from_slice(&p.pid.to_le_bytes());
            f.extend_from_slice(&p.local.port().to_le_bytes());
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(&p.remote.port().to_le_bytes());
            f.extend_from_slice(&[0, 0]);
            let v6 = p.local.is_ipv6();
            f.extend_from_slice(&u32::from(v6).to_le_bytes());
            for a in [p.local.ip(), p.remote.ip()] {
                let mut b = [0u8; 16];
                match a {
                    std::net::IpAddr::V4(x) => b[..4].copy_from_slice(&x.octets()),
                    std::net::IpAddr::V6(x) => b.copy_from_slice(&x.octets()),
                }
                f.extend_from_slice(&b);
            }
        }
    }
    let ft_off = f.len() as u32;
    for o in &offsets {
        f.extend_from_slice(&o.to_le_bytes());
    }
    f[24..28].copy_from_slice(&ft_off.to_le_bytes());
    f[28..32].copy_from_slice(&((offsets.len() * 4) as u32).to_le_bytes());
    if !procs.is_empty() {
        f[48..52].copy_from_slice(&pt_off.to_le_bytes());
        f[52..56].copy_from_slice(&(procs.len() as u32).to_le_bytes());
    }
    f
}

fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}
