#!/bin/bash
# Build a ddvm guest initramfs from busybox-static, Debian's stock kernel modules
# (unpacked by images/kernel.sh fetch) and, for the client VM, real tools with their
# shared libraries.
#
#   images/build-initramfs.sh driver-vm   -> build/images/driver-vm.cpio.gz
#   images/build-initramfs.sh client-vm   -> build/images/client-vm.cpio.gz
#
# ddvm's own kernel modules are picked up from build/modules/ROLE/*.ko (none is fine)
# and land in /lib/modules/REL/extra/, so `modprobe NAME` works in the guest.
# Cheap to call: the inputs are hashed and nothing is rebuilt when they are unchanged.
set -eu

ROLE=${1:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
# absolute: module paths are matched against it (a relative one packs an image whose
# modules are in the wrong place, and the guest then loads none)
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
# One spelling of the path (no "//", ".." or symlinks): modprobe prints canonical
# paths, and the module staging below strips KROOT's prefix off them.
[ -d "$BUILD" ] && BUILD=$(cd "$BUILD" && pwd -P)
KROOT=$BUILD/kernel/root
OUTDIR=$BUILD/images
OUT=$OUTDIR/$ROLE.cpio.gz
STAMP=$OUTDIR/.$ROLE.inputs
KOS_DIR=$BUILD/modules/$ROLE

die() { echo "build-initramfs.sh: $*" >&2; exit 1; }

# --- what goes in ------------------------------------------------------------------
# pvpanic_mmio drives QEMU's ISA "-device pvpanic" (a guest panic becomes a QMP event),
# pvpanic_pci its PCI sibling.
COMMON_MODULES="qemu_fw_cfg virtio_pci pvpanic_mmio pvpanic_pci virtio_balloon"
# The driver VM's matrix: every driver that binds to a device QEMU 7.2 emulates
# (xhci_pci + usb_storage: a USB disk, `model = usb-storage`, on its own qemu-xhci;
# usbnet + cdc_ether: QEMU's `usb-net`, `model = usb-net`, whose CDC Ethernet
# configuration Linux picks; on its own qemu-xhci too).
DRIVER_NET="e1000 e1000e 8139cp 8139too pcnet32 ne2k-pci virtio_net vmxnet3 e100 tulip
            usbnet cdc_ether"
DRIVER_DISK="nvme ahci ata_piix virtio_blk virtio_scsi sd_mod megaraid_sas sym53c8xx
             mptsas vmw_pvscsi am53c974 xhci_pci usb_storage"
CLIENT_MODULES="virtio_net virtio_blk virtio_scsi sd_mod e1000 ext4"
# In the client image but not loaded at boot (they take parameters, e.g.
# `modprobe brd rd_nr=1 rd_size=65536`; nvme: the "native" side of the blk benchmark,
# a client VM owning the emulated nvme itself, ddvm.load=nvme; macvlan: a second MAC
# behind a channel, what a client running containers sends, test_net_shared).
CLIENT_ONDEMAND="brd loop uio_pci_generic nvme macvlan"
# Real tools for the client VM (busybox supplies the rest, sha256sum included).
# bash becomes /bin/sh there: busybox-static's ash runs its own applets in preference to
# $PATH, so under it `ip` or `ping` would be busybox's, not iproute2's or iputils'.
CLIENT_TOOLS="bash iperf3 fio mkfs.ext4 mke2fs e2fsck fsck.ext4 ping ip ethtool"
# Libraries only needed by fio's optional engines (rbd, rados, glusterfs, nbd, rdma,
# pmem): replaced by stubs whose functions abort, which keeps ~80 MB (ceph, ICU, ...)
# out of the image. fio's sync, psync, libaio, io_uring and mmap engines are unaffected.
STUB_LIBS="librbd.so.1 librados.so.2 libgfapi.so.0 libnbd.so.0 libibverbs.so.1
           librdmacm.so.1 libpmem.so.1 libpmemblk.so.1"

case "$ROLE" in
driver-vm) MODULES="$COMMON_MODULES $DRIVER_NET $DRIVER_DISK" ONDEMAND="" TOOLS="" ;;
client-vm) MODULES="$COMMON_MODULES $CLIENT_MODULES" ONDEMAND=$CLIENT_ONDEMAND TOOLS=$CLIENT_TOOLS ;;
*) die "usage: $0 driver-vm|client-vm" ;;
esac

