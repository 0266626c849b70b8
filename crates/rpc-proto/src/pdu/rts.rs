//! RTS PDUs of RPC over HTTP v2 (ncacn_http, MS-RPCH 2.2.3.6 and 2.2.4).
//!
//! An RTS PDU (PTYPE 20) is a connection-oriented PDU that the client, the RPC over HTTP
//! proxies and the server exchange to build and keep a *virtual connection* out of two
//! HTTP channels: the IN channel (`RPC_IN_DATA`, client to server) and the OUT channel
//! (`RPC_OUT_DATA`, server to client). Layout (the integer byte order comes from the
//! data representation label, as in every CO PDU; Windows always sends little-endian):
//!
//! ```text
//!  0 common header (16 bytes): rpc_vers 5, minor 0, PTYPE 20, pfc_flags 0x03, drep,
//!                              frag_length, auth_length 0, call_id 0
//! 16 Flags u16 (RTS_FLAG_*)      18 NumberOfCommands u16
//! 20 commands: CommandType u32, then the command's fixed content
//! ```
//!
//! | type | command               | content                                            |
//! |------|-----------------------|----------------------------------------------------|
//! | 0    | ReceiveWindowSize     | u32                                                |
//! | 1    | FlowControlAck        | BytesReceived u32, AvailableWindow u32, cookie 16  |
//! | 2    | ConnectionTimeout     | u32 (ms)                                           |
//! | 3    | Cookie                | 16 bytes                                           |
//! | 4    | ChannelLifetime       | u32 (bytes)                                        |
//! | 5    | ClientKeepalive       | u32 (ms)                                           |
//! | 6    | Version               | u32                                                |
//! | 7    | Empty                 | -                                                  |
//! | 8    | Padding               | ConformanceCount u32, that many bytes              |
//! | 9    | NegativeANCE          | -                                                  |
//! | 10   | ANCE                  | -                                                  |
//! | 11   | ClientAddress         | AddressType u32 (0 IPv4, 1 IPv6), 4/16 bytes, 12 pad |
//! | 12   | AssociationGroupId    | 16 bytes                                           |
//! | 13   | Destination           | u32 (FDClient 0, FDInProxy 1, FDServer 2, FDOutProxy 3) |
//! | 14   | PingTrafficSentNotify | u32                                                |
//!
//! A command type outside this table cannot be skipped (its length is unknown): parsing
//! stops there with an error naming the type and offset.
//!
//! The well-known PDUs are recognised by their flags and command sequence ([`Sequence`]):
//! CONN/A1..C2 build the virtual connection, keep-alive / ping / flow-control ack keep it
//! going, the RECYCLE_CHANNEL ones replace a channel.
//!
//! [`Packet`] is a checked zero-copy view; [`Repr`] the owned form that parses and emits:
//!
//! ```
//! use tracehound_rpc_proto::pdu::rts::{Command, Cookie, Repr, Sequence};
//! let a1 = Repr::new(0, vec![
//!     Command::Version(1),
//!     Command::Cookie(Cookie([1; 16])),
//!     Command::Cookie(Cookie([2; 16])),
//!     Command::ReceiveWindowSize(262_144),
//! ]);
//! let bytes = a1.emit();
//! assert_eq!(bytes.len(), 76);
//! let (back, used) = Repr::parse(&bytes).unwrap();
//! assert_eq!((back, used), (a1.clone(), 76));
//! assert_eq!(a1.sequence(), Sequence::ConnA1);
//! ```

use std::fmt;
use std::net::IpAddr;

use super::{drep_from_bytes, drep_to_bytes, u16_at, u32_at, Error, PType, HEADER_LEN};
use crate::ndr::Drep;

impl PType {
    /// RTS PDU of RPC over HTTP v2 (MS-RPCH 2.2.3.6.1).
    pub const RTS: PType = PType(20);
}

/// Common header plus Flags and NumberOfCommands.
pub const RTS_HEADER_LEN: usize = 20;

/// Commands accepted per PDU (the longest real sequence has 8; the frame caps them anyway).
pub const MAX_COMMANDS: u16 = 64;

/// The RTS header `Flags` bits (MS-RPCH 2.2.3.6.1).
pub mod rts_flags {
    pub const NONE: u16 = 0x0000;
    pub const PING: u16 = 0x0001;
    pub const OTHER_CMD: u16 = 0x0002;
    pub const RECYCLE_CHANNEL: u16 = 0x0004;
    pub const IN_CHANNEL: u16 = 0x0008;
    pub const OUT_CHANNEL: u16 = 0x0010;
    pub const EOF: u16 = 0x0020;
    pub const ECHO: u16 = 0x0040;

