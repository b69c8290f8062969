/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Channel region layout and validation (see region.h).
 *
 * Layout produced by ddvm_region_init():
 *   [0, 4 KiB)            header
 *   4 KiB ...             ring control blocks + descriptors, 64-byte aligned, in ring order
 *   next 4 KiB boundary   payload areas, each 4 KiB aligned, in ring order
 *   ... up to a power of two (ivshmem wants a power-of-two BAR)
 */
#include "region.h"
#include "ddvm/net.h"
#include "ddvm/blk.h"

#define ALIGN_UP(x, a) (((x) + ((uint64_t)(a)-1)) & ~((uint64_t)(a)-1))
#define PAGE	       4096u

void ddvm_layout_defaults(struct ddvm_layout_params *p, uint32_t kind)
{
	ddvm_memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->num_queues = 1;
	if (kind == DDVM_KIND_NET) {
		/* One slot per descriptor, big enough for a 64 KiB GSO frame, so large
		 * sends cross the channel whole. 128 in flight each way is > 8 MiB. */
		p->fe_entries = 128;
		p->fe_slot = 65536 + 512;
		p->be_entries = 128;
		p->be_slot = 65536 + 512;
	} else if (kind == DDVM_KIND_BLK) {
		/* Queue depth 32, up to 1 MiB per request (a 1 MiB I/O is one request and
		 * one bio); responses carry no data. Measured (docs/blk.md, "Requests in
		 * flight"): the client's one vCPU is what bounds a busy channel, and its
		 * cost per request, not per byte, is what larger slots save: 1 MiB reads
		 * at depth 32 went from 517 to 716-763 MiB/s against 256 KiB slots. Xen's
		 * blkif ring, for comparison, has 32 requests. */
		p->fe_entries = 32;
		p->fe_slot = DDVM_SLOT_MAX;
		p->be_entries = 32;
		p->be_slot = 0;
	}
}

static int pow2(uint32_t x)
{
	return x && !(x & (x - 1));
}

static int params_valid(const struct ddvm_layout_params *p)
{
	if (p->kind != DDVM_KIND_NET && p->kind != DDVM_KIND_BLK)
		return 0;
	if (p->num_queues == 0 || p->num_queues > DDVM_MAX_RINGS / 2)
		return 0;
	if (!pow2(p->fe_entries) || p->fe_entries > DDVM_RING_MAX_ENTRIES || !pow2(p->be_entries) ||
	    p->be_entries > DDVM_RING_MAX_ENTRIES)
		return 0;
	return p->fe_slot <= DDVM_SLOT_MAX && p->be_slot <= DDVM_SLOT_MAX;
}

/* Compute the ring table for p; returns the bytes used (before rounding). */
static uint64_t layout_compute(const struct ddvm_layout_params *p, struct ddvm_ring_layout *rings)
{
	uint64_t off = DDVM_HDR_SIZE;
	uint32_t i, n = p->num_queues * 2;

	for (i = 0; i < n; i++) {
		int fe = (i % 2) == 0;
		uint32_t entries = fe ? p->fe_entries : p->be_entries;

		ddvm_memset(&rings[i], 0, sizeof(rings[i]));
		rings[i].ring_off = (uint32_t)off;
		rings[i].entries = entries;
		rings[i].slot_size = fe ? p->fe_slot : p->be_slot;
		rings[i].producer = fe ? DDVM_SIDE_FRONTEND : DDVM_SIDE_BACKEND;
		rings[i].vector = DDVM_VECTOR_QUEUE(i / 2);
		off = ALIGN_UP(off + DDVM_RING_BYTES(entries), DDVM_CACHELINE);
	}
	off = ALIGN_UP(off, PAGE);
	for (i = 0; i < n; i++) {
		uint64_t bytes = (uint64_t)rings[i].entries * rings[i].slot_size;

		if (!bytes)
			continue;
		rings[i].data_off = (uint32_t)off;
		rings[i].data_size = (uint32_t)bytes;
		off = ALIGN_UP(off + bytes, PAGE);
	}
	return off;
}

uint64_t ddvm_layout_size(const struct ddvm_layout_params *p)
{
	struct ddvm_ring_layout rings[DDVM_MAX_RINGS];
	uint64_t need, size = PAGE;

	if (!params_valid(p))
		return 0;
	need = layout_compute(p, rings);
	while (size < need)
		size <<= 1;
	/* offsets are 32-bit on the wire */
	return size <= 0x80000000ull ? size : 0;
}

