#!/bin/bash
# path-lossy-router: two captures of one problem. A client downloads 600 kB and uploads
# 400 kB through a router namespace that drops packets at random in both directions
# (nftables `numgen random mod 100 < 4 drop`: ~4% of the packets each way). Captured at the
# same time on the client's interface and on the server's
# interface (both sides of the router, full headers, snaplen 200). Each capture alone shows
# retransmissions (tcp.loss); together they show which packets left one capture point and
# never reached the other: the loss is located between the two capture points, per direction.
# Writes path-lossy-router-client.pcap and path-lossy-router-server.pcap (+ .expect.json).
# Expected diagnosis (both files given): path.lost_between, leading the summary.
# Addresses 10.88.1.0/24 and 10.88.2.0/24, namespaces th-h3-<pid>-*.
set -euo pipefail
export TH_PREFIX=th-h3-$$
. "$(dirname "$0")/../net/lib.sh"
net_init path-lossy-router
ns_create cli >/dev/null; ns_create rtr >/dev/null; ns_create srv >/dev/null
ns_link "$(ns cli)" c0 10.88.1.1/24 "$(ns rtr)" r0 10.88.1.254/24
ns_link "$(ns rtr)" r1 10.88.2.254/24 "$(ns srv)" s0 10.88.2.1/24
ns_router "$(ns rtr)"
ns_route "$(ns cli)" default 10.88.1.254
ns_route "$(ns srv)" default 10.88.2.254
CLI_IP=10.88.1.1; SRV_IP=10.88.2.1
offload_off cli c0; offload_off rtr r0; offload_off rtr r1; offload_off srv s0
nsx rtr nft -f - <<NFT
table inet lab {
    chain forward {
        type filter hook forward priority 0; policy accept;
        ip saddr $SRV_IP numgen random mod 100 < 4 counter drop
        ip saddr $CLI_IP numgen random mod 100 < 4 counter drop
    }
}
NFT
bg srv "$PY" "$NET_DIR/peers.py" bulk-server --port 7010 --bytes 600000 --life 30
listening srv 7010
bg srv "$PY" "$NET_DIR/peers.py" sink-server --port 7011 --hold 0
listening srv 7011
PCAP_SRV="$TMP/out/$SCEN-server.pcap"
PCAP_CLI="$TMP/out/$SCEN-client.pcap"
TH_SNAPLEN=200 capture_start "$(ns srv)" s0 "$PCAP_SRV"
TH_SNAPLEN=200 capture_start "$(ns cli)" c0 "$PCAP_CLI"
sleep 0.2
nsx cli "$PY" "$NET_DIR/peers.py" recv-client --host "$SRV_IP" --port 7010 --timeout 20
nsx cli "$PY" "$NET_DIR/peers.py" send-client --host "$SRV_IP" --port 7011 --bytes 400000 --timeout 20
capture_stop "$PCAP_SRV" "$PCAP_CLI" || th_die "capture incomplete"
DROPS=$(nsx rtr nft list ruleset | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | paste -sd/)
for side in client server; do
    PCAP="$TMP/out/$SCEN-$side.pcap"
    EXPECT="$TMP/out/$SCEN-$side.expect.json"
    expect path.lost_between "600 kB down, 400 kB up through a router dropping ~4% of the packets each way at random; captured at the $side (the other capture is $SCEN-$( [ $side = client ] && echo server || echo client).pcap)" \
        --count data_from_server="ip.src==$SRV_IP && tcp.len>0" \
        --count data_from_client="ip.src==$CLI_IP && tcp.len>0" \
        --note "router nft counters (server->client / client->server packets dropped): $DROPS" \
        --note "single-capture diagnosis: tcp.loss; with both captures: path.lost_between"
    check 'tcp_retransmission>=3' 'tcp_rst==0'
done
for side in client server; do
    sz=$(stat -c %s "$TMP/out/$SCEN-$side.pcap")
    [ "$sz" -lt 307200 ] || th_die "capture too large ($sz bytes)"
    install -m 0644 "$TMP/out/$SCEN-$side.pcap" "$FIX_DIR/$SCEN-$side.pcap"
    install -m 0644 "$TMP/out/$SCEN-$side.expect.json" "$FIX_DIR/$SCEN-$side.expect.json"
    echo "$SCEN: wrote $FIX_DIR/$SCEN-$side.pcap ($sz bytes)"
done
NET_OK=1
