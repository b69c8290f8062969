#!/bin/sh
# /init of ddvm's guest images (driver-vm and client-vm), run by busybox sh as PID 1.
#
#  1. mounts proc, sys, devtmpfs, devpts, tmpfs /tmp and /run
#  2. loads qemu_fw_cfg and the role's modules (a client VM: /etc/ddvm/modules; a driver
#     VM: the drivers its devices ask for by modalias, from the matrix it carries)
#     and those named on the kernel command line as ddvm.load=mod1,mod2
#     and names disks /dev/disk/by-pci/BDF as they appear (hotplug.sh); then, for each
#     channel in fw_cfg opt/ddvm/channels, the module that serves it (ddvm_KINDback in
#     a driver VM, ddvm_KINDfront in a client VM) and prints "DDVM-SERVICES mod..." (the
#     ones it loaded; "DDVM-LOAD-FAILED module=M" for each it could not)
#  3. driver VM: brings up the NICs its net channels serve and waits (up to 3 s) for
#     their link; prints "DDVM-PCI <bdf> <vendor:device> driver=<drv>" per bound device
#  4. prints "DDVM-READY role=<role>"
#  5. if fw_cfg file opt/ddvm/run exists (-fw_cfg name=opt/ddvm/run,file=SCRIPT), runs it
#     with sh and prints "DDVM-RUN-EXIT rc=<rc>"
#  6. ddvm.poweroff=1 on the command line: powers off; otherwise a shell on the console.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM="${TERM:-linux}"
umask 022

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mount -t tmpfs -o mode=0755 dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
[ -e /dev/console ] || mknod /dev/console c 5 1
exec </dev/console >/dev/console 2>&1

role=$(cat /etc/ddvm/role)
hostname "$role"
ip link set lo up 2>/dev/null

cmdline=$(cat /proc/cmdline)
# The console (this VM's log on the host: `ddvm logs VM`) shows warnings too, not only
# the errors `quiet` leaves: a WARN_ON's trace, an oops's first lines ("Oops: ... [#1]",
# "general protection fault") and a driver's warnings are where trouble shows first,
# and tests look for them there. A boot prints one to five such lines. A `loglevel=`
# on the kernel command line (`append =`) still decides.
case " $cmdline " in *" loglevel="*) ;; *) echo 5 >/proc/sys/kernel/printk ;; esac
param() { # NAME -> value of NAME=value on the kernel command line
	for w in $cmdline; do
		case "$w" in "$1"=*) echo "${w#*=}" ;; esac
	done
}

# Disks get stable names (/dev/disk/by-pci/BDF) as they appear: see hotplug.sh. The
# stock kernel has no uevent helper (CONFIG_UEVENT_HELPER is off), so busybox mdev
# listens for uevents on netlink and runs the helper for each disk (/etc/mdev.conf).
mdev -d

modprobe qemu_fw_cfg 2>/dev/null
# A driver VM loads the drivers of the devices it has, as udev would: every device
# without a driver names what it needs in its modalias, which modprobe looks up in
# modules.alias. Again until nothing new appears: a bus driver's probe adds the
# devices behind it (virtio_pci: the virtio device that virtio_net or virtio_blk
# binds). What appears later (a SCSI or USB scan) is mdev's (/etc/mdev.conf). Loading
# the whole matrix instead cost ~1 s of boot under TCG and memory for ~35 modules
# that bind to nothing (docs/images.md).
load_for_devices() {
	tried=" "
	while :; do
		new=
		for f in /sys/bus/*/devices/*/modalias; do
			[ -e "${f%/modalias}/driver" ] && continue
			read -r a <"$f" 2>/dev/null || continue
			# ivshmem: the channels' modules load by kind, below
			case "$a" in pci:v00001AF4d00001110*) continue ;; esac
			case "$tried" in *" $a "*) continue ;; esac
			tried="$tried$a "
			new="$new $a"
		done
		[ -n "$new" ] || break
		# shellcheck disable=SC2086
		modprobe -a -q $new 2>/dev/null
	done
}
if [ "$role" = driver-vm ]; then
	load_for_devices
else
	# shellcheck disable=SC2046
	modprobe -a $(cat /etc/ddvm/modules) 2>/dev/null
fi
extra=$(param ddvm.load | tr ',' ' ')
for m in $extra; do
	modprobe "$m" || echo "DDVM-LOAD-FAILED module=$m"
done

/sbin/ddvm-hotplug # coldplug: disks that appeared before the helper was set

