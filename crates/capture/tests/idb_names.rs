//! pcapng Interface Description Block names (`if_name`, option 2; `if_description`,
//! option 3). The real file, tests/data/two-named-interfaces.pcapng, is TCP traffic dumpcap
//! captured on two veth interfaces at once (made by tests/data/make-two-named-interfaces.sh
//! inside network namespaces); tshark is the oracle for its names. The hostile IDBs are built
//! byte by byte from the pcapng specification (draft-ietf-opsawg-pcapng: options are
//! code u16, length u16, value padded to 32 bits; strings UTF-8, not NUL-terminated).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use tracehound_capture::CaptureReader;

fn real_file() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/two-named-interfaces.pcapng"))
}

#[test]
fn idb_names_of_a_real_two_interface_capture_match_tshark() {
    let path = real_file();
    let mut rd = CaptureReader::open(path).unwrap();
    let mut per_iface = std::collections::BTreeMap::new();
    while let Some(f) = rd.next_frame().unwrap() {
        *per_iface.entry(f.interface).or_insert(0u32) += 1;
    }
    let st = rd.stats();
    assert_eq!(st.interfaces, 2);
    assert!(st.problems.is_empty(), "{:?}", st.problems);
    // tshark: the name of every frame's interface, by interface id.
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-T", "fields", "-e", "frame.interface_id", "-e", "frame.interface_name"])
        .output()
        .expect("tshark is required");
    assert!(out.status.success());
    let mut want = std::collections::BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let (id, name) = line.split_once('\t').unwrap();
        *want.entry((id.parse::<u32>().unwrap(), name.to_string())).or_insert(0u32) += 1;
    }
    let got: std::collections::BTreeMap<(u32, String), u32> = per_iface
        .iter()
        .map(|(i, n)| {
            let name = st.interface_names[*i as usize].name.clone().unwrap();
            ((*i, name), *n)
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(got.len(), 2);
}

fn option(code: u16, v: &[u8]) -> Vec<u8> {
    let mut o = code.to_le_bytes().to_vec();
    o.extend_from_slice(&(v.len() as u16).to_le_bytes());
    o.extend_from_slice(v);
    o.resize(o.len() + (4 - v.len() % 4) % 4, 0);
    o
}

fn block(btype: u32, body: &[u8]) -> Vec<u8> {
    let len = (12 + body.len()) as u32;
    let mut b = btype.to_le_bytes().to_vec();
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(body);
    b.extend_from_slice(&len.to_le_bytes());
    b
}

fn idb(opts: &[Vec<u8>]) -> Vec<u8> {
    let mut body = vec![1, 0, 0, 0, 0, 0, 4, 0]; // Ethernet, snaplen 262144
    for o in opts {
        body.extend_from_slice(o);
    }
    if !opts.is_empty() {
        body.extend_from_slice(&[0, 0, 0, 0]);
    }
    block(1, &body)
}

#[test]
fn hostile_idb_names_are_checked_bounded_and_reported_where() {
    let mut shb = vec![0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0];
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    let mut file = block(0x0a0d_0d0a, &shb);
    let long = "é".repeat(200); // 400 bytes: cut at a character boundary
    let idbs = [
        idb(&[option(2, b"eth0\0"), option(3, "Intel® I219-V".as_bytes())]),
        idb(&[option(2, &[b'w', b'l', 0xff, b'0'])]),
        idb(&[option(2, long.as_bytes())]),
        idb(&[]),
        // The option claims more bytes than the block holds: no name, the framing reported.
        {
            let mut b = idb(&[option(2, b"lo")]);
            b[16 + 2] = 200;
            b
        },
    ];
    let mut at = file.len();
    let mut starts = Vec::new();
    for b in &idbs {
        starts.push(at);
        at += b.len();
        file.extend_from_slice(b);
    }
    let path = write_tmp("idb-names-hostile.pcapng", &file);
    let mut rd = CaptureReader::open(&path).unwrap();
    while rd.next_frame().unwrap().is_some() {}
    let st = rd.stats();
    let names: Vec<_> =
        st.interface_names.iter().map(|n| (n.name.clone(), n.description.clone())).collect();
    let cut = "é".repeat(128);
    assert_eq!(
        names,
        [
            (Some("eth0".into()), Some("Intel® I219-V".into())),
            (None, None),
            (Some(cut), None),
            (None, None),
            (None, None),
        ]
    );
    // Where: the option's byte offset in the file (block start + 8 header + 8 fixed).
    let want_utf8 = format!(
        "at byte {} (after frame 0): pcapng Interface Description Block (interface 1): if_name is not UTF-8 (byte 2 of its value)",
        starts[1] + 16
    );
    assert!(st.problems.contains(&want_utf8), "{:?}", st.problems);
    let want_long = format!(
        "at byte {} (after frame 0): pcapng Interface Description Block (interface 2): if_name is 400 bytes long, kept the first 256",
        starts[2] + 16
    );
    assert!(st.problems.contains(&want_long), "{:?}", st.problems);
    assert!(
        st.problems.iter().any(|p| p.contains("(interface 4)") && p.contains("option 2 says")),
        "{:?}",
        st.problems
    );
    // Wireshark's capinfos agrees on the valid ones (it rejects the whole file for the
    // fifth IDB's framing: read without it).
    let valid = write_tmp("idb-names-valid.pcapng", &file[..starts[4]]);
    let out = Command::new("capinfos").arg("-I").arg(&valid).output().expect("capinfos");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Name = eth0"), "{text}");
    assert!(text.contains("Description = Intel® I219-V"), "{text}");
}
