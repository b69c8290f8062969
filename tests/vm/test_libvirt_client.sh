#!/bin/bash
# timeout: 2400
# An ordinary Debian 12 VM under libvirt uses a ddvm NIC and disk, as docs/clients.md
# tells a user to: the VM is debootstrapped from Debian's packages
# (images/debian-client.sh; cached in build/debian-client/, the first run downloads
# ~200 MB and takes ~10 min, later runs reuse it), `make deb`'s package is installed
# into it with dpkg (dkms builds the modules for the VM's own kernel, in a chroot: a
# dkms build under TCG would take minutes), and nothing ddvm-specific is on its kernel
# command line. The supervisor serves `[client-vm deb]` with `external = yes`; the
# domain gets its channels from `ddvm libvirt-xml`, is defined and started with virsh
# (qemu driver, TCG), and has no network but the ddvm NIC. In the VM
# (debian-client/guest-test.sh, at boot): the modules came by themselves from
# updates/dkms, ping 10.99.18.1 (a bridge in this test's namespace, behind the driver
# VM's e1000), mkfs + a checksummed file on the driver VM's virtio-blk disk; then
# `ddvm restart drv`, and the VM pings and reads the file back, writes and reads
# another. Also: no Oops in the VM, drv restarted exactly once, and the channels'
# epochs moved.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
t_need_root
for c in virsh libvirtd virtlogd debootstrap zstd mkfs.ext4 unshare; do
	command -v "$c" >/dev/null || t_fail "$c missing: run 'make deps'"
done
deb=$(find "$BUILD/deb" -maxdepth 1 -name 'ddvm-dkms_*_all.deb' 2>/dev/null | head -n1)
[ -n "$deb" ] || t_fail "no build/deb/ddvm-dkms_*_all.deb: run 'make deb'"
here=$(dirname "$0")/debian-client

# 1. The test's namespace, and libvirt: the system daemon if one answers, else one of
# our own (in the namespace, so its default network, were it started, could reach
# nothing), started first: it takes a while to probe QEMU.
NS=ddvm-lv-$$
ip netns add "$NS" || t_fail "cannot create network namespace $NS"
t_on_exit "ip netns del '$NS'"
ip -n "$NS" link set lo up
ip -n "$NS" link add br0 type bridge
ip -n "$NS" addr add 10.99.18.1/24 dev br0
ip -n "$NS" link set br0 up
LV=qemu:///system
if ! virsh -c "$LV" uri >/dev/null 2>&1; then
	ip netns exec "$NS" virtlogd -p "$T/virtlogd.pid" &
	t_on_exit "t_kill_pidfile '$T/virtlogd.pid'"
	ip netns exec "$NS" libvirtd -p "$T/libvirtd.pid" >"$T/libvirtd.log" 2>&1 &
	t_on_exit "t_kill_pidfile '$T/libvirtd.pid'"
	LV_STARTED=1
fi

# 2. The Debian VM's disk: the cached base + the package + this test's boot service.
t0=$(now_ms)
"$DDVM_ROOT/images/debian-client.sh" base || t_fail "could not build the Debian base system"
t1=$(now_ms)
ov=$T/overlay
install -D -m 755 "$here/guest-test.sh" "$ov/usr/local/sbin/ddvm-guest-test"
install -D -m 644 "$here/ddvm-test.service" "$ov/etc/systemd/system/ddvm-test.service"
mkdir -p "$ov/etc/systemd/system/multi-user.target.wants"
ln -s /etc/systemd/system/ddvm-test.service "$ov/etc/systemd/system/multi-user.target.wants/"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$ov/etc/fstab"
# what an idle test VM need not do under TCG
for u in e2scrub_reap.service apt-daily.timer apt-daily-upgrade.timer getty@tty1.service \
	serial-getty@ttyS0.service; do
	ln -s /dev/null "$ov/etc/systemd/system/$u"
done
echo ddvm-debian >"$ov/etc/hostname"
img=$("$DDVM_ROOT/images/debian-client.sh" disk "$deb" "$ov") || t_fail "could not make the VM's disk"
grep -q 'ddvm_netfront.ko' "$img.dpkg.log" || { cat "$img.dpkg.log"; t_fail "dkms did not install ddvm_netfront in the VM"; }
qemu-img create -q -f qcow2 -b "$img.img" -F raw "$T/deb.qcow2" || t_fail "qemu-img create (the VM's copy-on-write disk) failed"
t_log "Debian base (cached unless first) $((t1 - t0)) ms; disk with $(basename "$deb") $(($(now_ms) - t1)) ms"

# 3. The driver VM: e1000 on a bridge in our namespace, virtio-blk disk; the external client.
sup_config lv <<EOT
[driver-vm drv]
memory = 256M

[device nic0]
vm      = drv
kind    = net
model   = e1000
backend = tap
tap     = lvt$$
bridge  = br0

[device disk0]
vm    = drv
kind  = blk
model = virtio-blk-pci
image = $T/disk0.img
size  = 128M

