#!/bin/bash
# Fault-injection campaign: boot a supervised driver VM (ddvm_blkback, ddvm_faultinj;
# nvme disk with cold restarts, virtio-blk-pci with CAMPAIGN_RESTART=snapshot) and a
# client VM running fio with verification in a loop, then inject N random faults into
# the driver VM, one at a time, and record each trial as a JSON line:
#
#   {"trial", "fault", "arg", "outcome", "detected_by", "detect_ms", "restore_ms",
#    "service_ms", "restart", "client_saw", "client_io_errors", "client_data_errors",
#    "client_fio_failed", "client_crash", "trial_ms"}
#
#   outcome      crash (a failure was detected: the driver VM was restarted),
#                hang (I/O stopped and nothing detected it within the window),
#                silent (not detected, but the client saw errors),
#                none (no effect the client or the supervisor could see),
#                refused (the injector refused the fault; nothing injected)
#   detected_by  pvpanic | qemu-exit | heartbeat | requests | channel-broken | -
#   detect_ms    injection -> failure detected (supervisor log)
#   restore_ms   failure detected -> both sides READY in the new epoch ("service restored")
#   service_ms   injection -> client requests complete again (request counter moves)
#   restart      snapshot | cold | snapshot-failed-cold | null (no restart)
#   client_saw   nothing | stall | io-errors | tcp-lost | verify-errors | crash: the worst the client
#                saw (stall = its requests stood still > 2 s and resumed without an error)
#   client_data_errors fio verify mismatches (blocks) seen during this trial
#   client_fio_failed  fio passes that ended in failure, seen during this trial
#   client_max_gap_ms  longest time the client's request counter stood still
#   trial_ms     wall time of the whole trial
#   detail       what ddvm_faultinj reported doing (which bits of which function or
#                structure, which ring words); "" for kill and stop
#   device       the device whose driver took the fault (disk0, or nic0 with
#                CAMPAIGN_NET=1); "" for faults of the whole VM (kill stop panic hang
#                softirq wqhang)
# With CAMPAIGN_NET=1 (root) the driver VM also owns an e1000 NIC on a bridge in a
# network namespace the campaign creates, the client keeps iperf3 TCP streams running
# to a peer there (30 s each, 50 Mbit/s), and driver-level faults go to the NIC's
# driver or the disk's at random; also recorded:
#   net_failed   iperf3 runs that ended in failure (a TCP connection lost) in the trial
#   net_moving   whether the client's net channel moved frames again after the trial
#
#   tests/campaign/campaign.sh N OUT.jsonl     (root not needed; KVM or TCG)
# Environment: CAMPAIGN_RESTART (cold | snapshot), CAMPAIGN_NET (0 | 1), CAMPAIGN_KINDS,
# CAMPAIGN_SEED, CAMPAIGN_WINDOW (s a fault has to show itself; default request
# timeout + 2 s), CAMPAIGN_SECS (stop starting trials after this long), CAMPAIGN_DRV_KEYS
# (more keys for the driver VM's section, one a line, e.g. "append = loglevel=7" for
# its kernel's messages on its console), REC_* (recover.sh).
# Trials are as short as correctness allows: a detected failure ends when the
# supervisor logs "service restored" and the client's requests move again; an
# undetected one after the window (longer than the slowest detector) and a check that
# requests move.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/../lib/recover.sh"

N=${1:-20}
OUT=${2:-$T/campaign.jsonl}
read -ra KINDS <<<"${CAMPAIGN_KINDS:-kill stop panic oops hang softirq wqhang codeflip datacorrupt garbage}"
RANDOM=${CAMPAIGN_SEED:-$$}
RESTART=${CAMPAIGN_RESTART:-cold}
# a fault has this long to show itself: the slowest detector is the request timeout
WINDOW_MS=$((${CAMPAIGN_WINDOW:-0} * 1000))
((WINDOW_MS > 0)) || WINDOW_MS=$((${REC_REQ_MS:-4000} + 2000))
SECS=${CAMPAIGN_SECS:-0}
EXTRA=""
if [ "$RESTART" = snapshot ]; then
	# QEMU 7.2's nvme cannot be migrated, hence not snapshotted
	REC_BLK_MODEL=${REC_BLK_MODEL:-virtio-blk-pci}
	EXTRA="restart = snapshot"
