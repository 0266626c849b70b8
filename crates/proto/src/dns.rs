//! DNS response codes (RFC 1035 §4.1.1, RFC 6895 §2.3; 4-bit header RCODE extended to 12
//! bits by the EDNS(0) OPT record).

/// The IANA name of a response code; unknown codes stay visible as `RCODEn`.
pub fn rcode_name(rc: u16) -> String {
    let s = match rc {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        11 => "DSOTYPENI",
        16 => "BADVERS",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        22 => "BADTRUNC",
        23 => "BADCOOKIE",
        n => return format!("RCODE{n}"),
    };
    s.into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert_eq!(super::rcode_name(3), "NXDOMAIN");
        assert_eq!(super::rcode_name(16), "BADVERS");
        assert_eq!(super::rcode_name(15), "RCODE15");
    }
}
