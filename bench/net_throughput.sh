#!/bin/bash
# TCP throughput through a driver VM vs native, measured side by side in one run.
#
#   bench/net_throughput.sh [SECONDS] [MODEL]      (default: 10 s, e1000; needs root)
#
# reuse:  client VM --ddvm channel--> driver VM (ddvm_netback + stock MODEL driver)
#         --emulated MODEL--> tap --> peer (iperf3 -s) in a private network namespace
# native: the same client VM image owning the same emulated MODEL directly on a tap
#
# Prints iperf3 Mbit/s for both directions and the host CPU seconds (all QEMU
# processes of the setup) per GB moved; ratios are reuse / native.
source "$(dirname "$0")/../tests/lib/common.sh"
source "$(dirname "$0")/../tests/vm/net_common.sh"
net_need_build
SECS=${1:-10}
MODEL=${2:-e1000}
NET_IPERF_SECS=$SECS

# CPU seconds (user + system) of the QEMU processes named by pid files
cpu_secs() {
	local pf ticks=0 t
	for pf in "$@"; do
		t=$(awk '{print $14 + $15}' "/proc/$(cat "$pf")/stat")
		ticks=$((ticks + t))
	done
	echo "$ticks $(getconf CLK_TCK)" | awk '{printf "%.2f", $1 / $2}'
}

# run NAME PIDFILES... — iperf3 both ways from client NAME; sets up/down/cpu_up/cpu_down
run() {
	local name=$1 c0 c1 c2
	shift
	c0=$(cpu_secs "$@")
	up=$(net_iperf "$name")
	c1=$(cpu_secs "$@")
	down=$(net_iperf "$name" -R)
	c2=$(cpu_secs "$@")
	# CPU seconds per GB = cpu / (Mbit/s * secs / 8 / 1000)
	cpu_up=$(echo "$c0 $c1 $up $SECS" | awk '{printf "%.1f", ($2 - $1) / ($3 * $4 / 8000)}')
	cpu_down=$(echo "$c1 $c2 $down $SECS" | awk '{printf "%.1f", ($2 - $1) / ($3 * $4 / 8000)}')
}

net_ns_setup
net_iperf_server

# --- through the driver VM -----------------------------------------------------------
net_chan_start b1 52:54:00:dd:05:01
net_tap_create "${NET_TAP}r"
net_driver_vm_start drv "$MODEL" "${NET_TAP}r" b1
net_client_vm_start client b1
vm_wait drv 'DDVM-READY role=driver-vm' 120
net_tap_to_ns "${NET_TAP}r" $NET_PEER/24
vm_wait client 'DDVM-AGENT up' 120
ifn=$(net_ifname client 52:54:00:dd:05:01)
net_client_up client "$ifn" 10.99.0.11
net_wait_backend drv 30
net_wait_carrier client "$ifn" 60
net_ping client $NET_PEER >/dev/null
run client "$T/drv.pid" "$T/client.pid"
r_up=$up r_down=$down r_cpu_up=$cpu_up r_cpu_down=$cpu_down
t_kill_pidfile "$T/client.pid"
t_kill_pidfile "$T/drv.pid"
ip -n "$NET_NS" link del "${NET_TAP}r"

# --- native: the client VM owns the NIC ------------------------------------------------
net_tap_create "${NET_TAP}n"
mapfile -t nic < <(net_nic_args "$MODEL" "${NET_TAP}n" 52:54:00:dd:05:02)
VM_MEM=${CLIENT_VM_MEM:-384} net_vm_start native "$DDVM_CLIENT_INITRD" "" "${nic[@]}"
vm_wait native 'DDVM-READY role=client-vm' 120
net_tap_to_ns "${NET_TAP}n" $NET_PEER/24
vm_wait native 'DDVM-AGENT up' 120
ifn=$(net_ifname native 52:54:00:dd:05:02)
net_client_up native "$ifn" 10.99.0.21
net_wait_carrier native "$ifn" 60
net_ping native $NET_PEER >/dev/null
run native "$T/native.pid"
n_up=$up n_down=$down n_cpu_up=$cpu_up n_cpu_down=$cpu_down

ratio() { echo "$1 $2" | awk '{printf "%.2f", $1 / $2}'; }
echo
echo "net throughput, $MODEL, iperf3 -t $SECS, accel $(ddvm_accel), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
printf '%-26s %12s %12s %8s\n' "" "driver VM" "native" "ratio"
printf '%-26s %12s %12s %8s\n' "client->peer Mbit/s" "$r_up" "$n_up" "$(ratio "$r_up" "$n_up")"
printf '%-26s %12s %12s %8s\n' "peer->client Mbit/s" "$r_down" "$n_down" "$(ratio "$r_down" "$n_down")"
printf '%-26s %12s %12s %8s\n' "client->peer CPU s/GB" "$r_cpu_up" "$n_cpu_up" "$(ratio "$r_cpu_up" "$n_cpu_up")"
printf '%-26s %12s %12s %8s\n' "peer->client CPU s/GB" "$r_cpu_down" "$n_cpu_down" "$(ratio "$r_cpu_down" "$n_cpu_down")"
