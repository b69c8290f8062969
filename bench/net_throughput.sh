#!/bin/bash
# TCP throughput and latency through a driver VM vs native, side by side in one run.
#
#   [ROUNDS=5] bench/net_throughput.sh [SECONDS] [MODEL]   (default 3 s, e1000; root)
#
# reuse:  `ddvm up` of a setup a user could write ($T/bench.ini, run inside a private
#         network namespace): client VM --ddvm channel--> driver VM (ddvm_netback +
#         stock MODEL driver) --emulated MODEL--> tap on bridge br0 --> peer
#         (10.99.0.1 on br0: iperf3 -s, tcp_rr -s); the client's commands are typed
#         into its console (sup_console_cmd), as a user would
# native: the same client VM image owning the same emulated MODEL directly on a tap
#         (peer 10.99.1.1 on it, same namespace), booted by hand (no ddvm in it); an
#         agent (tests/vm/net_common.sh) runs its commands
#
# Prints iperf3 Mbit/s for both directions and the host CPU seconds (all QEMU
# processes of the setup and reuse's supervisor, utime + stime from /proc/PID/stat) per GB moved, medians of
# ROUNDS alternating runs; ratios are reuse / native. Latency, same alternation: ping
# RTT (ICMP, 56 and 1400 bytes) and TCP request/response (bench/tcp_rr.c: one
# connection, TCP_NODELAY, 1-byte request and response; the native VM gets it through
# fw_cfg, the client fetches it from the peer with wget). Every run is also recorded for bench/report.py ($BENCH_OUT/net.jsonl).
source "$(dirname "$0")/../tests/lib/common.sh"
source "$(dirname "$0")/../tests/vm/net_common.sh"
source "$(dirname "$0")/../tests/lib/supervisor.sh"
source "$(dirname "$0")/lib.sh"
net_need_build
SECS=${1:-3}
MODEL=${2:-e1000}
NET_IPERF_SECS=$SECS
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
TCP_RR=${TCP_RR:-$BUILD/bench/tcp_rr}
t_need_file "$TCP_RR"
bench_part net

# iperf NAME PEER [-R] — one iperf3 run of SECS; prints Mbit/s (receiver)
iperf() {
	local out mbps
	out=$(bench_vm_cmd "$1" $((SECS + 40)) "iperf3 -c $2 -t $SECS -f m ${3:-}") ||
		{ echo "$out" >&2; t_fail "$1: iperf3 ${3:-} failed"; }
	mbps=$(echo "$out" | awk '/receiver/ {for (i = 1; i < NF; i++) if ($(i+1) == "Mbits/sec") print $i}' | tail -n1)
	[ -n "$mbps" ] || { echo "$out" >&2; t_fail "$1: no iperf3 result"; }
	echo "$mbps"
}

# measure NAME PEER DIR PIDFILES... — one iperf3 run; prints "Mbit/s CPU-s/GB"
measure() {
	local name=$1 peer=$2 dir=$3 c0 c1 mbps
	shift 3
	c0=$(cpu_ticks "$@")
	mbps=$(iperf "$name" "$peer" "$dir")
	c1=$(cpu_ticks "$@")
	echo "$mbps $(echo "$(ticks_to_secs "$c0" "$c1") $mbps $SECS" | awk '{printf "%.2f", $1 / ($2 * $3 / 8000)}')"
}

# ping_rtt NAME PEER SIZE — average ICMP round trip (ms) over 20 pings 50 ms apart
ping_rtt() {
	bench_vm_cmd "$1" 40 "ping -q -c 20 -i 0.05 -s $3 $2" | sed -n 's,.*= [0-9.]*/\([0-9.]*\)/.*,\1,p'
}

# tcp_rr NAME PEER — "trans/s p50_us p99_us" of a 2 s TCP_RR run
tcp_rr() {
	bench_vm_cmd "$1" 40 "/tmp/tcp_rr -c $2 -t 2" |
		sed -n 's/.*trans_per_s=\([0-9]*\) p50_us=\([0-9]*\) p90_us=[0-9]* p99_us=\([0-9]*\).*/\1 \2 \3/p'
}

