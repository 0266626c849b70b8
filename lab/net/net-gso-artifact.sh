#!/bin/bash
# net-gso-artifact: the same healthy bulk transfer as elsewhere (300 kB server -> client), but
# captured ON THE SENDER's veth with the default offloads left ON (TSO/GSO, checksum offload):
# tcpdump sees the stack's super-segments before segmentation (tcp.len far above the MSS,
# ip.len up to 64 kB) and TCP checksums not yet filled in (CHECKSUM_PARTIAL). Both are
# artifacts of the capture point, not network problems: the wire carried MSS-sized segments
# with valid checksums. Snaplen 200.
# Expected diagnosis: capture.artifact (and NOT tcp.mss_exceeded, NOT a checksum error).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_init net-gso-artifact
ns_create cli >/dev/null; ns_create srv >/dev/null
ns_link "$(ns cli)" c0 10.77.1.1/24 "$(ns srv)" s0 10.77.1.2/24
CLI_IP=10.77.1.1; SRV_IP=10.77.1.2
nsx srv ethtool -K s0 tso on gso on tx on >/dev/null
offloads=$(nsx srv ethtool -k s0 | grep -E '^(tcp-segmentation-offload|generic-segmentation-offload|tx-checksumming):' | tr -s ' \n' ' ')
bg srv "$PY" "$NET_DIR/peers.py" bulk-server --port 7040 --bytes 300000 --life 20
listening srv 7040
cap srv s0 200
nsx cli "$PY" "$NET_DIR/peers.py" recv-client --host "$SRV_IP" --port 7040 --timeout 10
cap_end
expect capture.artifact "bulk transfer captured on the sender with TSO/GSO and checksum offload on: segments larger than the MSS and bad TCP checksums, both artifacts of the capture point" \
    --count oversize_from_server="ip.src==$SRV_IP && tcp.len>1460" \
    --count bad_checksum_from_server="ip.src==$SRV_IP && tcp.checksum.status==0" \
    --stats server_segment_len="tcp.len@ip.src==$SRV_IP && tcp.len>0" \
    --note "ARTIFACT: oversize segments (tcp.len > MSS 1460) come from TSO/GSO on the capturing host (capture on the sender's interface), not from the network" \
    --note "ARTIFACT: bad TCP checksums on the sender's packets come from checksum offload (the NIC/veth fills them in later)" \
    --note "sender offloads during capture: $offloads" \
    --note "snaplen 200: tshark can verify checksums only of frames it has whole; the truncated super-segments are unverified"
check 'oversize_from_server>=1' 'tcp_bad_checksum>=1'
net_done
