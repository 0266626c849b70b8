//! The DCE/RPC endpoint mapper (EPM, interface
//! `e1af8308-5d1f-11c9-91a4-08002b14a0fa` v3.0, C706 appendix O; MS-RPCE
//! 2.2.1.2.x and 3.3.3.3 for the Windows profile), served on TCP/UDP 135,
//! `\pipe\epmapper` and port 593 (ncacn_http).
//!
//! Operations: `ept_insert` (0), `ept_delete` (1), `ept_lookup` (2),
//! `ept_map` (3), `ept_lookup_handle_free` (4), `ept_inq_object` (5),
//! `ept_mgmt_delete` (6).
//!
//! The interesting payload is the **protocol tower** (`twr_t`, C706
//! appendix L): an NDR conformant byte array whose content is *not* NDR but a
//! little-endian floor list:
//!
//! ```text
//! u16 floor_count
//! floor_count x { u16 lhs_len; lhs (protocol id byte + data); u16 rhs_len; rhs }
//! ```
//!
//! Floor 1 is the interface (`0x0d` + UUID + major version; rhs minor), floor
//! 2 the transfer syntax, floor 3 the RPC protocol (`0x0b` connection-oriented,
//! `0x0a` connectionless, `0x0c` local), then the transport: TCP `0x07` / UDP
//! `0x08` / HTTP `0x1f` port (big endian) + IP `0x09` (4 bytes), or named pipe
//! `0x0f` + NetBIOS host `0x11`, or LRPC port name `0x10`.
//!
//! [`decode_request`] / [`decode_response`] decode stubs of either byte
//! order; [`ept_map_request`], [`ept_lookup_request`] and friends build
//! requests (little or big endian) that decode back to the same values.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use tracehound_rpc_proto::{epm, ndr::Drep, uuid::Uuid};
//! let netlogon: Uuid = "12345678-1234-abcd-ef00-01234567cffb".parse().unwrap();
//! let stub = epm::ept_map_request(Drep::LE, &netlogon, 1, 0, [0; 20], 4);
//! let req = epm::decode_request(3, Drep::LE, &stub).unwrap();
//! let epm::EpmRequest::Map { tower: Some(t), .. } = req else { panic!() };
//! assert_eq!(t.interface(), Some((netlogon, 1, 0)));
//! assert_eq!(t.binding_string().unwrap(), "ncacn_ip_tcp:0.0.0.0[0]");
//! ```

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use serde::Serialize;

use crate::ndr::{Drep, Reader, StubError, Writer};
use crate::uuid::Uuid;

/// The endpoint mapper interface UUID (v3.0) and the NDR / NDR64 transfer syntaxes
/// (defined in [`crate::known`]).
pub use crate::known::{EPM as EPM_UUID, NDR as NDR_UUID, NDR64 as NDR64_UUID};

/// Upper bound on floors per tower (real towers have 3–6).
pub const MAX_FLOORS: usize = 64;

/// Protocol identifiers used in tower floors (C706 appendix I, MS-RPCE 2.1).
pub mod proto {
    pub const DNA_SESSION: u8 = 0x02;
    pub const DNA_SESSION_V3: u8 = 0x03;
    pub const DNA_NSP: u8 = 0x04;
    pub const OSI_TP4: u8 = 0x05;
    pub const OSI_CLNS: u8 = 0x06;
    pub const TCP: u8 = 0x07;
    pub const UDP: u8 = 0x08;
    pub const IP: u8 = 0x09;
    pub const RPC_CL: u8 = 0x0a;
    pub const RPC_CO: u8 = 0x0b;
    pub const RPC_LOCAL: u8 = 0x0c;
    pub const UUID: u8 = 0x0d;
    pub const NAMED_PIPE: u8 = 0x0f;
    pub const LRPC: u8 = 0x10;
    pub const NETBIOS: u8 = 0x11;
    pub const NETBEUI: u8 = 0x12;
    pub const SPX: u8 = 0x13;
    pub const IPX: u8 = 0x14;
    pub const APPLETALK_STREAM: u8 = 0x16;
    pub const APPLETALK_DGRAM: u8 = 0x17;
    pub const APPLETALK: u8 = 0x18;
    pub const NETBIOS_CL: u8 = 0x19;
    pub const VINES_SPP: u8 = 0x1a;
    pub const VINES_IPC: u8 = 0x1b;
    pub const STREETTALK: u8 = 0x1c;
    pub const HTTP: u8 = 0x1f;
    pub const UNIX_SOCKET: u8 = 0x20;
    pub const NULL: u8 = 0x21;
    pub const NETBIOS_NAME: u8 = 0x22;

