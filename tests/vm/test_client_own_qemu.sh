#!/bin/bash
# timeout: 300
# A client VM the user starts with plain QEMU, as examples/own-qemu.ini describes:
# `ddvm up` runs the driver VM (e1000 on user-mode networking, virtio-blk disk) and
# serves [client-vm myvm] (external = yes); a hand-typed qemu-system-x86_64 with
# ddvm's client image and `$(ddvm qemu-args CONFIG myvm)` boots, its init loads the
# client drivers by itself (it finds the channels' ivshmem devices, no channel list
# from a supervisor), pings QEMU's gateway through the driver VM's e1000 and writes
# 8 MiB to /dev/ddvmblk0; after `ddvm down` the disk image holds them. Also: qemu-args
# refuses the driver VM and a bad command line.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
t_need_file "$DDVM_CLIENT_INITRD"

sup_example own own-qemu -e "s|^image .*|image  = $T/disk0.img|"
grep -q "^image  = $T/disk0.img" "$T/own.ini" || t_fail "examples/own-qemu.ini has no image line to edit"
rc=0
"$DDVM" qemu-args "$T/own.ini" drv >/dev/null 2>"$T/bad.err" || rc=$?
{ [ "$rc" = 5 ] && grep -q 'is a \[driver-vm\]' "$T/bad.err"; } || t_fail "qemu-args of the driver VM: exit $rc, $(cat "$T/bad.err")"
rc=0
"$DDVM" qemu-args "$T/own.ini" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || t_fail "qemu-args without CLIENT: exit $rc, not 2"
sup_up "$T/own.ini"

mapfile -t args < <("$DDVM" qemu-args "$T/own.ini" myvm)
((${#args[@]} == 8)) || t_fail "qemu-args printed ${#args[@]} words, not 2 x (-chardev, -device): ${args[*]}"
t_log "qemu-args: ${args[*]}"
# shellcheck disable=SC2016 # expanded by the guest's shell
cat >"$T/run.sh" <<'RUN'
i=0; until [ -e /sys/class/net/eth0 ] && [ -b /dev/ddvmblk0 ] || [ $i -ge 300 ]; do sleep 0.1; i=$((i+1)); done
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0
i=0; while [ "$(cat /sys/class/net/eth0/carrier)" != 1 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
ping -c 3 -W 10 10.0.2.2 >/tmp/p.txt; echo "OWN-PING $(grep -o '[0-9]* received' /tmp/p.txt)"
echo "OWN-DRIVERS $(basename "$(readlink /sys/class/net/eth0/device/driver)")"
head -c 8388608 /dev/urandom >/tmp/data
dd if=/tmp/data of=/dev/ddvmblk0 bs=1M oflag=direct 2>/dev/null && sync
echo 3 >/proc/sys/vm/drop_caches
echo "OWN-DISK $(sha256sum </tmp/data | cut -d' ' -f1) $(head -c 8388608 /dev/ddvmblk0 | sha256sum | cut -d' ' -f1)"
RUN
accel=$("$DDVM" accel "$DDVM_KERNEL")
qemu-system-x86_64 -accel "$accel" -m 384M -nic none -display none -no-reboot -serial "file:$T/myvm.log" \
	-kernel "$DDVM_KERNEL" -initrd "$DDVM_CLIENT_INITRD" -append "console=ttyS0 ddvm.poweroff=1" \
	-fw_cfg "name=opt/ddvm/run,file=$T/run.sh" "${args[@]}" >"$T/qemu.out" 2>&1 &
echo $! >"$T/qemu.pid"
t_on_exit "t_kill_pidfile '$T/qemu.pid'"
for _ in $(seq 2400); do kill -0 "$(cat "$T/qemu.pid")" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$(cat "$T/qemu.pid")" 2>/dev/null || { tail -n 20 "$T/myvm.log"; t_fail "the VM did not power off within 240 s"; }
tr -d '\r' <"$T/myvm.log" | grep -a '^OWN-\|DDVM-SERVICES\|DDVM-LOAD-FAILED' | sed 's/^/  /'
grep -aq 'DDVM-SERVICES ddvm_netfront ddvm_blkfront' "$T/myvm.log" || t_fail "the client image did not load the client drivers: $(cat "$T/qemu.out"; tail -n 30 "$T/myvm.log")"
grep -aq '^OWN-PING 3 received' "$T/myvm.log" || t_fail "no ping through the driver VM's e1000"
grep -aq '^OWN-DRIVERS ddvm_netfront' "$T/myvm.log" || t_fail "eth0 is not ddvm_netfront's"
read -r _ want got < <(tr -d '\r' <"$T/myvm.log" | grep -a '^OWN-DISK ')
{ [ -n "$want" ] && [ "$want" = "$got" ]; } || t_fail "the disk read back $got, want $want"
[ "$(sup_chan_field disk0.myvm requests)" -gt 0 ] || t_fail "no request on channel disk0.myvm"
[ "$(sup_vm_field drv restarts)" = 0 ] || t_fail "the driver VM restarted"
"$DDVM" status | sed 's/^/  /'
"$DDVM" down || t_fail "ddvm down failed"
sup_wait_gone 30
[ "$(head -c 8388608 "$T/disk0.img" | sha256sum | cut -d' ' -f1)" = "$want" ] || t_fail "the image does not hold what the VM wrote"
echo SUCCESS
