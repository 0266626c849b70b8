//! One streaming pass: frames from the capture reader are decoded, IP fragments reassembled,
//! and the result fed to the [`Engine`]. Frames that cannot be decoded are counted and the
//! first few are kept as issues with their frame numbers; the pass always carries on.

use std::collections::BTreeMap;

use serde::Serialize;
use tracehound_capture::Frame;
use tracehound_wire::{self as wire, defrag, Decoded, Net, Transport};

use crate::pkt::{Pkt, TcpHdr, L4};
use crate::{Config, Conversation, Engine, StreamHandler};

/// Decode problems kept with their frame numbers (the rest are only counted).
pub const MAX_ISSUES: usize = 200;

/// A frame that could not be (fully) decoded.
#[derive(Clone, Debug, Serialize)]
pub struct Issue {
    pub frame: u64,
    pub what: String,
}

/// Counters of what the decoder met.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DecodeStats {
    pub frames: u64,
    pub ip_packets: u64,
    pub arp: u64,
    /// Frames of other EtherTypes, by EtherType.
    pub other_ethertypes: BTreeMap<u16, u64>,
    /// Frames of link types we do not decode, by LINKTYPE value.
    pub unsupported_link_types: BTreeMap<u32, u64>,
    /// IP packets of other protocols (not TCP/UDP/ICMP), by protocol number.
    pub other_ip_protocols: BTreeMap<u8, u64>,
    pub decode_errors: u64,
    pub malformed_transport: u64,
    pub fragments: u64,
    pub reassembled: u64,
    pub frames_cut_by_snaplen: u64,
    pub issues: Vec<Issue>,
    pub issues_dropped: u64,
}

impl DecodeStats {
    fn issue(&mut self, frame: u64, what: String) {
        if self.issues.len() < MAX_ISSUES {
            self.issues.push(Issue { frame, what });
        } else {
            self.issues_dropped += 1;
        }
    }
}

/// Link types the decoder understands.
fn supported_link(link: u32) -> bool {
    matches!(link, 0 | 1 | 12 | 14 | 101 | 108 | 113 | 228 | 229 | 276)
}

/// Decoder, defragmenter and conversation engine, fed one frame at a time.
pub struct Pass {
    pub engine: Engine,
    defrag: defrag::Reassembler,
    decode: DecodeStats,
}

impl Pass {
    pub fn new(cfg: Config) -> Pass {
        Pass {
            engine: Engine::new(cfg),
            defrag: defrag::Reassembler::default(),
            decode: DecodeStats::default(),
        }
    }

    pub fn decode_stats(&self) -> &DecodeStats {
        &self.decode
    }

    pub fn defrag_stats(&self) -> defrag::Stats {
        self.defrag.stats()
    }

    /// Take conversations that have ended so far.
    pub fn take_finished(&mut self) -> Vec<Conversation> {
        self.engine.take_finished()
    }

