//! DCOM (MS-DCOM) responses that hand out endpoints: OXID resolution and
//! activation.
//!
//! * `IObjectExporter` (`99fcfec4-5260-101b-bbcb-00aa0021347a`, port 135):
//!   `ResolveOxid` (0), `ResolveOxid2` (4), `ServerAlive2` (5). Plain RPC,
//!   no ORPCTHAT.
//! * `IActivation` (`4d9f4ab8-7d1c-11cf-861e-0020af6e7c57`):
//!   `RemoteActivation` (0) — ORPCTHAT, OXID, bindings, IPID, hint, version,
//!   HRESULT.
//! * `IRemoteSCMActivator` / `ISystemActivator`
//!   (`000001a0-0000-0000-c000-000000000046`): `RemoteGetClassObject` (3),
//!   `RemoteCreateInstance` (4) — ORPCTHAT, then an `MInterfacePointer` whose
//!   OBJREF_CUSTOM carries the *activation properties BLOB*
//!   (`ActivationPropertiesOut`, MS-DCOM 2.2.22); its `ScmReplyInfoData`
//!   property holds the OXID, the `pdsaOxidBindings` and the IPID of
//!   IRemUnknown, `PropsOutInfo` the per-interface HRESULTs.
//!
//! The string bindings come as a `DUALSTRINGARRAY` (MS-DCOM 2.2.19):
//!
//! ```text
//! u16 wNumEntries; u16 wSecurityOffset;
//! u16 aStringArray[wNumEntries]:
//!   STRINGBINDINGs { u16 wTowerId; UTF-16 "host[port]" NUL } ... NUL
//!   SECURITYBINDINGs { u16 wAuthnSvc; u16 Reserved; UTF-16 princ NUL } ... NUL
//! ```
//!
//! [`decode_response`] gives a [`DcomResult`] (HRESULT, OXID, IPID, string
//! bindings); [`decode_request`] a [`DcomRequest`] (OXID being resolved,
//! requested protocol sequences, activated CLSID and IIDs). Both return
//! `None` for interface/opnum pairs that are not handled here. The `emit_*`
//! functions build the same stubs (tests, lab servers, fuzz seeds).
//!
//! ```
//! use tracehound_rpc_proto::{dcom, ndr::Drep};
//! let sent = dcom::DcomResult {
//!     opnum: 5,
//!     com_version: Some((5, 7)),
//!     bindings: vec![dcom::StringBinding { tower_id: 7, network_addr: "10.1.2.3".into() }],
//!     ..Default::default()
//! };
//! let stub = dcom::emit_object_exporter_response(Drep::LE, 5, &sent);
//! let got = dcom::decode_response(&dcom::IOBJECTEXPORTER, 5, Drep::LE, &stub).unwrap().unwrap();
//! assert_eq!(got.bindings[0].protseq(), Some("ncacn_ip_tcp"));
//! assert_eq!(got, sent);
//! ```
//!
//! Serialized properties use "type serialization version 1" (MS-RPCE
//! 2.2.6): an 8-byte common header (version 1, endianness, length 8,
//! filler) and an 8-byte private header (object buffer length, filler) before
//! the NDR data; alignment restarts at the NDR data.

use serde::Serialize;

use crate::ndr::{utf16_until_nul, Drep, Reader, StubError, Writer};
use crate::uuid::Uuid;

/// The DCOM interfaces (defined in [`crate::known`]).
pub use crate::known::{DCOM_IFACES, IACTIVATION, IOBJECTEXPORTER, IREMOTESCMACTIVATOR};

pub const CLSID_ACTIVATION_PROPERTIES_OUT: Uuid =
    Uuid::from_str_const("00000339-0000-0000-c000-000000000046");
pub const CLSID_SCM_REPLY_INFO: Uuid = Uuid::from_str_const("000001b6-0000-0000-c000-000000000046");
pub const CLSID_PROPS_OUT_INFO: Uuid = Uuid::from_str_const("00000339-0000-0000-c000-000000000046");
pub const CLSID_ACTIVATION_PROPERTIES_IN: Uuid =
    Uuid::from_str_const("00000338-0000-0000-c000-000000000046");
pub const CLSID_INSTANTIATION_INFO: Uuid =
    Uuid::from_str_const("000001ab-0000-0000-c000-000000000046");
pub const CLSID_SCM_REQUEST_INFO: Uuid =
    Uuid::from_str_const("000001aa-0000-0000-c000-000000000046");

