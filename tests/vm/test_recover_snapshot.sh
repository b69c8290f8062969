#!/bin/bash
# timeout: 360
# restart = snapshot: the supervisor boots the driver VM without its channel devices,
# snapshots it once its services are up, hot-plugs the channel; kill -9 of its QEMU
# while fio with verification runs (twice) → the supervisor restores the snapshot
# (QEMU -incoming), hot-plugs the channel again, the translation module probes it at the
# new epoch; fio passes again after it with no verify error; the restart is much faster
# than a boot.
# Then a corrupt snapshot: the restore fails and the supervisor falls back to a cold boot.
# The disk is virtio-blk: QEMU 7.2's nvme device cannot be migrated, hence not saved.
# A restored driver VM must start from the RAM of the snapshot, never from the RAM of
# the incarnation that died: 3 s after the snapshot its guest writes a random mark into
# its tmpfs (its RAM) and prints what it finds there every second; after each restore
# it must find none until it writes a new one.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/../lib/recover.sh"

REC_BLK_MODEL=virtio-blk-pci
# fio in a loop: a kill lands in the middle of whichever pass runs then (a fixed number
# of passes could all be over before the test's kill: they were once the driver VM got
# faster)
rec_fio_loop_script full >"$T/work.sh"
rec_setup setup "$T/work.sh" "restart = snapshot"
cat >>"$T/driver-run.sh" <<'EOF2'
( sleep 3; m=$(cat /proc/sys/kernel/random/uuid); echo "$m" >/tmp/mark; echo "DDVM-MARK written $m" ) &
( while :; do sleep 1; echo "DDVM-MARK seen $(cat /tmp/mark 2>/dev/null || echo none)"; done ) &
EOF2
rec_up setup
sup_wait_log 'drv: snapshot taken in' 60
sup_wait_log 'drv: channels plugged' 30
sup_wait_console cli 'CLIENT-BLK-UP' 120
cold=$(grep -o 'drv: ready after [0-9.]* s (cold boot)' "$DDVM_RUNDIR/ddvm.log" | head -n1)
t_log "first boot: $cold; $(grep -o 'snapshot taken in .*' "$DDVM_RUNDIR/ddvm.log")"
pss() { "$DDVM" status --json | jq -r '.vms[] | select(.name == "drv") | .pss_kib'; }
pss_cold=$(pss)
[[ $pss_cold =~ ^[1-9][0-9]*$ ]] || t_fail "ddvm status --json: drv pss_kib '$pss_cold'"

for n in 1 2; do
	rec_wait_requests disk0.cli 300 120
	pid=$(cat "$DDVM_RUNDIR/drv.pid")
	sup_wait_console drv 'DDVM-MARK written' 30 "$n" # this incarnation's mark
	t_log "kill -9 driver VM QEMU (pid $pid) while fio runs ($n)"
	kill -KILL "$pid"
	sup_wait_log 'drv: FAILED: QEMU was killed by signal 9' 30 "$n"
	# reaped: all the dead guest printed is in its log; the restored one starts below
	at=$(wc -l <"$DDVM_RUNDIR/drv.log")
	sup_wait_log 'drv: restoring from snapshot' 30 "$n"
	sup_wait_log 'drv: service restored [0-9]+ ms after' 60 "$n"
	t_log "restart $n: $(grep -o 'drv: running .*' "$DDVM_RUNDIR/ddvm.log" | tail -n1)"
	t_log "restart $n: $(grep -o 'service restored [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | tail -n1)"
	# the restored guest: no mark until it writes its own (none of the dead one's)
	sup_wait_console drv 'DDVM-MARK written' 30 $((n + 1))
	seen=$(tail -n +$((at + 1)) "$DDVM_RUNDIR/drv.log" | tr -d '\r' |
		sed -n '/DDVM-MARK written/q; s/.*DDVM-MARK seen //p')
	t_log "restart $n: what the restored guest found before writing its own mark:" \
		"$(tr '\n' ' ' <<<"$seen")"
	[ "$(printf '%s' "$seen" | grep -cvx none)" = 0 ] ||
		t_fail "restart $n: the restored guest found a mark it had not written: $(tr '\n' ' ' <<<"$seen")"
done
t_log "driver VM PSS (ddvm status --json): cold-booted $((pss_cold / 1024)) MiB," \
	"restored $(($(pss) / 1024)) MiB"
# a whole pass after the last restore, and no pass failed
passes=$(grep -c 'FIO-PASS [0-9]* ok' "$DDVM_RUNDIR/cli.log")
sup_wait_console cli 'FIO-PASS [0-9]+ ok' 240 $((passes + 2))
grep -a 'FIO-\|ddvm blk' "$DDVM_RUNDIR/cli.log" | tail -n 10
! grep -q 'FIO-PASS [0-9]* FAILED' "$DDVM_RUNDIR/cli.log" || t_fail "fio saw an error across the restarts"
! grep -q 'restore from snapshot failed\|cannot take a snapshot' "$DDVM_RUNDIR/ddvm.log" ||
	t_fail "the snapshot path was not used throughout"
[ "$(rec_restarts cli)" = 0 ] || t_fail "the client VM restarted"
! grep -qE "$T_KERNEL_TROUBLE" "$DDVM_RUNDIR/cli.log" "$DDVM_RUNDIR/drv.log" ||
	t_fail "a kernel complained"
# Well under a cold boot: the restore must not take even half of the first boot.
cold_ms=$(echo "$cold" | awk '{ printf "%d", $4 * 1000 }')
while read -r ms; do
	((ms * 2 < cold_ms)) || t_fail "service restored after $ms ms; the cold boot took $cold_ms ms"
done < <(grep -o 'service restored [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | awk '{ print $3 }')
t_log "cold boot (QEMU start -> ready) $cold_ms ms; snapshot restarts: service restored after" \
	"$(grep -o 'service restored [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | awk '{ print $3 }' | tr '\n' ' ')ms"

# A snapshot that cannot be restored: the supervisor boots cold at once (and takes a
# new snapshot), the client gets its disk back all the same.
head -c 1000000 /dev/urandom >"$DDVM_RUNDIR/drv.snap"
kill -KILL "$(cat "$DDVM_RUNDIR/drv.pid")"
sup_wait_log 'drv: restore from snapshot failed .*; cold boot instead' 30
sup_wait_log 'drv: service restored [0-9]+ ms after' 120 3
sup_wait_log 'drv: snapshot taken' 30 2
t_log "fallback: $(grep -o 'service restored [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | tail -n1) (cold)"
echo SUCCESS
