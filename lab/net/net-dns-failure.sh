#!/bin/bash
# net-dns-failure: a DNS responder in the server namespace (lab/net/peers.py dns-server, RFC
# 1035 over UDP 53) answers ok.lab.test with an A record (control), nx.lab.test with NXDOMAIN,
# fail.lab.test with SERVFAIL, refused.lab.test with REFUSED, and never answers
# silent.lab.test. The client asks with dig (+tries=2 +time=1, so the silent name is asked
# twice). Captured at the client, full packets.
# Expected diagnosis: dns.failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_need dig
net_init net-dns-failure
topo_pair 1
bg srv "$PY" "$NET_DIR/peers.py" dns-server --port 53 --life 20
listening_udp srv 53
cap cli c0 0
for name in ok nx fail refused silent; do
    nsx cli dig +tries=2 +time=1 +noall +comments @"$SRV_IP" "$name.lab.test" A 2>&1 | grep -E 'status|timed out|no servers' || true
done
cap_end
expect dns.failure "DNS answers: ok.lab.test NOERROR (control), nx.lab.test NXDOMAIN, fail.lab.test SERVFAIL, refused.lab.test REFUSED; silent.lab.test never answered (2 tries)" \
    --count nxdomain="dns.flags.rcode==3" \
    --count servfail="dns.flags.rcode==2" \
    --count refused="dns.flags.rcode==5" \
    --count noerror="dns.flags.response==1 && dns.flags.rcode==0" \
    --count silent_queries="dns.qry.name==\"silent.lab.test\" && dns.flags.response==0" \
    --stats dns_time=dns.time@dns.flags.response==1
check 'nxdomain==1' 'servfail==1' 'refused==1' 'noerror==1' 'dns_unanswered_query==2'
net_done
