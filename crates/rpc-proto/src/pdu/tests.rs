use super::*;

// A bind from dcerpc__dcerpc-dce-iface-02__input.pcap would do; here: emitted and checked
// field by field against C706 offsets.
#[test]
fn bind_roundtrip_both_orders() {
    for drep in [Drep::LE, Drep::BE] {
        let mut ctx = Context {
            id: 0,
            abstract_syntax: Syntax {
                uuid: "e1af8308-5d1f-11c9-91a4-08002b14a0fa".parse().unwrap(),
                ver_major: 3,
                ver_minor: 0,
            },
            transfer_syntaxes: vec![Syntax::NDR],
        };
        let mut contexts = vec![ctx.clone()];
        ctx.id = 1;
        let mut bits = [0u8; 16];
        bits[..8].copy_from_slice(&BTFN_PREFIX);
        bits[8] = 3;
        ctx.transfer_syntaxes = vec![Syntax { uuid: Uuid(bits), ver_major: 1, ver_minor: 0 }];
        contexts.push(ctx);
        let r = Repr::new(2, drep, Body::Bind(Bind { contexts, ..Default::default() }));
        let b = r.emit();
        assert_eq!(b.len(), 16 + 12 + 2 * 44);
        let pkt = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(pkt.frag_len() as usize, b.len());
        assert_eq!(pkt.drep(), drep);
        let (back, n) = Repr::parse(&b).unwrap();
        assert_eq!(n, b.len());
        assert_eq!(back, r);
        if let Body::Bind(bb) = &back.body {
            assert_eq!(bb.contexts[1].transfer_syntaxes[0].btfn_bits(), Some(3));
            assert!(bb.contexts[1].transfer_syntaxes[0].is_btfn());
        }
    }
}

#[test]
fn bind_ack_with_auth_roundtrip() {
    for drep in [Drep::LE, Drep::BE] {
        let mut r = Repr::new(
            9,
            drep,
            Body::BindAck(BindAck {
                max_xmit_frag: 4280,
                max_recv_frag: 4280,
                assoc_group: 0x1234,
                sec_addr: b"49155".to_vec(),
                results: vec![
                    CtxResult { result: 0, reason: 0, transfer_syntax: Syntax::NDR },
                    CtxResult { result: 2, reason: 2, transfer_syntax: Syntax::default() },
                ],
            }),
        );
        r.auth = Some(AuthVerifier {
            auth_type: 10,
            auth_level: 6,
            pad_len: 0,
            context_id: 0,
            value: b"NTLMSSP\0\x02\0\0\0".to_vec(),
        });
        let b = r.emit();
        let (back, _) = Repr::parse(&b).unwrap();
        assert_eq!(back, r);
        let pkt = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(pkt.auth_len(), 12);
        assert_eq!(pkt.auth().unwrap().auth_level, 6);
    }
}

#[test]
fn request_with_object_and_auth_pad() {
    let mut r = Repr::new(
        5,
        Drep::BE,
        Body::Request(Request {
            alloc_hint: 3,
            context_id: 1,
            opnum: 7,
            object: Some(Uuid([7; 16])),
            stub: vec![1, 2, 3],
        }),
    );
    r.flags |= flags::OBJECT_UUID;
    r.auth = Some(AuthVerifier {
        auth_type: 10,
        auth_level: 5,
        pad_len: 1,
        context_id: 0,
        value: vec![9; 16],
    });
    let b = r.emit();
    let pkt = Packet::new_checked(&b[..]).unwrap();
    assert_eq!(pkt.stub().unwrap(), &[1, 2, 3]);
    assert_eq!(pkt.opnum(), Some(7));
    assert_eq!(pkt.object(), Some(Uuid([7; 16])));
    assert_eq!(Repr::parse(&b).unwrap().0, r);
}

#[test]
fn errors_name_the_problem() {
    let good =
        Repr::new(1, Drep::LE, Body::Fault(Fault { status: 0x1c010003, ..Default::default() }))
            .emit();
    assert!(matches!(Repr::parse(&good[..10]), Err(Error::Short { .. })));
    let mut lying = good.clone();
    lying[8] = 200; // frag_length beyond data
    assert!(matches!(Repr::parse(&lying), Err(Error::FragBeyondData { frag_len: 200, .. })));
    let mut small = good.clone();
    small[8] = 10;
    assert!(matches!(Repr::parse(&small), Err(Error::FragTooSmall { frag_len: 10 })));
    let mut auth = good.clone();
    auth[10] = 30;
    assert!(matches!(Repr::parse(&auth), Err(Error::AuthTooLong { .. })));
    let mut pt = good.clone();
    pt[2] = 42;
    assert_eq!(Repr::parse(&pt).unwrap_err(), Error::UnknownPType(42));
    assert!(Repr::parse(&pt).unwrap_err().to_string().contains("42"));
    let mut ver = good;
    ver[0] = 4;
    assert!(matches!(Repr::parse(&ver), Err(Error::Version { major: 4, .. })));
}