fi
[ -n "${CAMPAIGN_DRV_KEYS:-}" ] && EXTRA="$EXTRA
$CAMPAIGN_DRV_KEYS"
: >"$OUT"
NET=${CAMPAIGN_NET:-0}
if [ "$NET" = 1 ]; then
	t_need_root
	command -v iperf3 >/dev/null || t_skip "iperf3 not installed on the host"
	REC_NET=1
	rec_netns
fi

{
	# TCP streams beside the disk load: a stream a fault broke ends its run in failure
	[ "$NET" = 1 ] && cat <<EOF2
( n=0; while :; do n=\$((n + 1))
	iperf3 -c $REC_PEER -t 30 -b 50M -f m --connect-timeout 10000 >/tmp/iperf.txt 2>&1
	rc=\$?
	if [ \$rc = 0 ]; then echo "IPERF-PASS \$n ok"; else echo "IPERF-PASS \$n FAILED rc=\$rc"
		grep -i error /tmp/iperf.txt | head -n 2 | sed 's/^/IPERF-ERR /'; sleep 1; fi
done ) &
EOF2
	rec_fio_loop_script
} >"$T/work.sh"
rec_setup campaign "$T/work.sh" "$EXTRA"
rec_up campaign
[ "$RESTART" = snapshot ] && sup_wait_log 'drv: snapshot taken in' 120
sup_wait_console cli 'FIO-PASS 1 ok' 240
[ "$NET" = 1 ] && sup_wait_console cli 'CLIENT-NET-UP' 60
LOG=$DDVM_RUNDIR/ddvm.log
CLI=$DDVM_RUNDIR/cli.log
START=$SECONDS
t_log "campaign: $RESTART restarts, disk ${REC_BLK_MODEL:-nvme}$([ "$NET" = 1 ] && echo ", NIC e1000"), window ${WINDOW_MS} ms"

lines() { wc -l <"$1"; }
# the supervisor log / client console since this trial began
since() { tail -n +$((L0 + 1)) "$LOG"; }
csince() { tail -n +$((C0 + 1)) "$CLI"; }
# until the client's requests move again (or SECS pass): prints the ms it took
wait_progress() {
	local secs=$1 t0 base cur
	t0=$(now_ms)
	base=$(rec_requests disk0.cli)
	while (($(now_ms) - t0 < secs * 1000)); do
		# the counter restarts from 0 with each epoch: any change is progress
		# but 0 is a channel not yet attached again after a restart, not progress
		cur=$(rec_requests disk0.cli)
		[ "$cur" != "$base" ] && [ "${cur:-0}" != 0 ] && { echo $(($(now_ms) - t0)); return 0; }
		sleep 0.05
	done
	echo -1
	return 1
}