    /// Name of a floor protocol id; `None` when unknown.
    pub fn name(id: u8) -> Option<&'static str> {
        Some(match id {
            DNA_SESSION => "DNA session control",
            DNA_SESSION_V3 => "DNA session control v3",
            DNA_NSP => "DNA NSP transport",
            OSI_TP4 => "OSI TP4",
            OSI_CLNS => "OSI CLNS",
            TCP => "TCP",
            UDP => "UDP",
            IP => "IP",
            RPC_CL => "RPC connectionless",
            RPC_CO => "RPC connection-oriented",
            RPC_LOCAL => "RPC local",
            UUID => "UUID",
            NAMED_PIPE => "named pipe",
            LRPC => "named pipes / LRPC",
            NETBIOS => "NetBIOS",
            NETBEUI => "NetBEUI",
            SPX => "SPX",
            IPX => "IPX",
            APPLETALK_STREAM => "AppleTalk stream",
            APPLETALK_DGRAM => "AppleTalk datagram",
            APPLETALK => "AppleTalk",
            NETBIOS_CL => "NetBIOS CL",
            VINES_SPP => "VINES SPP",
            VINES_IPC => "VINES IPC",
            STREETTALK => "StreetTalk",
            HTTP => "HTTP",
            UNIX_SOCKET => "Unix domain socket",
            NULL => "null",
            NETBIOS_NAME => "NetBIOS name",
            _ => return None,
        })
    }
}

/// One tower floor: protocol id (first lhs byte), rest of lhs, rhs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Floor {
    pub protocol: u8,
    pub lhs: Vec<u8>,
    pub rhs: Vec<u8>,
}

impl Floor {
    pub fn new(protocol: u8, lhs: &[u8], rhs: &[u8]) -> Floor {
        Floor { protocol, lhs: lhs.to_vec(), rhs: rhs.to_vec() }
    }

    /// A `0x0d` UUID floor (interface or transfer syntax).
    pub fn uuid(u: &Uuid, major: u16, minor: u16) -> Floor {
        let mut lhs = u.to_ndr(Drep::LE).to_vec();
        lhs.extend_from_slice(&major.to_le_bytes());
        Floor { protocol: proto::UUID, lhs, rhs: minor.to_le_bytes().to_vec() }
    }

    /// For a UUID floor: (uuid, major, minor).
    pub fn as_uuid(&self) -> Option<(Uuid, u16, u16)> {
        if self.protocol != proto::UUID {
            return None;
        }
        let u: [u8; 16] = self.lhs.get(..16)?.try_into().ok()?;
        let major = u16::from_le_bytes(self.lhs.get(16..18)?.try_into().ok()?);
        let minor = u16::from_le_bytes(self.rhs.get(..2)?.try_into().ok()?);
        Some((Uuid::from_ndr(&u, Drep::LE), major, minor))
    }

    /// rhs as a big-endian u16 (TCP/UDP/HTTP port).
    pub fn port(&self) -> Option<u16> {
        Some(u16::from_be_bytes(self.rhs.get(..2)?.try_into().ok()?))
    }

    /// rhs as an IPv4 address.
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        let b: [u8; 4] = self.rhs.get(..4)?.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    }

    /// rhs as a NUL-terminated string.
    pub fn text(&self) -> String {
        let raw = self.rhs.split(|&c| c == 0).next().unwrap_or(&[]);
        String::from_utf8_lossy(raw).into_owned()
    }
}

/// A protocol tower (the floor list inside a `twr_t`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct Tower {
    pub floors: Vec<Floor>,
}

