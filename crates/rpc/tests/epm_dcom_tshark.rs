//! DCOM stubs (OXID resolution and activation) built by `tracehound_rpc::dcom`'s
//! emitters, wrapped in DCE/RPC PDUs over TCP 135 in a pcap written here, and
//! read back by tshark's independent DCOM dissectors (oxid, remact,
//! isystemactivator, dcom). The values tshark reads must equal the values
//! our decoder reads from the same bytes — so an encoding mistake shared by
//! our emitter and decoder cannot hide. (No public capture with DCOM
//! activation is available under /work/shared/captures; the Samba lab has no
//! DCOM either.) tshark must be installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::Command;

use tracehound_rpc::dcom::{self, DcomRequest, DcomResult, SecurityBinding, StringBinding};
use tracehound_rpc::ndr::Drep;
use tracehound_rpc::uuid::Uuid;

const NDR: Uuid = Uuid::from_str_const("8a885d04-1ceb-11c9-9fe8-08002b104860");

fn u32le(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

/// A connection-oriented PDU (C706 12.6.3), little endian, no auth.
fn pdu(ptype: u8, call_id: u32, body: &[u8]) -> Vec<u8> {
    let mut p = vec![5, 0, ptype, 0x03, 0x10, 0, 0, 0];
    p.extend_from_slice(&((16 + body.len()) as u16).to_le_bytes());
    p.extend_from_slice(&0u16.to_le_bytes());
    p.extend_from_slice(&u32le(call_id));
    p.extend_from_slice(body);
    p
}

fn bind(call_id: u32, iface: &Uuid, major: u16) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&4280u16.to_le_bytes());
    b.extend_from_slice(&4280u16.to_le_bytes());
    b.extend_from_slice(&u32le(0));
    b.extend_from_slice(&[1, 0, 0, 0]); // one context
    b.extend_from_slice(&0u16.to_le_bytes()); // ctx id
    b.extend_from_slice(&[1, 0]); // one transfer syntax
    b.extend_from_slice(&iface.to_ndr(Drep::LE));
    b.extend_from_slice(&major.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&NDR.to_ndr(Drep::LE));
    b.extend_from_slice(&u32le(2));
    pdu(11, call_id, &b)
}

fn bind_ack(call_id: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&4280u16.to_le_bytes());
    b.extend_from_slice(&4280u16.to_le_bytes());
    b.extend_from_slice(&u32le(0x1234));
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(b"135\0");
    b.extend_from_slice(&[0, 0]); // align to 4 (header 16 + 8 + 2 + 4 = 30)
    b.extend_from_slice(&[1, 0, 0, 0]);
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&NDR.to_ndr(Drep::LE));
    b.extend_from_slice(&u32le(2));
    pdu(12, call_id, &b)
}

fn request(call_id: u32, opnum: u16, stub: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&u32le(stub.len() as u32));
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&opnum.to_le_bytes());
    b.extend_from_slice(stub);
    pdu(0, call_id, &b)
}

fn response(call_id: u32, stub: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&u32le(stub.len() as u32));
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(stub);
    pdu(2, call_id, &b)
}

/// Writes a pcap (Ethernet/IPv4/TCP) with one TCP connection per
/// exchange: client 10.9.0.1:40000+i → server 10.9.0.2:135, each segment
/// carrying one PDU, sequence numbers consistent.
fn write_pcap(path: &PathBuf, conns: &[Vec<(bool, Vec<u8>)>]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    let mut ts = 1_700_000_000u32;
    for (i, conn) in conns.iter().enumerate() {
        let cport = 40000u16 + i as u16;
        let (mut cseq, mut sseq) = (1000u32, 5000u32);
        let mut seg = |from_client: bool, flags: u8, payload: &[u8]| {
            let (src, dst, sp, dp) = if from_client {
                ([10, 9, 0, 1], [10, 9, 0, 2], cport, 135u16)
            } else {
                ([10, 9, 0, 2], [10, 9, 0, 1], 135u16, cport)
            };
            let (seq, ack) = if from_client { (cseq, sseq) } else { (sseq, cseq) };
            let ack = if flags == 0x02 { 0 } else { ack };
            let mut tcp = Vec::new();
            tcp.extend_from_slice(&sp.to_be_bytes());
            tcp.extend_from_slice(&dp.to_be_bytes());
            tcp.extend_from_slice(&seq.to_be_bytes());
            tcp.extend_from_slice(&ack.to_be_bytes());
            tcp.extend_from_slice(&[0x50, flags]);
            tcp.extend_from_slice(&65535u16.to_be_bytes());
            tcp.extend_from_slice(&[0, 0, 0, 0]);
            tcp.extend_from_slice(payload);
            let consumed = payload.len() as u32 + u32::from(flags & 0x02 != 0);
            if from_client {
                cseq = cseq.wrapping_add(consumed);
            } else {
                sseq = sseq.wrapping_add(consumed);
            }
            let mut ip = vec![0x45, 0];
            ip.extend_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
            ip.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0]);
            ip.extend_from_slice(&src);
            ip.extend_from_slice(&dst);
            ip.extend_from_slice(&tcp);
            let mut frame = vec![0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x08, 0x00];
            frame.extend_from_slice(&ip);
            frame
        };
        let mut frames = vec![seg(true, 0x02, &[]), seg(false, 0x12, &[]), seg(true, 0x10, &[])];
        for (from_client, p) in conn {
            frames.push(seg(*from_client, 0x18, p));
        }
        for f in frames {
            ts += 1;
            out.extend_from_slice(&ts.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(&f);
        }
    }
    std::fs::write(path, out).unwrap();
}