[ -f "$BUILD/kernel/release" ] || die "no kernel unpacked in $BUILD/kernel: run 'images/kernel.sh fetch' (or 'make images')"
REL=$(cat "$BUILD/kernel/release")
MODDIR=$KROOT/lib/modules/$REL
[ -d "$MODDIR" ] || die "$MODDIR missing: run 'images/kernel.sh fetch'"
for t in depmod modprobe cpio gzip readelf nm strip; do
	command -v "$t" >/dev/null || die "$t not found (run 'make deps')"
done
BUSYBOX=/bin/busybox
if [ ! -x "$BUSYBOX" ] || readelf -l "$BUSYBOX" 2>/dev/null | grep -q 'program interpreter'; then
	die "$BUSYBOX is not a static busybox: apt-get install busybox-static (or 'make deps')"
fi

tool_paths=""
for t in $TOOLS; do
	p=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$t" || true)
	if [ -z "$p" ]; then
		notes="${notes:-}build-initramfs.sh: note: $t not installed on the host, left out of $ROLE\n"
		continue
	fi
	tool_paths="$tool_paths $p"
done

# --- up to date? -------------------------------------------------------------------
kos=$(ls "$KOS_DIR"/*.ko 2>/dev/null || true)
inputs=$(
	echo "$REL $MODULES $ONDEMAND $STUB_LIBS"
	# shellcheck disable=SC2086 # $kos and $tool_paths are lists of paths, one a word
	sha256sum "$ROOT/images/build-initramfs.sh" "$ROOT/images/init.sh" "$ROOT/images/hotplug.sh" "$BUSYBOX" \
		$kos $tool_paths 2>/dev/null | sed "s|  $ROOT/|  |"
)
mkdir -p "$OUTDIR"
if [ -f "$OUT" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$inputs" ]; then
	exit 0
fi
start=$(date +%s%N)
printf '%b' "${notes:-}" >&2

# --- module closure ----------------------------------------------------------------
# modules.dep of the unpacked tree (the .deb ships none: depmod runs at install time).
if [ ! -f "$MODDIR/modules.dep" ] || [ "$MODDIR/modules.dep" -ot "$MODDIR/modules.order" ]; then
	depmod -b "$KROOT" "$REL"
fi

STAGE=$(mktemp -d "$OUTDIR/.$ROLE.XXXXXX")
trap 'rm -rf "$STAGE" "${tmp:-}"' EXIT
mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc/ddvm,proc,sys,dev,tmp,run,root,mnt,var/tmp}
ln -s lib "$STAGE/usr/lib"

smod=$STAGE/lib/modules/$REL
mkdir -p "$smod/extra"
for m in $MODULES $ONDEMAND; do
	deps=$(modprobe -C /dev/null -d "$KROOT" -S "$REL" --show-depends "$m" 2>&1) ||
		die "module $m not found in $MODDIR: $deps"
	echo "$deps" | while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		case $path in
		"$MODDIR"/*) rel=${path#"$MODDIR"/} ;;
		*) die "modprobe named $path, outside $MODDIR" ;;
		esac
		[ -f "$smod/$rel" ] && continue
		mkdir -p "$(dirname "$smod/$rel")"
		cp "$path" "$smod/$rel"
	done
done
for f in $kos; do
	cp "$f" "$smod/extra/"
	strip --strip-debug "$smod/extra/${f##*/}" # debug info stays in build/modules/
