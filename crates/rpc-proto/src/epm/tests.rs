use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

// dcerpc__zerologon__input.pcap frame 8: ept_map response stub (after
// the 24-byte response header).
const MAP_RESP: &str =
    "000000004845046844 3dad43ad06e9e13075aaf1010000000100000000000000010000000300\
00004b0000004b000000050013000d785634123412cdabef0001234567cffb01000200000013000d045d888aeb1cc9119fe\
808002b10486002000200000001000b020000000100070200c2040100090400ac10053a0000000000";

#[test]
fn parse_real_map_response() {
    let stub = hex(&MAP_RESP.replace(' ', ""));
    let r = decode_response(3, Drep::LE, &stub).unwrap();
    assert_eq!(r.status, 0);
    assert_eq!(r.num_towers, 1);
    let t = &r.towers[0];
    assert_eq!(t.floors.len(), 5);
    assert_eq!(t.binding_string().unwrap(), "ncacn_ip_tcp:172.16.5.58[49668]");
    assert_eq!(t.interface().unwrap().0.to_string(), "12345678-1234-abcd-ef00-01234567cffb");
    assert_eq!(t.transfer_syntax(), Some((NDR_UUID, 2, 0)));
    // Re-emit gives the same bytes except the referent id (Windows
    // used 3, our writer numbers from 0x20000).
    let again = emit_response(Drep::LE, &r);
    assert_eq!(again.len(), stub.len());
    assert_eq!(again[..36], stub[..36]);
    assert_eq!(again[40..], stub[40..]);
    assert_eq!(decode_response(3, Drep::LE, &again).unwrap(), r);
}

#[test]
fn roundtrip_lookup_both_dreps() {
    let np = Tower {
        floors: vec![
            Floor::uuid(&EPM_UUID, 3, 0),
            Floor::uuid(&NDR_UUID, 2, 0),
            Floor::new(proto::RPC_CO, &[], &[0, 0]),
            Floor::new(proto::NAMED_PIPE, &[], b"\\PIPE\\lsass\0"),
            Floor::new(proto::NETBIOS, &[], b"DC01\0"),
        ],
    };
    assert_eq!(np.binding_string().unwrap(), "ncacn_np:\\\\DC01[\\PIPE\\lsass]");
    let lrpc = Tower {
        floors: vec![
            Floor::uuid(&EPM_UUID, 3, 0),
            Floor::uuid(&NDR_UUID, 2, 0),
            Floor::new(proto::RPC_LOCAL, &[], &[0, 0]),
            Floor::new(proto::LRPC, &[], b"LRPC-1234\0"),
        ],
    };
    assert_eq!(lrpc.binding_string().unwrap(), "ncalrpc:[LRPC-1234]");
    let udp = Tower {
        floors: vec![
            Floor::uuid(&EPM_UUID, 3, 0),
            Floor::uuid(&NDR_UUID, 2, 0),
            Floor::new(proto::RPC_CL, &[], &[0, 0]),
            Floor::new(proto::UDP, &[], &135u16.to_be_bytes()),
            Floor::new(proto::IP, &[], &[10, 0, 0, 1]),
        ],
    };
    assert_eq!(udp.binding_string().unwrap(), "ncadg_ip_udp:10.0.0.1[135]");
    for drep in [Drep::LE, Drep::BE] {
        let resp = EpmResponse {
            opnum: 2,
            status: 0,
            entry_handle: [7; 20],
            num_towers: 3,
            towers: vec![],
            entries: vec![
                Entry { object: Uuid::NIL, annotation: "Netlogon".into(), tower: Some(np.clone()) },
                Entry { object: EPM_UUID, annotation: String::new(), tower: None },
                Entry { object: Uuid::NIL, annotation: "x".into(), tower: Some(udp.clone()) },
            ],
            object: None,
        };
        let b = emit_response(drep, &resp);
        assert_eq!(decode_response(2, drep, &b).unwrap(), resp);
        let req = ept_lookup_request(
            drep,
            inquiry::INTERFACE,
            None,
            Some(&IfId { uuid: EPM_UUID, major: 3, minor: 0 }),
            vers::EXACT,
            [1; 20],
            500,
        );
        assert_eq!(
            decode_request(2, drep, &req).unwrap(),
            EpmRequest::Lookup {
                inquiry_type: 1,
                object: None,
                interface: Some(IfId { uuid: EPM_UUID, major: 3, minor: 0 }),
                vers_option: 3,
                entry_handle: [1; 20],
                max_entries: 500
            }
        );
        let ins = ept_insert_request(drep, 0, &resp.entries, true);
        assert_eq!(
            decode_request(0, drep, &ins).unwrap(),
            EpmRequest::Insert { entries: resp.entries.clone(), replace: true }
        );
        let del = ept_insert_request(drep, 1, &resp.entries[..1], false);
        assert_eq!(
            decode_request(1, drep, &del).unwrap(),
            EpmRequest::Delete { entries: resp.entries[..1].to_vec() }
        );
        let free = ept_lookup_handle_free_request(drep, [9; 20]);
        assert_eq!(
            decode_request(4, drep, &free).unwrap(),
            EpmRequest::LookupHandleFree { entry_handle: [9; 20] }
        );
    }
}
