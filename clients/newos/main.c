// SPDX-License-Identifier: BSD-2-Clause
/*
 * newos: a new operating system that borrows its NIC and disk drivers from Linux.
 *
 * It has no device drivers of its own beyond one small PCI device: it finds QEMU's
 * ivshmem-doorbell devices (1af4:1110) by scanning PCI configuration space, maps their
 * shared memory (BAR2) and doorbell registers (BAR0), attaches to the ddvm channel in
 * each with the freestanding ring code (build/freestanding/ring.o, region.o — the same
 * ring.c and region.c the Linux modules compile), and polls the rings. No interrupts.
 * Through a driver VM it then
 *   - verifies a pattern the host wrote on a reused disk, writes a new one, flushes,
 *     reads it back (blk channel), and
 *   - answers ARP and ICMP echo for its address (net channel), forever.
 * Console: COM1. Command line (multiboot): ip=A.B.C.D blkseed=N blkoff=BYTES
 * blklen=BYTES wseed=N woff=BYTES (without blkseed= no host pattern is verified: a
 * fresh disk). Runs as a client VM of `ddvm up` (examples/newos.ini). See
 * docs/porting.md for the walk through.
 */
#include <stddef.h>
#include <stdint.h>

#include "follow.h"
#include "region.h"
#include "ddvm/net.h"
#include "ddvm/blk.h"
#include "pong.h"
#include "newos.h"

#define NEWOS_EIO   5 /* Linux's EIO; ddvm_sys.h defines only what the ring needs */
#define NEWOS_SPINS 4000000000ull

/* --- what the compiler may call ------------------------------------------------------ */

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memset(void *d, int c, size_t n)
{
	uint8_t *dp = d;

	while (n--)
		*dp++ = (uint8_t)c;
	return d;
}

/* --- multiboot command line ---------------------------------------------------------- */

static const char *cmdline = "";

/* The value of "key=" on the command line, or NULL. */
static const char *arg(const char *key)
{
	const char *p = cmdline;

	while (*p) {
		const char *k = key;

		while (*p == ' ')
			p++;
		while (*k && *p == *k) {
			p++;
			k++;
		}
		if (!*k && *p == '=')
			return p + 1;
		while (*p && *p != ' ')
			p++;
	}
	return NULL;
}

static uint64_t arg_num(const char *key, uint64_t dflt)
{
	const char *p = arg(key);
	uint64_t v = 0;

	if (!p || *p < '0' || *p > '9')
		return dflt;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	return v;
}

/* --- one channel ------------------------------------------------------------------- */

struct chan {
	struct ivshmem dev;
	struct ddvm_region rg;
	struct ddvm_ring fe, be; /* we produce fe (net tx / blk req), consume be */
	struct ddvm_follower fl; /* our epoch and session (ring/follow.h) */
	const char *name;	 /* "blk", "net" */
};

static struct chan chans[4];
static unsigned int nchans;

static void chan_kick(struct chan *c, unsigned int vector)
{
	ivshmem_doorbell(&c->dev, ddvm_read32(&c->rg.hdr->backend_peer), vector);
}

/* Follow the channel's state (ring/follow.h) and do what it says: a new session after
 * a new epoch (our ring fields from zero first), READY once the backend serves it. */
static enum ddvm_follow_action chan_follow(struct chan *c)
{
	enum ddvm_follow_action a = ddvm_follow(&c->fl, &c->rg);

	if (a == DDVM_FOLLOW_RECONNECT) {
		ddvm_ring_reset_own(&c->fe);
		ddvm_ring_reset_own(&c->be);
		ddvm_follower_begin(&c->fl, &c->rg);
		chan_kick(c, DDVM_VECTOR_CONTROL);
		kprintf("newos: %s: session %u at epoch %u\n", c->name, c->fl.session, c->fl.epoch);
	} else if (a == DDVM_FOLLOW_CONNECT) {
		ddvm_follower_connect(&c->fl, &c->rg);
		chan_kick(c, DDVM_VECTOR_CONTROL);
	}
	ddvm_follower_reassert(&c->fl, &c->rg); /* our status, if someone overwrote it */
	return a;
}

