#!/bin/bash
# timeout: 240
# A client that does not resume after its driver VM restarts keeps nobody waiting: the
# outage ends once the driver VM's side is back on every channel and the client has
# had CLIENTS_WAIT_MS (10 s) more. examples/quickstart.ini (an e1000 and a disk in drv,
# both used by client VM app); app unloads ddvm_netfront (its QEMU stays connected,
# the channel's client side CLOSED), then `ddvm restart drv`. Checked: the supervisor
# logs "service restored ... on 1 of 2 channels; not resumed by their client ...:
# nic0.app", the time it names being when the disk channel was back, not the end of
# that wait (with the old supervisor no "service restored" came at all: the driver VM
# stayed "recovering", looked at every millisecond, with no new warm spare and no
# upgrade handover), the disk channel is back at the new epoch, and app's NIC works
# again once it loads its driver.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"

sup_example away quickstart -e "s|^image .*|image  = $T/disk0.img|"
grep -q "^image  = $T/disk0.img" "$T/away.ini" || t_fail "examples/quickstart.ini: no image line to substitute"
sup_up "$T/away.ini"

sup_console_cmd app 60 'rmmod ddvm_netfront' >/dev/null || t_fail "app could not unload ddvm_netfront"
sup_wait_chan nic0.app frontend_state closed 30

t0=$(now_ms)
"$DDVM" restart drv >/dev/null || t_fail "ddvm restart drv failed"
sup_wait_log 'drv: service restored .* on 1 of 2 channels; not resumed by their client .*: nic0.app' 120
elapsed=$(($(now_ms) - t0))
t_log "$(grep 'drv: service restored' "$DDVM_RUNDIR/ddvm.log" | tail -n 1 | sed 's/.*ddvm: //') ($elapsed ms after the restart)"
# the number is when service came back, not when the 10 s wait for app's NIC ended
n=$(grep -o 'drv: service restored [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | tail -n 1 | grep -o '[0-9]*')
((n <= elapsed - 5000)) || t_fail "service restored $n ms after the restart counts the wait for the client that stayed away (the line came $elapsed ms after it)"
if [ "$(sup_chan_field disk0.app backend_state)" != ready ] || [ "$(sup_chan_field disk0.app frontend_state)" != ready ]; then
	t_fail "disk0.app is not back: $("$DDVM" status)"
fi

# the client's own matter: its driver back, its NIC back
sup_console_cmd app 60 'modprobe ddvm_netfront' >/dev/null || t_fail "app could not load ddvm_netfront"
sup_wait_chan nic0.app frontend_state ready 30
echo SUCCESS
