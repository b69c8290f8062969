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
# I/O error, no mismatch, and every block reads back as last written.
# Prints failover and fault -> service restored times (p50/p90/max).
# SPARE_MODE=off runs the same kills with spare = no (restart = snapshot alone): the
# comparison in docs/dependability.md.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
KILLS=${SPARE_KILLS:-5}
MODE=${SPARE_MODE:-on}

# examples/spare.ini as a user would copy it; the test's paths, image and workload
[ "$MODE" = on ] && spare=yes || spare=no
sed -e "s|^kernel .*|kernel = $DDVM_KERNEL|" \
	-e "s|^driver_initrd .*|driver_initrd = $DDVM_DRIVER_INITRD|" \
	-e "s|^client_initrd .*|client_initrd = $DDVM_CLIENT_INITRD|" \
	-e "s|^image .*|image = $T/disk0.img|" \
	-e "s|^spare .*|spare = $spare|" \
	-e "/^\[driver-vm drv\]/a restart_max = 1000\nboot_timeout_ms = 180000" \
	-e "/^\[client-vm app\]/a run = $DDVM_ROOT/tests/vm/spare_client.sh\nboot_timeout_ms = 180000" \
	"$DDVM_ROOT/examples/spare.ini" >"$T/spare.ini"
grep -q "^spare = $spare" "$T/spare.ini" || t_fail "examples/spare.ini has no spare key"
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

count() { grep -ac -- "$1" "$DDVM_RUNDIR/$2" 2>/dev/null || true; }
last_ok() {
	local v
	v=$(grep -ao 'PINGSTAT ok=[0-9]*' "$DDVM_RUNDIR/app.log" | tail -n 1 | cut -d= -f2 || true)
	echo "${v:-0}"
}
# wait until the client's data and pings moved past what they were
wait_client() {
	local why=$1 pass0 ok0 deadline=$((SECONDS + 90))
	pass0=$(count 'DATA-PASS' app.log)
	ok0=$(last_ok)
	while ((SECONDS < deadline)); do
		(($(count 'DATA-PASS' app.log) > pass0)) && (($(last_ok) > ok0)) && return 0
		sleep 0.1
	done
	tail -n 20 "$DDVM_RUNDIR/app.log"
	t_fail "$why: the client's data or pings did not move within 90 s"
}
wait_client "before the first kill"
for n in $(seq "$KILLS"); do
	[ "$MODE" = on ] && sup_wait_log 'drv: spare: ready \(paused' 180 "$n"
	wait_client "before kill $n"
	pid=$(sup_vm_field drv pid)
	"$DDVM" inject drv kill >/dev/null || t_fail "ddvm inject drv kill failed"
	sup_wait_log 'drv: FAILED: QEMU was killed by signal 9' 30 "$n"
	[ "$MODE" = on ] && sup_wait_log 'drv: failover to spare in' 30 "$n"
	sup_wait_log 'drv: service restored [0-9]+ ms after' 60 "$n"
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
# one more full read-back of every slot after the last failover
v0=$(count 'DATA-VERIFY good' app.log)
sup_wait_console app 'DATA-VERIFY good' 180 $((v0 + 1))
grep -a 'DATA-VERIFY good\|PINGSTAT' "$DDVM_RUNDIR/app.log" | tail -n 2
! grep -aq 'DATA-IOERR\|DATA-MISMATCH\|DATA-VERIFY-BAD' "$DDVM_RUNDIR/app.log" ||
	{ grep -a 'DATA-IOERR\|DATA-MISMATCH\|DATA-VERIFY-BAD' "$DDVM_RUNDIR/app.log" | head; t_fail "client I/O error or bad data"; }
! grep -aqE 'Oops|BUG:|Kernel panic|I/O error' "$DDVM_RUNDIR/app.log" || t_fail "the client's kernel complained"
[ "$(sup_vm_field app restarts)" = 0 ] || t_fail "the client VM restarted"

stats() { # p50/p90/max of the numbers on stdin
	sort -n | awk '{ v[NR] = $1 } END { if (!NR) { print "none"; exit }
		printf "n=%d p50=%d p90=%d max=%d", NR, v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.999)], v[NR] }'
}
[ "$MODE" = on ] && t_log "failover to spare (failure detected -> spare resumed), ms:" \
	"$(grep -o 'failover to spare in [0-9]*' "$DDVM_RUNDIR/ddvm.log" | awk '{ print $5 }' | stats)"
t_log "fault -> service restored (spare = $spare), ms:" \
	"$(grep -o 'service restored [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | awk '{ print $3 }' | stats)"
t_log "the client: $(grep -a 'DATA-PASS' "$DDVM_RUNDIR/app.log" | tail -n 1); $(grep -a PINGSTAT "$DDVM_RUNDIR/app.log" | tail -n 1)"
echo SUCCESS
