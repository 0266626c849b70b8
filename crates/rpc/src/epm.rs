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
//! use tracehound_rpc::{epm, ndr::Drep, uuid::Uuid};
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

/// The endpoint mapper interface UUID (v3.0).
pub const EPM_UUID: Uuid = Uuid::from_str_const("e1af8308-5d1f-11c9-91a4-08002b14a0fa");
/// NDR transfer syntax (v2.0).
pub const NDR_UUID: Uuid = Uuid::from_str_const("8a885d04-1ceb-11c9-9fe8-08002b104860");
/// NDR64 transfer syntax (v1.0).
pub const NDR64_UUID: Uuid = Uuid::from_str_const("71710533-beba-4937-8319-b5dbef9ccc36");

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
            .map(|s| u16::from_le_bytes([s[0], s[1]]))
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
                .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
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
                .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
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

/// Interface id (`rpc_if_id_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct IfId {
    pub uuid: Uuid,
    pub major: u16,
    pub minor: u16,
}

/// One endpoint map entry (`ept_entry_t`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub object: Uuid,
    pub annotation: String,
    pub tower: Option<Tower>,
}

/// Decoded request stub.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum EpmRequest {
    Insert {
        entries: Vec<Entry>,
        replace: bool,
    },
    Delete {
        entries: Vec<Entry>,
    },
    Lookup {
        inquiry_type: u32,
        object: Option<Uuid>,
        interface: Option<IfId>,
        vers_option: u32,
        #[serde(skip)]
        entry_handle: [u8; 20],
        max_entries: u32,
    },
    Map {
        object: Option<Uuid>,
        tower: Option<Tower>,
        #[serde(skip)]
        entry_handle: [u8; 20],
        max_towers: u32,
    },
    LookupHandleFree {
        #[serde(skip)]
        entry_handle: [u8; 20],
    },
    InqObject,
    MgmtDelete {
        object_speced: bool,
        object: Option<Uuid>,
        tower: Option<Tower>,
    },
}

/// Decoded response stub. Fields an operation does not return stay empty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct EpmResponse {
    pub opnum: u16,
    /// `error_status_t` (0 = ok; `0x16c9a0d6` = EPT_S_NOT_REGISTERED).
    pub status: u32,
    #[serde(skip)]
    pub entry_handle: [u8; 20],
    /// `num_towers` (ept_map) or `num_ents` (ept_lookup).
    pub num_towers: u32,
    /// ept_map towers (NULL tower pointers are skipped).
    pub towers: Vec<Tower>,
    /// ept_lookup entries.
    pub entries: Vec<Entry>,
    /// ept_inq_object result.
    pub object: Option<Uuid>,
}

/// `inquiry_type` values for ept_lookup (C706 O.2.2).
pub mod inquiry {
    pub const ALL_ELTS: u32 = 0;
    pub const INTERFACE: u32 = 1;
    pub const OBJECT: u32 = 2;
    pub const BOTH: u32 = 3;
}

/// `vers_option` values for ept_lookup.
pub mod vers {
    pub const ALL: u32 = 1;
    pub const COMPATIBLE: u32 = 2;
    pub const EXACT: u32 = 3;
    pub const MAJOR_ONLY: u32 = 4;
    pub const UPTO: u32 = 5;
}

/// Maximum annotation length (`ept_max_annotation_size`).
const MAX_ANNOTATION: u32 = 64;

fn read_twr(r: &mut Reader<'_>) -> Result<Tower, StubError> {
    let max = r.conformance("twr_t max_count")?;
    let len_at = r.pos();
    let len = r.u32("twr_t tower_length")?;
    if len > max {
        return Err(StubError::new(
            format!("twr_t tower_length {len} exceeds max_count {max}"),
            len_at,
        ));
    }
    let n = r.check_count(len, 1, "twr_t tower_octet_string")?;
    let base = r.pos();
    let bytes = r.take(n, "twr_t tower_octet_string")?;
    Tower::parse(bytes, base)
}

