use std::net::{IpAddr, SocketAddr};

use serde::Serialize;
use tracehound_capture::Timestamp;

/// Index of a flow in order of creation (0-based), stable for one run.
pub type FlowId = u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

/// Direction of a packet or byte stream within a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Initiator to responder.
    Orig,
    /// Responder to initiator.
    Resp,
}

impl Dir {
    pub fn flip(self) -> Dir {
        match self {
            Dir::Orig => Dir::Resp,
            Dir::Resp => Dir::Orig,
        }
    }
    pub fn idx(self) -> usize {
        self as usize
    }
}

/// Text that is usually a fixed name or sentence (borrowed, no copy per use) and sometimes
/// made for the occasion: protocol names from tables, rule advice, and the like.
pub type Text = std::borrow::Cow<'static, str>;

/// Identity of a flow as handed to protocol analyzers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowInfo {
    pub id: FlowId,
    pub proto: Proto,
    /// The initiator (SYN sender; else the sender of the first packet seen).
    pub orig: SocketAddr,
    /// The responder.
    pub resp: SocketAddr,
}

impl FlowInfo {
    pub fn src(&self, dir: Dir) -> SocketAddr {
        match dir {
            Dir::Orig => self.orig,
            Dir::Resp => self.resp,
        }
    }
    pub fn dst(&self, dir: Dir) -> SocketAddr {
        self.src(dir.flip())
    }
}

/// Receives the application bytes of flows, in order, with retransmissions removed.
///
/// For TCP, each direction is a byte stream: `offset` counts bytes from the first sequence
/// number seen in that direction (the ISN + 1 when the SYN was seen). Data arrives exactly
/// once and in order; a part the capture never saw is announced with [`tcp_gap`] instead.
///
/// [`tcp_gap`]: StreamHandler::tcp_gap
pub trait StreamHandler {
    /// In-order payload bytes of one TCP direction.
    fn tcp_data(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
    );
    /// `len` bytes at `offset` of this direction were not captured and will never be delivered.
    fn tcp_gap(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        len: u64,
        frame: u64,
        ts: Timestamp,
    );
    /// The connection ended (FIN/RST both ways, timeout, or end of capture).
    fn tcp_end(&mut self, _flow: &FlowInfo, _ts: Timestamp) {}
    /// One UDP datagram (after IP reassembly).
    fn udp(&mut self, flow: &FlowInfo, dir: Dir, data: &[u8], frame: u64, ts: Timestamp);
}

/// Two handlers fed the same data (e.g. the DCE/RPC and the application analyzers).
impl<A: StreamHandler, B: StreamHandler> StreamHandler for (A, B) {
    fn tcp_data(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
    ) {
        self.0.tcp_data(flow, dir, offset, data, frame, ts);
        self.1.tcp_data(flow, dir, offset, data, frame, ts);
    }
    fn tcp_gap(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        len: u64,
        frame: u64,
        ts: Timestamp,
    ) {
        self.0.tcp_gap(flow, dir, offset, len, frame, ts);
        self.1.tcp_gap(flow, dir, offset, len, frame, ts);
    }
    fn tcp_end(&mut self, flow: &FlowInfo, ts: Timestamp) {
        self.0.tcp_end(flow, ts);
        self.1.tcp_end(flow, ts);
    }
    fn udp(&mut self, flow: &FlowInfo, dir: Dir, data: &[u8], frame: u64, ts: Timestamp) {
        self.0.udp(flow, dir, data, frame, ts);
        self.1.udp(flow, dir, data, frame, ts);
    }
}

/// A handler lent for a pass (e.g. one of two in a tuple, each owned elsewhere).
impl<H: StreamHandler + ?Sized> StreamHandler for &mut H {
    fn tcp_data(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
    ) {
        (**self).tcp_data(flow, dir, offset, data, frame, ts);
    }
    fn tcp_gap(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        len: u64,
        frame: u64,
        ts: Timestamp,
    ) {
        (**self).tcp_gap(flow, dir, offset, len, frame, ts);
    }
    fn tcp_end(&mut self, flow: &FlowInfo, ts: Timestamp) {
        (**self).tcp_end(flow, ts);
    }
    fn udp(&mut self, flow: &FlowInfo, dir: Dir, data: &[u8], frame: u64, ts: Timestamp) {
        (**self).udp(flow, dir, data, frame, ts);
    }
}

