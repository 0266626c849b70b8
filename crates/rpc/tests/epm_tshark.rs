//! Endpoint mapper stubs from real captures, decoded by `tracehound_rpc::epm`
//! and compared field by field with tshark's `epm.*` fields.
//!
//! Bytes come from the captures themselves at test time: for every frame
//! tshark shows as `epm`, the DCE/RPC PDU is taken from `tcp.payload` (or
//! `tcp.reassembled.data`), its stub cut out using the common header
//! (C706 12.6) and decoded here; tshark (must be installed) supplies the
//! reference values. Captures: /work/shared/captures/dcerpc (see SOURCES.md),
//! dcerpc__zerologon__input.pcap (ept_map request/response pairs, frames
//! 7/8, 35/36, ...) and dcerpc__dcerpc-bind-no-frag-flag__input.pcap (EPM
//! context, opnum 42), plus lab captures under tests/fixtures/lab when
//! present.

use std::path::{Path, PathBuf};
use std::process::Command;

use tracehound_rpc::epm::{self, EpmRequest, Tower};
use tracehound_rpc::ndr::Drep;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures");
const LAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab");

const FIELDS: &[&str] = &[
    "frame.number",
    "tcp.payload",
    "tcp.reassembled.data",
    "udp.payload",
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
    assert!(out.status.success(), "tshark failed on {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let cols: Vec<Vec<String>> = line
                .split('\t')
                .map(|c| if c.is_empty() { vec![] } else { c.split(SEP).map(str::to_string).collect() })
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

/// One complete connection-oriented PDU → (ptype, drep, opnum, stub).
fn co_stub(pdu: &[u8]) -> Option<(u8, Drep, Option<u16>, Vec<u8>)> {
    if pdu.len() < 16 || pdu[0] != 5 {
        return None;
    }
    let ptype = pdu[2];
    let flags = pdu[3];
    let drep = Drep::from_bytes([pdu[4], pdu[5], pdu[6], pdu[7]]);
    let rd16 = |b: [u8; 2]| if drep.little_endian { u16::from_le_bytes(b) } else { u16::from_be_bytes(b) };
    let frag = rd16([pdu[8], pdu[9]]) as usize;
    let auth = rd16([pdu[10], pdu[11]]) as usize;
    // Only whole, unfragmented PDUs that fill the payload exactly.
    if frag != pdu.len() || flags & 0x03 != 0x03 {
        return None;
    }
    let (mut hdr, opnum) = match ptype {
        0 => (24, Some(rd16([pdu[22], pdu[23]]))),
        2 => (24, None),
        _ => return None,
    };
    if ptype == 0 && flags & 0x80 != 0 {
        hdr += 16;
    }
    let mut end = frag;
    if auth > 0 {
        end = frag.checked_sub(auth + 8)?;
        let pad = *pdu.get(end + 2)? as usize;
        end = end.checked_sub(pad)?;
    }
    Some((ptype, drep, opnum, pdu.get(hdr..end)?.to_vec()))
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
                0x0f => self.named_pipe.push(f.text()),
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
    requests: usize,
    responses: usize,
    towers: usize,
    skipped: usize,
}

/// Checks every epm frame of `path`; returns how many tshark showed.
fn check_file(path: &Path, t: &mut Tally) -> usize {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let rows = tshark_rows(path);
    for row in &rows {
        let data = row
            .get("tcp.reassembled.data")
            .first()
            .or_else(|| row.get("tcp.payload").first())
            .map(|h| unhex(h));
        let Some((ptype, drep, opnum_hdr, stub)) = data.as_deref().and_then(co_stub) else {
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
                    assert_eq!(row.get("epm.max_towers"), &[max_towers.to_string()], "{name} frame {}", row.frame);
                }
                EpmRequest::Lookup { max_entries, .. } => {
                    assert_eq!(row.get("epm.max_ents"), &[max_entries.to_string()], "{name} frame {}", row.frame);
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
            assert_eq!(row.get("epm.rc"), &[format!("0x{:08x}", resp.status)], "{name} frame {}: rc", row.frame);
            match opnum {
                3 => {
                    assert_eq!(row.get("epm.num_towers"), &[resp.num_towers.to_string()], "{name} frame {}", row.frame);
                    for tw in &resp.towers {
                        want.tower(tw);
                        t.towers += 1;
                    }
                    want.check(row, &name);
                    assert_eq!(row.get("epm.uuid"), &want.uuid[..], "{name} frame {}: uuid", row.frame);
                }
                2 => {
                    assert_eq!(row.get("epm.num_ents"), &[resp.num_towers.to_string()], "{name} frame {}", row.frame);
                    let ann: Vec<String> = resp.entries.iter().map(|e| e.annotation.clone()).collect();
                    let shown: Vec<String> = row.get("epm.annotation").to_vec();
                    assert_eq!(shown.len(), ann.len(), "{name} frame {}: annotations", row.frame);
                    for (s, a) in shown.iter().zip(&ann) {
                        assert_eq!(s, a, "{name} frame {}: annotation", row.frame);
                    }
                    for e in &resp.entries {
                        if let Some(tw) = &e.tower {
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
    let mut t = Tally { requests: 0, responses: 0, towers: 0, skipped: 0 };
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
    let mut t = Tally { requests: 0, responses: 0, towers: 0, skipped: 0 };
    let mut with_epm = Vec::new();
    for f in &files {
        if check_file(f, &mut t) > 0 {
            with_epm.push(f.file_name().unwrap().to_string_lossy().to_string());
        }
    }
    if with_epm.is_empty() {
        // The lab helper produces these; until then there is nothing to
        // compare (the shared-capture test above is the one that must run).
        eprintln!("no lab captures with EPM traffic under {LAB}");
        return;
    }
    eprintln!("lab captures with EPM: {with_epm:?}");
    eprintln!(
        "lab: {} files, {} requests, {} responses, {} towers, {} skipped",
        with_epm.len(),
        t.requests,
        t.responses,
        t.towers,
        t.skipped
    );
    assert!(t.responses > 0, "no lab EPM response decoded");
}
