//! Endpoint mapper stubs from real captures, decoded by `tracehound_rpc::epm`
//! and compared field by field with tshark's `epm.*` fields.
//!
//! Bytes come from the captures themselves at test time: each TCP
//! direction is rebuilt from tshark's `tcp.payload` fields, split into
//! DCE/RPC PDUs by the common header (C706 12.6), and fragmented calls are
//! reassembled by call_id (the lab's 53-entry ept_lookup response spans two
//! fragments); the stub of the call ending in each frame tshark shows as
//! `epm` is decoded here and tshark (must be installed) supplies the
//! reference values. Captures: /work/shared/captures/dcerpc (see SOURCES.md),
//! dcerpc__zerologon__input.pcap (ept_map request/response pairs, frames
//! 7/8, 35/36, ...) and dcerpc__dcerpc-bind-no-frag-flag__input.pcap (EPM
//! context, opnum 42), plus lab captures under tests/fixtures/lab when
//! present.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tracehound_rpc::epm::{self, EpmRequest, Tower};
use tracehound_rpc::ndr::Drep;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures");
const LAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab");

const FIELDS: &[&str] = &[
    "frame.number",
    "epm.opnum",
    "epm.num_towers",
    "epm.tower.num_floors",
    "epm.tower.proto_id",
    "epm.proto.tcp_port",
    "epm.proto.udp_port",
    "epm.proto.ip",
    "epm.rc",
    "epm.uuid",
    "epm.uuid_version",
    "epm.proto.named_pipe",
    "epm.proto.netbios_name",
    "epm.num_ents",
    "epm.max_towers",
    "epm.max_ents",
    "epm.annotation",
    "epm.tower.len",
];

const SEP: char = '\u{1f}';

struct Row {
    frame: u32,
    cols: Vec<Vec<String>>,
}

impl Row {
    fn get(&self, field: &str) -> &[String] {
        let i = FIELDS.iter().position(|f| *f == field).unwrap();
        &self.cols[i]
    }
}

fn tshark_rows(file: &Path) -> Vec<Row> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(file).args(["-Y", "epm", "-T", "fields"]);
    cmd.args(["-E", &format!("aggregator={SEP}"), "-E", "occurrence=a", "-E", "separator=\t"]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark must be installed (/usr/bin/tshark)");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let cols: Vec<Vec<String>> =
                line.split('\t')
                    .map(|c| {
                        if c.is_empty() {
                            vec![]
                        } else {
                            c.split(SEP).map(str::to_string).collect()
                        }
                    })
                    .collect();
            assert_eq!(cols.len(), FIELDS.len(), "tshark line: {line}");
            Row { frame: cols[0][0].parse().unwrap(), cols }
        })
        .collect()
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

/// A complete call's stub, reassembled from its fragments.
struct CallStub {
    ptype: u8,
    drep: Drep,
    opnum: Option<u16>,
    stub: Vec<u8>,
}

