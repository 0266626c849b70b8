//! Names for DCE/RPC numbers: interfaces, operations, status codes, bind
//! reject and provider reasons, auth types and levels, transfer syntaxes.
//!
//! The tables live in `data/` (embedded at build time, parsed once on first
//! use into static maps; lookups borrow `&'static str`, nothing is allocated
//! per call): `names.json` (core interfaces, bind/auth tables, COM classes),
//! `interfaces/*.json` (further interface blocks, each citing its source) and
//! `status/*.json` (one table per status space, see [`StatusSpace`]).
//! `tests/names_data.rs` validates every file.
//! Sources: C706 (DCE 1.1 RPC), MS-RPCE, and the Windows protocol
//! specifications (MS-LSAD, MS-SAMR, MS-NRPC, MS-DRSR, MS-SRVS, MS-WKST,
//! MS-RRP, MS-SCMR, MS-TSCH, MS-EVEN, MS-EVEN6, MS-RPRN, MS-DNSP, MS-DCOM,
//! MS-WMI, MS-OXCRPC, MS-NSPI, MS-OXABREF, MS-ERREF, ...).
//!
//! Unknown values give `None`; callers show the number.
//!
//! ```
//! use tracehound_rpc_proto::{names, uuid::Uuid};
//! let lsa: Uuid = "12345778-1234-abcd-ef00-0123456789ab".parse().unwrap();
//! assert_eq!(names::interface_name(&lsa, 0), Some("lsarpc"));
//! assert_eq!(names::opnum_name(&lsa, 0), Some("LsarClose"));
//! assert_eq!(names::status_name(0x1c010003), Some("nca_s_unk_if"));
//! assert_eq!(names::status_name(0x1234_5678), None);
//! // Status names come from the interface's own space.
//! use names::StatusSpace;
//! let nspi: Uuid = "f5cc5a18-4264-101a-8c59-08002b2f8426".parse().unwrap();
//! let space = names::call_status_space(&nspi, 56, 0);
//! assert_eq!(space, StatusSpace::Mapi);
//! assert_eq!(names::status_name_in(space, 0x8004_0111), Some("MAPI_E_LOGON_FAILED"));
//! assert_eq!(names::status_name_in(StatusSpace::HResult, 0x8004_0111), Some("CLASS_E_CLASSNOTAVAILABLE"));
//! assert_eq!(names::status_severity(StatusSpace::Win32, 234), names::StatusClass::Info);
//! ```

use rustc_hash::FxHashMap as HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::uuid::Uuid;

mod status;
pub use status::{
    hresult_facility, hresult_facility_name, status_description_in, status_info, status_name_in,
    status_role, status_severity, status_table_len, status_text_in, StatusClass, StatusFile,
    StatusInfo, StatusRole, StatusSpace,
};

/// The embedded core data file.
pub const DATA_JSON: &str = include_str!("../data/names.json");

/// Further interface blocks (`data/interfaces/*.json`), by file name.
pub const INTERFACE_FILES: &[(&str, &str)] = &[
    ("dcom.json", include_str!("../data/interfaces/dcom.json")),
    ("impacket.json", include_str!("../data/interfaces/impacket.json")),
    ("more.json", include_str!("../data/interfaces/more.json")),
];

/// One interface block file (`data/interfaces/*.json`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterfaceFile {
    /// Where the entries come from (per-entry `source` overrides).
    pub source: String,
    pub interfaces: Vec<InterfaceRecord>,
}

/// One interface record of the data file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterfaceRecord {
    pub uuid: String,
    /// Major version.
    pub version: u16,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Specification the entry comes from (`MS-LSAD`, `C706`, ...).
    #[serde(default)]
    pub spec: String,
    /// Service / DLL / process that registers it (`lsass.exe (lsasrv.dll)`).
    #[serde(default)]
    pub service: String,
    /// Where the entry's facts come from (when not the block's source).
    #[serde(default)]
    pub source: String,
    /// How return values are read ([`StatusSpace::parse`] names); empty =
    /// unknown.
    #[serde(default)]
    pub status: String,
    /// Operations whose return value is read in another space:
    /// `{"34": "win32"}`.
    #[serde(default)]
    pub op_status: std::collections::BTreeMap<String, String>,
    /// Operation names, index = opnum (`null` for unnamed slots).
    #[serde(default)]
    pub opnums: Vec<Option<String>>,
}

