use super::*;

fn sample() -> DcomResult {
    DcomResult {
        opnum: 0,
        hresult: 0,
        interface_results: vec![],
        oxid: None,
        ipid_rem_unknown: Some("00007c00-0af4-ffff-1a2b-3c4d5e6f7081".parse().unwrap()),
        authn_hint: Some(4),
        com_version: None,
        bindings: vec![
            StringBinding { tower_id: 7, network_addr: "WIN-DC01[49712]".into() },
            StringBinding { tower_id: 7, network_addr: "10.1.2.3[49712]".into() },
        ],
        security: vec![
            SecurityBinding { authn_svc: 9, authz_svc: 0xffff, princ_name: String::new() },
            SecurityBinding { authn_svc: 16, authz_svc: 0xffff, princ_name: "host/dc01".into() },
        ],
    }
}

#[test]
fn resolve_oxid_roundtrip_both_dreps() {
    for drep in [Drep::LE, Drep::BE] {
        for opnum in [0u16, 4, 5] {
            let mut want = sample();
            want.opnum = opnum;
            if opnum != 0 {
                want.com_version = Some((5, 7));
            }
            if opnum == 5 {
                want.ipid_rem_unknown = None;
                want.authn_hint = None;
            }
            let stub = emit_object_exporter_response(drep, opnum, &want);
            let got = decode_response(&IOBJECTEXPORTER, opnum, drep, &stub).unwrap().unwrap();
            assert_eq!(got, want, "opnum {opnum} drep {drep:?}");
            assert_eq!(got.bindings[1].port(), Some(49712));
            assert_eq!(got.bindings[1].host(), "10.1.2.3");
            assert_eq!(got.bindings[0].protseq(), Some("ncacn_ip_tcp"));
        }
    }
}

#[test]
fn remote_activation_and_scm_roundtrip() {
    let mut want = sample();
    want.oxid = Some(0x1122_3344_5566_7788);
    want.com_version = Some((5, 7));
    want.interface_results = vec![0, 0x8000_4002];
    for drep in [Drep::LE, Drep::BE] {
        let stub = emit_remote_activation_response(drep, &want);
        let got = decode_response(&IACTIVATION, 0, drep, &stub).unwrap().unwrap();
        assert_eq!(got, want);
    }
    let mut want4 = want.clone();
    want4.opnum = 4;
    let stub = emit_scm_activation_response(&want4);
    let got = decode_response(&IREMOTESCMACTIVATOR, 4, Drep::LE, &stub).unwrap().unwrap();
    assert_eq!(got, want4);
}

#[test]
fn requests_roundtrip() {
    let req = DcomRequest {
        opnum: 4,
        oxid: None,
        requested_protseqs: vec![7, 0x1f],
        clsid: Some("8bc3f05e-d86b-11d0-a075-00c04fb68820".parse().unwrap()),
        iids: vec![IACTIVATION, "f309ad18-d86a-11d0-a075-00c04fb68820".parse().unwrap()],
        com_version: Some((5, 7)),
    };
    for opnum in [3u16, 4] {
        let mut want = req.clone();
        want.opnum = opnum;
        let stub = emit_scm_activation_request(opnum, &want);
        let got = decode_request(&IREMOTESCMACTIVATOR, opnum, Drep::LE, &stub).unwrap().unwrap();
        assert_eq!(got, want);
        for cut in 0..stub.len() {
            let r = decode_request(&IREMOTESCMACTIVATOR, opnum, Drep::LE, &stub[..cut]).unwrap();
            assert!(r.unwrap_err().offset <= cut);
        }
    }
    for drep in [Drep::LE, Drep::BE] {
        let mut want = req.clone();
        want.opnum = 0;
        let stub = emit_remote_activation_request(drep, &want);
        assert_eq!(decode_request(&IACTIVATION, 0, drep, &stub).unwrap().unwrap(), want);
        let stub = emit_resolve_oxid_request(drep, 0x0102_0304_0506_0708, &[7, 8]);
        let got = decode_request(&IOBJECTEXPORTER, 4, drep, &stub).unwrap().unwrap();
        assert_eq!(got.oxid, Some(0x0102_0304_0506_0708));
        assert_eq!(got.requested_protseqs, vec![7, 8]);
    }
    assert!(decode_request(&IOBJECTEXPORTER, 2, Drep::LE, &[]).is_none());
}

#[test]
fn not_ours_and_truncation() {
    assert!(decode_response(&IOBJECTEXPORTER, 1, Drep::LE, &[]).is_none());
    assert!(decode_response(&Uuid::NIL, 0, Drep::LE, &[]).is_none());
    let stub = emit_object_exporter_response(Drep::LE, 0, &sample());
    for cut in 0..stub.len() {
        let r = decode_response(&IOBJECTEXPORTER, 0, Drep::LE, &stub[..cut]).unwrap();
        let e = r.unwrap_err();
        assert!(e.offset <= cut, "{e} cut {cut}");
    }
}
