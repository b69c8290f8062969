# shellcheck shell=bash
# Helpers shared by tests/vm/test_blk_*.sh (sourced after tests/lib/common.sh).
#
# A blk test serves each disk through one channel (build/bin/ddvm-chan), boots a driver
# VM that owns the emulated controllers and loads ddvm_blkback, and a client VM that
# loads ddvm_blkfront. Channel N sits at PCI slot 0x10+N in both VMs, so the client's
# /dev/ddvmblkN is channel N. The driver VM names each disk by the PCI address of its
# controller (/dev/disk/by-pci/BDF, made by the driver VM's run script: the image has
# no udev), which is what each channel's backend_target says.

BLK_IMG_MB=${BLK_IMG_MB:-64}

blk_need_build() {
	t_need_file "$DDVM_CHAN"
	t_need_file "$BUILD/modules/driver-vm/ddvm_blkback.ko"
	t_need_file "$BUILD/modules/client-vm/ddvm_blkfront.ko"
	t_need_file "$DDVM_DRIVER_INITRD"
	t_need_file "$DDVM_CLIENT_INITRD"
	local f
	for f in driver-vm/ddvm_blkback client-vm/ddvm_blkfront; do
		case "$(zcat "$BUILD/images/${f%/*}.cpio.gz" | cpio -it --quiet 2>/dev/null)" in
		*"extra/${f#*/}.ko"*) ;;
		*) t_fail "the ${f%/*} image lacks ${f#*/}.ko: rebuild the images" ;;
		esac
	done
}

# Controller models: NAME -> PCI address of the controller in the driver VM
# (machine "pc": the PIIX IDE controller is the board's, at 00:01.1).
declare -A BLK_BDF=(
	[nvme]=0000:00:04.0 [ahci]=0000:00:05.0 [piix]=0000:00:01.1
	[virtio-blk]=0000:00:06.0 [virtio-scsi]=0000:00:07.0 [megasas]=0000:00:08.0
	[virtio-blk2]=0000:00:09.0
)
# ... and the Linux driver that must bind it (at the PCI level: virtio_blk and
# virtio_scsi bind the virtio device below virtio-pci).
# shellcheck disable=SC2034 # used by the scripts that source this
declare -A BLK_DRIVER=(
	[nvme]=nvme [ahci]=ahci [piix]=ata_piix [virtio-blk]=virtio-pci
	[virtio-scsi]=virtio-pci [megasas]=megaraid_sas [virtio-blk2]=virtio-pci
)

# blk_disk_args NAME IMAGE -> QEMU arguments for the controller and its disk
blk_disk_args() {
	local n=$1 img=$2 id slot
	id=d${n//-/_}
	slot=0x${BLK_BDF[$n]:8:2}
	printf -- '-drive\nfile=%s,if=none,id=%s,format=raw,cache=writeback\n' "$img" "$id"
	case $n in
	nvme) printf -- '-device\nnvme,drive=%s,serial=ddvm%s,addr=%s\n' "$id" "$n" "$slot" ;;
	ahci)
		printf -- '-device\nich9-ahci,id=ahci,addr=%s\n' "$slot"
		printf -- '-device\nide-hd,drive=%s,bus=ahci.0\n' "$id"
		;;
	piix) printf -- '-device\nide-hd,drive=%s,bus=ide.0,unit=0\n' "$id" ;;
	virtio-blk | virtio-blk2) printf -- '-device\nvirtio-blk-pci,drive=%s,addr=%s\n' "$id" "$slot" ;;
	virtio-scsi)
		printf -- '-device\nvirtio-scsi-pci,id=vscsi,addr=%s\n' "$slot"
		printf -- '-device\nscsi-hd,drive=%s,bus=vscsi.0\n' "$id"
		;;
	megasas)
		printf -- '-device\nmegasas,id=mega,addr=%s\n' "$slot"
		printf -- '-device\nscsi-hd,drive=%s,bus=mega.0\n' "$id"
		;;
	*) t_fail "unknown controller $n" ;;
	esac
}

# blk_chan_start NAME TARGET — serve a blk channel in $T/ch-NAME.
blk_chan_start() {
	ddvm_chan_start "$1" --kind blk --target "$2" --vectors 2
}

# blk_chan_args INDEX NAME ROLE -> QEMU arguments for channel INDEX (slot 0x10+INDEX)
blk_chan_args() {
	local i=$1 name=$2 role=$3
	printf -- '-chardev\nsocket,id=ch%d,path=%s/%s.sock\n' "$i" "$T/ch-$name" "$role"
	printf -- '-device\nivshmem-doorbell,chardev=ch%d,vectors=2,addr=0x%x\n' "$i" $((0x10 + i))
}

# blk_driver_script FILE NAME... — the driver VM's run script: name each disk by its
# controller's PCI address, load ddvm_blkback, then stay up.
blk_driver_script() {
	local f=$1 want="" n
	shift
	for n in "$@"; do want="$want ${BLK_BDF[$n]}"; done
	cat >"$f" <<EOF
want="$want"
mkdir -p /dev/disk/by-pci
i=0
while [ \$i -lt 300 ]; do
	for b in /sys/block/*; do
		[ -e \$b/device ] || continue
		bdf=\$(readlink -f \$b/device | sed -n 's,^/sys/devices/pci0000:00/\(0000:00:[0-9a-f]*\.[0-7]\)/.*,\1,p')
		[ -n "\$bdf" ] && [ ! -e /dev/disk/by-pci/\$bdf ] && ln -s /dev/\${b##*/} /dev/disk/by-pci/\$bdf
	done
	missing=""
	for w in \$want; do [ -e /dev/disk/by-pci/\$w ] || missing="\$missing \$w"; done
	[ -z "\$missing" ] && break
	sleep 0.1
	i=\$((i + 1))
