# shellcheck shell=bash
# Helpers shared by tests/vm/test_net_*.sh and bench/net_throughput.sh (sourced after
# tests/lib/common.sh).
#
# Topology (everything private to the test):
#
#   network namespace $NET_NS            driver VM                    client VM(s)
#   peer 10.99.0.1 on tap $NET_TAP <---> emulated NIC (e1000, ...)
#   iperf3 -s                            unmodified driver
#                                        ddvm_netback  <== channel ==> ddvm_netfront
#                                                                      10.99.0.1N
#
# The tap is created in the root namespace (no address, never up there), opened by the
# driver VM's QEMU, then moved into $NET_NS where it gets the peer's address; nothing
# is routed anywhere. Each VM runs an agent (net_agent_script) that executes commands
# sent over a second serial port (tests/vm/vmsh.py): `vm_cmd NAME TIMEOUT CMD`.

VMSH=$DDVM_ROOT/tests/vm/vmsh.py
NET_PEER=10.99.0.1

net_need_build() {
	t_need_root
	command -v iperf3 >/dev/null || t_skip "iperf3 not installed on the host"
	command -v python3 >/dev/null || t_skip "python3 not installed on the host"
	t_need_file "$DDVM_CHAN"
	t_need_file "$DDVM_DRIVER_INITRD"
	t_need_file "$DDVM_CLIENT_INITRD"
	local list
	list=$(zcat "$DDVM_DRIVER_INITRD" | cpio -it --quiet 2>/dev/null)
	[[ $list == *extra/ddvm_netback.ko* ]] ||
		t_fail "driver-vm image lacks ddvm_netback.ko: rebuild the images (make)"
	list=$(zcat "$DDVM_CLIENT_INITRD" | cpio -it --quiet 2>/dev/null)
	[[ $list == *extra/ddvm_netfront.ko* ]] ||
		t_fail "client-vm image lacks ddvm_netfront.ko: rebuild the images (make)"
}

# net_ns_setup — create the test's network namespace (removed on exit).
net_ns_setup() {
	NET_NS=ddvm-net-$$
	# shellcheck disable=SC2034 # used by the scripts that source this
	NET_TAP=ddt$$
	ip netns add "$NET_NS" || t_fail "cannot create network namespace $NET_NS"
	# keep the consoles of the last run for a post-mortem
	NET_KEEP=$BUILD/test-logs/$(basename "$0" .sh)-consoles
	t_on_exit "rm -rf '$NET_KEEP'; mkdir -p '$NET_KEEP'; cp '$T'/*.console '$T'/ch-*/log '$NET_KEEP'/ 2>/dev/null; for d in '$T'/ch-*; do cp \$d/log '$NET_KEEP'/\$(basename \$d).log; done"
	t_on_exit "ip netns del '$NET_NS'"
	ip -n "$NET_NS" link set lo up
}

# net_tap_create NAME — a tap device in the root namespace, to be opened by QEMU.
net_tap_create() {
	ip tuntap add dev "$1" mode tap || t_fail "cannot create tap $1"
	t_on_exit "ip link del '$1' 2>/dev/null; ip -n '$NET_NS' link del '$1' 2>/dev/null"
}

# net_tap_to_ns NAME ADDR/LEN [MTU] — move an opened tap into $NET_NS as the peer.
net_tap_to_ns() {
	local tap=$1 addr=$2 mtu=${3:-1500}
	ip link set "$tap" netns "$NET_NS" || t_fail "cannot move $tap into $NET_NS"
	ip -n "$NET_NS" link set "$tap" mtu "$mtu"
	ip -n "$NET_NS" addr add "$addr" dev "$tap"
	ip -n "$NET_NS" link set "$tap" up
}

# net_iperf_server — iperf3 -s on the peer address inside $NET_NS.
# net_ns_bridge NAME — a bridge NAME in $NET_NS with the peer's address $NET_PEER/24, up
# (what a setup file's `bridge = NAME` joins its taps to)
net_ns_bridge() {
	ip -n "$NET_NS" link add "$1" type bridge || t_fail "cannot create bridge $1 in $NET_NS"
	ip -n "$NET_NS" addr add "$NET_PEER/24" dev "$1"
	ip -n "$NET_NS" link set "$1" up
}

net_iperf_server() {
	ip netns exec "$NET_NS" iperf3 -s -D -I "$T/iperf3.pid" >/dev/null ||
		t_fail "iperf3 server did not start"
	t_on_exit "t_kill_pidfile '$T/iperf3.pid'"
}