impl Tower {
    /// Parses a tower octet string. `base` is the offset of `b` within the
    /// stub, used in errors. Trailing bytes after the last floor are allowed
    /// (some stacks pad) but floors must fit.
    pub fn parse(b: &[u8], base: usize) -> Result<Tower, StubError> {
        let mut at = 0usize;
        let err = |what: String, at: usize| StubError::new(what, base.saturating_add(at));
        let get = |at: usize, n: usize| b.get(at..at.checked_add(n)?);
        let count = get(at, 2)
            .and_then(|s| s.try_into().ok())
            .map(u16::from_le_bytes)
            .ok_or_else(|| err(format!("tower floor count: {} bytes, need 2", b.len()), at))?;
        at += 2;
        let count = count as usize;
        // Each floor takes at least 4 bytes (two length fields).
        let fit = b.len().saturating_sub(at) / 4;
        if count > fit || count > MAX_FLOORS {
            return Err(err(
                format!(
                    "tower claims {count} floors, at most {} fit in {} bytes",
                    fit.min(MAX_FLOORS),
                    b.len()
                ),
                0,
            ));
        }
        let mut floors = Vec::with_capacity(count);
        for i in 0..count {
            let lhs_len = get(at, 2)
                .and_then(|s| s.try_into().ok())
                .map(|s| u16::from_le_bytes(s) as usize)
                .ok_or_else(|| err(format!("floor {}: lhs length missing", i + 1), at))?;
            at += 2;
            let lhs = get(at, lhs_len).ok_or_else(|| {
                err(
                    format!(
                        "floor {}: lhs length {lhs_len} runs past the tower ({} bytes left)",
                        i + 1,
                        b.len().saturating_sub(at)
                    ),
                    at - 2,
                )
            })?;
            let (protocol, lhs_rest) = lhs.split_first().ok_or_else(|| {
                err(format!("floor {}: empty lhs (no protocol id)", i + 1), at - 2)
            })?;
            at += lhs_len;
            let rhs_len = get(at, 2)
                .and_then(|s| s.try_into().ok())
                .map(|s| u16::from_le_bytes(s) as usize)
                .ok_or_else(|| err(format!("floor {}: rhs length missing", i + 1), at))?;
            at += 2;
            let rhs = get(at, rhs_len).ok_or_else(|| {
                err(
                    format!(
                        "floor {}: rhs length {rhs_len} runs past the tower ({} bytes left)",
                        i + 1,
                        b.len().saturating_sub(at)
                    ),
                    at - 2,
                )
            })?;
            at += rhs_len;
            floors.push(Floor { protocol: *protocol, lhs: lhs_rest.to_vec(), rhs: rhs.to_vec() });
        }
        Ok(Tower { floors })
    }

