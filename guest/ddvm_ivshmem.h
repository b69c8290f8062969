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
#include <linux/spinlock.h>
#include <linux/timer.h>
#include "region.h"

#define DDVM_IVSHMEM_VENDOR 0x1af4
#define DDVM_IVSHMEM_DEVICE 0x1110

struct ddvm_ivshmem;

/* Called in hard-irq context for each doorbell vector that fired. */
typedef void (*ddvm_ivshmem_irq_fn)(struct ddvm_ivshmem *t, unsigned int vector);

/*
 * The doorbell guard: the peer is not trusted, and a doorbell costs us an interrupt
 * and a pass of the service's work whether or not the peer published anything. So per
 * vector and DDVM_DOORBELL_WINDOW_MS window, a queue vector may ring
 * DDVM_DOORBELL_IDLE_MAX times without work (no index of its rings that the peer
 * writes moved since the previous doorbell), the control vector DDVM_DOORBELL_CTL_MAX
 * times in all; past that the vector is disabled until the window ends. Nothing is
 * lost: a doorbell that arrives meanwhile is held pending and delivered once when the
 * vector is enabled again, and the services' backstop polls run on. A peer that
 * storms its doorbells slows only its own channel (tests/vm/test_client_hostile.sh,
 * kind "storm"). Legitimate doorbells come with work (event indices suppress the
 * rest), so they do not count against the limit. While the service does not use the
 * rings (its channel BROKEN, or no client in session: ddvm_ivshmem_set_serving), every
 * queue doorbell counts as without work, whatever the indices say: a peer that moves
 * an index before each doorbell would otherwise pass for one with work (kind
 * "stormidx": 5,084 interrupts/s, and 2,593/s on a channel without a client). The
 * client drivers ask the same (netfront: live and not broken; blkfront: LIVE): a
 * driver VM storming a channel it broke cost its client 10,054 interrupts/s, 321 now
 * (tests/vm/test_blk_backend_resets.sh, the storm round).
 */
#define DDVM_DOORBELL_WINDOW_MS 100
#define DDVM_DOORBELL_IDLE_MAX	32
#define DDVM_DOORBELL_CTL_MAX	16

struct ddvm_doorbell_guard {
	u32 sig;  /* what the peer had published at this vector's previous doorbell */
	u32 idle; /* doorbells without work (control: all of them) in this window */
	bool off; /* disabled until the window ends */
};

struct ddvm_ivshmem {
	struct pci_dev *pdev;
	void __iomem *regs; /* BAR0 */
	void *shm;	    /* BAR2, mapped write-back */
	resource_size_t shm_size;
	struct ddvm_region rg; /* validated private view */
	enum ddvm_side side;
	u32 my_peer; /* IVPOSITION */
	int nvec;
	/* The Linux irq of each vector, looked up once at probe: pci_irq_vector() takes
	 * the device's MSI descriptor mutex (kernel/irq/msi.c, msi_get_virq), so it must
	 * not run in the interrupt handler or the guard's timer. Called there, a doorbell
	 * that arrived while probe or remove held that mutex spun on it with interrupts
	 * off, forever on a 1-vCPU VM (a client reloading its driver under traffic). */
	int irq[DDVM_MAX_VECTORS];
	ddvm_ivshmem_irq_fn irq_fn;
	void *priv;
	char name[32];
	/* ddvm_ivshmem_map_pages(): struct pages for [pages_start, pages_end) of BAR2 */
	struct dev_pagemap pgmap;
	resource_size_t pages_start, pages_end; /* BAR2 offsets; equal: no pages */
	/* the doorbell guard (above) */
	spinlock_t guard_lock;
	struct ddvm_doorbell_guard guard[DDVM_MAX_VECTORS];
	unsigned long guard_window_end; /* jiffies */
	struct timer_list guard_timer;	/* enables the vectors turned off, at window end */
	bool guard_closing;		/* removing: the guard turns nothing off any more */
	bool (*serving)(struct ddvm_ivshmem *t); /* ddvm_ivshmem_set_serving(); NULL: yes */
	u64 doorbells_throttled;		 /* times a vector was turned off */
	/* counters (ddvm_stats.h): doorbells taken (all vectors) and rung to the peer */
	atomic64_t doorbells_in, doorbells_out;
	bool standby_told; /* "ddvm: standby" said (ddvm_ivshmem_standby_prepared) */
	bool named;	   /* backend: its control vector rang (ddvm_ivshmem_standby) */
	/* Backend: the channel's identity as the supervisor gave it out of band (the
	 * module's `channels` parameter, from fw_cfg opt/ddvm/channels): its target (the
	 * NIC's or the disk controller's PCI address), its queue pairs (the region's
	 * layout is computed from them and the kind, never read from the header) and,
	 * net, the client's MAC. Unset only where no list was given (a hand-built QEMU):
	 * then the header's copy. */
	bool has_identity;
	char id_target[32];
	u32 id_queues;
	u32 id_layout; /* the fingerprint of the supervisor's layout (ddvm_layout_id) */
	u8 id_mac[6];
	/* net: the client's anti-spoofing policy as listed ("" when the list has none):
	 * "off", "mac" or "ip:PREFIX+..." (A.B.C.D/N, X:X::X/N; ddvm_netback parses it) */
	char id_antispoof[384];
};

