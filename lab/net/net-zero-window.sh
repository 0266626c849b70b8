#!/bin/bash
# net-zero-window: the server accepts with a small receive buffer (SO_RCVBUF 4096 set before
# listen) and does not read for 3 s while the client sends 60 kB: the server's window drops to
# zero, the client sends zero-window probes (Linux: ACKs with an old sequence number, which
# tshark 4.0 labels keep-alives) with backoff; then the server reads and a window update
# reopens the flow. Captured at the client, snaplen 200.
# Expected diagnosis: tcp.zero_window.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
net_init net-zero-window
topo_pair 1
bg srv "$PY" "$NET_DIR/peers.py" sink-server --port 7060 --rcvbuf 4096 --hold 3 --life 20
listening srv 7060
cap cli c0 200
nsx cli "$PY" "$NET_DIR/peers.py" send-client --host "$SRV_IP" --port 7060 --bytes 60000 --timeout 12
cap_end
expect tcp.zero_window "receiver (server) stops reading for 3 s with a small receive buffer: zero window advertised, probes from the client, then window update when it reads" \
    --count zero_window_from_server="ip.src==$SRV_IP && tcp.window_size==0 && tcp.flags.syn==0" \
    --count probe_like_from_client="ip.src==$CLI_IP && (tcp.analysis.keep_alive || tcp.analysis.zero_window_probe)" \
    --stats zero_window_time="frame.time_relative@ip.src==$SRV_IP && tcp.analysis.zero_window" \
    --note "Linux zero-window probes are ACKs with seq = snd_una - 1 (no payload): tshark 4.0 calls them TCP Keep-Alive, not zero-window probes"
check 'tcp_zero_window>=1' 'tcp_window_update>=1'
net_done