    const NAMES: [(u16, &str); 7] = [
        (PING, "ping"),
        (OTHER_CMD, "other_cmd"),
        (RECYCLE_CHANNEL, "recycle_channel"),
        (IN_CHANNEL, "in_channel"),
        (OUT_CHANNEL, "out_channel"),
        (EOF, "eof"),
        (ECHO, "echo"),
    ];

    /// `none`, or the set bits by name joined with `|` (unknown bits as hex).
    pub fn text(f: u16) -> String {
        if f == NONE {
            return "none".into();
        }
        let mut parts: Vec<String> =
            NAMES.iter().filter(|(b, _)| f & b != 0).map(|(_, n)| (*n).to_string()).collect();
        let unknown = f & !NAMES.iter().fold(0, |a, (b, _)| a | b);
        if unknown != 0 {
            parts.push(format!("0x{unknown:04x}"));
        }
        parts.join("|")
    }
}

/// An RTS cookie (a 16-byte random value naming a virtual connection or a channel),
/// kept as the bytes on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Cookie(pub [u8; 16]);

impl fmt::Display for Cookie {
    /// GUID text of the little-endian encoding (how Windows and Wireshark show it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::uuid::Uuid::from_ndr(&self.0, Drep::LE).fmt(f)
    }
}

impl fmt::Debug for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cookie({self})")
    }
}

/// Command type codes. Open: unknown values keep their number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct CommandType(pub u32);

impl CommandType {
    pub const RECEIVE_WINDOW_SIZE: CommandType = CommandType(0);
    pub const FLOW_CONTROL_ACK: CommandType = CommandType(1);
    pub const CONNECTION_TIMEOUT: CommandType = CommandType(2);
    pub const COOKIE: CommandType = CommandType(3);
    pub const CHANNEL_LIFETIME: CommandType = CommandType(4);
    pub const CLIENT_KEEPALIVE: CommandType = CommandType(5);
    pub const VERSION: CommandType = CommandType(6);
    pub const EMPTY: CommandType = CommandType(7);
    pub const PADDING: CommandType = CommandType(8);
    pub const NEGATIVE_ANCE: CommandType = CommandType(9);
    pub const ANCE: CommandType = CommandType(10);
    pub const CLIENT_ADDRESS: CommandType = CommandType(11);
    pub const ASSOCIATION_GROUP_ID: CommandType = CommandType(12);
    pub const DESTINATION: CommandType = CommandType(13);
    pub const PING_TRAFFIC_SENT_NOTIFY: CommandType = CommandType(14);

    pub fn name(self) -> Option<&'static str> {
        const NAMES: [&str; 15] = [
            "ReceiveWindowSize",
            "FlowControlAck",
            "ConnectionTimeout",
            "Cookie",
            "ChannelLifetime",
            "ClientKeepalive",
            "Version",
            "Empty",
            "Padding",
            "NegativeANCE",
            "ANCE",
            "ClientAddress",
            "AssociationGroupId",
            "Destination",
            "PingTrafficSentNotify",
        ];
        usize::try_from(self.0).ok().and_then(|i| NAMES.get(i).copied())
    }
}

impl fmt::Display for CommandType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "command({})", self.0),
        }
    }
}

/// Forward destinations of the Destination command (MS-RPCH 2.2.3.3).
pub mod destination {
    pub const CLIENT: u32 = 0;
    pub const IN_PROXY: u32 = 1;
    pub const SERVER: u32 = 2;
    pub const OUT_PROXY: u32 = 3;

    pub fn name(d: u32) -> Option<&'static str> {
        Some(match d {
            0 => "FDClient",
            1 => "FDInProxy",
            2 => "FDServer",
            3 => "FDOutProxy",
            _ => return None,
        })
    }
}

/// One RTS command (MS-RPCH 2.2.3.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    ReceiveWindowSize(u32),
    FlowControlAck {
        bytes_received: u32,
        available_window: u32,
        channel_cookie: Cookie,
    },
    /// Milliseconds.
    ConnectionTimeout(u32),
    Cookie(Cookie),
    /// Bytes the channel may carry before it is recycled.
    ChannelLifetime(u32),
    /// Milliseconds.
    ClientKeepalive(u32),
    Version(u32),
    Empty,
    /// The padding bytes (their count is the ConformanceCount).
    Padding(Vec<u8>),
    NegativeAnce,
    Ance,
    /// The client's address; the 12 padding bytes after it are not kept.
    ClientAddress(IpAddr),
    AssociationGroupId(Cookie),
    /// One of [`destination`].
    Destination(u32),
    PingTrafficSentNotify(u32),
}

