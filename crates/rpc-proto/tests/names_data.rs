#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! Validates crates/rpc-proto/data/ (the interface / opnum / status tables behind
//! `tracehound_rpc_proto::names`): every file parses with no unknown fields, UUIDs
//! are canonical, no UUID+version appears twice across the files, opnum
//! tables have no unnamed slots (reserved opnums carry the spec's
//! `Opnum<N>NotUsedOnWire`-style names), every interface's status space
//! exists, every status table is well formed, and well-known entries have
//! the exact names we expect (from the protocol documents). The fixture
//! lists (impacket's KNOWN_PROTOCOLS, Zeek's dce_rpc interfaces; provenance
//! in their headers) must all be named, and every interface of an MS-*/MC-*
//! document has an operation table or a written reason in
//! fixtures/names/opnum_exceptions.txt.

use std::collections::{HashMap, HashSet};

use tracehound_rpc_proto::names::{
    self, parse_code, CodeRecord, DataFile, InterfaceFile, InterfaceRecord, StatusFile,
    StatusSpace, DATA_JSON, INTERFACE_FILES,
};
use tracehound_rpc_proto::uuid::Uuid;

/// The core file with every interface block appended (as the library loads it).
fn data() -> DataFile {
    let mut d: DataFile =
        serde_json::from_str(DATA_JSON).expect("data/names.json must parse (no unknown fields)");
    for (file, json) in INTERFACE_FILES {
        let block: InterfaceFile = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("data/interfaces/{file} must parse: {e}"));
        assert!(!block.source.trim().is_empty(), "{file}: block source missing");
        d.interfaces.extend(block.interfaces);
    }
    d
}

fn u(s: &str) -> Uuid {
    s.parse().unwrap()
}

#[test]
fn interfaces_are_well_formed() {
    let d = data();
    assert!(d.interfaces.len() >= 650, "only {} interfaces", d.interfaces.len());
    let mut seen = HashSet::new();
    for rec in &d.interfaces {
        check_status_fields(rec);
        let parsed: Uuid =
            rec.uuid.parse().unwrap_or_else(|e| panic!("{}: bad UUID: {e}", rec.name));
        assert_eq!(parsed.to_string(), rec.uuid, "{}: UUID must be lowercase canonical", rec.name);
        assert!(
            seen.insert((parsed, rec.version)),
            "duplicate UUID+version {} v{} ({})",
            rec.uuid,
            rec.version,
            rec.name
        );
        assert!(!rec.name.trim().is_empty(), "{}: empty name", rec.uuid);
        let mut names = HashSet::new();
        for (opnum, name) in rec.opnums.iter().enumerate() {
            let Some(n) = name else {
                panic!(
                    "{} opnum {opnum}: unnamed slot (name reserved opnums as the spec does)",
                    rec.name
                )
            };
            {
                assert!(
                    !n.is_empty() && !n.contains(char::is_whitespace),
                    "{} opnum {opnum}: bad name {n:?}",
                    rec.name
                );
                assert!(names.insert(n.as_str()), "{}: opnum name {n} used twice", rec.name);
            }
        }
    }
}

/// The interface's status space (and per-operation overrides) must name a
/// space that exists; a space with a table must have its table.
fn check_status_fields(rec: &InterfaceRecord) {
    if !rec.status.is_empty() {
        let sp = StatusSpace::parse(&rec.status)
            .unwrap_or_else(|| panic!("{}: unknown status space {:?}", rec.name, rec.status));
        assert!(
            matches!(sp, StatusSpace::None | StatusSpace::Unknown) || sp.data_json().is_some(),
            "{}: space {sp} has no table",
            rec.name
        );
    }
    for (op, sp) in &rec.op_status {
        let n: usize = op.parse().unwrap_or_else(|_| panic!("{}: op_status key {op:?}", rec.name));
        assert!(n < rec.opnums.len(), "{}: op_status for opnum {n} beyond the table", rec.name);
        assert!(StatusSpace::parse(sp).is_some(), "{}: op_status space {sp:?}", rec.name);
    }
}

fn check_codes(what: &str, recs: &[CodeRecord], max: u32) -> HashMap<u32, String> {
    let mut by_code = HashMap::new();
    let mut names = HashSet::new();
    for r in recs {
        let c = parse_code(&r.code).unwrap_or_else(|| panic!("{what}: bad code {:?}", r.code));
        assert!(c <= max, "{what}: code {c:#x} out of range");
        assert!(
            by_code.insert(c, r.name.clone()).is_none(),
            "{what}: code {} listed twice",
            r.code
        );
        assert!(names.insert(r.name.clone()), "{what}: name {} listed twice", r.name);
        assert!(!r.name.is_empty() && !r.name.contains(' '), "{what}: bad name {:?}", r.name);
    }
    by_code
}

