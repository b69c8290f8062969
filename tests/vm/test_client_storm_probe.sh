#!/bin/bash
# timeout: 400
# A client's doorbell storm while the driver VM's translation modules probe its
# channel hurts nobody. The modules request their interrupts before they have set up
# the rest, and a client can ring as soon as they do: blkback's interrupt handler read
# its queues before they were allocated (a NULL dereference: the driver VM panicked at
# its boot, its other clients lost their disks for another restart; found by a trial
# that rang a's doorbells through `ddvm restart`: 7 panics in 4 restarts), and
# netback's could schedule a takeover racing its own probe. One driver VM
# (restart = snapshot: each restart plugs the channels again, so the modules probe
# them again) serves disk0 and nic0 to host client a, disk1 to host client b. Two
# hostile writers (tests/vm/hostile_writer.py, kind storm) ring every doorbell of a's
# two channels as fast as they can while the driver VM is restarted RESTARTS times
# (6). Checked: every restart restores b's channel at its new epoch, no failure the
# test did not ask for (no panic), and once the writers stopped, ddvm-blkcheck writes
# and reads back 1 MiB through a's and b's disks.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
t_need_file "$BUILD/bin/ddvm-blkcheck"
RESTARTS=${DDVM_STORM_RESTARTS:-6}

sup_config storm <<CONF
[driver-vm drv]
memory = 256M
restart = snapshot
restart_backoff_ms = 100
[device disk0]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk0.img
size = 16M
[device disk1]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk1.img
size = 32M
[device nic0]
vm = drv
kind = net
model = e1000
backend = user
[host-client a]
devices = disk0 nic0
[host-client b]
devices = disk1
CONF
sup_up "$T/storm.ini"
sup_wait_log 'drv: snapshot taken in' 120

sup_hostile_writer disk0.a --kinds storm --duration 600 --period 600
python3 "$DDVM_ROOT/tests/vm/hostile_writer.py" "$DDVM_RUNDIR/channels/nic0.a.host.sock" \
	--kinds storm --duration 600 --period 600 >"$T/writer-net.log" 2>&1 &
echo $! >"$T/writer-net.pid"
t_on_exit "t_kill_pidfile '$T/writer-net.pid'"
for _ in $(seq 100); do grep -q '^hostile_writer: +.*kind' "$T/writer-net.log" && break; sleep 0.1; done
grep -q '^hostile_writer: +.*kind' "$T/writer-net.log" || t_fail "the NIC's writer did not start: $(cat "$T/writer-net.log")"

for n in $(seq "$RESTARTS"); do
	"$DDVM" restart drv >/dev/null || t_fail "ddvm restart drv failed"
	t_log "restart $n"
	sup_wait_chan_epoch disk1.b $((n + 1)) 120
done
t_kill_pidfile "$T/writer.pid"
t_kill_pidfile "$T/writer-net.pid"
tail -n 1 "$DDVM_RUNDIR/hostile_writer.log" "$T/writer-net.log"
for f in "$DDVM_RUNDIR/hostile_writer.log" "$T/writer-net.log"; do
	rung=$(sed -n 's/.*doorbells rung \([0-9]*\).*/\1/p' "$f")
	((${rung:-0} >= 1000)) || t_fail "$f: ${rung:-no} doorbells rung: no storm"
done
grep -E 'drv: (FAILED|GIVING UP)' "$DDVM_RUNDIR/ddvm.log" | sed 's/^/    /' || true
if grep -q 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log"; then
	"$DDVM" logs drv 2>/dev/null | grep -E -A3 'BUG|Oops|RIP' | head -n 20 | sed 's/^/    /' || true
	t_fail "the driver VM failed while a's doorbells stormed ($(grep -c 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log") failures)"
fi
restarts=$(sup_vm_field drv restarts)
[ "$restarts" = "$RESTARTS" ] || t_fail "drv restarted $restarts times ($RESTARTS asked for)"

for c in disk0.a disk1.b; do
	sup_blkcheck "$c" 5 || t_fail "$c did not serve its client after the storm (ddvm-blkcheck failed)"
done
t_log "$RESTARTS restarts under a's doorbell storm: no panic, b back each time, both disks served"
"$DDVM" down >/dev/null 2>&1
echo SUCCESS
