# shellcheck shell=bash
# Helpers for the supervisor's VM tests (sourced after tests/lib/common.sh).
#
# sup_config NAME <<EOF ... EOF   write $T/NAME.ini ([ddvm] with kernel/images prepended)
# sup_example NAME EXAMPLE [-e SED]...   write $T/NAME.ini from the EXAMPLE.ini of examples/, as a
#                                 user would copy it: this run's kernel/images (sup_config)
#                                 instead of the example's, then the caller's sed edits
# sup_up CONFIG [NETNS]           `ddvm up -d` (in network namespace NETNS: the taps it creates
#                                 go there); the supervisor is torn down at exit
# sup_wait_log REGEX SECONDS [N]  wait for the Nth matching supervisor log line (an event, not a sleep)
# sup_wait_gone SECONDS           after `ddvm down`: until no supervisor answers (status exits 4),
#                                 i.e. every QEMU has exited and its images are closed
# sup_vm_field VM FIELD           a field of VM in `ddvm status --json` (state, restarts, pid,
#                                 last_failure, ...; "-" for null). The old column numbers
#                                 of the table still work: 3 = state, 5 = restarts, 6 = pid
# sup_chan_field CHANNEL FIELD    a field of CHANNEL (epoch, backend_state, requests, ...)
# sup_epoch CHANNEL               a channel's epoch
# sup_wait_vm VM FIELD VALUE SECONDS [FILE]   until VM's FIELD is VALUE; fails with what it
#                                 was, the supervisor's status and FILE's tail (e.g. up's output)
# sup_wait_chan CHANNEL FIELD VALUE SECONDS [FILE]   the same for a channel's FIELD
# sup_hostile_writer CHANNEL ARGS...   tests/vm/hostile_writer.py on CHANNEL's host socket
#                                 (a client gone hostile), until its first kind runs; log
#                                 $DDVM_RUNDIR/hostile_writer.log, pid $T/writer.pid
# sup_console_cmd VM SECONDS CMD  type CMD into VM's console shell (`ddvm console`, as a
#                                 user would); prints its output, returns its exit status
# sup_blkcheck CHANNEL SEED       a host client's I/O through blk CHANNEL: ddvm-blkcheck writes
#                                 1 MiB of pattern SEED at 0 and reads it back (90 s at most);
#                                 its output indented and in $T/check-CHANNEL.log; its status

DDVM=$BUILD/bin/ddvm
# shellcheck disable=SC2034 # used by the scripts that source this
SUP_PEER=$BUILD/tests/bin/supervisor_peer
export DDVM_RUNDIR=$T/run

sup_config() {
	local name=$1
	t_need_file "$DDVM"
	t_need_file "$DDVM_KERNEL"
	t_need_file "$DDVM_DRIVER_INITRD"
	t_need_file "$DDVM_CLIENT_INITRD"
	{
		printf '[ddvm]\nkernel = %s\ndriver_initrd = %s\nclient_initrd = %s\n\n' \
			"$DDVM_KERNEL" "$DDVM_DRIVER_INITRD" "$DDVM_CLIENT_INITRD"
		cat
	} >"$T/$name.ini"
}

sup_example() {
	local name=$1 example=$2
	shift 2
	sup_config "$name" </dev/null
	sed -e '/^\[ddvm\]/,/^\[/{/^\(kernel\|driver_initrd\|client_initrd\) *=/d}' "$@" \
		"$DDVM_ROOT/examples/$example.ini" >>"$T/$name.ini"
}

# Teardown for every exit path: `ddvm down`, then QEMU pids by pid file, supervisor by pid.
_sup_cleanup() {
	"$DDVM" down >/dev/null 2>&1 || true
	local pf
	for pf in "$DDVM_RUNDIR"/*.pid; do
		[ -f "$pf" ] && t_kill_pidfile "$pf"
	done
	return 0
}

# A failed test keeps the supervisor's log, the consoles and the config it ran, and
# prints the backtrace of each core a crashed QEMU (or supervisor) left (sup_up).
_sup_keep_logs() {
	cp -p "$DDVM_RUNDIR"/*.log "$DDVM_TEST_ARTIFACTS"/ 2>/dev/null
	cp -p "$T"/*.ini "$DDVM_TEST_ARTIFACTS"/ 2>/dev/null
	_sup_cores
	return 0
}

# Every core in $T/cores: which program, and (gdb, else elfutils' eu-stack) its
# threads' backtraces, also kept as NAME.d/core-N.txt; the core itself goes with $T
# (hundreds of MiB: the guest's RAM).
_sup_cores() {
	local c exe n=0
	for c in "$T"/cores/core*; do
		[ -f "$c" ] || continue
		n=$((n + 1))
		exe=$(file -b "$c" 2>/dev/null | sed -n "s/.*execfn: '\([^']*\)'.*/\1/p")
		echo "--- a process dumped core: $(file -b "$c" 2>/dev/null | cut -c1-200)"
		[ -n "$exe" ] || continue
		if command -v gdb >/dev/null; then
			gdb -batch -nx -ex 'info threads' -ex 'thread apply all bt 25' "$exe" "$c" 2>&1 |
				grep -v '^\[New LWP'
		elif command -v eu-stack >/dev/null; then # elfutils (scripts/deps.sh)
			eu-stack -n 25 -e "$exe" --core="$c" 2>&1
		fi | head -n 200 | tee "$DDVM_TEST_ARTIFACTS/core-$n.txt"
	done
}

