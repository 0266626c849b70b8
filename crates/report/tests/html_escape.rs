//! Hostile input: text from the capture reaches the page only escaped. The capture is made
//! here: a DNS query and its SERVFAIL answer whose question name is an HTML/script injection
//! (DNS labels may hold any byte; tracehound keeps printable ones as they are and writes a
//! space as `\032`), so the name appears in the finding's title, explanation and evidence.

mod html_common;

use html_common::*;

const EVIL: &[u8] = b"<script>alert(1)</script><img onerror=x>";

fn ip_checksum(h: &[u8]) -> u16 {
    let mut s: u32 = h.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// Ethernet + IPv4 + UDP around `payload`.
fn frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    let total = (20 + 8 + payload.len()) as u16;
    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0];
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let c = ip_checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]); // no UDP checksum (IPv4)
    f.extend_from_slice(payload);
    f
}

fn dns(id: u16, flags: u16, name: &[u8]) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    m.push(name.len() as u8);
    m.extend_from_slice(name);
    m.extend_from_slice(b"\x04test\x00\x00\x01\x00\x01");
    m
}

fn pcap(frames: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut p = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    p.extend_from_slice(&65535u32.to_le_bytes());
    p.extend_from_slice(&1u32.to_le_bytes());
    for (usec, f) in frames {
        p.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        p.extend_from_slice(&usec.to_le_bytes());
        p.extend_from_slice(&(f.len() as u32).to_le_bytes());
        p.extend_from_slice(&(f.len() as u32).to_le_bytes());
        p.extend_from_slice(f);
    }
    p
}

#[test]
fn text_from_the_capture_is_escaped() {
    let (c, s) = ([10, 9, 0, 1], [10, 9, 0, 2]);
    let cap = pcap(&[
        (1000, frame(c, s, 40000, 53, &dns(0x4242, 0x0100, EVIL))),
        (2000, frame(s, c, 53, 40000, &dns(0x4242, 0x8182, EVIL))),
    ]);
    let dir = tmp("escape");
    let path = dir.join("evil-dns.pcap");
    std::fs::write(&path, cap).expect("write capture");
    let page = render(std::slice::from_ref(&path), &dir.join("evil-dns.html"));
    let ids = findings(&[path]);
    assert!(ids.iter().any(|(id, _)| id == "dns.failure"), "no dns.failure: {ids:?}");
    assert!(!page.contains("<script>alert"), "unescaped script from the capture");
    assert!(!page.contains("<img"), "unescaped tag from the capture");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img\\032onerror=x&gt;"),
        "the name is shown, escaped"
    );
    // Exactly the page's own two scripts (error hook, behaviour).
    assert_eq!(page.matches("<script>").count(), 2);
}