static int chan_attach(struct chan *c)
{
	int ret = ddvm_region_attach(&c->rg, c->dev.shm, c->dev.shm_size);

	if (ret)
		return ret;
	if (ddvm_region_ring(&c->rg, 0, DDVM_SIDE_FRONTEND, &c->fe) ||
	    ddvm_region_ring(&c->rg, 1, DDVM_SIDE_FRONTEND, &c->be) || !c->fe.data)
		return -EINVAL;
	c->name = c->rg.kind == DDVM_KIND_BLK ? "blk" : "net";
	/* a session of our own: whatever an earlier client left, the backend drops */
	chan_follow(c);
	return 0;
}

/* Spin until the backend serves our session at the current epoch (we are READY then).
 * -ENODEV at once when the supervisor gave up on the driver VM. */
static int chan_wait_ready(struct chan *c)
{
	uint64_t spins;

	for (spins = 0; spins < NEWOS_SPINS; spins++) {
		switch (chan_follow(c)) {
		case DDVM_FOLLOW_CONNECT:
		case DDVM_FOLLOW_CONNECTED:
			return 0;
		case DDVM_FOLLOW_GONE:
			kprintf("newos: %s: the supervisor gave up on the driver VM "
				"(BACKEND_GONE)\n",
				c->name);
			return -ENODEV;
		default:
			break;
		}
		__builtin_ia32_pause();
	}
	return -EAGAIN;
}

/* --- blk: one request at a time, polled ---------------------------------------------- */

static uint8_t blkbuf[64 * 1024];
static uint64_t blk_seq = 1;

static int blk_io(struct chan *c, uint16_t op, uint64_t sector, uint32_t len)
{
	struct ddvm_blk_req rq;
	struct ddvm_blk_rsp rsp;
	uint32_t tag = 0, off = 0;
	uint64_t spins;
	int ret;

	if (len > c->fe.slot_size)
		return -EINVAL;
again:
	ret = chan_wait_ready(c);
	if (ret)
		return ret;
	memset(&rq, 0, sizeof(rq));
	rq.id = (blk_seq++ << 16) | tag;
	rq.sector = sector;
	rq.off = off;
	rq.len = len;
	rq.op = op;
	if (op == DDVM_BLK_OP_WRITE)
		memcpy(c->fe.data + off, blkbuf, len);
	if (ddvm_ring_push(&c->fe, &rq))
		return -EPROTO;
	if (ddvm_ring_publish(&c->fe))
		chan_kick(c, c->fe.vector);
	for (spins = 0;; spins++) {
		if (ddvm_ring_pop(&c->be, &rsp) == 0)
			break;
		/* every so often (and on a ring the supervisor's reset made look broken):
		 * a new epoch resends the request in a new session, GONE fails it */
		if ((spins & 0xffff) == 0 || ddvm_ring_broken(&c->be)) {
			enum ddvm_follow_action a = chan_follow(c);

			if (a == DDVM_FOLLOW_GONE)
				return chan_wait_ready(c);
			if (a != DDVM_FOLLOW_CONNECTED)
				goto again;
		}
		if (ddvm_ring_broken(&c->be)) {
			ddvm_follower_break(&c->fl, &c->rg); /* until a new epoch */
			return -EPROTO;
		}
		if (spins >= NEWOS_SPINS)
			return -EPROTO;
		__builtin_ia32_pause();
	}
	if (ddvm_ring_release(&c->be))
		chan_kick(c, c->be.vector);
	/* Never trust the driver VM: the answer must be to this very request. */
	if (rsp.id != rq.id ||
	    (rsp.status == DDVM_BLK_S_OK && op == DDVM_BLK_OP_READ && rsp.len != len))
		return -EPROTO;
	if (rsp.status != DDVM_BLK_S_OK)
		return -NEWOS_EIO; /* the device failed it */
	if (op == DDVM_BLK_OP_READ)
		memcpy(blkbuf, c->fe.data + off, len);
	return 0;
}

