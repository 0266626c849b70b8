use super::*;

fn cookie(n: u8) -> Cookie {
    Cookie([n; 16])
}

/// CONN/A1 as MS-RPCH 2.2.4.2 lays it out: 76 bytes, flags none, 4 commands.
fn conn_a1() -> Repr {
    Repr::new(
        rts_flags::NONE,
        vec![
            Command::Version(1),
            Command::Cookie(cookie(1)),
            Command::Cookie(cookie(2)),
            Command::ReceiveWindowSize(262_144),
        ],
    )
}

#[test]
fn test_emit_conn_a1_layout() {
    let b = conn_a1().emit();
    assert_eq!(b.len(), 76);
    assert_eq!(&b[..4], &[5, 0, 20, 3]);
    assert_eq!(&b[4..8], &[0x10, 0, 0, 0]);
    assert_eq!(u16::from_le_bytes([b[8], b[9]]), 76);
    assert_eq!(&b[16..20], &[0, 0, 4, 0]); // flags 0, 4 commands
    assert_eq!(&b[20..28], &[6, 0, 0, 0, 1, 0, 0, 0]); // Version 1
    assert_eq!(&b[28..32], &[3, 0, 0, 0]); // Cookie
    assert_eq!(&b[68..76], &[0, 0, 0, 0, 0, 0, 4, 0]); // ReceiveWindowSize 262144
}

#[test]
fn test_parse_every_command_both_orders() {
    let all = vec![
        Command::ReceiveWindowSize(65_536),
        Command::FlowControlAck {
            bytes_received: 7,
            available_window: 9,
            channel_cookie: cookie(3),
        },
        Command::ConnectionTimeout(120_000),
        Command::Cookie(cookie(4)),
        Command::ChannelLifetime(1 << 30),
        Command::ClientKeepalive(300_000),
        Command::Version(1),
        Command::Empty,
        Command::Padding(vec![0xaa; 5]),
        Command::NegativeAnce,
        Command::Ance,
        Command::ClientAddress("10.1.2.3".parse().unwrap()),
        Command::ClientAddress("fe80::1".parse().unwrap()),
        Command::AssociationGroupId(cookie(5)),
        Command::Destination(destination::OUT_PROXY),
        Command::PingTrafficSentNotify(42),
    ];
    for drep in [Drep::LE, Drep::BE] {
        let r = Repr { drep, call_id: 0, flags: rts_flags::OTHER_CMD, commands: all.clone() };
        let b = r.emit();
        let (back, n) = Repr::parse(&b).unwrap();
        assert_eq!(n, b.len());
        assert_eq!(back, r);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.num_commands() as usize, all.len());
        assert_eq!(p.commands().count(), all.len());
        let types: Vec<String> =
            p.commands().map(|c| c.unwrap().command_type().to_string()).collect();
        assert_eq!(types[1], "FlowControlAck");
        assert_eq!(types[15], "PingTrafficSentNotify");
    }
}

#[test]
fn test_sequences_named() {
    let c = |v| Command::Version(v);
    let ck = Command::Cookie(cookie(1));
    let cases: Vec<(u16, Vec<Command>, &str)> = vec![
        (0, conn_a1().commands, "CONN/A1"),
        (
            rts_flags::OUT_CHANNEL,
            vec![
                c(1),
                ck.clone(),
                ck.clone(),
                Command::ChannelLifetime(1),
                Command::ReceiveWindowSize(1),
            ],
            "CONN/A2",
        ),
        (0, vec![Command::ConnectionTimeout(120_000)], "CONN/A3"),
        (
            0,
            vec![
                c(1),
                ck.clone(),
                ck.clone(),
                Command::ChannelLifetime(1),
                Command::ClientKeepalive(1),
                Command::AssociationGroupId(cookie(2)),
            ],
            "CONN/B1",
        ),
        (
            rts_flags::IN_CHANNEL,
            vec![
                c(1),
                ck.clone(),
                ck.clone(),
                Command::ReceiveWindowSize(1),
                Command::ConnectionTimeout(1),
                Command::AssociationGroupId(cookie(2)),
                Command::ClientAddress("10.0.0.1".parse().unwrap()),
            ],
            "CONN/B2",
        ),
        (0, vec![Command::ReceiveWindowSize(1), c(1)], "CONN/B3"),
        (0, vec![c(1), Command::ReceiveWindowSize(1), Command::ConnectionTimeout(1)], "CONN/C2"),
        (rts_flags::OTHER_CMD, vec![Command::ClientKeepalive(1)], "keep-alive"),
        (
            rts_flags::OTHER_CMD,
            vec![
                Command::Destination(3),
                Command::FlowControlAck {
                    bytes_received: 1,
                    available_window: 2,
                    channel_cookie: cookie(1),
                },
            ],
            "flow-control ack",
        ),
        (rts_flags::PING, vec![], "ping"),
        (rts_flags::ECHO, vec![], "echo"),
        (rts_flags::RECYCLE_CHANNEL, vec![c(1)], "channel recycle"),
        (rts_flags::OTHER_CMD, vec![Command::Empty], "other RTS"),
    ];
    for (flags, cmds, name) in cases {
        let r = Repr::new(flags, cmds);
        let (back, _) = Repr::parse(&r.emit()).unwrap();
        assert_eq!(back.sequence().name(), name, "{back:?}");
    }
    assert_eq!(Sequence::ConnC.name_on_server_leg(), "CONN/C1");
    assert_eq!(rts_flags::text(0x0018 | 0x0100), "in_channel|out_channel|0x0100");
}

