# shellcheck shell=bash
# Shared helpers for ddvm's script tests (sourced, never run).
#
# Protocol: exit 0 = pass, exit 4 = skip (the last line printed says why), else fail.
# Every VM or process a test starts is recorded with its pid file and stopped by pid in
# the EXIT trap, whether the test passed, failed or was killed by the runner's timeout.
# Waits are for events (a console line, a process exit), each with its own deadline.

set -euo pipefail

DDVM_ROOT=${DDVM_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$DDVM_ROOT/build}
export DDVM_ROOT BUILD

t_log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); } # wall clock in ms, for measured intervals
t_skip() { echo "$*"; exit 4; }
t_fail() { echo "FAIL: $*" >&2; exit 1; }

# --- cleanup stack -------------------------------------------------------------------
_t_cleanups=()
t_on_exit() { _t_cleanups+=("$*"); }
# What a failed test keeps for the post-mortem (its run dir is removed with $T):
# t_on_failure CMD runs CMD, first registered first, before the cleanups, with
# $DDVM_TEST_ARTIFACTS (set by tests/run.sh: build/test-logs/NAME.d) created; its
# standard output goes to the test's log (keep it to what a reader needs).
_t_failure_hooks=()
t_on_failure() { _t_failure_hooks+=("$*"); }
_t_run_cleanups() {
	local rc=$? i
	set +e
	if [ "$rc" != 0 ] && [ "$rc" != 4 ] && [ ${#_t_failure_hooks[@]} -gt 0 ] &&
		[ -n "${DDVM_TEST_ARTIFACTS:-}" ] && mkdir -p "$DDVM_TEST_ARTIFACTS"; then
		for ((i = 0; i < ${#_t_failure_hooks[@]}; i++)); do
			eval "${_t_failure_hooks[i]}" 2>/dev/null # what it prints goes to the log
		done
		echo "kept for the post-mortem: $DDVM_TEST_ARTIFACTS" >&2
	fi
	for ((i = ${#_t_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_t_cleanups[i]}" >/dev/null 2>&1
	done
	exit $rc
}
trap _t_run_cleanups EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A private scratch directory for this test run ($T).
T=$(mktemp -d "${TMPDIR:-/tmp}/ddvm-test.XXXXXX")
t_on_exit "rm -rf '$T'"
export T

# A guest kernel in trouble, as its console shows it (/init sets the console's log level
# to show warnings): an oops or BUG, a BUG_ON, a panic, a general protection fault, a
# WARN_ON's trace. For grep -E.
export T_KERNEL_TROUBLE='Oops|BUG:|kernel BUG at|Kernel panic|general protection|WARNING: CPU'

t_need_root() { [ "$(id -u)" = 0 ] || t_skip "needs root (tap devices, network namespaces)"; }
t_need_file() { [ -e "$1" ] || t_fail "$1 missing: run 'make' first"; }

# Stop a process by its pid file: TERM, then KILL after a grace period.
t_kill_pidfile() {
	local pf=$1 pid i
	[ -f "$pf" ] || return 0
	pid=$(cat "$pf" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

# --- guest images --------------------------------------------------------------------
# One probe, the daemon's (supervisor/accel.c), and one cached answer for the tests and
# the VMs they start through `ddvm up`.
export DDVM_ACCEL_CACHE=${DDVM_ACCEL_CACHE:-$BUILD/accel}
ddvm_accel() { "$BUILD/bin/ddvm" accel "$BUILD/kernel/vmlinuz"; }
# ddvm_smp CPUS ACCEL — QEMU's -smp value. Under TCG a machine that can have only one
# vCPU gets its guest's memory barriers compiled to nothing, and the device models (other
# host threads) and channel peers (other processes) then miss the guest's store -> load
# ordering (lost wake-ups, e.g. nvme's shadow doorbells): one absent vCPU keeps them. As
# in supervisor/vm.c.
ddvm_smp() { if [ "$2" != kvm ] && [ "$1" -lt 2 ]; then echo "$1,maxcpus=2"; else echo "$1"; fi; }
DDVM_KERNEL=$BUILD/kernel/vmlinuz
# shellcheck disable=SC2034 # used by the scripts that source this
DDVM_DRIVER_INITRD=$BUILD/images/driver-vm.cpio.gz
# shellcheck disable=SC2034 # used by the scripts that source this
DDVM_CLIENT_INITRD=$BUILD/images/client-vm.cpio.gz

# vm_start NAME INITRD "KERNEL ARGS" [QEMU ARGS...]
# Boots a VM in the background. Console: $T/NAME.console, QMP: $T/NAME.qmp,
# pid file: $T/NAME.pid. The VM is stopped by pid when the test exits.
# Environment: VM_MEM (MiB, 256), VM_CPUS (1), VM_MACHINE (q35; "pc" for PIIX/ISA).
vm_start() {
	local name=$1 initrd=$2 append=$3
	shift 3
	local accel cpu=()
	accel=$(ddvm_accel)
	[ "$accel" = kvm ] && cpu=(-cpu host)
	t_need_file "$DDVM_KERNEL"
	t_need_file "$initrd"
	: >"$T/$name.console"
	# no_timer_check: the IO-APIC timer test hangs guests on a loaded host; hpet=off: the
	# idle cost of an emulated HPET (both as the supervisor's VMs, supervisor/vm.c)
	qemu-system-x86_64 -name "$name" -accel "$accel" "${cpu[@]}" -M "${VM_MACHINE:-q35},hpet=off" -m "${VM_MEM:-256}" \
		-smp "$(ddvm_smp "${VM_CPUS:-1}" "$accel")" -nodefaults -display none -no-reboot \
		-kernel "$DDVM_KERNEL" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 no_timer_check quiet $append" \
		-chardev file,id=con0,path="$T/$name.console" -serial chardev:con0 \
		-qmp unix:"$T/$name.qmp",server=on,wait=off \
		-device pvpanic \
		-pidfile "$T/$name.pid" -daemonize "$@" ||
		t_fail "qemu for $name did not start"
	t_on_exit "t_kill_pidfile '$T/$name.pid'"
	# QEMU removes its pid file when it exits; the waits below need the pid after that.
	cp "$T/$name.pid" "$T/$name.vmpid"
	t_log "vm $name started (pid $(cat "$T/$name.pid"), accel $accel)"
}

# vm_wait NAME REGEX SECONDS — wait until the console shows a line matching REGEX.
# Fails early if the VM exits first. Polls the console file (an event source, not a
# fixed sleep): returns as soon as the line is there.
vm_wait() {
	local name=$1 re=$2 secs=$3 deadline pid
	deadline=$((SECONDS + secs))
	pid=$(cat "$T/$name.vmpid")
	while ((SECONDS < deadline)); do
		grep -Eq -- "$re" "$T/$name.console" && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			grep -Eq -- "$re" "$T/$name.console" && return 0
			echo "--- $name console (tail) ---"
			tail -n 40 "$T/$name.console"
			t_fail "vm $name exited before printing /$re/"
		fi
		sleep 0.05
	done
	echo "--- $name console (tail) ---"
	tail -n 40 "$T/$name.console"
	t_fail "vm $name: no /$re/ within ${secs}s"
}

# vm_wait_exit NAME SECONDS — wait for the VM's QEMU to exit (e.g. after poweroff).
vm_wait_exit() {
	local name=$1 secs=$2 deadline pid
	deadline=$((SECONDS + secs))
	pid=$(cat "$T/$name.vmpid")
	while kill -0 "$pid" 2>/dev/null; do
		((SECONDS < deadline)) || t_fail "vm $name still running after ${secs}s"
		sleep 0.05
	done
}

# --- channels without the supervisor ---------------------------------------------------
DDVM_CHAN=$BUILD/bin/ddvm-chan

# ddvm_chan_start NAME [DDVM-CHAN ARGS...] — serve a channel in $T/ch-NAME (sockets,
# log, pid file); returns once ddvm-chan says it is ready; stopped by pid at exit.
ddvm_chan_start() {
	local name=$1 dir=$T/ch-$1 i
	shift
	mkdir -p "$dir"
	"$DDVM_CHAN" --dir "$dir" "$@" >"$dir/log" 2>&1 &
	echo $! >"$dir/chan.pid"
	t_on_exit "t_kill_pidfile '$dir/chan.pid'"
	for i in $(seq 100); do
		grep -q 'ddvm-chan: ready' "$dir/log" && return 0
		kill -0 "$(cat "$dir/chan.pid")" 2>/dev/null || break
		sleep 0.05
	done
	cat "$dir/log"
	t_fail "ddvm-chan for $name did not come up"
}
