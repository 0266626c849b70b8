//! Hostile endpoint-mapper and DCOM stubs: lying counts, towers longer than
//! their buffer, bad floor counts, truncation at every byte, byte flips.
//! Every case must give a `StubError` with an offset inside the stub (or a
//! successful decode), never a panic or a huge allocation.

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
                    for (iface, op) in [(dcom::IOBJECTEXPORTER, 5u16), (dcom::IACTIVATION, 0), (dcom::IREMOTESCMACTIVATOR, 4)] {
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
    let e = epm::decode_response(3, Drep::LE, &map_response_with(2, 4, 1, good.len() as u32, &good)).unwrap_err();
    assert_eq!(e.offset, 20, "{e}");
    // actual_count > max_count.
    let e = epm::decode_response(3, Drep::LE, &map_response_with(5, 1, 5, good.len() as u32, &good)).unwrap_err();
    assert_eq!(e.offset, 28, "{e}");
    // Huge counts: 0xffffffff pointers cannot fit in the bytes left.
    let e = epm::decode_response(3, Drep::LE, &map_response_with(u32::MAX, u32::MAX, u32::MAX, 4, &[0; 4])).unwrap_err();
    assert!(e.what.contains("exceeds"), "{e}");
    assert_eq!(e.offset, 36, "{e}");
    // Tower longer than the buffer.
    let e = epm::decode_response(3, Drep::LE, &map_response_with(1, 1, 1, 5000, &good)).unwrap_err();
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