/// Rebuilds every DCE/RPC (connection-oriented) call carried over TCP in
/// `file`: per-direction byte streams from `tcp.payload` in sequence order
/// (retransmitted bytes dropped), split into PDUs by `frag_length`, stubs of
/// `first_frag`..`last_frag` fragments concatenated per call_id. Returns, for
/// each frame in which a call's last fragment ends, the calls ending there.
fn tcp_calls(file: &Path) -> std::collections::HashMap<u32, Vec<CallStub>> {
    use std::collections::HashMap;
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(["-Y", "tcp.len>0", "-T", "fields", "-E", "separator=\t"])
        .args([
            "-e",
            "frame.number",
            "-e",
            "tcp.stream",
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.seq",
            "-e",
            "tcp.payload",
        ])
        .output()
        .expect("tshark must be installed (/usr/bin/tshark)");
    assert!(out.status.success());
    struct Dir {
        next_seq: Option<u64>,
        buf: Vec<u8>,
        dead: bool,
        partial: HashMap<u32, CallStub>,
    }
    let mut dirs: HashMap<(String, String), Dir> = HashMap::new();
    let mut calls: HashMap<u32, Vec<CallStub>> = HashMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (frame, seq, mut data): (u32, u64, Vec<u8>) =
            (f[0].parse().unwrap(), f[3].parse().unwrap(), unhex(f[4]));
        let d = dirs.entry((f[1].to_string(), f[2].to_string())).or_insert(Dir {
            next_seq: None,
            buf: Vec::new(),
            dead: false,
            partial: HashMap::new(),
        });
        let next = d.next_seq.unwrap_or(seq);
        if seq + (data.len() as u64) <= next {
            continue; // retransmission
        }
        if seq < next {
            data.drain(..(next - seq) as usize);
        }
        d.next_seq = Some(next.max(seq) + data.len() as u64);
        if d.dead {
            continue;
        }
        d.buf.extend_from_slice(&data);
        loop {
            if d.buf.len() < 16 {
                break;
            }
            if d.buf[0] != 5 {
                d.dead = true; // not DCE/RPC over TCP (SMB, HTTP preamble, ...)
                break;
            }
            let drep = Drep::from_bytes([d.buf[4], d.buf[5], d.buf[6], d.buf[7]]);
            let rd16 = |b: [u8; 2]| {
                if drep.little_endian {
                    u16::from_le_bytes(b)
                } else {
                    u16::from_be_bytes(b)
                }
            };
            let rd32 = |b: [u8; 4]| {
                if drep.little_endian {
                    u32::from_le_bytes(b)
                } else {
                    u32::from_be_bytes(b)
                }
            };
            let frag = rd16([d.buf[8], d.buf[9]]) as usize;
            if frag < 16 {
                d.dead = true;
                break;
            }
            if d.buf.len() < frag {
                break;
            }
            let pdu: Vec<u8> = d.buf.drain(..frag).collect();
            let (ptype, flags) = (pdu[2], pdu[3]);
            if ptype != 0 && ptype != 2 {
                continue;
            }
            let auth = rd16([pdu[10], pdu[11]]) as usize;
            let call_id = rd32([pdu[12], pdu[13], pdu[14], pdu[15]]);
            let mut hdr = 24;
            if ptype == 0 && flags & 0x80 != 0 {
                hdr += 16;
            }
            let mut end = frag;
            if auth > 0 {
                end = frag - auth - 8;
                end -= pdu[end + 2] as usize;
            }
            let body = &pdu[hdr..end];
            if flags & 0x01 != 0 {
                let opnum = (ptype == 0).then(|| rd16([pdu[22], pdu[23]]));
                d.partial.insert(call_id, CallStub { ptype, drep, opnum, stub: Vec::new() });
            }
            let Some(c) = d.partial.get_mut(&call_id) else {
                continue;
            };
            c.stub.extend_from_slice(body);
            if flags & 0x02 != 0 {
                let c = d.partial.remove(&call_id).unwrap();
                calls.entry(frame).or_default().push(c);
            }
        }
    }
    calls
}

#[derive(Default)]
struct Expect {
    num_floors: Vec<String>,
    proto_id: Vec<String>,
    tcp_port: Vec<String>,
    udp_port: Vec<String>,
    ip: Vec<String>,
    uuid: Vec<String>,
    uuid_version: Vec<String>,
    named_pipe: Vec<String>,
    netbios: Vec<String>,
    tower_len: Vec<String>,
}

impl Expect {
    fn tower(&mut self, t: &Tower) {
        self.num_floors.push(t.floors.len().to_string());
        self.tower_len.push(t.emit().len().to_string());
        for f in &t.floors {
            self.proto_id.push(format!("0x{:02x}", f.protocol));
            match f.protocol {
                0x0d => {
                    let (u, major, _) = f.as_uuid().unwrap();
                    self.uuid.push(u.to_string());
                    // tshark shows the 2-byte lhs version big-endian.
                    self.uuid_version.push(major.swap_bytes().to_string());
                }
                0x07 => self.tcp_port.push(f.port().unwrap().to_string()),
                0x08 => self.udp_port.push(f.port().unwrap().to_string()),
                0x09 => self.ip.push(f.ipv4().unwrap().to_string()),
                // tshark reports both named pipe (0x0f) and LRPC (0x10) rhs here.
                0x0f | 0x10 => self.named_pipe.push(f.text()),
                0x11 => self.netbios.push(f.text()),
                _ => {}
            }
        }
    }