fn write_twr(w: &mut Writer, t: &Tower) {
    let b = t.emit();
    w.u32(b.len() as u32);
    w.u32(b.len() as u32);
    w.bytes(&b);
}

fn read_bool(r: &mut Reader<'_>, what: &str) -> Result<bool, StubError> {
    Ok(r.u32(what)? != 0)
}

/// Reads `[in] unsigned32 num_ents, [in, size_is(num_ents)] ept_entry_t entries[]`.
fn read_entries_in(r: &mut Reader<'_>) -> Result<Vec<Entry>, StubError> {
    let num_at = r.pos();
    let num = r.u32("num_ents")?;
    let max = r.conformance("entries max_count")?;
    if max != num {
        return Err(StubError::new(format!("entries max_count {max} != num_ents {num}"), num_at));
    }
    read_entry_array(r, num)
}

/// `count` embedded ept_entry_t, then their deferred towers.
fn read_entry_array(r: &mut Reader<'_>, count: u32) -> Result<Vec<Entry>, StubError> {
    // object (16) + tower referent (4) + annotation offset/length (8).
    let n = r.check_count(count, 28, "ept_entry_t array")?;
    let mut entries = Vec::with_capacity(n);
    let mut has_tower = Vec::with_capacity(n);
    for _ in 0..n {
        let object = r.uuid("ept_entry_t object")?;
        let twr = r.pointer("ept_entry_t tower pointer")?;
        let annotation = r.varying_string_u8(Some(MAX_ANNOTATION), "ept_entry_t annotation")?;
        entries.push(Entry { object, annotation, tower: None });
        has_tower.push(twr.is_some());
    }
    for (e, present) in entries.iter_mut().zip(has_tower) {
        if present {
            r.align(4, "twr_t")?;
            e.tower = Some(read_twr(r)?);
        }
    }
    Ok(entries)
}

fn read_opt_uuid(r: &mut Reader<'_>, what: &str) -> Result<Option<Uuid>, StubError> {
    Ok(match r.pointer(what)? {
        Some(_) => Some(r.uuid(what)?),
        None => None,
    })
}

fn read_opt_twr(r: &mut Reader<'_>, what: &str) -> Result<Option<Tower>, StubError> {
    Ok(match r.pointer(what)? {
        Some(_) => Some(read_twr(r)?),
        None => None,
    })
}

/// Decodes an endpoint mapper request stub.
pub fn decode_request(opnum: u16, drep: Drep, stub: &[u8]) -> Result<EpmRequest, StubError> {
    let mut r = Reader::new(stub, drep);
    let req = match opnum {
        0 => {
            let entries = read_entries_in(&mut r)?;
            let replace = read_bool(&mut r, "replace")?;
            EpmRequest::Insert { entries, replace }
        }
        1 => EpmRequest::Delete { entries: read_entries_in(&mut r)? },
        2 => {
            let inquiry_type = r.u32("inquiry_type")?;
            let object = read_opt_uuid(&mut r, "object")?;
            let interface = match r.pointer("interface_id pointer")? {
                Some(_) => Some(IfId {
                    uuid: r.uuid("interface_id uuid")?,
                    major: r.u16("interface_id vers_major")?,
                    minor: r.u16("interface_id vers_minor")?,
                }),
                None => None,
            };
            let vers_option = r.u32("vers_option")?;
            let entry_handle = r.context_handle("entry_handle")?;
            let max_entries = r.u32("max_ents")?;
            EpmRequest::Lookup {
                inquiry_type,
                object,
                interface,
                vers_option,
                entry_handle,
                max_entries,
            }
        }
        3 => {
            let object = read_opt_uuid(&mut r, "object")?;
            let tower = read_opt_twr(&mut r, "map_tower")?;
            let entry_handle = r.context_handle("entry_handle")?;
            let max_towers = r.u32("max_towers")?;
            EpmRequest::Map { object, tower, entry_handle, max_towers }
        }
        4 => EpmRequest::LookupHandleFree { entry_handle: r.context_handle("entry_handle")? },
        5 => EpmRequest::InqObject,
        6 => {
            let object_speced = read_bool(&mut r, "object_speced")?;
            let object = read_opt_uuid(&mut r, "object")?;
            let tower = read_opt_twr(&mut r, "tower")?;
            EpmRequest::MgmtDelete { object_speced, object, tower }
        }
        _ => return Err(StubError::new(format!("unknown endpoint mapper opnum {opnum}"), 0)),
    };
    Ok(req)
}

