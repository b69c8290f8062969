#!/bin/bash
# timeout: 300
# ddvm-tapbridge: an ordinary TAP interface, in a network namespace the test creates,
# whose wire is a driver VM's unmodified e1000 — through `ddvm up` and
# examples/host-clients.ini as a user would copy it (its NIC moved from user-mode
# networking to a tap on the bridge br0 of the test's namespace; the disk in $T).
#   ns $NET_NS: peer 10.99.0.1 (br0) <-> tap <-> e1000 in the driver VM <-> ddvm_netback
#     <== channel nic0.mybox ==> ddvm-tapbridge (libddvm) <-> TAP ddtb0 in ns B: 10.99.0.4
# From ns B: ping the peer, then a bounded iperf3 run each way.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/net_common.sh"
net_need_build
TB=$BUILD/bin/ddvm-tapbridge
t_need_file "$TB"
[ -c /dev/net/tun ] || t_skip "no /dev/net/tun"

net_ns_setup
NS_B=ddvm-tb-$$
ip netns add "$NS_B" || t_fail "cannot create namespace $NS_B"
t_on_exit "ip netns del '$NS_B'"
ip -n "$NS_B" link set lo up

net_ns_bridge br0
net_iperf_server
sup_example hc host-clients -e "s|^image .*|image  = $T/disk0.img|" \
	-e "s|^backend = user|backend = tap\ntap     = $NET_TAP\nbridge  = br0|"
grep -q "^tap     = $NET_TAP" "$T/hc.ini" || t_fail "examples/host-clients.ini has no 'backend = user' line to edit"
sup_up "$T/hc.ini" "$NET_NS"

# shellcheck disable=SC2086 # TB_ARGS: extra options, split into words
ip netns exec "$NS_B" "$TB" --sock "$DDVM_RUNDIR/channels/nic0.mybox.client.sock" --tap ddtb0 \
	--pidfile "$T/tb.pid" ${TB_ARGS:-} >"$T/tb.log" 2>&1 &
echo $! >"$T/tb.bgpid"
t_on_exit "t_kill_pidfile '$T/tb.bgpid'; cat '$T/tb.log'"
for _ in $(seq 1800); do
	grep -q 'ddvm-tapbridge: ready' "$T/tb.log" && break
	kill -0 "$(cat "$T/tb.bgpid")" 2>/dev/null || break
	sleep 0.05
done
grep -q 'ddvm-tapbridge: ready' "$T/tb.log" || { cat "$T/tb.log"; t_fail "tapbridge not ready"; }
t_log "$(grep -E 'ready|offloads' "$T/tb.log" | tr '\n' ' ')"
ip -n "$NS_B" link show ddtb0 | grep -qi '52:54:00:dd:00:21' || t_fail "ddtb0 lacks the channel's MAC"
ip -n "$NS_B" addr add 10.99.0.4/24 dev ddtb0
ip -n "$NS_B" link set ddtb0 up

ip netns exec "$NS_B" ping -c 3 -W 5 "$NET_PEER" || t_fail "ping through the tap bridge failed"
for dir in "" -R; do
	out=$(timeout 40 ip netns exec "$NS_B" iperf3 -c "$NET_PEER" -t "${NET_IPERF_SECS:-3}" \
		-f m $dir) || { echo "$out"; t_fail "iperf3 $dir failed"; }
	mbps=$(echo "$out" | awk '/receiver/ {for (i = 1; i < NF; i++) if ($(i+1) == "Mbits/sec") print $i}' | tail -n1)
	if [ -z "$mbps" ] || ! awk -v m="$mbps" 'BEGIN { exit !(m > 0) }'; then
		echo "$out"
		t_fail "no iperf3 throughput: '$mbps'"
	fi
	t_log "iperf3 ${dir:-(tap -> peer)}${dir:+(peer -> tap)}: $mbps Mbit/s"
done
if grep -aEq "$T_KERNEL_TROUBLE" "$DDVM_RUNDIR/drv.log"; then
	t_fail "driver VM: oops/BUG/panic on the console"
fi
kill -0 "$(cat "$T/tb.bgpid")" 2>/dev/null || t_fail "ddvm-tapbridge died"
echo SUCCESS
