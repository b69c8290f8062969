#!/bin/bash
# timeout: 360
# A client VM that reboots or powers off from inside is the user's doing, not a
# failure (issue 15's "a client hurts only itself", found by a new-user trial): `ddvm
# up` of examples/quickstart.ini (e1000 on user networking + virtio-blk disk, one
# client) with `restart_max = 1` for the client, then `reboot -f` typed into the
# client's console three times, `poweroff -f` once, `ddvm restart app`. Checked: each
# reboot is logged as one and the client comes back (before: "app: FAILED: QEMU exited
# with status 0", and the second reboot in a row made the supervisor give up on it);
# no failure is counted; after the poweroff the client stays stopped until `ddvm
# restart`; the driver VM never restarts and its channels stay at epoch 1; the disk and
# the NIC work in the client after all of it.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
REBOOTS=3

sup_example reboot quickstart -e "s|^image *=.*|image  = $T/disk0.img|" \
	-e 's|^\[client-vm app\]|[client-vm app]\nrestart_max = 1|'
grep -q '^restart_max = 1' "$T/reboot.ini" || t_fail "examples/quickstart.ini: no [client-vm app] section"
sup_up "$T/reboot.ini"

# type LINE into the client's console (its shell), no answer expected
type_app() {
	{
		printf '\n%s\n' "$1"
		sleep 1
	} | timeout 20 "$DDVM" console app --linger 0 >/dev/null 2>&1 || true
}
# the client works: its disk reads, its NIC answers QEMU's gateway
check_app() {
	sup_console_cmd app 60 'dd if=/dev/ddvmblk0 of=/dev/null bs=1M count=8 2>&1 | tail -n 1' >/dev/null ||
		t_fail "$1: the client cannot read its disk"
	# shellcheck disable=SC2016 # expanded by the client's shell
	sup_console_cmd app 60 'ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0 2>/dev/null; i=0; while [ "$(cat /sys/class/net/eth0/carrier)" != 1 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done; ping -c 2 -W 10 10.0.2.2' >/dev/null ||
		t_fail "$1: the client cannot ping through the driver VM"
}
check_app "after boot"

for n in $(seq "$REBOOTS"); do
	type_app 'reboot -f'
	sup_wait_log 'app: rebooted from inside the VM' 60 "$n"
	sup_wait_log 'app: ready after' 120 $((n + 1))
	t_log "reboot $n: the client is back ($(sup_vm_field app state), restarts $(sup_vm_field app restarts))"
done
check_app "after $REBOOTS reboots"

type_app 'poweroff -f'
sup_wait_log 'app: powered off from inside the VM' 60
# the old policy restarted it after its 200 ms back-off: give it 3 s to (wrongly) do so
for _ in $(seq 30); do
	[ "$(sup_vm_field app state)" = stopped ] || t_fail "after poweroff the client is $(sup_vm_field app state), not stopped"
	sleep 0.1
done
"$DDVM" restart app >/dev/null || t_fail "ddvm restart app failed"
sup_wait_log 'app: ready after' 120 $((REBOOTS + 2))
check_app "after poweroff and ddvm restart"

fails=()
grep -q 'app: FAILED\|GIVING UP' "$DDVM_RUNDIR/ddvm.log" &&
	fails+=("the supervisor counted a failure: $(grep 'app: FAILED\|GIVING UP' "$DDVM_RUNDIR/ddvm.log" | head -n 2 | tr '\n' ' ')")
[ "$(sup_vm_field app restarts)" = $((REBOOTS + 1)) ] || fails+=("the client has $(sup_vm_field app restarts) restarts, not $((REBOOTS + 1))")
[ "$(sup_vm_field drv restarts)" = 0 ] ||
	fails+=("the driver VM restarted: $(grep 'drv: FAILED\|drv: .*new session' "$DDVM_RUNDIR/ddvm.log" | head -n 3 | tr '\n' ' ')")
for ch in nic0.app disk0.app; do
	[ "$(sup_epoch $ch)" = 1 ] || fails+=("$ch is at epoch $(sup_epoch $ch), not 1")
done
((${#fails[@]} == 0)) || t_fail "$(printf '%s; ' "${fails[@]}")"
t_log "$REBOOTS reboots, a poweroff and a restart of the client: no failure counted, driver VM untouched, disk and NIC work"
echo SUCCESS
