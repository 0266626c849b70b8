//! Status spaces: how a 32-bit return value or fault status is read.
//!
//! The same number means different things in different tables: 0x80040111
//! is `MAPI_E_LOGON_FAILED` when NSPI or EMSMDB returns it and
//! `CLASS_E_CLASSNOTAVAILABLE` where a COM HRESULT is meant. Each interface
//! (and, where it differs, each operation) declares its [`StatusSpace`] in
//! the interface data; names come from that space's table
//! (`data/status/<space>.json`, embedded, each parsed once on first use).
//!
//! Layouts (MS-ERREF):
//! - NTSTATUS (2.3): `Sev:2 C:1 N:1 Facility:12 Code:16`; severity 0
//!   success, 1 informational, 2 warning, 3 error.
//! - HRESULT (2.1): `S:1 R:1 C:1 N:1 X:1 Facility:11 Code:16`; S set =
//!   failure; N set = an NTSTATUS mapped into an HRESULT
//!   (`HRESULT_FROM_NT`); facility 7 carries a Win32 code
//!   (`HRESULT_FROM_WIN32`).
//! - Win32 (2.2): 16-bit codes; 0 is success.
//! - MAPI (MS-OXCDATA 2.4): HRESULT-shaped `MAPI_E_*` / `MAPI_W_*` in
//!   FACILITY_ITF, plus small `ec*` codes.
//! - DCE (C706 Appendix E): `nca_s_*` (0x1c00xxxx, 0x1c01xxxx) and
//!   `rpc_s_*` / `ept_s_*` (0x16c9axxx).

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use rustc_hash::FxHashMap as HashMap;
use serde::Deserialize;

/// How a return value or fault status is to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusSpace {
    /// DCE `nca_s_*` / `rpc_s_*` / `ept_s_*` (fault PDUs, the endpoint
    /// mapper's `error_status_t`); Windows also puts Win32 codes here.
    Dce,
    /// Win32 error codes (`ERROR_*`, `RPC_S_*`, `NERR_*`, DS/DNS/print
    /// errors, `NET_API_STATUS`, `error_status_t`, `DWORD`).
    Win32,
    /// NTSTATUS (`STATUS_*`).
    NtStatus,
    /// COM HRESULT (`E_*`, `CO_E_*`, `RPC_E_*`, facility codes).
    HResult,
    /// WMI: `WBEM_E_*` / `WBEM_S_*` over HRESULT (MS-WMI 2.2.11).
    Wmi,
    /// Exchange MAPI (`MAPI_E_*`, `MAPI_W_*`, `ec*`; MS-OXCDATA 2.4).
    Mapi,
    /// The operation returns no status (void, a count, a handle, ...).
    None,
    /// Not known: names are guessed from the number (DCE, Win32, NTSTATUS,
    /// HRESULT, WMI in that order).
    Unknown,
}

impl StatusSpace {
    /// Every space that has a table.
    pub const TABLES: [StatusSpace; 6] = [
        StatusSpace::Dce,
        StatusSpace::Win32,
        StatusSpace::NtStatus,
        StatusSpace::HResult,
        StatusSpace::Wmi,
        StatusSpace::Mapi,
    ];

    /// Short name as used in the data files and JSON (`ntstatus`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            StatusSpace::Dce => "dce",
            StatusSpace::Win32 => "win32",
            StatusSpace::NtStatus => "ntstatus",
            StatusSpace::HResult => "hresult",
            StatusSpace::Wmi => "wmi",
            StatusSpace::Mapi => "mapi",
            StatusSpace::None => "none",
            StatusSpace::Unknown => "unknown",
        }
    }

    /// Parses a space name; accepts the aliases used by the specs
    /// (`nca`, `epm` = DCE; `drs`, `print`, `dns`, `net_api_status`,
    /// `error_status_t` = Win32).
    pub fn parse(s: &str) -> Option<StatusSpace> {
        Some(match s {
            "dce" | "nca" | "epm" => StatusSpace::Dce,
            "win32" | "drs" | "print" | "dns" | "net_api_status" | "error_status_t" => {
                StatusSpace::Win32
            }
            "ntstatus" => StatusSpace::NtStatus,
            "hresult" => StatusSpace::HResult,
            "wmi" | "wbem" => StatusSpace::Wmi,
            "mapi" => StatusSpace::Mapi,
            "none" => StatusSpace::None,
            "unknown" => StatusSpace::Unknown,
            _ => return None,
        })
    }

    /// The embedded data file of a space with a table.
    pub fn data_json(self) -> Option<&'static str> {
        Some(match self {
            StatusSpace::Dce => include_str!("../../data/status/dce.json"),
            StatusSpace::Win32 => include_str!("../../data/status/win32.json"),
            StatusSpace::NtStatus => include_str!("../../data/status/ntstatus.json"),
            StatusSpace::HResult => include_str!("../../data/status/hresult.json"),
            StatusSpace::Wmi => include_str!("../../data/status/wmi.json"),
            StatusSpace::Mapi => include_str!("../../data/status/mapi.json"),
            StatusSpace::None | StatusSpace::Unknown => return None,
        })
    }
}

