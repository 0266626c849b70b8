//! Well-known UUIDs, each defined once: the endpoint mapper interface, the NDR transfer
//! syntaxes, the bind time feature negotiation prefix and the DCOM interfaces whose answers
//! hand out endpoints. The modules re-export them under their historical names
//! (`epm::EPM_UUID`, `pdu::NDR_SYNTAX`, `names::NDR`, `dcom::IACTIVATION`, ...).

use crate::uuid::Uuid;

/// The endpoint mapper interface (v3.0, C706 appendix O), as text (how call records carry it).
pub const EPM_TEXT: &str = "e1af8308-5d1f-11c9-91a4-08002b14a0fa";
/// The endpoint mapper interface (v3.0, C706 appendix O).
pub const EPM: Uuid = Uuid::from_str_const(EPM_TEXT);
/// The Netlogon interface (MS-NRPC), as text.
pub const NETLOGON_TEXT: &str = "12345678-1234-abcd-ef00-01234567cffb";
/// IRemUnknown and IRemUnknown2 (MS-DCOM 3.1.1.5.6), as text: RemQueryInterface is opnum 3.
pub const IREMUNKNOWN_TEXT: &str = "00000131-0000-0000-c000-000000000046";
pub const IREMUNKNOWN2_TEXT: &str = "00000143-0000-0000-c000-000000000046";
/// NDR transfer syntax 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.
pub const NDR: Uuid = Uuid::from_str_const("8a885d04-1ceb-11c9-9fe8-08002b104860");
/// NDR64 transfer syntax 71710533-beba-4937-8319-b5dbef9ccc36 v1 (MS-RPCE 2.2.5).
pub const NDR64: Uuid = Uuid::from_str_const("71710533-beba-4937-8319-b5dbef9ccc36");
/// The first 8 bytes of the bind time feature negotiation pseudo transfer syntax
/// 6cb71c2c-9812-4540-xxxx-xxxxxxxxxxxx (MS-RPCE 3.3.1.5.3); the last 8 bytes are the bitmask.
pub const BTFN_PREFIX: [u8; 8] = [0x6c, 0xb7, 0x1c, 0x2c, 0x98, 0x12, 0x45, 0x40];

/// IRemoteSCMActivator / ISystemActivator (MS-DCOM 3.1.2.5.2).
pub const IREMOTESCMACTIVATOR: Uuid = Uuid::from_str_const("000001a0-0000-0000-c000-000000000046");
/// IActivation (MS-DCOM 3.1.2.5.1).
pub const IACTIVATION: Uuid = Uuid::from_str_const("4d9f4ab8-7d1c-11cf-861e-0020af6e7c57");
/// IObjectExporter (MS-DCOM 3.1.2.5.1).
pub const IOBJECTEXPORTER: Uuid = Uuid::from_str_const("99fcfec4-5260-101b-bbcb-00aa0021347a");
/// DCOM interfaces whose answers hand out endpoints: IRemoteSCMActivator / ISystemActivator,
/// IObjectExporter, IActivation.
pub const DCOM_IFACES: [Uuid; 3] = [IREMOTESCMACTIVATOR, IOBJECTEXPORTER, IACTIVATION];
