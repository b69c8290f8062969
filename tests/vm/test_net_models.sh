#!/bin/bash
# timeout: 400
# Every NIC model of the driver image through `ddvm up`, with the config users copy
# (examples/nics.ini, paths substituted): one driver VM owns e1000, e1000e, rtl8139,
# pcnet, ne2k_pci, virtio-net-pci, vmxnet3 and usb-net (on its own qemu-xhci), each NIC
# with its stock Debian driver and its tap on its own bridge brN = 10.99.N.1 in a
# namespace this test made (the supervisor, QEMU and the taps run inside it; nothing is
# routed anywhere). One client VM uses all eight; its run script
# (examples/nics/client-run.sh) pings each peer through its NIC and runs iperf3 3 s
# each way (the ne2k_pci's peer -> client run paced at 40 Mbit/s with 8 KiB in flight: its emulated card
# stalls under a receive flood natively too, docs/net.md), then sends 4 MiB of random
# bytes to a checksumming sink in the namespace (tests/vm/sha_sink.py). Checked per NIC:
# 3 of 3 pings, nonzero Mbit/s both ways, the sink's SHA-256 equal to the client's (the
# driver VM's zero-copy transmit hands the client's slot pages to each stock driver:
# what it sent is what the client wrote), the driver expected for the model; the
# usb-net's channel names the PCI function of its xhci; the driver VM sent most tx bytes
# without copying them; no protocol error, no driver VM restart.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
t_need_root
command -v iperf3 >/dev/null || t_skip "iperf3 not installed on the host"

ex=$DDVM_ROOT/examples
t_need_file "$ex/nics.ini"
NICS=8

# the namespace examples/nics.ini asks for: bridges br1..br8, an iperf3 server
NS=ddvm-nics-$$
ip netns add "$NS" || t_fail "cannot create network namespace $NS"
t_on_exit "ip netns del '$NS'"
ip -n "$NS" link set lo up
for n in $(seq $NICS); do
	ip -n "$NS" link add "br$n" type bridge
	ip -n "$NS" addr add "10.99.$n.1/24" dev "br$n"
	ip -n "$NS" link set "br$n" up
done
ip netns exec "$NS" iperf3 -s -D -I "$T/iperf3.pid" >/dev/null || t_fail "iperf3 server did not start"
t_on_exit "t_kill_pidfile '$T/iperf3.pid'"
# the peer -> client runs have a server of their own (examples/nics.ini says why)
ip netns exec "$NS" iperf3 -s -p 5202 -D -I "$T/iperf3r.pid" >/dev/null || t_fail "iperf3 server (5202) did not start"
t_on_exit "t_kill_pidfile '$T/iperf3r.pid'"
ip netns exec "$NS" python3 "$DDVM_ROOT/tests/vm/sha_sink.py" 5300 >"$T/sink.log" 2>&1 &
echo $! >"$T/sink.pid"
t_on_exit "t_kill_pidfile '$T/sink.pid'"

# the example with this run's kernel and images (sup_config's [ddvm]), its run script
sup_example nics nics -e '/^\[ddvm\]/d' -e "s|^run *= *nics/|run = $ex/nics/|"
grep -q "^run *= $ex/nics/client-run.sh" "$T/nics.ini" || t_fail "examples/nics.ini: no run line to substitute"

# model -> the driver the translation module announces (the NIC's parent's driver)
declare -A want=(
	[e1000]=e1000 [e1000e]=e1000e [rtl8139]=8139cp [pcnet]=pcnet32 [ne2k_pci]=ne2k-pci
	[virtio-net-pci]=virtio_net [vmxnet3]=vmxnet3 [usb-net]=cdc_ether
)

t_on_exit _sup_cleanup
keep=$BUILD/test-logs/$(basename "$0" .sh)-run
t_on_exit "rm -rf '$keep'; mkdir -p '$keep'; cp '$DDVM_RUNDIR'/*.log '$DDVM_RUNDIR'/*.channels '$keep'/ 2>/dev/null"
t0=$(now_ms)
t_log "ddvm up -d $T/nics.ini (in $NS)"
ip netns exec "$NS" "$DDVM" up -d "$T/nics.ini" ||
	{ tail -n 30 "$DDVM_RUNDIR/ddvm.log"; t_fail "ddvm up failed"; }
t_log "up $(($(now_ms) - t0)) ms after ddvm up"
grep -a '^DDVM-PCI' "$DDVM_RUNDIR/netvm.log" | tr -d '\r' | grep -v ddvm_netback | sed 's/^/    /'
sup_wait_console app '^NICS-DONE' 330
t_log "client done $(($(now_ms) - t0)) ms after ddvm up"
grep -a '^NICS-' "$DDVM_RUNDIR/app.log" | tr -d '\r' | sed 's/^/    /'