impl Command {
    pub fn command_type(&self) -> CommandType {
        CommandType(match self {
            Command::ReceiveWindowSize(_) => 0,
            Command::FlowControlAck { .. } => 1,
            Command::ConnectionTimeout(_) => 2,
            Command::Cookie(_) => 3,
            Command::ChannelLifetime(_) => 4,
            Command::ClientKeepalive(_) => 5,
            Command::Version(_) => 6,
            Command::Empty => 7,
            Command::Padding(_) => 8,
            Command::NegativeAnce => 9,
            Command::Ance => 10,
            Command::ClientAddress(_) => 11,
            Command::AssociationGroupId(_) => 12,
            Command::Destination(_) => 13,
            Command::PingTrafficSentNotify(_) => 14,
        })
    }

    /// Reads the command at `at` of `pdu` (byte order `le`); returns it and its length.
    pub fn parse(pdu: &[u8], at: usize, le: bool) -> Result<(Command, usize), Error> {
        let mut r = Reader { b: pdu, pos: at, le };
        let ty = CommandType(r.u32("RTS CommandType")?);
        let cmd = match ty.0 {
            0 => Command::ReceiveWindowSize(r.u32("ReceiveWindowSize")?),
            1 => Command::FlowControlAck {
                bytes_received: r.u32("FlowControlAck BytesReceived")?,
                available_window: r.u32("FlowControlAck AvailableWindow")?,
                channel_cookie: r.cookie("FlowControlAck ChannelCookie")?,
            },
            2 => Command::ConnectionTimeout(r.u32("ConnectionTimeout")?),
            3 => Command::Cookie(r.cookie("Cookie")?),
            4 => Command::ChannelLifetime(r.u32("ChannelLifetime")?),
            5 => Command::ClientKeepalive(r.u32("ClientKeepalive")?),
            6 => Command::Version(r.u32("Version")?),
            7 => Command::Empty,
            8 => {
                let n = r.u32("Padding ConformanceCount")?;
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                Command::Padding(r.take("Padding bytes", n)?.to_vec())
            }
            9 => Command::NegativeAnce,
            10 => Command::Ance,
            11 => {
                let kind_at = r.pos;
                let addr = match r.u32("ClientAddress AddressType")? {
                    0 => IpAddr::from(r.array::<4>("ClientAddress IPv4")?),
                    1 => IpAddr::from(r.array::<16>("ClientAddress IPv6")?),
                    _ => {
                        return Err(Error::Field {
                            what: "ClientAddress AddressType",
                            at: kind_at,
                            why: "neither 0 (IPv4) nor 1 (IPv6)",
                        })
                    }
                };
                r.take("ClientAddress padding", 12)?;
                Command::ClientAddress(addr)
            }
            12 => Command::AssociationGroupId(r.cookie("AssociationGroupId")?),
            13 => Command::Destination(r.u32("Destination")?),
            14 => Command::PingTrafficSentNotify(r.u32("PingTrafficSentNotify")?),
            _ => {
                return Err(Error::Field {
                    what: "RTS CommandType",
                    at,
                    why: "unknown command type (length unknown, cannot skip)",
                })
            }
        };
        Ok((cmd, r.pos.saturating_sub(at)))
    }

    /// Appends the encoded command.
    pub fn emit(&self, v: &mut Vec<u8>, le: bool) {
        let put = |v: &mut Vec<u8>, x: u32| {
            v.extend_from_slice(&if le { x.to_le_bytes() } else { x.to_be_bytes() })
        };
        put(v, self.command_type().0);
        match self {
            Command::ReceiveWindowSize(x)
            | Command::ConnectionTimeout(x)
            | Command::ChannelLifetime(x)
            | Command::ClientKeepalive(x)
            | Command::Version(x)
            | Command::Destination(x)
            | Command::PingTrafficSentNotify(x) => put(v, *x),
            Command::FlowControlAck { bytes_received, available_window, channel_cookie } => {
                put(v, *bytes_received);
                put(v, *available_window);
                v.extend_from_slice(&channel_cookie.0);
            }
            Command::Cookie(c) | Command::AssociationGroupId(c) => v.extend_from_slice(&c.0),
            Command::Padding(p) => {
                put(v, u32::try_from(p.len()).unwrap_or(u32::MAX));
                v.extend_from_slice(p);
            }
            Command::Empty | Command::NegativeAnce | Command::Ance => {}
            Command::ClientAddress(a) => {
                match a {
                    IpAddr::V4(a) => {
                        put(v, 0);
                        v.extend_from_slice(&a.octets());
                    }
                    IpAddr::V6(a) => {
                        put(v, 1);
                        v.extend_from_slice(&a.octets());
                    }
                }
                v.extend_from_slice(&[0; 12]);
            }
        }
    }
}

