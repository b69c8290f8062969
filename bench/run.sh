#!/bin/bash
# Run benchmark parts and regenerate the report (make bench, make bench-PART).
#
#   bench/run.sh [net] [blk] [scale] [recovery]
#
# Each part is its own script (own VMs, pid files, network namespace, cleanup trap) run
# under `timeout`; its samples land in $BENCH_OUT/PART.jsonl and its output in
# $BENCH_OUT/PART.log. A part that fails or times out is reported as such and the others
# still run. Then bench/report.py writes $BENCH_OUT/results.json and docs/bench.md.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
export BENCH_OUT=${BENCH_OUT:-$BUILD/bench}
mkdir -p "$BENCH_OUT"
SECS=${BENCH_SECS:-3}

# part NAME -> "TIMEOUT COMMAND..."
part_cmd() {
	case $1 in
	net) echo "600 $ROOT/bench/net_throughput.sh $SECS e1000" ;;
	blk) echo "900 $ROOT/bench/blk_throughput.sh $SECS" ;;
	scale) echo "900 $ROOT/bench/scale.sh" ;;
	recovery) echo "600 $ROOT/bench/recovery.sh" ;;
	*) echo "bench/run.sh: unknown part $1" >&2; return 1 ;;
	esac
}

[ $# -gt 0 ] || set -- net blk scale recovery
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: needs root (tap devices, network namespaces, KSM)"; exit 4; }
BUILD=$BUILD "$ROOT/scripts/accel.sh" >/dev/null
source "$ROOT/tests/lib/common.sh"
source "$ROOT/bench/lib.sh"
bench_machine >"$BENCH_OUT/machine.json"
rc=0
for p in "$@"; do
	read -r secs cmd < <(part_cmd "$p") || exit 2
	t0=$SECONDS
	t_log "bench: $p (at most $secs s): $cmd"
	# shellcheck disable=SC2086
	timeout -k 10 "$secs" $cmd 2>&1 | tee "$BENCH_OUT/$p.log"
	prc=${PIPESTATUS[0]}
	echo "{\"part\": \"$p\", \"rc\": $prc, \"seconds\": $((SECONDS - t0))}" >"$BENCH_OUT/$p.status.json"
	t_log "bench: $p done, rc $prc, $((SECONDS - t0)) s"
	[ "$prc" = 0 ] || rc=1
done
python3 "$ROOT/bench/report.py" "$BENCH_OUT" "$ROOT/docs" || rc=1
exit $rc
