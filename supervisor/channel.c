/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Channel regions. Everything here that reads shared memory treats what it reads as
 * untrusted numbers: they feed timers, claims and status lines, never an address.
 *
 * Every byte of a region is writable by both peers. What the supervisor wrote there
 * (identity, layout, control, the ring table, a net client's MAC) it keeps in a
 * private copy, ch->own, and writes back from it: at every epoch, and whenever a
 * look finds it changed. Its own decisions use the private copy only.
 */
#include "channel.h"
#include "log.h"
#include "ddvm/net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const sock_suffix[4] = { "driver", "client", "host", "spare" };
/* The server's id series are abi.h's "Peer ids": what the modules judge a peer by. */
_Static_assert(IVSHMEM_SERVER_ID_STRIDE == DDVM_PEER_STRIDE, "peer id series");
_Static_assert(DDVM_PEER_IS_SPARE(IVSHMEM_SERVER_HIDDEN_ID), "a spare's ids");
_Static_assert(DDVM_PEER_IS_CLIENT(CHANNEL_PEER_CLIENT) && DDVM_PEER_IS_CLIENT(CHANNEL_PEER_HOST) &&
		   !DDVM_PEER_IS_CLIENT(CHANNEL_PEER_DRIVER) &&
		   !DDVM_PEER_IS_SPARE(CHANNEL_PEER_DRIVER),
	       "role keys");
static const uint16_t sock_role[4] = { CHANNEL_PEER_DRIVER, CHANNEL_PEER_CLIENT, CHANNEL_PEER_HOST,
				       CHANNEL_PEER_SPARE };

/*
 * A peer took a role: publish its id where the other side looks it up before each
 * doorbell. Ids change across restarts (see ivshmem_server.h for why they must).
 */
static void channel_peer_event(void *opaque, uint16_t role, uint16_t id, int up)
{
	struct channel *ch = opaque;

	/* A spare's id is published when it is promoted (channel__promote_spare): its
	 * translation module knows it is a spare from its id (abi.h, "Peer ids"). */
	if (!up || role == CHANNEL_PEER_SPARE)
		return; /* the old id stays until a successor has one; ringing it is harmless */
	if (role == CHANNEL_PEER_DRIVER) {
		ch->own.backend_peer = id;
		__atomic_store_n(&ch->rg.hdr->backend_peer, id, __ATOMIC_RELEASE);
	} else if (role == CHANNEL_PEER_CLIENT) {
		ch->own.frontend_peer = id;
		__atomic_store_n(&ch->rg.hdr->frontend_peer, id, __ATOMIC_RELEASE);
	}
}

/* The parts of the header the supervisor owns: [off, off + len). The net MAC is in
 * the device description, which is otherwise the translation module's. */
struct own_range {
	size_t off, len;
};

static size_t own_ranges(const struct channel *ch, struct own_range r[3])
{
	size_t n = 0;

	r[n++] = (struct own_range){ 0, offsetof(struct ddvm_region_hdr, backend_state) };
	r[n++] = (struct own_range){ offsetof(struct ddvm_region_hdr, rings),
				     sizeof(((struct ddvm_region_hdr *)0)->rings) };
	if (ch->cfg->dev->kind == CFG_NET)
		r[n++] = (struct own_range){ offsetof(struct ddvm_region_hdr, device) +
						 offsetof(struct ddvm_net_config, mac),
					     sizeof(((struct ddvm_net_config *)0)->mac) };
	return n;
}

/* Write what we own back from ch->own; the epoch last, with release, so that a side
 * that sees it sees the rest. */
static void channel_assert_own(struct channel *ch)
{
	struct own_range r[3];
	size_t i, n = own_ranges(ch, r);

	for (i = 0; i < n; i++)
		memcpy((char *)ch->rg.hdr + r[i].off, (const char *)&ch->own + r[i].off, r[i].len);
	ddvm_store_release(&ch->rg.hdr->epoch, ch->own.epoch);
}

int channel__own_tampered(struct channel *ch, char *why, size_t len)
{
	struct own_range r[3];
	size_t i, n = own_ranges(ch, r);
	char now[DDVM_HDR_SIZE];

	/* one copy out of shared memory, then compare the copy */
	memcpy(now, ch->rg.hdr, sizeof(now));
	for (i = 0; i < n; i++)
		if (memcmp(now + r[i].off, (const char *)&ch->own + r[i].off, r[i].len))
			break;
	if (i == n)
		return 0;
	snprintf(why, len,
		 "channel %s: the header the supervisor wrote was overwritten "
		 "(bytes 0x%zx-0x%zx); written back",
		 ch->cfg->name, r[i].off, r[i].off + r[i].len - 1);
	channel_assert_own(ch);
	return 1;
}

static struct ddvm_net_config *net_config(const struct channel *ch)
{
	return (struct ddvm_net_config *)ch->rg.hdr->device;
}

_Static_assert(CFG_MAX_QUEUES == DDVM_MAX_RINGS / 2, "a channel's queue pairs: abi.h");

int channel__create(struct channel *ch, const struct cfg_channel *cc, unsigned index,
		    const char *dir)
{
	struct ddvm_layout_params p;
	unsigned i;
	int ret;

	memset(ch, 0, sizeof(*ch));
	ch->cfg = cc;
	ddvm_layout_defaults(&p, cc->dev->kind);
	p.num_queues = cc->dev->queues;
	p.channel_id = index;
	/* The translation module finds its device by the PCI address we gave it. */
	/* net: the NIC's PCI address; blk: the disk below that controller, as the driver
	 * VM's run script names it (/dev/disk/by-pci/BDF; the image has no udev). */
	snprintf(p.backend_target, sizeof(p.backend_target),
		 cc->dev->kind == CFG_BLK ? "disk/by-pci/0000:00:%02x.0" : "0000:00:%02x.0",
		 cc->dev->pci_slot);
	ch->size = ddvm_layout_size(&p);
	ch->layout_id = ddvm_layout_id(&p);
	if (!ch->size)
		return -EINVAL;
	ch->vectors = DDVM_VECTOR_QUEUE(p.num_queues);

	ch->shm_fd = memfd_create(cc->name, MFD_CLOEXEC);
	if (ch->shm_fd < 0)
		return -errno;
	if (ftruncate(ch->shm_fd, ch->size) < 0) {
		ret = -errno;
		goto err_close_shm;
	}
	ch->base = mmap(NULL, ch->size, PROT_READ | PROT_WRITE, MAP_SHARED, ch->shm_fd, 0);
	if (ch->base == MAP_FAILED) {
		ret = -errno;
		goto err_close_shm;
	}
	ret = ddvm_region_init(ch->base, ch->size, &p);
	if (!ret)
		ret = ddvm_region_attach(&ch->rg, ch->base, ch->size);
	if (ret)
		goto err_unmap;
	if (cc->dev->kind == CFG_NET)
		/* the client driver reads it when it probes, before any driver VM is up */
		memcpy(net_config(ch)->mac, cc->mac, 6);
	/* Plain stores: no peer can see the region before the server below exists. */
	ch->rg.hdr->backend_peer = CHANNEL_PEER_DRIVER;
	ch->rg.hdr->frontend_peer = CHANNEL_PEER_CLIENT;
	memcpy(&ch->own, ch->rg.hdr, sizeof(ch->own));

	ret = ivshmem_server__init(&ch->srv, cc->name, ch->shm_fd, ch->vectors);
	if (ret)
		goto err_unmap;
	/* The driver VM's health doorbell (abi.h): only the driver role is told of it. */
	ch->health_fd =
	    ivshmem_server__add_private(&ch->srv, DDVM_PEER_SUPERVISOR, CHANNEL_PEER_DRIVER);
	if (ch->health_fd < 0) {
		ret = ch->health_fd;
		goto err_close_server;
	}
	ch->srv.event = channel_peer_event;
	ch->srv.event_opaque = ch;
	for (i = 0; i < 4; i++) {
		if (sock_role[i] == CHANNEL_PEER_SPARE && !cc->dev->vm->spare)
			continue;
		if ((size_t)snprintf(ch->sock_path[i], sizeof(ch->sock_path[i]), "%s/%s.%s.sock",
				     dir, cc->name, sock_suffix[i]) >= sizeof(ch->sock_path[i])) {
			ret = -ENAMETOOLONG;
			goto err_close_server;
		}
		/* the spare's peer: nobody but us can ring it until it is promoted */
		ret =
		    sock_role[i] == CHANNEL_PEER_SPARE
			? ivshmem_server__add_hidden_role(&ch->srv, ch->sock_path[i], sock_role[i])
			: ivshmem_server__add_role(&ch->srv, ch->sock_path[i], sock_role[i]);
		if (ret)
			goto err_close_server;
	}
	return 0;

err_close_server:
	ivshmem_server__close(&ch->srv);
err_unmap:
	munmap(ch->base, ch->size);
err_close_shm:
	close(ch->shm_fd);
	return ret;
}

void channel__destroy(struct channel *ch)
{
	if (!ch->cfg)
		return;
	/* Tell whoever still looks (a host client) that this is the end. */
	ch->own.ctl_flags |= DDVM_CTL_SHUTDOWN;
	channel_assert_own(ch);
	ivshmem_server__ring(&ch->srv, CHANNEL_PEER_CLIENT, DDVM_VECTOR_CONTROL);
	ivshmem_server__close(&ch->srv);
	munmap(ch->base, ch->size);
	close(ch->shm_fd);
	ch->cfg = NULL;
}

/* Drain the health doorbell: did the driver VM ring it since the last look? */
static int channel_health_rung(struct channel *ch)
{
	uint64_t n;

	return read(ch->health_fd, &n, sizeof(n)) == sizeof(n) && n > 0;
}

static void channel_watch_restart(struct channel *ch, uint64_t now_ms)
{
	unsigned i;

	for (i = 0; i < DDVM_MAX_RINGS; i++)
		ch->req_changed_ms[i] = now_ms;
}

uint32_t channel__new_epoch(struct channel *ch, uint64_t now_ms)
{
	/*
	 * Order matters: the old driver VM's peer is gone before the rings are zeroed
	 * (nobody may still produce into them), and the epoch is published last, with
	 * release semantics, so a client that sees the new epoch sees zeroed rings.
	 */
	ivshmem_server__kick(&ch->srv, CHANNEL_PEER_DRIVER);
	/* What the dead backend served (read before the state is reset): its NIC's link.
	 * A second epoch before any READY (a failed restore) keeps the first answer. */
	if (ch->cfg->dev->kind == CFG_NET &&
	    ddvm_load_acquire(&ch->rg.hdr->backend_state) == DDVM_STATE_READY)
		ch->link_was_up = ddvm_read32(&net_config(ch)->link_up) == 1;
	ch->back_ms = 0;
	ch->backend_back_ms = 0;
	ch->own.epoch++;
	ddvm_region_set_backend(&ch->rg, DDVM_STATE_ABSENT, ch->own.epoch);
	/* The dead one's counters are not the next one's (display only: abi.h). */
	ddvm_write32(&ch->rg.hdr->stats.magic, 0);
	/* A driver VM revived by `ddvm restart` after we gave up: clients may wait again. */
	ch->own.ctl_flags &= ~DDVM_CTL_BACKEND_GONE;
	ddvm_region_reset_rings(&ch->rg);
	channel_assert_own(ch); /* everything we own, the epoch last */
	ivshmem_server__ring(&ch->srv, CHANNEL_PEER_CLIENT, DDVM_VECTOR_CONTROL);

	ch->hb_seen = 0;
	ch->hb_changed_ms = now_ms;
	(void)channel_health_rung(ch); /* what the dead one rang is not news */
	channel_watch_restart(ch, now_ms);
	return ch->own.epoch;
}

int channel__promote_spare(struct channel *ch)
{
	int id = ivshmem_server__promote(&ch->srv, CHANNEL_PEER_SPARE, CHANNEL_PEER_DRIVER);

	if (id < 0)
		return id;
	/* the event callback published the id (own + header); the rest with it */
	channel_assert_own(ch);
	channel__ring_driver(ch);
	return id;
}

void channel__ring_driver(struct channel *ch)
{
	ivshmem_server__ring(&ch->srv, CHANNEL_PEER_DRIVER, DDVM_VECTOR_CONTROL);
}

int channel__spare_up(const struct channel *ch)
{
	return ivshmem_server__peer_up(&ch->srv, CHANNEL_PEER_SPARE);
}

uint32_t channel__new_session(struct channel *ch, uint64_t now_ms)
{
	/*
	 * The driver VM lives on, so its rings are its own to reset (the translation
	 * module drops this channel's in-flight work and resets its side when it sees
	 * the epoch; the client resyncs in a new session). We only move the epoch and
	 * write back the rest of what we own.
	 */
	ch->own.epoch++;
	channel_assert_own(ch);
	ivshmem_server__ring(&ch->srv, CHANNEL_PEER_DRIVER, DDVM_VECTOR_CONTROL);
	ivshmem_server__ring(&ch->srv, CHANNEL_PEER_CLIENT, DDVM_VECTOR_CONTROL);
	channel_watch_restart(ch, now_ms);
	ch->claim_resets++;
	return ch->own.epoch;
}

void channel__backend_dead(struct channel *ch)
{
	ddvm_region_set_backend(&ch->rg, DDVM_STATE_BROKEN, ch->own.epoch);
	/* "For good": a blk client fails its stalled I/O now instead of at its deadline. */
	ch->own.ctl_flags |= DDVM_CTL_BACKEND_GONE;
	channel_assert_own(ch);
	ivshmem_server__ring(&ch->srv, CHANNEL_PEER_CLIENT, DDVM_VECTOR_CONTROL);
}

void channel__host_flag(struct channel *ch, uint32_t flag, int on)
{
	uint32_t f = on ? ch->own.ctl_flags | flag : ch->own.ctl_flags & ~flag;

	if (f == ch->own.ctl_flags)
		return;
	ch->own.ctl_flags = f;
	channel_assert_own(ch);
}

int channel__heartbeat_stalled(struct channel *ch, uint64_t now_ms, unsigned timeout_ms, char *why,
			       size_t len)
{
	if (channel_health_rung(ch)) {
		ch->hb_changed_ms = now_ms;
		ch->hb_seen = 1;
		ch->health_beats++;
		return 0;
	}
	/* Not watched until the translation module started beating in this epoch. */
	if (!timeout_ms || !ch->hb_seen || now_ms - ch->hb_changed_ms < timeout_ms)
		return 0;
	/* the driver VM's silence, seen first on this channel (each of its translation
	 * modules rings the health doorbell of its own channel) */
	snprintf(why, len,
		 "no heartbeat from the driver VM for %llu ms (its translation module for "
		 "channel %s stopped ringing the health doorbell)",
		 (unsigned long long)(now_ms - ch->hb_changed_ms), ch->cfg->name);
	return 1;
}

int channel__broken(struct channel *ch, char *why, size_t len)
{
	const struct ddvm_region_hdr *h = ch->rg.hdr;
	uint32_t epoch = ch->own.epoch;

	if (ddvm_read32(&h->backend_state) == DDVM_STATE_BROKEN &&
	    ddvm_read32(&h->backend_epoch) == epoch) {
		snprintf(why, len,
			 "channel %s: the translation module says the client broke "
			 "the protocol at epoch %u",
			 ch->cfg->name, epoch);
		return 1;
	}
	if (ddvm_read32(&h->frontend_state) == DDVM_STATE_BROKEN &&
	    ddvm_read32(&h->frontend_epoch) == epoch) {
		snprintf(why, len,
			 "channel %s: the client says the driver VM broke the "
			 "protocol at epoch %u",
			 ch->cfg->name, epoch);
		return 1;
	}
	return 0;
}

uint32_t channel__epoch(const struct channel *ch)
{
	return ch->own.epoch;
}

unsigned channel__nic_mtu(const struct channel *ch, char drv[17])
{
	const struct ddvm_region_hdr *h = ch->rg.hdr;
	const struct ddvm_net_config *c = net_config(ch);
	unsigned i;

	drv[0] = 0;
	if (ch->cfg->dev->kind != CFG_NET ||
	    ddvm_load_acquire(&h->backend_state) != DDVM_STATE_READY ||
	    ddvm_read32(&h->backend_epoch) != ch->own.epoch ||
	    !(ddvm_read64(&h->features) & DDVM_NET_F_MTU))
		return 0;
	/* printable bytes only: the peer wrote them */
	for (i = 0; i < sizeof(c->nic_driver) && c->nic_driver[i]; i++)
		drv[i] = c->nic_driver[i] >= 0x20 && c->nic_driver[i] < 0x7f
			     ? (char)c->nic_driver[i]
			     : '?';
	drv[i] = 0;
	return ddvm_read16(&c->mtu);
}

int channel__backend_back(struct channel *ch)
{
	const struct ddvm_region_hdr *h = ch->rg.hdr;

	if (ddvm_load_acquire(&h->backend_state) != DDVM_STATE_READY ||
	    ddvm_read32(&h->backend_epoch) != ch->own.epoch)
		return 0;
	/* Frames move only once the NIC has its link again (the translation module
	 * publishes link_up before READY, and again at every carrier change). */
	return ch->cfg->dev->kind != CFG_NET || !ch->link_was_up ||
	       ddvm_read32(&net_config(ch)->link_up) == 1;
}

int channel__restored(struct channel *ch)
{
	const struct ddvm_region_hdr *h = ch->rg.hdr;
	uint32_t epoch = ch->own.epoch;

	if (!channel__backend_back(ch))
		return 0;
	/* A client that is not connected has nothing to resume. */
	if (!ivshmem_server__peer_up(&ch->srv, CHANNEL_PEER_CLIENT))
		return 1;
	return ddvm_load_acquire(&h->frontend_state) == DDVM_STATE_READY &&
	       ddvm_read32(&h->frontend_epoch) == epoch;
}

static struct ddvm_ring_ctl *ring_ctl(const struct channel *ch, unsigned i)
{
	/* rg.rings is our private, validated copy: ring_off is inside the mapping. */
	return (struct ddvm_ring_ctl *)((char *)ch->base + ch->rg.rings[i].ring_off);
}

/* N, a difference of two ring indices the region holds, for a log line: any side can
 * write them (the client also the backend's), so more than the ring's ENTRIES is shown
 * as what it is, not as a count of requests. */
static const char *count_str(char *buf, size_t len, uint32_t n, uint32_t entries)
{
	if (n <= entries)
		snprintf(buf, len, "%u", n);
	else
		snprintf(buf, len, "(indices %u apart in a ring of %u: not a count)", n, entries);
	return buf;
}

int channel__requests_stalled(struct channel *ch, uint64_t now_ms, unsigned timeout_ms, char *why,
			      size_t len)
{
	unsigned i;
	int fe_behind;

	uint32_t fs = ddvm_load_acquire(&ch->rg.hdr->frontend_state);
	uint64_t last_look = ch->req_look_ms;

	/*
	 * Evidence is rings that stood still while we watched. After a gap in our looks
	 * (the supervisor was busy or descheduled), a request that came in the moment
	 * before this look would have "not moved since" the last look before the gap:
	 * the clocks start again now instead.
	 */
	ch->req_look_ms = now_ms;
	if (last_look && now_ms - last_look > CHANNEL_LOOK_GAP_MS)
		for (i = 0; i < ch->rg.num_rings; i++)
			if (ch->req_changed_ms[i])
				ch->req_changed_ms[i] = now_ms;

	/*
	 * Only a backend that claims to serve this epoch owes us progress, and only to a
	 * client that has not left: a client driver that detached (CLOSED; ABSENT: none
	 * yet) leaves its producer index where it was, the backend resets its own side
	 * (docs/channel.md, "Sessions") and owes those requests nothing. Counted anyway,
	 * an unloaded client driver made the supervisor restart a sole client's driver VM
	 * 5 s later. A client that forges CLOSED only stops its own channel: the backend
	 * resets it, and the client's honest driver sees its indices move under it and
	 * reports BROKEN (a claim). A client READY or ATTACHING at an earlier epoch has
	 * not re-attached since this one began: its indices are the old session's, which
	 * the backend reset its side for (a client gone for good, or one that never
	 * follows, left a request "untouched" after every new session of its channel).
	 * A state that is none of the protocol's (garbage a client left) still counts:
	 * the new session the stall gets is what brings such a channel back.
	 */
	fe_behind = (fs == DDVM_STATE_READY || fs == DDVM_STATE_ATTACHING) &&
		    (int32_t)(ch->own.epoch - ddvm_read32(&ch->rg.hdr->frontend_epoch)) > 0;
	if (ddvm_load_acquire(&ch->rg.hdr->backend_state) != DDVM_STATE_READY ||
	    ddvm_read32(&ch->rg.hdr->backend_epoch) != ch->own.epoch || fs == DDVM_STATE_CLOSED ||
	    fs == DDVM_STATE_ABSENT || fe_behind) {
		for (i = 0; i < ch->rg.num_rings; i++)
			ch->req_changed_ms[i] = now_ms;
		return 0;
	}
	for (i = 0; i < ch->rg.num_rings; i++) {
		struct ddvm_ring_ctl *c;
		uint32_t prod, cons;

		/* First look (the health check starts once the driver VM is ready): the
		 * clock starts now, not at 0, or a request in flight at that moment would
		 * look stuck since boot. */
		if (!ch->req_changed_ms[i]) {
			ch->req_changed_ms[i] = now_ms;
			continue;
		}
		if (ch->rg.rings[i].producer != DDVM_SIDE_FRONTEND) {
			/*
			 * blk: every request the backend took (cons of ring 2q) owes one
			 * response (prod of ring 2q+1). Taken but unanswered and no response
			 * for TIMEOUT: the driver below it hangs (an oops in its submission
			 * path, a lost completion, a dead controller).
			 */
			uint32_t rsp_prod, req_cons;

			if (ch->cfg->dev->kind != CFG_BLK || !(i & 1))
				continue;
			rsp_prod = ddvm_read32(&ring_ctl(ch, i)->prod);
			req_cons = ddvm_read32(&ring_ctl(ch, i - 1)->cons);
			if (rsp_prod != ch->req_cons[i] || req_cons == rsp_prod) {
				ch->req_cons[i] = rsp_prod;
				ch->req_changed_ms[i] = now_ms;
				continue;
			}
			if (timeout_ms && now_ms - ch->req_changed_ms[i] >= timeout_ms) {
				char n[64];

				snprintf(why, len,
					 "channel %s ring %u: %s requests taken but not "
					 "answered for %llu ms",
					 ch->cfg->name, i - 1,
					 count_str(n, sizeof(n), req_cons - rsp_prod,
						   ch->rg.rings[i - 1].entries),
					 (unsigned long long)(now_ms - ch->req_changed_ms[i]));
				return CHANNEL_STALL_UNANSWERED;
			}
			continue;
		}
		c = ring_ctl(ch, i);
		prod = ddvm_read32(&c->prod);
		cons = ddvm_read32(&c->cons);
		/*
		 * blk: while requests it took are unanswered, the backend may take no more
		 * (its submission waits for the disk: a depth-1 controller's tag, a
		 * bps_limit); the requests behind them wait for the same disk. The
		 * response ring's check above judges the pair; counted here as well, a
		 * client's slow disk read as an untouched ring and got its channel reset
		 * over and over (or a sole client's driver VM restarted).
		 */
		if (ch->cfg->dev->kind == CFG_BLK && i + 1 < ch->rg.num_rings &&
		    ddvm_read32(&ring_ctl(ch, i + 1)->prod) != cons) {
			ch->req_cons[i] = cons;
			ch->req_changed_ms[i] = now_ms;
			continue;
		}
		if (cons != ch->req_cons[i] || prod == cons) {
			ch->req_cons[i] = cons;
			ch->req_changed_ms[i] = now_ms;
			continue;
		}
		if (timeout_ms && now_ms - ch->req_changed_ms[i] >= timeout_ms) {
			char n[64];

			snprintf(why, len, "channel %s ring %u: %s requests untouched for %llu ms",
				 ch->cfg->name, i,
				 count_str(n, sizeof(n), prod - cons, ch->rg.rings[i].entries),
				 (unsigned long long)(now_ms - ch->req_changed_ms[i]));
			return CHANNEL_STALL_UNTOUCHED;
		}
	}
	return 0;
}

void channel__stats(const struct channel *ch, struct channel_stats *st)
{
	const struct ddvm_region_hdr *h = ch->rg.hdr;
	unsigned i;

	memset(st, 0, sizeof(*st));
	st->epoch = ch->own.epoch;
	st->backend_state = ddvm_read32(&h->backend_state);
	st->frontend_state = ddvm_read32(&h->frontend_state);
	st->backend_epoch = ddvm_read32(&h->backend_epoch);
	st->frontend_epoch = ddvm_read32(&h->frontend_epoch);
	st->heartbeat = ddvm_read64(&h->heartbeat);
	st->health_beats = ch->health_beats;
	st->claim_resets = ch->claim_resets;
	st->errors = ddvm_read64(&h->backend_errors) + ddvm_read64(&h->frontend_errors);
	for (i = 0; i < ch->rg.num_rings; i++) {
		uint32_t prod = ddvm_read32(&ring_ctl(ch, i)->prod);

		/* rg: our validated copy of the layout, whose ring 2q is the frontend's */
		if (ch->rg.rings[i].producer == DDVM_SIDE_FRONTEND) {
			st->requests += prod;
			st->queue_requests[i / 2] = prod;
		} else {
			st->responses += prod;
			st->queue_responses[i / 2] = prod;
		}
	}
	st->num_queues = ch->rg.num_rings / 2;
	st->driver_up = ivshmem_server__peer_up(&ch->srv, CHANNEL_PEER_DRIVER);
	st->client_up = ivshmem_server__peer_up(&ch->srv, CHANNEL_PEER_CLIENT);
	/* rg.kind: our validated copy of the layout, not what the region says now */
	counters__read(&st->counters, &h->stats, ch->rg.kind);
}

const char *channel_state_name(uint32_t state)
{
	switch (state) {
	case DDVM_STATE_ABSENT:
		return "absent";
	case DDVM_STATE_ATTACHING:
		return "attaching";
	case DDVM_STATE_READY:
		return "ready";
	case DDVM_STATE_BROKEN:
		return "broken";
	case DDVM_STATE_CLOSED:
		return "closed";
	}
	return "?";
}