#[test]
fn classes_are_well_formed() {
    let d = data();
    let mut seen = HashSet::new();
    for c in &d.classes {
        let u: Uuid = c.uuid.parse().unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(u.to_string(), c.uuid, "{}: UUID must be lowercase canonical", c.name);
        assert!(seen.insert(u), "class {} listed twice", c.uuid);
    }
    assert_eq!(
        names::class_name(&u("8bc3f05e-d86b-11d0-a075-00c04fb68820")),
        Some("WbemLevel1Login")
    );
    assert_eq!(
        names::class_name(&u("49b2791a-b1ae-4c90-9b8e-e860ba07f889")),
        Some("MMC20.Application")
    );
    assert_eq!(names::class_name(&u("00000000-0000-0000-0000-000000000001")), None);
}

#[test]
fn codes_are_unique() {
    let d = data();
    check_codes("bind_nak_reasons", &d.bind_nak_reasons, 0xffff);
    check_codes("provider_reasons", &d.provider_reasons, 0xffff);
    check_codes("context_results", &d.context_results, 0xffff);
    check_codes("auth_types", &d.auth_types, 0xff);
    check_codes("auth_levels", &d.auth_levels, 0xff);
}

#[test]
fn well_known_interfaces() {
    let cases = [
        ("e1af8308-5d1f-11c9-91a4-08002b14a0fa", 3, "epmapper"),
        ("12345778-1234-abcd-ef00-0123456789ab", 0, "lsarpc"),
        ("12345778-1234-abcd-ef00-0123456789ac", 1, "samr"),
        ("12345678-1234-abcd-ef00-01234567cffb", 1, "netlogon"),
        ("e3514235-4b06-11d1-ab04-00c04fc2dcd2", 4, "drsuapi"),
        ("3919286a-b10c-11d0-9ba8-00c04fd92ef5", 0, "dssetup"),
        ("4b324fc8-1670-01d3-1278-5a47bf6ee188", 3, "srvsvc"),
        ("6bffd098-a112-3610-9833-46c3f87e345a", 1, "wkssvc"),
        ("338cd001-2244-31f1-aaaa-900038001003", 1, "winreg"),
        ("367abb81-9844-35f1-ad32-98f038001003", 2, "svcctl"),
        ("1ff70682-0a51-30e8-076d-740be8cee98b", 1, "atsvc"),
        ("86d35949-83c9-4044-b424-db363231fd0c", 1, "ITaskSchedulerService"),
        ("378e52b0-c0a9-11cf-822d-00aa0051e40f", 1, "sasec"),
        ("82273fdc-e32a-18c3-3f78-827929dc23ea", 0, "eventlog"),
        ("f6beaff7-1e19-4fbb-9f8f-b89e2018337c", 1, "IEventService"),
        ("12345678-1234-abcd-ef00-0123456789ab", 1, "spoolss"),
        ("50abc2a4-574d-40b3-9d66-ee4fd5fba076", 5, "DnsServer"),
        ("000001a0-0000-0000-c000-000000000046", 0, "IRemoteSCMActivator (ISystemActivator)"),
        ("4d9f4ab8-7d1c-11cf-861e-0020af6e7c57", 0, "IActivation"),
        ("99fcfec4-5260-101b-bbcb-00aa0021347a", 0, "IObjectExporter"),
        ("00000131-0000-0000-c000-000000000046", 0, "IRemUnknown"),
        ("00000143-0000-0000-c000-000000000046", 0, "IRemUnknown2"),
        ("f309ad18-d86a-11d0-a075-00c04fb68820", 0, "IWbemLevel1Login"),
        ("9556dc99-828c-11cf-a37e-00aa003240c7", 0, "IWbemServices"),
        ("f5cc5a18-4264-101a-8c59-08002b2f8426", 56, "NSPI"),
        ("a4f1db00-ca47-1067-b31f-00dd010662da", 0, "EMSMDB"),
        ("1544f5e0-613c-11d1-93df-00c04fd7bd09", 1, "RFR"),
        ("3dde7c30-165d-11d1-ab8f-00805f14db40", 1, "BackupKey"),
        ("91ae6020-9e3c-11cf-8d7c-00aa00c091be", 0, "ICertPassage"),
        ("76f03f96-cdfd-44fc-a22c-64950a001209", 1, "IRemoteWinspool"),
        ("897e2e5f-93f3-4376-9c9c-fd2277495c27", 1, "FrsTransport"),
        ("c681d488-d850-11d0-8c52-00c04fd90f7e", 1, "efsrpc (lsarpc pipe)"),
    ];
    for (uuid, ver, name) in cases {
        assert_eq!(names::interface_name(&u(uuid), ver), Some(name), "{uuid} v{ver}");
    }
    // Version fallback: an unknown version still names the interface.
    assert_eq!(names::interface_name(&u("12345778-1234-abcd-ef00-0123456789ac"), 9), Some("samr"));
    // Transfer syntaxes.
    assert_eq!(names::interface_name(&u("8a885d04-1ceb-11c9-9fe8-08002b104860"), 2), Some("NDR"));
    assert_eq!(names::interface_name(&u("71710533-beba-4937-8319-b5dbef9ccc36"), 1), Some("NDR64"));
    let btfn = u("6cb71c2c-9812-4540-0300-000000000000");
    assert_eq!(names::transfer_syntax_name(&btfn), Some("bind time feature negotiation"));
    assert_eq!(names::bind_time_features(&btfn), Some(3));
    assert_eq!(names::interface_name(&u("01234567-89ab-cdef-0123-456789abcdef"), 0), None);
}

