#!/bin/bash
# The main demo (`make demo`): boot a driver VM that owns an e1000 NIC and an nvme disk
# with their unmodified Linux drivers, and a client VM that uses both through ddvm
# channels; show ping, iperf3 and a checksummed file system going through the driver
# VM, and the counters on both sides. Setup: examples/demo.ini.
#
# Everything network-related lives in a network namespace this script creates (a
# bridge br0 = 10.99.0.1 with an iperf3 server; the NIC's tap joins it): no traffic
# leaves the host. Everything is torn down on exit, also on Ctrl-C or failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-$ROOT/build}
DDVM=$BUILD/bin/ddvm
DEMO=$BUILD/demo
export DDVM_RUNDIR=$DEMO/run

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
[ -t 1 ] || say() { printf '==> %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (a network namespace and a tap device): run 'sudo make demo'"
for f in "$DDVM" "$BUILD/kernel/vmlinuz" "$BUILD/images/driver-vm.cpio.gz" \
	"$BUILD/images/client-vm.cpio.gz"; do
	[ -e "$f" ] || die "$f missing: run 'make' first"
done

NS=ddvm-demo-$$
cleanup() {
	set +e
	[ -S "$DDVM_RUNDIR/ddvm.sock" ] && "$DDVM" down >/dev/null 2>&1
	for pf in "$DDVM_RUNDIR"/*.pid "$DEMO/iperf3.pid"; do
		[ -f "$pf" ] && kill "$(cat "$pf")" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$DEMO" && mkdir -p "$DEMO"
say "network namespace $NS: bridge br0 = 10.99.0.1 with an iperf3 server (the peer)"
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add br0 type bridge
ip -n "$NS" addr add 10.99.0.1/24 dev br0
ip -n "$NS" link set br0 up
ip netns exec "$NS" iperf3 -s -D -I "$DEMO/iperf3.pid" >/dev/null

say "disk image $DEMO/disk0.img (256 MiB, raw) for the driver VM's disk controller"
qemu-img create -q -f raw "$DEMO/disk0.img" 256M

say "ddvm up examples/demo.ini   (accelerator: $("$DDVM" accel "$BUILD/kernel/vmlinuz"))"
ip netns exec "$NS" "$DDVM" up -d examples/demo.ini
"$DDVM" status

say "driver VM netvm: the unmodified drivers bound to its devices"
# (the q35 machine's own AHCI controller at 00:1f.2 is not one of the demo's devices)
grep -a 'DDVM-PCI' "$DDVM_RUNDIR/netvm.log" | grep -v ' 0000:00:1f' | sed -e 's/^DDVM-PCI /    /' -e 's/\r$//' || true

say "client VM app: workload through the driver VM"
deadline=$((SECONDS + 600))
seen=0
while ((SECONDS < deadline)); do
	mapfile -t lines < <(grep -a '^DEMO-' "$DDVM_RUNDIR/app.log" || true)
	for ((i = seen; i < ${#lines[@]}; i++)); do
		l=${lines[i]%$'\r'}
		case $l in
		DEMO-STEP*) printf '  * %s\n' "${l#DEMO-STEP }" ;;
		DEMO-OUT*) printf '      %s\n' "${l#DEMO-OUT }" ;;
		DEMO-FAIL*) printf '  !! %s\n' "${l#DEMO-FAIL }" ;;
		DEMO-CLIENT-UP*) printf '  * client up: %s\n' "${l#DEMO-CLIENT-UP }" ;;
		esac
	done
	seen=${#lines[@]}
	grep -aq '^DEMO-DONE' "$DDVM_RUNDIR/app.log" && break
	grep -aq '^DDVM-RUN-EXIT' "$DDVM_RUNDIR/app.log" && break
	sleep 0.2
done
grep -aq '^DEMO-DONE' "$DDVM_RUNDIR/app.log" || die "the client workload did not finish: see $DDVM_RUNDIR/app.log"

say "driver VM side: the unmodified drivers' own counters, and the translation module's"
# The driver VM reports its counters once a second while they change: wait until a
# report newer than the end of the workload is complete, then show the last one.
n0=$(grep -ac '^DEMO-DRIVER-END' "$DDVM_RUNDIR/netvm.log" || true)
for _ in $(seq 50); do
	(($(grep -ac '^DEMO-DRIVER-END' "$DDVM_RUNDIR/netvm.log") > n0)) && break
	sleep 0.1
done
tr -d '\r' <"$DDVM_RUNDIR/netvm.log" | awk '/^DEMO-DRIVER-END/ { last = cur; cur = ""; next }
	/^DEMO-DRIVER / { sub(/^DEMO-DRIVER /, ""); cur = cur "    " $0 "\n" }
	END { printf "%s", last }' | fold -s -w 110
say "the supervisor's view: channels, epochs, health, requests"
"$DDVM" status

if grep -aq '^DEMO-FAIL' "$DDVM_RUNDIR/app.log"; then
	die "the demo saw a failure (above)"
fi
say "done: traffic and disk I/O went through the driver VM's unmodified drivers"
echo "    (examples/demo.ini: try model = rtl8139 or virtio-net-pci for the NIC, nvme or ahci for"
echo "     the disk; 'ddvm up examples/demo.ini' runs the same setup by hand)"