static uint32_t pattern_word(uint64_t byte_off, uint32_t seed)
{
	return (uint32_t)(byte_off / 4 + seed) * 2654435761u;
}

/* Check (or, with fill, write) the pattern over [off, off + len) in 64 KiB requests. */
static int blk_pattern(struct chan *c, int write, uint32_t seed, uint64_t off, uint64_t len)
{
	uint64_t done;
	uint32_t i;
	int ret;

	for (done = 0; done < len; done += sizeof(blkbuf)) {
		uint64_t at = off + done;

		if (write) {
			for (i = 0; i < sizeof(blkbuf); i += 4) {
				uint32_t w = pattern_word(at + i, seed);

				memcpy(blkbuf + i, &w, 4);
			}
		}
		ret = blk_io(c, write ? DDVM_BLK_OP_WRITE : DDVM_BLK_OP_READ, at / 512,
			     sizeof(blkbuf));
		if (ret)
			return ret;
		for (i = 0; !write && i < sizeof(blkbuf); i += 4) {
			uint32_t w;

			memcpy(&w, blkbuf + i, 4);
			if (w != pattern_word(at + i, seed)) {
				kprintf("newos: blk mismatch at byte %lu\n", at + i);
				return -EBADMSG;
			}
		}
	}
	return 0;
}

static void blk_run(struct chan *c)
{
	const struct ddvm_blk_config *cfg = (const void *)c->rg.hdr->device;
	uint64_t seed = arg_num("blkseed", 7), off = arg_num("blkoff", 1 << 20);
	uint64_t len = arg_num("blklen", 1 << 20), wseed = arg_num("wseed", 11);
	uint64_t woff = arg_num("woff", 16 << 20);
	int ret;

	kprintf("newos: blk disk %lu sectors via driver VM\n", ddvm_read64(&cfg->capacity));
	if (arg("blkseed")) { /* the host wrote a pattern for us to find */
		ret = blk_pattern(c, 0, (uint32_t)seed, off, len);
		kprintf("newos: blk verify host pattern: %s\n", ret ? "FAILED" : "OK");
		if (ret)
			return;
	} else {
		kprintf("newos: blk verify host pattern: skipped (no blkseed= given)\n");
	}
	ret = blk_pattern(c, 1, (uint32_t)wseed, woff, len);
	if (!ret)
		ret = blk_io(c, DDVM_BLK_OP_FLUSH, 0, 0);
	if (!ret)
		ret = blk_pattern(c, 0, (uint32_t)wseed, woff, len);
	kprintf("newos: blk write+flush+readback: %s\n", ret ? "FAILED" : "OK");
}

/* --- net: answer ARP and ping, forever ----------------------------------------------- */

static uint8_t txframe[2048];