done
ls -l /dev/disk/by-pci
[ -z "\$missing" ] || echo "BLK-DRIVER-MISSING\$missing"
modprobe ddvm_blkback || echo "BLK-DRIVER-NOMOD"
echo BLK-DRIVER-UP
${BLK_DRIVER_LOOP:-while :; do sleep 3600; done}
EOF
}

# blk_driver_vm NAME MACHINE SCRIPT ARGS... — boot the driver VM (machine pc or q35)
blk_driver_vm() {
	local name=$1 machine=$2 script=$3
	shift 3
	VM_MACHINE=$machine VM_MEM=${DRIVER_MEM:-256} vm_start "$name" "$DDVM_DRIVER_INITRD" \
		"${BLK_DRV_APPEND:-loglevel=5}" -fw_cfg name=opt/ddvm/run,file="$script" "$@"
}

# blk_nvme_driver_vm NAME IMAGE — the usual setup of the client tests: driver VM NAME
# drives raw IMAGE with its unmodified nvme driver and serves it over channel "nvme"
# (the client's socket: $T/ch-nvme/frontend.sock; the channel is started by the first
# call, a later call is a new driver VM on the same channel). Returns once
# ddvm_blkback is loaded.
blk_nvme_driver_vm() {
	local name=$1 img=$2 args
	[ -f "$T/ch-nvme/chan.pid" ] || blk_chan_start nvme "disk/by-pci/${BLK_BDF[nvme]}"
	mapfile -t args < <(blk_disk_args nvme "$img")
	mapfile -t -O ${#args[@]} args < <(blk_chan_args 0 nvme backend)
	blk_driver_script "$T/driver-$name.sh" nvme
	blk_driver_vm "$name" pc "$T/driver-$name.sh" "${args[@]}"
	vm_wait "$name" 'BLK-DRIVER-UP' 90
}

# blk_client_vm NAME SCRIPT ARGS... — boot a client VM whose run script SCRIPT runs
# after ddvm_blkfront is loaded.
blk_client_vm() {
	local name=$1 script=$2
	shift 2
	VM_MEM=${CLIENT_MEM:-384} VM_CPUS=${CLIENT_CPUS:-1} vm_start "$name" "$DDVM_CLIENT_INITRD" \
		"ddvm.load=ddvm_blkfront ${BLK_CLI_APPEND:-}" -fw_cfg name=opt/ddvm/run,file="$script" "$@"
}

# blk_wait_disks N — client-side shell snippet: wait for /dev/ddvmblk0..N-1
blk_wait_disks_sh() {
	cat <<EOF
i=0
while [ \$i -lt 600 ]; do
	ok=1
	for n in \$(seq 0 $(($1 - 1))); do [ -b /dev/ddvmblk\$n ] || ok=0; done
	[ \$ok = 1 ] && break
	sleep 0.1
	i=\$((i + 1))
done
[ \$ok = 1 ] || { echo "BLK-CLIENT-NODISK"; dmesg | tail -20; exit 1; }
EOF
}

# vm_no_oops NAME — fail if the VM's console shows a kernel oops, BUG or panic
vm_no_oops() {
	if grep -Eq "$T_KERNEL_TROUBLE" "$T/$1.console"; then
		grep -E -A20 "$T_KERNEL_TROUBLE" "$T/$1.console" | head -40
		t_fail "vm $1: kernel oops/BUG/panic/WARNING on the console"
	fi
	kill -0 "$(cat "$T/$1.pid")" 2>/dev/null || t_fail "vm $1 died"
}

# Keep the consoles and channel logs of the last run in build/test-logs/NAME/.
BLK_LOGDIR=$BUILD/test-logs/$(basename "$0" .sh)
rm -rf "$BLK_LOGDIR"
mkdir -p "$BLK_LOGDIR"
t_on_exit "cp $T/*.console $T/*.sh '$BLK_LOGDIR/' 2>/dev/null; for d in $T/ch-*; do cp \$d/log '$BLK_LOGDIR/'\${d##*/}.log; done"

# blk_qmp VM COMMAND — run one QMP command on VM, print the JSON "return" value
blk_qmp() {
	python3 - "$T/$1.qmp" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
f = s.makefile("rw")
json.loads(f.readline())  # greeting
for cmd in ("qmp_capabilities", sys.argv[2]):
    f.write(json.dumps({"execute": cmd}) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            break
if "error" in r:
    sys.exit("qmp: %s" % r["error"])
print(json.dumps(r["return"]))
PY
}

# blk_flushes VM DRIVE — flush operations QEMU's block layer did for DRIVE (-drive id)
blk_flushes() {
	blk_qmp "$1" query-blockstats | python3 -c '
import json, sys
for d in json.load(sys.stdin):
    if d.get("device") == sys.argv[1]:
        print(d["stats"]["flush_operations"]); break
else:
    sys.exit("no drive " + sys.argv[1])' "$2"
}
