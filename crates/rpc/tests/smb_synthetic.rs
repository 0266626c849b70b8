//! SMB2 named-pipe paths built by hand (MS-SMB2 2.2 layouts): TREE_CONNECT IPC$, CREATE a
//! pipe, WRITE + READ, IOCTL FSCTL_PIPE_TRANSCEIVE, a 2 MiB file write skipped without
//! buffering, all split into 1460-byte segments. The real captures (tests/captures.rs,
//! tests/lab.rs) cover what Windows and Samba send; this covers the transceive and
//! large-message paths on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use tracehound_flows::{Dir, FlowInfo, Proto, StreamHandler, Timestamp};
use tracehound_rpc::ndr::Drep;
use tracehound_rpc::pdu::{
    Bind, BindAck, Body, Context, CtxResult, Repr, Request, Response, Syntax,
};
use tracehound_rpc::uuid::Uuid;
use tracehound_rpc::{Outcome, RpcAnalyzer};

const LSA: Uuid = Uuid::from_str_const("12345778-1234-abcd-ef00-0123456789ab");
const FID: [u8; 16] = [7; 16];

fn hdr(cmd: u16, msg_id: u64, tree: u32, response: bool) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\xfeSMB");
    h[4..6].copy_from_slice(&64u16.to_le_bytes());
    h[12..14].copy_from_slice(&cmd.to_le_bytes());
    h[16..20].copy_from_slice(&u32::from(response).to_le_bytes());
    h[24..32].copy_from_slice(&msg_id.to_le_bytes());
    h[36..40].copy_from_slice(&tree.to_le_bytes());
    h
}
fn nb(msg: Vec<u8>) -> Vec<u8> {
    let mut v = (msg.len() as u32).to_be_bytes().to_vec();
    v[0] = 0;
    v.extend(msg);
    v
}
fn u16s(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}
fn body(h: Vec<u8>, size: usize, fields: &[(usize, &[u8])], tail: &[u8]) -> Vec<u8> {
    let mut m = h;
    let mut b = vec![0u8; size];
    for (at, v) in fields {
        b[*at..*at + v.len()].copy_from_slice(v);
    }
    m.extend(b);
    m.extend_from_slice(tail);
    nb(m)
}

