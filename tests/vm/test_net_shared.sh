#!/bin/bash
# timeout: 400
# Two client VMs share one NIC (e1000) of one driver VM, each through its own channel
# and with its own MAC, through `ddvm up` and examples/shared-nic.ini as it is (user-mode
# networking, no root): both reach QEMU's gateway 10.0.2.2 through the e1000, and each
# other (switched locally by the translation module, never touching the wire: the
# channels' tx_local counters in `ddvm status --json` grow); an iperf3 run a -> b.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"

sup_example shared shared-nic -e "/^\[driver-vm drv\]/a boot_timeout_ms = 180000" \
	-e "/^\[client-vm [ab]\]/a boot_timeout_ms = 180000"
sup_up "$T/shared.ini"
sup_wait_log 'a: state booting -> running' 180
sup_wait_log 'b: state booting -> running' 180
sup_wait_log 'drv: state booting -> running' 180

# up_nic VM ADDR — the channel's NIC up at ADDR, carrier within 60 s; prints its MAC
up_nic() {
	sup_console_cmd "$1" 70 "ip link set eth0 up && ip addr add $2/24 dev eth0 && i=0 && while [ \"\$(cat /sys/class/net/eth0/carrier)\" != 1 ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done; [ \$i -lt 600 ] && cat /sys/class/net/eth0/address" ||
		t_fail "$1: eth0 did not come up with a carrier"
}
mac_a=$(up_nic a 10.0.2.15 | tail -n 1)
mac_b=$(up_nic b 10.0.2.16 | tail -n 1)
t_log "a: $mac_a, b: $mac_b"
if [ -z "$mac_a" ] || [ "$mac_a" = "$mac_b" ]; then
	t_fail "the clients do not have MACs of their own"
fi

ping_from() { # VM ADDR
	sup_console_cmd "$1" 40 "ping -c 3 -W 5 $2" >"$T/ping.out" || { cat "$T/ping.out"; t_fail "$1 cannot ping $2"; }
	t_log "$1 -> $2: $(grep -a 'packets transmitted' "$T/ping.out")"
}
local0=$(sup_chan_field nic0.a counters | jq '.tx_local // 0')
ping_from a 10.0.2.2
ping_from b 10.0.2.2
ping_from a 10.0.2.16
ping_from b 10.0.2.15
sup_console_cmd b 10 'iperf3 -s -D' >/dev/null || t_fail "b: iperf3 -s"
out=$(sup_console_cmd a 60 'iperf3 -c 10.0.2.16 -t 2 -f m') || { echo "$out"; t_fail "a -> b iperf3 failed"; }
t_log "a -> b: $(echo "$out" | grep -a receiver)"

# the supervisor's view of the translation module's counters: frames between the
# clients were switched in the driver VM
for _ in $(seq 100); do
	local1=$(sup_chan_field nic0.a counters | jq '.tx_local // 0')
	((local1 > local0 + 100)) && break
	sleep 0.1
done
((local1 > local0 + 100)) || t_fail "nic0.a tx_local went from $local0 to $local1: not switched locally"
t_log "nic0.a tx_local $local0 -> $local1, nic0.b tx_local $(sup_chan_field nic0.b counters | jq '.tx_local // 0')"
! grep -aqE 'Oops|BUG:|Kernel panic' "$DDVM_RUNDIR"/{drv,a,b}.log || t_fail "a kernel complained"
echo SUCCESS
