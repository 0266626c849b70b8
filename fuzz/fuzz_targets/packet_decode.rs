//! Feeds arbitrary frames to `tracehound_wire::decode` / `decode_frame` under every link
//! type, pushes every fragment into one small-limit `Reassembler`, decodes reassembled
//! datagrams, and runs the lazy checksum checks and the view/Repr parsers. Checks the
//! contract: no panic, payload slices within the captured bytes, reassembler memory within
//! its limit.
//!
//! Input: a sequence of records `[len: u16 LE][link selector: u8][frame bytes (len)]`; the
//! last record takes what is left.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound_wire::defrag::{Limits, Reassembler};
use tracehound_wire::{decode_frame, ipv4, tcp, udp, Transport};

const LINKS: [u32; 12] = [0, 1, 12, 14, 101, 105, 108, 113, 127, 228, 229, 276];

fn check_transport(t: &Transport<'_>, captured: usize, src: &std::net::IpAddr, dst: &std::net::IpAddr) {
    match t {
        Transport::Tcp(s) => {
            assert!(s.payload.len() <= captured);
            assert!(s.payload.len() as u64 <= u64::from(s.payload_wire_len));
            let _ = s.checksum_ok_with(src, dst);
            assert!(s.opts.sack_len <= 4);
        }
        Transport::Udp(u) => {
            assert!(u.payload.len() <= captured);
            let _ = u.checksum_ok_with(src, dst);
        }
        Transport::Icmp(m) => {
            assert!(m.payload.len() <= captured);
            let _ = (m.is_error(), m.admin_prohibited());
        }
        Transport::Fragment { payload, .. } | Transport::Other { payload, .. } => {
            assert!(payload.len() <= captured)
        }
        Transport::Malformed { error, payload, .. } => {
            assert!(payload.len() <= captured);
            let _ = error.to_string();
        }
        Transport::None => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_datagrams: 8, max_bytes: 16 * 1024, max_ranges: 16, ..Limits::default() };
    let mut reasm = Reassembler::new(limits);
    let mut rest = data;
    let mut ts: i64 = 0;
    while rest.len() >= 3 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let sel = rest[2];
        rest = &rest[3..];
        let (frame, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        let link = LINKS[usize::from(sel) % LINKS.len()];
        // Some records claim a longer wire length (snap length), some a shorter one.
        let orig = match sel >> 6 {
            0 => frame.len() as u32,
            1 => u32::MAX,
            2 => (frame.len() as u32).saturating_add(u32::from(sel & 0x3f) * 97),
            _ => (frame.len() as u32) / 2,
        };
        ts = ts.saturating_add(i64::from(sel) * 1_000_000_000);
        match decode_frame(link, frame, orig) {
            Err(e) => {
                assert!(e.offset <= frame.len().max(64));
                let _ = e.to_string();
            }
            Ok(d) => {
                if let Some(ip) = d.net.ip() {
                    assert!(ip.header.len() <= frame.len());
                    check_transport(&d.transport, frame.len(), &ip.src, &ip.dst);
                    if let (Transport::Fragment { payload, .. }, Some(f)) = (d.transport, ip.fragment) {
                        if let Some(done) = reasm.push(ip.frag_key(), f.offset, f.more, payload, ts) {
                            assert!(done.data.len() <= limits.max_datagram_size);
                            let t = done.transport();
                            check_transport(&t, done.data.len(), &done.key.src, &done.key.dst);
                        }
                    }
                }
            }
        }
        // The views and Reprs on the same bytes, as if they were the IP / TCP / UDP layer.
        if let Ok(p) = ipv4::Packet::new_checked(frame) {
            let _ = ipv4::Repr::parse(&p);
            let _ = (p.verify_checksum(), p.options().count(), p.payload());
        }
        let (s, d) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        if let Ok(p) = tcp::Packet::new_checked(frame) {
            if let Ok(r) = tcp::Repr::parse(&p, &s, &d) {
                let mut buf = vec![0u8; r.buffer_len()];
                r.emit(&mut buf, &s, &d).unwrap();
            }
        }
        if let Ok(p) = udp::Packet::new_checked(frame) {
            let _ = udp::Repr::parse(&p, &s, &d);
        }
        let st = reasm.stats();
        assert!(st.bytes_in_use <= limits.max_bytes);
        assert!(st.in_progress <= limits.max_datagrams);
    }
    reasm.expire(i64::MAX);
    assert_eq!(reasm.stats().in_progress, 0);
});
