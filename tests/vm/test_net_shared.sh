#!/bin/bash
# timeout: 240
# Two client VMs share one NIC (e1000) of one driver VM, each through its own channel
# and with its own MAC: both reach the peer in the test's namespace, and each other
# (switched locally by the translation module, never touching the wire).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/net_common.sh"
net_need_build

net_ns_setup
net_iperf_server
net_chan_start s1 52:54:00:dd:02:01
net_chan_start s2 52:54:00:dd:02:02
net_tap_create "${NET_TAP}s"
net_driver_vm_start drv e1000 "${NET_TAP}s" "s1 s2"
net_client_vm_start cl1 s1
net_client_vm_start cl2 s2
vm_wait drv 'DDVM-READY role=driver-vm' 120
net_tap_to_ns "${NET_TAP}s" $NET_PEER/24
vm_wait cl1 'DDVM-AGENT up' 120
vm_wait cl2 'DDVM-AGENT up' 120
if1=$(net_ifname cl1 52:54:00:dd:02:01)
if2=$(net_ifname cl2 52:54:00:dd:02:02)
net_client_up cl1 "$if1" 10.99.0.11
net_client_up cl2 "$if2" 10.99.0.12
net_wait_backend drv 30
net_wait_carrier cl1 "$if1" 60
net_wait_carrier cl2 "$if2" 60

net_ping cl1 $NET_PEER
net_ping cl2 $NET_PEER
net_ping cl1 10.99.0.12
net_ping cl2 10.99.0.11
vm_cmd cl2 10 'iperf3 -s -D' >/dev/null || t_fail "cl2: iperf3 -s"
out=$(vm_cmd cl1 60 "iperf3 -c 10.99.0.12 -t 2 -f m") || { echo "$out"; t_fail "cl1 -> cl2 iperf3 failed"; }
echo "client <-> client: $(echo "$out" | grep receiver)"
up1=$(net_iperf cl1)
t_log "cl1 -> peer: $up1 Mbit/s"
down2=$(net_iperf cl2 -R)
t_log "peer -> cl2: $down2 Mbit/s"

stats=$(net_backend_stats drv)
echo "    ${stats//$'\n'/$'\n'    }"
local_frames=$(echo "$stats" | awk '/^tx_local/ {s += $2} END {print s + 0}')
[ "$local_frames" -gt 0 ] || t_fail "no frame was switched locally between the clients"
net_no_oops drv
net_no_oops cl1
net_no_oops cl2
echo SUCCESS
