//! Emitting endpoint mapper stubs (the live prober, tests, lab servers).

use super::*;

/// Builds an `ept_map` (opnum 3) request stub asking for `iface` over
/// ncacn_ip_tcp (object NIL as Windows clients send it).
pub fn ept_map_request(
    drep: Drep,
    iface: &Uuid,
    major: u16,
    minor: u16,
    entry_handle: [u8; 20],
    max_towers: u32,
) -> Vec<u8> {
    let tower = Tower::ncacn_ip_tcp(iface, major, minor, Ipv4Addr::UNSPECIFIED, 0);
    ept_map_request_tower(drep, Some(&Uuid::NIL), Some(&tower), entry_handle, max_towers)
}

/// Builds an `ept_map` request with an arbitrary object and tower.
pub fn ept_map_request_tower(
    drep: Drep,
    object: Option<&Uuid>,
    tower: Option<&Tower>,
    entry_handle: [u8; 20],
    max_towers: u32,
) -> Vec<u8> {
    let mut w = Writer::new(drep);
    if let Some(o) = object {
        w.pointer(true);
        w.uuid(o);
    } else {
        w.pointer(false);
    }
    if let Some(t) = tower {
        w.pointer(true);
        write_twr(&mut w, t);
    } else {
        w.pointer(false);
    }
    w.context_handle(&entry_handle);
    w.u32(max_towers);
    w.into_bytes()
}

/// Builds an `ept_lookup` (opnum 2) request stub.
pub fn ept_lookup_request(
    drep: Drep,
    inquiry_type: u32,
    object: Option<&Uuid>,
    interface: Option<&IfId>,
    vers_option: u32,
    entry_handle: [u8; 20],
    max_entries: u32,
) -> Vec<u8> {
    let mut w = Writer::new(drep);
    w.u32(inquiry_type);
    if let Some(o) = object {
        w.pointer(true);
        w.uuid(o);
    } else {
        w.pointer(false);
    }
    if let Some(i) = interface {
        w.pointer(true);
        w.uuid(&i.uuid);
        w.u16(i.major);
        w.u16(i.minor);
    } else {
        w.pointer(false);
    }
    w.u32(vers_option);
    w.context_handle(&entry_handle);
    w.u32(max_entries);
    w.into_bytes()
}

/// Builds an `ept_lookup_handle_free` (opnum 4) request stub.
pub fn ept_lookup_handle_free_request(drep: Drep, entry_handle: [u8; 20]) -> Vec<u8> {
    let mut w = Writer::new(drep);
    w.context_handle(&entry_handle);
    w.into_bytes()
}

pub(super) fn write_entries(w: &mut Writer, entries: &[Entry]) {
    for e in entries {
        w.uuid(&e.object);
        w.pointer(e.tower.is_some());
        w.varying_string_u8(&e.annotation);
    }
    for t in entries.iter().filter_map(|e| e.tower.as_ref()) {
        w.align(4);
        write_twr(w, t);
    }
}

/// Builds an `ept_insert` (opnum 0) or `ept_delete` (opnum 1, `replace`
/// ignored) request stub.
pub fn ept_insert_request(drep: Drep, opnum: u16, entries: &[Entry], replace: bool) -> Vec<u8> {
    let mut w = Writer::new(drep);
    w.u32(entries.len() as u32);
    w.u32(entries.len() as u32);
    write_entries(&mut w, entries);
    if opnum == 0 {
        w.u32(replace as u32);
    }
    w.into_bytes()
}

/// Builds a response stub (what a server sends) — used by tests and the
/// lab endpoint mapper. ept_map for opnum 3, ept_lookup for 2, status only
/// otherwise (entry handle for 4).
pub fn emit_response(drep: Drep, resp: &EpmResponse) -> Vec<u8> {
    let mut w = Writer::new(drep);
    match resp.opnum {
        2 => {
            w.context_handle(&resp.entry_handle);
            let n = resp.entries.len() as u32;
            w.u32(n);
            w.u32(n.max(resp.num_towers));
            w.u32(0);
            w.u32(n);
            write_entries(&mut w, &resp.entries);
        }
        3 => {
            w.context_handle(&resp.entry_handle);
            let n = resp.towers.len() as u32;
            w.u32(n);
            w.u32(n.max(resp.num_towers));
            w.u32(0);
            w.u32(n);
            for _ in &resp.towers {
                w.pointer(true);
            }
            for t in &resp.towers {
                w.align(4);
                write_twr(&mut w, t);
            }
        }
        4 => w.context_handle(&resp.entry_handle),
        5 => w.uuid(&resp.object.unwrap_or(Uuid::NIL)),
        _ => {}
    }
    w.u32(resp.status);
    w.into_bytes()
}
