#!/bin/bash
# timeout: 300
# kill -9 of the driver VM's QEMU in the middle of fio with verification: the
# supervisor restarts it with a new epoch, the client's blkfront stalls (no error),
# requeues what was in flight and resumes; fio finishes with no verify error, the
# client never crashed, and the supervisor logged the time until service was restored.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/../lib/recover.sh"

rec_fio_script 1 >"$T/work.sh"
rec_setup setup "$T/work.sh"
rec_up setup
sup_wait_console cli 'CLIENT-BLK-UP' 120
sup_wait_console cli 'FIO-START 1' 60
rec_wait_requests disk0.cli 300 120
pid=$(cat "$DDVM_RUNDIR/drv.pid")
t_log "kill -9 driver VM QEMU (pid $pid) in the middle of fio"
kill -KILL "$pid"
sup_wait_log 'drv: FAILED: QEMU was killed by signal 9' 30
sup_wait_log 'drv: service restored [0-9]+ ms after' 120
sup_wait_console cli 'FIO-DONE' 200
grep -a 'FIO-\|ddvm blk' "$DDVM_RUNDIR/cli.log" | tail -n 10
grep -q 'FIO-DONE fail=0' "$DDVM_RUNDIR/cli.log" || t_fail "fio saw an error across the restart"
grep -q 'resumed at epoch' "$DDVM_RUNDIR/cli.log" || t_fail "the client never resumed"
[ "$(rec_restarts cli)" = 0 ] || t_fail "the client VM restarted"
! grep -qE "$T_KERNEL_TROUBLE" "$DDVM_RUNDIR/cli.log" || t_fail "the client kernel complained"
t_log "$(grep -o 'service restored [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | tail -n1)"
echo SUCCESS
