#!/bin/bash
# timeout: 400
# Every disk controller of the driver image through `ddvm up`, with the config users
# copy (examples/disks.ini, paths substituted): one driver VM owns eleven disks, each on
# its own controller by `model =` alone -- nvme, virtio-blk-pci, ahci (ide-hd on it),
# virtio-scsi-pci, megasas, megasas-gen2, lsi53c895a, pvscsi, am53c974 (scsi-hd on
# each), usb-storage (on its own qemu-xhci), and a virtio-scsi disk with 4096-byte
# logical blocks (props) on cache = none, aio = native. One client VM uses them all;
# its run script (examples/disks/client-run.sh) makes ext4 on each, writes a file of
# random data, runs e2fsck and reads the file back by checksum; the 4Kn disk must
# refuse a 512-byte O_DIRECT read and take a 4096-byte one. Checked here: one ok line
# per disk, each from the driver expected for its controller, no error on any channel.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"

ex=$DDVM_ROOT/examples
t_need_file "$ex/disks.ini"
mkdir -p "$T/disks"
# the example with this run's paths: kernel/images from sup_config, images in $T
sup_example disks disks -e "s|= *\.\./build/disks-|= $T/disks/|" \
	-e "s|^run *= *disks/|run = $ex/disks/|"
# [ddvm] appears twice now (sup_config's and the example's): keep sup_config's keys
awk 'BEGIN { n = 0 } /^\[ddvm\]/ { if (n++) next } { print }' "$T/disks.ini" >"$T/d.ini"
mv "$T/d.ini" "$T/disks.ini"
grep -q "^image = $T/disks/" "$T/disks.ini" || t_fail "examples/disks.ini: no image path to substitute"
# the images are created by `ddvm up` (size = 64M)

# controller -> the driver the translation module reports (the nearest PCI or virtio
# ancestor of the disk in the driver VM)
declare -A want=(
	[ddvmblk0]="nvme 512" [ddvmblk1]="virtio_blk 512" [ddvmblk2]="ahci 512"
	[ddvmblk3]="virtio_scsi 512" [ddvmblk4]="megaraid_sas 512" [ddvmblk5]="megaraid_sas 512"
	[ddvmblk6]="sym53c8xx 512" [ddvmblk7]="vmw_pvscsi 512" [ddvmblk8]="am53c974 512"
	[ddvmblk9]="xhci_hcd 512" [ddvmblk10]="virtio_scsi 4096"
)

t0=$(now_ms)
sup_up "$T/disks.ini"
keep=$BUILD/test-logs/$(basename "$0" .sh)-run
t_on_exit "rm -rf '$keep'; mkdir -p '$keep'; cp '$DDVM_RUNDIR'/*.log '$keep'/ 2>/dev/null"
grep -a '^DDVM-PCI' "$DDVM_RUNDIR/diskvm.log" | grep -v ddvm_blkback | sed 's/^/    /'
sup_wait_console app '^DISKS-DONE' 300
t_log "client done $(($(now_ms) - t0)) ms after ddvm up"
grep -a '^DISKS-' "$DDVM_RUNDIR/app.log" | tr -d '\r' | sed 's/^/    /'

fails=()
for d in "${!want[@]}"; do
	read -r drv lbs <<<"${want[$d]}"
	line=$(grep -a "^DISKS-RESULT $d " "$DDVM_RUNDIR/app.log" | tr -d '\r' | tail -n 1)
	case "$line" in
	"DISKS-RESULT $d driver=$drv lbs=$lbs ok"*) ;;
	*) fails+=("$d (want $drv, lbs $lbs): ${line:-no result}") ;;
	esac
done
grep -aq '^DISKS-DONE disks=11 of 11 fail=0' "$DDVM_RUNDIR/app.log" || fails+=("not 11 disks, or a failure")
bad=$("$DDVM" status --json | jq -r '.channels[] | select(.errors != 0) | "\(.name): \(.errors)"')
[ -z "$bad" ] || fails+=("protocol errors on channels: $bad")
# a controller's driver that oopses once has the driver VM (oops=panic) restarted and
# the client carry on: a bug all the same
[ "$(sup_vm_field diskvm restarts)" = 0 ] ||
	fails+=("the driver VM restarted $(sup_vm_field diskvm restarts) times: $(grep -a 'diskvm: FAILED' "$DDVM_RUNDIR/ddvm.log" | head -n 1)")
((${#fails[@]} == 0)) || t_fail "${fails[*]}"
t_log "11 disks on 10 controller models through ddvm up: mkfs.ext4, e2fsck, checksums ok; the 4Kn disk refused 512-byte I/O"
echo SUCCESS