#[test]
fn test_bad_input_says_what_and_where() {
    let b = conn_a1().emit();
    // Truncated anywhere: an error, never a panic.
    for cut in 0..b.len() {
        assert!(Repr::parse(&b[..cut]).is_err(), "cut {cut}");
    }
    // NumberOfCommands one more than present.
    let mut more = b.clone();
    more[18] = 5;
    let e = Repr::parse(&more).unwrap_err();
    assert!(matches!(e, Error::Short { what: "RTS CommandType", need: 80, have: 76 }), "{e}");
    // An unknown command type names itself and its offset.
    let mut unk = b.clone();
    unk[68] = 0x63;
    let e = Repr::parse(&unk).unwrap_err();
    assert_eq!(
        e.to_string(),
        "RTS CommandType at offset 68: unknown command type (length unknown, cannot skip)"
    );
    // A huge padding count is rejected, not allocated.
    let r = Repr::new(0, vec![Command::Padding(vec![0; 4])]);
    let mut pad = r.emit();
    pad[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(Repr::parse(&pad), Err(Error::Short { what: "Padding bytes", .. })));
    // Trailing bytes after the commands.
    let mut tail = b.clone();
    tail.extend([0; 4]);
    tail[8] = 80;
    assert!(matches!(Repr::parse(&tail), Err(Error::Field { what: "RTS PDU", at: 76, .. })));
    // Not RTS.
    let mut not = b;
    not[2] = 0;
    assert!(check_header(&not).is_err());
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// Real RTS PDUs from tests/fixtures/lab/rpch-http.pcap (lab/rpch/rpch-tunnel.sh): impacket's
/// ncacn_http client sent CONN/A1 (frame 17, OUT channel) and CONN/B1 (frame 18, IN
/// channel); the lab proxy peer answered CONN/A3 + CONN/C2 (frame 19, after the HTTP head).
#[test]
fn test_real_pdus_from_the_lab_capture() {
    let a1 = unhex("05001403100000004c00000000000000000004000600000001000000030000003c80320046a665391f46763a35de242d03000000aa19fe0c7855794684054e7075c4e03d0000000000000400");
    let b1 = unhex("05001403100000006800000000000000000006000600000001000000030000003c80320046a665391f46763a35de242d030000003aa42d3708dd4f055ba673209099d230040000000000004005000000e09304000c000000908d562113ac7c074c5cd25b65f00641");
    let a3c2 = unhex("05001403100000001c000000000000000000010002000000c0d4010005001403100000002c00000000000000000003000600000001000000000000000000010002000000c0d40100");
    let (ra1, n) = Repr::parse(&a1).unwrap();
    assert_eq!((n, ra1.sequence()), (76, Sequence::ConnA1));
    let (rb1, n) = Repr::parse(&b1).unwrap();
    assert_eq!((n, rb1.sequence()), (104, Sequence::ConnB1));
    // Both name the same virtual connection cookie (their first Cookie command).
    assert_eq!(ra1.commands[1], rb1.commands[1]);
    assert_eq!(
        ra1.commands[1],
        Command::Cookie(Cookie([
            0x3c, 0x80, 0x32, 0x00, 0x46, 0xa6, 0x65, 0x39, 0x1f, 0x46, 0x76, 0x3a, 0x35, 0xde,
            0x24, 0x2d
        ]))
    );
    assert_eq!(rb1.commands[3], Command::ChannelLifetime(1 << 30));
    assert_eq!(rb1.commands[4], Command::ClientKeepalive(300_000));
    let (ra3, n) = Repr::parse(&a3c2).unwrap();
    assert_eq!(
        (n, ra3.sequence(), &ra3.commands[..]),
        (28, Sequence::ConnA3, &[Command::ConnectionTimeout(120_000)][..])
    );
    let (rc2, m) = Repr::parse(&a3c2[n..]).unwrap();
    assert_eq!((m, rc2.sequence().name()), (44, "CONN/C2"));
    // Emit gives back the bytes on the wire.
    assert_eq!(ra1.emit(), a1);
    assert_eq!(rb1.emit(), b1);
    assert_eq!([ra3.emit(), rc2.emit()].concat(), a3c2);
}
