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
//! use tracehound_rpc::{dcom, ndr::Drep};
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

pub const IREMOTESCMACTIVATOR: Uuid = Uuid::from_str_const("000001a0-0000-0000-c000-000000000046");
pub const IACTIVATION: Uuid = Uuid::from_str_const("4d9f4ab8-7d1c-11cf-861e-0020af6e7c57");
pub const IOBJECTEXPORTER: Uuid = Uuid::from_str_const("99fcfec4-5260-101b-bbcb-00aa0021347a");

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

/// Decodes a response stub of the DCOM activation / OXID-resolution
/// methods. `None` when `(iface, opnum)` is not one of those.
pub fn decode_response(
    iface: &Uuid,
    opnum: u16,
    drep: Drep,
    stub: &[u8],
) -> Option<Result<DcomResult, StubError>> {
    let mut r = Reader::new(stub, drep);
    let res = if *iface == IOBJECTEXPORTER {
        match opnum {
            0 | 4 => resolve_oxid(&mut r, opnum),
            5 => server_alive2(&mut r),
            _ => return None,
        }
    } else if *iface == IACTIVATION {
        match opnum {
            0 => remote_activation(&mut r),
            _ => return None,
        }
    } else if *iface == IREMOTESCMACTIVATOR {
        match opnum {
            3 | 4 => scm_activation(&mut r, opnum),
            _ => return None,
        }
    } else {
        return None;
    };
    Some(res)
}

/// DUALSTRINGARRAY as a conformant struct (max_count, then the fields).
fn read_dsa(r: &mut Reader<'_>) -> Result<DualStringArray, StubError> {
    let at = r.pos();
    let max = r.conformance("DUALSTRINGARRAY max_count")?;
    let num = r.u16("DUALSTRINGARRAY wNumEntries")?;
    let sec = r.u16("DUALSTRINGARRAY wSecurityOffset")?;
    if u32::from(num) > max {
        return Err(StubError::new(
            format!("DUALSTRINGARRAY wNumEntries {num} exceeds max_count {max}"),
            at,
        ));
    }
    if sec > num {
        return Err(StubError::new(
            format!("DUALSTRINGARRAY wSecurityOffset {sec} exceeds wNumEntries {num}"),
            at,
        ));
    }
    let n = r.check_count(u32::from(num), 2, "DUALSTRINGARRAY aStringArray")?;
    let base = r.pos();
    let raw = r.take(n * 2, "DUALSTRINGARRAY aStringArray")?;
    parse_string_array(raw, sec as usize, r.drep().little_endian, base)
}

/// Splits `aStringArray` (as u16 units in `raw`) into bindings.
pub fn parse_string_array(
    raw: &[u8],
    security_offset: usize,
    little_endian: bool,
    base: usize,
) -> Result<DualStringArray, StubError> {
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| {
            let b = [c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)];
            if little_endian {
                u16::from_le_bytes(b)
            } else {
                u16::from_be_bytes(b)
            }
        })
        .collect();
    let (strs, secs) = units.split_at(security_offset.min(units.len()));
    let mut out = DualStringArray::default();
    // String bindings: {tower id, chars..., 0}* then 0.
    let mut i = 0usize;
    while let Some(&tower_id) = strs.get(i) {
        if tower_id == 0 {
            break;
        }
        let rest = strs.get(i + 1..).unwrap_or(&[]);
        let end = rest.iter().position(|&u| u == 0).ok_or_else(|| {
            StubError::new("STRINGBINDING not NUL-terminated before wSecurityOffset", base + i * 2)
        })?;
        let text = rest.get(..end).unwrap_or(&[]);
        out.bindings.push(StringBinding {
            tower_id,
            network_addr: char::decode_utf16(text.iter().copied())
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect(),
        });
        i += 2 + end;
    }
    // Security bindings: {authn, authz, chars..., 0}* then 0.
    let mut j = 0usize;
    while let Some(&authn) = secs.get(j) {
        if authn == 0 {
            break;
        }
        let authz = secs.get(j + 1).copied().unwrap_or(0);
        let rest = secs.get(j + 2..).unwrap_or(&[]);
        let end = rest.iter().position(|&u| u == 0).ok_or_else(|| {
            StubError::new("SECURITYBINDING not NUL-terminated", base + (security_offset + j) * 2)
        })?;
        let text = rest.get(..end).unwrap_or(&[]);
        out.security.push(SecurityBinding {
            authn_svc: authn,
            authz_svc: authz,
            princ_name: char::decode_utf16(text.iter().copied())
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect(),
        });
        j += 3 + end;
    }
    Ok(out)
}

fn read_opt_dsa(r: &mut Reader<'_>, out: &mut DcomResult) -> Result<(), StubError> {
    if r.pointer("DUALSTRINGARRAY pointer")?.is_some() {
        let dsa = read_dsa(r)?;
        out.bindings = dsa.bindings;
        out.security = dsa.security;
    }
    Ok(())
}

fn resolve_oxid(r: &mut Reader<'_>, opnum: u16) -> Result<DcomResult, StubError> {
    let mut out = DcomResult { opnum, ..Default::default() };
    read_opt_dsa(r, &mut out)?;
    out.ipid_rem_unknown = Some(r.uuid("pipidRemUnknown")?);
    out.authn_hint = Some(r.u32("pAuthnHint")?);
    if opnum == 4 {
        out.com_version = Some((r.u16("COMVERSION major")?, r.u16("COMVERSION minor")?));
    }
    out.hresult = r.u32("return status")?;
    Ok(out)
}

fn server_alive2(r: &mut Reader<'_>) -> Result<DcomResult, StubError> {
    let mut out = DcomResult { opnum: 5, ..Default::default() };
    out.com_version = Some((r.u16("COMVERSION major")?, r.u16("COMVERSION minor")?));
    read_opt_dsa(r, &mut out)?;
    let _reserved = r.u32("pReserved")?;
    out.hresult = r.u32("return status")?;
    Ok(out)
}

