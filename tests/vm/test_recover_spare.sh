#!/bin/bash
# timeout: 900
# spare = yes through `ddvm up` with examples/spare.ini (an e1000 on user networking and
# a raw virtio-blk disk in the driver VM, one client VM using both): the supervisor
# keeps a warm spare (restored from the snapshot, channels on standby, paused). While
# the client pings QEMU's gateway through the e1000 and writes + reads back 1 MiB
# blocks with O_DIRECT on the disk, `ddvm inject drv kill` (kill -9 of the active
# driver VM) SPARE_KILLS times (default 5). Checks, every time: the spare took over
# ("failover to spare"), no restore from the snapshot, a new spare became ready, the
# client's data moved again and its pings were answered again; at the end no client
# I/O error, no mismatch, and every block reads back as last written; after each
# failover the driver VM's uptime counts from the takeover (ddvm status --json).
# Prints failover and fault -> service restored times (p50/p90/max).
# SPARE_MODE=off runs the same kills with spare = no (restart = snapshot alone): the
# comparison in docs/dependability.md.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/spare_lib.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
KILLS=${SPARE_KILLS:-5}
MODE=${SPARE_MODE:-on}

# examples/spare.ini as a user would copy it; the test's paths, image and workload
[ "$MODE" = on ] && spare=yes || spare=no
spare_config "$T/spare.ini" "$spare"
sup_up "$T/spare.ini"
sup_wait_log 'drv: snapshot taken in' 120
sup_wait_console app 'CLIENT-UP' 180
if [ "$MODE" = on ]; then
	sup_wait_log 'drv: spare: ready \(paused' 120
	t_log "$(grep -o 'drv: spare: ready .*' "$DDVM_RUNDIR/ddvm.log" | head -n1)"
	"$DDVM" status | grep -a 'spare:' || t_fail "ddvm status shows no spare"
	[ "$("$DDVM" status --json | jq -r '.vms[] | select(.name == "drv") | .spare.state')" = ready ] ||
		t_fail "ddvm status --json: the spare is not ready"
fi

wait_client "before the first kill"
for n in $(seq "$KILLS"); do
	[ "$MODE" = on ] && sup_wait_log 'drv: spare: ready \(paused' 180 "$n"
	wait_client "before kill $n"
	pid=$(sup_vm_field drv pid)
	t_kill=$(date +%s%3N)
	"$DDVM" inject drv kill >/dev/null || t_fail "ddvm inject drv kill failed"
	sup_wait_log 'drv: FAILED: QEMU was killed by signal 9' 30 "$n"
	[ "$MODE" = on ] && sup_wait_log 'drv: failover to spare in' 30 "$n"
	sup_wait_log 'drv: service restored [0-9]+ ms after' 60 "$n"
	# uptime counts from the takeover, not from the spare's QEMU start (seconds earlier)
	up=$(sup_vm_field drv uptime_ms)
	since=$(($(date +%s%3N) - t_kill))
	((up <= since)) || t_fail "kill $n: uptime ${up} ms after a failover ${since} ms ago"
	[ "$(sup_vm_field drv pid)" != "$pid" ] || t_fail "kill $n: drv still has pid $pid"
	wait_client "after kill $n"
	t_log "kill $n (pid $pid): $(grep -o 'failover to spare in [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | tail -n 1)" \
		"$(grep -o 'channel [a-z0-9.]* back [0-9]* ms.*side after [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | sed 's/ after the failure was detected (the driver VM.s side after / (driver VM /' | tail -n 2 | tr '\n' ' ')" \
		"$(grep -o 'service restored [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | tail -n 1)"
done
if [ "$MODE" = on ]; then
	sup_wait_log 'drv: spare: ready \(paused' 180 $((KILLS + 1))
	[ "$(count 'restoring from snapshot' ddvm.log)" = 0 ] ||
		t_fail "a kill was recovered by a restore, not by the spare"
	[ "$(count 'failover to spare in' ddvm.log)" = "$KILLS" ] || t_fail "not every kill failed over"
	[ "$("$DDVM" status --json | jq -r '.vms[] | select(.name == "drv") | .spare.failovers')" = "$KILLS" ] ||
		t_fail "ddvm status --json: spare.failovers is not $KILLS"
fi
spare_check_client

[ "$MODE" = on ] && t_log "failover to spare (failure detected -> spare resumed), ms:" \
	"$(grep -o 'failover to spare in [0-9]*' "$DDVM_RUNDIR/ddvm.log" | awk '{ print $5 }' | stats)"
t_log "fault -> service restored (spare = $spare), ms:" \
	"$(grep -o 'service restored [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | awk '{ print $3 }' | stats)"
t_log "the client: $(grep -a 'DATA-PASS' "$DDVM_RUNDIR/app.log" | tail -n 1); $(grep -a PINGSTAT "$DDVM_RUNDIR/app.log" | tail -n 1)"
echo SUCCESS
