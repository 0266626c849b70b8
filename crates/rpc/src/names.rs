//! Names for DCE/RPC numbers: interfaces, operations, status codes, bind
//! reject and provider reasons, auth types and levels, transfer syntaxes.
//!
//! The tables live in `data/names.json` (embedded at build time, parsed once
//! on first use into static maps); `tests/names_data.rs` validates the file.
//! Sources: C706 (DCE 1.1 RPC), MS-RPCE, and the Windows protocol
//! specifications (MS-LSAD, MS-SAMR, MS-NRPC, MS-DRSR, MS-SRVS, MS-WKST,
//! MS-RRP, MS-SCMR, MS-TSCH, MS-EVEN, MS-EVEN6, MS-RPRN, MS-DNSP, MS-DCOM,
//! MS-WMI, MS-OXCRPC, MS-NSPI, MS-OXABREF, MS-ERREF, ...).
//!
//! Unknown values give `None`; callers show the number.
//!
//! ```
//! use tracehound_rpc::{names, uuid::Uuid};
//! let lsa: Uuid = "12345778-1234-abcd-ef00-0123456789ab".parse().unwrap();
//! assert_eq!(names::interface_name(&lsa, 0), Some("lsarpc"));
//! assert_eq!(names::opnum_name(&lsa, 0), Some("LsarClose"));
//! assert_eq!(names::status_name(0x1c010003), Some("nca_s_unk_if"));
//! assert_eq!(names::status_name(0x1234_5678), None);
//! ```

use rustc_hash::FxHashMap as HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::uuid::Uuid;

/// The embedded data file.
pub const DATA_JSON: &str = include_str!("../data/names.json");

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
    pub statuses: Vec<CodeRecord>,
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
    data: DataFile,
    statuses: HashMap<u32, usize>,
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

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        // The data file is validated by tests/names_data.rs; should it ever
        // fail to parse, names are simply unavailable (numbers are shown).
        let data: DataFile = serde_json::from_str(DATA_JSON).unwrap_or(DataFile {
            interfaces: Vec::new(),
            statuses: Vec::new(),
            bind_nak_reasons: Vec::new(),
            provider_reasons: Vec::new(),
            context_results: Vec::new(),
            auth_types: Vec::new(),
            auth_levels: Vec::new(),
            classes: Vec::new(),
        });
        let mut by_uuid_ver = HashMap::default();
        let mut by_uuid = HashMap::default();
        let mut all_by_uuid: HashMap<Uuid, Vec<usize>> = HashMap::default();
        for (i, rec) in data.interfaces.iter().enumerate() {
            if let Ok(u) = rec.uuid.parse::<Uuid>() {
                by_uuid_ver.entry((u, rec.version)).or_insert(i);
                by_uuid.entry(u).or_insert(i);
                all_by_uuid.entry(u).or_default().push(i);
            }
        }
        Tables {
            by_uuid_ver,
            by_uuid,
            all_by_uuid,
            statuses: code_map(&data.statuses),
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

fn interface(uuid: &Uuid, ver_major: Option<u16>) -> Option<&'static InterfaceRecord> {
    let t = tables();
    let idx =
        ver_major.and_then(|v| t.by_uuid_ver.get(&(*uuid, v))).or_else(|| t.by_uuid.get(uuid))?;
    t.data.interfaces.get(*idx)
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

/// Name of a status: DCE nca_s_* fault codes, EPM/RPC statuses, Win32
/// errors, NTSTATUS, HRESULTs.
pub fn status_name(code: u32) -> Option<&'static str> {
    let t = tables();
    lookup(&t.statuses, &t.data.statuses, code)
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

/// NDR transfer syntax 2.0.
pub const NDR: Uuid = Uuid::from_str_const("8a885d04-1ceb-11c9-9fe8-08002b104860");
/// NDR64 transfer syntax 1.0.
pub const NDR64: Uuid = Uuid::from_str_const("71710533-beba-4937-8319-b5dbef9ccc36");

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
    if uuid.0[..8] == [0x6c, 0xb7, 0x1c, 0x2c, 0x98, 0x12, 0x45, 0x40] {
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