/// ORPCTHAT: flags + unique pointer to ORPC_EXTENT_ARRAY (skipped over).
fn read_orpcthat(r: &mut Reader<'_>) -> Result<(), StubError> {
    let _flags = r.u32("ORPCTHAT flags")?;
    if r.pointer("ORPCTHAT extensions")?.is_some() {
        skip_extent_array(r)?;
    }
    Ok(())
}

fn remote_activation(r: &mut Reader<'_>) -> Result<DcomResult, StubError> {
    let mut out = DcomResult { opnum: 0, ..Default::default() };
    read_orpcthat(r)?;
    out.oxid = Some(r.u64("pOxid")?);
    read_opt_dsa(r, &mut out)?;
    out.ipid_rem_unknown = Some(r.uuid("pipidRemUnknown")?);
    out.authn_hint = Some(r.u32("pAuthnHint")?);
    out.com_version = Some((r.u16("COMVERSION major")?, r.u16("COMVERSION minor")?));
    out.hresult = r.u32("phr")?;
    // ppInterfaceData: conformant array of MInterfacePointer pointers, then
    // pResults: conformant array of HRESULTs, then the return status. Only
    // the HRESULTs are kept.
    let max = r.conformance("ppInterfaceData max_count")?;
    let n = r.check_count(max, 4, "ppInterfaceData")?;
    let mut present = 0usize;
    for _ in 0..n {
        if r.pointer("MInterfacePointer pointer")?.is_some() {
            present += 1;
        }
    }
    for _ in 0..present {
        let _max = r.conformance("MInterfacePointer max_count")?;
        let cnt = r.u32("MInterfacePointer ulCntData")?;
        let m = r.check_count(cnt, 1, "MInterfacePointer abData")?;
        r.take(m, "MInterfacePointer abData")?;
    }
    let max = r.conformance("pResults max_count")?;
    let n = r.check_count(max, 4, "pResults")?;
    for _ in 0..n {
        out.interface_results.push(r.u32("pResults")?);
    }
    let status = r.u32("return status")?;
    if out.hresult == 0 {
        out.hresult = status;
    }
    Ok(out)
}

fn scm_activation(r: &mut Reader<'_>, opnum: u16) -> Result<DcomResult, StubError> {
    let mut out = DcomResult { opnum, ..Default::default() };
    read_orpcthat(r)?;
    let present = r.pointer("ppActOut pointer")?.is_some();
    let mut blob: Option<(usize, &[u8])> = None;
    if present {
        let max = r.conformance("MInterfacePointer max_count")?;
        let cnt_at = r.pos();
        let cnt = r.u32("MInterfacePointer ulCntData")?;
        if cnt > max {
            return Err(StubError::new(
                format!("MInterfacePointer ulCntData {cnt} exceeds max_count {max}"),
                cnt_at,
            ));
        }
        let n = r.check_count(cnt, 1, "MInterfacePointer abData")?;
        let base = r.pos();
        blob = Some((base, r.take(n, "MInterfacePointer abData")?));
    }
    out.hresult = r.u32("return HRESULT")?;
    if let Some((base, data)) = blob {
        if out.hresult == 0 {
            activation_out(data, base, &mut out)?;
        }
    }
    Ok(out)
}

/// The OBJREF_CUSTOM wrapper of an activation properties blob (MS-DCOM 2.2.18.6): checks the
/// signature, the flags and the class, and returns the blob with its stub offset. OBJREF is
/// little endian regardless of the PDU's drep.
fn parse_objref_custom<'a>(
    objref: &'a [u8],
    base: usize,
    want: Uuid,
    want_name: &str,
) -> Result<(&'a [u8], usize), StubError> {
    let mut r = Reader::new(objref, Drep::LE);
    let sig = r.u32("OBJREF signature")?;
    if sig != OBJREF_SIGNATURE {
        return Err(StubError::new(format!("OBJREF signature {sig:#010x}, expected MEOW"), base));
    }
    let flags = r.u32("OBJREF flags")?;
    if flags != OBJREF_CUSTOM {
        return Err(StubError::new(
            format!("OBJREF flags {flags}, expected OBJREF_CUSTOM"),
            base + 4,
        ));
    }
    let _iid = r.uuid("OBJREF iid")?;
    let clsid = r.uuid("OBJREF_CUSTOM clsid")?;
    if clsid != want {
        return Err(StubError::new(
            format!("OBJREF_CUSTOM clsid {clsid}, expected {want_name}"),
            base + 24,
        ));
    }
    let _cb_ext = r.u32("OBJREF_CUSTOM cbExtension")?;
    let _size = r.u32("OBJREF_CUSTOM reserved/size")?;
    let blob_base = base + r.pos();
    Ok((r.rest(), blob_base))
}

/// OBJREF_CUSTOM → ActivationPropertiesOut blob → properties.
fn activation_out(objref: &[u8], base: usize, out: &mut DcomResult) -> Result<(), StubError> {
    let (blob, blob_base) = parse_objref_custom(
        objref,
        base,
        CLSID_ACTIVATION_PROPERTIES_OUT,
        "ActivationPropertiesOut",
    )?;
    parse_activation_blob(blob, blob_base, out)
}

/// Reads the 16 bytes of type serialization v1 headers; returns (drep,
/// object buffer length).
fn serialization_header(r: &mut Reader<'_>, what: &str) -> Result<(Drep, u32), StubError> {
    let at = r.pos();
    let h = r.take(8, what)?;
    let (version, endian, hlen) = (h.first().copied(), h.get(1).copied(), h.get(2).copied());
    if version != Some(1) || hlen != Some(8) {
        return Err(StubError::new(format!("{what}: not a type serialization v1 header"), at));
    }
    let drep = Drep::from_bytes([endian.unwrap_or(0x10), 0, 0, 0]);
    let mut pr = Reader::new(r.take(8, what)?, drep);
    let len = pr.u32(what)?;
    Ok((drep, len))
}