done
cp "$MODDIR"/modules.order "$MODDIR"/modules.builtin "$MODDIR"/modules.builtin.modinfo "$smod/"
depmod -b "$STAGE" "$REL" || die "depmod failed on the staged modules"
echo "$MODULES" | tr -s ' \n' '\n' | sed '/^$/d' >"$STAGE/etc/ddvm/modules"
for f in $kos; do basename "$f" .ko; done >"$STAGE/etc/ddvm/extra-modules"

# --- busybox, /init ----------------------------------------------------------------
cp "$BUSYBOX" "$STAGE/bin/busybox"
for a in $("$BUSYBOX" --list-full); do
	[ -e "$STAGE/$a" ] || ln -s /bin/busybox "$STAGE/$a"
done
install -m 0755 "$ROOT/images/init.sh" "$STAGE/init"
install -m 0755 "$ROOT/images/hotplug.sh" "$STAGE/sbin/ddvm-hotplug"
# mdev -d (started by /init) runs the helper for every disk uevent and never creates
# or deletes a node itself ("!"): devtmpfs owns /dev. mdev handles uevents late, so a
# node it deleted for a "remove" could be the one devtmpfs had just made for the next
# "add" (rmmod + modprobe of ddvm_blkfront: /dev/ddvmblk0 existed, then vanished).
# In a driver VM a device that appears after /init's coldplug (a SCSI disk, a USB
# device) gets its driver by its modalias; the rule does not end the match ("-").
# Not for ivshmem (1af4:1110): the channels' modules are loaded by kind (/init), and
# every ddvm module's alias matches every channel.
{
	if [ "$ROLE" = driver-vm ]; then
		echo 'MODALIAS=pci:v00001AF4d00001110.*;.* 0:0 660 !'
		# shellcheck disable=SC2016 # $MODALIAS is mdev's to expand
		echo '-MODALIAS=.+;.* 0:0 660 ! @modprobe -q "$MODALIAS"'
	fi
	echo 'SUBSYSTEM=block;DEVTYPE=disk;.* 0:0 660 ! */sbin/ddvm-hotplug'
	echo '.* 0:0 660 !'
} >"$STAGE/etc/mdev.conf"
echo "$ROLE" >"$STAGE/etc/ddvm/role"
echo "root:x:0:0:root:/root:/bin/sh" >"$STAGE/etc/passwd"
echo "root:x:0:" >"$STAGE/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$STAGE/etc/hosts"
cat >"$STAGE/etc/profile" <<'EOF'
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
PS1="$(hostname)# "
EOF

# --- tools and their shared libraries ----------------------------------------------
is_stub() { # SONAME: one of STUB_LIBS?
	local s
	for s in $STUB_LIBS; do [ "$s" = "$1" ] && return 0; done
	return 1
}
needed() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

declare -A libpath=() copied=() stubsyms=()
copy_lib() { # SONAME (resolved through libpath) -> /lib/, recursively
	local so=$1 p n
	[ -z "${copied[$so]:-}" ] || return 0
	case "$so" in ld-linux*) return 0 ;; esac # the loader is copied on its own
	copied[$so]=1
	p=${libpath[$so]:-}
	[ -n "$p" ] || die "cannot resolve $so"
	cp -L "$p" "$STAGE/lib/$so"
	for n in $(needed "$p"); do
		is_stub "$n" && die "$so needs $n, which is only stubbed"
		copy_lib "$n"
	done
}

