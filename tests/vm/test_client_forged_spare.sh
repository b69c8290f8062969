#!/bin/bash
# timeout: 480
# A client cannot keep a shared driver VM's warm spare off standby, nor make it serve
# beside the driver VM: a spare's translation modules know they are a spare's from
# their devices' peer ids (abi.h, "Peer ids"), not from the header's backend_peer,
# which the client can write, and nobody but the supervisor can ring a spare before
# it takes over. One driver VM (restart = snapshot, spare = yes) serves disk0 to host
# client a and disk1 to host client b. A hostile writer on a's channel
# (tests/vm/hostile_writer.py, kind spare) holds backend_peer at 11 (the second
# spare's id) every millisecond and rings every control vector it may, from before
# the first kill. Checked: the second spare comes up on standby (its console says so
# for both channels, as peer 11) and is paused ("spare: ready"), and takes over at
# the second kill; b's data written before the kills reads back after each. With the
# header trusted (the old rule, backend_peer != own id), the second spare served a's
# channel at its probe and was never ready.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
CHECK=$BUILD/bin/ddvm-blkcheck
t_need_file "$CHECK"

sup_config spare <<CONF
[driver-vm drv]
memory = 256M
restart = snapshot
spare = yes
[device disk0]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk0.img
size = 16M
format = raw
[device disk1]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk1.img
size = 32M
format = raw
[host-client a]
devices = disk0
[host-client b]
devices = disk1
CONF
sup_up "$T/spare.ini"

sup_hostile_writer disk0.a --kinds spare --peer 11 --duration 400 --period 400

b() { "$CHECK" --sock "$DDVM_RUNDIR/channels/disk1.b.client.sock" "$@"; }
b write 7 0 1048576 || t_fail "b could not write its disk"

sup_wait_log 'drv: spare: ready' 180 1
t_log "$(grep 'drv: spare: ready' "$DDVM_RUNDIR/ddvm.log" | tail -n 1 | sed 's/.*ddvm: //')"
"$DDVM" inject drv kill >/dev/null || t_fail "ddvm inject drv kill failed"
sup_wait_log 'drv: failover to spare in' 60 1
b verify 7 0 1048576 || t_fail "b's data after the first failover"

# the second spare probes its channels with backend_peer held at its own id
sup_wait_log 'drv: spare: ready' 180 2
t_log "$(grep 'drv: spare: ready' "$DDVM_RUNDIR/ddvm.log" | tail -n 1 | sed 's/.*ddvm: //')"
n=$(grep -c "this device is a warm spare's (peer 11)" "$DDVM_RUNDIR/drv.spare.log" || true)
[ "$n" = 2 ] || t_fail "the second spare said standby as peer 11 on $n channels, not 2: $(tail -n 20 "$DDVM_RUNDIR/drv.spare.log")"
grep -q 'named the channel' "$DDVM_RUNDIR/drv.spare.log" &&
	t_fail "the second spare served before it was named: $(grep 'named the channel' "$DDVM_RUNDIR/drv.spare.log")"

"$DDVM" inject drv kill >/dev/null || t_fail "the second ddvm inject drv kill failed"
sup_wait_log 'drv: failover to spare in' 60 2
grep -q 'drv: channel disk1.b: the spare is the driver VM now (peer 11' "$DDVM_RUNDIR/ddvm.log" ||
	t_fail "the second spare (peer 11) did not take disk1.b over: $(grep 'spare is the driver VM' "$DDVM_RUNDIR/ddvm.log")"
b verify 7 0 1048576 || t_fail "b's data after the second failover"
sup_wait_chan disk1.b backend_state ready 30
t_kill_pidfile "$T/writer.pid"
t_log "$(grep '^hostile_writer: done' "$DDVM_RUNDIR/hostile_writer.log")"
t_log "PASS"