#[test]
fn well_known_opnums() {
    let cases = [
        ("e1af8308-5d1f-11c9-91a4-08002b14a0fa", 3, "ept_map"),
        ("e1af8308-5d1f-11c9-91a4-08002b14a0fa", 2, "ept_lookup"),
        ("e1af8308-5d1f-11c9-91a4-08002b14a0fa", 4, "ept_lookup_handle_free"),
        ("12345778-1234-abcd-ef00-0123456789ab", 44, "LsarOpenPolicy2"),
        ("12345778-1234-abcd-ef00-0123456789ab", 76, "LsarLookupSids3"),
        ("12345778-1234-abcd-ef00-0123456789ac", 64, "SamrConnect5"),
        ("12345778-1234-abcd-ef00-0123456789ac", 17, "SamrLookupNamesInDomain"),
        ("12345678-1234-abcd-ef00-01234567cffb", 4, "NetrServerReqChallenge"),
        ("12345678-1234-abcd-ef00-01234567cffb", 26, "NetrServerAuthenticate3"),
        ("12345678-1234-abcd-ef00-01234567cffb", 30, "NetrServerPasswordSet2"),
        ("12345678-1234-abcd-ef00-01234567cffb", 39, "NetrLogonSamLogonEx"),
        ("e3514235-4b06-11d1-ab04-00c04fc2dcd2", 3, "IDL_DRSGetNCChanges"),
        ("e3514235-4b06-11d1-ab04-00c04fc2dcd2", 12, "IDL_DRSCrackNames"),
        ("4b324fc8-1670-01d3-1278-5a47bf6ee188", 15, "NetrShareEnum"),
        ("4b324fc8-1670-01d3-1278-5a47bf6ee188", 12, "NetrSessionEnum"),
        ("6bffd098-a112-3610-9833-46c3f87e345a", 2, "NetrWkstaUserEnum"),
        ("338cd001-2244-31f1-aaaa-900038001003", 22, "BaseRegSetValue"),
        ("367abb81-9844-35f1-ad32-98f038001003", 15, "ROpenSCManagerW"),
        ("367abb81-9844-35f1-ad32-98f038001003", 12, "RCreateServiceW"),
        ("367abb81-9844-35f1-ad32-98f038001003", 64, "ROpenSCManager2"),
        ("1ff70682-0a51-30e8-076d-740be8cee98b", 0, "NetrJobAdd"),
        ("86d35949-83c9-4044-b424-db363231fd0c", 1, "SchRpcRegisterTask"),
        ("82273fdc-e32a-18c3-3f78-827929dc23ea", 0, "ElfrClearELFW"),
        ("f6beaff7-1e19-4fbb-9f8f-b89e2018337c", 6, "EvtRpcClearLog"),
        (
            "12345678-1234-abcd-ef00-0123456789ab",
            65,
            "RpcRemoteFindFirstPrinterChangeNotificationEx",
        ),
        ("12345678-1234-abcd-ef00-0123456789ab", 89, "RpcAddPrinterDriverEx"),
        ("50abc2a4-574d-40b3-9d66-ee4fd5fba076", 0, "R_DnssrvOperation"),
        ("000001a0-0000-0000-c000-000000000046", 4, "RemoteCreateInstance"),
        ("000001a0-0000-0000-c000-000000000046", 3, "RemoteGetClassObject"),
        ("4d9f4ab8-7d1c-11cf-861e-0020af6e7c57", 0, "RemoteActivation"),
        ("99fcfec4-5260-101b-bbcb-00aa0021347a", 5, "ServerAlive2"),
        ("99fcfec4-5260-101b-bbcb-00aa0021347a", 4, "ResolveOxid2"),
        ("00000143-0000-0000-c000-000000000046", 6, "RemQueryInterface2"),
        ("f309ad18-d86a-11d0-a075-00c04fb68820", 6, "NTLMLogin"),
        ("9556dc99-828c-11cf-a37e-00aa003240c7", 20, "ExecQuery"),
        ("9556dc99-828c-11cf-a37e-00aa003240c7", 24, "ExecMethod"),
        ("f5cc5a18-4264-101a-8c59-08002b2f8426", 0, "NspiBind"),
        ("a4f1db00-ca47-1067-b31f-00dd010662da", 10, "EcDoConnectEx"),
        ("a4f1db00-ca47-1067-b31f-00dd010662da", 11, "EcDoRpcExt2"),
        ("897e2e5f-93f3-4376-9c9c-fd2277495c27", 0, "CheckConnectivity"),
        ("df1941c5-fe89-4e79-bf10-463657acf44d", 0, "EfsRpcOpenFileRaw"),
    ];
    for (uuid, op, name) in cases {
        assert_eq!(names::opnum_name(&u(uuid), op), Some(name), "{uuid} opnum {op}");
    }
    assert_eq!(names::opnum_name(&u("e1af8308-5d1f-11c9-91a4-08002b14a0fa"), 99), None);
}