fn tshark(path: &PathBuf, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).args([
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=|",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark must be installed (/usr/bin/tshark)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn bindings() -> Vec<StringBinding> {
    vec![
        StringBinding { tower_id: 7, network_addr: "WIN-DC01[49712]".into() },
        StringBinding { tower_id: 7, network_addr: "10.9.0.2[49712]".into() },
    ]
}

fn security() -> Vec<SecurityBinding> {
    vec![
        SecurityBinding { authn_svc: 10, authz_svc: 0xffff, princ_name: String::new() },
        SecurityBinding { authn_svc: 16, authz_svc: 0xffff, princ_name: "host/win-dc01".into() },
    ]
}

fn join<T: ToString>(v: impl IntoIterator<Item = T>) -> String {
    v.into_iter().map(|x| x.to_string()).collect::<Vec<_>>().join("|")
}

#[test]
fn dcom_stubs_agree_with_tshark() {
    let dir = std::env::temp_dir().join(format!("tracehound-dcom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dcom.pcap");

    // ServerAlive2 (IObjectExporter opnum 5).
    let alive = DcomResult {
        opnum: 5,
        com_version: Some((5, 7)),
        bindings: bindings(),
        security: security(),
        ..Default::default()
    };
    let alive_stub = dcom::emit_object_exporter_response(Drep::LE, 5, &alive);
    // ResolveOxid2 (opnum 4).
    let oxid: u64 = 0x8877_6655_4433_2211;
    let ro2_req = dcom::emit_resolve_oxid_request(Drep::LE, oxid, &[7, 0x1f]);
    let ro2 = DcomResult {
        opnum: 4,
        ipid_rem_unknown: Some("0000b800-0d04-ffff-5a6f-1f2b3c4d5e6f".parse().unwrap()),
        authn_hint: Some(4),
        com_version: Some((5, 7)),
        bindings: bindings(),
        security: security(),
        ..Default::default()
    };
    let ro2_stub = dcom::emit_object_exporter_response(Drep::LE, 4, &ro2);
    // RemoteCreateInstance (ISystemActivator opnum 4).
    let rci_req = DcomRequest {
        opnum: 4,
        clsid: Some("8bc3f05e-d86b-11d0-a075-00c04fb68820".parse().unwrap()),
        iids: vec!["f309ad18-d86a-11d0-a075-00c04fb68820".parse().unwrap()],
        requested_protseqs: vec![7],
        com_version: Some((5, 7)),
        ..Default::default()
    };
    let rci_req_stub = dcom::emit_scm_activation_request(4, &rci_req);
    let rci = DcomResult {
        opnum: 4,
        oxid: Some(oxid),
        ipid_rem_unknown: ro2.ipid_rem_unknown,
        authn_hint: Some(2),
        com_version: Some((5, 7)),
        interface_results: vec![0],
        bindings: bindings(),
        security: security(),
        ..Default::default()
    };
    let rci_stub = dcom::emit_scm_activation_response(&rci);

    let alive_req = Vec::new();
    write_pcap(
        &path,
        &[
            vec![
                (true, bind(1, &dcom::IOBJECTEXPORTER, 0)),
                (false, bind_ack(1)),
                (true, request(2, 5, &alive_req)),
                (false, response(2, &alive_stub)),
                (true, request(3, 4, &ro2_req)),
                (false, response(3, &ro2_stub)),
            ],
            vec![
                (true, bind(1, &dcom::IREMOTESCMACTIVATOR, 0)),
                (false, bind_ack(1)),
                (true, request(2, 4, &rci_req_stub)),
                (false, response(2, &rci_stub)),
            ],
        ],
    );

    // Our decoder on the same stubs.
    let d_alive =
        dcom::decode_response(&dcom::IOBJECTEXPORTER, 5, Drep::LE, &alive_stub).unwrap().unwrap();
    let d_ro2q =
        dcom::decode_request(&dcom::IOBJECTEXPORTER, 4, Drep::LE, &ro2_req).unwrap().unwrap();
    let d_ro2 =
        dcom::decode_response(&dcom::IOBJECTEXPORTER, 4, Drep::LE, &ro2_stub).unwrap().unwrap();
    let d_rciq = dcom::decode_request(&dcom::IREMOTESCMACTIVATOR, 4, Drep::LE, &rci_req_stub)
        .unwrap()
        .unwrap();
    let d_rci =
        dcom::decode_response(&dcom::IREMOTESCMACTIVATOR, 4, Drep::LE, &rci_stub).unwrap().unwrap();

    let dsa_fields = [
        "dcom.dualstringarray.tower_id",
        "dcom.dualstringarray.network_addr",
        "dcom.dualstringarray.security_authn_svc",
        "dcom.dualstringarray.security_princ_name",
    ];
    let dsa_of = |r: &DcomResult| {
        vec![
            // tshark shows these two as 4-digit hex.
            join(r.bindings.iter().map(|b| format!("0x{:04x}", b.tower_id))),
            join(r.bindings.iter().map(|b| b.network_addr.clone())),
            join(r.security.iter().map(|s| format!("0x{:04x}", s.authn_svc))),
            join(r.security.iter().map(|s| s.princ_name.clone())),
        ]
    };

    // ServerAlive2 response.
    let mut f = vec!["frame.number", "dcom.version_major", "dcom.version_minor"];
    f.extend(dsa_fields);
    let rows = tshark(&path, "oxid.opnum == 5 && dcerpc.pkt_type == 2", &f);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (maj, min) = d_alive.com_version.unwrap();
    assert_eq!(rows[0][1..3], [maj.to_string(), min.to_string()]);
    // tshark lists security bindings with an empty princ_name field for "".
    let mut want = dsa_of(&d_alive);
    want[3] = join(d_alive.security.iter().map(|s| s.princ_name.clone()));
    assert_eq!(rows[0][3..], want[..], "ServerAlive2 bindings");

    // ResolveOxid2 request and response.
    let rows = tshark(
        &path,
        "oxid.opnum == 4 && dcerpc.pkt_type == 0",
        &["oxid.oxid", "oxid.requested_protseqs", "oxid.protseqs"],
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][0], format!("0x{:016x}", d_ro2q.oxid.unwrap()));
    assert_eq!(rows[0][1], d_ro2q.requested_protseqs.len().to_string());
    assert_eq!(rows[0][2], join(d_ro2q.requested_protseqs.iter()));
    let mut f = vec!["oxid.ipid", "oxid.authn_hint", "dcom.version_major", "dcom.version_minor"];
    f.extend(dsa_fields);
    let rows = tshark(&path, "oxid.opnum == 4 && dcerpc.pkt_type == 2", &f);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][0], d_ro2.ipid_rem_unknown.unwrap().to_string());
    assert_eq!(rows[0][1], d_ro2.authn_hint.unwrap().to_string());
    let (maj, min) = d_ro2.com_version.unwrap();
    assert_eq!(rows[0][2..4], [maj.to_string(), min.to_string()]);
    assert_eq!(rows[0][4..], dsa_of(&d_ro2)[..], "ResolveOxid2 bindings");

    // RemoteCreateInstance request: class, IIDs, protseqs.
    let rows = tshark(
        &path,
        "isystemactivator.opnum == 4 && dcerpc.pkt_type == 0",
        &[
            "isystemactivator.properties.instninfo.clsid",
            "isystemactivator.properties.instninfo.iid",
            "isystemactivator.properties.sri.protseq",
        ],
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][0], d_rciq.clsid.unwrap().to_string());
    assert_eq!(rows[0][1], join(d_rciq.iids.iter()));
    assert_eq!(rows[0][2], join(d_rciq.requested_protseqs.iter()));

    // RemoteCreateInstance response: OXID, IPID, hint, bindings.
    let mut f = vec![
        "isystemactivator.properties.scmresp.oxid",
        "isystemactivator.properties.scmresp.rmtunknid",
        "isystemactivator.properties.scmresp.authhint",
    ];
    f.extend(dsa_fields);
    let rows = tshark(&path, "isystemactivator.opnum == 4 && dcerpc.pkt_type == 2", &f);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][0], format!("0x{:016x}", d_rci.oxid.unwrap()));
    assert_eq!(rows[0][1], d_rci.ipid_rem_unknown.unwrap().to_string());
    assert_eq!(rows[0][2], d_rci.authn_hint.unwrap().to_string());
    assert_eq!(rows[0][3..], dsa_of(&d_rci)[..], "RemoteCreateInstance bindings");

    // And our decode equals what we meant to send.
    assert_eq!(d_rci, rci);
    assert_eq!(d_rciq, rci_req);
    if std::env::var("KEEP_DCOM_PCAP").is_err() {
        std::fs::remove_dir_all(&dir).ok();
    }
}
