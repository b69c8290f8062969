#!/bin/bash
# TCP throughput through a driver VM vs native, measured side by side in one run.
#
#   [ROUNDS=3] bench/net_throughput.sh [SECONDS] [MODEL]   (default 10 s, e1000; root)
#
# reuse:  client VM --ddvm channel--> driver VM (ddvm_netback + stock MODEL driver)
#         --emulated MODEL--> tap --> peer (iperf3 -s) in a private network namespace
# native: the same client VM image owning the same emulated MODEL directly on a tap
#
# Prints iperf3 Mbit/s for both directions and the host CPU seconds (all QEMU
# processes of the setup) per GB moved, medians of ROUNDS alternating runs; ratios are
# reuse / native.
source "$(dirname "$0")/../tests/lib/common.sh"
source "$(dirname "$0")/../tests/vm/net_common.sh"
net_need_build
SECS=${1:-10}
MODEL=${2:-e1000}
NET_IPERF_SECS=$SECS
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# CPU seconds (user + system) of the QEMU processes named by pid files
cpu_secs() {
	local pf ticks=0 t
	for pf in "$@"; do
		t=$(awk '{print $14 + $15}' "/proc/$(cat "$pf")/stat")
		ticks=$((ticks + t))
	done
	echo "$ticks $(getconf CLK_TCK)" | awk '{printf "%.2f", $1 / $2}'
}

# measure NAME PEER DIR PIDFILES... — one iperf3 run; prints "Mbit/s CPU-s/GB"
measure() {
	local name=$1 peer=$2 dir=$3 c0 c1 mbps
	shift 3
	c0=$(cpu_secs "$@")
	mbps=$(NET_PEER=$peer net_iperf "$name" $dir)
	c1=$(cpu_secs "$@")
	echo "$mbps $(echo "$c0 $c1 $mbps $SECS" | awk '{printf "%.1f", ($2 - $1) / ($3 * $4 / 8000)}')"
}

median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# Both setups run side by side (peer 10.99.0.1 on the driver VM's tap, 10.99.1.1 on the
# native VM's tap, one iperf3 server) and are measured alternately, ROUNDS times each.
ROUNDS=${ROUNDS:-3}
net_ns_setup
net_iperf_server
net_chan_start b1 52:54:00:dd:05:01
net_tap_create "${NET_TAP}r"
net_tap_create "${NET_TAP}n"
net_driver_vm_start drv "$MODEL" "${NET_TAP}r" b1
net_client_vm_start client b1
mapfile -t nic < <(net_nic_args "$MODEL" "${NET_TAP}n" 52:54:00:dd:05:02)
VM_MEM=${CLIENT_VM_MEM:-384} net_vm_start native "$DDVM_CLIENT_INITRD" "" "${nic[@]}"
vm_wait drv 'DDVM-READY role=driver-vm' 120
vm_wait native 'DDVM-READY role=client-vm' 120
net_tap_to_ns "${NET_TAP}r" 10.99.0.1/24
net_tap_to_ns "${NET_TAP}n" 10.99.1.1/24
vm_wait client 'DDVM-AGENT up' 120
vm_wait native 'DDVM-AGENT up' 120
ifn=$(net_ifname client 52:54:00:dd:05:01)
net_client_up client "$ifn" 10.99.0.11
ifn_native=$(net_ifname native 52:54:00:dd:05:02)
net_client_up native "$ifn_native" 10.99.1.21
net_wait_backend drv 30
net_wait_carrier client "$ifn" 60
net_wait_carrier native "$ifn_native" 60
NET_PEER=10.99.0.1 net_ping client 10.99.0.1 >/dev/null
NET_PEER=10.99.1.1 net_ping native 10.99.1.1 >/dev/null

declare -A mb=() cpu=()
for r in $(seq "$ROUNDS"); do
	for dir in up down; do
		flag=""
		[ $dir = down ] && flag=-R
		read -r m c < <(measure client 10.99.0.1 "$flag" "$T/drv.pid" "$T/client.pid")
		mb[reuse_$dir]+=" $m" cpu[reuse_$dir]+=" $c"
		read -r m c < <(measure native 10.99.1.1 "$flag" "$T/native.pid")
		mb[native_$dir]+=" $m" cpu[native_$dir]+=" $c"
		t_log "round $r $dir: driver VM ${mb[reuse_$dir]##* } Mbit/s, native ${mb[native_$dir]##* } Mbit/s"
	done
done
net_backend_stats drv | sed 's/^/    /'

ratio() { echo "$1 $2" | awk '{printf "%.2f", $1 / $2}'; }
row() { # LABEL KEY ARRAY
	local -n a=$3
	local r n
	r=$(echo "${a[reuse_$2]}" | median)
	n=$(echo "${a[native_$2]}" | median)
	printf '%-24s %10s %10s %7s   (runs: %s | %s)\n' "$1" "$r" "$n" "$(ratio "$r" "$n")" "${a[reuse_$2]# }" "${a[native_$2]# }"
}
echo
echo "net throughput, $MODEL, iperf3 -t $SECS x $ROUNDS rounds (medians), accel $(ddvm_accel), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load before: $LOAD0"
printf '%-24s %10s %10s %7s\n' "" "driver VM" "native" "ratio"
row "client->peer Mbit/s" up mb
row "peer->client Mbit/s" down mb
row "client->peer CPU s/GB" up cpu
row "peer->client CPU s/GB" down cpu