#[test]
fn well_known_codes() {
    let st = [
        (0x1c01_0002, "nca_s_op_rng_error"),
        (0x1c01_0003, "nca_s_unk_if"),
        (0x1c00_001c, "nca_s_invalid_pres_context_id"),
        (0x1c00_0012, "nca_s_fault_unspec"),
        (0x16c9_a0d6, "ept_s_not_registered"),
        (0x16c9_a0d7, "ept_s_server_unavailable"),
        (0x6d8, "EPT_S_CANT_PERFORM_OP"),
        (5, "ERROR_ACCESS_DENIED"),
        (1722, "RPC_S_SERVER_UNAVAILABLE"),
        (1753, "EPT_S_NOT_REGISTERED"),
        (1783, "RPC_X_BAD_STUB_DATA"),
        (1745, "RPC_S_PROCNUM_OUT_OF_RANGE"),
        (0xc000_0022, "STATUS_ACCESS_DENIED"),
        (0xc000_006d, "STATUS_LOGON_FAILURE"),
        (0x8007_0005, "E_ACCESSDENIED"),
        (0x8000_4002, "E_NOINTERFACE"),
        (0x8008_0005, "CO_E_SERVER_EXEC_FAILURE"),
        (0x8001_0108, "RPC_E_DISCONNECTED"),
        (0x8004_1003, "WBEM_E_ACCESS_DENIED"),
        (0x8004_100e, "WBEM_E_INVALID_NAMESPACE"),
    ];
    for (c, n) in st {
        assert_eq!(names::status_name(c), Some(n), "{c:#x}");
    }
    assert_eq!(names::status_name(0xdead_beef), None);
    assert_eq!(names::bind_nak_reason(4), Some("protocol_version_not_supported"));
    assert_eq!(names::bind_nak_reason(8), Some("authentication_type_not_recognized"));
    assert_eq!(names::bind_nak_reason(999), None);
    assert_eq!(names::provider_reason(1), Some("abstract_syntax_not_supported"));
    assert_eq!(names::provider_reason(2), Some("proposed_transfer_syntaxes_not_supported"));
    assert_eq!(names::context_result_name(3), Some("negotiate_ack"));
    assert_eq!(names::auth_type_name(10), Some("RPC_C_AUTHN_WINNT"));
    assert_eq!(names::auth_type_name(9), Some("RPC_C_AUTHN_GSS_NEGOTIATE"));
    assert_eq!(names::auth_type_name(16), Some("RPC_C_AUTHN_GSS_KERBEROS"));
    assert_eq!(names::auth_type_name(68), Some("RPC_C_AUTHN_NETLOGON"));
    assert_eq!(names::auth_type_name(200), None);
    assert_eq!(names::auth_level_name(6), Some("RPC_C_AUTHN_LEVEL_PKT_PRIVACY"));
    assert_eq!(names::auth_level_name(7), None);
}