# The services of this VM's channels load themselves: the supervisor lists them in
# fw_cfg opt/ddvm/channels ("NAME KIND ROLE BDF PEER [target=... queues=N layout=ID [mac=... antispoof=...]]",
# one a line), and each channel needs the translation module (driver) or the client
# driver (client) of its kind. A module binds to every ivshmem device and keeps the
# channels of its kind. A translation module takes each channel's kind, target, queue
# pairs (its ring layout), client MAC and anti-spoofing policy from this list (its
# `channels` parameter, an element per channel: "BDF;KIND;TARGET;QUEUES;LAYOUT[;MAC[;ANTISPOOF]],..."),
# never from the channel's header, which the client can write; /etc/modprobe.d keeps
# it for a later modprobe.
channels=/sys/firmware/qemu_fw_cfg/by_name/opt/ddvm/channels/raw
net_targets= # the NICs that net channels serve (brought up below)
if [ -r "$channels" ]; then
	mods=
	list=
	while read -r _name kind side bdf _peer opt; do
		case "$side" in driver) m=ddvm_${kind}back ;; client) m=ddvm_${kind}front ;; *) continue ;; esac
		case " $mods " in *" $m "*) ;; *) mods="$mods $m" ;; esac
		if [ "$side" = driver ]; then
			tgt='' queues='' layout='' mac='' spoof=''
			for o in $opt; do
				case "$o" in target=*) tgt=${o#target=} ;; queues=*) queues=${o#queues=} ;; layout=*) layout=${o#layout=} ;; mac=*) mac=${o#mac=} ;; antispoof=*) spoof=${o#antispoof=} ;; esac
			done
			list="$list${list:+,}$bdf;$kind;$tgt;$queues;$layout${mac:+;$mac}${spoof:+;$spoof}"
			[ "$kind" = net ] && [ -n "$tgt" ] && net_targets="$net_targets $tgt"
		fi
	done <"$channels"
	if [ -n "$list" ]; then
		mkdir -p /etc/modprobe.d
		for m in ddvm_netback ddvm_blkback; do
			echo "options $m channels=$list"
		done >/etc/modprobe.d/ddvm-channels.conf
	fi
	loaded=
	for m in $mods; do
		if modprobe "$m"; then
			loaded="$loaded $m"
		else
			echo "DDVM-LOAD-FAILED module=$m" # the supervisor logs it (vm.c)
		fi
	done
	[ -n "$loaded" ] && echo "DDVM-SERVICES$loaded"
elif [ "$role" = client-vm ]; then
	# A QEMU of the user's own (`ddvm qemu-args`) lists no channels: each client driver
	# binds the ivshmem devices of its kind, as the ddvm-dkms package's do by modalias.
	loaded=
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor" "$d/device" 2>/dev/null | tr '\n' ' ')" = "0x1af4 0x1110 " ] || continue
		for m in ddvm_netfront ddvm_blkfront; do
			modprobe "$m" || echo "DDVM-LOAD-FAILED module=$m"
		done
		loaded=" ddvm_netfront ddvm_blkfront"
		break
	done
	[ -n "$loaded" ] && echo "DDVM-SERVICES$loaded"
fi

# A driver VM's NICs that net channels serve come up now, with their link, before
# "ready": ddvm_netback would open them when it attaches anyway, and a driver VM
# restored from the snapshot taken at "ready" (restart = snapshot) then resumes with
# its NICs up instead of opening them and negotiating the link on the way back. The
# MTU first (ddvm_netback.nic_mtu), so attaching does not reset a running NIC. And
# promiscuous, which the translation module makes them anyway: QEMU's e1000 takes no
# frame for 1 s (virtual time) after each write of its receive control register
# (RCTL, hw/net/e1000.c's flush_queue_timer), which going promiscuous is. Done here,
# that second passes before the snapshot; done at attach, a warm spare paused right
# after its standby attach would resume deaf for most of a second.
nic_up() { # BDF or interface name -> the interfaces brought up
	for n in /sys/bus/pci/devices/"$1"/net/* /sys/bus/pci/devices/"$1"/virtio*/net/* \
		/sys/class/net/"$1"; do
		[ -e "$n/address" ] || continue
		[ -n "$nic_mtu" ] && ip link set "${n##*/}" mtu "$nic_mtu" 2>/dev/null
		ip link set "${n##*/}" promisc on 2>/dev/null
		# no IPv6 of the driver VM's own on the wire: its link-local address and
		# DAD/MLD would use the NIC's MAC, which is the client's
		echo 1 >"/proc/sys/net/ipv6/conf/${n##*/}/disable_ipv6" 2>/dev/null
		ip link set "${n##*/}" up && echo "${n##*/}"
	done
}
if [ "$role" = driver-vm ] && [ -n "$net_targets" ]; then
	nic_mtu=$(param ddvm_netback.nic_mtu)
	[ "$nic_mtu" = 0 ] && nic_mtu=
	nics=
	for tgt in $net_targets; do
		nics="$nics $(nic_up "$tgt")"
	done
	# up to 3 s for the links: a NIC without a cable just stays without one
	i=0
	for n in $nics; do
		while [ "$(cat "/sys/class/net/$n/carrier" 2>/dev/null)" != 1 ] && [ $i -lt 30 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	done
fi

if [ "$role" = driver-vm ]; then
	for d in /sys/bus/pci/devices/*; do
		[ -L "$d/driver" ] || continue
		drv=$(basename "$(readlink "$d/driver")")
		case "$drv" in pcieport | lpc_ich | i801_smbus | shpchp) continue ;; esac
		printf 'DDVM-PCI %s %s:%s driver=%s\n' "${d##*/}" \
			"$(sed 's/^0x//' "$d/vendor")" "$(sed 's/^0x//' "$d/device")" "$drv"
	done
fi

echo "DDVM-READY role=$role"

run=/sys/firmware/qemu_fw_cfg/by_name/opt/ddvm/run/raw
if [ -r "$run" ]; then
	cp "$run" /tmp/ddvm-run
	sh /tmp/ddvm-run
	echo "DDVM-RUN-EXIT rc=$?"
fi

if [ "$(param ddvm.poweroff)" = 1 ]; then
	sync
	poweroff -f
fi

if [ "$role" = client-vm ]; then
	echo "ddvm $role: shell on the console (reboot -f restarts the VM, poweroff -f stops it)"
else
	echo "ddvm $role: shell on the console (the supervisor restarts a driver VM that reboots or powers off)"
fi
while :; do
	setsid cttyhack /bin/sh -l # a path: busybox would run its own ash for "sh"
done
