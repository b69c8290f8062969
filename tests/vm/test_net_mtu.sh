#!/bin/bash
# timeout: 240
# MTU and large frames through the driver VM: the translation module sets the e1000's
# MTU to 9000 (ddvm_netback.nic_mtu), the client adopts the MTU the channel announces,
# 8000-byte pings cross unfragmented both ways, a frame over the MTU is refused, and
# TCP send offload crosses the channel as large (GSO) frames. Then both modules are
# reloaded under traffic, and finally the driver VM dies under the client.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/net_common.sh"
net_need_build

net_ns_setup
net_iperf_server
net_chan_start j1 52:54:00:dd:04:01
net_tap_create "${NET_TAP}j"
net_driver_vm_start drv e1000 "${NET_TAP}j" j1 ddvm_netback.nic_mtu=9000
net_client_vm_start client j1
vm_wait drv 'DDVM-READY role=driver-vm' 90
net_tap_to_ns "${NET_TAP}j" $NET_PEER/24 9000
vm_wait client 'DDVM-AGENT up' 90
ifn=$(net_ifname client 52:54:00:dd:04:01)
net_client_up client "$ifn" 10.99.0.11
net_wait_backend drv 30
net_wait_carrier client "$ifn" 60

mtu=$(vm_cmd client 10 "cat /sys/class/net/$ifn/mtu")
[ "$mtu" = 9000 ] || t_fail "client MTU is $mtu, expected the NIC's 9000"
net_ping client $NET_PEER -s 8000 -M 'do'
ip netns exec "$NET_NS" ping -c 2 -W 5 -s 8000 -M 'do' 10.99.0.11 >/dev/null ||
	t_fail "peer -> client 8000-byte ping failed"
if vm_cmd client 20 "ping -c 1 -W 2 -s 9100 -M do $NET_PEER" >/dev/null; then
	t_fail "a 9128-byte datagram crossed a 9000-byte MTU"
fi

# back to 1500: large sends must still cross as GSO frames (bytes/frame >> MTU)
vm_cmd client 10 "ip link set $ifn mtu 1500" >/dev/null
net_ping client $NET_PEER -s 1472 -M 'do'
before=$(net_backend_stats drv | awk '/^tx_frames/ {f=$2} /^tx_bytes/ {b=$2} END {print f, b}')
up=$(net_iperf client)
after=$(net_backend_stats drv | awk '/^tx_frames/ {f=$2} /^tx_bytes/ {b=$2} END {print f, b}')
read -r f0 b0 <<<"$before"
read -r f1 b1 <<<"$after"
avg=$(((b1 - b0) / (f1 - f0 + 1)))
t_log "iperf3 client->peer $up Mbit/s at MTU 1500; $((f1 - f0)) frames crossed the channel, $avg bytes each on average"
[ "$avg" -gt 3000 ] || t_fail "TSO frames did not cross the channel whole (average $avg bytes)"
net_no_oops drv
net_no_oops client

# the translation module is unloaded and loaded again under traffic: the client drops
# its carrier and reconnects; then the client driver is reloaded: the backend resets
# its side of the rings for the new client driver instance
vm_cmd client 5 "(iperf3 -c $NET_PEER -t 6 >/dev/null 2>&1 &); true"
# shellcheck disable=SC2016 # expanded by the guest's shell
frames='cat /sys/bus/pci/drivers/ddvm_netback/*/stats | awk "/^(tx|rx)_frames / { s += \$2 } END { print s + 0 }"'
out=$(vm_cmd drv 30 "a=\$($frames); sleep 2; b=\$($frames); echo FRAMES \$a \$b; rmmod ddvm_netback && modprobe ddvm_netback") ||
	t_fail "reloading ddvm_netback failed: $out"
read -r f0 f1 < <(echo "$out" | sed -n 's/.*FRAMES \([0-9]*\) \([0-9]*\).*/\1 \2/p')
((${f1:-0} > ${f0:-0} + 100)) || t_fail "no traffic through the channel when ddvm_netback was unloaded (frames ${f0:-?} -> ${f1:-?})"
t_log "ddvm_netback unloaded under traffic: $((f1 - f0)) frames in the 2 s before"
net_wait_backend drv 30
net_wait_carrier client "$ifn" 30
net_ping client $NET_PEER
vm_cmd client 60 "sleep 4; rmmod ddvm_netfront && modprobe ddvm_netfront && ip link set $ifn up && ip addr add 10.99.0.11/24 dev $ifn" ||
	t_fail "reloading ddvm_netfront failed"
net_wait_carrier client "$ifn" 30
net_ping client $NET_PEER
net_backend_stats drv | grep -E '^(state|violations|resets)' | sed 's/^/    /'
net_backend_stats drv | grep -q '^violations 0' || t_fail "a reload broke the channel"

# the driver VM dies: the client notices (heartbeat), drops its carrier, keeps its
# interface and address, and nothing hangs
t_kill_pidfile "$T/drv.pid"
vm_cmd client 30 "for i in \$(seq 200); do [ \$(cat /sys/class/net/$ifn/carrier) = 0 ] && exit 0; sleep 0.1; done; exit 1" ||
	t_fail "client kept its carrier after the driver VM died"
vm_cmd client 20 "ip addr show dev $ifn | grep -q 10.99.0.11 && ! ping -c 1 -W 1 $NET_PEER >/dev/null" ||
	t_fail "client interface lost its address or still reaches the peer"
vm_cmd client 10 "dmesg | grep -i 'ddvm' | tail -n 3"
net_no_oops client
echo SUCCESS