# net_chan_start NAME MAC [TARGET] — serve a net channel in $T/ch-NAME.
net_chan_start() {
	ddvm_chan_start "$1" --kind net --target "${3:-eth0}" --mac "$2"
}

# net_chan_restart NAME — what the supervisor does after a driver VM died: new epoch.
net_chan_restart() {
	local dir=$T/ch-$1 n
	n=$(grep -c 'ddvm-chan: epoch' "$dir/log" || true)
	kill -USR1 "$(cat "$dir/chan.pid")"
	for _ in $(seq 100); do
		[ "$(grep -c 'ddvm-chan: epoch' "$dir/log" || true)" -gt "$n" ] && return 0
		sleep 0.05
	done
	t_fail "ddvm-chan $1 did not start a new epoch"
}

# QEMU arguments for channel NAME as seen by ROLE (backend|frontend), at PCI slot SLOT.
net_chan_args() {
	local name=$1 role=$2 slot=$3 id=ch${1//-/_}
	printf -- '-chardev\nsocket,path=%s/ch-%s/%s.sock,id=%s\n' "$T" "$name" "$role" "$id"
	printf -- '-device\nivshmem-doorbell,chardev=%s,vectors=9,addr=%s\n' "$id" "$slot"
}

# The agent every test VM runs (fw_cfg opt/ddvm/run): commands from ttyS1, one a line.
net_agent_script() {
	cat >"$T/agent.sh" <<'EOF'
stty -F /dev/ttyS1 raw -echo 2>/dev/null
exec 3<>/dev/ttyS1
echo "DDVM-AGENT up"
while :; do
	IFS= read -r cmd <&3 || { sleep 0.2; continue; }
	[ -n "$cmd" ] || continue
	sh -c "$cmd" >/tmp/agent.out 2>&1 </dev/null
	rc=$?
	cat /tmp/agent.out >&3
	echo "@@END rc=$rc" >&3
done
EOF
	echo "$T/agent.sh"
}

# net_vm_start NAME INITRD "APPEND" [QEMU ARGS...] — a VM running the agent.
net_vm_start() {
	local name=$1 initrd=$2 append=$3 agent
	shift 3
	agent=$(net_agent_script)
	vm_start "$name" "$initrd" "$append" \
		-fw_cfg name=opt/ddvm/run,file="$agent" \
		-chardev socket,id=cmd0,path="$T/$name.cmd",server=on,wait=off \
		-device isa-serial,chardev=cmd0 "$@"
}

# vm_cmd NAME TIMEOUT COMMAND... — run COMMAND in VM NAME, print its output.
vm_cmd() {
	local name=$1 secs=$2
	shift 2
	python3 "$VMSH" "$T/$name.cmd" "$secs" "$@"
}

# net_nic_args MODEL TAP MAC — the driver VM's emulated NIC on TAP.
net_nic_args() {
	printf -- '-netdev\ntap,id=n0,ifname=%s,script=no,downscript=no\n' "$2"
	printf -- '-device\n%s,netdev=n0,mac=%s,addr=0x08\n' "$1" "$3"
}

# net_driver_vm_start NAME MODEL TAP "CHANNELS" ["APPEND"] — boot a driver VM owning
# NIC MODEL on TAP and serving each channel (names, space separated).
net_driver_vm_start() {
	local name=$1 model=$2 tap=$3 chans=$4 append=${5:-} args=() c slot=16
	mapfile -t args < <(net_nic_args "$model" "$tap" 52:54:00:99:00:01)
	for c in $chans; do
		mapfile -t -O ${#args[@]} args < <(net_chan_args "$c" backend "$(printf 0x%02x $slot)")
		slot=$((slot + 1))
	done
	VM_MEM=${DRIVER_VM_MEM:-256} net_vm_start "$name" "$DDVM_DRIVER_INITRD" \
		"ddvm.load=ddvm_netback $append" "${args[@]}"
}

# net_client_vm_start NAME "CHANNELS" — boot a client VM on each channel (one
# interface each, in PCI slots 0x10, 0x11, ...).
net_client_vm_start() {
	local name=$1 chans=$2 args=() c slot=16
	for c in $chans; do
		mapfile -t -O ${#args[@]} args < <(net_chan_args "$c" frontend "$(printf 0x%02x $slot)")
		slot=$((slot + 1))
	done
	VM_MEM=${CLIENT_VM_MEM:-384} net_vm_start "$name" "$DDVM_CLIENT_INITRD" \
		"ddvm.load=ddvm_netfront" "${args[@]}"
}

# net_ifname NAME MAC — the client interface with MAC (the channel's --mac).
net_ifname() {
	local ifn
	ifn=$(vm_cmd "$1" 20 "for d in /sys/class/net/*; do [ \"\$(cat \$d/address)\" = $2 ] && echo \${d##*/}; done")
	[ -n "$ifn" ] || t_fail "$1: no interface with MAC $2"
	echo "$ifn"
}

# net_client_up NAME IFNAME ADDR — configure a client interface (carrier comes when a
# driver VM serves its channel: net_wait_carrier).
net_client_up() {
	local name=$1 ifn=$2 addr=$3
	vm_cmd "$name" 30 "ip link set $ifn up && ip addr add $addr/24 dev $ifn" >/dev/null ||
		t_fail "$name: cannot configure $ifn"
}

# net_client_down NAME IFNAME — take an interface's address away again.
net_client_down() {
	vm_cmd "$1" 30 "ip addr flush dev $2 && ip link set $2 down" >/dev/null ||
		t_fail "$1: cannot deconfigure $2"
}

# net_wait_carrier NAME IFNAME SECS — until the client's interface has carrier.
net_wait_carrier() {
	vm_cmd "$1" "$3" "for i in \$(seq $(($3 * 10))); do [ \"\$(cat /sys/class/net/$2/carrier)\" = 1 ] && exit 0; sleep 0.1; done; exit 1" ||
		{ vm_cmd "$1" 10 "dmesg | tail -n 20; cat /sys/bus/pci/drivers/ddvm_netfront/*/ddvm"; t_fail "$1: no carrier on $2 within $3 s"; }
}

# net_ping NAME DEST [ARGS] — ping from a VM; fails the test after 3 misses in a row.
net_ping() {
	local name=$1 dst=$2
	shift 2
	local out
	out=$(vm_cmd "$name" 40 "ping -c 3 -W 5 $* $dst") || { echo "$out"; t_fail "$name: ping $* $dst failed"; }
	echo "$out" | grep 'packet loss'
}

# net_iperf NAME [-R] — bounded iperf3 run from a VM to the peer; prints Mbit/s.
# NET_IPERF_EXTRA: more iperf3 options (e.g. -b 40M).
net_iperf() {
	local name=$1 rev=${2:-} secs=${NET_IPERF_SECS:-3} out mbps
	out=$(vm_cmd "$name" $((secs + 40)) "iperf3 -c $NET_PEER -t $secs -f m $rev ${NET_IPERF_EXTRA:-}") ||
		{ echo "$out" >&2; t_fail "$name: iperf3 $rev failed"; }
	mbps=$(echo "$out" | awk '/receiver/ {for (i = 1; i < NF; i++) if ($(i+1) == "Mbits/sec") print $i}' | tail -n1)
	if [ -z "$mbps" ] || ! awk -v m="$mbps" 'BEGIN { exit !(m > 0) }'; then
		echo "$out" >&2
		t_fail "$name: no iperf3 throughput: '$mbps'"
	fi
	echo "$mbps"
}

# net_backend_stats NAME — the driver VM's ddvm_netback counters (every channel).
net_backend_stats() {
	# shellcheck disable=SC2016 # expanded by the guest's shell
	vm_cmd "$1" 20 'for f in /sys/bus/pci/drivers/ddvm_netback/*/stats; do echo "== $f"; cat "$f"; done'
}

# net_no_oops NAME — the VM's kernel log shows no Oops, BUG or WARNING.
net_no_oops() {
	local log
	log=$(vm_cmd "$1" 20 dmesg) || t_fail "$1: no answer (did it crash?)"
	if echo "$log" | grep -E 'Oops|BUG:|WARNING:|Call Trace|Kernel panic'; then
		t_fail "$1: kernel log shows a crash or warning"
	fi
}

# net_wait_backend NAME SECS — until every channel of driver VM NAME is served (READY).
net_wait_backend() {
	vm_cmd "$1" "$2" "for i in \$(seq $(($2 * 10))); do s=\$(cat /sys/bus/pci/drivers/ddvm_netback/*/stats 2>/dev/null | grep -c '^state ready'); n=\$(ls -d /sys/bus/pci/drivers/ddvm_netback/0000:* 2>/dev/null | wc -l); [ \$n -gt 0 ] && [ \$s = \$n ] && exit 0; sleep 0.1; done; exit 1" ||
		{ vm_cmd "$1" 10 "dmesg | grep -i -e ddvm -e eth | tail -n 30"; t_fail "$1: netback not ready within $2 s"; }
}