/// One serialized property of an activation blob: (property CLSID, NDR
/// body, stub offset of the body, body byte order).
pub type Property<'a> = (Uuid, &'a [u8], usize, Drep);

/// Splits an Activation Properties BLOB (MS-DCOM 2.2.22: dwSize,
/// dwReserved, CustomHeader, properties) into its properties. `base` is the
/// blob's stub offset, used in errors.
pub fn activation_properties(blob: &[u8], base: usize) -> Result<Vec<Property<'_>>, StubError> {
    let mut r = Reader::new(blob, Drep::LE);
    let size = r.u32("activation blob dwSize")?;
    let _reserved = r.u32("activation blob dwReserved")?;
    if size as usize > r.remaining() {
        return Err(StubError::new(
            format!("activation blob dwSize {size} exceeds the {} bytes present", r.remaining()),
            base,
        ));
    }
    let hdr_start = r.pos();
    let (drep, hdr_len) = serialization_header(&mut r, "CustomHeader serialization header")
        .map_err(|e| rebase(e, base))?;
    let n = r.check_count(hdr_len, 1, "CustomHeader").map_err(|e| rebase(e, base))?;
    let hdr_at = base + r.pos();
    let hdr = r.take(n, "CustomHeader").map_err(|e| rebase(e, base))?;
    let (header_size, clsids, sizes) = custom_header(hdr, drep).map_err(|e| rebase(e, hdr_at))?;
    // Properties start headerSize bytes after the CustomHeader's start.
    let mut pos = hdr_start.saturating_add(header_size as usize);
    let mut out = Vec::with_capacity(clsids.len());
    for (clsid, size) in clsids.iter().zip(sizes.iter()) {
        let end = pos.saturating_add(*size as usize);
        let Some(prop) = blob.get(pos..end) else {
            return Err(StubError::new(
                format!(
                    "activation property {clsid} at blob offset {pos} size {size} runs past the blob ({} bytes)",
                    blob.len()
                ),
                base + pos.min(blob.len()),
            ));
        };
        let mut pr = Reader::new(prop, Drep::LE);
        let (pdrep, plen) = serialization_header(&mut pr, "property serialization header")
            .map_err(|e| rebase(e, base + pos))?;
        let m = pr.check_count(plen, 1, "property body").map_err(|e| rebase(e, base + pos))?;
        let body = pr.take(m, "property body").map_err(|e| rebase(e, base + pos))?;
        out.push((*clsid, body, base + pos + 16, pdrep));
        pos = end;
    }
    Ok(out)
}

/// CustomHeader → (headerSize, property CLSIDs, property sizes).
fn custom_header(hdr: &[u8], drep: Drep) -> Result<(u32, Vec<Uuid>, Vec<u32>), StubError> {
    let mut h = Reader::new(hdr, drep);
    let _total = h.u32("CustomHeader totalSize")?;
    let header_size = h.u32("CustomHeader headerSize")?;
    let _res = h.u32("CustomHeader dwReserved")?;
    let _dest = h.u32("CustomHeader destCtx")?;
    let count = h.u32("CustomHeader cIfs")?;
    if count > MAX_PROPERTIES {
        return Err(StubError::new(
            format!("CustomHeader cIfs {count} exceeds MAX_ACTPROP_LIMIT {MAX_PROPERTIES}"),
            16,
        ));
    }
    let _class_info = h.uuid("CustomHeader classInfoClsid")?;
    let p_clsid = h.pointer("CustomHeader pclsid")?;
    let p_sizes = h.pointer("CustomHeader pSizes")?;
    let _p_res = h.pointer("CustomHeader pdwReserved")?;
    let mut clsids = Vec::new();
    if p_clsid.is_some() {
        let max = h.conformance("pclsid max_count")?;
        if max != count {
            return Err(h.err(format!("pclsid max_count {max} != cIfs {count}")));
        }
        let k = h.check_count(max, 16, "pclsid")?;
        for _ in 0..k {
            clsids.push(h.uuid("pclsid")?);
        }
    }
    let mut sizes = Vec::new();
    if p_sizes.is_some() {
        let max = h.conformance("pSizes max_count")?;
        if max != count {
            return Err(h.err(format!("pSizes max_count {max} != cIfs {count}")));
        }
        let k = h.check_count(max, 4, "pSizes")?;
        for _ in 0..k {
            sizes.push(h.u32("pSizes")?);
        }
    }
    Ok((header_size, clsids, sizes))
}

/// Parses an ActivationPropertiesOut blob into `out` (ScmReplyInfoData and
/// PropsOutInfo properties). `base` is the blob's stub offset.
pub fn parse_activation_blob(
    blob: &[u8],
    base: usize,
    out: &mut DcomResult,
) -> Result<(), StubError> {
    for (clsid, body, body_base, drep) in activation_properties(blob, base)? {
        if clsid == CLSID_SCM_REPLY_INFO {
            scm_reply_info(body, body_base, drep, out)?;
        } else if clsid == CLSID_PROPS_OUT_INFO {
            props_out_info(body, body_base, drep, out)?;
        }
    }
    Ok(())
}

fn rebase(e: StubError, base: usize) -> StubError {
    StubError { what: e.what, offset: e.offset.saturating_add(base) }
}

