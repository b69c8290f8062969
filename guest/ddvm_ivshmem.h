/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Guest-side transport shared by every ddvm kernel module (translation modules in the
 * driver VM, client drivers in a client VM): binds one QEMU ivshmem-doorbell PCI
 * device, maps its shared memory, attaches to (validates) the ddvm region in it, sets
 * up its MSI-X vectors and rings the peer's doorbells.
 *
 * ivshmem registers (BAR0): INTRMASK 0, INTRSTATUS 4, IVPOSITION 8 (our peer id),
 * DOORBELL 12 (write (peer << 16) | vector). BAR2: the shared memory.
 * Peer -> us interrupts are MSI-X; QEMU drops them unless bus mastering is on, which is
 * why probe calls pci_set_master() (see docs/porting.md, step 2).
 */
#ifndef DDVM_IVSHMEM_H
#define DDVM_IVSHMEM_H

#include <linux/pci.h>
#include <linux/interrupt.h>
#include <linux/memremap.h>
#include "region.h"

#define DDVM_IVSHMEM_VENDOR 0x1af4
#define DDVM_IVSHMEM_DEVICE 0x1110

struct ddvm_ivshmem;

/* Called in hard-irq context for each doorbell vector that fired. */
typedef void (*ddvm_ivshmem_irq_fn)(struct ddvm_ivshmem *t, unsigned int vector);

struct ddvm_ivshmem {
	struct pci_dev *pdev;
	void __iomem *regs; /* BAR0 */
	void *shm;	    /* BAR2, mapped write-back */
	resource_size_t shm_size;
	struct ddvm_region rg; /* validated private view */
	enum ddvm_side side;
	u32 my_peer; /* IVPOSITION */
	int nvec;
	ddvm_ivshmem_irq_fn irq_fn;
	void *priv;
	char name[32];
	/* ddvm_ivshmem_map_pages(): struct pages for [pages_start, pages_end) of BAR2 */
	struct dev_pagemap pgmap;
	resource_size_t pages_start, pages_end; /* BAR2 offsets; equal: no pages */
};

/* Bind: enable, map, attach the region (refusing a malformed one), check that it
 * carries `kind`, allocate vectors and request their interrupts. Returns -ENODEV for
 * a region of another kind (so another ddvm driver may bind the device). */
int ddvm_ivshmem_probe(struct ddvm_ivshmem *t, struct pci_dev *pdev, enum ddvm_side side, u32 kind,
		       ddvm_ivshmem_irq_fn fn, void *priv);
void ddvm_ivshmem_remove(struct ddvm_ivshmem *t);

/* Ring the other side's doorbell `vector`. The peer id is read from the header each
 * time (the supervisor may change it across restarts); a nonsense id only rings a
 * doorbell that nobody listens to. */
void ddvm_ivshmem_kick(struct ddvm_ivshmem *t, unsigned int vector);

/* Backend only: tell the supervisor "healthy" by ringing the doorbell of its private
 * peer (DDVM_PEER_SUPERVISOR, vector 0), which only the driver VM was given: unlike
 * anything in the region, a client cannot forge it. Call once per heartbeat period,
 * and only when healthy. */
void ddvm_ivshmem_health(struct ddvm_ivshmem *t);

/*
 * Driver VM only: give BAR2 struct pages (ZONE_DEVICE, MEMORY_DEVICE_GENERIC), so that
 * a bio may point at shared memory and the disk's controller DMAs straight into it (to
 * QEMU the BAR is RAM, so an emulated device's DMA to these guest-physical addresses
 * lands in the shared region). Only the 2 MiB-aligned part of the BAR gets pages (the
 * subsection granularity of memory hotplug). Returns 0 or a negative errno (then
 * ddvm_ivshmem_page() is always NULL). Undo with ddvm_ivshmem_unmap_pages() once no
 * I/O uses the pages, before ddvm_ivshmem_remove().
 */
int ddvm_ivshmem_map_pages(struct ddvm_ivshmem *t);
void ddvm_ivshmem_unmap_pages(struct ddvm_ivshmem *t);

/* The page that holds BAR2 offset OFF, or NULL when that byte has no struct page. */
static inline struct page *ddvm_ivshmem_page(const struct ddvm_ivshmem *t, resource_size_t off)
{
	if (off < t->pages_start || off >= t->pages_end)
		return NULL;
	return pfn_to_page(PHYS_PFN(pci_resource_start(t->pdev, 2) + off));
}

/* Peer id the header says the other side has. */
u16 ddvm_ivshmem_peer(struct ddvm_ivshmem *t);

#endif /* DDVM_IVSHMEM_H */
