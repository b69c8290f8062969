#!/bin/bash
# timeout: 600
# The restart policy with a warm spare, through `ddvm up` and examples/spare.ini with
# restart_max = 2 and restart_backoff_ms = 5000 (docs/supervisor.md, "Warm spare"):
# 1. A failure while the next spare is still restoring waits out the back-off (10 s
#    for the 2nd failure in a row), but the spare takes over as soon as it is ready,
#    inside the back-off, instead of a restore from the snapshot after it.
# 2. Failovers count toward restart_max like restarts (crash-loop protection; the log
#    says "failure N of at most M in a row: the warm spare takes over"): the 3rd kill
#    in a row gives up, and the warm spare stays ready; `ddvm restart drv` (2 s later)
#    then hands the service to it at once (a failover, no restore; the outage counted
#    from the restart, not from the give-up), and the client's disk and pings move again.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/spare_lib.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"

spare_config "$T/spare.ini" yes "restart_backoff_ms = 5000"
sed -i 's/^restart_max = 1000$/restart_max = 2/' "$T/spare.ini"
grep -q '^restart_max = 2$' "$T/spare.ini" || t_fail "no restart_max in the test's config"
sup_up "$T/spare.ini"
sup_wait_log 'drv: snapshot taken in' 120
sup_wait_console app 'CLIENT-UP' 180
sup_wait_log 'drv: spare: ready \(paused' 120
wait_client "before the first kill"

# 1. kill, failover; kill again while the next spare restores
"$DDVM" inject drv kill >/dev/null || t_fail "ddvm inject drv kill failed"
sup_wait_log 'drv: failure 1 of at most 2 in a row: the warm spare takes over' 30
sup_wait_log 'drv: failover to spare in' 30
sup_wait_log 'drv: spare: started \(pid' 60 2
# The next spare is held (SIGSTOP) until the second failure is seen: on a quiet host it
# is ready ~350 ms after its start, sooner than this script's inject could come (a
# fresh-clone CI once saw it ready first, and the failover at once).
spid=$(grep -o 'drv: spare: started (pid [0-9]*' "$DDVM_RUNDIR/ddvm.log" | tail -n 1 | grep -o '[0-9]*$')
[ -n "$spid" ] || t_fail "no pid in the spare's start line"
kill -STOP "$spid" || t_fail "cannot stop the spare's QEMU (pid $spid)"
t_on_exit "kill -CONT $spid 2>/dev/null"
"$DDVM" inject drv kill >/dev/null || t_fail "the second ddvm inject drv kill failed"
sup_wait_log 'drv: FAILED: QEMU was killed by signal 9' 30 2
kill -CONT "$spid" || t_fail "the spare's QEMU (pid $spid) is gone"
sup_wait_log 'drv: restart 2 of at most 2 in a row, in 10000 ms' 10
sup_wait_log 'drv: failover to spare in' 30 2
ms=$(grep -o 'failover to spare in [0-9]*' "$DDVM_RUNDIR/ddvm.log" | tail -n 1 | awk '{ print $5 }')
((ms < 10000)) || t_fail "the spare took over ${ms} ms after the failure: not inside the back-off"
[ "$(count 'restoring from snapshot' ddvm.log)" = 0 ] ||
	t_fail "the driver VM was restored from the snapshot though a spare became ready"
t_log "2nd kill: the spare became ready inside the 10000 ms back-off and took over ${ms} ms after the failure"
wait_client "after the failover inside the back-off"

# 2. the third failure in a row gives up; the spare stays ready; ddvm restart uses it
sup_wait_log 'drv: spare: ready \(paused' 120 3
"$DDVM" inject drv kill >/dev/null || t_fail "the third ddvm inject drv kill failed"
sup_wait_log 'drv: GIVING UP after 3 failures in a row .*warm spare stays ready' 30
[ "$(sup_vm_field drv state)" = gave-up ] || t_fail "drv is $(sup_vm_field drv state), not gave-up"
[ "$("$DDVM" status --json | jq -r '.vms[] | select(.name == "drv") | .spare.state')" = ready ] ||
	t_fail "ddvm status --json: the spare is not ready after the give-up"
sleep 2 # given up for a while: the restart's outage must not count it
"$DDVM" restart drv >/dev/null || t_fail "ddvm restart drv failed"
sup_wait_log 'drv: failover to spare in' 30 3
sup_wait_log 'drv: service restored [0-9]+ ms after the restart began' 30
ms=$(grep -o 'service restored [0-9]* ms after the restart began' "$DDVM_RUNDIR/ddvm.log" | tail -n 1 | awk '{ print $3 }')
((ms < 2000)) || t_fail "service restored ${ms} ms after the restart: the time given up was counted"
[ "$(count 'restoring from snapshot' ddvm.log)" = 0 ] ||
	t_fail "ddvm restart restored from the snapshot though the spare was ready"
[ "$(sup_vm_field drv state)" = running ] || t_fail "drv is $(sup_vm_field drv state) after the restart"
wait_client "after ddvm restart"
# (the give-up told the client BACKEND_GONE: I/O it had waiting failed, if any)
t_log "client I/O errors while drv was given up: $(count 'DATA-IOERR' app.log)"
t_log "$(grep -o 'drv: GIVING UP.*' "$DDVM_RUNDIR/ddvm.log")"
echo SUCCESS