/// Minimum table sizes: the complete documented sets (MS-ERREF 2.1, 2.2,
/// 2.3 as transcribed by impacket; MS-OXCDATA 2.4; C706; MS-WMI).
const MIN_CODES: [(StatusSpace, usize); 6] = [
    (StatusSpace::NtStatus, 1790),
    (StatusSpace::Win32, 2750),
    (StatusSpace::HResult, 2900),
    (StatusSpace::Mapi, 80),
    (StatusSpace::Dce, 70),
    (StatusSpace::Wmi, 60),
];

#[test]
fn status_tables_are_well_formed() {
    for (space, min) in MIN_CODES {
        let json = space.data_json().unwrap_or_else(|| panic!("{space}: no table"));
        let f: StatusFile = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("data/status/{space}.json must parse: {e}"));
        assert_eq!(StatusSpace::parse(&f.space), Some(space), "{space}: space field {}", f.space);
        assert!(!f.source.trim().is_empty(), "{space}: source missing");
        let mut codes = HashSet::new();
        let mut names = HashSet::new();
        for (code, name, _desc) in &f.codes {
            let c = parse_code(code).unwrap_or_else(|| panic!("{space}: bad code {code:?}"));
            assert!(code.starts_with("0x") && code.len() == 10, "{space}: code {code} not 0x%08x");
            assert!(codes.insert(c), "{space}: code {code} listed twice");
            assert!(names.insert(name.as_str()), "{space}: name {name} listed twice");
            assert!(
                !name.is_empty()
                    && name.chars().all(|ch| ch.is_ascii_alphanumeric() || "_()".contains(ch)),
                "{space}: bad name {name:?}"
            );
        }
        assert!(codes.len() >= min, "{space}: only {} codes (want >= {min})", codes.len());
        assert_eq!(names::status_table_len(space), codes.len(), "{space}: loaded table size");
    }
}

#[test]
fn status_spaces_per_interface() {
    let nspi = u("f5cc5a18-4264-101a-8c59-08002b2f8426");
    let emsmdb = u("a4f1db00-ca47-1067-b31f-00dd010662da");
    let netlogon = u("12345678-1234-abcd-ef00-01234567cffb");
    let lsa = u("12345778-1234-abcd-ef00-0123456789ab");
    let srvsvc = u("4b324fc8-1670-01d3-1278-5a47bf6ee188");
    let rem2 = u("00000143-0000-0000-c000-000000000046");
    let wbem = u("9556dc99-828c-11cf-a37e-00aa003240c7");
    let epm = u("e1af8308-5d1f-11c9-91a4-08002b14a0fa");
    assert_eq!(names::call_status_space(&nspi, 56, 0), StatusSpace::Mapi);
    assert_eq!(names::call_status_space(&emsmdb, 0, 10), StatusSpace::Mapi);
    assert_eq!(names::call_status_space(&lsa, 0, 44), StatusSpace::NtStatus);
    assert_eq!(names::call_status_space(&srvsvc, 3, 15), StatusSpace::Win32);
    assert_eq!(names::call_status_space(&rem2, 0, 6), StatusSpace::HResult);
    assert_eq!(names::call_status_space(&wbem, 0, 20), StatusSpace::Wmi);
    assert_eq!(names::call_status_space(&epm, 3, 3), StatusSpace::Dce);
    // Netlogon: NTSTATUS, except the Dsr*/NetrLogonControl* NET_API_STATUS calls.
    assert_eq!(names::call_status_space(&netlogon, 1, 26), StatusSpace::NtStatus);
    assert_eq!(names::call_status_space(&netlogon, 1, 34), StatusSpace::Win32);
    assert_eq!(names::call_status_space(&netlogon, 1, 18), StatusSpace::Win32);
    assert_eq!(
        names::call_status_space(&u("01234567-89ab-cdef-0123-456789abcdef"), 1, 0),
        StatusSpace::Unknown
    );
    // One number, two tables: the interface decides.
    assert_eq!(names::call_status_name(&nspi, 56, 0, 0x8004_0111), Some("MAPI_E_LOGON_FAILED"));
    assert_eq!(names::call_status_name(&emsmdb, 0, 10, 0x8004_0111), Some("MAPI_E_LOGON_FAILED"));
    assert_eq!(
        names::call_status_name(&rem2, 0, 6, 0x8004_0111),
        Some("CLASS_E_CLASSNOTAVAILABLE")
    );
    assert_eq!(names::call_status_name(&lsa, 0, 44, 0xc000_0022), Some("STATUS_ACCESS_DENIED"));
    assert_eq!(names::call_status_name(&srvsvc, 3, 15, 5), Some("ERROR_ACCESS_DENIED"));
    assert_eq!(names::call_status_name(&wbem, 0, 20, 0x8004_1003), Some("WBEM_E_ACCESS_DENIED"));
    // MAPI borrows non-interface HRESULTs and Win32-range ec codes.
    assert_eq!(names::status_name_in(StatusSpace::Mapi, 0x8007_0005), Some("MAPI_E_NO_ACCESS"));
    assert_eq!(names::status_name_in(StatusSpace::Mapi, 0x0000_03f2), Some("ecLoginPerm"));
    assert_eq!(names::status_name_in(StatusSpace::Mapi, 0x8004_0154), None);
    // A space with no status.
    assert_eq!(names::status_name_in(StatusSpace::None, 5), None);
}