/// Decodes an endpoint mapper response stub.
pub fn decode_response(opnum: u16, drep: Drep, stub: &[u8]) -> Result<EpmResponse, StubError> {
    let mut r = Reader::new(stub, drep);
    let mut out = EpmResponse { opnum, ..EpmResponse::default() };
    match opnum {
        0 | 1 | 6 => {}
        2 => {
            out.entry_handle = r.context_handle("entry_handle")?;
            let num_at = r.pos();
            out.num_towers = r.u32("num_ents")?;
            let max = r.conformance("entries max_count")?;
            let (_, actual) = r.variance(Some(max), "entries")?;
            if actual != out.num_towers {
                return Err(StubError::new(
                    format!("entries actual_count {actual} != num_ents {}", out.num_towers),
                    num_at,
                ));
            }
            out.entries = read_entry_array(&mut r, actual)?;
        }
        3 => {
            out.entry_handle = r.context_handle("entry_handle")?;
            let num_at = r.pos();
            out.num_towers = r.u32("num_towers")?;
            let max = r.conformance("towers max_count")?;
            let (_, actual) = r.variance(Some(max), "towers")?;
            if actual != out.num_towers {
                return Err(StubError::new(
                    format!("towers actual_count {actual} != num_towers {}", out.num_towers),
                    num_at,
                ));
            }
            let n = r.check_count(actual, 4, "tower pointer array")?;
            let mut present = Vec::with_capacity(n);
            for _ in 0..n {
                present.push(r.pointer("tower pointer")?.is_some());
            }
            for p in present {
                if p {
                    r.align(4, "twr_t")?;
                    out.towers.push(read_twr(&mut r)?);
                }
            }
        }
        4 => out.entry_handle = r.context_handle("entry_handle")?,
        5 => out.object = Some(r.uuid("ept_object")?),
        _ => return Err(StubError::new(format!("unknown endpoint mapper opnum {opnum}"), 0)),
    }
    out.status = r.u32("status")?;
    Ok(out)
}

/// Builds an `ept_map` (opnum 3) request stub asking for `iface` over
/// ncacn_ip_tcp (object NIL as Windows clients send it).
pub fn ept_map_request(
    drep: Drep,
    iface: &Uuid,
    major: u16,
    minor: u16,
    entry_handle: [u8; 20],
    max_towers: u32,
) -> Vec<u8> {
    let tower = Tower::ncacn_ip_tcp(iface, major, minor, Ipv4Addr::UNSPECIFIED, 0);
    ept_map_request_tower(drep, Some(&Uuid::NIL), Some(&tower), entry_handle, max_towers)
}

/// Builds an `ept_map` request with an arbitrary object and tower.
pub fn ept_map_request_tower(
    drep: Drep,
    object: Option<&Uuid>,
    tower: Option<&Tower>,
    entry_handle: [u8; 20],
    max_towers: u32,
) -> Vec<u8> {
    let mut w = Writer::new(drep);
    if let Some(o) = object {
        w.pointer(true);
        w.uuid(o);
    } else {
        w.pointer(false);
    }
    if let Some(t) = tower {
        w.pointer(true);
        write_twr(&mut w, t);
    } else {
        w.pointer(false);
    }
    w.context_handle(&entry_handle);
    w.u32(max_towers);
    w.into_bytes()
}