static uint32_t fnv1a32(uint32_t h, uint64_t v, unsigned int bytes)
{
	unsigned int i;

	for (i = 0; i < bytes; i++) {
		h ^= (uint8_t)(v >> (8 * i));
		h *= 16777619u;
	}
	return h;
}

uint32_t ddvm_layout_id(const struct ddvm_layout_params *p)
{
	struct ddvm_ring_layout rings[DDVM_MAX_RINGS];
	uint64_t size = ddvm_layout_size(p);
	uint32_t h = 2166136261u, i;

	if (!size)
		return 0;
	layout_compute(p, rings);
	h = fnv1a32(h, size, 8);
	h = fnv1a32(h, p->num_queues, 4);
	for (i = 0; i < 2 * p->num_queues; i++) {
		const struct ddvm_ring_layout *l = &rings[i];

		h = fnv1a32(h, l->ring_off, 4);
		h = fnv1a32(h, l->entries, 4);
		h = fnv1a32(h, l->data_off, 4);
		h = fnv1a32(h, l->data_size, 4);
		h = fnv1a32(h, l->slot_size, 4);
		h = fnv1a32(h, l->producer, 2);
		h = fnv1a32(h, l->vector, 2);
	}
	return h ? h : 1; /* 0 says "invalid" */
}

int ddvm_region_init(void *base, uint64_t size, const struct ddvm_layout_params *p)
{
	struct ddvm_region_hdr *h = base;
	struct ddvm_region rg;
	uint64_t need = ddvm_layout_size(p);
	size_t i;

	if (!need || size < need)
		return -EINVAL;
	ddvm_memset(h, 0, DDVM_HDR_SIZE);
	h->abi_major = DDVM_ABI_MAJOR;
	h->abi_minor = DDVM_ABI_MINOR;
	h->region_size = size;
	h->kind = p->kind;
	h->num_queues = p->num_queues;
	h->num_rings = p->num_queues * 2;
	h->channel_id = p->channel_id;
	h->epoch = 1;
	for (i = 0; i < sizeof(h->backend_target) - 1 && p->backend_target[i]; i++)
		h->backend_target[i] = (ddvm_u8)p->backend_target[i];
	layout_compute(p, h->rings);
	/* magic last: a side that sees it sees a complete header */
	ddvm_store_release(&h->magic, DDVM_MAGIC);
	if (ddvm_region_attach(&rg, base, size) != 0)
		return -EINVAL; /* cannot happen: our own layout must validate */
	ddvm_region_reset_rings(&rg);
	return 0;
}

struct span {
	uint64_t start, end;
};

static int spans_overlap(const struct span *a, const struct span *b)
{
	return a->start < b->end && b->start < a->end;
}

