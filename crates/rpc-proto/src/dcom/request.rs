//! Request stubs of the activation / OXID-resolution methods (what the client asks for).

use super::*;

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

pub(super) fn u16_list(r: &mut Reader<'_>, count: u32, what: &str) -> Result<Vec<u16>, StubError> {
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

pub(super) fn uuid_list(
    r: &mut Reader<'_>,
    count: u32,
    what: &str,
) -> Result<Vec<Uuid>, StubError> {
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
pub(super) fn resolve_oxid_request(
    r: &mut Reader<'_>,
    opnum: u16,
) -> Result<DcomRequest, StubError> {
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
pub(super) fn read_orpcthis(r: &mut Reader<'_>) -> Result<(u16, u16), StubError> {
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
pub(super) fn skip_extent_array(r: &mut Reader<'_>) -> Result<(), StubError> {
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
pub(super) fn remote_activation_request(r: &mut Reader<'_>) -> Result<DcomRequest, StubError> {
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
pub(super) fn scm_activation_request(
    r: &mut Reader<'_>,
    opnum: u16,
) -> Result<DcomRequest, StubError> {
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
pub(super) fn activation_in(
    objref: &[u8],
    base: usize,
    out: &mut DcomRequest,
) -> Result<(), StubError> {
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
