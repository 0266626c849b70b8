//! Validates crates/rpc/data/names.json (the interface / opnum / status
//! tables behind `tracehound_rpc::names`): it parses with no unknown fields,
//! UUIDs are canonical, no UUID+version appears twice, opnum names are
//! unique per interface, every code is unique, and well-known entries have
//! the exact names we expect (from the protocol documents).

use std::collections::{HashMap, HashSet};

use tracehound_rpc::names::{self, parse_code, CodeRecord, DataFile, DATA_JSON};
use tracehound_rpc::uuid::Uuid;

fn data() -> DataFile {
    serde_json::from_str(DATA_JSON).expect("data/names.json must parse (no unknown fields)")
}

fn u(s: &str) -> Uuid {
    s.parse().unwrap()
}

#[test]
fn interfaces_are_well_formed() {
    let d = data();
    assert!(d.interfaces.len() >= 300, "only {} interfaces", d.interfaces.len());
    let mut seen = HashSet::new();
    for rec in &d.interfaces {
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
            if let Some(n) = name {
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
    let st = check_codes("statuses", &d.statuses, u32::MAX);
    assert!(st.len() >= 300, "only {} statuses", st.len());
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
