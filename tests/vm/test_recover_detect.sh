#!/bin/bash
# timeout: 420
# Each way a driver VM can fail is detected by the right check, and the client's I/O
# (fio with verification, in a loop) carries on without an error:
#   panic   (ddvm_faultinj)         -> pvpanic: QMP GUEST_PANICKED
#   hang    (interrupts off, spin)  -> the heartbeat stops advancing
#   stop    (QMP stop, from outside) -> the heartbeat stops advancing
#   wqhang  (a work item that never sleeps: the translation module's request work
#            cannot run, its heartbeat timer still can) -> requests stop completing, or
#            the heartbeat stops because its probe of that work stalled (stall_ms):
#            two checks of the same stuck work, 5 s apart at most; which one fires
#            first depends on where the 1 s heartbeat tick falls
#   hang again, as soon as the channel is served after the last restore -> the heartbeat
# First, a fault ddvm_faultinj refuses (an oops on a symbol that does not exist):
# `ddvm inject` exits 1 with the module's reason and nothing fails.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/../lib/recover.sh"

rec_fio_loop_script full >"$T/work.sh"
# hang and stop must be found by the heartbeat check (3 s), not by the request check:
# both see a hung driver VM, and the request check's clock starts when the ring stops
# moving, which under a loaded host can be a second or more before the injected hang
# takes effect (it is typed into the driver VM's console). With the default 4 s the
# request check won once (a fresh-clone CI, 2026-12-01); at 8 s it is 5 s behind.
REC_REQ_MS=8000
rec_setup setup "$T/work.sh"
rec_up setup
sup_wait_console cli 'FIO-PASS 1 ok' 180

n=0
inject() { # KIND LOG-REGEX
	local kind=$1 re=$2 passes failed restored
	n=$((n + 1))
	rec_wait_requests disk0.cli 100 60
	# two beats seen since the last restore (as a long-running driver VM has)
	h0=$(sup_chan_field disk0.cli health)
	for i in $(seq 101); do
		(($(sup_chan_field disk0.cli health) >= h0 + 2)) && break
		((i <= 100)) || t_fail "the driver VM did not beat twice in 10 s before injecting $kind (health $h0 -> $(sup_chan_field disk0.cli health))"
		sleep 0.1
	done
	# count lines, not "seen once": hang and stop fail with the same message
	failed=$(grep -Ec -- "drv: FAILED: $re" "$DDVM_RUNDIR/ddvm.log" || true)
	restored=$(grep -c 'drv: service restored' "$DDVM_RUNDIR/ddvm.log" || true)
	t_log "inject $kind"
	"$DDVM" inject drv "$kind" >/dev/null || t_fail "ddvm inject drv $kind failed"
	sup_wait_log "drv: FAILED: $re" 60 $((failed + 1))
	sup_wait_log "drv: service restored" 120 $((restored + 1))
	# and fio made progress again in the new epoch, verified
	passes=$(grep -c 'FIO-PASS [0-9]* ok' "$DDVM_RUNDIR/cli.log")
	sup_wait_console cli 'FIO-PASS [0-9]+ ok' 180 $((passes + 1))
	t_log "$kind: $(grep "drv: FAILED" "$DDVM_RUNDIR/ddvm.log" | tail -n1 | sed 's/.*FAILED: //')"
}
rc=0
"$DDVM" inject drv oops - no_such_function_xyz >"$T/inject.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$T/inject.out"; t_fail "a refused oops: ddvm inject exited $rc, not 1"; }
grep -q 'ddvm_faultinj in drv refused oops' "$T/inject.out" || t_fail "a refused oops: $(cat "$T/inject.out")"
t_log "refused: $(cat "$T/inject.out")"
inject panic 'guest kernel panicked \(pvpanic\)'
hb='no heartbeat from the driver VM for [0-9]+ ms \(its translation module for channel disk0.cli'
inject hang "$hb"
inject stop "$hb"
inject wqhang "(channel disk0.cli ring 0: [0-9]+ requests untouched|$hb)"
# A hang as soon as the channel is served again, before the heartbeat tick: the
# translation module beats as it serves (READY), so the heartbeat check watches the
# new epoch from then. (It watched from the first tick, up to ~2 s later: a hang in
# that window went to the request check, 8 s here; CI, 2026-12-01.)
restored=$(grep -c 'drv: service restored' "$DDVM_RUNDIR/ddvm.log" || true)
failed=$(grep -c 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log" || true)
"$DDVM" inject drv kill >/dev/null || t_fail "ddvm inject drv kill failed"
sup_wait_log "drv: service restored" 120 $((restored + 1))
t0=$(now_ms)
"$DDVM" inject drv hang >/dev/null || t_fail "ddvm inject drv hang (at once) failed"
t_log "hang typed in as the service was seen restored ('ddvm inject' answered in $(($(now_ms) - t0)) ms)"
sup_wait_log "drv: FAILED" 60 $((failed + 2))
last=$(grep "drv: FAILED" "$DDVM_RUNDIR/ddvm.log" | tail -n1)
[[ $last == *"no heartbeat from the driver VM for "*"channel disk0.cli"* ]] ||
	t_fail "a hang at once after a restore was not found by the heartbeat: $last"
sup_wait_log "drv: service restored" 120 $((restored + 2))
passes=$(grep -c 'FIO-PASS [0-9]* ok' "$DDVM_RUNDIR/cli.log")
sup_wait_console cli 'FIO-PASS [0-9]+ ok' 180 $((passes + 1))
t_log "hang at once: ${last#*FAILED: }"
grep -o 'service restored [0-9]* ms' "$DDVM_RUNDIR/ddvm.log"
! grep -q 'FIO-PASS [0-9]* FAILED' "$DDVM_RUNDIR/cli.log" || t_fail "fio saw an error"
[ "$(rec_restarts cli)" = 0 ] || t_fail "the client VM restarted"
! grep -qE "$T_KERNEL_TROUBLE" "$DDVM_RUNDIR/cli.log" || t_fail "the client kernel complained"
echo SUCCESS