int ddvm_region_attach(struct ddvm_region *rg, void *base, uint64_t mapped_size)
{
	const struct ddvm_region_hdr *h = base;
	struct span spans[2 * DDVM_MAX_RINGS];
	uint32_t magic, i, j, nspans = 0;
	uint64_t size;

	ddvm_memset(rg, 0, sizeof(*rg));
	if (mapped_size < DDVM_HDR_SIZE)
		return -EINVAL;
	magic = ddvm_load_acquire(&h->magic);
	if (magic != DDVM_MAGIC)
		return -EPROTONOSUPPORT;
	/* One copy of everything we will rely on; validate only the copy. */
	rg->kind = ddvm_read32(&h->kind);
	rg->num_rings = ddvm_read32(&h->num_rings);
	rg->num_queues = ddvm_read32(&h->num_queues);
	rg->abi_minor = h->abi_minor;
	size = ddvm_read64(&h->region_size);
	ddvm_memcpy(rg->rings, h->rings, sizeof(rg->rings));
	if (h->abi_major != DDVM_ABI_MAJOR)
		return -EPROTONOSUPPORT;

	if (size < DDVM_HDR_SIZE || size > mapped_size)
		return -EINVAL;
	if (rg->kind != DDVM_KIND_NET && rg->kind != DDVM_KIND_BLK)
		return -EINVAL;
	if (rg->num_queues == 0 || rg->num_queues > DDVM_MAX_RINGS / 2 ||
	    rg->num_rings != 2 * rg->num_queues)
		return -EINVAL;

	for (i = 0; i < rg->num_rings; i++) {
		const struct ddvm_ring_layout *l = &rg->rings[i];
		uint16_t want_producer = (i % 2) ? DDVM_SIDE_BACKEND : DDVM_SIDE_FRONTEND;

		if (!pow2(l->entries) || l->entries > DDVM_RING_MAX_ENTRIES)
			return -EINVAL;
		if (l->ring_off % DDVM_CACHELINE || l->ring_off < DDVM_HDR_SIZE ||
		    (uint64_t)l->ring_off + DDVM_RING_BYTES(l->entries) > size)
			return -EINVAL;
		if (l->producer != want_producer || l->vector != DDVM_VECTOR_QUEUE(i / 2))
			return -EINVAL;
		spans[nspans].start = l->ring_off;
		spans[nspans++].end = l->ring_off + DDVM_RING_BYTES(l->entries);
		if (l->data_size == 0)
			continue;
		if (l->slot_size == 0 || l->slot_size > DDVM_SLOT_MAX ||
		    (uint64_t)l->entries * l->slot_size != l->data_size)
			return -EINVAL;
		if (l->data_off < DDVM_HDR_SIZE || (uint64_t)l->data_off + l->data_size > size)
			return -EINVAL;
		spans[nspans].start = l->data_off;
		spans[nspans++].end = (uint64_t)l->data_off + l->data_size;
	}
	for (i = 0; i < nspans; i++)
		for (j = i + 1; j < nspans; j++)
			if (spans_overlap(&spans[i], &spans[j]))
				return -EINVAL;

	rg->base = base;
	rg->size = mapped_size;
	rg->hdr = base;
	return 0;
}

int ddvm_region_attach_params(struct ddvm_region *rg, void *base, uint64_t mapped_size,
			      const struct ddvm_layout_params *p)
{
	uint64_t need = ddvm_layout_size(p);

	ddvm_memset(rg, 0, sizeof(*rg));
	if (!need || need > mapped_size)
		return -EINVAL;
	layout_compute(p, rg->rings);
	rg->kind = p->kind;
	rg->num_queues = p->num_queues;
	rg->num_rings = 2 * p->num_queues;
	rg->abi_minor = DDVM_ABI_MINOR; /* the supervisor that listed P built this header */
	rg->base = base;
	rg->size = mapped_size;
	rg->hdr = base;
	return 0;
}

int ddvm_region_ring(const struct ddvm_region *rg, unsigned int i, enum ddvm_side me,
		     struct ddvm_ring *r)
{
	if (!rg->base || i >= rg->num_rings)
		return -EINVAL;
	return ddvm_ring_init(r, rg->base, &rg->rings[i], rg->rings[i].producer == me);
}

void ddvm_region_reset_rings(const struct ddvm_region *rg)
{
	struct ddvm_ring r;
	uint32_t i;

	for (i = 0; i < rg->num_rings; i++)
		if (ddvm_ring_init(&r, rg->base, &rg->rings[i], 0) == 0)
			ddvm_ring_reset_shared(&r);
}

void ddvm_region_stats_publish(const struct ddvm_region *rg, uint32_t epoch,
			       const struct ddvm_chan_stats *chan, const void *svc,
			       uint32_t svc_size)
{
	struct ddvm_stats *s = &rg->hdr->stats;
	const uint64_t *from;
	uint64_t *to;
	uint32_t i;

	if (rg->abi_minor < 2)
		return;
	if (svc_size > sizeof(s->service))
		svc_size = sizeof(s->service);
	from = (const uint64_t *)chan;
	to = (uint64_t *)&s->chan;
	for (i = 0; i < sizeof(*chan) / 8; i++)
		ddvm_write64(&to[i], from[i]);
	from = svc;
	to = (uint64_t *)s->service;
	for (i = 0; i < svc_size / 8; i++)
		ddvm_write64(&to[i], from[i]);
	ddvm_write32(&s->chan_size, (uint32_t)sizeof(*chan));
	ddvm_write32(&s->service_size, svc_size / 8 * 8);
	ddvm_write32(&s->epoch, epoch);
	/* a number for humans: a client that scribbles over it only confuses itself */
	ddvm_write64(&s->updates, ddvm_read64(&s->updates) + 1);
	ddvm_store_release(&s->magic, DDVM_STATS_MAGIC);
}