/// An optional handler: absent, it receives nothing (e.g. analyzers a command does not need).
impl<H: StreamHandler> StreamHandler for Option<H> {
    fn tcp_data(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
    ) {
        if let Some(h) = self {
            h.tcp_data(flow, dir, offset, data, frame, ts);
        }
    }
    fn tcp_gap(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        len: u64,
        frame: u64,
        ts: Timestamp,
    ) {
        if let Some(h) = self {
            h.tcp_gap(flow, dir, offset, len, frame, ts);
        }
    }
    fn tcp_end(&mut self, flow: &FlowInfo, ts: Timestamp) {
        if let Some(h) = self {
            h.tcp_end(flow, ts);
        }
    }
    fn udp(&mut self, flow: &FlowInfo, dir: Dir, data: &[u8], frame: u64, ts: Timestamp) {
        if let Some(h) = self {
            h.udp(flow, dir, data, frame, ts);
        }
    }
}

/// A handler that ignores everything (for `conversations`, which needs no protocol data).
pub struct NoHandler;
impl StreamHandler for NoHandler {
    fn tcp_data(&mut self, _: &FlowInfo, _: Dir, _: u64, _: &[u8], _: u64, _: Timestamp) {}
    fn tcp_gap(&mut self, _: &FlowInfo, _: Dir, _: u64, _: u64, _: u64, _: Timestamp) {}
    fn udp(&mut self, _: &FlowInfo, _: Dir, _: &[u8], _: u64, _: Timestamp) {}
}

/// Zeek-style connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ConnState {
    /// Connection attempt seen, no reply.
    S0,
    /// Established, not terminated.
    S1,
    /// Normal establishment and termination.
    SF,
    /// Connection attempt rejected (RST to SYN).
    REJ,
    /// Established, close attempt by originator seen (no reply from responder).
    S2,
    /// Established, close attempt by responder seen (no reply from originator).
    S3,
    /// Established, originator aborted (sent a RST).
    RSTO,
    /// Responder sent a RST.
    RSTR,
    /// Originator sent a SYN followed by a RST; never saw a SYN-ACK.
    RSTOS0,
    /// Responder sent a SYN-ACK followed by a RST; never saw a SYN from the originator.
    RSTRH,
    /// Originator sent a SYN followed by a FIN; never saw a SYN-ACK.
    SH,
    /// Responder sent a SYN-ACK followed by a FIN; never saw a SYN from the originator.
    SHR,
    /// No SYN seen, just midstream traffic.
    OTH,
}

/// Per-direction packet and byte counts.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct DirStats {
    pub packets: u64,
    /// IP bytes (the IP total length, or the captured length when that is 0), as Zeek's
    /// `ip_bytes`.
    pub bytes: u64,
    /// Frame bytes (each frame's original length, link header included), as Wireshark's
    /// conversation table counts them.
    pub frame_bytes: u64,
    /// Transport payload bytes, retransmissions included.
    pub payload_bytes: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// MSS option offered in this direction's SYN.
    pub mss: Option<u16>,
    /// Window scale offered in this direction's SYN.
    pub wscale: Option<u8>,
    pub sack_permitted: bool,
    /// SACK blocks were sent in this direction.
    pub sack_used: bool,
    /// Largest segment payload sent in this direction.
    pub max_segment: u32,
}

/// One Wireshark TCP analysis flag, as counted per conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TcpFlag {
    Retransmission,
    FastRetransmission,
    SpuriousRetransmission,
    OutOfOrder,
    LostSegment,
    AckLostSegment,
    DuplicateAck,
    ZeroWindow,
    ZeroWindowProbe,
    WindowFull,
    WindowUpdate,
    KeepAlive,
    KeepAliveAck,
    ReusedPorts,
}