#[test]
fn smb2_pipe_write_read_and_transceive() {
    let flow = FlowInfo {
        id: 3,
        proto: Proto::Tcp,
        orig: "10.0.0.1:50001".parse().unwrap(),
        resp: "10.0.0.2:445".parse().unwrap(),
    };
    let mut an = RpcAnalyzer::default();
    let mut frame = 0u64;
    let mut off = [0u64; 2];
    let mut send = |an: &mut RpcAnalyzer, dir: Dir, bytes: &[u8]| -> u64 {
        let mut last = 0;
        for c in bytes.chunks(1460) {
            frame += 1;
            an.tcp_data(&flow, dir, off[dir.idx()], c, frame, Timestamp(frame as i64 * 1_000_000));
            off[dir.idx()] += c.len() as u64;
            last = frame;
        }
        last
    };
    let path = u16s("\\\\srv\\IPC$");
    send(
        &mut an,
        Dir::Orig,
        &body(
            hdr(3, 1, 0, false),
            8,
            &[
                (0, &9u16.to_le_bytes()),
                (4, &72u16.to_le_bytes()),
                (6, &(path.len() as u16).to_le_bytes()),
            ],
            &path,
        ),
    );
    send(
        &mut an,
        Dir::Resp,
        &body(hdr(3, 1, 5, true), 16, &[(0, &16u16.to_le_bytes()), (2, &[2])], &[]),
    );
    let name = u16s("lsarpc");
    send(
        &mut an,
        Dir::Orig,
        &body(
            hdr(5, 2, 5, false),
            56,
            &[
                (0, &57u16.to_le_bytes()),
                (44, &120u16.to_le_bytes()),
                (46, &(name.len() as u16).to_le_bytes()),
            ],
            &name,
        ),
    );
    send(
        &mut an,
        Dir::Resp,
        &body(hdr(5, 2, 5, true), 88, &[(0, &89u16.to_le_bytes()), (64, &FID)], &[]),
    );
    // A 2 MiB write to some other file in between: skipped as it streams past.
    let big = vec![0x5au8; 2 << 20];
    send(
        &mut an,
        Dir::Orig,
        &body(
            hdr(9, 3, 5, false),
            48,
            &[
                (0, &49u16.to_le_bytes()),
                (2, &112u16.to_le_bytes()),
                (4, &(big.len() as u32).to_le_bytes()),
                (16, &[9; 16]),
            ],
            &big,
        ),
    );
    // bind via WRITE, bind_ack via READ.
    let ctx = Context {
        id: 0,
        abstract_syntax: Syntax { uuid: LSA, ver_major: 0, ver_minor: 0 },
        transfer_syntaxes: vec![Syntax::NDR],
    };
    let bind =
        Repr::new(1, Drep::LE, Body::Bind(Bind { contexts: vec![ctx], ..Default::default() }))
            .emit();
    send(
        &mut an,
        Dir::Orig,
        &body(
            hdr(9, 4, 5, false),
            48,
            &[
                (0, &49u16.to_le_bytes()),
                (2, &112u16.to_le_bytes()),
                (4, &(bind.len() as u32).to_le_bytes()),
                (16, &FID),
            ],
            &bind,
        ),
    );
    send(
        &mut an,
        Dir::Orig,
        &body(
            hdr(8, 5, 5, false),
            49,
            &[(0, &49u16.to_le_bytes()), (4, &4280u32.to_le_bytes()), (16, &FID)],
            &[],
        ),
    );
    let ack = Repr::new(
        1,
        Drep::LE,
        Body::BindAck(BindAck {
            max_xmit_frag: 4280,
            max_recv_frag: 4280,
            assoc_group: 1,
            sec_addr: b"\\PIPE\\lsass".to_vec(),
            results: vec![CtxResult { result: 0, reason: 0, transfer_syntax: Syntax::NDR }],
        }),
    )
    .emit();
    send(
        &mut an,
        Dir::Resp,
        &body(
            hdr(8, 5, 5, true),
            16,
            &[(0, &17u16.to_le_bytes()), (2, &[80]), (4, &(ack.len() as u32).to_le_bytes())],
            &ack,
        ),
    );
    // A call via IOCTL FSCTL_PIPE_TRANSCEIVE.
    let req = Repr::new(
        2,
        Drep::LE,
        Body::Request(Request { opnum: 44, stub: vec![1; 24], ..Default::default() }),
    )
    .emit();
    let rf = send(
        &mut an,
        Dir::Orig,
        &body(
            hdr(11, 6, 5, false),
            56,
            &[
                (0, &57u16.to_le_bytes()),
                (4, &0x0011_c017u32.to_le_bytes()),
                (8, &FID),
                (24, &120u32.to_le_bytes()),
                (28, &(req.len() as u32).to_le_bytes()),
            ],
            &req,
        ),
    );
    let mut stub = vec![0u8; 20];
    stub.extend_from_slice(&0xc000_0022u32.to_le_bytes());
    let resp =
        Repr::new(2, Drep::LE, Body::Response(Response { stub, ..Default::default() })).emit();
    let pf = send(
        &mut an,
        Dir::Resp,
        &body(
            hdr(11, 6, 5, true),
            48,
            &[
                (0, &49u16.to_le_bytes()),
                (4, &0x0011_c017u32.to_le_bytes()),
                (8, &FID),
                (32, &112u32.to_le_bytes()),
                (36, &(resp.len() as u32).to_le_bytes()),
            ],
            &resp,
        ),
    );
    an.tcp_end(&flow, Timestamp(0));
    let r = an.finish();
    assert!(r.issues.is_empty(), "{:?}", r.issues);
    assert_eq!(r.stats.buffer_overflows, 0);
    assert_eq!(r.calls.len(), 1, "{:?}", r.calls);
    let c = &r.calls[0];
    assert_eq!(
        (c.frame, c.response_frame, c.opnum, c.outcome),
        // LsarOpenPolicy2 answered STATUS_ACCESS_DENIED: the operation failed.
        (rf, Some(pf), Some(44), Outcome::Error)
    );
    assert_eq!(
        (c.pipe.as_deref(), c.uuid.as_deref()),
        (Some("lsarpc"), Some("12345778-1234-abcd-ef00-0123456789ab"))
    );
    assert_eq!((c.return_code, c.status_code), (Some(0xc000_0022), Some(0xc000_0022)));
    // The bind_ack's secondary address (the pipe) is an endpoint handed out.
    assert!(
        r.endpoints
            .iter()
            .any(|e| e.source == "bind_ack" && e.pipe.as_deref() == Some("\\PIPE\\lsass")),
        "{:?}",
        r.endpoints
    );
}
