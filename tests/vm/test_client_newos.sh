#!/bin/bash
# timeout: 480
# A new OS borrows Linux's drivers, through `ddvm up` and examples/newos.ini as a user
# would copy it (its bridge br-newos in a network namespace the test creates; the disk,
# the new OS's path and its command line set by the test): build/newos/ddvm-newos.elf
# (clients/newos, a few hundred lines, multiboot, no drivers of its own beyond finding
# ivshmem on PCI) boots as a client VM with two ddvm channels and polls their rings with
# the freestanding ring code:
#   - blk: the driver VM's unmodified nvme driver; newos verifies a pattern the host
#     wrote into the image (blkseed=), writes another, flushes, reads it back; after
#     `ddvm down` the host finds the new pattern in the image file.
#   - net: the driver VM's unmodified e1000; newos answers ARP and ping for 10.99.0.3
#     from the namespace's peer (10.99.0.1 on br-newos).
# Before that, without br-newos: `ddvm up` fails, says how to create the bridge and
# leaves no disk image behind.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/net_common.sh"
t_need_root
NEWOS=$BUILD/newos/ddvm-newos.elf
t_need_file "$NEWOS"
PAT="python3 $DDVM_ROOT/tests/vm/client_pattern.py"
OS_IP=10.99.0.3

net_ns_setup
# the example's lines both setups below change: the tap and the kernel
edits=(-e "s|^tap .*|tap     = $NET_TAP|" -e "s|^kernel  = .*ddvm-newos.elf|kernel  = $NEWOS|")
# First without the bridge: `ddvm up` says how to create it, with the setup file's
# line, and creates nothing (the disk image of `size =` included).
sup_example nobr newos -e "s|^image .*|image  = $T/nobr.img|" "${edits[@]}"
rc=0
ip netns exec "$NET_NS" "$DDVM" up -d "$T/nobr.ini" >"$T/nobr.out" 2>&1 || rc=$?
if [ "$rc" != 3 ] || ! grep -q 'nobr.ini:[0-9]*: \[device [^]]*\]: bridge = br-newos: no interface br-newos here.*create the bridge first (ip link add br-newos type bridge' "$T/nobr.out"; then
	cat "$T/nobr.out"
	t_fail "ddvm up without the bridge: exit $rc, not 3 (the setup file's check) with file:line and how to create it"
fi
[ ! -e "$T/nobr.img" ] || t_fail "ddvm up created the disk image although it did not start"
net_ns_bridge br-newos
qemu-img create -q -f raw "$T/disk0.img" 64M
$PAT write "$T/disk0.img" 7 $((1 << 20)) $((1 << 20))
# boot deadlines for a loaded host: newos polls its rings from power-on, a vCPU that
# competes with the driver VM's boot on 2 cores (52 s once beside a fault campaign)
sup_example newos newos -e "s|^image .*|image  = $T/disk0.img|" "${edits[@]}" \
	-e "/^\[driver-vm drv\]/a boot_timeout_ms = 180000" -e "/^\[client-vm os\]/a boot_timeout_ms = 180000" \
	-e "s|^append  = ip=$OS_IP\$|append  = ip=$OS_IP blkseed=7 blkoff=$((1 << 20)) blklen=$((1 << 20)) wseed=11 woff=$((16 << 20))|"
for want in "^kernel  = $NEWOS" "blkseed=7" "^image  = $T" "^tap     = $NET_TAP"; do
	grep -q -- "$want" "$T/newos.ini" ||
		{ cat "$T/newos.ini"; t_fail "examples/newos.ini no longer has the line the test edits ($want)"; }
done

# the supervisor (and so the tap it creates) in the namespace, as `make demo` does
sup_up "$T/newos.ini" "$NET_NS"

sup_wait_console os 'blk write\+flush\+readback: (OK|FAILED)|blk verify host pattern: FAILED|never became ready' 120
grep -a 'newos:' "$DDVM_RUNDIR/os.log" | tr -d '\r' | sed 's/^/  /'
grep -aq 'blk verify host pattern: OK' "$DDVM_RUNDIR/os.log" || t_fail "newos: host pattern not verified"
grep -aq 'blk write+flush+readback: OK' "$DDVM_RUNDIR/os.log" || t_fail "newos: write/readback failed"

# its ready line is "newos: net up": running for the supervisor then
sup_wait_log 'os: state booting -> running' 60
ip netns exec "$NET_NS" ping -c 3 -W 5 "$OS_IP" || t_fail "the peer cannot ping the new OS"
sup_wait_console os 'answered ping 3' 10
ip -n "$NET_NS" neigh show "$OS_IP" | grep -qi '52:54:00:dd:00:31' || t_fail "no ARP entry for the new OS"
! grep -aqE "$T_KERNEL_TROUBLE" "$DDVM_RUNDIR/drv.log" || t_fail "the driver VM's kernel complained"
[ "$(sup_vm_field drv restarts)" = 0 ] || t_fail "the driver VM restarted"
[ "$(sup_vm_field os restarts)" = 0 ] || t_fail "the new OS restarted"

"$DDVM" down || t_fail "ddvm down failed"
sup_wait_gone 30
$PAT verify "$T/disk0.img" 11 $((16 << 20)) $((1 << 20)) || t_fail "newos's pattern is not in the image"
echo SUCCESS