impl TcpFlag {
    pub const ALL: [TcpFlag; 14] = [
        TcpFlag::Retransmission,
        TcpFlag::FastRetransmission,
        TcpFlag::SpuriousRetransmission,
        TcpFlag::OutOfOrder,
        TcpFlag::LostSegment,
        TcpFlag::AckLostSegment,
        TcpFlag::DuplicateAck,
        TcpFlag::ZeroWindow,
        TcpFlag::ZeroWindowProbe,
        TcpFlag::WindowFull,
        TcpFlag::WindowUpdate,
        TcpFlag::KeepAlive,
        TcpFlag::KeepAliveAck,
        TcpFlag::ReusedPorts,
    ];
    /// The JSON key / Wireshark field name without the `tcp.analysis.` prefix.
    pub fn name(self) -> &'static str {
        match self {
            TcpFlag::Retransmission => "retransmission",
            TcpFlag::FastRetransmission => "fast_retransmission",
            TcpFlag::SpuriousRetransmission => "spurious_retransmission",
            TcpFlag::OutOfOrder => "out_of_order",
            TcpFlag::LostSegment => "lost_segment",
            TcpFlag::AckLostSegment => "ack_lost_segment",
            TcpFlag::DuplicateAck => "duplicate_ack",
            TcpFlag::ZeroWindow => "zero_window",
            TcpFlag::ZeroWindowProbe => "zero_window_probe",
            TcpFlag::WindowFull => "window_full",
            TcpFlag::WindowUpdate => "window_update",
            TcpFlag::KeepAlive => "keep_alive",
            TcpFlag::KeepAliveAck => "keep_alive_ack",
            TcpFlag::ReusedPorts => "reused_ports",
        }
    }
}

/// A flagged event: which frame, which direction, and for retransmissions the time since the
/// original transmission (the RTO when it was a timeout).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FlagEvent {
    pub flag: TcpFlag,
    pub frame: u64,
    #[serde(skip)]
    pub dir: Dir,
    pub ts: Timestamp,
    /// Retransmissions: seconds since the segment was first sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rto: Option<f64>,
    /// Payload length of the flagged segment.
    pub len: u32,
    /// Seconds since the flow's previous packet (either direction): the silence before it.
    #[serde(skip)]
    pub idle: f64,
}

/// How the initiator was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleSource {
    /// The SYN (or SYN-ACK) showed who initiated.
    Syn,
    /// No handshake seen: the sender of the first packet is taken as initiator (uncertain).
    FirstPacket,
    /// No handshake seen: guessed from ports (the lower, well-known port is the responder).
    PortHeuristic,
}

/// An ICMP error that quoted a packet of this flow.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct IcmpError {
    pub frame: u64,
    pub ts: Timestamp,
    /// Who sent the ICMP error (a router or the destination host).
    pub from: IpAddr,
    pub v6: bool,
    pub icmp_type: u8,
    pub code: u8,
}

/// Everything known about one conversation at the end of the pass (or when it was evicted).
#[derive(Clone, Debug)]
pub struct Conversation {
    pub info: FlowInfo,
    pub role: RoleSource,
    pub state: Option<ConnState>,
    pub history: String,
    pub dirs: [DirStats; 2],
    pub first_frame: u64,
    pub last_frame: u64,
    pub start: Timestamp,
    pub end: Timestamp,
    /// SYN frames sent by the initiator (the first and any retransmissions).
    pub syn_frames: Vec<u64>,
    /// Frame of the SYN-ACK, if seen.
    pub synack_frame: Option<u64>,
    /// Frames carrying a RST, with who sent it.
    pub rst_frames: Vec<(u64, Dir)>,
    /// Handshake round trip: SYN to ACK of the SYN-ACK, seconds (Wireshark's initial RTT).
    pub handshake_rtt: Option<f64>,
    /// SYN to SYN-ACK, seconds.
    pub syn_to_synack: Option<f64>,
    /// Counts per TCP analysis flag, indexed like [`TcpFlag::ALL`].
    pub flag_counts: [u64; 14],
    /// The flagged events (bounded; see `events_dropped`).
    pub events: Vec<FlagEvent>,
    pub events_dropped: u64,
    pub icmp_errors: Vec<IcmpError>,
    /// Segments whose TCP/UDP checksum was wrong (checked on a sample; see docs).
    pub bad_checksums: u64,
    /// The same, per sending direction (indexed by [`Dir::idx`]).
    pub bad_checksum_dirs: [u64; 2],
    /// IPv4 headers whose checksum was wrong, per sending direction (same sample).
    pub bad_ip_checksums: [u64; 2],
    /// Packets with TTL (hop limit) 0, per sending direction: no router forwards them, so
    /// the trace was rewritten (anonymised, replayed) or captured inside a device.
    pub ttl_zero: [u64; 2],
    /// Segments larger than the MSS the peer offered (a TSO/GSO artifact on a sender capture,
    /// or a real MSS violation).
    pub oversize_segments: u64,
    /// IPv4 packets with total length 0 (TSO on the capturing host).
    pub zero_ip_len: u64,
    /// Extra copies of packets (see the engine's forensics: same IP ID, length, TCP header
    /// and options, back to back within a few milliseconds).
    pub duplicate_packets: u64,
    /// Packets that were copied (each counted once), and the most times one appeared.
    pub duplicated_packets: u64,
    pub duplicate_max_copies: u32,
    /// D-SACK blocks sent per direction (RFC 2883: "these bytes arrived twice").
    pub dsack_blocks: [u64; 2],
    /// Retransmissions (frames) the receiver showed to be spurious — the data had arrived:
    /// a D-SACK reported them, or a duplicate ACK came when everything the sender had sent
    /// was already acknowledged (it can only answer a duplicate copy). One per such ACK.
    pub spurious_retx: Vec<u64>,
    /// Every RST with what fits or does not fit its sender (bounded).
    pub rsts: Vec<crate::RstFact>,
    /// Segments at the same sequence number with different bytes (bounded).
    pub data_conflicts: Vec<crate::DataConflict>,
    /// Seconds of silence in the connection before its first RST (idle resets by middleboxes
    /// come after long silences).
    pub idle_before_rst: Option<f64>,
    /// TTL (hop limit) of this direction's ordinary packets (the last non-RST one).
    pub ttl: [Option<u8>; 2],
    /// A RST arrived with a TTL different from its direction's other packets: it was
    /// probably sent by a device on the path (firewall, load balancer), not by the peer.
    /// Holds (RST frame, RST TTL, usual TTL).
    pub rst_ttl_mismatch: Option<(u64, u8, u8)>,
    /// Nagle / delayed-ACK stalls: a small segment waited for the peer's delayed ACK before
    /// the sender could send more (see the engine docs).
    pub nagle: NagleStats,
    /// Zero-window periods per direction (the advertiser's direction): count and seconds.
    pub zero_window_periods: [u32; 2],
    pub zero_window_secs: [f64; 2],
    /// The capture interface of the flow's first packet ([`Pkt::interface`](crate::Pkt)).
    pub interface: u32,
}