/// ScmReplyInfoData { PVOID pdwReserved; RemoteReplyScmInfo* remoteReply; }
fn scm_reply_info(
    body: &[u8],
    base: usize,
    drep: Drep,
    out: &mut DcomResult,
) -> Result<(), StubError> {
    let mut r = Reader::new(body, drep);
    let f = |r: &mut Reader<'_>, out: &mut DcomResult| -> Result<(), StubError> {
        let res = r.pointer("ScmReplyInfoData pdwReserved")?;
        let reply = r.pointer("ScmReplyInfoData remoteReply")?;
        if res.is_some() {
            let _ = r.u32("pdwReserved")?;
        }
        if reply.is_some() {
            out.oxid = Some(r.u64("RemoteReplyScmInfo Oxid")?);
            let dsa = r.pointer("RemoteReplyScmInfo pdsaOxidBindings")?;
            out.ipid_rem_unknown = Some(r.uuid("RemoteReplyScmInfo ipidRemUnknown")?);
            out.authn_hint = Some(r.u32("RemoteReplyScmInfo authnHint")?);
            out.com_version = Some((r.u16("COMVERSION major")?, r.u16("COMVERSION minor")?));
            if dsa.is_some() {
                let d = read_dsa(r)?;
                out.bindings = d.bindings;
                out.security = d.security;
            }
        }
        Ok(())
    };
    f(&mut r, out).map_err(|e| rebase(e, base))
}

/// PropsOutInfo { DWORD cIfs; IID* piid; HRESULT* phresults; MInterfacePointer** ppIntfData; }
fn props_out_info(
    body: &[u8],
    base: usize,
    drep: Drep,
    out: &mut DcomResult,
) -> Result<(), StubError> {
    let mut r = Reader::new(body, drep);
    let f = |r: &mut Reader<'_>, out: &mut DcomResult| -> Result<(), StubError> {
        let count = r.u32("PropsOutInfo cIfs")?;
        let piid = r.pointer("PropsOutInfo piid")?;
        let phr = r.pointer("PropsOutInfo phresults")?;
        let _pif = r.pointer("PropsOutInfo ppIntfData")?;
        if piid.is_some() {
            let max = r.conformance("piid max_count")?;
            let k = r.check_count(max, 16, "piid")?;
            r.take(k * 16, "piid")?;
        }
        if phr.is_some() {
            let max = r.conformance("phresults max_count")?;
            let k = r.check_count(max.min(count), 4, "phresults")?;
            for _ in 0..k {
                out.interface_results.push(r.u32("phresults")?);
            }
        }
        Ok(())
    };
    f(&mut r, out).map_err(|e| rebase(e, base))
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

/// Decodes a request stub of the DCOM activation / OXID-resolution methods.
/// `None` when `(iface, opnum)` is not one of those.
pub fn decode_request(
    iface: &Uuid,
    opnum: u16,
    drep: Drep,
    stub: &[u8],
) -> Option<Result<DcomRequest, StubError>> {
    let mut r = Reader::new(stub, drep);
    let res = if *iface == IOBJECTEXPORTER {
        match opnum {
            0 | 4 => resolve_oxid_request(&mut r, opnum),
            5 => Ok(DcomRequest { opnum, ..Default::default() }),
            _ => return None,
        }
    } else if *iface == IACTIVATION {
        match opnum {
            0 => remote_activation_request(&mut r),
            _ => return None,
        }
    } else if *iface == IREMOTESCMACTIVATOR {
        match opnum {
            3 | 4 => scm_activation_request(&mut r, opnum),
            _ => return None,
        }
    } else {
        return None;
    };
    Some(res)
}

fn u16_list(r: &mut Reader<'_>, count: u32, what: &str) -> Result<Vec<u16>, StubError> {
    if count > MAX_LIST {
        return Err(r.err(format!("{what}: count {count} exceeds {MAX_LIST}")));
    }
    let n = r.check_count(count, 2, what)?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(r.u16(what)?);
    }
    Ok(v)
}

fn uuid_list(r: &mut Reader<'_>, count: u32, what: &str) -> Result<Vec<Uuid>, StubError> {
    if count > MAX_LIST {
        return Err(r.err(format!("{what}: count {count} exceeds {MAX_LIST}")));
    }
    let n = r.check_count(count, 16, what)?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(r.uuid(what)?);
    }
    Ok(v)
}

/// ResolveOxid(2): OXID* pOxid, u16 cRequestedProtseqs, [ref, size_is] u16 arRequestedProtseqs[].
fn resolve_oxid_request(r: &mut Reader<'_>, opnum: u16) -> Result<DcomRequest, StubError> {
    let oxid = r.u64("pOxid")?;
    let count = r.u16("cRequestedProtseqs")?;
    let max = r.conformance("arRequestedProtseqs max_count")?;
    if max != u32::from(count) {
        return Err(
            r.err(format!("arRequestedProtseqs max_count {max} != cRequestedProtseqs {count}"))
        );
    }
    let protseqs = u16_list(r, max, "arRequestedProtseqs")?;
    Ok(DcomRequest { opnum, oxid: Some(oxid), requested_protseqs: protseqs, ..Default::default() })
}

/// ORPCTHIS: COMVERSION, flags, reserved1, cid, extensions (skipped).
fn read_orpcthis(r: &mut Reader<'_>) -> Result<(u16, u16), StubError> {
    let v = (r.u16("ORPCTHIS version major")?, r.u16("ORPCTHIS version minor")?);
    let _flags = r.u32("ORPCTHIS flags")?;
    let _reserved = r.u32("ORPCTHIS reserved1")?;
    let _cid = r.uuid("ORPCTHIS cid")?;
    if r.pointer("ORPCTHIS extensions")?.is_some() {
        skip_extent_array(r)?;
    }
    Ok(v)
}