sup_up() {
	# once, however many setups a script brings up one after the other
	if [ -z "${_sup_hooked:-}" ]; then
		t_on_exit _sup_cleanup
		t_on_failure _sup_keep_logs
		_sup_hooked=1
	fi
	local in_ns=() cfg
	[ -n "${2:-}" ] && in_ns=(ip netns exec "$2")
	cfg=$(realpath -- "$1")
	t_log "ddvm up -d $1${2:+ (in $2)}"
	# A QEMU that crashes (or the supervisor) leaves its core in $T/cores: the
	# supervisor and its QEMUs run there with no core size limit (kernel.core_pattern
	# "core", Debian's default, writes to the crashing process's directory; a host with
	# another pattern keeps its own rules). _sup_keep_logs prints the backtraces.
	mkdir -p "$T/cores"
	if ! (cd "$T/cores" && { ulimit -c unlimited 2>/dev/null || true; } &&
		exec "${in_ns[@]}" "$DDVM" up -d "$cfg"); then
		tail -n 30 "$DDVM_RUNDIR/ddvm.log" 2>/dev/null
		_sup_diag
		t_fail "ddvm up failed"
	fi
	t_log "up: $("$DDVM" status | head -n 4 | tail -n 3 | tr -s ' ' | tr '\n' ';')"
}

sup_wait_log() {
	local re=$1 secs=$2 count=${3:-1} deadline
	deadline=$((SECONDS + secs))
	while ((SECONDS < deadline)); do
		[ "$(grep -Ec -- "$re" "$DDVM_RUNDIR/ddvm.log" 2>/dev/null)" -ge "$count" ] && return 0
		sleep 0.05
	done
	echo "--- supervisor log (tail) ---"
	tail -n 30 "$DDVM_RUNDIR/ddvm.log"
	_sup_diag
	t_fail "no /$re/ in the supervisor log within ${secs}s"
}

# What a wait that timed out needs to be understood from CI's output alone: is the
# supervisor alive and answering, what does it show, what did the consoles say last.
_sup_diag() {
	local pid f
	pid=$(cat "$DDVM_RUNDIR/ddvm.pid" 2>/dev/null)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		echo "--- supervisor pid $pid alive; ddvm status --json ---"
		timeout 5 "$DDVM" status --json 2>&1 | jq -c . 2>&1 | head -c 4000
		echo
	else
		echo "--- supervisor (pid '${pid:-none}') is not running ---"
	fi
	for f in "$DDVM_RUNDIR"/*.log; do
		case "${f##*/}" in ddvm.log | \*.log) continue ;; esac
		echo "--- ${f##*/} (last 8 lines) ---"
		tail -n 8 "$f" | tr -d '\r'
		echo
	done
}

sup_wait_gone() {
	local deadline=$((SECONDS + $1)) rc
	while ((SECONDS < deadline)); do
		rc=0
		"$DDVM" status >/dev/null 2>&1 || rc=$?
		[ "$rc" = 4 ] && return 0
		sleep 0.1
	done
	t_fail "a supervisor still answers in $DDVM_RUNDIR $1 s after ddvm down"
}

# sup_wait_console VM REGEX SECONDS [COUNT] — the COUNTth matching console line.
sup_wait_console() {
	local vm=$1 re=$2 secs=$3 count=${4:-1} deadline
	deadline=$((SECONDS + secs))
	while ((SECONDS < deadline)); do
		[ "$(grep -Ec -- "$re" "$DDVM_RUNDIR/$vm.log" 2>/dev/null)" -ge "$count" ] && return 0
		sleep 0.05
	done
	echo "--- $vm console (tail) ---"
	tail -n 30 "$DDVM_RUNDIR/$vm.log"
	t_fail "$vm: no /$re/ (x$count) on the console within ${secs}s"
}

