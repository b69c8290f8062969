#!/bin/bash
# timeout: 400
# A disk with one queue pair per client vCPU, with the config users copy
# (examples/multiqueue.ini: a client VM and a driver VM with 2 vCPUs each, a
# virtio-blk disk whose `queues` is left to its default). Checked: the channel has 2
# queue pairs (`ddvm status --json`), the client's blk-mq 2 hardware queues, and the
# client's fio rounds (one job pinned to each vCPU, written and verified) pass with
# requests on both pairs; then `ddvm restart drv` in the middle of a round: the round
# and the next pass (blkfront takes back what was in flight on both pairs and
# resubmits it at the new epoch), both pairs carry requests again at epoch 2.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"

t_need_file "$DDVM_ROOT/examples/multiqueue.ini"
sup_example mq multiqueue -e "s|^image *=.*|image  = $T/disk0.img|" \
	-e "s|^run *= *multiqueue/|run     = $DDVM_ROOT/examples/multiqueue/|"
grep -q "^image  = $T/disk0.img" "$T/mq.ini" || t_fail "examples/multiqueue.ini: no image line to substitute"
sup_up "$T/mq.ini"

# every MQ-ROUND so far passed; prints how many there are (not anchored: the rounds run
# in the background, and the first may share its line with the console shell's prompt)
rounds_ok() {
	local bad
	bad=$(grep -a 'MQ-ROUND' "$DDVM_RUNDIR/app.log" | tr -d '\r' | grep -v ' rc=0 errors=0$' || true)
	[ -z "$bad" ] || { tail -n 40 "$DDVM_RUNDIR/app.log"; t_fail "a fio round failed: $bad"; }
	grep -ac 'MQ-ROUND' "$DDVM_RUNDIR/app.log"
}
# both queue pairs of disk0.app carried requests at the channel's current epoch
both_queues_used() {
	local json
	json=$("$DDVM" status --json) || t_fail "ddvm status --json failed"
	jq -e '.channels[] | select(.name == "disk0.app") | (.queues | length) == 2
		and .queues[0].requests > 0 and .queues[1].requests > 0
		and .requests == .queues[0].requests + .queues[1].requests' <<<"$json" >/dev/null ||
		t_fail "disk0.app: not 2 queue pairs with requests on each: $(jq -c '.channels[0].queues' <<<"$json")"
	t_log "epoch $(sup_epoch disk0.app): requests per queue pair $(jq -c '[.channels[0].queues[].requests]' <<<"$json")"
}

sup_wait_console app '^MQ-CLIENT-UP' 120
line=$(grep -a '^MQ-CLIENT-UP' "$DDVM_RUNDIR/app.log" | tr -d '\r')
[ "$line" = "MQ-CLIENT-UP cpus=2 queues=2" ] || t_fail "the client: $line (wanted 2 vCPUs, 2 hardware queues)"
sup_wait_console app 'MQ-ROUND 1 ' 120
rounds_ok >/dev/null
both_queues_used
"$DDVM" status | grep -q 'queues 2, requests [0-9]* / [0-9]*' ||
	t_fail "ddvm status does not show the queue pairs: $("$DDVM" status)"

# a restart in the middle of a round: wait until a round has started and moved
n=$(rounds_ok)
r0=$(sup_chan_field disk0.app requests)
deadline=$((SECONDS + 60))
while (($(sup_chan_field disk0.app requests) < r0 + 100)); do
	((SECONDS < deadline)) || t_fail "round $((n + 1)) did not move within 60 s: $(sup_chan_field disk0.app requests) requests, was $r0"
	sleep 0.05
done
t_log "ddvm restart drv during round $((n + 1))"
"$DDVM" restart drv || t_fail "ddvm restart drv failed"
sup_wait_log 'drv: ready after' 120 2
sup_wait_console app "MQ-ROUND $((n + 2)) " 180
rounds_ok >/dev/null
[ "$(sup_epoch disk0.app)" = 2 ] || t_fail "disk0.app at epoch $(sup_epoch disk0.app) after the restart, not 2"
both_queues_used
t_log "rounds 1-$((n + 2)) passed, round $((n + 1)) across the restart"
echo SUCCESS