impl fmt::Display for StatusSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Severity of a status, from its space's rules (NTSTATUS severity bits,
/// HRESULT failure bit, Win32 non-zero, MAPI warning vs error) with the
/// continuation codes lowered to `Info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusClass {
    /// Success (0, or a success code with no further meaning).
    Success,
    /// Success-like: more data follows, end of a list, partial answer
    /// (`STATUS_MORE_ENTRIES`, `ERROR_MORE_DATA`, `ERROR_NO_MORE_ITEMS`,
    /// `S_FALSE`, `STATUS_SOME_NOT_MAPPED`, informational NTSTATUS, ...).
    Info,
    /// Warning (NTSTATUS severity 2, `MAPI_W_*`, reboot required, ...).
    Warning,
    /// Failure.
    Error,
}

impl StatusClass {
    /// `success`, `info`, `warning`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusClass::Success => "success",
            StatusClass::Info => "info",
            StatusClass::Warning => "warning",
            StatusClass::Error => "error",
        }
    }
}

/// What a status usually means for the caller, beyond its severity: lets
/// the analysis tell a protocol's normal probes and continuations from
/// failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusRole {
    /// Nothing special.
    Plain,
    /// More data follows; the caller calls again (`ERROR_MORE_DATA`,
    /// `STATUS_MORE_ENTRIES`, `STATUS_BUFFER_OVERFLOW`).
    MoreData,
    /// The end of an enumeration (`ERROR_NO_MORE_ITEMS`,
    /// `STATUS_NO_MORE_ENTRIES`, `WBEM_S_NO_MORE_DATA`, ...).
    EndOfList,
    /// A partial or "false" success (`STATUS_SOME_NOT_MAPPED`, `S_FALSE`,
    /// `MAPI_W_ERRORS_RETURNED`).
    Partial,
    /// The buffer offered was too small: the usual size probe, normally
    /// followed by the same call with a bigger buffer
    /// (`ERROR_INSUFFICIENT_BUFFER`, `STATUS_BUFFER_TOO_SMALL`, ...).
    SizeProbe,
    /// The object does not support the interface asked for
    /// (`E_NOINTERFACE`): optional-interface probes in COM.
    NoInterface,
    /// Access denied or logon failure (`ERROR_ACCESS_DENIED`,
    /// `STATUS_LOGON_FAILURE`, `MAPI_E_LOGON_FAILED`, ...).
    Denied,
}

impl StatusRole {
    /// `plain`, `more_data`, `end_of_list`, `partial`, `size_probe`,
    /// `no_interface`, `denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusRole::Plain => "plain",
            StatusRole::MoreData => "more_data",
            StatusRole::EndOfList => "end_of_list",
            StatusRole::Partial => "partial",
            StatusRole::SizeProbe => "size_probe",
            StatusRole::NoInterface => "no_interface",
            StatusRole::Denied => "denied",
        }
    }
}

/// Everything known about one status value in one space (no allocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusInfo {
    /// The space the value was read in.
    pub space: StatusSpace,
    pub code: u32,
    /// Name from the space's table (with the space's fallbacks).
    pub name: Option<&'static str>,
    pub class: StatusClass,
    pub role: StatusRole,
}

/// One status data file (`data/status/<space>.json`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusFile {
    pub space: String,
    /// Where the facts come from.
    pub source: String,
    /// `[code ("0x..." hex), name, description]`.
    pub codes: Vec<(String, String, String)>,
}

struct Table {
    /// (name, description) per code, borrowed from the parsed file.
    by_code: HashMap<u32, (usize, usize)>,
    strings: Vec<Box<str>>,
}

fn build(space: StatusSpace) -> Table {
    let mut t = Table { by_code: HashMap::default(), strings: Vec::new() };
    let Some(json) = space.data_json() else { return t };
    // Validated by tests/names_data.rs; a broken file only loses names.
    let Ok(file) = serde_json::from_str::<StatusFile>(json) else { return t };
    t.strings.reserve(file.codes.len() * 2);
    for (code, name, desc) in file.codes {
        let Some(c) = super::parse_code(&code) else { continue };
        let n = t.strings.len();
        t.strings.push(name.into_boxed_str());
        t.strings.push(desc.into_boxed_str());
        t.by_code.entry(c).or_insert((n, n + 1));
    }
    t
}

