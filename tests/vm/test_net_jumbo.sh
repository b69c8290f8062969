#!/bin/bash
# timeout: 240
# Jumbo frames through the supervisor's tap back-end, with the config users copy
# (examples/jumbo.ini: e1000, backend = tap, bridge = br0, mtu = 9000; tap name and
# paths substituted). The peer is the bridge br0 (10.99.0.1) in a namespace this test
# made; the supervisor, QEMU and its tap run inside it. The client's run script pings
# the peer with 9000-byte packets that may not be fragmented (ping -M do -s 8972) each
# time its channel connects. Checked: 0 % loss and the client at MTU 9000, the tap at
# 9000, 9000-byte packets from the peer to the client too -- before and after
# `ddvm restart` of the driver VM (whose new QEMU creates a new tap at 1500 bytes),
# and after a restart that found the bridge deleted (said by `ddvm status`, tried
# again until the bridge is back); a tap deleted under the running driver VM is said
# by `ddvm status` too, and mended by a restart.
# Then the same setup with mtu = 20000, more than e1000's driver takes: the supervisor
# says the NIC runs at another MTU (log, `ddvm status`, `--json` problem).
# JUMBO_MODEL=virtio-net-pci runs it on a NIC that also gets QEMU's host_mtu (93 s).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/../lib/recover.sh"
t_need_root

ex=$DDVM_ROOT/examples
t_need_file "$ex/jumbo.ini"
rec_netns
sup_example jumbo jumbo -e '/^\[ddvm\]/d' \
	-e "s|^tap *=.*|tap     = $REC_TAP|" -e "s|^model *=.*|model   = ${JUMBO_MODEL:-e1000}|" \
	-e "s|^run *= *jumbo/|run = $ex/jumbo/|"
grep -q "^tap     = $REC_TAP" "$T/jumbo.ini" || t_fail "examples/jumbo.ini: no tap line to substitute"

t_on_exit _sup_cleanup
keep=$BUILD/test-logs/$(basename "$0" .sh)-run
t_on_exit "rm -rf '$keep'; mkdir -p '$keep'; cp '$DDVM_RUNDIR'/*.log '$keep'/ 2>/dev/null"
t0=$(now_ms)
t_log "ddvm up -d $T/jumbo.ini (in $REC_NS)"
ip netns exec "$REC_NS" "$DDVM" up -d "$T/jumbo.ini" ||
	{ tail -n 30 "$DDVM_RUNDIR/ddvm.log"; t_fail "ddvm up failed"; }