#[test]
fn status_severity_and_role() {
    use names::{StatusClass as C, StatusRole as R};
    let cases = [
        (StatusSpace::NtStatus, 0, C::Success, R::Plain),
        (StatusSpace::NtStatus, 0x0000_0105, C::Info, R::MoreData), // STATUS_MORE_ENTRIES
        (StatusSpace::NtStatus, 0x0000_0107, C::Info, R::Partial),  // STATUS_SOME_NOT_MAPPED
        (StatusSpace::NtStatus, 0x8000_001a, C::Info, R::EndOfList), // STATUS_NO_MORE_ENTRIES
        (StatusSpace::NtStatus, 0x8000_0005, C::Info, R::MoreData), // STATUS_BUFFER_OVERFLOW
        (StatusSpace::NtStatus, 0x8000_0014, C::Warning, R::Plain), // STATUS_EA_LIST_INCONSISTENT
        (StatusSpace::NtStatus, 0xc000_0023, C::Error, R::SizeProbe),
        (StatusSpace::NtStatus, 0xc000_006d, C::Error, R::Denied),
        (StatusSpace::NtStatus, 0x4000_0000, C::Info, R::Plain), // informational severity
        (StatusSpace::Win32, 234, C::Info, R::MoreData),
        (StatusSpace::Win32, 259, C::Info, R::EndOfList),
        (StatusSpace::Win32, 1301, C::Info, R::Partial),
        (StatusSpace::Win32, 122, C::Error, R::SizeProbe),
        (StatusSpace::Win32, 5, C::Error, R::Denied),
        (StatusSpace::Win32, 3010, C::Warning, R::Plain),
        (StatusSpace::Win32, 1722, C::Error, R::Plain),
        (StatusSpace::HResult, 1, C::Info, R::Partial), // S_FALSE
        (StatusSpace::HResult, 0x8000_4002, C::Error, R::NoInterface),
        (StatusSpace::HResult, 0x8007_007a, C::Error, R::SizeProbe), // E_NOT_SUFFICIENT_BUFFER
        (StatusSpace::HResult, 0x8007_0103, C::Info, R::EndOfList),  // HRESULT(NO_MORE_ITEMS)
        (StatusSpace::HResult, 0x8007_0005, C::Error, R::Denied),
        (StatusSpace::Wmi, 0x0004_0005, C::Info, R::EndOfList), // WBEM_S_NO_MORE_DATA
        (StatusSpace::Mapi, 0x0004_0380, C::Info, R::Partial),  // MAPI_W_ERRORS_RETURNED
        (StatusSpace::Mapi, 0x0004_0481, C::Warning, R::Plain), // MAPI_W_POSITION_CHANGED
        (StatusSpace::Mapi, 0x8004_0111, C::Error, R::Denied),
        (StatusSpace::Dce, 0x1c01_0003, C::Error, R::Plain),
        (StatusSpace::None, 7, C::Success, R::Plain),
    ];
    for (space, code, class, role) in cases {
        let info = names::status_info(space, code);
        assert_eq!((info.class, info.role), (class, role), "{space} {code:#x} ({:?})", info.name);
    }
}