/* Bind: enable, map, attach the region (refusing a malformed one), check that it
 * carries `kind`, allocate vectors and request their interrupts. Returns -ENODEV for
 * a region of another kind (so another ddvm driver may bind the device). A backend
 * given the `channels` list binds only the devices the list names with its kind, and
 * takes their identity (has_identity, id_target, id_queues, id_mac, id_antispoof) and
 * the region's layout from it, never reading the header's: the header is writable by
 * the client, which could otherwise name another client's disk or NIC, or another
 * client's (or the gateway's) MAC, or make the module refuse the channel for good with
 * a lying layout, at the moment the module reads it. */
/* FN says whether the service uses the channel's rings now (false: BROKEN, or no
 * client in session); the doorbell guard asks it on a queue doorbell whose indices
 * moved, in hard interrupt context (no sleeping, no lock the service takes with
 * interrupts on). Set right after ddvm_ivshmem_probe(), which clears t: until then a
 * doorbell whose indices moved counts as one with work. */
static inline void ddvm_ivshmem_set_serving(struct ddvm_ivshmem *t,
					    bool (*fn)(struct ddvm_ivshmem *t))
{
	WRITE_ONCE(t->serving, fn);
}

int ddvm_ivshmem_probe(struct ddvm_ivshmem *t, struct pci_dev *pdev, enum ddvm_side side, u32 kind,
		       ddvm_ivshmem_irq_fn fn, void *priv);
void ddvm_ivshmem_remove(struct ddvm_ivshmem *t);

/* The Linux irq of vector V (< t->nvec), for synchronize_irq() and the like. */
static inline int ddvm_ivshmem_vector_irq(const struct ddvm_ivshmem *t, unsigned int v)
{
	return t->irq[v];
}

/* Ring the other side's doorbell `vector`. The peer id is read from the header each
 * time (the supervisor may change it across restarts); a nonsense id only rings a
 * doorbell that nobody listens to, and a backend rings only a client's or a host
 * tool's id (abi.h, "Peer ids"). */
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
 * lands in the shared region). Only the payload areas get pages, widened to 2 MiB
 * boundaries inside the BAR (the subsection granularity of memory hotplug); call it
 * after ddvm_ivshmem_probe() validated the layout. Returns 0 or a negative errno (then
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

/*
 * Driver VM: is this device a warm spare's, on standby (supervisor/spare.h)? Its own
 * IVPosition is a spare's id (abi.h, "Peer ids": never the header, which a client
 * can write) and its control vector has not rung yet: the first doorbell there is the
 * supervisor naming it the channel's driver VM, since no other peer may ring a spare
 * before that. On standby its translation module touches no ring and no header field,
 * rings nobody, sends no heartbeat, and asks again at each control-vector doorbell. It
 * may prepare what belongs to its own VM (open the disk, attach to the NIC), then
 * calls ddvm_ivshmem_standby_prepared(). Always false on the client side.
 */
bool ddvm_ivshmem_standby(struct ddvm_ivshmem *t);

/* A standby device is prepared to serve at once when named: say "ddvm: standby" on
 * the console, once (the supervisor pauses the spare when every channel said it). */
void ddvm_ivshmem_standby_prepared(struct ddvm_ivshmem *t);

/* Peer id the header says the other side has. */
u16 ddvm_ivshmem_peer(struct ddvm_ivshmem *t);

#endif /* DDVM_IVSHMEM_H */
