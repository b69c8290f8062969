/* SPDX-License-Identifier: BSD-2-Clause */
/* newos: the few services its main.c needs (console.c, pci.c). */
#ifndef NEWOS_H
#define NEWOS_H

#include <stddef.h>
#include <stdint.h>

void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);

/* console.c: COM1, 115200 8N1 */
void serial_init(void);
/* %s %c %u %d %x %lu %lx (and %%) */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* pci.c: one ivshmem-doorbell device */
struct ivshmem {
	uint8_t bus, slot, func;
	volatile uint32_t *regs; /* BAR0: INTRMASK 0, INTRSTATUS 4, IVPOSITION 8, DOORBELL 12 */
	void *shm;		 /* BAR2 */
	uint64_t shm_size;
	uint32_t my_peer; /* IVPOSITION */
};

/* Find the n-th ivshmem device (1af4:1110), map BAR0 and BAR2, enable memory decoding
 * and bus mastering. 0, or -1 when there is no such device. */
int ivshmem_find(unsigned int n, struct ivshmem *dev);

/* Ring peer `peer`'s doorbell `vector`. */
void ivshmem_doorbell(struct ivshmem *dev, uint16_t peer, uint16_t vector);

/* Identity-map [phys, phys + size) (2 MiB pages) if it lies above the boot map. */
int paging_map(uint64_t phys, uint64_t size);

#endif
