// SPDX-License-Identifier: BSD-2-Clause
/*
 * newos PCI: configuration space through the legacy 0xcf8/0xcfc ports, just enough to
 * find QEMU's ivshmem device, size and map its BARs, and turn on bus mastering.
 *
 * Why 64-bit long mode: ivshmem's BAR2 is a 64-bit prefetchable BAR, and firmware may
 * place it above 4 GiB. A 32-bit kernel would have to move it into a free 32-bit window
 * itself; in long mode we just identity-map wherever the firmware put it (paging_map).
 */
#include "newos.h"

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static uint32_t cfg_read(unsigned int b, unsigned int s, unsigned int f, unsigned int off)
{
	outl(PCI_ADDR, 0x80000000u | b << 16 | s << 11 | f << 8 | (off & 0xfc));
	return inl(PCI_DATA);
}

static void cfg_write(unsigned int b, unsigned int s, unsigned int f, unsigned int off, uint32_t v)
{
	outl(PCI_ADDR, 0x80000000u | b << 16 | s << 11 | f << 8 | (off & 0xfc));
	outl(PCI_DATA, v);
}

/* --- paging: more 2 MiB identity mappings above the 4 GiB the boot code mapped ------- */

extern uint64_t pml4[512];
static uint64_t pt_pool[16][512] __attribute__((aligned(4096)));
static unsigned int pt_used;

static uint64_t *pt_next(uint64_t *table, unsigned int idx)
{
	if (!(table[idx] & 1)) {
		if (pt_used == 16)
			return NULL;
		table[idx] = (uint64_t)(uintptr_t)pt_pool[pt_used++] | 3;
	}
	return (uint64_t *)(uintptr_t)(table[idx] & ~0xfffull);
}

int paging_map(uint64_t phys, uint64_t size)
{
	uint64_t a;

	for (a = phys & ~0x1fffffull; a < phys + size; a += 0x200000) {
		uint64_t *pdpt, *pd;

		if (a < (4ull << 30))
			continue; /* boot.S mapped it */
		pdpt = pt_next(pml4, (a >> 39) & 511);
		pd = pdpt ? pt_next(pdpt, (a >> 30) & 511) : NULL;
		if (!pd)
			return -1;
		pd[(a >> 21) & 511] = a | 0x83; /* present, writable, 2 MiB */
	}
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" : : : "rax", "memory");
	return 0;
}

/* --- the device -------------------------------------------------------------------- */

/* Size a memory BAR (and the next one for a 64-bit BAR): write ones, read the mask. */
static uint64_t bar_size(unsigned int b, unsigned int s, unsigned int f, unsigned int off, int is64)
{
	uint32_t lo = cfg_read(b, s, f, off), hi = is64 ? cfg_read(b, s, f, off + 4) : 0;
	uint64_t mask;

	cfg_write(b, s, f, off, 0xffffffffu);
	if (is64)
		cfg_write(b, s, f, off + 4, 0xffffffffu);
	mask = cfg_read(b, s, f, off) & ~0xfull;
	mask |= is64 ? (uint64_t)cfg_read(b, s, f, off + 4) << 32 : 0xffffffff00000000ull;
	cfg_write(b, s, f, off, lo);
	if (is64)
		cfg_write(b, s, f, off + 4, hi);
	return ~mask + 1;
}

int ivshmem_find(unsigned int n, struct ivshmem *dev)
{
	unsigned int b, s, f, seen = 0;

	for (b = 0; b < 256; b++) {
		for (s = 0; s < 32; s++) {
			for (f = 0; f < 8; f++) {
				uint32_t id = cfg_read(b, s, f, 0), cmd, bar0, bar2;
				int is64;

				if ((id & 0xffff) == 0xffff) {
					if (f == 0)
						break; /* no device in this slot */
					continue;
				}
				if (id != 0x11101af4 || seen++ != n)
					continue;
				dev->bus = (uint8_t)b;
				dev->slot = (uint8_t)s;
				dev->func = (uint8_t)f;
				/* decoding off while the BARs are sized */
				cmd = cfg_read(b, s, f, 4) & 0xffff;
				cfg_write(b, s, f, 4, cmd & ~0x7u);
				bar0 = cfg_read(b, s, f, 0x10);
				bar2 = cfg_read(b, s, f, 0x18);
				is64 = ((bar2 >> 1) & 3) == 2;
				dev->shm_size = bar_size(b, s, f, 0x18, is64);
				dev->regs = (volatile uint32_t *)(uintptr_t)(bar0 & ~0xfu);
				dev->shm =
				    (void *)(uintptr_t)((bar2 & ~0xfull) |
							(is64 ? (uint64_t)cfg_read(b, s, f, 0x1c)
								    << 32
							      : 0));
				/* memory space + bus master (QEMU drops MSI writes without it) */
				cfg_write(b, s, f, 4, cmd | 0x6);
				if (paging_map((uint64_t)(uintptr_t)dev->shm, dev->shm_size))
					return -1;
				dev->my_peer = dev->regs[2];
				return 0;
			}
		}
	}
	return -1;
}

void ivshmem_doorbell(struct ivshmem *dev, uint16_t peer, uint16_t vector)
{
	dev->regs[3] = (uint32_t)peer << 16 | vector;
}