    /// Conversations that have ended so far, moved out of a buffer that is kept for the next
    /// ones (see [`Engine::drain_finished`]).
    pub fn drain_finished(&mut self) -> std::vec::Drain<'_, Conversation> {
        self.engine.drain_finished()
    }

    /// End of input.
    pub fn finish(&mut self, h: &mut dyn StreamHandler) -> Vec<Conversation> {
        self.engine.finish(h)
    }

    /// End of input, a batch of at most `max` flows at a time (see
    /// [`Engine::finish_batch`]); call until it returns an empty batch.
    pub fn finish_batch(&mut self, h: &mut dyn StreamHandler, max: usize) -> Vec<Conversation> {
        self.engine.finish_batch(h, max)
    }

    pub fn frame(&mut self, f: &Frame<'_>, h: &mut dyn StreamHandler) {
        self.decode.frames += 1;
        if (f.data.len() as u64) < f.orig_len as u64 {
            self.decode.frames_cut_by_snaplen += 1;
        }
        let link = f.link.0;
        if !supported_link(link) {
            *self.decode.unsupported_link_types.entry(link).or_default() += 1;
            return;
        }
        let d = match wire::decode_frame(link, f.data, f.orig_len) {
            Ok(d) => d,
            Err(e) => {
                self.decode.decode_errors += 1;
                self.decode.issue(f.number, e.to_string());
                return;
            }
        };
        self.decoded(f, &d, h);
    }

    fn decoded(&mut self, f: &Frame<'_>, d: &Decoded<'_>, h: &mut dyn StreamHandler) {
        let ip = match &d.net {
            Net::Ipv4(m) | Net::Ipv6(m) => m,
            Net::Arp(_) => {
                self.decode.arp += 1;
                return;
            }
            Net::Other { ethertype, .. } => {
                *self.decode.other_ethertypes.entry(*ethertype).or_default() += 1;
                return;
            }
        };
        self.decode.ip_packets += 1;
        let ip_len = ip.payload_wire_len.saturating_add(ip.header.len() as u32);
        let base = |l4| Pkt {
            frame: f.number,
            ts: f.ts,
            src: ip.src,
            dst: ip.dst,
            ip_len,
            frame_len: f.orig_len,
            ttl: ip.ttl,
            ip_id: if ip.src.is_ipv4() { ip.ident as u16 } else { 0 },
            zero_ip_len: ip.total_len_zero,
            checksum: None,
            ip_checksum: None,
            l4,
            interface: f.interface,
        };
        let ip_check = || ipv4_header_ok(ip.header);
        match &d.transport {
            Transport::Tcp(t) => {
                let check = || t.checksum_ok(ip);
                let mut p = base(tcp_l4(t));
                p.checksum = Some(&check);
                if ip.src.is_ipv4() {
                    p.ip_checksum = Some(&ip_check);
                }
                self.engine.process_pkt(&p, h);
            }
            Transport::Udp(u) => {
                let check = || u.checksum_ok(ip);
                let mut p = base(L4::Udp { sport: u.sport, dport: u.dport, payload: u.payload });
                p.checksum = Some(&check);
                self.engine.process_pkt(&p, h);
            }
            Transport::Icmp(m) => {
                if let Some(q) = m.quoted.filter(|_| m.is_error()) {
                    if let Some((qs, qd)) = q.ports {
                        let l4 = L4::IcmpError {
                            v6: m.v6,
                            icmp_type: m.icmp_type,
                            code: m.code,
                            q_proto: q.proto,
                            q_src: q.src,
                            q_dst: q.dst,
                            q_sport: qs,
                            q_dport: qd,
                        };
                        self.engine.process_pkt(&base(l4), h);
                    }
                }
            }
            Transport::Fragment { payload, .. } => {
                self.decode.fragments += 1;
                let Some(fr) = ip.fragment else { return };
                if let Some(r) =
                    self.defrag.push(ip.frag_key(), fr.offset, fr.more, payload, f.ts.as_nanos())
                {
                    self.decode.reassembled += 1;
                    let t = r.transport();
                    let ip_len = (r.data.len() + ip.header.len()) as u32;
                    let l4 = match &t {
                        Transport::Tcp(t) => tcp_l4(t),
                        Transport::Udp(u) => {
                            L4::Udp { sport: u.sport, dport: u.dport, payload: u.payload }
                        }
                        Transport::Malformed { error, .. } => {
                            self.decode.malformed_transport += 1;
                            self.decode.issue(f.number, format!("reassembled datagram: {error}"));
                            return;
                        }
                        _ => return,
                    };
                    let check = || match &t {
                        Transport::Tcp(t) => t.checksum_ok_with(&ip.src, &ip.dst),
                        Transport::Udp(u) => u.checksum_ok_with(&ip.src, &ip.dst),
                        _ => None,
                    };
                    let mut p = base(l4);
                    p.ip_len = ip_len;
                    p.checksum = Some(&check);
                    self.engine.process_pkt(&p, h);
                }
            }
            Transport::Malformed { error, .. } => {
                self.decode.malformed_transport += 1;
                self.decode.issue(f.number, error.to_string());
            }
            Transport::Other { proto, .. } => {
                *self.decode.other_ip_protocols.entry(*proto).or_default() += 1;
            }
            Transport::None => {}
        }
    }
}

fn tcp_l4<'a>(t: &wire::TcpSeg<'a>) -> L4<'a> {
    L4::Tcp {
        sport: t.sport,
        dport: t.dport,
        hdr: TcpHdr {
            seq: t.seq,
            ack: t.ack,
            flags: t.flags.0,
            window: t.window,
            mss: t.opts.mss,
            wscale: t.opts.wscale,
            sack_permitted: t.opts.sack_permitted,
            sack_blocks: t.opts.sack_len,
            first_sack: t.opts.sack_blocks().first().copied(),
            wire_len: t.payload_wire_len,
        },
        payload: t.payload,
    }
}

/// The IPv4 header checksum is right (the ones' complement sum of the header is 0xffff).
fn ipv4_header_ok(h: &[u8]) -> bool {
    let mut sum: u32 = 0;
    for c in h.chunks(2) {
        let w = match c {
            [a, b] => u16::from_be_bytes([*a, *b]),
            [a] => u16::from_be_bytes([*a, 0]),
            _ => 0,
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum == 0xffff
}
