//! Endpoint mapper stubs: entries, requests and responses of ept_insert, ept_delete,
//! ept_lookup, ept_map and ept_lookup_handle_free (C706 appendix O).

use super::*;

/// Interface id (`rpc_if_id_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct IfId {
    pub uuid: Uuid,
    pub major: u16,
    pub minor: u16,
}

/// One endpoint map entry (`ept_entry_t`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub object: Uuid,
    pub annotation: String,
    pub tower: Option<Tower>,
}

/// Decoded request stub.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum EpmRequest {
    Insert {
        entries: Vec<Entry>,
        replace: bool,
    },
    Delete {
        entries: Vec<Entry>,
    },
    Lookup {
        inquiry_type: u32,
        object: Option<Uuid>,
        interface: Option<IfId>,
        vers_option: u32,
        #[serde(skip)]
        entry_handle: [u8; 20],
        max_entries: u32,
    },
    Map {
        object: Option<Uuid>,
        tower: Option<Tower>,
        #[serde(skip)]
        entry_handle: [u8; 20],
        max_towers: u32,
    },
    LookupHandleFree {
        #[serde(skip)]
        entry_handle: [u8; 20],
    },
    InqObject,
    MgmtDelete {
        object_speced: bool,
        object: Option<Uuid>,
        tower: Option<Tower>,
    },
}

/// Decoded response stub. Fields an operation does not return stay empty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct EpmResponse {
    pub opnum: u16,
    /// `error_status_t` (0 = ok; `0x16c9a0d6` = EPT_S_NOT_REGISTERED).
    pub status: u32,
    #[serde(skip)]
    pub entry_handle: [u8; 20],
    /// `num_towers` (ept_map) or `num_ents` (ept_lookup).
    pub num_towers: u32,
    /// ept_map towers (NULL tower pointers are skipped).
    pub towers: Vec<Tower>,
    /// ept_lookup entries.
    pub entries: Vec<Entry>,
    /// ept_inq_object result.
    pub object: Option<Uuid>,
}

/// `inquiry_type` values for ept_lookup (C706 O.2.2).
pub mod inquiry {
    pub const ALL_ELTS: u32 = 0;
    pub const INTERFACE: u32 = 1;
    pub const OBJECT: u32 = 2;
    pub const BOTH: u32 = 3;
}

/// `vers_option` values for ept_lookup.
pub mod vers {
    pub const ALL: u32 = 1;
    pub const COMPATIBLE: u32 = 2;
    pub const EXACT: u32 = 3;
    pub const MAJOR_ONLY: u32 = 4;
    pub const UPTO: u32 = 5;
}

/// Maximum annotation length (`ept_max_annotation_size`).
const MAX_ANNOTATION: u32 = 64;

pub(super) fn read_twr(r: &mut Reader<'_>) -> Result<Tower, StubError> {
    let max = r.conformance("twr_t max_count")?;
    let len_at = r.pos();
    let len = r.u32("twr_t tower_length")?;
    if len > max {
        return Err(StubError::new(
            format!("twr_t tower_length {len} exceeds max_count {max}"),
            len_at,
        ));
    }
    let n = r.check_count(len, 1, "twr_t tower_octet_string")?;
    let base = r.pos();
    let bytes = r.take(n, "twr_t tower_octet_string")?;
    Tower::parse(bytes, base)
}

pub(super) fn write_twr(w: &mut Writer, t: &Tower) {
    let b = t.emit();
    w.u32(b.len() as u32);
    w.u32(b.len() as u32);
    w.bytes(&b);
}

pub(super) fn read_bool(r: &mut Reader<'_>, what: &str) -> Result<bool, StubError> {
    Ok(r.u32(what)? != 0)
}

/// Reads `[in] unsigned32 num_ents, [in, size_is(num_ents)] ept_entry_t entries[]`.
pub(super) fn read_entries_in(r: &mut Reader<'_>) -> Result<Vec<Entry>, StubError> {
    let num_at = r.pos();
    let num = r.u32("num_ents")?;
    let max = r.conformance("entries max_count")?;
    if max != num {
        return Err(StubError::new(format!("entries max_count {max} != num_ents {num}"), num_at));
    }
    read_entry_array(r, num)
}

/// `count` embedded ept_entry_t, then their deferred towers.
pub(super) fn read_entry_array(r: &mut Reader<'_>, count: u32) -> Result<Vec<Entry>, StubError> {
    // object (16) + tower referent (4) + annotation offset/length (8).
    let n = r.check_count(count, 28, "ept_entry_t array")?;
    let mut entries = Vec::with_capacity(n);
    let mut has_tower = Vec::with_capacity(n);
    for _ in 0..n {
        let object = r.uuid("ept_entry_t object")?;
        let twr = r.pointer("ept_entry_t tower pointer")?;
        let annotation = r.varying_string_u8(Some(MAX_ANNOTATION), "ept_entry_t annotation")?;
        entries.push(Entry { object, annotation, tower: None });
        has_tower.push(twr.is_some());
    }
    for (e, present) in entries.iter_mut().zip(has_tower) {
        if present {
            r.align(4, "twr_t")?;
            e.tower = Some(read_twr(r)?);
        }
    }
    Ok(entries)
}