    fn check(&self, row: &Row, file: &str) {
        let ctx = format!("{file} frame {}", row.frame);
        assert_eq!(row.get("epm.tower.num_floors"), &self.num_floors[..], "{ctx}: num_floors");
        assert_eq!(row.get("epm.tower.proto_id"), &self.proto_id[..], "{ctx}: proto_id");
        assert_eq!(row.get("epm.proto.tcp_port"), &self.tcp_port[..], "{ctx}: tcp_port");
        assert_eq!(row.get("epm.proto.udp_port"), &self.udp_port[..], "{ctx}: udp_port");
        assert_eq!(row.get("epm.proto.ip"), &self.ip[..], "{ctx}: ip");
        assert_eq!(row.get("epm.uuid_version"), &self.uuid_version[..], "{ctx}: uuid_version");
        assert_eq!(row.get("epm.proto.named_pipe"), &self.named_pipe[..], "{ctx}: named_pipe");
        assert_eq!(row.get("epm.proto.netbios_name"), &self.netbios[..], "{ctx}: netbios_name");
        // tower.len appears twice per tower in tshark (max_count, tower_length).
        let tl: Vec<String> = self.tower_len.iter().flat_map(|l| [l.clone(), l.clone()]).collect();
        assert_eq!(row.get("epm.tower.len"), &tl[..], "{ctx}: tower.len");
    }
}

struct Tally {
    entries: usize,
    requests: usize,
    responses: usize,
    towers: usize,
    skipped: usize,
}

/// Checks every epm frame of `path`; returns how many tshark showed.
fn check_file(path: &Path, t: &mut Tally) -> usize {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let rows = tshark_rows(path);
    if rows.is_empty() {
        return 0;
    }
    let mut calls = tcp_calls(path);
    for row in &rows {
        // Exactly one call must end in this frame for a 1:1 comparison.
        let Some(CallStub { ptype, drep, opnum: opnum_hdr, stub }) =
            calls.remove(&row.frame).filter(|v| v.len() == 1).and_then(|mut v| v.pop())
        else {
            eprintln!("{name} frame {}: no single TCP DCE/RPC call ends here; skipped", row.frame);
            t.skipped += 1;
            continue;
        };
        let opnum: u16 = row.get("epm.opnum")[0].parse().unwrap();
        if let Some(o) = opnum_hdr {
            assert_eq!(o, opnum, "{name} frame {}: opnum", row.frame);
        }
        let mut want = Expect::default();
        if ptype == 0 {
            let decoded = epm::decode_request(opnum, drep, &stub);
            if opnum > 6 {
                // Not an endpoint mapper operation (bind-no-frag-flag uses
                // opnum 42 on the EPM context): must be rejected, with offset 0.
                let e = decoded.unwrap_err();
                assert_eq!(e.offset, 0, "{name} frame {}: {e}", row.frame);
                t.requests += 1;
                continue;
            }
            let req = decoded.unwrap_or_else(|e| panic!("{name} frame {}: {e}", row.frame));
            match &req {
                EpmRequest::Map { object, tower, max_towers, .. } => {
                    if let Some(o) = object {
                        want.uuid.push(o.to_string());
                    }
                    if let Some(tw) = tower {
                        want.tower(tw);
                        t.towers += 1;
                    }
                    assert_eq!(
                        row.get("epm.max_towers"),
                        &[max_towers.to_string()],
                        "{name} frame {}",
                        row.frame
                    );
                }
                EpmRequest::Lookup { max_entries, .. } => {
                    assert_eq!(
                        row.get("epm.max_ents"),
                        &[max_entries.to_string()],
                        "{name} frame {}",
                        row.frame
                    );
                }
                _ => {}
            }
            want.check(row, &name);
            if matches!(req, EpmRequest::Map { .. }) {
                assert_eq!(row.get("epm.uuid"), &want.uuid[..], "{name} frame {}: uuid", row.frame);
            }
            t.requests += 1;
        } else {
            let resp = epm::decode_response(opnum, drep, &stub)
                .unwrap_or_else(|e| panic!("{name} frame {}: {e}", row.frame));
            assert_eq!(
                row.get("epm.rc"),
                &[format!("0x{:08x}", resp.status)],
                "{name} frame {}: rc",
                row.frame
            );
            match opnum {
                3 => {
                    assert_eq!(
                        row.get("epm.num_towers"),
                        &[resp.num_towers.to_string()],
                        "{name} frame {}",
                        row.frame
                    );
                    for tw in &resp.towers {
                        want.tower(tw);
                        t.towers += 1;
                    }
                    want.check(row, &name);
                    assert_eq!(
                        row.get("epm.uuid"),
                        &want.uuid[..],
                        "{name} frame {}: uuid",
                        row.frame
                    );
                }
                2 => {
                    assert_eq!(
                        row.get("epm.num_ents"),
                        &[resp.num_towers.to_string()],
                        "{name} frame {}",
                        row.frame
                    );
                    let ann: Vec<String> =
                        resp.entries.iter().map(|e| e.annotation.clone()).collect();
                    let shown: Vec<String> = row.get("epm.annotation").to_vec();
                    assert_eq!(shown.len(), ann.len(), "{name} frame {}: annotations", row.frame);
                    for (s, a) in shown.iter().zip(&ann) {
                        assert_eq!(s, a, "{name} frame {}: annotation", row.frame);
                    }
                    t.entries += resp.entries.len();
                    for e in &resp.entries {
                        if let Some(tw) = &e.tower {
                            let b = tw.binding_string();
                            eprintln!("  {name} frame {}: {:?} {:?}", row.frame, e.annotation, b);
                            assert!(
                                b.is_some(),
                                "{name} frame {}: no binding for {tw:?}",
                                row.frame
                            );
                            want.tower(tw);
                            t.towers += 1;
                        }
                    }
                    want.check(row, &name);
                }
                _ => {}
            }
            t.responses += 1;
        }
    }
    rows.len()
}

