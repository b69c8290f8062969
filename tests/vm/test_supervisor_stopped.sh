#!/bin/bash
# timeout: 200
# A supervisor that did not run for a while (stopped: Ctrl-Z in the terminal of a
# foreground `ddvm up`, SIGSTOP; a host that did not schedule it) must not fail a VM
# for a ready line that came while it was away: the line waits in the console socket,
# and the boot deadline (boot_timeout_ms) is looked at before the loop reads the
# consoles. Here a driver VM without devices (so its QEMU needs nothing from the
# supervisor to boot) starts under a foreground `ddvm up`, the supervisor is stopped
# for 55 s, longer than the VM's boot_timeout_ms = 45000 and its boot (~8 s under
# TCG), then continued. Checked: the VM is running, no FAILED line, no restart.
# Before, the first tick after SIGCONT failed it ("no '...' on the console within
# 45000 ms") and restarted it.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"

sup_config stopped <<CONF
[driver-vm drv]
memory = 256M
boot_timeout_ms = 45000
CONF
t_on_exit _sup_cleanup
"$DDVM" up "$T/stopped.ini" >"$T/fg.out" 2>&1 &
sup_pid=$!
t_on_exit "kill -CONT $sup_pid 2>/dev/null || true"
for _ in $(seq 100); do [ -s "$DDVM_RUNDIR/drv.pid" ] && break; sleep 0.05; done
[ -s "$DDVM_RUNDIR/drv.pid" ] || t_fail "drv's QEMU did not start: $(cat "$T/fg.out")"
kill -STOP "$sup_pid"
t_log "supervisor $sup_pid stopped; drv's QEMU $(cat "$DDVM_RUNDIR/drv.pid") boots on"
sleep 55 # the condition itself: a supervisor that does not run for longer than the deadline
kill -CONT "$sup_pid"
t_log "supervisor continued"
sup_wait_vm drv state running 20 "$T/fg.out"
sleep 1 # a tick or two after it: a failure would come at the first
grep -E 'drv: (FAILED|ready)' "$T/fg.out" | sed 's/^/    /' || true
grep -q 'drv: FAILED' "$T/fg.out" && t_fail "drv failed for a ready line the stopped supervisor had not read"
[ "$(sup_vm_field drv restarts)" = 0 ] || t_fail "drv restarted: $(sup_vm_field drv restarts)"
"$DDVM" down >/dev/null 2>&1
wait "$sup_pid" || true
echo SUCCESS
