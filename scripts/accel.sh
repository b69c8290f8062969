#!/bin/sh
# Print the QEMU accelerator to use: "kvm" when /dev/kvm exists *and works*, else "tcg".
# The daemon makes the same choice in C (supervisor/accel.c, `ddvm accel KERNEL`);
# tests/vm/test_accel_probe.sh checks that both agree. DDVM_ACCEL=kvm|tcg overrides.
# A /dev/kvm node can exist and still not run guests (seen on nested hosts: a boot
# sector runs, but the Linux kernel hangs right after the decompressor), so we boot the real guest kernel with no root file system and
# panic=-1: a working accelerator reaches "Kernel panic" and reboots within a second or
# two, which -no-reboot turns into an exit. The answer is cached in $DDVM_ACCEL_CACHE,
# else build/accel (tests/lib/common.sh points the daemon's cache there too).
set -eu
if [ -n "${DDVM_ACCEL:-}" ]; then
	echo "$DDVM_ACCEL"
	exit 0
fi
build=${BUILD:-$(dirname "$0")/../build}
cache=${DDVM_ACCEL_CACHE:-$build/accel}
if [ -f "$cache" ]; then
	cat "$cache"
	exit 0
fi
mkdir -p "$(dirname "$cache")"
acc=tcg
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	kernel="$build/kernel/vmlinuz"
	if [ ! -f "$kernel" ]; then
		echo "accel.sh: $kernel missing; run 'make images' first" >&2
		exit 1
	fi
	out=$(timeout 12 "${DDVM_QEMU:-qemu-system-x86_64}" -accel kvm -M q35 -m 128 -display none \
		-nodefaults -serial stdio -no-reboot -kernel "$kernel" \
		-append "console=ttyS0 panic=-1 root=/dev/ddvm-none" 2>&1 || true)
	case "$out" in *"Kernel panic"*) acc=kvm ;; esac
fi
echo "$acc" >"$cache"
echo "$acc"
