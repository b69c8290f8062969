/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The environment under the ring code: barriers, single accesses and errno values for
 * the three places ring.c is compiled — the Linux kernel, hosted user space, and
 * freestanding (-ffreestanding -nostdlib, e.g. a new OS).
 *
 * Shared memory is touched only through these macros:
 *   ddvm_load_acquire / ddvm_store_release  publish or observe an index; pairs with
 *                                           the other side's release / acquire
 *   ddvm_read32 / ddvm_write32 (and 64)     single, untorn accesses with no ordering
 *   ddvm_mb                                 full barrier (store->load ordering): needed
 *                                           by event suppression, see abi.h
 * Between VMs the kernel must use the virt_* barriers: they stay real barriers even in
 * a kernel built without SMP.
 */
#ifndef DDVM_SYS_H
#define DDVM_SYS_H

#if defined(__KERNEL__)

#include <linux/types.h>
#include <linux/string.h>
#include <linux/errno.h>
#include <linux/compiler.h>
#include <asm/barrier.h>

#define ddvm_load_acquire(p)	 virt_load_acquire(p)
#define ddvm_store_release(p, v) virt_store_release(p, v)
#define ddvm_read16(p)		 READ_ONCE(*(p))
#define ddvm_write16(p, v)	 WRITE_ONCE(*(p), (v))
#define ddvm_read32(p)		 READ_ONCE(*(p))
#define ddvm_write32(p, v)	 WRITE_ONCE(*(p), (v))
#define ddvm_read64(p)		 READ_ONCE(*(p))
#define ddvm_write64(p, v)	 WRITE_ONCE(*(p), (v))
#define ddvm_mb()		 virt_mb()
#define ddvm_memcpy		 memcpy
#define ddvm_memset		 memset

#else /* user space, hosted or freestanding */

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

/* C11 memory model through the __atomic builtins: they work on the plain fixed-width
 * fields of the wire ABI (no _Atomic in a shared header) and need no libc. */
#define ddvm_load_acquire(p)	 __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ddvm_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ddvm_read16(p)		 __atomic_load_n((p), __ATOMIC_RELAXED)
#define ddvm_write16(p, v)	 __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ddvm_read32(p)		 __atomic_load_n((p), __ATOMIC_RELAXED)
#define ddvm_write32(p, v)	 __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ddvm_read64(p)		 __atomic_load_n((p), __ATOMIC_RELAXED)
#define ddvm_write64(p, v)	 __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ddvm_mb()		 __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define ddvm_memcpy		 __builtin_memcpy
#define ddvm_memset		 __builtin_memset

#if defined(__STDC_HOSTED__) && __STDC_HOSTED__
#include <errno.h>
#else
/* Freestanding: Linux's values, so errors read the same on every side. */
#define EAGAIN		11
#define ENODEV		19
#define EINVAL		22
#define ENOSPC		28
#define ERANGE		34
#define EPROTO		71
#define EBADMSG		74
#define EPROTONOSUPPORT 93
#endif

#endif /* __KERNEL__ */

#endif /* DDVM_SYS_H */
