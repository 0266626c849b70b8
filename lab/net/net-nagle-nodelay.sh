#!/bin/bash
# net-nagle-nodelay: control for net-nagle-delayed-ack (same client, TCP_NODELAY set): no stall.
# Expected diagnosis: none.
NODELAY=1 exec "$(dirname "$0")/net-nagle-delayed-ack.sh"
