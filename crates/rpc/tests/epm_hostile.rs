//! Hostile endpoint-mapper and DCOM stubs: lying counts, towers longer than
//! their buffer, bad floor counts, truncation at every byte, byte flips.
//! Every case must give a `StubError` with an offset inside the stub (or a
//! successful decode), never a panic or a huge allocation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use tracehound_rpc::dcom;
use tracehound_rpc::epm::{self, Floor, Tower};
use tracehound_rpc::ndr::{Drep, Writer};
use tracehound_rpc::uuid::Uuid;

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

// dcerpc__zerologon__input.pcap frame 7: ept_map request stub (TCP payload
// after the 24-byte request header).
const MAP_REQ: &str = "0100000000000000000000000000000000000000020000004b0000004b000000050013000d785634123412cdabef0001234567cffb01000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b0200000001000702000000010009040000000000ab000000000000000000000000000000000000000001000000";
// dcerpc__zerologon__input.pcap frame 8: ept_map response stub.
const MAP_RESP: &str = "0000000048450468443dad43ad06e9e13075aaf101000000010000000000000001000000030000004b0000004b000000050013000d785634123412cdabef0001234567cffb01000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b020000000100070200c2040100090400ac10053a0000000000";

#[test]
fn real_stubs_decode() {
    let req = epm::decode_request(3, Drep::LE, &unhex(MAP_REQ)).unwrap();
    let epm::EpmRequest::Map { object, tower: Some(t), max_towers, .. } = req else {
        panic!("not a map request")
    };
    assert_eq!(object, Some(Uuid::NIL));
    assert_eq!(max_towers, 1);
    assert_eq!(t.binding_string().unwrap(), "ncacn_ip_tcp:0.0.0.0[0]");
    let resp = epm::decode_response(3, Drep::LE, &unhex(MAP_RESP)).unwrap();
    assert_eq!(resp.towers[0].binding_string().unwrap(), "ncacn_ip_tcp:172.16.5.58[49668]");
    assert_eq!(resp.towers[0].port(), Some(49668));
    assert_eq!(resp.towers[0].address().unwrap(), "172.16.5.58");
    assert_eq!(resp.towers[0].protocol(), Some("ncacn_ip_tcp"));
}

#[test]
fn truncation_at_every_byte() {
    for (hex, is_req) in [(MAP_REQ, true), (MAP_RESP, false)] {
        let full = unhex(hex);
        for cut in 0..full.len() {
            let r = if is_req {
                epm::decode_request(3, Drep::LE, &full[..cut]).map(|_| ())
            } else {
                epm::decode_response(3, Drep::LE, &full[..cut]).map(|_| ())
            };
            let e = r.expect_err("truncated stub must not decode");
            assert!(e.offset <= cut, "cut {cut}: offset {} beyond stub ({e})", e.offset);
            assert!(!e.what.is_empty());
        }
    }
}

#[test]
fn byte_flips_never_panic() {
    for hex in [MAP_REQ, MAP_RESP] {
        let full = unhex(hex);
        for i in 0..full.len() {
            for v in [0x00u8, 0x01, 0x7f, 0x80, 0xff] {
                let mut b = full.clone();
                b[i] = v;
                for drep in [Drep::LE, Drep::BE] {
                    for op in 0..8u16 {
                        if let Err(e) = epm::decode_request(op, drep, &b) {
                            assert!(e.offset <= b.len(), "{e}");
                        }
                        if let Err(e) = epm::decode_response(op, drep, &b) {
                            assert!(e.offset <= b.len(), "{e}");
                        }
                    }
                    for (iface, op) in [
                        (dcom::IOBJECTEXPORTER, 5u16),
                        (dcom::IACTIVATION, 0),
                        (dcom::IREMOTESCMACTIVATOR, 4),
                    ] {
                        if let Some(Err(e)) = dcom::decode_response(&iface, op, drep, &b) {
                            assert!(e.offset <= b.len(), "{e}");
                        }
                    }
                }
            }
        }
    }
}

fn map_response_with(num: u32, max: u32, actual: u32, tower_len: u32, tower: &[u8]) -> Vec<u8> {
    let mut w = Writer::new(Drep::LE);
    w.context_handle(&[0; 20]);
    w.u32(num);
    w.u32(max);
    w.u32(0);
    w.u32(actual);
    w.pointer(true);
    w.u32(tower_len);
    w.u32(tower_len);
    w.bytes(tower);
    w.align(4);
    w.u32(0);
    w.into_bytes()
}