/// One code → name record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRecord {
    /// Decimal or `0x` hex.
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// The whole data file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFile {
    pub interfaces: Vec<InterfaceRecord>,
    pub bind_nak_reasons: Vec<CodeRecord>,
    pub provider_reasons: Vec<CodeRecord>,
    pub context_results: Vec<CodeRecord>,
    pub auth_types: Vec<CodeRecord>,
    pub auth_levels: Vec<CodeRecord>,
    /// Well-known COM classes (CLSIDs seen in DCOM activation requests).
    #[serde(default)]
    pub classes: Vec<ClassRecord>,
}

/// One COM class record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassRecord {
    pub uuid: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// Parses a `code` field (decimal, `0x` hex, or negative decimal as i32).
pub fn parse_code(s: &str) -> Option<u32> {
    let t = s.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else if let Some(n) = t.strip_prefix('-') {
        n.parse::<i64>().ok().and_then(|v| i32::try_from(-v).ok()).map(|v| v as u32)
    } else {
        t.parse::<u32>().ok()
    }
}

struct Tables {
    by_uuid_ver: HashMap<(Uuid, u16), usize>,
    by_uuid: HashMap<Uuid, usize>,
    /// Every record of a UUID (all versions), in file order.
    all_by_uuid: HashMap<Uuid, Vec<usize>>,
    /// Status space per interface record (same index as `data.interfaces`).
    spaces: Vec<StatusSpace>,
    /// Per-operation status spaces: (record index, opnum).
    op_spaces: HashMap<(usize, u16), StatusSpace>,
    data: DataFile,
    nak: HashMap<u32, usize>,
    provider: HashMap<u32, usize>,
    ctx: HashMap<u32, usize>,
    authn: HashMap<u32, usize>,
    level: HashMap<u32, usize>,
    classes: HashMap<Uuid, usize>,
}

fn code_map(recs: &[CodeRecord]) -> HashMap<u32, usize> {
    let mut m = HashMap::default();
    for (i, r) in recs.iter().enumerate() {
        if let Some(c) = parse_code(&r.code) {
            m.entry(c).or_insert(i);
        }
    }
    m
}

/// Parses the core file and appends every interface block file; a block's
/// `source` is copied into its records that cite none.
fn load_data() -> DataFile {
    // The data files are validated by tests/names_data.rs; should one ever
    // fail to parse, its names are simply unavailable (numbers are shown).
    let mut data: DataFile = serde_json::from_str(DATA_JSON).unwrap_or(DataFile {
        interfaces: Vec::new(),
        bind_nak_reasons: Vec::new(),
        provider_reasons: Vec::new(),
        context_results: Vec::new(),
        auth_types: Vec::new(),
        auth_levels: Vec::new(),
        classes: Vec::new(),
    });
    for (_, json) in INTERFACE_FILES {
        if let Ok(block) = serde_json::from_str::<InterfaceFile>(json) {
            data.interfaces.extend(block.interfaces.into_iter().map(|mut r| {
                if r.source.is_empty() {
                    r.source.clone_from(&block.source);
                }
                r
            }));
        }
    }
    data
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let data = load_data();
        let mut by_uuid_ver = HashMap::default();
        let mut by_uuid = HashMap::default();
        let mut all_by_uuid: HashMap<Uuid, Vec<usize>> = HashMap::default();
        let mut spaces = Vec::with_capacity(data.interfaces.len());
        let mut op_spaces = HashMap::default();
        for (i, rec) in data.interfaces.iter().enumerate() {
            if let Ok(u) = rec.uuid.parse::<Uuid>() {
                by_uuid_ver.entry((u, rec.version)).or_insert(i);
                by_uuid.entry(u).or_insert(i);
                all_by_uuid.entry(u).or_default().push(i);
            }
            spaces.push(StatusSpace::parse(&rec.status).unwrap_or(StatusSpace::Unknown));
            for (op, sp) in &rec.op_status {
                if let (Ok(op), Some(sp)) = (op.parse::<u16>(), StatusSpace::parse(sp)) {
                    op_spaces.insert((i, op), sp);
                }
            }
        }
        Tables {
            by_uuid_ver,
            by_uuid,
            all_by_uuid,
            spaces,
            op_spaces,
            nak: code_map(&data.bind_nak_reasons),
            provider: code_map(&data.provider_reasons),
            ctx: code_map(&data.context_results),
            authn: code_map(&data.auth_types),
            level: code_map(&data.auth_levels),
            classes: data
                .classes
                .iter()
                .enumerate()
                .filter_map(|(i, c)| Some((c.uuid.parse::<Uuid>().ok()?, i)))
                .collect(),
            data,
        }
    })
}