fn table(space: StatusSpace) -> Option<&'static Table> {
    static T: [OnceLock<Table>; 6] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    let i = StatusSpace::TABLES.iter().position(|s| *s == space)?;
    Some(T.get(i)?.get_or_init(|| build(space)))
}

fn own(space: StatusSpace, code: u32) -> Option<(&'static str, &'static str)> {
    let t = table(space)?;
    let &(n, d) = t.by_code.get(&code)?;
    Some((t.strings.get(n)?, t.strings.get(d)?))
}

/// HRESULT facility field.
pub fn hresult_facility(code: u32) -> u16 {
    ((code >> 16) & 0x7ff) as u16
}

const FACILITY_ITF: u16 = 4;
const FACILITY_WIN32: u16 = 7;

fn is_dce(code: u32) -> bool {
    matches!(code >> 16, 0x1c00 | 0x1c01 | 0x16c9)
}

/// The lookup order of a space: its own table, then the tables its values
/// borrow from. MAPI never borrows FACILITY_ITF HRESULT names (those are
/// per-interface), which is what keeps 0x80040111 `MAPI_E_LOGON_FAILED`.
fn lookup(space: StatusSpace, code: u32) -> Option<(&'static str, &'static str)> {
    use StatusSpace as S;
    let small = code < 0x1_0000;
    let failure = code & 0x8000_0000 != 0;
    match space {
        S::Dce => own(S::Dce, code)
            .or_else(|| small.then(|| own(S::Win32, code)).flatten())
            .or_else(|| own(S::HResult, code))
            .or_else(|| own(S::NtStatus, code)),
        S::Win32 => own(S::Win32, code)
            .or_else(|| (!small).then(|| own(S::HResult, code)).flatten())
            .or_else(|| (!small).then(|| own(S::NtStatus, code)).flatten())
            .or_else(|| is_dce(code).then(|| own(S::Dce, code)).flatten()),
        S::NtStatus => own(S::NtStatus, code),
        S::HResult => own(S::HResult, code).or_else(|| {
            // A few interfaces return NTSTATUS-valued HRESULTs.
            (code & 0x1000_0000 != 0).then(|| own(S::NtStatus, code & !0x1000_0000)).flatten()
        }),
        S::Wmi => own(S::Wmi, code).or_else(|| own(S::HResult, code)),
        S::Mapi => own(S::Mapi, code)
            .or_else(|| {
                (failure && hresult_facility(code) != FACILITY_ITF)
                    .then(|| own(S::HResult, code))
                    .flatten()
            })
            .or_else(|| small.then(|| own(S::Win32, code)).flatten()),
        S::None => None,
        S::Unknown => {
            if is_dce(code) {
                own(S::Dce, code)
            } else if small {
                own(S::Win32, code)
            } else {
                own(S::NtStatus, code)
                    .or_else(|| own(S::HResult, code))
                    .or_else(|| own(S::Wmi, code))
            }
        }
    }
}

/// Name of `code` read in `space` (with the space's fallbacks), e.g.
/// `status_name_in(StatusSpace::Mapi, 0x80040111)` = `MAPI_E_LOGON_FAILED`.
pub fn status_name_in(space: StatusSpace, code: u32) -> Option<&'static str> {
    lookup(space, code).map(|(n, _)| n)
}

/// The documented message text of `code` in `space`, when the table has one.
pub fn status_description_in(space: StatusSpace, code: u32) -> Option<&'static str> {
    lookup(space, code).map(|(_, d)| d).filter(|d| !d.is_empty())
}

/// Number of codes in a space's own table (0 for `None` / `Unknown`).
pub fn status_table_len(space: StatusSpace) -> usize {
    table(space).map_or(0, |t| t.by_code.len())
}