#[test]
fn lying_array_sizes() {
    let good = Tower::ncacn_ip_tcp(&epm::EPM_UUID, 3, 0, [10, 0, 0, 1].into(), 135).emit();
    // Sanity: consistent sizes decode.
    let ok = map_response_with(1, 1, 1, good.len() as u32, &good);
    assert_eq!(epm::decode_response(3, Drep::LE, &ok).unwrap().towers.len(), 1);
    // num_towers != actual_count.
    let e =
        epm::decode_response(3, Drep::LE, &map_response_with(2, 4, 1, good.len() as u32, &good))
            .unwrap_err();
    assert_eq!(e.offset, 20, "{e}");
    // actual_count > max_count.
    let e =
        epm::decode_response(3, Drep::LE, &map_response_with(5, 1, 5, good.len() as u32, &good))
            .unwrap_err();
    assert_eq!(e.offset, 28, "{e}");
    // Huge counts: 0xffffffff pointers cannot fit in the bytes left.
    let e = epm::decode_response(
        3,
        Drep::LE,
        &map_response_with(u32::MAX, u32::MAX, u32::MAX, 4, &[0; 4]),
    )
    .unwrap_err();
    assert!(e.what.contains("exceeds"), "{e}");
    assert_eq!(e.offset, 36, "{e}");
    // Tower longer than the buffer.
    let e =
        epm::decode_response(3, Drep::LE, &map_response_with(1, 1, 1, 5000, &good)).unwrap_err();
    assert!(e.what.contains("tower_octet_string"), "{e}");
    assert_eq!(e.offset, 48, "{e}");
    // ept_lookup with a huge entry count.
    let mut w = Writer::new(Drep::LE);
    w.context_handle(&[0; 20]);
    w.u32(0x1000_0000);
    w.u32(0x1000_0000);
    w.u32(0);
    w.u32(0x1000_0000);
    w.u32(0);
    let e = epm::decode_response(2, Drep::LE, &w.into_bytes()).unwrap_err();
    assert!(e.what.contains("ept_entry_t"), "{e}");
}

#[test]
fn bad_floors() {
    let good = Tower::ncacn_ip_tcp(&epm::EPM_UUID, 3, 0, [10, 0, 0, 1].into(), 135).emit();
    // Floor count larger than what fits.
    let mut b = good.clone();
    b[0] = 0xff;
    b[1] = 0x00;
    let e = Tower::parse(&b, 100).unwrap_err();
    assert_eq!(e.offset, 100, "{e}");
    assert!(e.what.contains("255 floors"), "{e}");
    // lhs length running past the end.
    let mut b = good.clone();
    b[2] = 0xff;
    b[3] = 0x7f;
    let e = Tower::parse(&b, 0).unwrap_err();
    assert_eq!(e.offset, 2, "{e}");
    // Empty lhs (no protocol id).
    let t = [1u8, 0, 0, 0, 0, 0];
    let e = Tower::parse(&t, 0).unwrap_err();
    assert!(e.what.contains("empty lhs"), "{e}");
    // Floor count zero: valid, but no binding.
    let t = Tower::parse(&[0, 0], 0).unwrap();
    assert_eq!(t.binding_string(), None);
    assert_eq!(t.interface(), None);
    // Short floors: a 0x07 floor with a 1-byte rhs has no port.
    let t = Tower {
        floors: vec![
            Floor::uuid(&epm::EPM_UUID, 3, 0),
            Floor::uuid(&epm::NDR_UUID, 2, 0),
            Floor::new(0x0b, &[], &[0, 0]),
            Floor::new(0x07, &[], &[1]),
            Floor::new(0x09, &[], &[1, 2]),
        ],
    };
    let parsed = Tower::parse(&t.emit(), 0).unwrap();
    assert_eq!(parsed.port(), None);
    assert_eq!(parsed.address(), None);
    assert_eq!(parsed.binding_string().unwrap(), "ncacn_ip_tcp:");
    // Unknown transport stays visible as a number in the floors.
    let t = Tower { floors: vec![Floor::new(0x99, &[1], &[2])] };
    let parsed = Tower::parse(&t.emit(), 0).unwrap();
    assert_eq!(parsed.floors[0].protocol, 0x99);
    assert_eq!(parsed.protocol(), None);
    assert_eq!(parsed.binding_string(), None);
    let t = Tower {
        floors: vec![
            Floor::uuid(&epm::EPM_UUID, 3, 0),
            Floor::uuid(&epm::NDR_UUID, 2, 0),
            Floor::new(0x0b, &[], &[0, 0]),
            Floor::new(0x99, &[], &[0, 135]),
            Floor::new(0x09, &[], &[10, 0, 0, 1]),
        ],
    };
    let parsed = Tower::parse(&t.emit(), 0).unwrap();
    assert_eq!(parsed.protocol(), None);
    assert_eq!(parsed.binding_string().unwrap(), "unknown_0x0b_0x99:10.0.0.1");
}