/// The parsed data file (for listing, e.g. `tracehound rpc --list-interfaces`).
pub fn data() -> &'static DataFile {
    &tables().data
}

fn interface_index(uuid: &Uuid, ver_major: Option<u16>) -> Option<usize> {
    let t = tables();
    ver_major.and_then(|v| t.by_uuid_ver.get(&(*uuid, v))).or_else(|| t.by_uuid.get(uuid)).copied()
}

fn interface(uuid: &Uuid, ver_major: Option<u16>) -> Option<&'static InterfaceRecord> {
    tables().data.interfaces.get(interface_index(uuid, ver_major)?)
}

/// The data record of an interface (name, spec, service, source, status
/// space, opnums); same version preferred, else any version.
pub fn interface_record(uuid: &Uuid, ver_major: u16) -> Option<&'static InterfaceRecord> {
    interface(uuid, Some(ver_major))
}

/// Service / DLL that registers the interface, when known.
pub fn interface_service(uuid: &Uuid, ver_major: u16) -> Option<&'static str> {
    interface(uuid, Some(ver_major)).map(|r| r.service.as_str()).filter(|s| !s.is_empty())
}

/// How the interface's return values are read ([`StatusSpace::Unknown`]
/// for an unknown interface or one whose space is not recorded).
pub fn interface_status_space(uuid: &Uuid, ver_major: u16) -> StatusSpace {
    let t = tables();
    interface_index(uuid, Some(ver_major))
        .and_then(|i| t.spaces.get(i).copied())
        .unwrap_or(StatusSpace::Unknown)
}

/// How the return value of one operation is read: the operation's own
/// space when the interface data gives one (e.g. Netlogon's `DsrGetDcName*`
/// return Win32 codes, the rest NTSTATUS), else the interface's.
pub fn call_status_space(uuid: &Uuid, ver_major: u16, opnum: u16) -> StatusSpace {
    let t = tables();
    let Some(i) = interface_index(uuid, Some(ver_major)) else {
        return StatusSpace::Unknown;
    };
    if let Some(sp) = t.op_spaces.get(&(i, opnum)) {
        return *sp;
    }
    t.spaces.get(i).copied().unwrap_or(StatusSpace::Unknown)
}

/// Name of a call's return value read in its operation's space.
pub fn call_status_name(
    uuid: &Uuid,
    ver_major: u16,
    opnum: u16,
    code: u32,
) -> Option<&'static str> {
    status_name_in(call_status_space(uuid, ver_major, opnum), code)
}

/// Name, severity and role of a call's return value in its operation's space.
pub fn call_status_info(uuid: &Uuid, ver_major: u16, opnum: u16, code: u32) -> StatusInfo {
    status_info(call_status_space(uuid, ver_major, opnum), code)
}

/// Name of a fault PDU's status: DCE `nca_s_*` first, then the Win32,
/// HRESULT and NTSTATUS codes Windows also sends in faults.
pub fn fault_status_name(code: u32) -> Option<&'static str> {
    status_name_in(StatusSpace::Dce, code)
}

/// Interface name for a UUID; an entry with the same major version is
/// preferred, else any entry for the UUID.
pub fn interface_name(uuid: &Uuid, ver_major: u16) -> Option<&'static str> {
    if let Some((name, _)) = transfer_syntax(uuid) {
        return Some(name);
    }
    interface(uuid, Some(ver_major)).map(|r| r.name.as_str())
}

/// Specification that documents the interface (`MS-LSAD`, ...).
pub fn interface_spec(uuid: &Uuid, ver_major: u16) -> Option<&'static str> {
    interface(uuid, Some(ver_major)).map(|r| r.spec.as_str()).filter(|s| !s.is_empty())
}