crashes=0
ran=0
for ((i = 1; i <= N; i++)); do
	if ((SECS > 0 && SECONDS - START >= SECS)); then
		t_log "campaign: CAMPAIGN_SECS=$SECS reached after $ran trials"
		break
	fi
	kind=${KINDS[RANDOM % ${#KINDS[@]}]}
	arg=""
	case $kind in
	codeflip) arg=8 ;; datacorrupt) arg=8 ;; garbage) arg=16 ;;
	esac
	# a driver-level fault goes to the disk's driver or, with a NIC, to either one
	dev=""
	case $kind in
	oops | codeflip | datacorrupt | garbage)
		dev=disk0
		[ "$NET" = 1 ] && ((RANDOM % 2)) && dev=nic0 ;;
	esac
	# a quiet start: the driver VM running (not mid-restart) and the client's I/O moving,
	# and still running after that wait (a late effect of the previous fault can restart
	# it meanwhile; the injector would then refuse: "drv is booting")
	deadline=$((SECONDS + 180))
	until [ "$(sup_vm_field drv 3)" = running ] && wait_progress 30 >/dev/null &&
		[ "$(sup_vm_field drv 3)" = running ]; do
		((SECONDS < deadline)) || t_fail "trial $i: no quiet start within 180 s"
	done
	L0=$(lines "$LOG")
	C0=$(lines "$CLI")
	D0=$(lines "$DDVM_RUNDIR/drv.log")
	# the NIC's tx / rx frame counters at the injection (only with a NIC)
	[ "$NET" = 1 ] && read -r q0 r0 <<<"$(rec_counters nic0.cli)"
	t0=$(now_ms)
	if ! "$DDVM" inject drv "$kind" ${dev:--} $arg >"$T/inject.out" 2>&1; then
		t_log "trial $i: inject $kind $arg refused: $(cat "$T/inject.out")"
		printf '{"trial":%d,"fault":"%s","arg":"%s","outcome":"refused","detected_by":"-","detect_ms":null,"restore_ms":null,"service_ms":null,"restart":null,"client_saw":"nothing","client_io_errors":0,"client_data_errors":0,"client_fio_failed":0,"client_crash":false,"trial_ms":%d}\n' \
			"$i" "$kind" "$arg" $(($(now_ms) - t0)) | tee -a "$OUT"
		ran=$((ran + 1))
		continue
	fi
	# detected within the window?
	# and the client's requests: when they first moved, the longest gap between moves
	detected=0 first=null gap=0 last=$t0 base=$(rec_requests disk0.cli)
	while (($(now_ms) - t0 < WINDOW_MS)); do
		since | grep -aq 'drv: FAILED' && { detected=1; break; }
		cur=$(rec_requests disk0.cli) tn=$(now_ms)
		if [ "$cur" != "$base" ] && [ "${cur:-0}" != 0 ]; then
			[ "$first" = null ] && first=$((tn - t0))
			((tn - last > gap)) && gap=$((tn - last))
			base=$cur last=$tn
		fi
		sleep 0.05
	done
	((detected)) || { (($(now_ms) - last > gap)) && gap=$(($(now_ms) - last)); }
	outcome=none by=- detect_ms=null restore_ms=null service_ms=null restart=null
	# the injector inside the guest may refuse (e.g. no such device): nothing was injected
	if tail -n +$((D0 + 1)) "$DDVM_RUNDIR/drv.log" | grep -aq "DDVM-FAULTINJ done $kind err=-"; then
		t_log "trial $i: $kind refused in the driver VM: $(tail -n +$((D0 + 1)) "$DDVM_RUNDIR/drv.log" | grep -a "DDVM-FAULTINJ done" | head -n1)"
		outcome=refused
	fi
	if ((detected)); then
		line=$(since | grep -a 'drv: FAILED' | head -n1)
		case $line in
		*pvpanic*) by=pvpanic ;; *heartbeat*) by=heartbeat ;; *untouched* | *"taken but not answered"*) by=requests ;;
		*"protocol violation"* | *"reports it broken"*) by=channel-broken ;;
		*QEMU*) by=qemu-exit ;; *) by=other ;;
		esac
		detect_ms=$(echo "$line" | sed -n 's/.*detected \([0-9]*\) ms after injecting.*/\1/p')
		[ -n "$detect_ms" ] || detect_ms=null
		deadline=$((SECONDS + 120))
		until since | grep -aq 'drv: service restored' || ((SECONDS >= deadline)); do sleep 0.05; done
		restore_ms=$(since | grep -a 'drv: service restored' | head -n1 | sed -n 's/.*restored \([0-9]*\) ms.*/\1/p')
		[ -n "$restore_ms" ] || restore_ms=null
		if since | grep -aq 'drv: restore from snapshot failed'; then restart='"snapshot-failed-cold"'
		elif since | grep -aq 'drv: restoring from snapshot'; then restart='"snapshot"'
		else restart='"cold"'; fi
		outcome=crash
	fi
	if [ "$outcome" = none ] && [ "$first" != null ] && ((gap < WINDOW_MS / 2)); then
		service_ms=$first # the requests kept moving
	elif wait_progress 90 >/dev/null; then
		service_ms=$(($(now_ms) - t0))
		((service_ms > gap)) && gap=$service_ms
	else
		outcome=hang
	fi
	netmoving=null
	if [ "$NET" = 1 ]; then
		# frames move again both ways (a TCP sender with no ACKs coming back still
		# retransmits): both counters changed (they restart from 0 with each epoch)
		netmoving=false
		for _ in $(seq 100); do
			read -r q1 r1 <<<"$(rec_counters nic0.cli)"
			[ "${q1:-0}" != "${q0:-0}" ] && [ "${r1:-0}" != "${r0:-0}" ] &&
				[ "${q1:-0}" != 0 ] && [ "${r1:-0}" != 0 ] && { netmoving=true; break; }
			sleep 0.1
		done
		# frames standing still with nothing detected: an undetected hang of the NIC path
		[ $netmoving = false ] && [ "$outcome" = none ] && outcome=hang
	fi
	corrupt=0
	[[ $kind == codeflip || $kind == datacorrupt || $kind == garbage ]] && corrupt=1
	if [ "$outcome" = hang ] || { [ "$outcome" = none ] && ((corrupt)); }; then
		# latent damage must not leak into the next trial: a clean driver VM
		"$DDVM" restart drv >/dev/null 2>&1 || t_fail "trial $i: ddvm restart drv failed"
	fi
	if ((corrupt)) && [ "$outcome" != refused ]; then
		# A corrupted driver may have written wrong data (or none) and said "done": the
		# fio pass running now reads it back. Let that pass end within this trial, so
		# its verdict is charged to this fault and not to the next one.
		c1=$(lines "$CLI")
		deadline=$((SECONDS + 60))
		until tail -n +$((c1 + 1)) "$CLI" | grep -aq 'FIO-PASS' || ((SECONDS >= deadline)); do
			sleep 0.1
		done
	fi
	ioerr=$(csince | grep -Eac 'I/O error|io_u error' || true)
	# fio reports a mismatch on stderr (the console), one line per bad block: "verify:
	# bad magic header ...", "verify: bad header offset ...", "crc32c: verify failed ..."
	verr=$(csince | grep -Eac 'verify: bad|verify failed|FIO-ERR .*verify' || true)
	fiofail=$(csince | grep -Eac 'FIO-PASS [0-9]+ FAILED' || true)
	netfail=$(csince | grep -Eac 'IPERF-PASS [0-9]+ FAILED' || true)
	[ "$outcome" = none ] && ((ioerr + verr + fiofail + netfail > 0)) && outcome=silent
	[ "$outcome" = refused ] && service_ms=null
	ccrash=false
	if [ "$(rec_restarts cli)" != 0 ] || csince | grep -aqE 'Kernel panic|BUG:|Oops'; then
		ccrash=true
		crashes=$((crashes + 1))
	fi
	saw=nothing
	((gap > 2000)) && saw=stall
	[ "$outcome" = hang ] && saw=stall
	((ioerr > 0)) && saw=io-errors
	((netfail > 0)) && [ $saw != io-errors ] && saw=tcp-lost
	((verr > 0)) && saw=verify-errors
	[ $ccrash = true ] && saw=crash
	detail=$(tail -n +$((D0 + 1)) "$DDVM_RUNDIR/drv.log" | tr -d '\r' |
		sed -n 's/.*DDVM-FAULTINJ kind=//p' | paste -sd ';' | jq -Rc .)
	printf '{"trial":%d,"fault":"%s","arg":"%s","outcome":"%s","detected_by":"%s","detect_ms":%s,"restore_ms":%s,"service_ms":%s,"restart":%s,"client_saw":"%s","client_io_errors":%d,"client_data_errors":%d,"client_fio_failed":%d,"client_crash":%s,"client_max_gap_ms":%d,"trial_ms":%d,"detail":%s,"device":"%s","net_failed":%d,"net_moving":%s}\n' \
		"$i" "$kind" "$arg" "$outcome" "$by" "$detect_ms" "$restore_ms" "$service_ms" "$restart" \
		"$saw" "$ioerr" "$verr" "$fiofail" "$ccrash" "$gap" $(($(now_ms) - t0)) "${detail:-\"\"}" \
		"$dev" "$netfail" "$netmoving" | tee -a "$OUT"
	ran=$((ran + 1))
	if ((ran % 20 == 0)); then
		t_log "campaign: $ran trials in $((SECONDS - START)) s ($(awk -v n=$ran -v s=$((SECONDS - START)) 'BEGIN { printf "%.1f", n * 60 / s }') trials/min)"
	fi
done
# the faults of the last trials have not been verified yet: let the running fio pass end
C0=$(lines "$CLI")
deadline=$((SECONDS + 180))
until csince | grep -aq 'FIO-PASS' || ((SECONDS >= deadline)); do sleep 0.2; done
tailfail=$(csince | grep -Eac 'FIO-PASS [0-9]+ FAILED|FIO-ERR|verify: bad|verify failed' || true)
t_log "campaign: final fio pass: $(csince | grep -a 'FIO-PASS' | tail -n1) ($tailfail failure lines)"
t_log "campaign: $ran trials in $((SECONDS - START)) s in $OUT"
echo SUCCESS