#[test]
fn dcom_lying_string_array() {
    // ResolveOxid response whose DUALSTRINGARRAY claims more entries than sent.
    let mut w = Writer::new(Drep::LE);
    w.pointer(true);
    w.u32(0x4000_0000);
    w.u16(0xffff);
    w.u16(2);
    w.u16(7);
    let b = w.into_bytes();
    let e = dcom::decode_response(&dcom::IOBJECTEXPORTER, 0, Drep::LE, &b).unwrap().unwrap_err();
    assert!(e.what.contains("aStringArray"), "{e}");
    // wSecurityOffset beyond wNumEntries.
    let mut w = Writer::new(Drep::LE);
    w.pointer(true);
    w.u32(4);
    w.u16(4);
    w.u16(9);
    let b = w.into_bytes();
    let e = dcom::decode_response(&dcom::IOBJECTEXPORTER, 0, Drep::LE, &b).unwrap().unwrap_err();
    assert!(e.what.contains("wSecurityOffset"), "{e}");
    assert_eq!(e.offset, 4);
    // Binding not NUL-terminated before the security offset.
    let mut w = Writer::new(Drep::LE);
    w.pointer(true);
    w.u32(4);
    w.u16(4);
    w.u16(3);
    for u in [7u16, b'a' as u16, b'b' as u16, 0] {
        w.u16(u);
    }
    w.uuid(&Uuid::NIL);
    w.u32(0);
    w.u32(0);
    let b = w.into_bytes();
    let e = dcom::decode_response(&dcom::IOBJECTEXPORTER, 0, Drep::LE, &b).unwrap().unwrap_err();
    assert!(e.what.contains("NUL"), "{e}");
}

/// DCOM activation stubs built by the emitters decode back, and truncation
/// or byte flips anywhere give errors inside the stub. With
/// `EPM_STUB_SEED_DIR` set, the stubs are also written there as seeds for
/// the `epm_stub` fuzz target (fuzz/seed_epm_stub.sh does that).
#[test]
fn dcom_activation_stubs_and_seeds() {
    let req = dcom::DcomRequest {
        opnum: 4,
        oxid: None,
        requested_protseqs: vec![7],
        clsid: Some("8bc3f05e-d86b-11d0-a075-00c04fb68820".parse().unwrap()),
        iids: vec!["f309ad18-d86a-11d0-a075-00c04fb68820".parse().unwrap()],
        com_version: Some((5, 7)),
    };
    let res = dcom::DcomResult {
        opnum: 4,
        hresult: 0,
        interface_results: vec![0],
        oxid: Some(0x1122_3344_5566_7788),
        ipid_rem_unknown: Some(Uuid::NIL),
        authn_hint: Some(2),
        com_version: Some((5, 7)),
        bindings: vec![dcom::StringBinding { tower_id: 7, network_addr: "10.0.0.5[49700]".into() }],
        security: vec![],
    };
    // (selector byte for the fuzz target, opnum, stub)
    let stubs: Vec<(u8, u16, Vec<u8>)> = vec![
        (12, 4, dcom::emit_scm_activation_request(4, &req)),
        (
            12,
            0,
            dcom::emit_remote_activation_request(
                Drep::LE,
                &dcom::DcomRequest { opnum: 0, ..req.clone() },
            ),
        ),
        (10, 4, dcom::emit_scm_activation_response(&res)),
        (
            8,
            0,
            dcom::emit_remote_activation_response(
                Drep::LE,
                &dcom::DcomResult { opnum: 0, ..res.clone() },
            ),
        ),
    ];
    let decode = |sel: u8,
                  op: u16,
                  b: &[u8]|
     -> Option<Result<(), tracehound_rpc::ndr::StubError>> {
        match sel {
            12 if op == 4 => dcom::decode_request(&dcom::IREMOTESCMACTIVATOR, 4, Drep::LE, b)
                .map(|r| r.map(|_| ())),
            12 => dcom::decode_request(&dcom::IACTIVATION, 0, Drep::LE, b).map(|r| r.map(|_| ())),
            10 => dcom::decode_response(&dcom::IREMOTESCMACTIVATOR, 4, Drep::LE, b)
                .map(|r| r.map(|_| ())),
            _ => dcom::decode_response(&dcom::IACTIVATION, 0, Drep::LE, b).map(|r| r.map(|_| ())),
        }
    };
    for (sel, op, stub) in &stubs {
        decode(*sel, *op, stub).unwrap().unwrap();
        for cut in 0..stub.len() {
            let e = decode(*sel, *op, &stub[..cut]).unwrap().unwrap_err();
            assert!(e.offset <= cut, "{e}");
        }
        for i in 0..stub.len() {
            let mut b = stub.clone();
            b[i] ^= 0xff;
            if let Err(e) = decode(*sel, *op, &b).unwrap() {
                assert!(e.offset <= b.len(), "{e}");
            }
        }
    }
    if let Ok(dir) = std::env::var("EPM_STUB_SEED_DIR") {
        for (i, (sel, op, stub)) in stubs.iter().enumerate() {
            let mut f = vec![*sel];
            f.extend_from_slice(&op.to_le_bytes());
            f.extend_from_slice(stub);
            std::fs::write(format!("{dir}/dcom-emitted-{i}"), f).unwrap();
        }
    }
}