#[test]
fn status_text_decodes_unknown_values() {
    use names::status_text_in as t;
    assert_eq!(t(StatusSpace::Win32, 5), "ERROR_ACCESS_DENIED");
    assert_eq!(
        t(StatusSpace::HResult, 0x8007_0035),
        "0x80070035 (HRESULT failure facility WIN32 code 53 = ERROR_BAD_NETPATH)"
    );
    assert_eq!(
        t(StatusSpace::HResult, 0x8033_1234),
        "0x80331234 (HRESULT failure facility WINRM code 0x1234)"
    );
    assert_eq!(
        t(StatusSpace::NtStatus, 0xc0ab_1234),
        "0xc0ab1234 (NTSTATUS error facility 0xab code 0x1234)"
    );
    assert_eq!(t(StatusSpace::Win32, 0xfff0), "0x0000fff0");
    assert_eq!(names::fault_status_name(0x1c01_0002), Some("nca_s_op_rng_error"));
    assert_eq!(names::fault_status_name(5), Some("nca_s_fault_access_denied"));
    assert_eq!(names::fault_status_name(0x721), Some("nca_s_fault_sec_pkg_error"));
    assert_eq!(names::fault_status_name(1722), Some("RPC_S_SERVER_UNAVAILABLE"));
    assert_eq!(names::fault_status_name(0x8001_0108), Some("RPC_E_DISCONNECTED"));
    assert_eq!(
        names::status_description_in(StatusSpace::NtStatus, 0xc000_0022).map(|d| d.is_empty()),
        Some(false)
    );
}

/// Reads a fixture list: `uuid<TAB>name` lines after `#` header lines.
fn fixture(name: &str) -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/names/");
    let text = std::fs::read_to_string(format!("{path}{name}"))
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    assert!(text.starts_with("# "), "{name}: provenance header missing");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (u, n) = l.split_once('\t').unwrap_or_else(|| panic!("{name}: bad line {l:?}"));
            (u.to_string(), n.to_string())
        })
        .collect()
}

fn unnamed(list: &[(String, String)]) -> Vec<String> {
    list.iter()
        .filter(|(uuid, _)| {
            let u: Uuid = uuid.parse().unwrap_or_else(|e| panic!("{uuid}: {e}"));
            names::interface_name(&u, 0).is_none() && names::class_name(&u).is_none()
        })
        .map(|(u, n)| format!("{u} ({n})"))
        .collect()
}

#[test]
fn every_impacket_known_protocol_is_named() {
    let list = fixture("impacket_known_protocols.txt");
    assert_eq!(list.len(), 541, "impacket 0.10.0 lists 541 UUIDs");
    let missing = unnamed(&list);
    assert!(missing.is_empty(), "{} unnamed: {missing:#?}", missing.len());
}

#[test]
fn every_zeek_dce_rpc_interface_is_named() {
    let list = fixture("zeek_dce_rpc_uuids.txt");
    assert_eq!(list.len(), 81, "Zeek's uuid_endpoint_map has 81 entries");
    let missing = unnamed(&list);
    assert!(missing.is_empty(), "{} unnamed: {missing:#?}", missing.len());
}

/// Records that are not interfaces (CLSIDs, type libraries, type UUIDs).
fn not_an_interface(name: &str) -> bool {
    name.contains("(CLSID") || name.contains("(type library)") || name.contains("(type UUID")
}

/// Whether a record's document is an MS-*/MC-* specification (all publish
/// their IDL in appendix A).
fn spec_with_idl(spec: &str) -> bool {
    spec.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .any(|w| (w.starts_with("MS-") || w.starts_with("MC-")) && w.len() > 3)
}

/// Every interface of an MS-*/MC-* document has an operation table, or is
/// listed with its reason in tests/fixtures/names/opnum_exceptions.txt; an
/// entry there that has a table (or no record) fails too, so the list only
/// shrinks.
#[test]
fn every_spec_interface_has_opnums() {
    let text = include_str!("fixtures/names/opnum_exceptions.txt");
    let mut exceptions: HashMap<(String, u16), &str> = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let f: Vec<&str> = line.splitn(4, '|').collect();
        assert_eq!(f.len(), 4, "opnum_exceptions.txt: bad line {line:?}");
        assert!(f[3].len() > 10, "opnum_exceptions.txt: no reason in {line:?}");
        let key = (f[0].to_string(), f[1].parse().expect("version"));
        assert!(exceptions.insert(key, f[3]).is_none(), "listed twice: {line}");
    }
    let d = data();
    let (mut missing, mut used, mut with_table) = (Vec::new(), HashSet::new(), 0usize);
    for rec in d.interfaces.iter().filter(|r| spec_with_idl(&r.spec)) {
        if !rec.opnums.is_empty() {
            with_table += 1;
            continue;
        }
        if not_an_interface(&rec.name) {
            continue;
        }
        let key = (rec.uuid.clone(), rec.version);
        if exceptions.contains_key(&key) {
            used.insert(key);
        } else {
            missing.push(format!("{} v{} {} ({})", rec.uuid, rec.version, rec.name, rec.spec));
        }
    }
    let stale: Vec<_> = exceptions.keys().filter(|k| !used.contains(*k)).collect();
    eprintln!(
        "{with_table} MS-*/MC-* interfaces with operation tables, {} listed without",
        used.len()
    );
    assert!(stale.is_empty(), "exceptions with a table or without a record: {stale:?}");
    assert!(missing.is_empty(), "no operation table and no reason:\n{}", missing.join("\n"));
    assert!(with_table >= 400, "only {with_table} spec interfaces with tables");
}

