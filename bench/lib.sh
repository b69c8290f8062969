# shellcheck shell=bash
# Helpers shared by the bench/*.sh scripts (sourced after tests/lib/common.sh).
#
# Every measurement is one JSON line appended to $BENCH_SAMPLES:
#   {"part": "net", "metric": "tx_mbps", "setup": "reuse", "run": 1, "value": 981.0}
# bench/report.py turns the lines of every part into build/bench/results.json (median,
# min, max, ratio reuse/native) and docs/bench.md with its plots.

BENCH_OUT=${BENCH_OUT:-$BUILD/bench}
mkdir -p "$BENCH_OUT"

# bench_part NAME — samples of this part go to $BENCH_OUT/NAME.jsonl (started afresh)
bench_part() {
	BENCH_PART=$1
	BENCH_SAMPLES=$BENCH_OUT/$1.jsonl
	: >"$BENCH_SAMPLES"
}

# bench_sample METRIC SETUP RUN VALUE — record one measurement
bench_sample() {
	[ -n "$4" ] || { t_log "bench: no value for $1/$2 run $3"; return 0; }
	printf '{"part": "%s", "metric": "%s", "setup": "%s", "run": %s, "value": %s}\n' \
		"$BENCH_PART" "$1" "$2" "$3" "$4" >>"$BENCH_SAMPLES"
}

# bench_note KEY TEXT — a free-form fact about this part's run (kept in results.json)
bench_note() {
	printf '{"part": "%s", "note": "%s", "text": "%s"}\n' "$BENCH_PART" "$1" "${2//\"/\'}" >>"$BENCH_SAMPLES"
}

# bench_vm_cmd VM SECONDS COMMAND — run COMMAND in VM, print its output, return its
# status: a hand-built VM through its agent (net_vm_start: socket $T/VM.cmd), a VM that
# `ddvm up` started typed into its console (sup_console_cmd), as a user would
bench_vm_cmd() {
	if [ -S "$T/$1.cmd" ]; then
		vm_cmd "$1" "$2" "$3"
	else
		sup_console_cmd "$1" "$2" "$3"
	fi
}

# cpu_ticks PIDFILE... — user+system clock ticks of the processes (all their threads)
cpu_ticks() {
	local pf ticks=0 t pid
	for pf in "$@"; do
		pid=$(cat "$pf")
		t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
		ticks=$((ticks + t))
	done
	echo "$ticks"
}
CLK_TCK=$(getconf CLK_TCK)

# ticks_to_secs T0 T1 -> seconds
ticks_to_secs() { echo "$1 $2 $CLK_TCK" | awk '{printf "%.3f", ($2 - $1) / $3}'; }

# pss_kib PID — proportional set size of a process (KiB)
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# bench_machine — the machine this was measured on, as a JSON object
bench_machine() {
	local kver qver cpu
	cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
	qver=$(qemu-system-x86_64 --version | head -n1)
	kver=$(cat "$BUILD/kernel/release" 2>/dev/null || echo unknown)
	printf '{"date": "%s", "host": "%s", "cpu": "%s", "cores": %d, "mem_mib": %d, "accel": "%s", "qemu": "%s", "guest_kernel": "%s", "host_kernel": "%s", "loadavg_start": "%s"}\n' \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(hostname)" "$cpu" "$(nproc)" \
		"$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024))" "$(ddvm_accel)" "$qver" "$kver" \
		"$(uname -r)" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# Where host CPU goes (perf is there, but this host exposes no hardware counters: `perf
# stat -e instructions` says "not supported"; cpu-clock sampling works).
# perf_start NAME SECS PIDFILE... — sample the processes' threads for SECS in the
#   background; perf_finish NAME — wait, then $BENCH_OUT/perf-NAME.txt (by thread and
#   DSO: "[JIT]" is TCG-generated guest code, qemu-system-x86_64 is TCG's helpers,
#   translator and device emulation, [kernel] the host kernel on QEMU's behalf) and a
#   note with the top entries.
perf_start() {
	local name=$1 secs=$2 pids
	shift 2
	command -v perf >/dev/null || return 0
	pids=$(for pf in "$@"; do cat "$pf"; done | paste -sd,)
	for pf in "$@"; do echo "$(cat "$pf") $(basename "$pf" .pid)"; done >"$T/perf-$name.map"
	perf record -q -F 499 -e cpu-clock -p "$pids" -o "$T/perf-$name.data" -- sleep "$secs" >/dev/null 2>&1 &
	echo $! >"$T/perf-$name.pid"
	t_on_exit "t_kill_pidfile '$T/perf-$name.pid'"
}
perf_finish() {
	local name=$1 pid top
	[ -f "$T/perf-$name.pid" ] || return 0
	pid=$(cat "$T/perf-$name.pid")
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	local sedmap
	# "[JIT] tid PID" -> "[JIT] guest code of VM" (QEMU's threads are all named alike)
	sedmap=$(awk '{printf "s/\\[JIT\\] tid %s/[JIT] guest code of %s/;", $1, $2}' "$T/perf-$name.map")
	perf report -i "$T/perf-$name.data" --stdio --sort dso 2>/dev/null |
		grep -v '^#' | sed '/^$/d' | sed "$sedmap" | head -n 15 >"$BENCH_OUT/perf-$name.txt"
	top=$(head -n 6 "$BENCH_OUT/perf-$name.txt" | awk '{$1 = $1; print}' | paste -sd';' | sed 's/;/; /g')
	bench_note "perf_$name" "$top"
}