/// ORPC_EXTENT_ARRAY { u32 size; u32 reserved; [unique, size_is((size+1)&~1)] ORPC_EXTENT
/// **extent }, each ORPC_EXTENT { GUID id; u32 size; [size_is((size+7)&~7)] byte data[] }
/// (MS-DCOM 2.2.21): read and skipped, every count checked against the bytes left.
fn skip_extent_array(r: &mut Reader<'_>) -> Result<(), StubError> {
    let size = r.u32("ORPC_EXTENT_ARRAY size")?;
    let _reserved = r.u32("ORPC_EXTENT_ARRAY reserved")?;
    if r.pointer("ORPC_EXTENT_ARRAY extent")?.is_some() {
        let max = r.conformance("ORPC_EXTENT pointers max_count")?;
        let want = size.saturating_add(1) & !1;
        if max != want {
            return Err(r.err(format!("ORPC_EXTENT array max_count {max}, expected {want}")));
        }
        let n = r.check_count(max, 4, "ORPC_EXTENT pointers")?;
        let mut present = 0usize;
        for _ in 0..n {
            if r.pointer("ORPC_EXTENT pointer")?.is_some() {
                present += 1;
            }
        }
        for _ in 0..present {
            let max = r.conformance("ORPC_EXTENT max_count")?;
            let _id = r.uuid("ORPC_EXTENT id")?;
            let _size = r.u32("ORPC_EXTENT size")?;
            let n = r.check_count(max, 1, "ORPC_EXTENT data")?;
            r.take(n, "ORPC_EXTENT data")?;
        }
    }
    Ok(())
}

/// RemoteActivation request (MS-DCOM 3.1.2.5.2.3.1).
fn remote_activation_request(r: &mut Reader<'_>) -> Result<DcomRequest, StubError> {
    let mut out = DcomRequest { opnum: 0, ..Default::default() };
    out.com_version = Some(read_orpcthis(r)?);
    out.clsid = Some(r.uuid("Clsid")?);
    if r.pointer("pwszObjectName")?.is_some() {
        let _name = r.string_utf16("pwszObjectName")?;
    }
    if r.pointer("pObjectStorage")?.is_some() {
        let _max = r.conformance("pObjectStorage max_count")?;
        let cnt = r.u32("pObjectStorage ulCntData")?;
        let n = r.check_count(cnt, 1, "pObjectStorage abData")?;
        r.take(n, "pObjectStorage abData")?;
    }
    let _imp = r.u32("ClientImpLevel")?;
    let _mode = r.u32("Mode")?;
    let interfaces = r.u32("Interfaces")?;
    if r.pointer("pIIDs")?.is_some() {
        let max = r.conformance("pIIDs max_count")?;
        if max != interfaces {
            return Err(r.err(format!("pIIDs max_count {max} != Interfaces {interfaces}")));
        }
        out.iids = uuid_list(r, max, "pIIDs")?;
    }
    let count = r.u16("cRequestedProtseqs")?;
    let max = r.conformance("aRequestedProtseqs max_count")?;
    if max != u32::from(count) {
        return Err(
            r.err(format!("aRequestedProtseqs max_count {max} != cRequestedProtseqs {count}"))
        );
    }
    out.requested_protseqs = u16_list(r, max, "aRequestedProtseqs")?;
    Ok(out)
}

/// RemoteGetClassObject (3) / RemoteCreateInstance (4) request: ORPCTHIS,
/// [4 only] pUnkOuter, pActProperties → ActivationPropertiesIn blob.
fn scm_activation_request(r: &mut Reader<'_>, opnum: u16) -> Result<DcomRequest, StubError> {
    let mut out = DcomRequest { opnum, ..Default::default() };
    out.com_version = Some(read_orpcthis(r)?);
    if opnum == 4 && r.pointer("pUnkOuter")?.is_some() {
        let _max = r.conformance("pUnkOuter max_count")?;
        let cnt = r.u32("pUnkOuter ulCntData")?;
        let n = r.check_count(cnt, 1, "pUnkOuter abData")?;
        r.take(n, "pUnkOuter abData")?;
    }
    if r.pointer("pActProperties")?.is_some() {
        let max = r.conformance("MInterfacePointer max_count")?;
        let cnt_at = r.pos();
        let cnt = r.u32("MInterfacePointer ulCntData")?;
        if cnt > max {
            return Err(StubError::new(
                format!("MInterfacePointer ulCntData {cnt} exceeds max_count {max}"),
                cnt_at,
            ));
        }
        let n = r.check_count(cnt, 1, "MInterfacePointer abData")?;
        let base = r.pos();
        let objref = r.take(n, "MInterfacePointer abData")?;
        activation_in(objref, base, &mut out)?;
    }
    Ok(out)
}