# Both setups run side by side (peer 10.99.0.1 on the driver VM's tap, 10.99.1.1 on the
# native VM's tap, one iperf3 server) and are measured alternately, ROUNDS times each.
ROUNDS=${ROUNDS:-5}
net_ns_setup
ip -n "$NET_NS" link add br0 type bridge
ip -n "$NET_NS" addr add 10.99.0.1/24 dev br0
ip -n "$NET_NS" link set br0 up
net_iperf_server
ip netns exec "$NET_NS" "$TCP_RR" -s -p 7777 >/dev/null 2>&1 &
echo $! >"$T/tcp_rr.pid"
t_on_exit "t_kill_pidfile '$T/tcp_rr.pid'"
# the client's copy of tcp_rr, by wget from the peer
ip netns exec "$NET_NS" python3 -m http.server -b 10.99.0.1 -d "$(dirname "$TCP_RR")" 8000 >/dev/null 2>&1 &
echo $! >"$T/http.pid"
t_on_exit "t_kill_pidfile '$T/http.pid'"
sup_config bench <<EOF
[driver-vm drv]
memory = ${DRIVER_VM_MEM:-256}M

[device nic0]
vm      = drv
kind    = net
model   = $MODEL
backend = tap
tap     = ${NET_TAP}r
bridge  = br0
mac     = 52:54:00:dd:05:01

[client-vm client]
memory  = ${CLIENT_VM_MEM:-384}M
devices = nic0
EOF
net_tap_create "${NET_TAP}n"
# shellcheck disable=SC2054 # the commas belong to the -fw_cfg option
rr_cfg=(-fw_cfg name=opt/ddvm/tcp_rr,file="$TCP_RR")
mapfile -t nic < <(net_nic_args "$MODEL" "${NET_TAP}n" 52:54:00:dd:05:02)
VM_MEM=${CLIENT_VM_MEM:-384} net_vm_start native "$DDVM_CLIENT_INITRD" "" "${nic[@]}" "${rr_cfg[@]}"
t_on_exit _sup_cleanup
t_log "ddvm up -d $T/bench.ini (in $NET_NS)"
ip netns exec "$NET_NS" "$DDVM" up -d "$T/bench.ini" ||
	{ tail -n 30 "$DDVM_RUNDIR/ddvm.log"; t_fail "ddvm up failed"; }
vm_wait native 'DDVM-READY role=client-vm' 120
net_tap_to_ns "${NET_TAP}n" 10.99.1.1/24
sup_wait_log 'client: state booting -> running' 180
sup_wait_log 'drv: state booting -> running' 180
vm_wait native 'DDVM-AGENT up' 120
# shellcheck disable=SC2016 # expanded by the client's shell
ifn=$(sup_console_cmd client 20 'for d in /sys/class/net/*; do [ "$(cat $d/address)" = 52:54:00:dd:05:01 ] && echo ${d##*/}; done; true')
[ -n "$ifn" ] || t_fail "client: no interface with the channel's MAC"
sup_console_cmd client 60 "ip link set $ifn up && ip addr add 10.99.0.11/24 dev $ifn && i=0 && while [ \"\$(cat /sys/class/net/$ifn/carrier)\" != 1 ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done; [ \$i -lt 600 ]" >/dev/null ||
	t_fail "client: $ifn has no carrier"
ifn_native=$(net_ifname native 52:54:00:dd:05:02)
net_client_up native "$ifn_native" 10.99.1.21
net_wait_carrier native "$ifn_native" 60
sup_console_cmd client 60 "ping -c 3 -W 5 10.99.0.1" >/dev/null || t_fail "client: no ping through the driver VM"
NET_PEER=10.99.1.1 net_ping native 10.99.1.1 >/dev/null
sup_console_cmd client 30 "wget -q -O /tmp/tcp_rr http://10.99.0.1:8000/$(basename "$TCP_RR") && chmod +x /tmp/tcp_rr" >/dev/null ||
	t_fail "client: cannot fetch tcp_rr from the peer"
