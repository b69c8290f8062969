# shellcheck shell=bash
# What the warm spare and upgrade tests share (test_recover_spare.sh, test_upgrade.sh):
# examples/spare.ini with the test's paths and the client workload of spare_client.sh,
# and the checks on that workload. Sourced after tests/lib/supervisor.sh.

# spare_config OUT SPARE [DRIVER-VM-KEYS] — examples/spare.ini (or the example named by
# SPARE_EXAMPLE, e.g. spare-tap) as a user would copy it, with this build's kernel and images, the
# test's disk, spare = SPARE, the keys (one per line) added to [driver-vm drv], the
# client workload SPARE_CLIENT (default spare_client.sh) and, if the example has a tap,
# the tap SPARE_TAP.
spare_config() {
	local out=$1 spare=$2 extra=${3:+\\n$3}
	sed -e "s|^tap .*|tap = ${SPARE_TAP:-}|" -e "s|^kernel .*|kernel = $DDVM_KERNEL|" \
		-e "s|^driver_initrd .*|driver_initrd = $DDVM_DRIVER_INITRD|" \
		-e "s|^client_initrd .*|client_initrd = $DDVM_CLIENT_INITRD|" \
		-e "s|^image .*|image = $T/disk0.img|" \
		-e "s|^spare .*|spare = $spare|" \
		-e "/^\[driver-vm drv\]/a restart_max = 1000\nboot_timeout_ms = 180000${extra//$'\n'/\\n}" \
		-e "/^\[client-vm app\]/a run = ${SPARE_CLIENT:-$DDVM_ROOT/tests/vm/spare_client.sh}\nboot_timeout_ms = 180000" \
		"$DDVM_ROOT/examples/${SPARE_EXAMPLE:-spare}.ini" >"$out"
	grep -q "^spare = $spare" "$out" || t_fail "examples/spare.ini has no spare key"
}

# count REGEX FILE — matching lines in the run dir's FILE (0 when none)
count() { grep -ac -- "$1" "$DDVM_RUNDIR/$2" 2>/dev/null || true; }

# the client's answered pings so far
last_ok() {
	local v
	v=$(grep -ao 'PINGSTAT ok=[0-9]*' "$DDVM_RUNDIR/app.log" | tail -n 1 | cut -d= -f2 || true)
	echo "${v:-0}"
}

# wait_client WHY — until the client's data and pings moved past what they were
wait_client() {
	local why=$1 pass0 ok0 deadline=$((SECONDS + 90))
	pass0=$(count 'DATA-PASS' app.log)
	ok0=$(last_ok)
	while ((SECONDS < deadline)); do
		(($(count 'DATA-PASS' app.log) > pass0)) && (($(last_ok) > ok0)) && return 0
		sleep 0.1
	done
	tail -n 20 "$DDVM_RUNDIR/app.log"
	t_fail "$why: the client's data or pings did not move within 90 s"
}

# spare_check_client — one more full read-back of every slot; then no I/O error, no
# mismatch, no kernel complaint, no client restart
spare_check_client() {
	local v0
	v0=$(count 'DATA-VERIFY good' app.log)
	sup_wait_console app 'DATA-VERIFY good' 180 $((v0 + 1))
	grep -a 'DATA-VERIFY good\|PINGSTAT' "$DDVM_RUNDIR/app.log" | tail -n 2
	! grep -aq 'DATA-IOERR\|DATA-MISMATCH\|DATA-VERIFY-BAD' "$DDVM_RUNDIR/app.log" ||
		{ grep -a 'DATA-IOERR\|DATA-MISMATCH\|DATA-VERIFY-BAD' "$DDVM_RUNDIR/app.log" | head; t_fail "client I/O error or bad data"; }
	! grep -aqE "$T_KERNEL_TROUBLE|I/O error" "$DDVM_RUNDIR/app.log" || t_fail "the client's kernel complained"
	[ "$(sup_vm_field app restarts)" = 0 ] || t_fail "the client VM restarted"
}

# stats — n, p50, p90, max of the numbers on stdin
stats() {
	sort -n | awk '{ v[NR] = $1 } END { if (!NR) { print "none"; exit }
		printf "n=%d p50=%d p90=%d max=%d", NR, v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.999)], v[NR] }'
}
