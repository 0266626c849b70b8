//! Likely causes and next steps for a refused DCE/RPC call, fitted to the interface, the
//! operation and how the call was authenticated (used by `rpc.refused`).

use tracehound_rpc::calls::Outcome;
use tracehound_rpc::names;
use tracehound_rpc::uuid::Uuid;
use tracehound_rpc::Call;

use tracehound_rpc::known::NETLOGON_TEXT as NETLOGON;
/// NetrServerReqChallenge, NetrServerAuthenticate, 2, 3: the secure channel setup, on an
/// unauthenticated bind by design (MS-NRPC 3.1.4.1).
const NETLOGON_SETUP_OPS: [u16; 4] = [4, 5, 15, 26];

type Advice = (Vec<String>, Vec<String>);

/// Does any version of the interface define `opnum`? `None` when the interface is unknown.
fn opnum_exists(uuid: &str, opnum: u16) -> Option<bool> {
    let u: Uuid = uuid.parse().ok()?;
    names::opnum_name(&u, 0)?;
    if names::opnum_name(&u, opnum).is_some() {
        return Some(true);
    }
    // A later opnum named means this one is only unnamed, not missing.
    Some(
        (opnum.saturating_add(1)..=opnum.saturating_add(64))
            .any(|k| names::opnum_name(&u, k).is_some()),
    )
}

/// Is this Netlogon's secure channel setup (unauthenticated bind by design)?
pub fn netlogon_setup(c: &Call) -> bool {
    c.uuid.as_deref() == Some(NETLOGON) && c.opnum.is_some_and(|o| NETLOGON_SETUP_OPS.contains(&o))
}

fn access_denied(c: &Call) -> Advice {
    if netlogon_setup(c) {
        return (
            vec![
                "the machine (or trust) account's credential does not match the domain's: a broken secure channel (machine restored from a snapshot or image, password changed on one side only)".into(),
                "the account is missing, disabled, or not allowed this secure channel type".into(),
                "the DC refuses the negotiated flags (secure RPC required since the CVE-2020-1472 hardening)".into(),
            ],
            vec!["On the client run `nltest /sc_verify:DOMAIN` (or `Test-ComputerSecureChannel -Repair`); on the DC look for NETLOGON events 5722, 5723, 5805 and 5827-5831 at the time of the call.".into()],
        );
    }
    if c.pipe.is_some() && c.auth_type.is_none() {
        return (
            vec![
                "the SMB session's user lacks the right on the server (group membership, SAM/LSA restrictions such as RestrictRemoteSAM, share or pipe permissions)".into(),
                "the SMB session is anonymous or a guest session".into(),
            ],
            vec!["Check which user the SMB session authenticated as (the session setup before the call) and its rights on the server; retry with an account that has them.".into()],
        );
    }
    (
        vec![
            "the account lacks the right on the server (group membership, DCOM/WMI launch and access permissions, SAM/LSA restrictions)".into(),
            "the call is anonymous or at too low an authentication level (e.g. RestrictRemoteSAM, RequireIntegrityActivationAuthenticationLevel / the DCOM hardening of KB5004442)".into(),
        ],
        vec!["Check the authentication type/level and the user shown; retry with an account that has the right, or raise the client's authentication level to packet integrity/privacy.".into()],
    )
}

/// Is the call's operation number one no version of its (known) interface has?
pub fn opnum_missing(c: &Call) -> bool {
    match (c.uuid.as_deref(), c.opnum) {
        (Some(u), Some(o)) => opnum_exists(u, o) == Some(false),
        _ => false,
    }
}

fn op_range(c: &Call) -> Advice {
    if opnum_missing(c) {
        return (
            vec!["no version of this interface has this operation number: a scanner, fuzzer or attack tool probing the server, not a version mismatch".into()],
            vec!["Find the client that sent it (the address shown) and why it probes this server.".into()],
        );
    }
    (
        vec!["client and server disagree on the interface version: the operation does not exist on the server's version".into()],
        vec!["Update the older side, or check the interface version negotiated in the bind.".into()],
    )
}

/// Causes and steps for a failure with this outcome and status on this call's interface.
pub fn advice(c: &Call, outcome: Outcome, status: &str, access: bool) -> Advice {
    let s = status.to_ascii_lowercase();
    if access {
        access_denied(c)
    } else if s.contains("sec_pkg") {
        (
            vec![
                "the server's security package could not process the client's authentication (Kerberos ticket or NTLM failure, clock skew, wrong SPN)".into(),
                "the auth verifier was damaged or cut (a middlebox, or a client bug)".into(),
            ],
            vec!["Look in the server's System and Security logs for Kerberos / NTLM errors at the time of the call; check time synchronisation and the SPN the client used.".into()],
        )
    } else if outcome == Outcome::BindNak
        || outcome == Outcome::Rejected
        || s.contains("unknown_if")
        || s.contains("unk_if")
        || s.contains("abstract_syntax")
    {
        (
            vec![
                "the interface (or this version of it) is not served on this endpoint — wrong port, or the service is not running".into(),
                "the transfer syntax is not supported (NDR64 vs NDR)".into(),
                "the authentication type is not accepted by the server".into(),
            ],
            vec!["Ask the endpoint mapper which endpoint serves this interface (`tracehound portqry -n SERVER -e 135`) and check the service is running.".into()],
        )
    } else if s.contains("op_rng") || s.contains("range") {
        op_range(c)
    } else if s.contains("proto_error") || s.contains("protocol") {
        (
            vec!["a malformed request, or a middlebox changing the traffic".into()],
            vec!["Capture on both sides and compare the request bytes.".into()],
        )
    } else {
        (
            vec!["the server refused or failed the operation; the status says why".into()],
            vec!["Look the status up in the server's event log around the time of the call.".into()],
        )
    }
}
