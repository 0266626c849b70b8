//! Protocol facts shared by the capture side (`tracehound-apps`) and the live side
//! (`tracehound-probe`): one implementation of each, so that what a capture says and what a
//! live probe says about the same bytes cannot disagree.
//!
//! - [`reader`]: a checked byte reader (big- and little-endian) whose errors say what was
//!   missing and where;
//! - [`ber`]: BER/DER (X.690) reading and writing for LDAP, Kerberos, SNMP, SPNEGO;
//! - [`dns`]: DNS response codes;
//! - [`tls`]: TLS version and alert names;
//! - [`x509`]: the fields of a certificate that matter for troubleshooting, and RFC 6125
//!   name matching (does this certificate cover that host?);
//! - [`time`]: civil dates from Unix seconds (certificate validity, Kerberos times);
//! - logon protocols: [`krb`] (Kerberos messages and error codes), [`ntlm`] (NTLMSSP),
//!   [`spnego`] (GSS-API / SPNEGO unwrapping), [`ldap`] (result codes, AD sub-codes),
//!   [`ntstatus`] (logon and access statuses), [`rdp`] (RDP negotiation), [`base64`].
//!
//! Contract: nothing here panics on any input, and nothing allocates from a length read off
//! the wire without a cap.

pub mod base64;
pub mod ber;
pub mod dns;
pub mod krb;
pub mod ldap;
pub mod ntlm;
pub mod ntstatus;
pub mod rdp;
pub mod reader;
pub mod spnego;
pub mod time;
pub mod tls;
pub mod x509;

pub use reader::{ParseError, Reader};
