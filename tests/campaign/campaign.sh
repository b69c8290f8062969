#!/bin/bash
# Fault-injection campaign: boot a supervised driver VM (nvme, ddvm_blkback,
# ddvm_faultinj) and a client VM running fio with verification in a loop, then inject
# N random faults into the driver VM, one at a time, and record each trial as a JSON
# line:
#
#   {"trial", "fault", "arg", "outcome", "detected_by", "detect_ms", "restore_ms",
#    "service_ms", "client_stall_ms", "client_io_errors", "client_data_errors",
#    "client_crash"}
#
#   outcome      crash (a failure was detected: the driver VM was restarted),
#                hang (I/O stopped and nothing detected it within the window),
#                silent (not detected, but the client saw errors),
#                none (no effect the client or the supervisor could see)
#   detected_by  pvpanic | qemu-exit | heartbeat | requests | channel-broken | -
#   detect_ms    injection -> failure detected (supervisor log)
#   restore_ms   failure detected -> both sides READY in the new epoch
#   service_ms   injection -> client requests complete again
#
#   tests/campaign/campaign.sh N OUT.jsonl     (root not needed; KVM or TCG)
# Environment: CAMPAIGN_KINDS (space separated), CAMPAIGN_SEED, REC_* (recover.sh).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/../lib/recover.sh"

N=${1:-20}
OUT=${2:-$T/campaign.jsonl}
KINDS=(${CAMPAIGN_KINDS:-kill stop panic oops hang softirq wqhang codeflip datacorrupt garbage})
RANDOM=${CAMPAIGN_SEED:-$$}
WINDOW=${CAMPAIGN_WINDOW:-8} # seconds a fault has to show itself
: >"$OUT"

cat >"$T/work.sh" <<'EOF'
pass=0
while :; do
	pass=$((pass + 1))
	fio --eta=never --name=v --filename=/dev/ddvmblk0 --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --size=8M --iodepth=16 --verify=crc32c --do_verify=1 \
		--verify_fatal=1 --randrepeat=0 --output=/tmp/fio.txt
	rc=$?
	if [ $rc = 0 ] && grep -q 'err= 0' /tmp/fio.txt; then echo "FIO-PASS $pass ok"; else
		echo "FIO-PASS $pass FAILED rc=$rc"
		grep -E 'verify|io_u error' /tmp/fio.txt | sed 's/^/FIO-ERR /' | head -n 5
	fi
done
EOF
rec_setup campaign "$T/work.sh"
rec_up campaign
sup_wait_console cli 'FIO-PASS 1 ok' 240
LOG=$DDVM_RUNDIR/ddvm.log
CLI=$DDVM_RUNDIR/cli.log

now_ms() { echo $(($(date +%s%N) / 1000000)); }
count() { grep -Eac -- "$1" "$2" 2>/dev/null || true; }
# until the client's requests move again (or SECS pass): prints the ms it took
wait_progress() {
	local secs=$1 t0 base
	t0=$(now_ms)
	base=$(rec_requests disk0.cli)
	while (($(now_ms) - t0 < secs * 1000)); do
		# the counter restarts from 0 with each epoch: any change is progress
		[ "$(rec_requests disk0.cli)" != "$base" ] && { echo $(($(now_ms) - t0)); return 0; }
		sleep 0.05
	done
	echo -1
	return 1
}

crashes=0
for ((i = 1; i <= N; i++)); do
	kind=${KINDS[RANDOM % ${#KINDS[@]}]}
	arg=""
	case $kind in codeflip) arg=8 ;; datacorrupt) arg=8 ;; garbage) arg=16 ;; esac
	# a quiet start: the driver VM running (not mid-restart) and the client's I/O moving
	deadline=$((SECONDS + 180))
	until [ "$(sup_vm_field drv 3)" = running ] && wait_progress 30 >/dev/null; do
		((SECONDS < deadline)) || t_fail "trial $i: no quiet start within 180 s"
	done
	fails0=$(count 'drv: FAILED' "$LOG")
	rest0=$(count 'drv: service restored' "$LOG")
	ioerr0=$(count 'I/O error|io_u error' "$CLI")
	verr0=$(count 'FIO-ERR .*verify' "$CLI")
	t0=$(now_ms)
	"$DDVM" inject drv "$kind" ${arg:+- $arg} >/dev/null || t_fail "trial $i: inject $kind refused"
	# detected within the window?
	detected=0
	while (($(now_ms) - t0 < WINDOW * 1000)); do
		(($(count 'drv: FAILED' "$LOG") > fails0)) && { detected=1; break; }
		sleep 0.05
	done
	outcome=none by=- detect_ms=null restore_ms=null service_ms=null
	if ((detected)); then
		line=$(grep -a 'drv: FAILED' "$LOG" | tail -n1)
		case $line in
		*pvpanic*) by=pvpanic ;; *heartbeat*) by=heartbeat ;; *untouched*) by=requests ;;
		*"protocol violation"* | *"reports it broken"*) by=channel-broken ;;
		*QEMU*) by=qemu-exit ;; *) by=other ;;
		esac
		detect_ms=$(echo "$line" | sed -n 's/.*detected \([0-9]*\) ms after injecting.*/\1/p')
		[ -n "$detect_ms" ] || detect_ms=null
		deadline=$((SECONDS + 120))
		while (($(count 'drv: service restored' "$LOG") <= rest0)) && ((SECONDS < deadline)); do sleep 0.05; done
		restore_ms=$(grep -a 'drv: service restored' "$LOG" | tail -n1 | sed -n 's/.*restored \([0-9]*\) ms.*/\1/p')
		[ -n "$restore_ms" ] || restore_ms=null
		outcome=crash
	fi
	if p=$(wait_progress 90); then
		service_ms=$(($(now_ms) - t0))
	else
		outcome=hang
	fi
	ioerr=$(($(count 'I/O error|io_u error' "$CLI") - ioerr0))
	verr=$(($(count 'FIO-ERR .*verify' "$CLI") - verr0))
	[ "$outcome" = none ] && ((ioerr + verr > 0)) && outcome=silent
	ccrash=false
	if [ "$(rec_restarts cli)" != 0 ] || grep -aqE 'Kernel panic|BUG:|Oops' "$CLI"; then
		ccrash=true
		crashes=$((crashes + 1))
	fi
	printf '{"trial":%d,"fault":"%s","arg":"%s","outcome":"%s","detected_by":"%s","detect_ms":%s,"restore_ms":%s,"service_ms":%s,"client_io_errors":%d,"client_data_errors":%d,"client_crash":%s}\n' \
		"$i" "$kind" "$arg" "$outcome" "$by" "$detect_ms" "$restore_ms" "$service_ms" \
		"$ioerr" "$verr" "$ccrash" | tee -a "$OUT"
	if [ "$outcome" = hang ] || { [ "$outcome" != crash ] && [[ $kind == codeflip || $kind == datacorrupt || $kind == garbage ]]; }; then
		# latent damage must not leak into the next trial: a clean driver VM
		"$DDVM" restart drv >/dev/null 2>&1 || t_fail "trial $i: ddvm restart drv failed"
	fi
done
t_log "campaign: $N trials in $OUT"
echo SUCCESS