pub(super) fn read_opt_uuid(r: &mut Reader<'_>, what: &str) -> Result<Option<Uuid>, StubError> {
    Ok(match r.pointer(what)? {
        Some(_) => Some(r.uuid(what)?),
        None => None,
    })
}

pub(super) fn read_opt_twr(r: &mut Reader<'_>, what: &str) -> Result<Option<Tower>, StubError> {
    Ok(match r.pointer(what)? {
        Some(_) => Some(read_twr(r)?),
        None => None,
    })
}

/// Decodes an endpoint mapper request stub.
pub fn decode_request(opnum: u16, drep: Drep, stub: &[u8]) -> Result<EpmRequest, StubError> {
    let mut r = Reader::new(stub, drep);
    let req = match opnum {
        0 => {
            let entries = read_entries_in(&mut r)?;
            let replace = read_bool(&mut r, "replace")?;
            EpmRequest::Insert { entries, replace }
        }
        1 => EpmRequest::Delete { entries: read_entries_in(&mut r)? },
        2 => {
            let inquiry_type = r.u32("inquiry_type")?;
            let object = read_opt_uuid(&mut r, "object")?;
            let interface = match r.pointer("interface_id pointer")? {
                Some(_) => Some(IfId {
                    uuid: r.uuid("interface_id uuid")?,
                    major: r.u16("interface_id vers_major")?,
                    minor: r.u16("interface_id vers_minor")?,
                }),
                None => None,
            };
            let vers_option = r.u32("vers_option")?;
            let entry_handle = r.context_handle("entry_handle")?;
            let max_entries = r.u32("max_ents")?;
            EpmRequest::Lookup {
                inquiry_type,
                object,
                interface,
                vers_option,
                entry_handle,
                max_entries,
            }
        }
        3 => {
            let object = read_opt_uuid(&mut r, "object")?;
            let tower = read_opt_twr(&mut r, "map_tower")?;
            let entry_handle = r.context_handle("entry_handle")?;
            let max_towers = r.u32("max_towers")?;
            EpmRequest::Map { object, tower, entry_handle, max_towers }
        }
        4 => EpmRequest::LookupHandleFree { entry_handle: r.context_handle("entry_handle")? },
        5 => EpmRequest::InqObject,
        6 => {
            let object_speced = read_bool(&mut r, "object_speced")?;
            let object = read_opt_uuid(&mut r, "object")?;
            let tower = read_opt_twr(&mut r, "tower")?;
            EpmRequest::MgmtDelete { object_speced, object, tower }
        }
        _ => return Err(StubError::new(format!("unknown endpoint mapper opnum {opnum}"), 0)),
    };
    Ok(req)
}

/// Decodes an endpoint mapper response stub.
pub fn decode_response(opnum: u16, drep: Drep, stub: &[u8]) -> Result<EpmResponse, StubError> {
    let mut r = Reader::new(stub, drep);
    let mut out = EpmResponse { opnum, ..EpmResponse::default() };
    match opnum {
        0 | 1 | 6 => {}
        2 => {
            out.entry_handle = r.context_handle("entry_handle")?;
            let num_at = r.pos();
            out.num_towers = r.u32("num_ents")?;
            let max = r.conformance("entries max_count")?;
            let (_, actual) = r.variance(Some(max), "entries")?;
            if actual != out.num_towers {
                return Err(StubError::new(
                    format!("entries actual_count {actual} != num_ents {}", out.num_towers),
                    num_at,
                ));
            }
            out.entries = read_entry_array(&mut r, actual)?;
        }
        3 => {
            out.entry_handle = r.context_handle("entry_handle")?;
            let num_at = r.pos();
            out.num_towers = r.u32("num_towers")?;
            let max = r.conformance("towers max_count")?;
            let (_, actual) = r.variance(Some(max), "towers")?;
            if actual != out.num_towers {
                return Err(StubError::new(
                    format!("towers actual_count {actual} != num_towers {}", out.num_towers),
                    num_at,
                ));
            }
            let n = r.check_count(actual, 4, "tower pointer array")?;
            let mut present = Vec::with_capacity(n);
            for _ in 0..n {
                present.push(r.pointer("tower pointer")?.is_some());
            }
            for p in present {
                if p {
                    r.align(4, "twr_t")?;
                    out.towers.push(read_twr(&mut r)?);
                }
            }
        }
        4 => out.entry_handle = r.context_handle("entry_handle")?,
        5 => out.object = Some(r.uuid("ept_object")?),
        _ => return Err(StubError::new(format!("unknown endpoint mapper opnum {opnum}"), 0)),
    }
    out.status = r.u32("status")?;
    Ok(out)
}