/// Checked reads at a moving position.
struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    le: bool,
}

impl<'a> Reader<'a> {
    fn take(&mut self, what: &'static str, n: usize) -> Result<&'a [u8], Error> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len()).ok_or(Error::Short {
            what,
            need: self.pos.saturating_add(n),
            have: self.b.len(),
        })?;
        let s = self.b.get(self.pos..end).unwrap_or(&[]);
        self.pos = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        let s = self.take(what, N)?;
        s.try_into().map_err(|_| Error::Short { what, need: N, have: s.len() })
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        let a = self.array::<4>(what)?;
        Ok(if self.le { u32::from_le_bytes(a) } else { u32::from_be_bytes(a) })
    }
    fn cookie(&mut self, what: &'static str) -> Result<Cookie, Error> {
        self.array::<16>(what).map(Cookie)
    }
}

/// Checks the RTS header of `b`: version 5.0, PTYPE 20, a plausible drep, frag_length of at
/// least 20, no auth. (Not that the PDU is complete: see [`Packet::new_checked`].)
pub fn check_header(b: &[u8]) -> Result<(), Error> {
    let short = || Error::Short { what: "RTS header", need: RTS_HEADER_LEN, have: b.len() };
    let &[major, minor, ptype, _, d0, d1, d2, d3, ..] = b else { return Err(short()) };
    if b.len() < RTS_HEADER_LEN {
        return Err(short());
    }
    if major != 5 || minor != 0 {
        return Err(Error::Version { major, minor });
    }
    if ptype != PType::RTS.0 {
        return Err(Error::Field { what: "PTYPE", at: 2, why: "not an RTS PDU (20)" });
    }
    if !super::drep_plausible(&[d0, d1, d2, d3]) {
        return Err(Error::Field {
            what: "packed_drep",
            at: 4,
            why: "implausible data representation",
        });
    }
    let le = d0 & 0x10 != 0;
    let frag_len = u16_at(b, 8, le).unwrap_or(0);
    if usize::from(frag_len) < RTS_HEADER_LEN {
        return Err(Error::Field {
            what: "frag_length",
            at: 8,
            why: "less than the 20-byte RTS header",
        });
    }
    if u16_at(b, 10, le).unwrap_or(0) != 0 {
        return Err(Error::Field { what: "auth_length", at: 10, why: "RTS PDUs carry no auth" });
    }
    Ok(())
}