static void net_run(struct chan *c)
{
	const struct ddvm_net_config *cfg = (const void *)c->rg.hdr->device;
	struct pong p;
	const char *ip = arg("ip");
	uint32_t last = 0, idle = 0;

	memset(&p, 0, sizeof(p));
	memcpy(p.mac, cfg->mac, 6);
	if (!ip || pong_parse_ip(ip, p.ip)) {
		kprintf("newos: net: no ip= on the command line\n");
		return;
	}
	kprintf("newos: net up: ip %u.%u.%u.%u mac %x%x:%x%x:%x%x:%x%x:%x%x:%x%x\n", p.ip[0],
		p.ip[1], p.ip[2], p.ip[3], p.mac[0] >> 4, p.mac[0] & 15, p.mac[1] >> 4,
		p.mac[1] & 15, p.mac[2] >> 4, p.mac[2] & 15, p.mac[3] >> 4, p.mac[3] & 15,
		p.mac[4] >> 4, p.mac[4] & 15, p.mac[5] >> 4, p.mac[5] & 15);
	for (;;) {
		struct ddvm_net_desc d;
		uint32_t idx = c->be.cons;
		const uint8_t *frame;
		size_t n;

		if (ddvm_ring_pop(&c->be, &d)) {
			if ((++idle & 0xffff) == 0 || ddvm_ring_broken(&c->be)) {
				enum ddvm_follow_action a = chan_follow(c);

				if (a != DDVM_FOLLOW_CONNECTED && chan_wait_ready(c))
					return; /* GONE, or never back */
				if (a != DDVM_FOLLOW_CONNECTED)
					continue;
			}
			if (ddvm_ring_broken(&c->be)) {
				kprintf("newos: net rx ring broken by the driver VM\n");
				ddvm_follower_break(&c->fl, &c->rg);
				return;
			}
			__builtin_ia32_pause();
			continue;
		}
		frame = ddvm_ring_slot_check(&c->be, idx, d.off, d.len);
		n = frame && d.len <= sizeof(txframe)
			? pong_handle(&p, frame, d.len, txframe, sizeof(txframe))
			: 0;
		if (ddvm_ring_release(&c->be))
			chan_kick(c, c->be.vector);
		if (n && ddvm_ring_space(&c->fe)) {
			struct ddvm_net_desc t;

			memset(&t, 0, sizeof(t));
			t.off = ddvm_ring_slot_off(&c->fe, c->fe.prod);
			t.len = (uint32_t)n;
			memcpy(ddvm_ring_slot(&c->fe, c->fe.prod), txframe, n);
			if (ddvm_ring_push(&c->fe, &t) == 0 && ddvm_ring_publish(&c->fe))
				chan_kick(c, c->fe.vector);
		}
		if (p.icmp_replies != last) {
			last = p.icmp_replies;
			kprintf("newos: answered ping %u (arp %u)\n", p.icmp_replies,
				p.arp_replies);
		}
	}
}

/* --- boot ---------------------------------------------------------------------------- */

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper, boot_device;
	uint32_t cmdline;
};

void kmain(const struct multiboot_info *mbi);

void kmain(const struct multiboot_info *mbi)
{
	struct chan *net = NULL, *blk = NULL;
	unsigned int i;

	serial_init();
	if (mbi->flags & (1u << 2))
		cmdline = (const char *)(uintptr_t)mbi->cmdline;
	kprintf("newos: hello (ddvm ABI %u.%u), cmdline '%s'\n", DDVM_ABI_MAJOR, DDVM_ABI_MINOR,
		cmdline);

	for (i = 0; i < 4; i++) {
		struct chan *c = &chans[nchans];
		int ret;

		if (ivshmem_find(i, &c->dev))
			break;
		ret = chan_attach(c);
		kprintf("newos: ivshmem %u at %x:%x.%x: peer %u, %lu MiB at %lx: %s kind %u\n", i,
			c->dev.bus, c->dev.slot, c->dev.func, c->dev.my_peer, c->dev.shm_size >> 20,
			(uint64_t)(uintptr_t)c->dev.shm, ret ? "REFUSED" : "ddvm channel",
			c->rg.kind);
		if (ret)
			continue;
		nchans++;
		if (c->rg.kind == DDVM_KIND_NET && !net)
			net = c;
		else if (c->rg.kind == DDVM_KIND_BLK && !blk)
			blk = c;
	}
	if (blk) {
		kprintf("newos: blk: waiting for the driver VM\n");
		if (chan_wait_ready(blk) == 0)
			blk_run(blk);
		else
			kprintf("newos: blk: driver VM never became ready\n");
	}
	if (net) {
		kprintf("newos: net: waiting for the driver VM\n");
		if (chan_wait_ready(net) == 0)
			net_run(net);
		else
			kprintf("newos: net: driver VM never became ready\n");
	}
	kprintf("newos: done\n");
}
