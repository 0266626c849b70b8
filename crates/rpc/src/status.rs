//! The return status of an answered call: where it is, which code space it belongs to, and
//! whether it means the operation failed.
//!
//! MS-RPC methods return their status as the function's return value, which NDR marshals
//! after every `[out]` parameter: the **last 4 bytes of the response stub** (auth padding and
//! verifier removed; MS-RPCE 2.2.2.13). That holds for
//! - the Windows protocols returning `NTSTATUS` (MS-SAMR, MS-LSAD/LSAT, MS-EVEN, most of
//!   MS-NRPC), a Win32 code (`DWORD` / `NET_API_STATUS` / `error_status_t` / `WERROR`:
//!   MS-SRVS, MS-WKST, MS-RRP, MS-SCMR, MS-RPRN, MS-PAR, MS-DRSR, MS-DNSP, MS-EVEN6,
//!   MS-TSCH ATSvc, MS-DSSP, MS-EFSR, the Win32 operations of MS-NRPC), an `HRESULT`
//!   (MS-DCOM activation, every ORPC method — MIDL requires `[object]` methods to return an
//!   HRESULT, and the response's ORPCTHAT comes first, the HRESULT still last — MS-TSCH
//!   SchRpc*), or a MAPI code (MS-OXCRPC EMSMDB / AsyncEMSMDB, MS-NSPI, MS-OXABREF);
//! - the endpoint mapper (C706 / MS-RPCE: `ept_map` / `ept_lookup` end with the
//!   `error_status_t *status` out parameter) and DCE management, except
//!   `rpc__mgmt_is_server_listening`, which returns a boolean after its status.
//!
//! The space of each interface and operation, the names in each space and their severity
//! come from [`crate::names`] (`call_status_space`, `status_info`). Anything whose convention
//! is not known (an interface without a space in the data, an operation returning no status,
//! or an interface not known at all because neither the bind nor an endpoint mapper answer
//! was captured) gets no judgement: [`judge`] is `None` and the call keeps outcome `ok` with
//! the raw `return_code` only. One exception is made here: `ept_lookup` ends its enumeration
//! with `ept_s_not_registered` / `ept_s_no_more_entries`, which is the end of a list there.

use crate::names::{self, StatusClass, StatusInfo, StatusRole, StatusSpace};
use crate::pdu::Syntax;

use crate::known::EPM;
const EPT_S_NO_MORE_ENTRIES: u32 = 0x16c9_a0d4;
const EPT_S_NOT_REGISTERED: u32 = 0x16c9_a0d6;

/// The space of the status in the last 4 response stub bytes of `opnum` on the interface
/// `syn`, when known. `object`: the request carried an object UUID (an ORPC call on a DCOM
/// object: an HRESULT, whatever the interface).
pub fn return_space(syn: Option<&Syntax>, opnum: u16, object: bool) -> Option<StatusSpace> {
    let space =
        syn.map_or(StatusSpace::Unknown, |s| names::call_status_space(&s.uuid, s.ver_major, opnum));
    match space {
        StatusSpace::None => None,
        StatusSpace::Unknown => object.then_some(StatusSpace::HResult),
        s => Some(s),
    }
}

/// Judges the return status `code` of `opnum` on `syn` (see the module docs); `None` when the
/// operation's return convention is not known.
pub fn judge(syn: Option<&Syntax>, opnum: u16, object: bool, code: u32) -> Option<StatusInfo> {
    let space = return_space(syn, opnum, object)?;
    let mut info = names::status_info(space, code);
    let lookup = syn.is_some_and(|s| s.uuid == EPM) && opnum == 2;
    if lookup && matches!(code, EPT_S_NOT_REGISTERED | EPT_S_NO_MORE_ENTRIES) {
        info.class = StatusClass::Info;
        info.role = StatusRole::EndOfList;
    }
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syn(u: &str, major: u16) -> Syntax {
        Syntax { uuid: u.parse().unwrap(), ver_major: major, ver_minor: 0 }
    }

    #[test]
    fn judged_in_the_interface_space() {
        let samr = syn("12345778-1234-abcd-ef00-0123456789ac", 1);
        let j = judge(Some(&samr), 0, false, 0xc000_0022).unwrap();
        assert_eq!(
            (j.space, j.class, j.name),
            (StatusSpace::NtStatus, StatusClass::Error, Some("STATUS_ACCESS_DENIED"))
        );
        assert_eq!(judge(Some(&samr), 0, false, 0x105).unwrap().class, StatusClass::Info);
        let nspi = syn("f5cc5a18-4264-101a-8c59-08002b2f8426", 56);
        let j = judge(Some(&nspi), 0, false, 0x8004_0111).unwrap();
        assert_eq!((j.class, j.name), (StatusClass::Error, Some("MAPI_E_LOGON_FAILED")));
    }

    #[test]
    fn unknown_conventions_are_not_judged() {
        let other = syn("00000000-1111-2222-3333-444444444444", 1);
        assert_eq!(judge(Some(&other), 0, false, 5), None);
        assert_eq!(judge(None, 3, false, 5), None);
        assert_eq!(judge(Some(&other), 0, true, 0x8000_4002).unwrap().space, StatusSpace::HResult);
        let epm = syn("e1af8308-5d1f-11c9-91a4-08002b14a0fa", 3);
        assert_eq!(
            judge(Some(&epm), 2, false, EPT_S_NOT_REGISTERED).unwrap().class,
            StatusClass::Info
        );
        assert_eq!(
            judge(Some(&epm), 3, false, EPT_S_NOT_REGISTERED).unwrap().class,
            StatusClass::Error
        );
    }
}