if [ -n "$tool_paths" ]; then
	command -v ldd >/dev/null || die "ldd not found"
	for p in $tool_paths; do
		# soname -> path for the whole closure, as the host's loader resolves it
		while read -r so _ path _; do
			[ -n "$path" ] && [ "${path#/}" != "$path" ] && libpath[$so]=$path
		done < <(ldd "$p" | grep '=> /')
		dst=$STAGE/usr/bin
		case "$p" in */sbin/*) dst=$STAGE/usr/sbin ;; esac
		cp -L "$p" "$dst/"
		for n in $(needed "$p"); do
			if is_stub "$n"; then
				stubsyms[$n]="${stubsyms[$n]:-} $(nm -D --undefined-only "$p" | awk '{print $2}')"
			else
				copy_lib "$n"
			fi
		done
	done
	# the dynamic loader, where binaries look for it
	interp=$(readelf -l "${tool_paths%% *}" 2>/dev/null | sed -n 's/.*interpreter: \(.*\)\]/\1/p' | head -n1)
	interp=${interp:-/lib64/ld-linux-x86-64.so.2}
	mkdir -p "$STAGE/$(dirname "$interp")"
	cp -L "$interp" "$STAGE/$interp"
	[ -e "$STAGE/lib/$(basename "$interp")" ] || cp -L "$interp" "$STAGE/lib/"
	mkdir -p "$STAGE/lib/x86_64-linux-gnu"
	# stub libraries: every symbol the tools import from them, versioned like the real
	# library, each an abort()
	if [ ${#stubsyms[@]} -gt 0 ]; then
		command -v cc >/dev/null || die "cc not found (needed to build stub libraries; run 'make deps')"
		sdir=$STAGE/.stubs
		mkdir -p "$sdir"
		for so in "${!stubsyms[@]}"; do
			real=${libpath[$so]:-}
			[ -n "$real" ] || die "cannot resolve $so for its stub"
			# the symbols (with version) the real library defines that the tools import
			nm -D --defined-only "$real" | awk '{print $3}' | sort -u >"$sdir/def"
			echo "${stubsyms[$so]}" | tr ' ' '\n' | sed '/^$/d' | sort -u >"$sdir/imp"
			# one stub function per symbol; versioned ones go into their version node
			awk -v c="$sdir/$so.c" -v map="$sdir/$so.map" '
				FNR == NR { n = $0; sub(/@.*/, "", n); def[n] = 1; next }
				{
					n = $0; v = ""
					if (index(n, "@")) { v = substr(n, index(n, "@") + 1); sub(/^@/, "", v); sub(/@.*/, "", n) }
					if (!(n in def) || (n in seen)) next
					seen[n] = 1
					printf "void %s(void) { __builtin_trap(); }\n", n > c
					if (v == "") plain = plain " " n ";"; else { nodes[v] = nodes[v] " " n ";" }
				}
				END {
					printf "" > c
					for (v in nodes) printf "%s { global:%s };\n", v, nodes[v] > map
					if (plain != "") printf "{ global:%s local: *; };\n", plain > map
					else printf "" > map
				}' "$sdir/def" "$sdir/imp"
			[ -s "$sdir/$so.map" ] || echo "{ local: *; };" >"$sdir/$so.map"
			cc -shared -fPIC -nostdlib -o "$STAGE/lib/$so" -Wl,-soname,"$so" \
				-Wl,--version-script="$sdir/$so.map" "$sdir/$so.c" ||
				die "building stub $so failed"
		done
		rm -rf "$sdir"
	fi
	strip --strip-unneeded "$STAGE"/lib/*.so* 2>/dev/null || true
fi

if [ -x "$STAGE/usr/bin/bash" ]; then
	ln -sfn /usr/bin/bash "$STAGE/bin/sh"
	ln -sfn /usr/bin/bash "$STAGE/bin/bash"
fi

# --- pack --------------------------------------------------------------------------
tmp=$(mktemp "$OUT.XXXXXX") # concurrent builds must not share it
(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -6 -n >"$tmp"
chmod 0644 "$tmp"
mv "$tmp" "$OUT"
echo "$inputs" >"$STAMP"
ms=$((($(date +%s%N) - start) / 1000000))
printf 'build-initramfs.sh: %s: %s (%s modules, %s KiB compressed, %d.%ds)\n' \
	"$ROLE" "${OUT#"$ROOT"/}" "$(find "$smod" -name '*.ko' | wc -l)" \
	"$(($(stat -c %s "$OUT") / 1024))" $((ms / 1000)) $((ms % 1000 / 100))