fails=()
for model in "${!want[@]}"; do
	line=$(grep -a "^NICS-RESULT n=[0-9]* model=$model " "$DDVM_RUNDIR/app.log" | tr -d '\r' | tail -n 1)
	if [ -z "$line" ]; then
		fails+=("$model: $(grep -a "^NICS-FAIL n=[0-9]* model=$model " "$DDVM_RUNDIR/app.log" | tr -d '\r' | tail -n 1)")
		continue
	fi
	[[ $line == *" driver=${want[$model]} ping=3/3 "* ]] ||
		fails+=("$model: want driver ${want[$model]} and 3/3 pings: $line")
	[[ $line == *" xfer=ok" ]] || fails+=("$model: the 4 MiB the client sent did not arrive intact: $line")
	up=$(sed -n 's/.* up=\([0-9.]*\) .*/\1/p' <<<"$line")
	down=$(sed -n 's/.* down=\([0-9.]*\) .*/\1/p' <<<"$line")
	awk -v u="${up:-0}" -v d="${down:-0}" 'BEGIN { exit !(u > 0 && d > 0) }' ||
		fails+=("$model: iperf3 up ${up:-?} down ${down:-?} Mbit/s, not both > 0")
done
grep -aq "^NICS-DONE nics=$NICS of $NICS fail=0" "$DDVM_RUNDIR/app.log" || fails+=("not $NICS NICs, or a failure")

# usb-net: the channel names the PCI function at its device's slot, and what sits
# there is the xhci the supervisor added (the NIC's nearest PCI ancestor)
bdf=$(awk '$1 == "nic8.app" { print $4 }' "$DDVM_RUNDIR/netvm.channels")
tgt=$(sed -n 's/.*target=\([^ ]*\).*/\1/p' <<<"$(grep '^nic8.app ' "$DDVM_RUNDIR/netvm.channels")")
xhci=$(grep -a "^DDVM-PCI ${tgt:-none} " "$DDVM_RUNDIR/netvm.log" | tr -d '\r')
t_log "usb-net: channel nic8.app (ivshmem at $bdf) serves target $tgt: $xhci"
[[ $xhci == *" 1b36:000d driver=xhci_hcd" ]] || fails+=("usb-net: target ${tgt:-?} is not the xhci: ${xhci:-no DDVM-PCI line}")

"$DDVM" status | sed 's/^/    /'
# the supervisor's view: every channel served, frames both ways, no protocol error
bad=$("$DDVM" status --json | jq -r '.channels[] | select(.errors != 0 or .backend_state != "ready"
	or .requests == 0 or .responses == 0) |
	"\(.name): backend \(.backend_state), \(.requests) frames from the client, \(.responses) to it, \(.errors) errors"')
[ -z "$bad" ] || fails+=("channels: $bad")
# zero-copy transmit (docs/net.md): the driver VM copied the headers of the client's
# frames, not the bulk of them (the counters lag by up to a heartbeat)
copied=$("$DDVM" status --json | jq -r '.channels[] | select(.counters != null) |
	select(.counters.tx_copy_bytes * 2 > .counters.tx_bytes) |
	"\(.name): \(.counters.tx_copy_bytes) of \(.counters.tx_bytes) bytes copied"')
[ -z "$copied" ] || fails+=("zero-copy transmit not used: $copied")
"$DDVM" status --json | jq -r '.channels[] | select(.counters != null) |
	"    \(.name): tx \(.counters.tx_bytes) bytes, \(.counters.tx_copy_bytes) of them copied"'
[ "$(sup_vm_field netvm restarts)" = 0 ] || fails+=("the driver VM restarted $(sup_vm_field netvm restarts) times: $(sup_vm_field netvm last_failure)")
if ((${#fails[@]} > 0)); then
	# what the sink got per connection, what the client and the driver VM's
	# kernel said about it
	sed 's/^/    /' "$T/sink.log"
	grep -a '^NICS-XFER' "$DDVM_RUNDIR/app.log" | tr -d '\r' | sed 's/^/    /'
	grep -a -i 'watchdog\|timed out\|pcnet32\|ne2k\|8390\|reset\|ddvm_netback.*\(warn\|error\|stall\)' \
		"$DDVM_RUNDIR/netvm.log" | tr -d '\r' | tail -n 40 | sed 's/^/    /'
	t_fail "$(printf '%s; ' "${fails[@]}")"
fi

echo "NIC models through ddvm up (examples/nics.ini, iperf3 3 s each way, Mbit/s):"
grep -a '^NICS-RESULT' "$DDVM_RUNDIR/app.log" | tr -d '\r' |
	sed 's/^NICS-RESULT n=[0-9]* model=\([^ ]*\) ifn=[^ ]* driver=\([^ ]*\) ping=\([^ ]*\) up=\([^ ]*\) down=\([^ ]*\)/  \1 (\2): ping \3, client->peer \4, peer->client \5/'
t_log "$NICS NIC models through ddvm up: ping and iperf3 both ways on each"
echo SUCCESS
