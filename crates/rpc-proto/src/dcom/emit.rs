//! Emitting stubs (tests, lab servers, the live prober).

use super::*;

/// Encodes a DUALSTRINGARRAY body (wNumEntries, wSecurityOffset, units).
pub(super) fn dsa_units(dsa: &DualStringArray) -> (Vec<u16>, u16) {
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

pub(super) fn serialized(body: Vec<u8>) -> Vec<u8> {
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

pub(super) fn write_orpcthis(w: &mut Writer, version: (u16, u16)) {
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
pub(super) fn activation_blob(props: &[(Uuid, Vec<u8>)]) -> Vec<u8> {
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
    if let Some(sizes) = hdr.get_mut(16..24) {
        let (t, h) = (total.to_le_bytes(), header_size.to_le_bytes());
        sizes.copy_from_slice(&[t[0], t[1], t[2], t[3], h[0], h[1], h[2], h[3]]);
    }
    let mut blob = Vec::new();
    blob.extend_from_slice(&total.to_le_bytes());
    blob.extend_from_slice(&[0; 4]);
    blob.extend_from_slice(&hdr);
    for (_, p) in props {
        blob.extend_from_slice(p);
    }
    blob
}

pub(super) fn objref_custom(iid: &Uuid, clsid: &Uuid, blob: &[u8]) -> Vec<u8> {
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
