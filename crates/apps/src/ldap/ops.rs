//! LDAP operations by their protocolOp tag number (RFC 4511 §4.2 to §4.14): which are
//! requests, which are answered by an LDAPResult, and their names. A leaf: the message
//! head reader ([`super`]) and the bind/result reader ([`crate::ldapauth`]) both use it.

/// Operations answered by an LDAPResult.
pub fn is_response(op: u8) -> bool {
    matches!(op, 1 | 5 | 7 | 9 | 11 | 13 | 15 | 24)
}
/// Responses that come before the final one (search entries and references, intermediate).
pub fn is_partial(op: u8) -> bool {
    matches!(op, 4 | 19 | 25)
}
/// Requests that get a response (unbind and abandon get none).
pub fn is_request(op: u8) -> bool {
    matches!(op, 0 | 3 | 6 | 8 | 10 | 12 | 14 | 23)
}

pub fn op_name(op: u8) -> crate::Text {
    let s = match op {
        0 => "bindRequest",
        1 => "bindResponse",
        2 => "unbindRequest",
        3 => "searchRequest",
        4 => "searchResEntry",
        5 => "searchResDone",
        6 => "modifyRequest",
        7 => "modifyResponse",
        8 => "addRequest",
        9 => "addResponse",
        10 => "delRequest",
        11 => "delResponse",
        12 => "modDNRequest",
        13 => "modDNResponse",
        14 => "compareRequest",
        15 => "compareResponse",
        16 => "abandonRequest",
        19 => "searchResRef",
        23 => "extendedReq",
        24 => "extendedResp",
        25 => "intermediateResponse",
        n => return format!("op {n}").into(),
    };
    s.into()
}