fn lab_captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(LAB)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let n = p.to_string_lossy().to_lowercase();
                    n.ends_with(".pcap") || n.ends_with(".pcapng")
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn epm_matches_tshark_on_shared_captures() {
    let dir = Path::new(SHARED).join("dcerpc");
    assert!(dir.is_dir(), "shared captures missing at {}", dir.display());
    let mut t = Tally { entries: 0, requests: 0, responses: 0, towers: 0, skipped: 0 };
    for f in ["dcerpc__zerologon__input.pcap", "dcerpc__dcerpc-bind-no-frag-flag__input.pcap"] {
        let n = check_file(&dir.join(f), &mut t);
        assert!(n > 0, "{f}: tshark shows no epm frames");
    }
    // zerologon: 21 ept_map request/response pairs, one tower each way.
    assert_eq!(t.responses, 21, "responses checked");
    assert_eq!(t.requests, 23, "requests checked (21 ept_map + 2 opnum 42)");
    assert_eq!(t.towers, 42, "towers checked");
    assert_eq!(t.skipped, 0, "frames skipped");
}

#[test]
fn epm_matches_tshark_on_lab_captures() {
    // Every lab capture that tshark shows endpoint-mapper frames in.
    let files = lab_captures();
    let mut t = Tally { entries: 0, requests: 0, responses: 0, towers: 0, skipped: 0 };
    let mut with_epm = Vec::new();
    for f in &files {
        if check_file(f, &mut t) > 0 {
            with_epm.push(f.file_name().unwrap().to_string_lossy().to_string());
        }
    }
    // The lab helper's captures (tests/fixtures/lab, committed) include a
    // Samba AD DC ept_lookup and ept_map exchanges.
    assert!(!with_epm.is_empty(), "no lab captures with EPM traffic under {LAB}");
    eprintln!("lab captures with EPM: {with_epm:?}");
    eprintln!(
        "lab: {} files, {} requests, {} responses, {} lookup entries, {} towers, {} skipped",
        with_epm.len(),
        t.requests,
        t.responses,
        t.entries,
        t.towers,
        t.skipped
    );
    assert!(t.responses > 0, "no lab EPM response decoded");
    assert!(t.entries > 0, "no lab ept_lookup entries decoded");
    assert_eq!(t.skipped, 0, "lab frames skipped");
}
