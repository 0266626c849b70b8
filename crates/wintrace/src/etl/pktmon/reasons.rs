//! Names of PktMon drop reasons (the DropReason field of events 170 / 210 / 230 / 240).
//!
//! * 0–38, 101–104, 201–204 (NDIS, miniport and Hyper-V switch reasons): the
//!   `PktMon_DropReason` table of Microsoft's Network Monitor parser
//!   (microsoft/NetMon_Parsers_for_PacketMon, `etl_Microsoft-Windows-PktMon-Events.npl`).
//! * 1200–1232 (INET: the TCP/UDP endpoint layer): `PKTMON_DROP_REASON`,
//!   `PktMonDrop_INET_*`, of the Packet Monitor API reference (pktmonnpik.h).
//!
//! Other reasons stay numbers (`reason N`).

const GENERAL: [&str; 39] = [
    "Unspecified",
    "Invalid Data",
    "Invalid Packet",
    "Insufficient resources",
    "Adapter not ready",
    "Media Disconnected",
    "Not accepted",
    "Device busy",
    "Filtered",
    "Filtered VLAN",
    "Unauthorized VLAN",
    "Unauthorized MAC",
    "Failed security policy",
    "Failed pVlan setting",
    "QoS drop",
    "IPSec drop",
    "Spoofed MAC address is not allowed",
    "Failed DHCP guard",
    "Failed Router Guard",
    "Bridge is not allowed inside VM",
    "Virtual Subnet ID does not match",
    "Required vSwitch extension is missing",
    "Creating vSwitch over another vSwitch is not allowed",
    "MTU mismatch",
    "Native forwarding required",
    "Invalid VLAN format",
    "Invalid destination MAC",
    "Invalid source MAC",
    "First NB too small",
    "Windows Network Virtualization error",
    "Storm limit exceeded",
    "ICMP request injected by switch",
    "Failed to update destination list",
    "Destination NIC is disabled",
    "Packet does not match destination NIC packet filter",
    "vSwitch data flow is disabled",
    "Port isolation setting does not allow untagged traffic",
    "Invalid PD queue",
    "Adapter is in low power state",
];

/// 101–104.
const ADAPTER: [&str; 4] =
    ["Adapter paused", "Adapter reset in progress", "Send aborted", "Unsupported EtherType"];

/// 201–204.
const MICROPORT: [&str; 4] =
    ["Microport error", "VF not ready", "Microport not ready", "VMBus error"];

/// 1200–1232.
const INET: [&str; 33] = [
    "INET_SourceUnspecified",
    "INET_DestinationMulticast",
    "INET_HeaderInvalid",
    "INET_ChecksumInvalid",
    "INET_EndpointNotFound",
    "INET_ConnectedPath",
    "INET_SessionState",
    "INET_ReceiveInspection",
    "INET_AckInvalid",
    "INET_ExpectedSyn",
    "INET_Rst",
    "INET_SynRcvdSyn",
    "INET_SimultaneousConnect",
    "INET_PawsFailed",
    "INET_LandAttack",
    "INET_MissedReset",
    "INET_OutsideWindow",
    "INET_DuplicateSegment",
    "INET_ClosedWindow",
    "INET_TcbRemoved",
    "INET_FinWait2",
    "INET_ReassemblyConflict",
    "INET_FinReceived",
    "INET_ListenerInvalidFlags",
    "INET_TcbNotInTcbTable",
    "INET_TimeWaitTcbReceivedRstOutsideWindow",
    "INET_TimeWaitTcbSynAndOtherFlags",
    "INET_TimeWaitTcb",
    "INET_SynAckWithFastopenCookieRequest",
    "INET_PauseAccept",
    "INET_SynAttack",
    "INET_AcceptInspection",
    "INET_AcceptRedirection",
];

/// `Name (code)` where the reason is known, else `reason N`.
pub fn reason_name(r: u32) -> String {
    let from = |table: &[&'static str], first: u32| -> Option<&'static str> {
        r.checked_sub(first).and_then(|i| table.get(i as usize)).copied()
    };
    let name = match r {
        0..=38 => from(&GENERAL, 0),
        101..=104 => from(&ADAPTER, 101),
        201..=204 => from(&MICROPORT, 201),
        1200..=1232 => from(&INET, 1200),
        _ => None,
    };
    match name {
        Some(n) => format!("{n} ({r})"),
        None => format!("reason {r}"),
    }
}

#[cfg(test)]
mod tests {
    use super::reason_name;

    #[test]
    fn names_from_the_published_tables() {
        // npl PktMon_DropReason: case 5 "Media Disconnected", 104 "Unsupported EtherType",
        // 204 "VMBus error"; pktmonnpik.h PktMonDrop_INET_EndpointNotFound = 1204.
        assert_eq!(reason_name(5), "Media Disconnected (5)");
        assert_eq!(reason_name(38), "Adapter is in low power state (38)");
        assert_eq!(reason_name(104), "Unsupported EtherType (104)");
        assert_eq!(reason_name(204), "VMBus error (204)");
        assert_eq!(reason_name(1204), "INET_EndpointNotFound (1204)");
        assert_eq!(reason_name(1232), "INET_AcceptRedirection (1232)");
        for open in [39, 100, 105, 200, 205, 997, 1199, 1233, u32::MAX] {
            assert_eq!(reason_name(open), format!("reason {open}"));
        }
    }
}