/// Operation name for an interface's opnum.
pub fn opnum_name(uuid: &Uuid, opnum: u16) -> Option<&'static str> {
    let t = tables();
    // Prefer the first entry for the UUID; fall back to any version that
    // names this opnum.
    let first = t.by_uuid.get(uuid).and_then(|&i| t.data.interfaces.get(i));
    let from = |r: &'static InterfaceRecord| -> Option<&'static str> {
        r.opnums.get(opnum as usize)?.as_deref()
    };
    if let Some(n) = first.and_then(from) {
        return Some(n);
    }
    t.all_by_uuid.get(uuid)?.iter().filter_map(|&i| t.data.interfaces.get(i)).find_map(from)
}

fn lookup(
    map: &HashMap<u32, usize>,
    recs: &'static [CodeRecord],
    code: u32,
) -> Option<&'static str> {
    recs.get(*map.get(&code)?).map(|r| r.name.as_str())
}

/// Name of a status when its space is not known: DCE codes, else Win32
/// (below 0x10000), else NTSTATUS, HRESULT, WMI. Prefer
/// [`status_name_in`] / [`call_status_name`] where the interface is known.
pub fn status_name(code: u32) -> Option<&'static str> {
    status_name_in(StatusSpace::Unknown, code)
}

/// bind_nak `provider_reject_reason` (C706 p_reject_reason_t, MS-RPCE).
pub fn bind_nak_reason(code: u16) -> Option<&'static str> {
    let t = tables();
    lookup(&t.nak, &t.data.bind_nak_reasons, code as u32)
}

/// bind_ack per-context `reason` (C706 p_provider_reason_t).
pub fn provider_reason(code: u16) -> Option<&'static str> {
    let t = tables();
    lookup(&t.provider, &t.data.provider_reasons, code as u32)
}

/// bind_ack per-context `result` (C706 p_cont_def_result_t, MS-RPCE).
pub fn context_result_name(code: u16) -> Option<&'static str> {
    let t = tables();
    lookup(&t.ctx, &t.data.context_results, code as u32)
}

/// `auth_type` of the auth verifier (MS-RPCE 2.2.1.1.7).
pub fn auth_type_name(t: u8) -> Option<&'static str> {
    let tb = tables();
    lookup(&tb.authn, &tb.data.auth_types, t as u32)
}

/// `auth_level` of the auth verifier (MS-RPCE 2.2.1.1.8).
pub fn auth_level_name(l: u8) -> Option<&'static str> {
    let t = tables();
    lookup(&t.level, &t.data.auth_levels, l as u32)
}

/// Name of a well-known COM class (CLSID), e.g. from a DCOM activation.
pub fn class_name(clsid: &Uuid) -> Option<&'static str> {
    let t = tables();
    t.data.classes.get(*t.classes.get(clsid)?).map(|c| c.name.as_str())
}

/// NDR transfer syntax 2.0 and NDR64 transfer syntax 1.0 (defined in [`crate::known`]).
pub use crate::known::{NDR, NDR64};

/// Name and expected major version of a transfer syntax. The bind time
/// feature negotiation "syntax" is `6cb71c2c-9812-4540-xxxx-xxxxxxxxxxxx`
/// with the bitmask in the last eight bytes (MS-RPCE 3.3.1.5.3).
pub fn transfer_syntax(uuid: &Uuid) -> Option<(&'static str, u16)> {
    if *uuid == NDR {
        return Some(("NDR", 2));
    }
    if *uuid == NDR64 {
        return Some(("NDR64", 1));
    }
    if uuid.0[..8] == crate::known::BTFN_PREFIX {
        return Some(("bind time feature negotiation", 1));
    }
    None
}

/// Name of a transfer syntax by UUID (see [`transfer_syntax`]).
pub fn transfer_syntax_name(uuid: &Uuid) -> Option<&'static str> {
    transfer_syntax(uuid).map(|(n, _)| n)
}

/// Bind time feature negotiation bits (from the syntax UUID's 9th byte):
/// 0x01 security context multiplexing, 0x02 keep connection on orphan.
pub fn bind_time_features(uuid: &Uuid) -> Option<u8> {
    transfer_syntax(uuid).filter(|(n, _)| n.starts_with("bind time"))?;
    Some(uuid.0[8])
}