vm_cmd native 20 "cp /sys/firmware/qemu_fw_cfg/by_name/opt/ddvm/tcp_rr/raw /tmp/tcp_rr && chmod +x /tmp/tcp_rr" >/dev/null ||
	t_fail "native: no tcp_rr from fw_cfg"
REUSE_PIDS=("$DDVM_RUNDIR/drv.pid" "$DDVM_RUNDIR/client.pid" "$DDVM_RUNDIR/ddvm.pid")

declare -A mb=() cpu=() lat=()
for r in $(seq "$ROUNDS"); do
	for dir in up down; do
		flag="" d=tx
		[ $dir = down ] && flag=-R d=rx
		read -r m c < <(measure client 10.99.0.1 "$flag" "${REUSE_PIDS[@]}")
		mb[reuse_$dir]+=" $m" cpu[reuse_$dir]+=" $c"
		bench_sample "${d}_mbps" reuse "$r" "$m"
		bench_sample "${d}_cpu_s_per_gb" reuse "$r" "$c"
		read -r m c < <(measure native 10.99.1.1 "$flag" "$T/native.pid")
		mb[native_$dir]+=" $m" cpu[native_$dir]+=" $c"
		bench_sample "${d}_mbps" native "$r" "$m"
		bench_sample "${d}_cpu_s_per_gb" native "$r" "$c"
		t_log "round $r $dir: driver VM ${mb[reuse_$dir]##* } Mbit/s, native ${mb[native_$dir]##* } Mbit/s"
	done
	for setup in reuse:client:10.99.0.1 native:native:10.99.1.1; do
		IFS=: read -r s vm peer <<<"$setup"
		for size in 56 1400; do
			v=$(ping_rtt "$vm" "$peer" $size)
			lat[${s}_ping$size]+=" $v"
			bench_sample "ping_rtt_ms_$size" "$s" "$r" "$v"
		done
		read -r tps p50 p99 < <(tcp_rr "$vm" "$peer")
		lat[${s}_rr_tps]+=" $tps" lat[${s}_rr_p50]+=" $p50" lat[${s}_rr_p99]+=" $p99"
		bench_sample tcp_rr_trans_per_s "$s" "$r" "$tps"
		bench_sample tcp_rr_p50_us "$s" "$r" "$p50"
		bench_sample tcp_rr_p99_us "$s" "$r" "$p99"
	done
	t_log "round $r latency: ping ${lat[reuse_ping56]##* } vs ${lat[native_ping56]##* } ms, TCP_RR ${lat[reuse_rr_tps]##* } vs ${lat[native_rr_tps]##* } /s"
done
# one more run per setup and direction under perf (cpu-clock sampling, not counted
# in the numbers above): where the host CPU goes
if [ "${BENCH_PERF:-1}" = 1 ]; then
	for dir in up down; do
		flag="" d=tx
		[ $dir = down ] && flag=-R d=rx
		perf_start "net-reuse-$d" "$SECS" "${REUSE_PIDS[@]}"
		iperf client 10.99.0.1 $flag >/dev/null
		perf_finish "net-reuse-$d"
		perf_start "net-native-$d" "$SECS" "$T/native.pid"
		iperf native 10.99.1.1 $flag >/dev/null
		perf_finish "net-native-$d"
	done
fi
echo "    nic0.client counters (ddvm status --json): $("$DDVM" status --json | jq -c 'first(.channels[] | select(.name == "nic0.client")) | .counters')"
[ "$(sup_vm_field drv restarts)" = 0 ] || t_fail "the driver VM restarted during the bench"
bench_note iperf3 "iperf3 -t $SECS, $ROUNDS rounds, $MODEL, setups alternating"
bench_note load_before "$LOAD0"
bench_note load_after "$(cut -d' ' -f1-3 /proc/loadavg)"

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
row "ping RTT ms (56 B)" ping56 lat
row "ping RTT ms (1400 B)" ping1400 lat
row "TCP_RR trans/s" rr_tps lat
row "TCP_RR p50 us" rr_p50 lat
row "TCP_RR p99 us" rr_p99 lat
