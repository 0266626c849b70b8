//! Fuzz target `probe_replies`: every reply parser of `tracehound portqry`'s protocol
//! queries (DNS over UDP and TCP, LDAP/CLDAP BER, Kerberos KRB-ERROR / AS-REP over UDP and
//! TCP, SMB2 NEGOTIATE response, NetBIOS node status, SNMP, SQL Browser, STUN/TURN, HTTP
//! status line and headers, TLS records / ServerHello / Certificate, X.509 certificates,
//! RDP negotiation, and the endpoint mapper's bind reply + response fragments +
//! ept_lookup / ept_map stubs as the EPM query reads them), each followed by its text
//! rendering and JSON serialization.
//!
//! Input layout: byte 0 selects the parser (tracehound_probe::fuzzing::Parser, modulo the
//! count), the rest is the server's reply. Seeds: fuzz/seed_probe_replies.sh (real replies
//! captured from Samba AD DC, snmpd, coturn, nmbd, xrdp and python http.server in a lab,
//! and the TLS server flights of /work/shared/captures/tls).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tracehound_probe::fuzzing::replies(data);
});