/// Builds an `ept_lookup` (opnum 2) request stub.
pub fn ept_lookup_request(
    drep: Drep,
    inquiry_type: u32,
    object: Option<&Uuid>,
    interface: Option<&IfId>,
    vers_option: u32,
    entry_handle: [u8; 20],
    max_entries: u32,
) -> Vec<u8> {
    let mut w = Writer::new(drep);
    w.u32(inquiry_type);
    if let Some(o) = object {
        w.pointer(true);
        w.uuid(o);
    } else {
        w.pointer(false);
    }
    if let Some(i) = interface {
        w.pointer(true);
        w.uuid(&i.uuid);
        w.u16(i.major);
        w.u16(i.minor);
    } else {
        w.pointer(false);
    }
    w.u32(vers_option);
    w.context_handle(&entry_handle);
    w.u32(max_entries);
    w.into_bytes()
}

/// Builds an `ept_lookup_handle_free` (opnum 4) request stub.
pub fn ept_lookup_handle_free_request(drep: Drep, entry_handle: [u8; 20]) -> Vec<u8> {
    let mut w = Writer::new(drep);
    w.context_handle(&entry_handle);
    w.into_bytes()
}

fn write_entries(w: &mut Writer, entries: &[Entry]) {
    for e in entries {
        w.uuid(&e.object);
        w.pointer(e.tower.is_some());
        w.varying_string_u8(&e.annotation);
    }
    for t in entries.iter().filter_map(|e| e.tower.as_ref()) {
        w.align(4);
        write_twr(w, t);
    }
}

/// Builds an `ept_insert` (opnum 0) or `ept_delete` (opnum 1, `replace`
/// ignored) request stub.
pub fn ept_insert_request(drep: Drep, opnum: u16, entries: &[Entry], replace: bool) -> Vec<u8> {
    let mut w = Writer::new(drep);
    w.u32(entries.len() as u32);
    w.u32(entries.len() as u32);
    write_entries(&mut w, entries);
    if opnum == 0 {
        w.u32(replace as u32);
    }
    w.into_bytes()
}

