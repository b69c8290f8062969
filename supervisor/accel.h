/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Which QEMU accelerator the VMs run under, and what it implies for -cpu and -smp.
 * The one probe: `ddvm up`, `ddvm accel KERNEL` (which the shell tests, the demo and
 * the benchmarks call: tests/lib/common.sh ddvm_accel) and an installed ddvm alike.
 */
#ifndef DDVM_ACCEL_H
#define DDVM_ACCEL_H

#include <stddef.h>

#define ACCEL_PROBE_TIMEOUT_MS 12000

/* "kvm" or "tcg" into OUT: $DDVM_ACCEL, else the cache ($DDVM_ACCEL_CACHE, else
 * ${XDG_CACHE_HOME:-$HOME/.cache}/ddvm/accel), else probe (and cache the answer).
 * KERNEL: a guest kernel to boot for the probe. Never fails: tcg when in doubt. */
void accel__pick(const char *qemu, const char *kernel, char *out, size_t len);
/* /dev/kvm (DEV) opens read-write, speaks KVM API 12 and creates a VM. */
int accel__kvm_usable(const char *dev);
/* KERNEL, booted under KVM with no root file system and panic=-1, reaches its panic
 * within TIMEOUT_MS. 1 yes, 0 no, -errno when QEMU could not be run. */
int accel__kvm_boots(const char *qemu, const char *kernel, unsigned timeout_ms);

/* -cpu for ACCEL ("host" for kvm; QEMU's default model with RDRAND for tcg), or NULL
 * for QEMU's default. */
const char *accel_cpu(const char *accel);
/* -smp for a VM of CPUS vCPUs under ACCEL. */
void accel_smp(const char *accel, unsigned cpus, char *buf, size_t len);

#endif /* DDVM_ACCEL_H */
