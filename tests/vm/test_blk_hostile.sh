#!/bin/bash
# timeout: 240
# blk: neither side trusts the other; garbage in a live channel crashes neither VM.
#
# One driver VM serves two disks: nvme over channel "live" to a client VM, virtio-blk
# over channel "rogue" to a host process (tests/vm/blk_peer.py, ivshmem peer 2 on
# host.sock) that plays a hostile client:
#   1. malformed requests (unknown op/flags, bad lengths, sectors past the end and
#      overflowing, a buffer that is not the tag's slot, a tag beyond the ring, a flush
#      with a length) are each answered DDVM_BLK_S_INVAL; good I/O still works;
#   2. a ring violation (prod more than a ring ahead) makes the backend mark the
#      channel BROKEN; its heartbeat keeps going, the other channel keeps working;
#   3. an epoch bump (ddvm-chan SIGUSR1, as the supervisor does after a restart)
#      brings the channel back: READY again, good I/O served.
# Then garbage is scribbled over the LIVE channel's rings (and finally over its whole
# region) while the client does I/O: the client must fail I/O cleanly (EIO, quickly,
# no hang), and both VMs must stay up without an oops.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/blk_lib.sh"
blk_need_build
PEER=(python3 "$DDVM_ROOT/tests/vm/blk_peer.py")

drv_args=()
for c in nvme virtio-blk2; do
	qemu-img create -q -f raw "$T/$c.img" "${BLK_IMG_MB}M"
	mapfile -t a < <(blk_disk_args "$c" "$T/$c.img")
	drv_args+=("${a[@]}")
done
blk_chan_start live "disk/by-pci/${BLK_BDF[nvme]}"
blk_chan_start rogue "disk/by-pci/${BLK_BDF[virtio-blk2]}"
mapfile -t a < <(blk_chan_args 0 live backend; blk_chan_args 1 rogue backend)
drv_args+=("${a[@]}")
mapfile -t cli_args < <(blk_chan_args 0 live frontend)
blk_driver_script "$T/driver.sh" nvme virtio-blk2
blk_driver_vm drv pc "$T/driver.sh" "${drv_args[@]}"

{
	blk_wait_disks_sh 1
	cat <<'EOF'
d=/dev/ddvmblk0
dd if=/dev/urandom of=/tmp/x bs=4k count=16 2>/dev/null
dd if=/tmp/x of=$d bs=4k count=16 oflag=direct conv=notrunc 2>/dev/null &&
	[ "$(dd if=$d bs=4k count=16 iflag=direct 2>/dev/null | sha256sum)" = "$(sha256sum </tmp/x)" ] &&
	echo BLK-HOST-PHASE1-OK
# I/O in a loop until the channel fails it; each I/O is timed
i=0
while [ $i -lt 1200 ]; do
	if ! dd if=/tmp/x of=$d bs=4k count=16 oflag=direct conv=notrunc 2>/dev/null ||
		! dd if=$d of=/dev/null bs=4k count=16 iflag=direct 2>/dev/null; then
		echo BLK-HOST-EIO
		break
	fi
	sleep 0.05
	i=$((i + 1))
done
# once broken, I/O fails at once (no hang)
t0=$(date +%s)
for j in 1 2 3 4 5; do dd if=$d of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null && echo BLK-HOST-UNEXPECTED-OK; done
echo "BLK-HOST-FAILFAST secs=$(($(date +%s) - t0))"
dmesg | grep -i ddvm | tail -n 5
echo BLK-HOST-ALIVE
EOF
} >"$T/client.sh"

vm_wait drv 'BLK-DRIVER-UP' 120
blk_client_vm cli "$T/client.sh" "${cli_args[@]}"

# Host peers, one connection each for the whole test (see blk_peer.py).
peer_start() { # NAME STEP...
	local name=$1
	shift
	"${PEER[@]}" "$@" >"$T/peer-$name.log" 2>&1 &
	echo $! >"$T/peer-$name.pid"
	t_on_exit "t_kill_pidfile '$T/peer-$name.pid'"
}
peer_wait() { # NAME FILE SECS
	local i
	for i in $(seq $(($3 * 20))); do
		[ -e "$2" ] && return 0
		grep -q PEER-FAIL "$T/peer-$1.log" && break
		kill -0 "$(cat "$T/peer-$1.pid")" 2>/dev/null || break
		sleep 0.05
	done
	cat "$T/peer-$1.log"
	t_fail "host peer $1 did not get to $(basename "$2")"
}
# 1 + 2 + 3: the hostile client on channel "rogue"
peer_start rogue "$T/ch-rogue" rogue-client bump="$T/ch-rogue/chan.pid" resume \
	touch="$T/rogue.ok" wait="$T/check-hb" heartbeat touch="$T/rogue.done" wait="$T/end"
# garbage over the live channel's rings, then over its whole region
peer_start live "$T/ch-live" wait="$T/phase1" scribble=3 wait="$T/eio" scribble-all=2 \
	touch="$T/live.done" wait="$T/end"
peer_wait rogue "$T/rogue.ok" 120
cat "$T/peer-rogue.log"

# the client's channel was not disturbed by any of that
vm_wait cli 'BLK-HOST-PHASE1-OK|BLK-CLIENT-NODISK' 120
grep -q 'BLK-HOST-PHASE1-OK' "$T/cli.console" || t_fail "client I/O did not work"
grep -q BLK-HOST-EIO "$T/cli.console" && t_fail "client I/O failed before any garbage"
t_log "client I/O works on the live channel"
touch "$T/phase1"
vm_wait cli 'BLK-HOST-EIO' 60
touch "$T/eio"
peer_wait live "$T/live.done" 60
cat "$T/peer-live.log"
vm_wait cli 'BLK-HOST-ALIVE' 120
grep -a 'BLK-HOST\|ddvm' "$T/cli.console" | tail -n 12
grep -q BLK-HOST-UNEXPECTED-OK "$T/cli.console" && t_fail "I/O succeeded on a broken channel"
secs=$(sed -n 's/.*BLK-HOST-FAILFAST secs=\([0-9]*\).*/\1/p' "$T/cli.console")
[ "${secs:-99}" -le 2 ] || t_fail "failing I/O on a broken channel took ${secs}s"

# both VMs alive, no oops; the driver VM still beats on the rogue channel
sleep 1
vm_no_oops drv
vm_no_oops cli
touch "$T/check-hb"
peer_wait rogue "$T/rogue.done" 20
tail -n 2 "$T/peer-rogue.log"
touch "$T/end"
t_log "garbage crashed neither side"
echo SUCCESS