/// A checked view of one RTS PDU (at least `frag_length` bytes once
/// [`Packet::new_checked`] passed; after that no getter panics).
#[derive(Clone, Copy, Debug)]
pub struct Packet<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_unchecked(buf: T) -> Self {
        Packet { buf }
    }

    pub fn new_checked(buf: T) -> Result<Self, Error> {
        check_header(buf.as_ref())?;
        let p = Packet { buf };
        let (fl, have) = (p.frag_len(), p.buf.as_ref().len());
        if usize::from(fl) > have {
            return Err(Error::FragBeyondData { frag_len: fl, have });
        }
        Ok(p)
    }

    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }
    pub fn drep(&self) -> Drep {
        drep_from_bytes(
            self.b().get(4..8).and_then(|s| s.try_into().ok()).unwrap_or([0x10, 0, 0, 0]),
        )
    }
    fn le(&self) -> bool {
        self.drep().little_endian
    }
    pub fn pfc_flags(&self) -> u8 {
        self.b().get(3).copied().unwrap_or(0)
    }
    pub fn frag_len(&self) -> u16 {
        u16_at(self.b(), 8, self.le()).unwrap_or(0)
    }
    pub fn call_id(&self) -> u32 {
        u32_at(self.b(), 12, self.le()).unwrap_or(0)
    }
    /// The RTS `Flags` ([`rts_flags`]).
    pub fn flags(&self) -> u16 {
        u16_at(self.b(), 16, self.le()).unwrap_or(0)
    }
    pub fn num_commands(&self) -> u16 {
        u16_at(self.b(), 18, self.le()).unwrap_or(0)
    }
    /// The PDU bytes (`frag_length` of them, or fewer when the buffer is short).
    pub fn pdu(&self) -> &[u8] {
        let b = self.b();
        b.get(..usize::from(self.frag_len())).unwrap_or(b)
    }
    /// The commands, decoded on demand; stops after the first error.
    pub fn commands(&self) -> Commands<'_> {
        Commands {
            pdu: self.pdu(),
            pos: RTS_HEADER_LEN,
            left: self.num_commands().min(MAX_COMMANDS),
            le: self.le(),
            failed: false,
        }
    }
    /// The commands, or the first error; errors also when NumberOfCommands is above
    /// [`MAX_COMMANDS`] or bytes are left after the last command.
    pub fn parse_commands(&self) -> Result<Vec<Command>, Error> {
        let n = self.num_commands();
        if n > MAX_COMMANDS {
            return Err(Error::Field {
                what: "NumberOfCommands",
                at: 18,
                why: "more than 64 commands",
            });
        }
        let mut it = self.commands();
        let mut v = Vec::with_capacity(usize::from(n));
        for c in it.by_ref() {
            v.push(c?);
        }
        if it.pos != self.pdu().len() {
            return Err(Error::Field {
                what: "RTS PDU",
                at: it.pos,
                why: "bytes left after the last command",
            });
        }
        Ok(v)
    }
}

/// Iterator over the commands of a [`Packet`].
#[derive(Debug)]
pub struct Commands<'a> {
    pdu: &'a [u8],
    pos: usize,
    left: u16,
    le: bool,
    failed: bool,
}

impl Iterator for Commands<'_> {
    type Item = Result<Command, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 || self.failed {
            return None;
        }
        self.left -= 1;
        match Command::parse(self.pdu, self.pos, self.le) {
            Ok((c, n)) => {
                self.pos = self.pos.saturating_add(n);
                Some(Ok(c))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// The owned form of an RTS PDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repr {
    pub drep: Drep,
    /// Always 0 on the wire; kept to round-trip.
    pub call_id: u32,
    pub flags: u16,
    pub commands: Vec<Command>,
}

impl Repr {
    /// A little-endian RTS PDU with call_id 0.
    pub fn new(flags: u16, commands: Vec<Command>) -> Repr {
        Repr { drep: Drep::LE, call_id: 0, flags, commands }
    }

    /// Parses one RTS PDU at the start of `b`; returns it and `frag_length`.
    pub fn parse(b: &[u8]) -> Result<(Repr, usize), Error> {
        let p = Packet::new_checked(b)?;
        let commands = p.parse_commands()?;
        let r = Repr { drep: p.drep(), call_id: p.call_id(), flags: p.flags(), commands };
        Ok((r, usize::from(p.frag_len())))
    }

    /// Encodes the PDU (frag_length set; saturates at 65535 for absurd command lists).
    pub fn emit(&self) -> Vec<u8> {
        let le = self.drep.little_endian;
        let mut v = vec![5, 0, PType::RTS.0, super::flags::FIRST_FRAG | super::flags::LAST_FRAG];
        v.extend_from_slice(&drep_to_bytes(self.drep));
        v.extend_from_slice(&[0; 4]); // frag_length, auth_length
        let w16 = |x: u16| if le { x.to_le_bytes() } else { x.to_be_bytes() };
        v.extend_from_slice(&if le {
            self.call_id.to_le_bytes()
        } else {
            self.call_id.to_be_bytes()
        });
        v.extend_from_slice(&w16(self.flags));
        v.extend_from_slice(&w16(u16::try_from(self.commands.len()).unwrap_or(u16::MAX)));
        for c in &self.commands {
            c.emit(&mut v, le);
        }
        let fl = w16(u16::try_from(v.len()).unwrap_or(u16::MAX));
        if let Some(s) = v.get_mut(8..10) {
            s.copy_from_slice(&fl);
        }
        debug_assert!(v.len() >= HEADER_LEN);
        v
    }

    /// Which well-known PDU this is.
    pub fn sequence(&self) -> Sequence {
        Sequence::of(self.flags, &self.commands)
    }
}

#[path = "rts_sequence.rs"]
mod sequence;
pub use sequence::Sequence;

#[cfg(test)]
#[path = "rts_tests.rs"]
mod tests;