    /// Encodes the floor list (the tower octet string).
    pub fn emit(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.floors.len() as u16).to_le_bytes());
        for f in &self.floors {
            out.extend_from_slice(&((f.lhs.len() + 1) as u16).to_le_bytes());
            out.push(f.protocol);
            out.extend_from_slice(&f.lhs);
            out.extend_from_slice(&(f.rhs.len() as u16).to_le_bytes());
            out.extend_from_slice(&f.rhs);
        }
        out
    }

    /// The standard 5-floor ncacn_ip_tcp tower for an interface (NDR 2.0).
    pub fn ncacn_ip_tcp(iface: &Uuid, major: u16, minor: u16, ip: Ipv4Addr, port: u16) -> Tower {
        Tower {
            floors: vec![
                Floor::uuid(iface, major, minor),
                Floor::uuid(&NDR_UUID, 2, 0),
                Floor::new(proto::RPC_CO, &[], &0u16.to_le_bytes()),
                Floor::new(proto::TCP, &[], &port.to_be_bytes()),
                Floor::new(proto::IP, &[], &ip.octets()),
            ],
        }
    }

    fn floor(&self, proto_id: u8) -> Option<&Floor> {
        self.floors.iter().skip(2).find(|f| f.protocol == proto_id)
    }

    /// Floor 1: interface (uuid, major, minor).
    pub fn interface(&self) -> Option<(Uuid, u16, u16)> {
        self.floors.first()?.as_uuid()
    }

    /// Floor 2: transfer syntax (uuid, major, minor).
    pub fn transfer_syntax(&self) -> Option<(Uuid, u16, u16)> {
        self.floors.get(1)?.as_uuid()
    }

    /// Protocol sequence (`ncacn_ip_tcp`, `ncadg_ip_udp`, `ncacn_np`,
    /// `ncalrpc`, `ncacn_http`, ...), from floors 3 and 4.
    pub fn protocol(&self) -> Option<&'static str> {
        let rpc = self.floors.get(2)?.protocol;
        let transport = self.floors.get(3).map(|f| f.protocol);
        Some(match (rpc, transport) {
            (proto::RPC_CO, Some(proto::TCP)) => "ncacn_ip_tcp",
            (proto::RPC_CO, Some(proto::HTTP)) => "ncacn_http",
            (proto::RPC_CO, Some(proto::NAMED_PIPE)) => "ncacn_np",
            (proto::RPC_CO, Some(proto::NETBIOS)) => "ncacn_nb_nb",
            (proto::RPC_CO, Some(proto::NETBEUI)) => "ncacn_nb_tcp",
            (proto::RPC_CO, Some(proto::SPX)) => "ncacn_spx",
            (proto::RPC_CO, Some(proto::APPLETALK_STREAM)) => "ncacn_at_dsp",
            (proto::RPC_CO, Some(proto::VINES_SPP)) => "ncacn_vns_spp",
            (proto::RPC_CO, Some(proto::DNA_NSP)) => "ncacn_dnet_nsp",
            (proto::RPC_CO, Some(proto::UNIX_SOCKET)) => "ncacn_unix_stream",
            (proto::RPC_CL, Some(proto::UDP)) => "ncadg_ip_udp",
            (proto::RPC_CL, Some(proto::IPX)) => "ncadg_ipx",
            (proto::RPC_CL, Some(proto::APPLETALK_DGRAM)) => "ncadg_at_ddp",
            (proto::RPC_LOCAL, Some(proto::LRPC)) | (proto::RPC_LOCAL, None) => "ncalrpc",
            (proto::RPC_CO, Some(proto::LRPC)) => "ncalrpc",
            _ => return None,
        })
    }

    /// Transport port (TCP, UDP or HTTP floor).
    pub fn port(&self) -> Option<u16> {
        self.floor(proto::TCP)
            .or_else(|| self.floor(proto::UDP))
            .or_else(|| self.floor(proto::HTTP))?
            .port()
    }

    /// IPv4 address floor.
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        self.floor(proto::IP)?.ipv4()
    }

    /// Network address: the IPv4 address, else the NetBIOS host name.
    pub fn address(&self) -> Option<String> {
        if let Some(ip) = self.ipv4() {
            return Some(ip.to_string());
        }
        self.floor(proto::NETBIOS).map(|f| f.text())
    }

    /// Named pipe (`\pipe\lsass`) for ncacn_np, or the LRPC port name.
    pub fn pipe(&self) -> Option<String> {
        self.floor(proto::NAMED_PIPE).or_else(|| self.floor(proto::LRPC)).map(|f| f.text())
    }

    /// String binding: `ncacn_ip_tcp:10.1.2.3[49158]`,
    /// `ncacn_np:\\HOST[\pipe\lsass]`, `ncalrpc:[name]`, ...
    ///
    /// Unknown protocol combinations stay visible as numbers:
    /// `unknown_0x0b_0x99:10.0.0.1[135]`. `None` when the tower has fewer
    /// than three floors.
    pub fn binding_string(&self) -> Option<String> {
        let rpc = self.floors.get(2)?.protocol;
        let protseq = match self.protocol() {
            Some(p) => p.to_string(),
            None => match self.floors.get(3) {
                Some(f) => format!("unknown_0x{rpc:02x}_0x{:02x}", f.protocol),
                None => format!("unknown_0x{rpc:02x}"),
            },
        };
        let mut s = protseq.clone();
        s.push(':');
        match protseq.as_str() {
            "ncacn_np" => {
                if let Some(host) = self.address().filter(|h| !h.is_empty()) {
                    if !host.starts_with("\\\\") {
                        s.push_str("\\\\");
                    }
                    s.push_str(&host);
                }
                let _ = write!(s, "[{}]", self.pipe().unwrap_or_default());
            }
            "ncalrpc" => {
                let _ = write!(s, "[{}]", self.pipe().unwrap_or_default());
            }
            _ => {
                if let Some(a) = self.address() {
                    s.push_str(&a);
                }
                if let Some(p) = self.port() {
                    let _ = write!(s, "[{p}]");
                }
            }
        }
        Some(s)
    }
}

mod emit;
mod stub;
#[cfg(test)]
mod tests;

pub use emit::*;
pub use stub::*;
