#!/bin/bash
# ddvm test runner (`make check` calls it after building).
#
# Runs, in this order:
#   build/tests/unit/*     cmocka binaries; each case counts (TAP output is parsed)
#   tests/*/test_*.sh      script tests (vm/, fuzz/, ...); one count each
# Script protocol (kselftest-like): exit 0 = pass, 4 = skip (last line of output says
# why), anything else = fail. Each test runs under `timeout`; a script may declare its
# own limit with a line "# timeout: SECONDS" (default 300).
#
#   tests/run.sh [-v] [PATTERN...]   run only tests whose name contains a PATTERN
#
# Output: one line per test, then "N passed, N failed, N skipped" (skips listed with
# their reasons). Logs of every test are kept in build/test-logs/.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
export DDVM_ROOT=$ROOT
export BUILD=${BUILD:-$ROOT/build}
LOGS=$BUILD/test-logs
mkdir -p "$LOGS"

verbose=0
[ "${1:-}" = "-v" ] && { verbose=1; shift; }
patterns=("$@")

pass=0 fail=0 skip=0
failed=() skipped=()

selected() {
	[ ${#patterns[@]} -eq 0 ] && return 0
	local p
	for p in "${patterns[@]}"; do
		[[ "$1" == *"$p"* ]] && return 0
	done
	return 1
}

run_unit() {
	local bin=$1 name log rc
	name=unit/$(basename "$bin")
	log=$LOGS/${name//\//_}.log
	CMOCKA_MESSAGE_OUTPUT=TAP timeout 600 "$bin" >"$log" 2>&1
	rc=$?
	local ok notok
	ok=$(grep -c '^ok ' "$log")
	notok=$(grep -c '^not ok ' "$log")
	pass=$((pass + ok))
	fail=$((fail + notok))
	if [ "$notok" -gt 0 ] || [ "$rc" -ne 0 ] || [ "$ok" -eq 0 ]; then
		if [ "$notok" -eq 0 ]; then
			fail=$((fail + 1)) # crashed, timed out or ran nothing
		fi
		failed+=("$name (rc=$rc, see $log)")
		printf 'FAIL  %-40s %d ok, %d not ok, rc=%d\n' "$name" "$ok" "$notok" "$rc"
		grep '^not ok ' "$log" | sed 's/^/        /'
		[ $verbose = 1 ] && tail -n 30 "$log"
	else
		printf 'PASS  %-40s %d cases\n' "$name" "$ok"
	fi
}

# sweep DIR — a test killed by its timeout may not have finished its cleanup: stop what
# its pid files under DIR (its TMPDIR) still name. Only a process whose command line
# mentions DIR is ours (a pid may have been reused). Fails if there was anything.
sweep() {
	local dir=$1 pf pid left=0
	while IFS= read -r -d '' pf; do
		pid=$(head -c 16 "$pf" 2>/dev/null | tr -cd 0-9)
		[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || continue
		tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir" || continue
		echo "run.sh: $pf: pid $pid still running: killed"
		kill -KILL "$pid" 2>/dev/null
		left=1
	done < <(find "$dir" -name '*.pid' -print0 2>/dev/null)
	return $left
}

run_script() {
	local t=$1 name log rc limit start secs tmp
	name=${t#tests/}
	name=${name%.sh}
	log=$LOGS/${name//\//_}.log
	limit=$(sed -n 's/^# timeout: *\([0-9][0-9]*\).*/\1/p' "$t" | head -n1)
	limit=${limit:-300}
	start=$(date +%s)
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/ddvm-run.XXXXXX")
	TMPDIR=$tmp timeout --kill-after=10 "$limit" bash "$t" >"$log" 2>&1 </dev/null
	rc=$?
	secs=$(($(date +%s) - start))
	if ! sweep "$tmp" >>"$log"; then
		[ $rc = 0 ] && rc=3
		echo "run.sh: the test left processes running (see the end of $log)" >>"$log"
	fi
	rm -rf "$tmp"
	case $rc in
	0)
		pass=$((pass + 1))
		printf 'PASS  %-40s %3ds\n' "$name" "$secs"
		;;
	4)
		skip=$((skip + 1))
		local why
		why=$(tail -n1 "$log")
		skipped+=("$name: $why")
		printf 'SKIP  %-40s %s\n' "$name" "$why"
		;;
	*)
		fail=$((fail + 1))
		[ $rc = 124 ] && rc="124 (timed out after ${limit}s)"
		failed+=("$name (rc=$rc, see $log)")
		printf 'FAIL  %-40s %3ds rc=%s\n' "$name" "$secs" "$rc"
		tail -n 15 "$log" | sed 's/^/        /'
		;;
	esac
	[ $verbose = 1 ] && [ $rc = 0 ] && tail -n 5 "$log" | sed 's/^/        /'
}

for bin in "$BUILD"/tests/unit/*; do
	[ -x "$bin" ] && [ -f "$bin" ] || continue
	selected "unit/$(basename "$bin")" && run_unit "$bin"
done
for t in tests/*/test_*.sh; do
	[ -f "$t" ] || continue
	selected "$t" && run_script "$t"
done

echo
if [ ${#skipped[@]} -gt 0 ]; then
	echo "skipped:"
	printf '  %s\n' "${skipped[@]}"
fi
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failed[@]}"
fi
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
