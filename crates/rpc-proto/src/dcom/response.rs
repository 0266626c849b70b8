//! Response stubs: IObjectExporter (ResolveOxid*, ServerAlive2), IActivation
//! RemoteActivation and the ISystemActivator activation answers.

use super::*;

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
pub(super) fn read_dsa(r: &mut Reader<'_>) -> Result<DualStringArray, StubError> {
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

pub(super) fn read_opt_dsa(r: &mut Reader<'_>, out: &mut DcomResult) -> Result<(), StubError> {
    if r.pointer("DUALSTRINGARRAY pointer")?.is_some() {
        let dsa = read_dsa(r)?;
        out.bindings = dsa.bindings;
        out.security = dsa.security;
    }
    Ok(())
}

pub(super) fn resolve_oxid(r: &mut Reader<'_>, opnum: u16) -> Result<DcomResult, StubError> {
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

pub(super) fn server_alive2(r: &mut Reader<'_>) -> Result<DcomResult, StubError> {
    let mut out = DcomResult { opnum: 5, ..Default::default() };
    out.com_version = Some((r.u16("COMVERSION major")?, r.u16("COMVERSION minor")?));
    read_opt_dsa(r, &mut out)?;
    let _reserved = r.u32("pReserved")?;
    out.hresult = r.u32("return status")?;
    Ok(out)
}

/// ORPCTHAT: flags + unique pointer to ORPC_EXTENT_ARRAY (skipped over).
pub(super) fn read_orpcthat(r: &mut Reader<'_>) -> Result<(), StubError> {
    let _flags = r.u32("ORPCTHAT flags")?;
    if r.pointer("ORPCTHAT extensions")?.is_some() {
        skip_extent_array(r)?;
    }
    Ok(())
}

pub(super) fn remote_activation(r: &mut Reader<'_>) -> Result<DcomResult, StubError> {
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

pub(super) fn scm_activation(r: &mut Reader<'_>, opnum: u16) -> Result<DcomResult, StubError> {
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

/// ScmReplyInfoData { PVOID pdwReserved; RemoteReplyScmInfo* remoteReply; }
pub(super) fn scm_reply_info(
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
pub(super) fn props_out_info(
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