/// OBJREF_CUSTOM(ActivationPropertiesIn) → InstantiationInfoData and
/// ScmRequestInfoData.
fn activation_in(objref: &[u8], base: usize, out: &mut DcomRequest) -> Result<(), StubError> {
    let (blob, blob_base) = parse_objref_custom(
        objref,
        base,
        CLSID_ACTIVATION_PROPERTIES_IN,
        "ActivationPropertiesIn",
    )?;
    for (clsid, body, body_base, drep) in activation_properties(blob, blob_base)? {
        let mut pr = Reader::new(body, drep);
        let res: Result<(), StubError> = (|| {
            if clsid == CLSID_INSTANTIATION_INFO {
                // InstantiationInfoData { CLSID classId; DWORD classCtx; DWORD actvflags;
                //   long fIsSurrogate; DWORD cIID; DWORD instFlag; IID* pIID; DWORD thisSize;
                //   COMVERSION clientCOMVersion; }
                out.clsid = Some(pr.uuid("InstantiationInfoData classId")?);
                let _ctx = pr.u32("classCtx")?;
                let _flags = pr.u32("actvflags")?;
                let _sur = pr.u32("fIsSurrogate")?;
                let c_iid = pr.u32("cIID")?;
                let _inst = pr.u32("instFlag")?;
                let p_iid = pr.pointer("pIID")?;
                let _this = pr.u32("thisSize")?;
                let _ver = (pr.u16("clientCOMVersion major")?, pr.u16("clientCOMVersion minor")?);
                if p_iid.is_some() {
                    let max = pr.conformance("pIID max_count")?;
                    if max != c_iid {
                        return Err(pr.err(format!("pIID max_count {max} != cIID {c_iid}")));
                    }
                    out.iids = uuid_list(&mut pr, max, "pIID")?;
                }
            } else if clsid == CLSID_SCM_REQUEST_INFO {
                // ScmRequestInfoData { DWORD* pdwReserved; customREMOTE_REQUEST_SCM_INFO* remoteRequest; }
                let res = pr.pointer("pdwReserved")?;
                let req = pr.pointer("remoteRequest")?;
                if res.is_some() {
                    let _ = pr.u32("pdwReserved")?;
                }
                if req.is_some() {
                    let _imp = pr.u32("ClientImpLevel")?;
                    let count = pr.u16("cRequestedProtseqs")?;
                    if pr.pointer("pRequestedProtseqs")?.is_some() {
                        let max = pr.conformance("pRequestedProtseqs max_count")?;
                        if max != u32::from(count) {
                            return Err(pr.err(format!(
                                "pRequestedProtseqs max_count {max} != cRequestedProtseqs {count}"
                            )));
                        }
                        out.requested_protseqs = u16_list(&mut pr, max, "pRequestedProtseqs")?;
                    }
                }
            }
            Ok(())
        })();
        res.map_err(|e| rebase(e, body_base))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Emitting (tests, lab servers).

/// Encodes a DUALSTRINGARRAY body (wNumEntries, wSecurityOffset, units).
fn dsa_units(dsa: &DualStringArray) -> (Vec<u16>, u16) {
    let mut units = Vec::new();
    for b in &dsa.bindings {
        units.push(b.tower_id);
        units.extend(b.network_addr.encode_utf16());
        units.push(0);
    }
    units.push(0);
    if dsa.bindings.is_empty() {
        units.push(0);
    }
    let sec = units.len() as u16;
    for s in &dsa.security {
        units.push(s.authn_svc);
        units.push(s.authz_svc);
        units.extend(s.princ_name.encode_utf16());
        units.push(0);
    }
    units.push(0);
    if dsa.security.is_empty() {
        units.push(0);
    }
    (units, sec)
}

/// Writes a DUALSTRINGARRAY as a conformant struct.
pub fn write_dsa(w: &mut Writer, dsa: &DualStringArray) {
    let (units, sec) = dsa_units(dsa);
    w.u32(units.len() as u32);
    w.u16(units.len() as u16);
    w.u16(sec);
    for u in units {
        w.u16(u);
    }
}

/// Builds a ResolveOxid (0) / ResolveOxid2 (4) / ServerAlive2 (5) response stub.
pub fn emit_object_exporter_response(drep: Drep, opnum: u16, res: &DcomResult) -> Vec<u8> {
    let mut w = Writer::new(drep);
    let dsa = DualStringArray { bindings: res.bindings.clone(), security: res.security.clone() };
    let (maj, min) = res.com_version.unwrap_or((5, 7));
    if opnum == 5 {
        w.u16(maj);
        w.u16(min);
    }
    w.pointer(true);
    write_dsa(&mut w, &dsa);
    if opnum == 5 {
        w.u32(0);
    } else {
        w.uuid(&res.ipid_rem_unknown.unwrap_or_default());
        w.u32(res.authn_hint.unwrap_or(0));
        if opnum == 4 {
            w.u16(maj);
            w.u16(min);
        }
    }
    w.u32(res.hresult);
    w.into_bytes()
}

/// Builds a RemoteActivation response stub with no interface data.
pub fn emit_remote_activation_response(drep: Drep, res: &DcomResult) -> Vec<u8> {
    let mut w = Writer::new(drep);
    w.u32(0);
    w.pointer(false);
    w.u64(res.oxid.unwrap_or(0));
    w.pointer(true);
    write_dsa(
        &mut w,
        &DualStringArray { bindings: res.bindings.clone(), security: res.security.clone() },
    );
    w.uuid(&res.ipid_rem_unknown.unwrap_or_default());
    w.u32(res.authn_hint.unwrap_or(0));
    let (maj, min) = res.com_version.unwrap_or((5, 7));
    w.u16(maj);
    w.u16(min);
    w.u32(res.hresult);
    let n = res.interface_results.len() as u32;
    w.u32(n);
    for _ in 0..n {
        w.pointer(false);
    }
    w.u32(n);
    for hr in &res.interface_results {
        w.u32(*hr);
    }
    w.u32(0);
    w.into_bytes()
}

fn serialized(body: Vec<u8>) -> Vec<u8> {
    let mut body = body;
    while body.len() % 8 != 0 {
        body.push(0);
    }
    let mut out = vec![1, 0x10, 8, 0, 0xcc, 0xcc, 0xcc, 0xcc];
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&body);
    out
}

/// Builds a RemoteCreateInstance / RemoteGetClassObject response stub
/// (little endian) carrying ScmReplyInfo and PropsOutInfo properties.
pub fn emit_scm_activation_response(res: &DcomResult) -> Vec<u8> {
    // ScmReplyInfoData.
    let mut w = Writer::new(Drep::LE);
    w.pointer(false);
    w.pointer(true);
    w.u64(res.oxid.unwrap_or(0));
    w.pointer(true);
    w.uuid(&res.ipid_rem_unknown.unwrap_or_default());
    w.u32(res.authn_hint.unwrap_or(0));
    let (maj, min) = res.com_version.unwrap_or((5, 7));
    w.u16(maj);
    w.u16(min);
    write_dsa(
        &mut w,
        &DualStringArray { bindings: res.bindings.clone(), security: res.security.clone() },
    );
    let scm = serialized(w.into_bytes());
    // PropsOutInfo (no interface pointers).
    let mut w = Writer::new(Drep::LE);
    let n = res.interface_results.len() as u32;
    w.u32(n);
    w.pointer(true);
    w.pointer(true);
    w.pointer(false);
    w.u32(n);
    for _ in 0..n {
        w.uuid(&Uuid::NIL);
    }
    w.u32(n);
    for hr in &res.interface_results {
        w.u32(*hr);
    }
    let props = serialized(w.into_bytes());
    let blob = activation_blob(&[(CLSID_PROPS_OUT_INFO, props), (CLSID_SCM_REPLY_INFO, scm)]);
    let objref = objref_custom(
        &Uuid::from_str_const("000001a3-0000-0000-c000-000000000046"),
        &CLSID_ACTIVATION_PROPERTIES_OUT,
        &blob,
    );
    // Stub.
    let mut w = Writer::new(Drep::LE);
    w.u32(0);
    w.pointer(false);
    w.pointer(true);
    w.u32(objref.len() as u32);
    w.u32(objref.len() as u32);
    w.bytes(&objref);
    w.u32(res.hresult);
    w.into_bytes()
}

/// Builds a ResolveOxid (0) / ResolveOxid2 (4) request stub.
pub fn emit_resolve_oxid_request(drep: Drep, oxid: u64, protseqs: &[u16]) -> Vec<u8> {
    let mut w = Writer::new(drep);
    w.u64(oxid);
    w.u16(protseqs.len() as u16);
    w.u32(protseqs.len() as u32);
    for p in protseqs {
        w.u16(*p);
    }
    w.into_bytes()
}

fn write_orpcthis(w: &mut Writer, version: (u16, u16)) {
    w.u16(version.0);
    w.u16(version.1);
    w.u32(0);
    w.u32(0);
    w.uuid(&Uuid::from_str_const("a1b2c3d4-0000-1111-2222-333344445555"));
    w.pointer(false);
}

/// Builds a RemoteActivation request stub.
pub fn emit_remote_activation_request(drep: Drep, req: &DcomRequest) -> Vec<u8> {
    let mut w = Writer::new(drep);
    write_orpcthis(&mut w, req.com_version.unwrap_or((5, 7)));
    w.uuid(&req.clsid.unwrap_or_default());
    w.pointer(false);
    w.pointer(false);
    w.u32(2);
    w.u32(0);
    w.u32(req.iids.len() as u32);
    w.pointer(true);
    w.u32(req.iids.len() as u32);
    for i in &req.iids {
        w.uuid(i);
    }
    w.u16(req.requested_protseqs.len() as u16);
    w.u32(req.requested_protseqs.len() as u32);
    for p in &req.requested_protseqs {
        w.u16(*p);
    }
    w.into_bytes()
}

/// Builds a RemoteCreateInstance (4) / RemoteGetClassObject (3) request
/// stub (little endian) with InstantiationInfoData and ScmRequestInfoData.
pub fn emit_scm_activation_request(opnum: u16, req: &DcomRequest) -> Vec<u8> {
    let mut w = Writer::new(Drep::LE);
    w.uuid(&req.clsid.unwrap_or_default());
    w.u32(0x14);
    w.u32(0);
    w.u32(0);
    w.u32(req.iids.len() as u32);
    w.u32(0);
    w.pointer(true);
    w.u32(0);
    w.u16(5);
    w.u16(7);
    w.u32(req.iids.len() as u32);
    for i in &req.iids {
        w.uuid(i);
    }
    let inst = serialized(w.into_bytes());
    let mut w = Writer::new(Drep::LE);
    w.pointer(false);
    w.pointer(true);
    w.u32(2);
    w.u16(req.requested_protseqs.len() as u16);
    w.pointer(true);
    w.u32(req.requested_protseqs.len() as u32);
    for p in &req.requested_protseqs {
        w.u16(*p);
    }
    let scm = serialized(w.into_bytes());
    let blob = activation_blob(&[(CLSID_INSTANTIATION_INFO, inst), (CLSID_SCM_REQUEST_INFO, scm)]);
    let objref = objref_custom(
        &Uuid::from_str_const("000001a2-0000-0000-c000-000000000046"),
        &CLSID_ACTIVATION_PROPERTIES_IN,
        &blob,
    );
    let mut w = Writer::new(Drep::LE);
    write_orpcthis(&mut w, req.com_version.unwrap_or((5, 7)));
    if opnum == 4 {
        w.pointer(false);
    }
    w.pointer(true);
    w.u32(objref.len() as u32);
    w.u32(objref.len() as u32);
    w.bytes(&objref);
    w.into_bytes()
}

/// Activation blob from serialized properties.
fn activation_blob(props: &[(Uuid, Vec<u8>)]) -> Vec<u8> {
    let mut w = Writer::new(Drep::LE);
    w.u32(0); // totalSize, patched below
    w.u32(0); // headerSize, patched below
    w.u32(0);
    w.u32(0);
    w.u32(props.len() as u32);
    w.uuid(&Uuid::NIL);
    w.pointer(true);
    w.pointer(true);
    w.pointer(false);
    w.u32(props.len() as u32);
    for (c, _) in props {
        w.uuid(c);
    }
    w.u32(props.len() as u32);
    for (_, p) in props {
        w.u32(p.len() as u32);
    }
    let mut hdr = serialized(w.into_bytes());
    let header_size = hdr.len() as u32;
    let total = header_size + props.iter().map(|(_, p)| p.len() as u32).sum::<u32>();
    hdr[16..20].copy_from_slice(&total.to_le_bytes());
    hdr[20..24].copy_from_slice(&header_size.to_le_bytes());
    let mut blob = Vec::new();
    blob.extend_from_slice(&total.to_le_bytes());
    blob.extend_from_slice(&[0; 4]);
    blob.extend_from_slice(&hdr);
    for (_, p) in props {
        blob.extend_from_slice(p);
    }
    blob
}

fn objref_custom(iid: &Uuid, clsid: &Uuid, blob: &[u8]) -> Vec<u8> {
    let mut objref = Vec::new();
    objref.extend_from_slice(&OBJREF_SIGNATURE.to_le_bytes());
    objref.extend_from_slice(&OBJREF_CUSTOM.to_le_bytes());
    objref.extend_from_slice(&iid.to_ndr(Drep::LE));
    objref.extend_from_slice(&clsid.to_ndr(Drep::LE));
    objref.extend_from_slice(&0u32.to_le_bytes());
    objref.extend_from_slice(&(blob.len() as u32).to_le_bytes());
    objref.extend_from_slice(blob);
    objref
}

/// Decodes the UTF-16 text of a `[string] wchar_t*` helper (re-export for callers).
pub fn utf16(raw: &[u8], little_endian: bool) -> String {
    utf16_until_nul(raw, little_endian)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DcomResult {
        DcomResult {
            opnum: 0,
            hresult: 0,
            interface_results: vec![],
            oxid: None,
            ipid_rem_unknown: Some("00007c00-0af4-ffff-1a2b-3c4d5e6f7081".parse().unwrap()),
            authn_hint: Some(4),
            com_version: None,
            bindings: vec![
                StringBinding { tower_id: 7, network_addr: "WIN-DC01[49712]".into() },
                StringBinding { tower_id: 7, network_addr: "10.1.2.3[49712]".into() },
            ],
            security: vec![
                SecurityBinding { authn_svc: 9, authz_svc: 0xffff, princ_name: String::new() },
                SecurityBinding {
                    authn_svc: 16,
                    authz_svc: 0xffff,
                    princ_name: "host/dc01".into(),
                },
            ],
        }
    }

    #[test]
    fn resolve_oxid_roundtrip_both_dreps() {
        for drep in [Drep::LE, Drep::BE] {
            for opnum in [0u16, 4, 5] {
                let mut want = sample();
                want.opnum = opnum;
                if opnum != 0 {
                    want.com_version = Some((5, 7));
                }
                if opnum == 5 {
                    want.ipid_rem_unknown = None;
                    want.authn_hint = None;
                }
                let stub = emit_object_exporter_response(drep, opnum, &want);
                let got = decode_response(&IOBJECTEXPORTER, opnum, drep, &stub).unwrap().unwrap();
                assert_eq!(got, want, "opnum {opnum} drep {drep:?}");
                assert_eq!(got.bindings[1].port(), Some(49712));
                assert_eq!(got.bindings[1].host(), "10.1.2.3");
                assert_eq!(got.bindings[0].protseq(), Some("ncacn_ip_tcp"));
            }
        }
    }

    #[test]
    fn remote_activation_and_scm_roundtrip() {
        let mut want = sample();
        want.oxid = Some(0x1122_3344_5566_7788);
        want.com_version = Some((5, 7));
        want.interface_results = vec![0, 0x8000_4002];
        for drep in [Drep::LE, Drep::BE] {
            let stub = emit_remote_activation_response(drep, &want);
            let got = decode_response(&IACTIVATION, 0, drep, &stub).unwrap().unwrap();
            assert_eq!(got, want);
        }
        let mut want4 = want.clone();
        want4.opnum = 4;
        let stub = emit_scm_activation_response(&want4);
        let got = decode_response(&IREMOTESCMACTIVATOR, 4, Drep::LE, &stub).unwrap().unwrap();
        assert_eq!(got, want4);
    }

    #[test]
    fn requests_roundtrip() {
        let req = DcomRequest {
            opnum: 4,
            oxid: None,
            requested_protseqs: vec![7, 0x1f],
            clsid: Some("8bc3f05e-d86b-11d0-a075-00c04fb68820".parse().unwrap()),
            iids: vec![IACTIVATION, "f309ad18-d86a-11d0-a075-00c04fb68820".parse().unwrap()],
            com_version: Some((5, 7)),
        };
        for opnum in [3u16, 4] {
            let mut want = req.clone();
            want.opnum = opnum;
            let stub = emit_scm_activation_request(opnum, &want);
            let got =
                decode_request(&IREMOTESCMACTIVATOR, opnum, Drep::LE, &stub).unwrap().unwrap();
            assert_eq!(got, want);
            for cut in 0..stub.len() {
                let r =
                    decode_request(&IREMOTESCMACTIVATOR, opnum, Drep::LE, &stub[..cut]).unwrap();
                assert!(r.unwrap_err().offset <= cut);
            }
        }
        for drep in [Drep::LE, Drep::BE] {
            let mut want = req.clone();
            want.opnum = 0;
            let stub = emit_remote_activation_request(drep, &want);
            assert_eq!(decode_request(&IACTIVATION, 0, drep, &stub).unwrap().unwrap(), want);
            let stub = emit_resolve_oxid_request(drep, 0x0102_0304_0506_0708, &[7, 8]);
            let got = decode_request(&IOBJECTEXPORTER, 4, drep, &stub).unwrap().unwrap();
            assert_eq!(got.oxid, Some(0x0102_0304_0506_0708));
            assert_eq!(got.requested_protseqs, vec![7, 8]);
        }
        assert!(decode_request(&IOBJECTEXPORTER, 2, Drep::LE, &[]).is_none());
    }

    #[test]
    fn not_ours_and_truncation() {
        assert!(decode_response(&IOBJECTEXPORTER, 1, Drep::LE, &[]).is_none());
        assert!(decode_response(&Uuid::NIL, 0, Drep::LE, &[]).is_none());
        let stub = emit_object_exporter_response(Drep::LE, 0, &sample());
        for cut in 0..stub.len() {
            let r = decode_response(&IOBJECTEXPORTER, 0, Drep::LE, &stub[..cut]).unwrap();
            let e = r.unwrap_err();
            assert!(e.offset <= cut, "{e} cut {cut}");
        }
    }
}