/// Role of a status (see [`StatusRole`]).
pub fn status_role(space: StatusSpace, code: u32) -> StatusRole {
    use StatusRole as R;
    use StatusSpace as S;
    let win32_role = |c: u32| match c {
        234 => R::MoreData,              // ERROR_MORE_DATA
        259 | 18 | 1112 => R::EndOfList, // NO_MORE_ITEMS / FILES / MEDIA
        1301 => R::Partial,              // ERROR_SOME_NOT_MAPPED
        122 | 111 => R::SizeProbe,       // INSUFFICIENT_BUFFER, BUFFER_OVERFLOW
        // ACCESS_DENIED, LOGON_FAILURE, ACCOUNT_RESTRICTION, PASSWORD_EXPIRED,
        // ACCOUNT_DISABLED, LOGON_TYPE_NOT_GRANTED, PASSWORD_MUST_CHANGE,
        // ACCOUNT_LOCKED_OUT
        5 | 1326 | 1327 | 1330 | 1331 | 1385 | 1907 | 1909 => R::Denied,
        _ => R::Plain,
    };
    let nt_role = |c: u32| match c {
        0x0000_0105 | 0x8000_0005 => R::MoreData, // MORE_ENTRIES, BUFFER_OVERFLOW
        0x8000_001a | 0x8000_0006 | 0x8000_0011 => R::EndOfList, // NO_MORE_ENTRIES / FILES / EAS
        0x0000_0107 => R::Partial,                // SOME_NOT_MAPPED
        0xc000_0023 | 0xc000_0004 => R::SizeProbe, // BUFFER_TOO_SMALL, INFO_LENGTH_MISMATCH
        0xc000_0022 | 0xc000_006d | 0xc000_006e | 0xc000_006f | 0xc000_0070 | 0xc000_0071
        | 0xc000_0072 | 0xc000_0193 | 0xc000_0224 | 0xc000_015b | 0xc000_0234 => R::Denied,
        _ => R::Plain,
    };
    let hr_role = |c: u32| match c {
        0x0000_0001 => R::Partial,     // S_FALSE
        0x8000_4002 => R::NoInterface, // E_NOINTERFACE
        0x8007_0005 | 0x8001_011b | 0x8009_030c => R::Denied,
        c if hresult_facility(c) == FACILITY_WIN32 && c & 0x8000_0000 != 0 => {
            win32_role(c & 0xffff)
        }
        c if c & 0x1000_0000 != 0 => nt_role(c & !0x1000_0000),
        _ => R::Plain,
    };
    match space {
        S::Win32 if code < 0x1_0000 => win32_role(code),
        S::Win32 => hr_role(code),
        S::NtStatus => nt_role(code),
        S::HResult => hr_role(code),
        S::Wmi => match code {
            0x0004_0005 | 0x0000_0001 => R::EndOfList, // WBEM_S_NO_MORE_DATA, WBEM_S_FALSE
            0x0004_0010 | 0x0004_0009 => R::Partial,
            0x8004_1003 => R::Denied,
            c => hr_role(c),
        },
        S::Mapi => match code {
            0x0004_0380 | 0x0004_0680 => R::Partial,
            0x8004_0111 | 0x8007_0005 | 0x8004_0120 | 0x8004_0121 | 0x8004_0124 => R::Denied,
            0x0000_047d => R::SizeProbe,
            0x8004_0402 => R::EndOfList,
            c => hr_role(c),
        },
        S::Dce if code < 0x1_0000 => win32_role(code),
        S::Dce => R::Plain,
        S::None => R::Plain,
        S::Unknown => {
            if is_dce(code) {
                R::Plain
            } else if code < 0x1_0000 {
                win32_role(code)
            } else if own(S::NtStatus, code).is_some() {
                nt_role(code)
            } else {
                hr_role(code)
            }
        }
    }
}

/// Severity of `code` in `space` (see [`StatusClass`]).
pub fn status_severity(space: StatusSpace, code: u32) -> StatusClass {
    use StatusClass as C;
    use StatusSpace as S;
    if code == 0 {
        return C::Success;
    }
    if matches!(
        status_role(space, code),
        StatusRole::MoreData | StatusRole::EndOfList | StatusRole::Partial
    ) {
        return C::Info;
    }
    let nt = |c: u32| match c >> 30 {
        0 => C::Info,
        1 => C::Info,
        2 => C::Warning,
        _ => C::Error,
    };
    let hr = |c: u32| if c & 0x8000_0000 != 0 { C::Error } else { C::Info };
    match space {
        S::None => C::Success,
        S::Win32 if code < 0x1_0000 => match code {
            3010 | 3011 | 1641 => C::Warning, // reboot required / initiated
            _ => C::Error,
        },
        S::Win32 | S::HResult | S::Wmi => hr(code),
        S::Mapi => {
            if code & 0x8000_0000 != 0 {
                C::Error
            } else if code >> 16 == 0x0004 {
                C::Warning
            } else {
                C::Error // small ec* codes are failures
            }
        }
        S::NtStatus => nt(code),
        S::Dce => C::Error,
        S::Unknown => {
            if is_dce(code) || code < 0x1_0000 {
                C::Error
            } else if own(S::NtStatus, code).is_some() {
                nt(code)
            } else {
                hr(code)
            }
        }
    }
}

