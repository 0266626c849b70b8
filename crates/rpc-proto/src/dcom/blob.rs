//! The activation properties blob (MS-DCOM 2.2.22) inside an OBJREF_CUSTOM: type
//! serialization headers, the CustomHeader and the property list.

use super::*;

/// The OBJREF_CUSTOM wrapper of an activation properties blob (MS-DCOM 2.2.18.6): checks the
/// signature, the flags and the class, and returns the blob with its stub offset. OBJREF is
/// little endian regardless of the PDU's drep.
pub(super) fn parse_objref_custom<'a>(
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
pub(super) fn activation_out(
    objref: &[u8],
    base: usize,
    out: &mut DcomResult,
) -> Result<(), StubError> {
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
pub(super) fn serialization_header(
    r: &mut Reader<'_>,
    what: &str,
) -> Result<(Drep, u32), StubError> {
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
pub(super) fn custom_header(
    hdr: &[u8],
    drep: Drep,
) -> Result<(u32, Vec<Uuid>, Vec<u32>), StubError> {
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

pub(super) fn rebase(e: StubError, base: usize) -> StubError {
    StubError { what: e.what, offset: e.offset.saturating_add(base) }
}