[client-vm deb]
external = yes
devices  = nic0 disk0
EOT
t_on_exit _sup_cleanup
keep=$BUILD/test-logs/$(basename "$0" .sh)-run
t_on_exit "rm -rf '$keep'; mkdir -p '$keep'; cp '$DDVM_RUNDIR'/*.log '$T'/deb.console '$keep'/ 2>/dev/null"
ip netns exec "$NS" "$DDVM" up -d "$T/lv.ini" || { tail -n 30 "$DDVM_RUNDIR/ddvm.log"; t_fail "ddvm up failed"; }
{ [ "$(sup_vm_field deb state)" = - ] && [ "$("$DDVM" status --json | jq '.vms[] | select(.name == "deb") | .external')" = true ]; } ||
	t_fail "ddvm status does not show deb as an external client VM"

# 4. The domain, its channels from ddvm.
if [ -n "${LV_STARTED:-}" ]; then
	deadline=$((SECONDS + 120))
	until virsh -c "$LV" uri >/dev/null 2>&1; do
		((SECONDS < deadline)) || { cat "$T/libvirtd.log"; t_fail "libvirtd did not answer within 120 s"; }
		sleep 0.2
	done
	t_log "started libvirtd $(cat "$T/libvirtd.pid") and virtlogd $(cat "$T/virtlogd.pid")"
fi
"$DDVM" libvirt-xml "$T/lv.ini" deb >"$T/shmem.xml" || t_fail "ddvm libvirt-xml failed"
grep -c "<shmem " "$T/shmem.xml" | grep -qx 2 || { cat "$T/shmem.xml"; t_fail "not two <shmem> devices"; }
dom=ddvm-test-$$
# QEMU runs as root (a static DAC label): the supervisor's channel sockets are root's
# (docs/clients.md). hpet off and one possible extra vCPU as ddvm's own VMs (TCG).
cat >"$T/domain.xml" <<EOT
<domain type='qemu'>
  <name>$dom</name>
  <memory unit='MiB'>512</memory>
  <vcpu placement='static' current='1'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$img.vmlinuz</kernel>
    <initrd>$img.initrd</initrd>
    <cmdline>root=/dev/vda rw console=ttyS0 no_timer_check quiet systemd.show_status=0</cmdline>
  </os>
  <features><acpi/></features>
  <clock offset='utc'><timer name='hpet' present='no'/></clock>
  <on_poweroff>destroy</on_poweroff>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$T/deb.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'><source path='$T/deb.console'/><target port='0'/></serial>
    <memballoon model='none'/>
$(sed 's/^/    /' "$T/shmem.xml")
  </devices>
  <seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>
</domain>
EOT
virsh -c "$LV" define "$T/domain.xml" >/dev/null || t_fail "virsh define failed"
t_on_exit "virsh -c '$LV' undefine '$dom'"
t_on_exit "virsh -c '$LV' destroy '$dom'"
t2=$(now_ms)
virsh -c "$LV" start "$dom" >/dev/null || t_fail "virsh start failed"
t_log "virsh start $dom"

guest_lines() { tr -d '\r' <"$T/deb.console" 2>/dev/null | grep -ao 'DDVM-T .*'; } # our script's lines
guest_wait() { # REGEX SECONDS
	local deadline=$((SECONDS + $2))
	while ((SECONDS < deadline)); do
		guest_lines | grep -q '^DDVM-T FAIL' && break
		guest_lines | grep -Eq "$1" && return 0
		sleep 0.2
	done
	tr -d '\r' <"$T/deb.console" | tail -n 40
	t_fail "no /$1/ on the Debian VM's console within $2 s$(guest_lines | grep '^DDVM-T FAIL' | sed 's/^DDVM-T FAIL/:/')"
}
guest_wait '^DDVM-T PHASE1' 600
t_log "Debian VM: phase 1 after $(($(now_ms) - t2)) ms"
guest_lines | sed 's/^/    /'
guest_lines | grep -q '^DDVM-T MODULES /lib/modules/[^ ]*/updates/dkms/ddvm_netfront.ko /lib/modules/[^ ]*/updates/dkms/ddvm_blkfront.ko' ||
	t_fail "the modules did not come from the DKMS package (updates/dkms)"
guest_lines | grep '^DDVM-T CMDLINE' | grep -q ddvm && t_fail "a ddvm argument on the VM's kernel command line"
e0=$(sup_epoch disk0.deb)

t3=$(now_ms)
"$DDVM" restart drv || t_fail "ddvm restart drv failed"
t_log "ddvm restart drv: back after $(($(now_ms) - t3)) ms"
guest_wait '^DDVM-T RESULT ok' 300
t_log "Debian VM: carried on; result $(($(now_ms) - t3)) ms after the restart"
guest_lines | sed -n '/PHASE1/,$p' | sed 's/^/    /'

[ "$(sup_vm_field drv restarts)" = 1 ] || t_fail "drv restarted $(sup_vm_field drv restarts) times, not once"
e1=$(sup_epoch disk0.deb)
((e1 > e0)) || t_fail "disk0.deb's epoch stayed $e0"
! grep -aE 'Oops|BUG:|Call Trace' "$T/deb.console" || t_fail "the Debian VM's kernel complained (above)"
echo "SUCCESS: Debian VM under libvirt, ddvm-dkms via dkms, modules loaded by udev; ping + checksummed files through drv's e1000 and virtio-blk, across ddvm restart drv (epoch $e0 -> $e1)"