/// Nagle / delayed-ACK stall statistics of one conversation.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NagleStats {
    pub stalls: u64,
    /// Total seconds senders waited for delayed ACKs.
    pub secs: f64,
    /// The longest single wait.
    pub max_secs: f64,
    /// Frames of the delayed ACKs (bounded).
    pub ack_frames: Vec<u64>,
    /// Which side was held back (index of the sending direction), per stall, same order.
    #[serde(skip)]
    pub sender_dirs: Vec<Dir>,
}

impl Conversation {
    /// The memory this record holds, in bytes: the record and what its lists and history
    /// point to (their allocated capacity). What memory budgets of kept records count.
    pub fn footprint(&self) -> usize {
        fn list<T>(v: &Vec<T>) -> usize {
            v.capacity() * std::mem::size_of::<T>()
        }
        std::mem::size_of::<Conversation>()
            + self.history.capacity()
            + list(&self.syn_frames)
            + list(&self.rst_frames)
            + list(&self.events)
            + list(&self.icmp_errors)
            + list(&self.spurious_retx)
            + list(&self.rsts)
            + list(&self.data_conflicts)
    }

    /// Gives back the spare room of the lists and the history (they grew by doubling while
    /// the flow was alive); for records kept until the end of a pass.
    pub fn shrink(&mut self) {
        self.history.shrink_to_fit();
        self.syn_frames.shrink_to_fit();
        self.rst_frames.shrink_to_fit();
        self.events.shrink_to_fit();
        self.icmp_errors.shrink_to_fit();
        self.spurious_retx.shrink_to_fit();
        self.rsts.shrink_to_fit();
        self.data_conflicts.shrink_to_fit();
    }

    pub fn flag(&self, f: TcpFlag) -> u64 {
        self.flag_counts[f as usize]
    }
    pub fn packets(&self) -> u64 {
        self.dirs[0].packets + self.dirs[1].packets
    }
    /// IP bytes, both directions (Zeek's `orig_ip_bytes + resp_ip_bytes`).
    pub fn bytes(&self) -> u64 {
        self.dirs[0].bytes + self.dirs[1].bytes
    }
    /// Frame bytes, both directions (Wireshark's conversation table).
    pub fn frame_bytes(&self) -> u64 {
        self.dirs[0].frame_bytes + self.dirs[1].frame_bytes
    }
    pub fn duration(&self) -> f64 {
        self.end.secs_since(self.start)
    }
}