/// OBJREF signature "MEOW".
pub const OBJREF_SIGNATURE: u32 = 0x574f_454d;
pub const OBJREF_STANDARD: u32 = 1;
pub const OBJREF_HANDLER: u32 = 2;
pub const OBJREF_CUSTOM: u32 = 4;
pub const OBJREF_EXTENDED: u32 = 8;

/// Cap on properties in an activation blob (MS-DCOM MAX_ACTPROP_LIMIT = 10).
pub const MAX_PROPERTIES: u32 = 10;

/// A STRINGBINDING (MS-DCOM 2.2.19.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StringBinding {
    /// Protocol sequence id: 0x07 ncacn_ip_tcp, 0x08 ncadg_ip_udp,
    /// 0x0f ncacn_np, 0x1f ncacn_http, ...
    pub tower_id: u16,
    /// `host[port]` (port part optional).
    pub network_addr: String,
}

impl StringBinding {
    /// Protocol sequence name of `tower_id`.
    pub fn protseq(&self) -> Option<&'static str> {
        protseq_name(self.tower_id)
    }

    /// Host part of `network_addr`.
    pub fn host(&self) -> &str {
        self.network_addr.split('[').next().unwrap_or("")
    }

    /// Port inside the brackets, if numeric.
    pub fn port(&self) -> Option<u16> {
        let inner = self.network_addr.split_once('[')?.1.strip_suffix(']')?;
        inner.parse().ok()
    }
}

/// A SECURITYBINDING (MS-DCOM 2.2.19.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SecurityBinding {
    pub authn_svc: u16,
    pub authz_svc: u16,
    pub princ_name: String,
}

/// A decoded DUALSTRINGARRAY.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct DualStringArray {
    pub bindings: Vec<StringBinding>,
    pub security: Vec<SecurityBinding>,
}

/// Protocol sequence name for a DCOM tower id (MS-DCOM 2.2.19.3 / C706 tower ids).
pub fn protseq_name(tower_id: u16) -> Option<&'static str> {
    Some(match tower_id {
        0x04 => "ncacn_dnet_nsp",
        0x07 => "ncacn_ip_tcp",
        0x08 => "ncadg_ip_udp",
        0x09 => "ncacn_ip",
        0x0c => "ncacn_spx",
        0x0d => "ncacn_nb_ipx",
        0x0e => "ncadg_ipx",
        0x0f => "ncacn_np",
        0x10 => "ncalrpc",
        0x12 => "ncacn_nb_nb",
        0x13 => "ncacn_nb_tcp",
        0x16 => "ncacn_at_dsp",
        0x17 => "ncadg_at_ddp",
        0x1a => "ncacn_vns_spp",
        0x1d => "ncadg_mq",
        0x1f => "ncacn_http",
        _ => return None,
    })
}

/// What a DCOM response says about where the object lives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct DcomResult {
    pub opnum: u16,
    /// HRESULT of the activation (`phr`, or the method's return value), or
    /// the `error_status_t` of IObjectExporter methods.
    pub hresult: u32,
    /// Per-interface HRESULTs (RemoteActivation / PropsOutInfo).
    pub interface_results: Vec<u32>,
    pub oxid: Option<u64>,
    pub ipid_rem_unknown: Option<Uuid>,
    pub authn_hint: Option<u32>,
    /// COM version (major, minor).
    pub com_version: Option<(u16, u16)>,
    pub bindings: Vec<StringBinding>,
    pub security: Vec<SecurityBinding>,
}

/// What a DCOM request asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct DcomRequest {
    pub opnum: u16,
    /// OXID being resolved (ResolveOxid / ResolveOxid2).
    pub oxid: Option<u64>,
    /// Protocol sequences the client can use (tower ids).
    pub requested_protseqs: Vec<u16>,
    /// Class being activated (RemoteActivation, RemoteCreateInstance,
    /// RemoteGetClassObject).
    pub clsid: Option<Uuid>,
    /// Interfaces requested from the new object.
    pub iids: Vec<Uuid>,
    /// Client COM version from ORPCTHIS (major, minor).
    pub com_version: Option<(u16, u16)>,
}

/// Cap on requested interfaces / protseqs kept (MS-DCOM limits them to
/// MAX_REQUESTED_INTERFACES = 0x8000 and MAX_REQUESTED_PROTSEQ = 0x8000).
pub const MAX_LIST: u32 = 0x8000;

/// Decodes the UTF-16 text of a `[string] wchar_t*` helper (re-export for callers).
pub fn utf16(raw: &[u8], little_endian: bool) -> String {
    utf16_until_nul(raw, little_endian)
}

mod blob;
mod emit;
mod request;
mod response;
#[cfg(test)]
mod tests;

pub use blob::*;
pub use emit::*;
pub use request::*;
pub use response::*;
