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
#   tests/run.sh [-v] [-j N] [PATTERN...]   run only tests whose name contains a PATTERN
#
# Script tests run JOBS at a time (-j N, or DDVM_TEST_JOBS; default 2): most of a VM
# test's time is spent waiting for a guest or a deadline, so two overlap well on 2
# cores. Longest first (by declared timeout), so the slow ones do not end the run
# alone. A test that must run alone declares "# exclusive" (it then runs after the
# others, by itself). Each test has its own TMPDIR, network namespace and run dir.
#
# Output: one line per test as it ends, then "N passed, N failed, N skipped" (skips
# listed with their reasons), and the wall time. Logs of every test are kept in
# build/test-logs/.
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
export DDVM_ROOT=$ROOT
export BUILD=${BUILD:-$ROOT/build}
LOGS=$BUILD/test-logs
mkdir -p "$LOGS"

verbose=0
njobs=${DDVM_TEST_JOBS:-2}
while [ $# -gt 0 ]; do
	case $1 in
	-v) verbose=1 ;;
	-j) njobs=${2:-}; [ $# -ge 2 ] && shift ;;
	-j*) njobs=${1#-j} ;;
	*) break ;;
	esac
	shift
done
[[ "$njobs" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: -j wants a positive number, not '$njobs'" >&2; exit 2; }
patterns=("$@")
run_start=$(date +%s)

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

# sweep DIR — a test killed by its timeout (SIGTERM runs its EXIT trap; SIGKILL 60 s
# later, as a `ddvm down` of several VMs under load can take tens of seconds) may not
# have finished its cleanup: stop what its pid files under DIR (its TMPDIR) still name.
# Only a process whose command line mentions DIR is ours (a pid may have been reused).
# Fails if there was anything.
sweep() {
	local dir=$1 pf pid left=0
	while IFS= read -r -d '' pf; do
		pid=$(head -c 16 "$pf" 2>/dev/null | tr -cd 0-9)
		if [ -z "$pid" ] || [ ! -r "/proc/$pid/cmdline" ]; then continue; fi
		tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir" || continue
		echo "run.sh: $pf: pid $pid still running: killed"
		kill -KILL "$pid" 2>/dev/null
		left=1
	done < <(find "$dir" -name '*.pid' -print0 2>/dev/null)
	return $left
}

# exec_script TEST RESULT — run one script test; write "rc secs" to RESULT.
exec_script() {
	local t=$1 result=$2 name log rc limit start secs tmp
	name=$(name_of "$t")
	log=$LOGS/${name//\//_}.log
	limit=$(limit_of "$t")
	start=$(date +%s)
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/ddvm-run.XXXXXX")
	rm -rf "${log%.log}.d" # what a failed run kept (tests/lib/common.sh t_on_failure)
	DDVM_TEST_ARTIFACTS=${log%.log}.d TMPDIR=$tmp \
		timeout --kill-after=60 "$limit" bash "$t" >"$log" 2>&1 </dev/null
	rc=$?
	secs=$(($(date +%s) - start))
	if ! sweep "$tmp" >>"$log"; then
		[ $rc = 0 ] && rc=3
		echo "run.sh: the test left processes running (see the end of $log)" >>"$log"
	fi
	rm -rf "$tmp"
	echo "$rc $secs" >"$result.tmp" && mv "$result.tmp" "$result"
}

name_of() { # a test script's path -> its name in the output and logs (vm/test_net_mtu)
	local n=${1#tests/}
	echo "${n%.sh}"
}

limit_of() {
	local limit
	limit=$(sed -n 's/^# timeout: *\([0-9][0-9]*\).*/\1/p' "$1" | head -n1)
	echo "${limit:-300}"
}

# report_script TEST RC SECS — count and print one finished script test.
report_script() {
	local t=$1 rc=$2 secs=$3 name log limit
	name=$(name_of "$t")
	log=$LOGS/${name//\//_}.log
	limit=$(limit_of "$t")
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
		[ "$rc" = 124 ] && rc="124 (timed out after ${limit}s)"
		failed+=("$name (rc=$rc, see $log)")
		printf 'FAIL  %-40s %3ds rc=%s\n' "$name" "$secs" "$rc"
		tail -n 15 "$log" | sed 's/^/        /'
		;;
	esac
	[ $verbose = 1 ] && [ "$rc" = 0 ] && tail -n 5 "$log" | sed 's/^/        /'
	return 0
}

for bin in "$BUILD"/tests/unit/*; do
	if [ ! -x "$bin" ] || [ ! -f "$bin" ]; then continue; fi
	selected "unit/$(basename "$bin")" && run_unit "$bin"
done
# Script tests: the pool. RESULTS holds one file per started test; a test is reported
# once its file exists (written last by exec_script).
RESULTS=$(mktemp -d "${TMPDIR:-/tmp}/ddvm-results.XXXXXX")
trap 'rm -rf "$RESULTS"' EXIT
pooled=() alone=()
while read -r _ t; do
	selected "$t" || continue
	if grep -q '^# exclusive' "$t"; then alone+=("$t"); else pooled+=("$t"); fi
done < <(for t in tests/*/test_*.sh; do
	[ -f "$t" ] && echo "$(limit_of "$t") $t"
done | sort -k1,1nr -k2,2)

started=()
collect() { # report every finished test not yet reported, in start order
	local i r
	for ((i = 0; i < ${#started[@]}; i++)); do
		r=$RESULTS/$i
		if [ ! -f "$r" ] || [ -f "$r.done" ]; then continue; fi
		read -r rc secs <"$r"
		report_script "${started[i]}" "$rc" "$secs"
		touch "$r.done"
	done
}
start_test() { # TEST
	exec_script "$1" "$RESULTS/${#started[@]}" &
	started+=("$1")
}
for t in "${pooled[@]}"; do
	while (($(jobs -rp | wc -l) >= njobs)); do
		wait -n
		collect
	done
	start_test "$t"
done
wait
collect
for t in "${alone[@]}"; do
	start_test "$t"
	wait
	collect
done

echo
echo "script tests: $njobs at a time; wall time $(($(date +%s) - run_start)) s"
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
