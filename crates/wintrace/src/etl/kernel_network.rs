//! Microsoft-Windows-Kernel-Network ({7dd42a49-5329-4832-8dfd-43d979153a88}): the TCP/IP
//! connect, accept, send and receive events a `netsh trace` scenario records, which say
//! which process owns a connection. Layouts (version 0, per the provider manifest as dumped
//! in jdu2600/Windows10EtwEvents `manifest/Microsoft-Windows-Kernel-Network.tsv`):
//!
//! * IPv4 — 10 TCP send, 11 TCP receive, 12 TCP connect, 13 disconnect, 14 retransmit,
//!   15 TCP accept, 16 reconnect, 18 copy, 42 UDP send, 43 UDP receive: PID (u32), size
//!   (u32), daddr (UInt32), saddr (UInt32), dport (u16), sport (u16), then fields not used
//!   here (different per event).
//! * IPv6 — 26, 27, 28, 29, 30, 31, 32, 34, 58, 59 (same meanings): PID, size, daddr
//!   (16 bytes), saddr (16 bytes), dport, sport, ...
//! * 17 / 49 (connection attempt failed: Proto, FailureCode) carry no endpoint: counted.
//!
//! Addresses are in network byte order, and so are the ports (as in the kernel's TcpIp
//! events). "s" is the local end, "d" the remote one. Each (pid, local, remote) is recorded
//! once, up to [`Limits::max_processes`](crate::Limits::max_processes) of them.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::Ctx;
use crate::le::{slice_at, u32_at};
use crate::{Guid, ProcessInfo};

pub const PROVIDER: Guid =
    Guid::new(0x7dd4_2a49, 0x5329, 0x4832, [0x8d, 0xfd, 0x43, 0xd9, 0x79, 0x15, 0x3a, 0x88]);

/// Connections already recorded.
#[derive(Default)]
pub struct KernelNetwork {
    seen: HashSet<(u32, SocketAddr, SocketAddr)>,
}

fn port(p: &[u8], at: usize) -> Option<u16> {
    let b = slice_at(p, at, 2)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

impl KernelNetwork {
    pub(crate) fn event(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: u16,
        version: u8,
        p: &[u8],
        out: &mut Vec<ProcessInfo>,
    ) {
        let alen = match (id, version) {
            (10..=16 | 18 | 42 | 43, 0) => 4,
            (26..=32 | 34 | 58 | 59, 0) => 16,
            _ => return ctx.not_packet(&format!("Kernel-Network event {id} version {version}")),
        };
        ctx.not_packet("Kernel-Network connection event");
        let Some(pid) = u32_at(p, 0) else {
            return ctx.damaged("Kernel-Network event shorter than its fields");
        };
        let (Some(d), Some(s)) = (slice_at(p, 8, alen), slice_at(p, 8 + alen, alen)) else {
            return ctx.damaged("Kernel-Network event shorter than its addresses");
        };
        let (Some(dport), Some(sport)) = (port(p, 8 + 2 * alen), port(p, 10 + 2 * alen)) else {
            return ctx.damaged("Kernel-Network event shorter than its ports");
        };
        let ip = |b: &[u8]| -> Option<IpAddr> {
            Some(if alen == 4 {
                IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(b).ok()?))
            } else {
                IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(b).ok()?))
            })
        };
        let (Some(dip), Some(sip)) = (ip(d), ip(s)) else { return };
        let local = SocketAddr::new(sip, sport);
        let remote = SocketAddr::new(dip, dport);
        if out.len() >= ctx.limits.max_processes || !self.seen.insert((pid, local, remote)) {
            return;
        }
        out.push(ProcessInfo::new(pid, String::new(), Some(local), Some(remote)));
    }
}
