#!/bin/bash
# timeout: 420
# Net driver reuse across the NIC matrix: one client VM (ddvm_netfront) on one
# channel; for each NIC model a fresh driver VM owns the emulated NIC with its stock
# unmodified driver and serves the channel (ddvm_netback). The client pings the peer
# in the test's network namespace and runs bounded iperf3 both ways. Between models
# the driver VM is stopped and the channel gets a new epoch, as the supervisor does
# after a driver VM died: the client's interface (and address) survives every switch.
#
#   NET_MODELS="e1000 rtl8139" tests/vm/test_net_matrix.sh   (a subset)
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/net_common.sh"
net_need_build

# Models QEMU 7.2 emulates whose stock Debian 6.1 driver cannot serve here are listed
# in NET_MODELS_BROKEN with the reason (none known so far).
declare -A NET_MODELS_BROKEN=()
models=${NET_MODELS:-$NET_MODELS_ALL}

net_ns_setup
net_iperf_server
net_chan_start c1 52:54:00:dd:00:11
net_client_vm_start client c1
net_client_up client 10.99.0.11

declare -A driver=() result=()
n=0
for model in $models; do
	if [ -n "${NET_MODELS_BROKEN[$model]:-}" ]; then
		result[$model]="skipped: ${NET_MODELS_BROKEN[$model]}"
		continue
	fi
	n=$((n + 1))
	tap=${NET_TAP}m$n
	dvm=drv$n
	if [ $n -gt 1 ]; then
		net_chan_restart c1 # the previous driver VM is gone: new epoch
	fi
	t_log "== $model"
	net_tap_create "$tap"
	net_driver_vm_start "$dvm" "$model" "$tap" c1
	vm_wait "$dvm" 'DDVM-READY role=driver-vm' 90
	net_tap_to_ns "$tap" $NET_PEER/24
	driver[$model]=$(grep -o 'DDVM-PCI 0000:00:08.0 [^ ]* driver=[^ ]*' "$T/$dvm.console" | sed 's/.*driver=//')
	[ -n "${driver[$model]}" ] || t_fail "$model: no stock driver bound the NIC"
	net_wait_backend "$dvm" 30
	net_wait_carrier client 60
	net_ping client $NET_PEER
	up=$(net_iperf client)
	down=$(net_iperf client -R)
	result[$model]="driver ${driver[$model]}: ping ok, iperf3 client->peer $up Mbit/s, peer->client $down Mbit/s"
	t_log "$model: ${result[$model]}"
	net_backend_stats "$dvm" | sed 's/^/    /'
	net_no_oops "$dvm"
	t_kill_pidfile "$T/$dvm.pid"
done
net_no_oops client
vm_cmd client 10 'cat /sys/bus/pci/drivers/ddvm_netfront/*/ddvm; ip -s link show eth0' | sed 's/^/    /'

echo "NIC matrix (through the driver VM):"
for model in $models; do
	printf '  %-15s %s\n' "$model" "${result[$model]}"
done
echo SUCCESS
