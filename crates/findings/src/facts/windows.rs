//! What a Windows trace (ETL / NetMon) carried beyond packets, for `windows.packet_dropped`
//! (`rules::windows`, which re-exports these types).

use serde::Serialize;
use tracehound_flows::Proto;
use tracehound_wintrace::{Direction, WinStats};
use tracehound_wire::{Net, Transport};

use crate::FlowRef;

/// Drops kept in [`WindowsFacts::drops`] (all are counted in `drops_total`).
pub const MAX_DROPS: usize = 10_000;

/// A packet a Windows component dropped (owned summary of a PktMon drop event).
#[derive(Clone, Debug, Serialize)]
pub struct WindowsDrop {
    /// UTC seconds.
    pub ts: f64,
    /// The component's name, e.g. `TCPIP (component 10)`.
    pub component: String,
    pub component_id: u16,
    pub reason: u32,
    /// e.g. `INET_EndpointNotFound (1204)`.
    pub reason_name: String,
    pub location: u32,
    /// `inbound`, `outbound` or `unknown`.
    pub direction: &'static str,
    /// The dropped packet's TCP / UDP flow, when its logged headers decode.
    pub flow: Option<FlowRef>,
    /// The packet's length (PktMon logs at most its first bytes).
    pub orig_len: u32,
}

/// What a Windows trace (ETL / NetMon) carried beyond packets that the rules use.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WindowsFacts {
    /// The first [`MAX_DROPS`] drops.
    pub drops: Vec<WindowsDrop>,
    /// Every drop event of the trace.
    pub drops_total: u64,
}

impl WindowsFacts {
    /// The summary of a Windows reader's statistics (call after the pass ended).
    pub fn from_stats(st: &WinStats) -> WindowsFacts {
        let drops: Vec<WindowsDrop> = st
            .drops
            .iter()
            .take(MAX_DROPS)
            .map(|d| WindowsDrop {
                ts: d.ts_ns as f64 / 1e9,
                component: d.component.clone(),
                component_id: d.component_id,
                reason: d.reason,
                reason_name: d.reason_name.clone(),
                location: d.location,
                direction: match d.direction {
                    Direction::Inbound => "inbound",
                    Direction::Outbound => "outbound",
                    Direction::Unknown => "unknown",
                },
                flow: flow_of(d.link, &d.data),
                orig_len: d.orig_len,
            })
            .collect();
        let drops_total = st.drops_total.max(drops.len() as u64);
        WindowsFacts { drops, drops_total }
    }
}

/// The TCP / UDP flow of a (possibly cut) packet, from its headers.
pub fn flow_of(link: u32, data: &[u8]) -> Option<FlowRef> {
    let d = tracehound_wire::decode(link, data).ok()?;
    let ip = match d.net {
        Net::Ipv4(m) | Net::Ipv6(m) => m,
        _ => return None,
    };
    let (proto, sport, dport) = match d.transport {
        Transport::Tcp(t) => (Proto::Tcp, t.sport, t.dport),
        Transport::Udp(u) => (Proto::Udp, u.sport, u.dport),
        _ => return None,
    };
    Some(FlowRef { proto, src: ip.src, sport, dst: ip.dst, dport })
}
