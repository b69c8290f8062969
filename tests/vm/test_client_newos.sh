#!/bin/bash
# timeout: 300
# A new OS borrows Linux's drivers: build/newos/ddvm-newos.elf (clients/newos, a few
# hundred lines, multiboot, no drivers of its own beyond finding ivshmem on PCI) boots
# with two ddvm channels and polls their rings with the freestanding ring code:
#   - blk: a driver VM's unmodified nvme driver; newos verifies a pattern the host wrote
#     into the image, writes another, flushes, reads it back; after the driver VM is
#     gone the host finds the new pattern in the image file.
#   - net: another driver VM's unmodified e1000; newos answers ARP and ping for
#     10.99.0.3 from a peer in a network namespace the test creates.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/net_common.sh"
source "$(dirname "$0")/blk_lib.sh"
net_need_build
blk_need_build
NEWOS=$BUILD/newos/ddvm-newos.elf
t_need_file "$NEWOS"
PAT="python3 $DDVM_ROOT/tests/vm/client_pattern.py"
OS_IP=10.99.0.3

# net: driver VM with an e1000 on a tap whose other end is the namespace's peer
net_ns_setup
net_tap_create "$NET_TAP"
net_chan_start os 52:54:00:dd:00:31
net_driver_vm_start drvnet e1000 "$NET_TAP" os
net_tap_to_ns "$NET_TAP" "$NET_PEER/24"

# blk: driver VM with an nvme disk holding the host's pattern
qemu-img create -q -f raw "$T/nvme.img" 64M
$PAT write "$T/nvme.img" 7 $((1 << 20)) $((1 << 20))
blk_nvme_driver_vm drvblk "$T/nvme.img"
vm_wait drvnet 'DDVM-AGENT up' 90

# the new OS: two ivshmem-doorbell devices, one per channel; console on COM1
: >"$T/newos.console"
accel=$(ddvm_accel)
qemu-system-x86_64 -name newos -accel "$accel" -smp "$(ddvm_smp 1 "$accel")" -M q35 -m 64 -nodefaults \
	-display none -no-reboot -kernel "$NEWOS" \
	-append "ip=$OS_IP blkseed=7 blkoff=$((1 << 20)) blklen=$((1 << 20)) wseed=11 woff=$((16 << 20))" \
	-chardev file,id=con0,path="$T/newos.console" -serial chardev:con0 \
	-chardev socket,id=cn,path="$T/ch-os/frontend.sock" \
	-device ivshmem-doorbell,chardev=cn,vectors=9 \
	-chardev socket,id=cb,path="$T/ch-nvme/frontend.sock" \
	-device ivshmem-doorbell,chardev=cb,vectors=2 \
	-pidfile "$T/newos.pid" -daemonize || t_fail "qemu for newos did not start"
cp "$T/newos.pid" "$T/newos.vmpid"
t_on_exit "t_kill_pidfile '$T/newos.pid'"
t_on_exit "cp '$T/newos.console' '$BUILD/test-logs/newos.console' 2>/dev/null"

vm_wait newos 'blk write\+flush\+readback: (OK|FAILED)|blk verify host pattern: FAILED|never became ready' 120
grep 'newos:' "$T/newos.console" | sed 's/^/  /'
grep -q 'blk verify host pattern: OK' "$T/newos.console" || t_fail "newos: host pattern not verified"
grep -q 'blk write+flush+readback: OK' "$T/newos.console" || t_fail "newos: write/readback failed"

vm_wait newos 'newos: net up' 60
ip netns exec "$NET_NS" ping -c 3 -W 5 "$OS_IP" || t_fail "the peer cannot ping the new OS"
vm_wait newos 'answered ping 3' 10
ip -n "$NET_NS" neigh show "$OS_IP" | grep -qi '52:54:00:dd:00:31' || t_fail "no ARP entry for the new OS"
vm_no_oops drvnet
vm_no_oops drvblk

t_kill_pidfile "$T/newos.pid"
t_kill_pidfile "$T/drvblk.pid"
$PAT verify "$T/nvme.img" 11 $((16 << 20)) $((1 << 20)) || t_fail "newos's pattern is not in the image"
echo SUCCESS