/// Name, severity and role of `code` in `space`.
pub fn status_info(space: StatusSpace, code: u32) -> StatusInfo {
    StatusInfo {
        space,
        code,
        name: status_name_in(space, code),
        class: status_severity(space, code),
        role: status_role(space, code),
    }
}

/// Name of an HRESULT / NTSTATUS facility number.
pub fn hresult_facility_name(facility: u16) -> Option<&'static str> {
    Some(match facility {
        0 => "NULL",
        1 => "RPC",
        2 => "DISPATCH",
        3 => "STORAGE",
        4 => "ITF",
        7 => "WIN32",
        8 => "WINDOWS",
        9 => "SECURITY",
        10 => "CONTROL",
        11 => "CERT",
        12 => "INTERNET",
        13 => "MEDIASERVER",
        14 => "MSMQ",
        15 => "SETUPAPI",
        16 => "SCARD",
        17 => "COMPLUS",
        18 => "AAF",
        19 => "URT",
        20 => "ACS",
        21 => "DPLAY",
        22 => "UMI",
        23 => "SXS",
        24 => "WINDOWS_CE",
        25 => "HTTP",
        26 => "USERMODE_COMMONLOG",
        31 => "USERMODE_FILTER_MANAGER",
        32 => "BACKGROUNDCOPY",
        33 => "CONFIGURATION",
        34 => "STATE_MANAGEMENT",
        35 => "METADIRECTORY",
        36 => "WINDOWSUPDATE",
        37 => "DIRECTORYSERVICE",
        38 => "GRAPHICS",
        39 => "SHELL",
        40 => "TPM_SERVICES",
        41 => "TPM_SOFTWARE",
        48 => "PLA",
        49 => "FVE",
        50 => "FWP",
        51 => "WINRM",
        52 => "NDIS",
        53 => "USERMODE_HYPERVISOR",
        54 => "CMI",
        55 => "USERMODE_VIRTUALIZATION",
        56 => "USERMODE_VOLMGR",
        57 => "BCD",
        58 => "USERMODE_VHD",
        60 => "SDIAG",
        61 => "WEBSERVICES",
        80 => "WINDOWS_DEFENDER",
        81 => "OPC",
        _ => return None,
    })
}

/// Text for `code` in `space`: its name when known (borrowed, no
/// allocation), else a decoded form, e.g. `HRESULT facility WIN32 code 5 =
/// ERROR_ACCESS_DENIED`, `NTSTATUS error facility 0x2 code 0x1234`, or hex.
pub fn status_text_in(space: StatusSpace, code: u32) -> Cow<'static, str> {
    if let Some(n) = status_name_in(space, code) {
        return Cow::Borrowed(n);
    }
    Cow::Owned(decode_unknown(space, code))
}

fn decode_unknown(space: StatusSpace, code: u32) -> String {
    use StatusSpace as S;
    let hresult_like = matches!(space, S::HResult | S::Wmi | S::Mapi)
        || (matches!(space, S::Win32 | S::Unknown | S::Dce)
            && code & 0x8000_0000 != 0
            && !is_dce(code));
    if space == S::NtStatus || (hresult_like && code & 0x1000_0000 != 0) {
        let nt = code & !0x1000_0000;
        let sev = match nt >> 30 {
            0 => "success",
            1 => "informational",
            2 => "warning",
            _ => "error",
        };
        let customer = if nt & 0x2000_0000 != 0 { " customer" } else { "" };
        return format!(
            "0x{code:08x} (NTSTATUS {sev}{customer} facility 0x{:x} code 0x{:04x})",
            (nt >> 16) & 0xfff,
            nt & 0xffff
        );
    }
    if hresult_like && code >= 0x1_0000 {
        let fac = hresult_facility(code);
        let fac_name = hresult_facility_name(fac).map_or_else(|| fac.to_string(), str::to_string);
        let kind = if code & 0x8000_0000 != 0 { "failure" } else { "success" };
        let low = code & 0xffff;
        if fac == FACILITY_WIN32 {
            if let Some(w) = own(S::Win32, low) {
                return format!(
                    "0x{code:08x} (HRESULT {kind} facility WIN32 code {low} = {})",
                    w.0
                );
            }
        }
        return format!("0x{code:08x} (HRESULT {kind} facility {fac_name} code 0x{low:04x})");
    }
    format!("0x{code:08x}")
}
