#!/bin/bash
# The channel fuzzer (tests/fuzz/fuzz_channel.c), a bounded run: a hostile peer's
# region and actions must not crash our side. Longer runs: make fuzz FUZZ_TIME=600.
# timeout: 120
source "$(dirname "$0")/../lib/common.sh"

FUZZER=$BUILD/fuzz/fuzz_channel
SEEDS=$DDVM_ROOT/tests/fuzz/corpus
SECS=${DDVM_FUZZ_SECS:-30}

if [ ! -x "$FUZZER" ]; then
	clang -fsanitize=fuzzer -x c /dev/null -o /dev/null 2>/dev/null ||
		t_skip "clang has no libFuzzer (install libclang-rt-dev)"
	t_fail "$FUZZER missing: run 'make fuzz-build'"
fi

mkdir -p "$T/corpus" "$T/artifacts"
# shellcheck disable=SC2012 # a count for the log; the seeds are ours
t_log "fuzzing for ${SECS}s from $(ls "$SEEDS" | wc -l) seeds"
rc=0
"$FUZZER" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$T/artifacts/" "$T/corpus" "$SEEDS" >"$T/log" 2>&1 || rc=$?
grep -E '^#[0-9]+ +DONE|^Done|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$T/log" || true
if [ $rc -ne 0 ] || ls "$T/artifacts"/* >/dev/null 2>&1; then
	grep -E 'invariant broken|ERROR|SUMMARY|runtime error' "$T/log" | head -20
	for a in "$T/artifacts"/*; do
		[ -f "$a" ] || continue
		mkdir -p "$BUILD/fuzz/artifacts"
		cp "$a" "$BUILD/fuzz/artifacts/"
		echo "reproducer kept: $BUILD/fuzz/artifacts/$(basename "$a")"
		echo "  run: $FUZZER $BUILD/fuzz/artifacts/$(basename "$a")"
	done
	t_fail "the fuzzer found a crash (rc=$rc)"
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/log")
[ "${runs:-0}" -gt 1000 ] || t_fail "the fuzzer ran only ${runs:-0} inputs"
t_log "clean: $runs inputs"