# round N: the client's jumbo pings, the tap's MTU, the peer's jumbo pings
check_round() {
	local n=$1 line mtu
	# not anchored: the run script's loop runs beside the console's shell, whose prompt
	# may come first on a line
	sup_wait_console app "JUMBO-PING round=$n " 120
	line=$(grep -a "JUMBO-PING round=$n " "$DDVM_RUNDIR/app.log" | tr -d '\r' | tail -n 1)
	t_log "client: $line"
	case "$line" in
	*" mtu=9000 size=9000 loss=0%") ;;
	*) t_fail "round $n: client -> peer at MTU 9000 lost packets or the client is not at 9000: $line" ;;
	esac
	mtu=$(ip -n "$REC_NS" -o link show "$REC_TAP" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
	[ "$mtu" = 9000 ] || t_fail "round $n: tap $REC_TAP has MTU ${mtu:-?}, not 9000"
	mtu=$(ip -n "$REC_NS" -o link show br0 | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
	[ "$mtu" = 9000 ] || t_fail "round $n: bridge br0 has MTU ${mtu:-?}, not 9000"
	ip netns exec "$REC_NS" ping -c 5 -i 0.2 -W 3 -M 'do' -s 8972 10.99.0.11 >"$T/peer.txt" 2>&1 ||
		{ cat "$T/peer.txt"; t_fail "round $n: peer -> client 9000-byte pings failed"; }
	grep -q ' 0% packet loss' "$T/peer.txt" || { cat "$T/peer.txt"; t_fail "round $n: peer -> client lost packets"; }
	t_log "round $n: client and peer ping each other with 9000-byte packets, 0% loss; tap and bridge at 9000"
}
check_round 1
t_log "first round $(($(now_ms) - t0)) ms after ddvm up"

t1=$(now_ms)
"$DDVM" restart netvm || t_fail "ddvm restart netvm failed"
sup_wait_log 'netvm: ready after' 120 2
[ "$(sup_epoch nic0.app)" = 2 ] || t_fail "nic0.app is at epoch $(sup_epoch nic0.app) after the restart, not 2"
check_round 2
t_log "second round $(($(now_ms) - t1)) ms after ddvm restart"
[ "$(grep -c "netvm: tap $REC_TAP joined bridge br0, MTU 9000" "$DDVM_RUNDIR/ddvm.log")" -ge 2 ] ||
	t_fail "the supervisor did not set the tap's MTU in both incarnations"

# The bridge deleted under a running setup, then a restart: the new tap cannot join
# it. Said in the log and by `ddvm status` (the NIC is off the network), and tried
# again: once the bridge is back, the tap joins it and round 3 passes.
ip -n "$REC_NS" link del br0
"$DDVM" restart netvm || t_fail "ddvm restart netvm failed"
sup_wait_log "netvm: cannot add tap $REC_TAP to bridge br0: No such device \\(the bridge is gone" 120
[[ $(sup_chan_field nic0.app problem) == "cannot add tap $REC_TAP to bridge br0: "* ]] ||
	t_fail "ddvm status --json: nic0.app's problem is '$(sup_chan_field nic0.app problem)'"
"$DDVM" status | grep -q "warning: cannot add tap $REC_TAP to bridge br0" ||
	t_fail "ddvm status does not show the missing bridge: $("$DDVM" status)"
t_log "bridge gone: $(sup_chan_field nic0.app problem)"
ip -n "$REC_NS" link add br0 type bridge
ip -n "$REC_NS" addr add "$REC_PEER/24" dev br0
ip -n "$REC_NS" link set br0 up
sup_wait_log "netvm: tap $REC_TAP joined bridge br0, MTU 9000" 30 3
[ "$(sup_chan_field nic0.app problem)" = - ] ||
	t_fail "the problem stays after the tap joined: $(sup_chan_field nic0.app problem)"
check_round 3

# The tap deleted under the running driver VM: its NIC is off the network, which
# `ddvm status` says within a few seconds (it showed all green); a restart mends it.
ip -n "$REC_NS" link del "$REC_TAP"
for _ in $(seq 100); do
	[[ $(sup_chan_field nic0.app problem) == "tap $REC_TAP was deleted under the running driver VM"* ]] && break
	sleep 0.1
done
[[ $(sup_chan_field nic0.app problem) == "tap $REC_TAP was deleted under the running driver VM"* ]] ||
	t_fail "a deleted tap is not in ddvm status: '$(sup_chan_field nic0.app problem)'"
t_log "tap deleted: $(sup_chan_field nic0.app problem)"
"$DDVM" restart netvm || t_fail "ddvm restart netvm failed"
sup_wait_log "netvm: tap $REC_TAP joined bridge br0, MTU 9000" 120 4
check_round 4
[ "$(sup_chan_field nic0.app problem)" = - ] || t_fail "the problem stays after the restart: $(sup_chan_field nic0.app problem)"

# The client's MAC behind another port of the bridge (as another setup of the same
# device and client names would have it: derived MACs are the same in every setup): the
# driver VM's next start says so when its tap joins the bridge (replace: it was learned
# on the tap's port).
mac=$("$DDVM" status --json | jq -r '.channels[] | select(.name == "nic0.app") | .mac')
ip -n "$REC_NS" link add jv0 type veth peer name jv1
ip -n "$REC_NS" link set jv0 master br0 up
ip -n "$REC_NS" link set jv1 up
ip netns exec "$REC_NS" bridge fdb replace "$mac" dev jv0 master static
"$DDVM" restart netvm || t_fail "ddvm restart netvm failed"
sup_wait_log "netvm: device nic0: MAC $mac \\(client app's\\) is on bridge br0 already, behind another port" 120
ip -n "$REC_NS" link del jv0
t_log "the client's MAC behind another bridge port: warned"

# An mtu the NIC's driver does not take (e1000: at most 16110) is said, not dropped in
# silence: the supervisor's log and `ddvm status` name the MTU the NIC runs at.
"$DDVM" down >/dev/null || t_fail "ddvm down failed"
sup_wait_gone 60
sed -i 's/^mtu *=.*/mtu     = 20000/' "$T/jumbo.ini"
ip netns exec "$REC_NS" "$DDVM" up -d "$T/jumbo.ini" ||
	{ tail -n 30 "$DDVM_RUNDIR/ddvm.log"; t_fail "ddvm up with mtu = 20000 failed"; }
sup_wait_log 'channel nic0.app: the NIC runs at MTU [0-9]+, not mtu = 20000: its driver \(e1000\) in netvm did not take 20000' 120
t_log "mtu = 20000: $(grep -o 'channel nic0.app: the NIC runs at .*' "$DDVM_RUNDIR/ddvm.log" | head -n 1)"
"$DDVM" status | grep -q 'warning: the NIC runs at MTU' || t_fail "ddvm status does not show it: $("$DDVM" status)"
[[ $(sup_chan_field nic0.app problem) == "the NIC runs at MTU "* ]] ||
	t_fail "ddvm status --json: nic0.app's problem is '$(sup_chan_field nic0.app problem)'"
echo SUCCESS
