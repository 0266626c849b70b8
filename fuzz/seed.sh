#!/bin/sh
# Seeds fuzz/corpus/<target>/ with small real captures from /work/shared/captures
# (provenance: /work/shared/captures/SOURCES.md). Corpus dirs are gitignored.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
shared="$here/../../shared/captures"
[ -d "$shared" ] || { echo "seed.sh: $shared missing" >&2; exit 1; }
dst="$here/corpus/capture_reader"
mkdir -p "$dst"
for f in \
    tcp/zeek__syn.pcap \
    tcp/zeek__single-rst.pcap \
    tcp/zeek__option-27.pcap \
    tcp/zeek__syn-synack.pcap \
    tcp/zeek__options.pcap \
    dcerpc/dcerpc__dcerpc-udp-scapy__input.pcap \
    dcerpc/zeek__bind-ack-no-inband-null.pcap \
    dcerpc/zeek__dce_rpc_ntlm.pcapng \
    dcerpc/zeek__kerberos445_auth.pcapng \
    tcp/zeek__http-on-irc-port-missing-syn.pcapng
do
    cp "$shared/$f" "$dst/$(echo "$f" | tr / _)"
done
# A gzip'd copy and a nanosecond pcap exercise those paths too.
gzip -9 -c "$shared/tcp/zeek__syn-synack.pcap" > "$dst/syn-synack.pcap.gz"
if command -v editcap >/dev/null; then
    editcap -F nsecpcap "$shared/tcp/zeek__options.pcap" "$dst/options.nsec.pcap"
fi
echo "seeded $(ls "$dst" | wc -l) files into $dst"