# Every reader goes through `ddvm status --json` (stable names, docs/supervisor.md),
# never through columns of the human table.
sup_vm_field() {
	local f=$2
	case "$f" in 1) f=name ;; 2) f=role ;; 3) f=state ;; 5) f=restarts ;; 6) f=pid ;; esac
	"$DDVM" status --json | jq -r --arg vm "$1" --arg f "$f" \
		'first(.vms[] | select(.name == $vm)) | .[$f] | if . == null then "-" else . end'
}

sup_chan_field() {
	"$DDVM" status --json | jq -r --arg ch "$1" --arg f "$2" \
		'first(.channels[] | select(.name == $ch)) | .[$f] | if . == null then "-" else . end'
}

sup_epoch() {
	sup_chan_field "$1" epoch
}

sup_hostile_writer() {
	local ch=$1 log=$DDVM_RUNDIR/hostile_writer.log
	shift
	python3 "$DDVM_ROOT/tests/vm/hostile_writer.py" "$DDVM_RUNDIR/channels/$ch.host.sock" "$@" \
		>"$log" 2>&1 &
	echo $! >"$T/writer.pid"
	t_on_exit "t_kill_pidfile '$T/writer.pid'"
	for _ in $(seq 100); do
		grep -q '^hostile_writer: +.*kind' "$log" && return 0
		sleep 0.1
	done
	t_fail "the hostile writer did not start: $(cat "$log")"
}

sup_wait_vm() {
	_sup_wait_field sup_vm_field "$@"
}

sup_wait_chan() {
	_sup_wait_field sup_chan_field "$@"
}

# Until channel CH is ready at epoch >= EPOCH (a driver VM restart bumps it: the new
# incarnation serves it), or t_fail after SECS with what status last said.
sup_wait_chan_epoch() {
	local ch=$1 epoch=$2 deadline=$((SECONDS + $3)) got=
	while ((SECONDS < deadline)); do
		got=$("$DDVM" status --json 2>/dev/null | jq -r --arg ch "$ch" \
			'first(.channels[] | select(.name == $ch)) | "\(.backend_state) \(.epoch)"') || got=
		[ "${got% *}" = ready ] && ((${got#* } >= epoch)) && return 0
		sleep 0.1
	done
	_sup_diag
	t_fail "$ch: not ready at epoch >= $epoch after $3 s (state and epoch: '${got:-none}')"
}

_sup_wait_field() {
	local get=$1 obj=$2 field=$3 want=$4 deadline=$((SECONDS + $5)) got
	while ((SECONDS < deadline)); do
		# not up yet: status exits 4, which must not end the test (set -e)
		got=$("$get" "$obj" "$field" 2>/dev/null) || got=
		[ "$got" = "$want" ] && return 0
		sleep 0.1
	done
	_sup_diag
	if [ -n "${6:-}" ]; then
		echo "--- $6 (tail) ---"
		tail -n 20 "$6"
	fi
	t_fail "$obj: $field is '$got', not '$want', after $5 s"
}

# The shell a ddvm image leaves on the console after its run script (images/init.sh)
# runs CMD between two markers; its output is read back from the console log. 124: no
# end marker within SECONDS. The VM's kernel must be quiet (the default), or its
# messages land in the output.
sup_console_cmd() {
	local vm=$1 secs=$2 cmd=$3 n log rc
	n=$(date +%s%N)$RANDOM # unique also when called in $(...) subshells
	log=$DDVM_RUNDIR/$vm.log
	{
		# shellcheck disable=SC2016 # $? is the guest's
		printf '\necho @@B%s; ( %s ) </dev/null 2>&1; echo "@@E%s rc=$?"\n' "$n" "$cmd" "$n"
		for _ in $(seq $((secs * 10))); do
			grep -aq "@@E$n rc=[0-9]" "$log" && break
			sleep 0.1
		done
	} | timeout $((secs + 10)) "$DDVM" console "$vm" --linger 0 >/dev/null 2>&1 || true
	# the end marker may follow output that did not end its last line
	rc=$(tr -d '\r' <"$log" | grep -ao "@@E$n rc=[0-9]*" | tail -n 1 | sed 's/.*rc=//')
	tr -d '\r' <"$log" | awk -v b="@@B$n" -v e="@@E$n rc=" '
		$0 == b { on = 1; next }
		on { i = index($0, e); if (i) { if (i > 1) print substr($0, 1, i - 1); exit } print }'
	return "${rc:-124}"
}

sup_blkcheck() {
	local ch=$1 seed=$2 log=$T/check-$1.log rc=0
	timeout 90 "$BUILD/bin/ddvm-blkcheck" --sock "$DDVM_RUNDIR/channels/$ch.client.sock" \
		info write "$seed" 0 1048576 verify "$seed" 0 1048576 >"$log" 2>&1 || rc=$?
	sed 's/^/    /' "$log"
	return "$rc"
}