/// Builds a response stub (what a server sends) — used by tests and the
/// lab endpoint mapper. ept_map for opnum 3, ept_lookup for 2, status only
/// otherwise (entry handle for 4).
pub fn emit_response(drep: Drep, resp: &EpmResponse) -> Vec<u8> {
    let mut w = Writer::new(drep);
    match resp.opnum {
        2 => {
            w.context_handle(&resp.entry_handle);
            let n = resp.entries.len() as u32;
            w.u32(n);
            w.u32(n.max(resp.num_towers));
            w.u32(0);
            w.u32(n);
            write_entries(&mut w, &resp.entries);
        }
        3 => {
            w.context_handle(&resp.entry_handle);
            let n = resp.towers.len() as u32;
            w.u32(n);
            w.u32(n.max(resp.num_towers));
            w.u32(0);
            w.u32(n);
            for _ in &resp.towers {
                w.pointer(true);
            }
            for t in &resp.towers {
                w.align(4);
                write_twr(&mut w, t);
            }
        }
        4 => w.context_handle(&resp.entry_handle),
        5 => w.uuid(&resp.object.unwrap_or(Uuid::NIL)),
        _ => {}
    }
    w.u32(resp.status);
    w.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    // dcerpc__zerologon__input.pcap frame 8: ept_map response stub (after
    // the 24-byte response header).
    const MAP_RESP: &str =
        "000000004845046844 3dad43ad06e9e13075aaf1010000000100000000000000010000000300\
00004b0000004b000000050013000d785634123412cdabef0001234567cffb01000200000013000d045d888aeb1cc9119fe\
808002b10486002000200000001000b020000000100070200c2040100090400ac10053a0000000000";

    #[test]
    fn parse_real_map_response() {
        let stub = hex(&MAP_RESP.replace(' ', ""));
        let r = decode_response(3, Drep::LE, &stub).unwrap();
        assert_eq!(r.status, 0);
        assert_eq!(r.num_towers, 1);
        let t = &r.towers[0];
        assert_eq!(t.floors.len(), 5);
        assert_eq!(t.binding_string().unwrap(), "ncacn_ip_tcp:172.16.5.58[49668]");
        assert_eq!(t.interface().unwrap().0.to_string(), "12345678-1234-abcd-ef00-01234567cffb");
        assert_eq!(t.transfer_syntax(), Some((NDR_UUID, 2, 0)));
        // Re-emit gives the same bytes except the referent id (Windows
        // used 3, our writer numbers from 0x20000).
        let again = emit_response(Drep::LE, &r);
        assert_eq!(again.len(), stub.len());
        assert_eq!(again[..36], stub[..36]);
        assert_eq!(again[40..], stub[40..]);
        assert_eq!(decode_response(3, Drep::LE, &again).unwrap(), r);
    }

    #[test]
    fn roundtrip_lookup_both_dreps() {
        let np = Tower {
            floors: vec![
                Floor::uuid(&EPM_UUID, 3, 0),
                Floor::uuid(&NDR_UUID, 2, 0),
                Floor::new(proto::RPC_CO, &[], &[0, 0]),
                Floor::new(proto::NAMED_PIPE, &[], b"\\PIPE\\lsass\0"),
                Floor::new(proto::NETBIOS, &[], b"DC01\0"),
            ],
        };
        assert_eq!(np.binding_string().unwrap(), "ncacn_np:\\\\DC01[\\PIPE\\lsass]");
        let lrpc = Tower {
            floors: vec![
                Floor::uuid(&EPM_UUID, 3, 0),
                Floor::uuid(&NDR_UUID, 2, 0),
                Floor::new(proto::RPC_LOCAL, &[], &[0, 0]),
                Floor::new(proto::LRPC, &[], b"LRPC-1234\0"),
            ],
        };
        assert_eq!(lrpc.binding_string().unwrap(), "ncalrpc:[LRPC-1234]");
        let udp = Tower {
            floors: vec![
                Floor::uuid(&EPM_UUID, 3, 0),
                Floor::uuid(&NDR_UUID, 2, 0),
                Floor::new(proto::RPC_CL, &[], &[0, 0]),
                Floor::new(proto::UDP, &[], &135u16.to_be_bytes()),
                Floor::new(proto::IP, &[], &[10, 0, 0, 1]),
            ],
        };
        assert_eq!(udp.binding_string().unwrap(), "ncadg_ip_udp:10.0.0.1[135]");
        for drep in [Drep::LE, Drep::BE] {
            let resp = EpmResponse {
                opnum: 2,
                status: 0,
                entry_handle: [7; 20],
                num_towers: 3,
                towers: vec![],
                entries: vec![
                    Entry {
                        object: Uuid::NIL,
                        annotation: "Netlogon".into(),
                        tower: Some(np.clone()),
                    },
                    Entry { object: EPM_UUID, annotation: String::new(), tower: None },
                    Entry { object: Uuid::NIL, annotation: "x".into(), tower: Some(udp.clone()) },
                ],
                object: None,
            };
            let b = emit_response(drep, &resp);
            assert_eq!(decode_response(2, drep, &b).unwrap(), resp);
            let req = ept_lookup_request(
                drep,
                inquiry::INTERFACE,
                None,
                Some(&IfId { uuid: EPM_UUID, major: 3, minor: 0 }),
                vers::EXACT,
                [1; 20],
                500,
            );
            assert_eq!(
                decode_request(2, drep, &req).unwrap(),
                EpmRequest::Lookup {
                    inquiry_type: 1,
                    object: None,
                    interface: Some(IfId { uuid: EPM_UUID, major: 3, minor: 0 }),
                    vers_option: 3,
                    entry_handle: [1; 20],
                    max_entries: 500
                }
            );
            let ins = ept_insert_request(drep, 0, &resp.entries, true);
            assert_eq!(
                decode_request(0, drep, &ins).unwrap(),
                EpmRequest::Insert { entries: resp.entries.clone(), replace: true }
            );
            let del = ept_insert_request(drep, 1, &resp.entries[..1], false);
            assert_eq!(
                decode_request(1, drep, &del).unwrap(),
                EpmRequest::Delete { entries: resp.entries[..1].to_vec() }
            );
            let free = ept_lookup_handle_free_request(drep, [9; 20]);
            assert_eq!(
                decode_request(4, drep, &free).unwrap(),
                EpmRequest::LookupHandleFree { entry_handle: [9; 20] }
            );
        }
    }
}