/// Operation names from the tables added by data/tools/spec_opnums.txt, one
/// or two per document (values from the spec method lists / SDK vtables).
#[test]
fn spec_opnum_tables() {
    let cases = [
        // MS-CMRP: version 3 and the version 2 table (opnum 80 reserved).
        ("b97db8b2-4c63-11cf-bff6-08002be23f2f", 3, 0, "ApiOpenCluster"),
        ("b97db8b2-4c63-11cf-bff6-08002be23f2f", 3, 117, "ApiOpenClusterEx"),
        ("b97db8b2-4c63-11cf-bff6-08002be23f2f", 2, 80, "Opnum80NotUsedOnWire"),
        // MS-DHCPM dhcpsrv past opnum 28 and dhcpsrv2.
        ("6bffd098-a112-3610-9833-46c3f874532d", 1, 50, "R_DhcpSetSubnetInfoVQ"),
        ("5b821720-f63b-11d0-aad2-00c04fc324db", 1, 89, "R_DhcpV4FailoverCreateRelationship"),
        // MS-FAX, MSMQ (MS-MQMP, MS-MQDS, MS-MQRR), MS-CMPO, MS-PAN.
        ("ea0a3165-4834-11d2-a6f8-00c04fa346cc", 4, 27, "FAX_SendDocumentEx"),
        ("fdb3a030-065f-11d1-bb9b-00a024ea5525", 1, 0, "Opnum0NotUsedOnWire"),
        ("fdb3a030-065f-11d1-bb9b-00a024ea5525", 1, 2, "R_QMOpenRemoteQueue"),
        ("77df7a80-f298-11d0-8358-00a024c480a8", 1, 27, "S_DSGetServerPort"),
        ("1a9134dd-7b39-45ba-ad88-44d01ca47f28", 1, 7, "R_StartReceive"),
        ("906b0ce0-c70b-1067-b317-00dd010662da", 1, 1, "BuildContext"),
        ("0b6edbfa-4a24-4fc6-8a23-942b1eca65d1", 1, 3, "IRPCAsyncNotify_GetNewChannel"),
        // DCOM (opnum = vtable index): MS-VDS, MS-FSRM, MS-UAMG, MC-MQAC, MS-PLA.
        ("0818a8ef-9ba9-40d8-a6f9-e22833cc771e", 0, 6, "QueryProviders"),
        ("0818a8ef-9ba9-40d8-a6f9-e22833cc771e", 0, 1, "AddRef"),
        ("8bb68c7d-19d8-4ffb-809e-be4fc1734014", 0, 9, "CreateQuota"),
        ("377f739d-9647-4b8e-97d2-5ffce6d759cd", 0, 28, "get_QuotaUsed"),
        ("816858a4-260d-4260-933a-2585f1abc76b", 0, 12, "CreateUpdateSearcher"),
        ("eba96b21-2168-11d3-898c-00e02c074f6b", 0, 45, "get_ADsPath"),
        ("03837510-098b-11d8-9414-505054503030", 0, 15, "GetTraceDataProviders"),
        // RPC: MS-RRASM dimsvc, MS-RAIW, MS-MSRP, MS-IMSA.
        ("8f09f000-b7ed-11ce-bbd2-00001a181cad", 0, 0, "RMprAdminServerGetInfo"),
        ("45f52c28-7f9f-101a-b52b-08002b2efabe", 1, 20, "R_WinsStatusWHdl"),
        ("5a7b91f8-ff00-11d0-a9b2-00c04fb6e6fc", 1, 0, "NetrSendMessage"),
        ("70b51430-b6ca-11d0-b9b9-00a0c922e750", 0, 33, "R_GetServerGuid"),
    ];
    for (uuid, ver, opnum, name) in cases {
        let rec = names::interface_record(&u(uuid), ver)
            .unwrap_or_else(|| panic!("{uuid} v{ver}: no record"));
        assert_eq!(rec.version, ver, "{uuid}: record of another version");
        let got = rec.opnums.get(opnum).and_then(|n| n.as_deref());
        assert_eq!(got, Some(name), "{uuid} v{ver} opnum {opnum}");
    }
}
