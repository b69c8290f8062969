// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ddvm_blkback: the blk translation module of a driver VM.
 *
 * Binds one ivshmem-doorbell device whose region carries a DDVM_KIND_BLK channel,
 * opens the disk that hdr.backend_target names (exclusively, through the unmodified
 * driver that owns it: nvme, ahci, ata_piix, virtio_blk, sd over virtio_scsi or a SCSI
 * HBA, ...), and turns the client's requests into bios:
 *
 *   req ring 2q   pop (one copy) -> check -> bio on the tag's slot pages -> submit_bio
 *   bi_end_io     response on rsp ring 2q+1 -> kick if asked
 *
 * Zero copy: the ivshmem BAR gets struct pages (ddvm_ivshmem_map_pages, ZONE_DEVICE),
 * and a read/write bio points at the pages of the request's payload slot, so the
 * unmodified disk driver's controller DMAs straight to and from the shared memory
 * (to QEMU the BAR is RAM). The slot's address and length come from our own validated
 * copy of the layout and of the request, never from shared memory; the client may
 * change the slot's bytes while the device reads or writes them, which only changes
 * the client's own data. Where the BAR cannot have pages, or the controller's DMA mask
 * does not reach it, each bio gets pages of its own and the data is copied (the "copy"
 * path); sysfs "ddvm_blk_stats" on the PCI device and the kernel log say which.
 *
 * Counters: the group "ddvm_stats" on the PCI device has one file per counter (bytes by
 * path, requests, doorbells each way, polls, sessions: docs/blk.md, "Counters"), and
 * the heartbeat publishes the same numbers to the host in hdr.stats (abi.h), where
 * `ddvm status --json` shows them. They are for humans: nobody acts on them.
 *
 * A request is answered only after the device completed it; a flush is submitted as
 * an empty REQ_PREFLUSH write, so it reaches the device's volatile cache (and, for an
 * emulated device, the host file). The client is not trusted: each descriptor is
 * copied once and checked (op, flags, length, sector range, buffer == tag's slot);
 * a bad request is answered DDVM_BLK_S_INVAL, a ring violation marks the channel
 * DDVM_STATE_BROKEN and stops serving it until the next session or epoch.
 *
 * Capacity: the disk may grow or shrink under us (the host image was resized and the
 * emulated controller told the driver VM's Linux). The heartbeat compares the disk's
 * size with the one we published; on a change the control work publishes the new one
 * in the device description and rings the client's control vector. Requests are
 * checked against what we published, so nothing past a shrunk end reaches the disk.
 *
 * Sessions (abi.h): each attach of a client starts one; we drop what the old session
 * had in flight (its bios finish, their answers are discarded) and reset our side, so
 * a restarted client never reads an old client's answers. Health (abi.h): every
 * heartbeat period we ring the supervisor's private doorbell, unless a probe work item
 * we queued on the system workqueue has not run for stall_ms (blkback_healthy).
 */
#include <linux/ratelimit.h>
#include <linux/module.h>
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/highmem.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/timer.h>
#include <linux/ctype.h>
#include <linux/dma-mapping.h>
#include "ddvm/blk.h"
#include "ddvm_ivshmem.h"
#include "ddvm_stats.h"

/* Heartbeat period, which is also the backstop poll of the rings for a lost doorbell
 * and the look at the disk's capacity. Requests, epochs and sessions are doorbell
 * driven; an idle channel costs one wake-up a second (docs/bench.md §3). */
#define BLKBACK_HEARTBEAT_MS  1000
#define BLKBACK_POLL_TICKS    1 /* backstop ring poll every heartbeat */
#define BLKBACK_OPEN_RETRY_MS 200
#define BLKBACK_OPEN_TRIES    300 /* 60 s for the disk to appear */
#define BLKBACK_BUDGET	      256 /* requests per work run before yielding */
#define BLKBACK_SECTORS_MAX   ((BIO_MAX_VECS * PAGE_SIZE) >> SECTOR_SHIFT)

static unsigned int open_tries = BLKBACK_OPEN_TRIES;
module_param(open_tries, uint, 0444);
MODULE_PARM_DESC(open_tries, "tries (200 ms apart) to open the target disk");

static unsigned int stall_ms = 3000;
module_param(stall_ms, uint, 0644);
MODULE_PARM_DESC(stall_ms, "stop reporting healthy when our work stalls this long");

/* On by default; 0 forces the copy path everywhere (docs/blk.md). */
static bool zero_copy = true;
module_param(zero_copy, bool, 0444);
MODULE_PARM_DESC(
    zero_copy, "let the disk DMA straight to and from the channel's slots where it can (0: copy)");

#define BLKBACK_SESSION_GAP (HZ / 10) /* at most 10 session resets a second */
/* A write the disk failed waits up to this long for the supervisor to say whether the
 * host file system is full (DDVM_CTL_HOST_NOSPC: it hears of ENOSPC through QMP or
 * QEMU's stderr while the error travels through the emulated controller and our
 * guest), looking every BLKBACK_HOLD_POLL_MS; then it is NOSPC or IOERR. */
#define BLKBACK_HOLD_MS	     500
#define BLKBACK_HOLD_POLL_MS 10

struct blkback;

/* One queue pair. req is touched only by work (single consumer); everything the
 * completion path shares with it is under lock. */
struct blkback_queue {
	struct blkback *bb;
	unsigned int index;
	struct ddvm_ring req;	 /* consumer (frontend produces) */
	struct work_struct work; /* pops and submits */
	spinlock_t lock;	 /* rsp, inflight, busy, gen, broken */
	struct ddvm_ring rsp;	 /* producer */
	unsigned int inflight;	 /* popped, response not yet pushed */
	unsigned long *busy;	 /* tags popped and not yet answered */
	u32 gen;		 /* bumped on each ring reset; stale bios are dropped */
	bool broken;
	bool stuck_logged;
	unsigned long progress; /* jiffies of the last answer (or reset) */
	/* Counters (ddvm_blk_stats): how the queue is woken and how full it runs. */
	atomic_long_t doorbells; /* queue-vector interrupts from the client */
	atomic_long_t runs;	 /* queue work runs */
	atomic_long_t popped;	 /* requests taken off the ring */
	atomic_long_t kicks;	 /* doorbells we rang the client */
	atomic_long_t rsp_waits; /* runs that stopped for lack of response slots */
	/* A lost wake-up: requests the client had published at one heartbeat and we had
	 * still not taken at the next (only the backstop poll then takes them). */
	unsigned long lost_wakeups; /* heartbeat only */
	u32 hb_prod, hb_cons;	    /* the ring as the last heartbeat saw it */
	bool rsp_short;		    /* the last run stopped for lack of response slots */
	unsigned int inflight_max;
} ____cacheline_aligned_in_smp;

struct blkback {
	struct ddvm_ivshmem t;
	/* the lines a client's own doing prints (broke, reset): at most 20 per 10 s per
	 * channel, so that one client cannot flush the driver VM's log */
	struct ratelimit_state log_rs;
	struct block_device *bdev;
	fmode_t mode;
	char target[sizeof_field(struct ddvm_region_hdr, backend_target)];
	char path[48];
	u32 epoch;		  /* epoch our rings belong to */
	u32 session;		  /* the client's session we serve (0: none yet) */
	unsigned long session_at; /* jiffies of the last reset a client's request caused */
	unsigned long epoch_at;	  /* jiffies of the last reset an epoch change caused */
	bool ready;		  /* serving (bdev open, header published) */
	bool stopping; /* no doorbell schedules anything: set until probed, and at remove */
	bool standby;  /* a warm spare's device (ddvm_ivshmem_standby): nothing served */
	struct mutex open_lock; /* bdev, standby: the open work vs a takeover */
	unsigned int open_tries;
	unsigned int ticks;
	u64 features;
	struct ddvm_blk_config cfg; /* what we published (our copy) */
	struct delayed_work open_work;
	struct work_struct ctrl_work;
	struct work_struct probe_work; /* the health probe (blkback_healthy) */
	unsigned long probe_at;	       /* jiffies it was queued; 0: it ran */
	struct timer_list heartbeat;
	atomic_t bios; /* bios in flight, all generations */
	wait_queue_head_t bios_wq;
	bool pages;	      /* the BAR has struct pages */
	bool zc;	      /* read/write bios use slot pages */
	const char *copy_why; /* why not, for humans */
	atomic64_t zc_reqs, zc_bytes, copy_reqs, copy_bytes;
	atomic64_t read_bytes, write_bytes, flushes, discards, errors, sessions;
	unsigned int nq;
	struct blkback_queue *qs;
	/* failed writes waiting to learn whether the host was out of space */
	spinlock_t held_lock;
	struct list_head held;
	struct delayed_work held_work;
};

/* One client request in the driver VM's block layer. */
struct blkback_io {
	struct blkback_queue *q;
	u64 id;
	u32 tag;
	u32 len;
	u32 gen;
	u16 op;
	bool zc;		  /* the bio's pages are the slot's: nothing to copy or free */
	struct list_head held;	  /* on bb->held (blkback_hold) */
	unsigned long held_until; /* jiffies */
};

/* --- responses ------------------------------------------------------------------- */

static void blkback_mark_broken(struct blkback_queue *q) __must_hold(&q->lock)
{
	struct blkback *bb = q->bb;
	struct ddvm_region_hdr *h = bb->t.rg.hdr;

	if (q->broken)
		return;
	q->broken = true;
	WRITE_ONCE(h->backend_errors, READ_ONCE(h->backend_errors) + 1);
	ddvm_region_set_backend(&bb->t.rg, DDVM_STATE_BROKEN, bb->epoch);
	if (__ratelimit(&bb->log_rs))
		dev_warn(&bb->t.pdev->dev,
			 "ddvm blk: client broke the protocol on queue %u (epoch %u; req prod %u "
			 "seen %u cons %u; rsp prod %u cons %u seen %u): channel stopped\n",
			 q->index, bb->epoch, READ_ONCE(q->req.ctl->prod), q->req.prod, q->req.cons,
			 q->rsp.prod, READ_ONCE(q->rsp.ctl->cons), q->rsp.cons);
}

/* Push one response; returns true when the client must be kicked. */
static bool blkback_respond(struct blkback_queue *q, u64 id, u32 status, u32 len)
    __must_hold(&q->lock)
{
	struct ddvm_blk_rsp rsp = { .id = id, .status = status, .len = len };

	if (q->broken)
		return false;
	if (status != DDVM_BLK_S_OK)
		atomic64_inc(&q->bb->errors);
	if (ddvm_ring_push(&q->rsp, &rsp)) {
		/* We reserved space before popping the request: only a lying consumer
		 * index can get us here. */
		blkback_mark_broken(q);
		return false;
	}
	return ddvm_ring_publish(&q->rsp);
}

static u32 blkback_status(blk_status_t sts)
{
	switch (blk_status_to_errno(sts)) {
	case 0:
		return DDVM_BLK_S_OK;
	case -EOPNOTSUPP:
		return DDVM_BLK_S_UNSUPP;
	case -ENOSPC:
		return DDVM_BLK_S_NOSPC;
	default:
		return DDVM_BLK_S_IOERR;
	}
}

static void blkback_io_end(struct blkback_io *io, u32 status, u32 len)
{
	struct blkback_queue *q = io->q;
	struct blkback *bb = q->bb;
	unsigned long flags;
	bool kick = false;

	spin_lock_irqsave(&q->lock, flags);
	if (io->gen == q->gen) {
		clear_bit(io->tag, q->busy);
		q->inflight--;
		q->progress = jiffies;
		kick = blkback_respond(q, io->id, status, len);
	}
	spin_unlock_irqrestore(&q->lock, flags);
	if (kick) {
		atomic_long_inc(&q->kicks);
		ddvm_ivshmem_kick(&bb->t, q->rsp.vector);
	}
	kfree(io);
	/* Under the wait queue's lock, so blkback_bios_drain() cannot free bb
	 * between our decrement and our wake-up. */
	spin_lock_irqsave(&bb->bios_wq.lock, flags);
	if (atomic_dec_and_test(&bb->bios))
		wake_up_locked(&bb->bios_wq);
	spin_unlock_irqrestore(&bb->bios_wq.lock, flags);
}

/* Wait until no bio of ours is in the driver VM's block layer. */
static void blkback_bios_drain(struct blkback *bb)
{
	wait_event(bb->bios_wq, atomic_read(&bb->bios) == 0);
	spin_lock_irq(&bb->bios_wq.lock); /* the last completer is out of it */
	spin_unlock_irq(&bb->bios_wq.lock);
}

static bool blkback_host_nospc(const struct blkback *bb)
{
	return READ_ONCE(bb->t.rg.hdr->ctl_flags) & DDVM_CTL_HOST_NOSPC;
}

/*
 * A write the disk failed while the supervisor says the image's host file system is
 * full: the client gets NOSPC, which no emulated controller can carry (abi.h,
 * DDVM_CTL_HOST_NOSPC). Returns true when the answer must wait for the supervisor's
 * word (blkback_hold); a forged flag only relabels the forger's own failed writes.
 */
static bool blkback_failed_write(const struct blkback_io *io, u32 *status)
{
	if (*status != DDVM_BLK_S_IOERR ||
	    (io->op != DDVM_BLK_OP_WRITE && io->op != DDVM_BLK_OP_WRITE_ZEROES))
		return false;
	if (blkback_host_nospc(io->q->bb)) {
		*status = DDVM_BLK_S_NOSPC;
		return false;
	}
	return true;
}

/* Hold IO (a failed write) until the supervisor has said "no space" or
 * BLKBACK_HOLD_MS passed; bb->bios stays counted, so a drain waits for it. */
static void blkback_hold(struct blkback_io *io)
{
	struct blkback *bb = io->q->bb;
	unsigned long flags;

	io->held_until = jiffies + msecs_to_jiffies(BLKBACK_HOLD_MS);
	spin_lock_irqsave(&bb->held_lock, flags);
	list_add_tail(&io->held, &bb->held);
	spin_unlock_irqrestore(&bb->held_lock, flags);
	schedule_delayed_work(&bb->held_work, msecs_to_jiffies(BLKBACK_HOLD_POLL_MS));
}

static void blkback_held_work(struct work_struct *w)
{
	struct blkback *bb = container_of(to_delayed_work(w), struct blkback, held_work);
	struct blkback_io *io, *n;
	bool nospc = blkback_host_nospc(bb), more;
	LIST_HEAD(done);

	spin_lock_irq(&bb->held_lock);
	list_for_each_entry_safe(io, n, &bb->held, held)
		if (nospc || time_after_eq(jiffies, io->held_until))
			list_move_tail(&io->held, &done);
	more = !list_empty(&bb->held);
	spin_unlock_irq(&bb->held_lock);
	list_for_each_entry_safe(io, n, &done, held) {
		list_del(&io->held);
		blkback_io_end(io, nospc ? DDVM_BLK_S_NOSPC : DDVM_BLK_S_IOERR, 0);
	}
	if (more)
		schedule_delayed_work(&bb->held_work, msecs_to_jiffies(BLKBACK_HOLD_POLL_MS));
}

static void blkback_bio_end(struct bio *bio)
{
	struct blkback_io *io = bio->bi_private;
	struct blkback_queue *q = io->q;
	u32 status = blkback_status(bio->bi_status);
	bool hold = blkback_failed_write(io, &status);
	struct bio_vec *bv;
	struct bvec_iter_all iter;
	u32 done = 0;
	u8 *slot;

	if (io->op == DDVM_BLK_OP_READ && !io->zc && status == DDVM_BLK_S_OK &&
	    io->gen == READ_ONCE(q->gen)) {
		/* The slot was checked when the request was popped; a racing ring reset
		 * only makes us write data nobody reads into our own mapping. */
		slot = q->req.data + (size_t)io->tag * q->req.slot_size;
		bio_for_each_segment_all(bv, bio, iter)
		{
			u32 n = min_t(u32, bv->bv_len, io->len - done);

			memcpy_from_page(slot + done, bv->bv_page, bv->bv_offset, n);
			done += n;
			if (done == io->len)
				break;
		}
	}
	if ((io->op == DDVM_BLK_OP_READ || io->op == DDVM_BLK_OP_WRITE) && !io->zc)
		bio_for_each_segment_all(bv, bio, iter) __free_page(bv->bv_page);
	bio_put(bio);
	if (hold)
		blkback_hold(io);
	else
		blkback_io_end(io, status, status == DDVM_BLK_S_OK ? io->len : 0);
}

/* --- requests -------------------------------------------------------------------- */

/* Check a request's range: [sector, sector + len/512) inside the disk, aligned to the
 * logical block, len a nonzero multiple of it and at most max sectors. Overflow-safe. */
static bool blkback_range_ok(const struct blkback *bb, const struct ddvm_blk_req *r, u32 max)
{
	u64 cap = READ_ONCE(bb->cfg.capacity), nsec = r->len >> SECTOR_SHIFT; /* may change */
	u32 lbs_sec = bb->cfg.logical_block >> SECTOR_SHIFT;

	if (r->len == 0 || r->len % bb->cfg.logical_block)
		return false;
	if (nsec > max || r->sector > cap || nsec > cap - r->sector)
		return false;
	return r->sector % lbs_sec == 0;
}

static int blkback_add_pages(struct bio *bio, u32 len, const u8 *src)
{
	u32 done = 0;

	while (done < len) {
		u32 n = min_t(u32, PAGE_SIZE, len - done);
		/* a read's pages zeroed: a driver that completes it without filling them
		 * (a buggy one is what a driver VM is for) must not hand the client what
		 * this kernel freed before, another client's data among it */
		struct page *pg = alloc_page(src ? GFP_NOIO : GFP_NOIO | __GFP_ZERO);

		if (!pg)
			return -ENOMEM;
		if (src)
			memcpy_to_page(pg, 0, src + done, n);
		if (bio_add_page(bio, pg, n, 0) != n) {
			__free_page(pg);
			return -EIO;
		}
		done += n;
	}
	return 0;
}

/* Zero copy: a bio on the pages of the checked slot range [slot, slot + len). The
 * offset into the BAR is computed from our validated pointer, not read from shared
 * memory. Returns NULL when some page of the range has no struct page. */
static struct bio *blkback_slot_bio(struct blkback *bb, blk_opf_t opf, const u8 *slot, u32 len)
{
	resource_size_t off = slot - (const u8 *)bb->t.shm;
	u32 first = offset_in_page(off), done = 0;
	struct bio *bio;

	bio = bio_alloc(bb->bdev, DIV_ROUND_UP(first + len, PAGE_SIZE), opf, GFP_NOIO);
	while (done < len) {
		struct page *pg = ddvm_ivshmem_page(&bb->t, off + done);
		u32 po = offset_in_page(off + done);
		u32 n = min_t(u32, PAGE_SIZE - po, len - done);

		if (!pg || bio_add_page(bio, pg, n, po) != n) {
			bio_put(bio);
			return NULL;
		}
		done += n;
	}
	return bio;
}

/* Count a request whose bio is about to be submitted (ddvm_stats). */
static void blkback_count(struct blkback *bb, const struct ddvm_blk_req *r)
{
	switch (r->op) {
	case DDVM_BLK_OP_READ:
		atomic64_add(r->len, &bb->read_bytes);
		break;
	case DDVM_BLK_OP_WRITE:
		atomic64_add(r->len, &bb->write_bytes);
		break;
	case DDVM_BLK_OP_FLUSH:
		atomic64_inc(&bb->flushes);
		break;
	default:
		atomic64_inc(&bb->discards); /* discard, write zeroes */
		break;
	}
}

/* Build and submit the bio(s) for a checked request. Returns a DDVM_BLK_S_* status
 * when the request must be answered now (no bio in flight), or -1 when a bio will
 * answer it. */
static int blkback_submit(struct blkback_queue *q, struct blkback_io *io,
			  const struct ddvm_blk_req *r, const u8 *slot)
{
	struct blkback *bb = q->bb;
	struct bio *bio = NULL;
	struct bio_vec *bv;
	struct bvec_iter_all iter;
	blk_opf_t opf;
	int err;

	switch (r->op) {
	case DDVM_BLK_OP_READ:
	case DDVM_BLK_OP_WRITE:
		opf = r->op == DDVM_BLK_OP_READ ? REQ_OP_READ : REQ_OP_WRITE;
		if (r->flags & DDVM_BLK_REQ_FUA)
			opf |= REQ_FUA;
		if (bb->zc)
			bio = blkback_slot_bio(bb, opf, slot, r->len);
		if (bio) {
			io->zc = true;
			atomic64_inc(&bb->zc_reqs);
			atomic64_add(r->len, &bb->zc_bytes);
			bio->bi_iter.bi_sector = r->sector;
			break;
		}
		atomic64_inc(&bb->copy_reqs);
		atomic64_add(r->len, &bb->copy_bytes);
		bio = bio_alloc(bb->bdev, DIV_ROUND_UP(r->len, PAGE_SIZE), opf, GFP_NOIO);
		bio->bi_iter.bi_sector = r->sector;
		err = blkback_add_pages(bio, r->len, r->op == DDVM_BLK_OP_WRITE ? slot : NULL);
		if (err) {
			bio_for_each_segment_all(bv, bio, iter) __free_page(bv->bv_page);
			bio_put(bio);
			return DDVM_BLK_S_IOERR;
		}
		break;
	case DDVM_BLK_OP_FLUSH:
		bio = bio_alloc(bb->bdev, 0, REQ_OP_WRITE | REQ_PREFLUSH, GFP_NOIO);
		break;
	case DDVM_BLK_OP_DISCARD:
		err = __blkdev_issue_discard(bb->bdev, r->sector, r->len >> SECTOR_SHIFT, GFP_NOIO,
					     &bio);
		if (err || !bio)
			return err == -EOPNOTSUPP ? DDVM_BLK_S_UNSUPP : DDVM_BLK_S_IOERR;
		break;
	case DDVM_BLK_OP_WRITE_ZEROES:
		err = __blkdev_issue_zeroout(bb->bdev, r->sector, r->len >> SECTOR_SHIFT, GFP_NOIO,
					     &bio, BLKDEV_ZERO_NOFALLBACK);
		if (err || !bio)
			return err == -EOPNOTSUPP ? DDVM_BLK_S_UNSUPP : DDVM_BLK_S_IOERR;
		break;
	default:
		return DDVM_BLK_S_INVAL;
	}
	bio->bi_private = io;
	bio->bi_end_io = blkback_bio_end;
	blkback_count(bb, r);
	atomic_inc(&bb->bios);
	submit_bio(bio);
	return -1;
}

/* Check one request (our private copy) and start it. Returns a status to answer now,
 * or -1 when it is in flight. Called with the tag marked busy. */
static int blkback_start(struct blkback_queue *q, const struct ddvm_blk_req *r, u32 tag, u32 gen)
{
	struct blkback *bb = q->bb;
	const u8 *slot = NULL;
	struct blkback_io *io;
	int st;

	if (r->flags & ~DDVM_BLK_REQ_FUA)
		return DDVM_BLK_S_INVAL;
	switch (r->op) {
	case DDVM_BLK_OP_READ:
	case DDVM_BLK_OP_WRITE:
		if (!blkback_range_ok(bb, r, bb->cfg.max_sectors))
			return DDVM_BLK_S_INVAL;
		slot = ddvm_ring_slot_check(&q->req, tag, r->off, r->len);
		if (!slot)
			return DDVM_BLK_S_INVAL;
		if (r->op == DDVM_BLK_OP_WRITE && (bb->features & DDVM_BLK_F_RO))
			return DDVM_BLK_S_IOERR;
		break;
	case DDVM_BLK_OP_FLUSH:
		if (r->len)
			return DDVM_BLK_S_INVAL;
		break;
	case DDVM_BLK_OP_DISCARD:
	case DDVM_BLK_OP_WRITE_ZEROES:
		if (!(bb->features & (r->op == DDVM_BLK_OP_DISCARD ? DDVM_BLK_F_DISCARD
								   : DDVM_BLK_F_WRITE_ZEROES)))
			return DDVM_BLK_S_UNSUPP;
		if (!blkback_range_ok(bb, r, bb->cfg.max_discard_sectors))
			return DDVM_BLK_S_INVAL;
		break;
	default:
		return DDVM_BLK_S_INVAL;
	}

	io = kmalloc(sizeof(*io), GFP_NOIO);
	if (!io)
		return DDVM_BLK_S_IOERR;
	io->q = q;
	io->id = r->id;
	io->tag = tag;
	io->len = r->op == DDVM_BLK_OP_FLUSH ? 0 : r->len;
	io->gen = gen;
	io->op = r->op;
	io->zc = false;
	st = blkback_submit(q, io, r, slot);
	if (st >= 0)
		kfree(io);
	return st;
}

/* The client announced (with release order) that it reset its side of the rings for
 * the session we serve at our epoch: only then are its ring fields worth reading. */
static bool blkback_client_attached(struct blkback *bb)
{
	return ddvm_region_session_current(&bb->t.rg, bb->epoch, bb->session);
}

/* The doorbell guard's question (guest/ddvm_ivshmem.h), in hard interrupt context: do
 * we take requests now? Not before we serve, not on a broken channel, not while no
 * client is in our session (blkback_queue_work would not look at the rings). */
static bool blkback_serving(struct ddvm_ivshmem *t)
{
	struct blkback *bb = t->priv;
	unsigned int i;

	/* stopping first: remove frees the queues before the vectors go */
	if (smp_load_acquire(&bb->stopping) || !READ_ONCE(bb->ready))
		return false;
	for (i = 0; i < bb->nq; i++)
		if (READ_ONCE(bb->qs[i].broken))
			return false;
	return blkback_client_attached(bb);
}

/* Pop, check and submit requests until the ring is empty (then arm the doorbell) or
 * the budget is spent (then requeue ourselves). */
static void blkback_queue_work(struct work_struct *work)
{
	struct blkback_queue *q = container_of(work, struct blkback_queue, work);
	struct blkback *bb = q->bb;
	unsigned int budget = BLKBACK_BUDGET;
	bool kick_rsp = false, kick_req = false;
	struct ddvm_blk_req r;
	struct blk_plug plug;
	u32 tag, gen, room, tries;
	unsigned long popped = 0;
	int st;

	atomic_long_inc(&q->runs);
	if (!READ_ONCE(bb->ready) || !blkback_client_attached(bb))
		return;
	/* The bios of one pass go to the disk's driver together (one doorbell for a
	 * batch, and requests the block layer may merge). */
	blk_start_plug(&plug);
	for (;;) {
		spin_lock_irq(&q->lock);
		if (q->broken) {
			spin_unlock_irq(&q->lock);
			break;
		}
		/* Never take a request we could not answer: keep one rsp slot for each. */
		room = ddvm_ring_space(&q->rsp);
		if (ddvm_ring_broken(&q->rsp)) {
			blkback_mark_broken(q);
			spin_unlock_irq(&q->lock);
			break;
		}
		/* Short of room: ask the client to kick us when it consumes responses.
		 * The event must name the cons we last saw; if cons moved while we
		 * armed it, arm again (bounded: cons only moves over what we pushed). */
		for (tries = 0; room <= q->inflight && tries <= q->rsp.entries; tries++) {
			u32 seen = q->rsp.cons;

			ddvm_ring_wait_space(&q->rsp);
			room = ddvm_ring_space(&q->rsp);
			if (q->rsp.cons == seen || ddvm_ring_broken(&q->rsp))
				break;
		}
		if (room <= q->inflight) {
			atomic_long_inc(&q->rsp_waits);
			q->rsp_short = true;
			if (ddvm_ring_broken(&q->rsp))
				blkback_mark_broken(q);
			spin_unlock_irq(&q->lock);
			break;
		}
		gen = q->gen;
		q->rsp_short = false;
		spin_unlock_irq(&q->lock);

		if (!budget--) {
			queue_work(system_wq, &q->work);
			break;
		}
		st = ddvm_ring_pop(&q->req, &r);
		if (st == -EAGAIN) {
			kick_req |= ddvm_ring_release(&q->req);
			if (ddvm_ring_prepare_wait(&q->req))
				break;
			continue;
		}
		/* The entry can go back at once: we work on our private copy, and the
		 * payload is the tag's slot, not the entry's. Held until the end of the
		 * pass, a tag answered early came back to a full ring (the client's
		 * ring_full counted 401 in one bench run). */
		if (!st)
			kick_req |= ddvm_ring_release(&q->req);
		spin_lock_irq(&q->lock);
		if (st) {
			blkback_mark_broken(q);
			spin_unlock_irq(&q->lock);
			break;
		}
		popped++;
		tag = DDVM_BLK_TAG(r.id);
		if (tag >= q->req.entries || test_bit(tag, q->busy)) {
			/* Not a tag the client may use now: refuse it without touching any
			 * slot (and without a slot of our own for it). */
			kick_rsp |= blkback_respond(q, r.id, DDVM_BLK_S_INVAL, 0);
			spin_unlock_irq(&q->lock);
			continue;
		}
		set_bit(tag, q->busy);
		q->inflight++;
		q->inflight_max = max(q->inflight_max, q->inflight);
		spin_unlock_irq(&q->lock);

		st = blkback_start(q, &r, tag, gen);
		if (st >= 0) {
			spin_lock_irq(&q->lock);
			if (gen == q->gen) {
				clear_bit(tag, q->busy);
				q->inflight--;
				kick_rsp |= blkback_respond(q, r.id, st, 0);
			}
			spin_unlock_irq(&q->lock);
		}
	}
	blk_finish_plug(&plug);
	kick_req |= ddvm_ring_release(&q->req);
	if (kick_rsp || kick_req) {
		atomic_long_inc(&q->kicks);
		ddvm_ivshmem_kick(&bb->t, q->req.vector);
	}
	atomic_long_add(popped, &q->popped);
}

/* --- attach: the disk, the header, the rings --------------------------------------- */

/* The disk: with the supervisor's channel list, the disk below the controller it names
 * (disk/by-pci/BDF, as supervisor/channel.c names it in the header); without one (a
 * hand-built QEMU), hdr.backend_target, untrusted text from shared memory: copy it
 * once, terminate it, and accept only a relative device name under /dev ("nvme0n1",
 * "disk/by-pci/..."). */
static int blkback_parse_target(struct blkback *bb)
{
	const struct ddvm_region_hdr *h = bb->t.rg.hdr;
	size_t i, n;

	if (bb->t.has_identity)
		snprintf(bb->target, sizeof(bb->target), "disk/by-pci/%s", bb->t.id_target);
	else
		memcpy(bb->target, h->backend_target, sizeof(bb->target));
	bb->target[sizeof(bb->target) - 1] = '\0';
	n = strlen(bb->target);
	if (n == 0 || bb->target[0] == '/' || strstr(bb->target, ".."))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char c = bb->target[i];

		if (!isalnum(c) && !strchr("._:/+-", c))
			return -EINVAL;
	}
	snprintf(bb->path, sizeof(bb->path), "/dev/%s", bb->target);
	return 0;
}

/* The driver that owns the disk: the nearest ancestor bound on the PCI or virtio bus
 * (nvme, ahci, ata_piix, virtio_blk, virtio_scsi, megaraid_sas, ...). */
static const char *blkback_disk_driver(struct block_device *bdev)
{
	struct device *d;

	for (d = disk_to_dev(bdev->bd_disk)->parent; d; d = d->parent)
		if (d->driver && d->bus &&
		    (!strcmp(d->bus->name, "pci") || !strcmp(d->bus->name, "virtio")))
			return d->driver->name;
	return "?";
}

/*
 * Zero copy or copy, decided once per disk: the BAR must have struct pages and the
 * disk's DMA device (the nearest ancestor with a DMA mask: the controller's PCI
 * function, or the USB host controller) must reach all of it. A device that cannot
 * would need swiotlb bouncing, which the driver VM may not have set up (it has less
 * than 4 GiB of RAM): the copy is the safe choice there.
 */
static void blkback_choose_path(struct blkback *bb)
{
	resource_size_t end = pci_resource_end(bb->t.pdev, 2);
	struct device *d;

	bb->zc = false;
	if (!zero_copy) {
		bb->copy_why = "zero_copy=0";
		return;
	}
	if (!bb->pages) {
		bb->copy_why = "the channel's memory has no struct pages";
		return;
	}
	for (d = disk_to_dev(bb->bdev->bd_disk); d; d = d->parent)
		if (d->dma_mask)
			break;
	if (!d) {
		bb->copy_why = "the disk has no DMA device";
		return;
	}
	if (dma_get_mask(d) < end) {
		bb->copy_why = "the disk's DMA mask does not reach the channel's memory";
		return;
	}
	bb->zc = true;
	bb->copy_why = NULL;
}

/* The disk's size now, in whole logical blocks (what we may publish). */
static u64 blkback_capacity(struct blkback *bb)
{
	return round_down(bdev_nr_sectors(bb->bdev), bb->cfg.logical_block >> SECTOR_SHIFT);
}

static void blkback_describe(struct blkback *bb)
{
	struct block_device *bdev = bb->bdev;
	struct ddvm_blk_config *c = &bb->cfg;
	u32 lbs = bdev_logical_block_size(bdev);
	u32 max = min_t(u32, bb->qs[0].req.slot_size >> SECTOR_SHIFT, BLKBACK_SECTORS_MAX);
	u32 dmax;

	memset(c, 0, sizeof(*c));
	c->logical_block = lbs;
	c->physical_block = max(bdev_physical_block_size(bdev), lbs);
	/* whole logical blocks only, on both ends */
	c->capacity = round_down(bdev_nr_sectors(bdev), lbs >> SECTOR_SHIFT);
	c->max_sectors = round_down(max, lbs >> SECTOR_SHIFT);
	strscpy(c->disk_driver, blkback_disk_driver(bdev), sizeof(c->disk_driver));
	strscpy(c->disk_name, bdev->bd_disk->disk_name, sizeof(c->disk_name));

	bb->features = 0;
	if (bdev_write_cache(bdev))
		/* FUA is honoured either by the device or by the block layer's flush. */
		bb->features |= DDVM_BLK_F_FLUSH | DDVM_BLK_F_FUA;
	if (!(bb->mode & FMODE_WRITE) || bdev_read_only(bdev))
		bb->features |= DDVM_BLK_F_RO;
	/* a request's len is 32-bit: keep discard ranges below 4 GiB */
	dmax = round_down(UINT_MAX >> SECTOR_SHIFT, lbs >> SECTOR_SHIFT);
	if (bdev_max_discard_sectors(bdev) && !(bb->features & DDVM_BLK_F_RO))
		bb->features |= DDVM_BLK_F_DISCARD;
	if (bdev_write_zeroes_sectors(bdev) && !(bb->features & DDVM_BLK_F_RO))
		bb->features |= DDVM_BLK_F_WRITE_ZEROES;
	if (bb->features & (DDVM_BLK_F_DISCARD | DDVM_BLK_F_WRITE_ZEROES))
		c->max_discard_sectors = dmax;
}

/* Reset our side of every ring to the shared state the supervisor left (all zero)
 * and serve the current epoch. Queue works are not running (caller cancelled them). */
static void blkback_rings_reset(struct blkback *bb)
{
	unsigned int i;

	atomic64_inc(&bb->sessions);
	for (i = 0; i < bb->nq; i++) {
		struct blkback_queue *q = &bb->qs[i];

		spin_lock_irq(&q->lock);
		ddvm_ring_reset_own(&q->req);
		ddvm_ring_reset_own(&q->rsp);
		bitmap_zero(q->busy, q->req.entries);
		q->inflight = 0;
		q->gen++;
		q->broken = false;
		q->progress = jiffies;
		q->stuck_logged = false;
		q->hb_prod = q->hb_cons = 0;
		spin_unlock_irq(&q->lock);
	}
}

static bool blkback_healthy(struct blkback *bb); /* the heartbeat's test, below */

/* Serve bb->epoch and bb->session (the rings are reset for them). */
static void blkback_publish(struct blkback *bb)
{
	struct ddvm_region_hdr *h = bb->t.rg.hdr;
	unsigned int i;

	WRITE_ONCE(bb->cfg.capacity, blkback_capacity(bb)); /* the disk may have changed */
	memcpy(h->device, &bb->cfg, sizeof(bb->cfg));
	WRITE_ONCE(h->features, bb->features);
	/* READY last (a release): a client that sees it sees the description. */
	ddvm_region_session_ack(&bb->t.rg, DDVM_STATE_READY, bb->epoch, bb->session);
	ddvm_ivshmem_kick(&bb->t, DDVM_VECTOR_CONTROL);
	/* The supervisor watches our heartbeat from the first beat of an epoch; beat now
	 * rather than at the next tick (up to ~2 s away), so that a hang right after we
	 * serve is found by the heartbeat too. */
	if (blkback_healthy(bb))
		ddvm_ivshmem_health(&bb->t);
	for (i = 0; i < bb->nq; i++)
		queue_work(system_wq, &bb->qs[i].work);
}

/* Reset the rings and serve the current epoch (and a session a client already asked
 * for: a restarted or taken-over driver VM's client is waiting). The disk is open. */
static void blkback_serve(struct blkback *bb)
{
	blkback_rings_reset(bb);
	bb->epoch = ddvm_region_epoch(&bb->t.rg);
	bb->session = ddvm_region_session_request(&bb->t.rg, bb->epoch, 0);
	bb->session_at = jiffies - BLKBACK_SESSION_GAP;
	bb->epoch_at = jiffies - BLKBACK_SESSION_GAP;
	WRITE_ONCE(bb->ready, true);
	blkback_publish(bb);
	dev_info(
	    &bb->t.pdev->dev,
	    "ddvm blk: serving %s (%s, %llu sectors, lbs %u, features %#llx) epoch %u session %u\n",
	    bb->path, bb->cfg.disk_driver, bb->cfg.capacity, bb->cfg.logical_block, bb->features,
	    bb->epoch, bb->session);
}

/*
 * A warm spare's disk is open: run its read path once (one logical block into a
 * private page, never a slot: the channel is not ours), so that the first request
 * after a takeover finds the driver's queues awake and, under TCG, the code of the
 * bio and driver paths already translated. A read changes nothing the active driver
 * VM relies on; its result does not matter.
 */
static void blkback_warm(struct blkback *bb)
{
	unsigned int lbs = bdev_logical_block_size(bb->bdev);
	struct bio_vec bv;
	struct page *page;
	struct bio bio;

	if (lbs > PAGE_SIZE)
		return;
	page = alloc_page(GFP_KERNEL);
	if (!page)
		return;
	bio_init(&bio, bb->bdev, &bv, 1, REQ_OP_READ);
	bio.bi_iter.bi_sector = 0;
	__bio_add_page(&bio, page, lbs, 0);
	if (submit_bio_wait(&bio))
		dev_info(&bb->t.pdev->dev, "ddvm blk: standby: the warm-up read failed\n");
	bio_uninit(&bio);
	__free_page(page);
}

/* Open the disk (once), then serve it, or, on a warm spare's standby, prepare only. */
static void blkback_open_work(struct work_struct *work)
{
	struct blkback *bb = container_of(to_delayed_work(work), struct blkback, open_work);
	struct block_device *bdev;

	mutex_lock(&bb->open_lock);
	if (bb->bdev)
		goto opened;
	bb->mode = FMODE_READ | FMODE_WRITE | FMODE_EXCL;
	bdev = blkdev_get_by_path(bb->path, bb->mode, bb);
	if (PTR_ERR_OR_ZERO(bdev) == -EROFS || PTR_ERR_OR_ZERO(bdev) == -EACCES) {
		bb->mode = FMODE_READ | FMODE_EXCL;
		bdev = blkdev_get_by_path(bb->path, bb->mode, bb);
	}
	if (IS_ERR(bdev)) {
		if (++bb->open_tries < open_tries && !READ_ONCE(bb->stopping)) {
			if (bb->open_tries == 1)
				dev_info(&bb->t.pdev->dev, "ddvm blk: waiting for %s (%ld)\n",
					 bb->path, PTR_ERR(bdev));
			schedule_delayed_work(&bb->open_work,
					      msecs_to_jiffies(BLKBACK_OPEN_RETRY_MS));
		} else {
			dev_err(&bb->t.pdev->dev, "ddvm blk: cannot open %s (%ld): giving up\n",
				bb->path, PTR_ERR(bdev));
		}
		goto out;
	}
	bb->bdev = bdev;
	blkback_choose_path(bb);
	if (bb->zc)
		dev_info(&bb->t.pdev->dev,
			 "ddvm blk: zero copy: %s DMAs to and from the channel's payload slots\n",
			 blkback_disk_driver(bdev));
	else
		dev_info(&bb->t.pdev->dev, "ddvm blk: copy path: %s\n", bb->copy_why);
	blkback_describe(bb);
opened:
	if (READ_ONCE(bb->standby)) {
		/* A warm spare: ready to serve at once when named (blkback_takeover).
		 * Only now may the supervisor pause us. */
		blkback_warm(bb);
		ddvm_ivshmem_standby_prepared(&bb->t);
		goto out;
	}
	blkback_serve(bb);
out:
	mutex_unlock(&bb->open_lock);
}

/* Does the header ask for a new epoch or a new session? Returns the session to serve
 * (the one asked for, or the current one) in *SESSION. */
static bool blkback_reset_wanted(struct blkback *bb, u32 *epoch, u32 *session)
{
	u32 s;

	*epoch = ddvm_region_epoch(&bb->t.rg);
	s = ddvm_region_session_request(&bb->t.rg, *epoch, bb->session);
	*session = s ? s : bb->session;
	return *epoch != bb->epoch || s;
}

/* What our status fields say while we serve: BROKEN once a queue broke, else READY. */
static u32 blkback_state(struct blkback *bb)
{
	unsigned int i;

	for (i = 0; i < bb->nq; i++)
		if (READ_ONCE(bb->qs[i].broken))
			return DDVM_STATE_BROKEN;
	return DDVM_STATE_READY;
}

/* Did a peer overwrite the status fields we own (state, epoch, session)? */
static bool blkback_own_fields_changed(struct blkback *bb)
{
	const struct ddvm_region_hdr *h = bb->t.rg.hdr;

	return ddvm_read32(&h->backend_state) != blkback_state(bb) ||
	       ddvm_read32(&h->backend_epoch) != bb->epoch ||
	       ddvm_read32(&h->backend_session) != bb->session;
}

/*
 * Re-assert what we own (docs/channel.md), as netback's tick does: a status a client
 * overwrote (a forged READY, ABSENT, another epoch) would hide our own complaint from
 * the supervisor, turn its stall check off for this channel and make it wait on us
 * after a restart. Runs in the control work, so never across a session change; a
 * queue that breaks meanwhile writes BROKEN itself, and the re-check keeps it.
 */
static void blkback_reassert(struct blkback *bb)
{
	if (!blkback_own_fields_changed(bb))
		return;
	ddvm_region_session_ack(&bb->t.rg, blkback_state(bb), bb->epoch, bb->session);
	smp_mb(); /* our READY out before we look at the queues again */
	if (blkback_state(bb) == DDVM_STATE_BROKEN)
		ddvm_region_session_ack(&bb->t.rg, DDVM_STATE_BROKEN, bb->epoch, bb->session);
}

/*
 * The disk's capacity changed (the host image was resized): publish the new one and
 * tell the client. Its requests are checked against it from now on; ones in flight
 * past a shrunk end fail in the driver VM's block layer.
 */
static void blkback_resize(struct blkback *bb)
{
	struct ddvm_blk_config *c = (struct ddvm_blk_config *)bb->t.rg.hdr->device;
	u64 old = bb->cfg.capacity, cap = blkback_capacity(bb);

	if (cap == old)
		return;
	WRITE_ONCE(bb->cfg.capacity, cap);
	/* one 64-bit store: the client reads it with one load */
	WRITE_ONCE(c->capacity, cap);
	ddvm_ivshmem_kick(&bb->t, DDVM_VECTOR_CONTROL);
	dev_info(&bb->t.pdev->dev, "ddvm blk: %s: capacity %llu -> %llu sectors: told the client\n",
		 bb->cfg.disk_name, old, cap);
}

/*
 * A warm spare's device: is it the channel's driver VM now? Its disk was opened and
 * its read path run on standby (blkback_open_work), so serve at once, in this work:
 * the failover gap is what this costs. A device named before it was prepared (a spare
 * that had to take over while still restoring) opens the disk first, as at probe.
 */
static void blkback_takeover(struct blkback *bb)
{
	if (READ_ONCE(bb->stopping) || ddvm_ivshmem_standby(&bb->t))
		return;
	mutex_lock(&bb->open_lock);
	WRITE_ONCE(bb->standby, false);
	bb->epoch = ddvm_region_epoch(&bb->t.rg);
	mod_timer(&bb->heartbeat, jiffies + msecs_to_jiffies(BLKBACK_HEARTBEAT_MS));
	if (bb->bdev) {
		blkback_serve(bb);
	} else {
		ddvm_region_set_backend(&bb->t.rg, DDVM_STATE_ATTACHING, bb->epoch);
		schedule_delayed_work(&bb->open_work, 0);
	}
	mutex_unlock(&bb->open_lock);
	dev_info(&bb->t.pdev->dev, "ddvm blk: named the channel's driver VM (epoch %u)\n",
		 bb->epoch);
}

/*
 * A new epoch (the supervisor restarted us, or reset this channel alone) or a new
 * session (a client attached): drop what was in flight and serve the new one. A
 * client asking for sessions in a loop gets at most one per BLKBACK_SESSION_GAP (the
 * heartbeat brings us back for the rest).
 */
static void blkback_ctrl_work(struct work_struct *work)
{
	struct blkback *bb = container_of(work, struct blkback, ctrl_work);
	u32 epoch, session;
	unsigned int i;

	if (READ_ONCE(bb->standby)) {
		blkback_takeover(bb);
		return;
	}
	if (!READ_ONCE(bb->ready) || READ_ONCE(bb->stopping))
		return;
	if (!blkback_reset_wanted(bb, &epoch, &session)) {
		blkback_resize(bb);
		blkback_reassert(bb);
		return;
	}
	if (epoch == bb->epoch && time_before(jiffies, bb->session_at + BLKBACK_SESSION_GAP))
		return;
	/* the same for epoch changes: the supervisor's are seldom, one a client writes
	 * over its own (the supervisor writes it back) is not (netback.c, port_tick) */
	if (epoch != bb->epoch && time_before(jiffies, bb->epoch_at + BLKBACK_SESSION_GAP))
		return;
	if (epoch != bb->epoch)
		bb->epoch_at = jiffies;
	/* Not serving until the new epoch is published: a queue work must not read
	 * rings that are being reset (the client may still be in the old epoch). */
	WRITE_ONCE(bb->ready, false);
	for (i = 0; i < bb->nq; i++)
		cancel_work_sync(&bb->qs[i].work);
	blkback_rings_reset(bb);
	/* The client will resubmit what it had in flight. Our old bios must reach the
	 * disk first, or a stale write could land after the client's newer one. */
	blkback_bios_drain(bb);
	if (epoch == bb->epoch)
		bb->session_at = jiffies; /* only the client's own requests are rate-limited */
	bb->epoch = epoch;
	bb->session = session;
	WRITE_ONCE(bb->ready, true);
	blkback_publish(bb);
	if (__ratelimit(&bb->log_rs))
		dev_info(&bb->t.pdev->dev, "ddvm blk: epoch %u session %u: rings reset\n",
			 bb->epoch, bb->session);
}

/* Diagnostics: requests taken but unanswered for 10 s (a disk that lost them). */
static void blkback_check_stuck(struct blkback_queue *q)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	if (q->inflight && !q->stuck_logged && time_after(jiffies, q->progress + 10 * HZ)) {
		q->stuck_logged = true;
		dev_err(
		    &q->bb->t.pdev->dev,
		    "ddvm blk: queue %u: %u requests in the disk's block layer unanswered for 10 s "
		    "(epoch %u; req prod %u seen %u cons %u; rsp prod %u cons %u; bios %d)\n",
		    q->index, q->inflight, q->bb->epoch, READ_ONCE(q->req.ctl->prod), q->req.prod,
		    q->req.cons, q->rsp.prod, READ_ONCE(q->rsp.ctl->cons),
		    atomic_read(&q->bb->bios));
	} else if (!q->inflight) {
		q->progress = jiffies;
		q->stuck_logged = false;
	}
	spin_unlock_irqrestore(&q->lock, flags);
}

/*
 * Diagnostics: were requests the client published by the last heartbeat still not
 * taken now, while we had room to answer them? Then no doorbell woke us for them (a
 * lost wake-up; this poll is what takes them). Racy reads of our own consumer index
 * and of the client's producer index: a counter, never a decision.
 */
static void blkback_check_wakeup(struct blkback_queue *q)
{
	u32 prod = READ_ONCE(q->req.ctl->prod), cons = READ_ONCE(q->req.cons);
	u32 was = q->hb_prod - q->hb_cons;

	if (was && was <= q->req.entries && (u32)(cons - q->hb_cons) < was &&
	    !READ_ONCE(q->broken) && !READ_ONCE(q->rsp_short))
		q->lost_wakeups++;
	q->hb_prod = prod;
	q->hb_cons = cons;
}

/*
 * Healthy: our probe work runs when queued (a hung workqueue stalls it). Only our
 * own kernel state counts, nothing a client wrote. Not whether the disk completes our
 * bios: from in here a hung driver and a slow host file look the same (a client's
 * lone flush of much dirty data, or its disk's bps_limit, can take longer than any
 * bound), and a disk serves one channel, so its stall is that channel's: the
 * supervisor sees it from the rings ("requests taken but not answered") and restarts
 * the driver VM for it only when that client is the driver VM's only one.
 */
static bool blkback_healthy(struct blkback *bb)
{
	unsigned long at = READ_ONCE(bb->probe_at);

	return !at || !time_after(jiffies, at + msecs_to_jiffies(READ_ONCE(stall_ms)));
}

/* The health probe: a work item of its own that does nothing else. Not the queue
 * work: that one submits bios and may sleep in submit_bio for as long as a request
 * takes (a scheduler tag of a depth-1 disk such as usb-storage, writeback throttling),
 * so a client's slow disk (its bps_limit) stopped the beat of a driver VM that serves
 * other clients too, and the supervisor restarted it. A sleeping work item lets the
 * workqueue run this one on another worker; a work item that spins (a hung driver's
 * softirq-off loop, `inject wqhang`) holds the vCPU's pool and stops this one too. */
static void blkback_probe_work(struct work_struct *work)
{
	struct blkback *bb = container_of(work, struct blkback, probe_work);

	WRITE_ONCE(bb->probe_at, 0);
}

static void blkback_stats_publish(struct blkback *bb); /* counters, below */

static void blkback_heartbeat(struct timer_list *tm)
{
	struct blkback *bb = from_timer(bb, tm, heartbeat);
	u32 epoch, session;
	unsigned int i;

	blkback_stats_publish(bb);
	if (blkback_healthy(bb)) {
		ddvm_region_heartbeat(&bb->t.rg);
		ddvm_ivshmem_health(&bb->t);
	}
	if (READ_ONCE(bb->ready)) {
		if (blkback_reset_wanted(bb, &epoch, &session) ||
		    blkback_capacity(bb) != READ_ONCE(bb->cfg.capacity) ||
		    blkback_own_fields_changed(bb))
			schedule_work(&bb->ctrl_work);
		/* backstop for a lost doorbell, and the health probe */
		if (++bb->ticks % BLKBACK_POLL_TICKS == 0) {
			if (!READ_ONCE(bb->probe_at)) {
				WRITE_ONCE(bb->probe_at, jiffies ? jiffies : 1);
				queue_work(system_wq, &bb->probe_work);
			}
			for (i = 0; i < bb->nq; i++) {
				struct blkback_queue *q = &bb->qs[i];

				blkback_check_stuck(q);
				blkback_check_wakeup(q);
				queue_work(system_wq, &q->work);
			}
		}
	}
	/* On whole seconds (round_jiffies), as the kernel's own 1-2 s housekeeping and
	 * the other channels' ticks are: one wake-up of an idle driver VM serves them all
	 * instead of one each. The period stays BLKBACK_HEARTBEAT_MS. */
	if (!READ_ONCE(bb->stopping))
		mod_timer(&bb->heartbeat,
			  round_jiffies(jiffies + msecs_to_jiffies(BLKBACK_HEARTBEAT_MS)));
}

static void blkback_irq(struct ddvm_ivshmem *t, unsigned int vector)
{
	struct blkback *bb = t->priv;
	unsigned int i;

	if (smp_load_acquire(&bb->stopping)) /* not probed yet, or being removed */
		return;
	if (vector == DDVM_VECTOR_CONTROL) {
		/* an epoch, or the client (re)attached */
		schedule_work(&bb->ctrl_work);
		for (i = 0; i < bb->nq && READ_ONCE(bb->ready); i++)
			queue_work(system_wq, &bb->qs[i].work);
	} else if (vector - DDVM_VECTOR_QUEUE(0) < bb->nq) {
		struct blkback_queue *q = &bb->qs[vector - DDVM_VECTOR_QUEUE(0)];

		atomic_long_inc(&q->doorbells);
		if (READ_ONCE(bb->ready) && !READ_ONCE(q->broken))
			queue_work(system_wq, &q->work);
	}
}

/* --- PCI driver ------------------------------------------------------------------ */

/* Which data path serves reads and writes, and how much went each way. */
static ssize_t ddvm_blk_stats_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct blkback *bb = pci_get_drvdata(to_pci_dev(dev));
	unsigned long c[6] = { 0 };
	unsigned int i, imax = 0;
	int n;

	for (i = 0; i < bb->nq; i++) {
		struct blkback_queue *q = &bb->qs[i];

		c[0] += atomic_long_read(&q->doorbells);
		c[1] += atomic_long_read(&q->runs);
		c[2] += atomic_long_read(&q->popped);
		c[3] += atomic_long_read(&q->kicks);
		c[4] += atomic_long_read(&q->rsp_waits);
		c[5] += READ_ONCE(q->lost_wakeups);
		imax = max(imax, READ_ONCE(q->inflight_max));
	}
	n = sysfs_emit(buf,
		       "path %s\nwhy %s\nzero_copy_requests %lld\nzero_copy_bytes %lld\n"
		       "copy_requests %lld\ncopy_bytes %lld\nbios_in_flight %d\n",
		       !READ_ONCE(bb->bdev) ? "none"
		       : READ_ONCE(bb->zc)  ? "zero-copy"
					    : "copy",
		       READ_ONCE(bb->copy_why) ? READ_ONCE(bb->copy_why) : "-",
		       atomic64_read(&bb->zc_reqs), atomic64_read(&bb->zc_bytes),
		       atomic64_read(&bb->copy_reqs), atomic64_read(&bb->copy_bytes),
		       atomic_read(&bb->bios));
	return n + sysfs_emit_at(buf, n,
				 "doorbells %lu\nruns %lu\nrequests %lu\nkicks %lu\nrsp_waits %lu\n"
				 "lost_wakeups %lu\ninflight_max %u\n",
				 c[0], c[1], c[2], c[3], c[4], c[5], imax);
}
static DEVICE_ATTR_RO(ddvm_blk_stats);

/* --- counters: sysfs "ddvm_stats" and hdr.stats (docs/blk.md, "Counters") ------------- */

struct blkback_snap {
	struct ddvm_chan_stats c;
	struct ddvm_blk_stats b;
};

static void blkback_stats_fill(struct blkback *bb, struct blkback_snap *s)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	ddvm_stats_transport(&bb->t, &s->c);
	for (i = 0; i < bb->nq; i++) {
		struct blkback_queue *q = &bb->qs[i];

		s->c.polls += atomic_long_read(&q->runs);
		/* written under q->lock; a racy read of a counter for humans */
		s->c.doorbells_suppressed += READ_ONCE(q->rsp.suppressed);
		s->b.requests += atomic_long_read(&q->popped);
	}
	s->c.sessions = atomic64_read(&bb->sessions);
	s->b.path = !READ_ONCE(bb->bdev) ? DDVM_BLK_PATH_NONE
		    : READ_ONCE(bb->zc)	 ? DDVM_BLK_PATH_ZERO_COPY
					 : DDVM_BLK_PATH_COPY;
	s->b.zero_copy_requests = atomic64_read(&bb->zc_reqs);
	s->b.zero_copy_bytes = atomic64_read(&bb->zc_bytes);
	s->b.copy_requests = atomic64_read(&bb->copy_reqs);
	s->b.copy_bytes = atomic64_read(&bb->copy_bytes);
	s->b.read_bytes = atomic64_read(&bb->read_bytes);
	s->b.write_bytes = atomic64_read(&bb->write_bytes);
	s->b.flushes = atomic64_read(&bb->flushes);
	s->b.discards = atomic64_read(&bb->discards);
	s->b.errors = atomic64_read(&bb->errors);
}

static void blkback_stats_snapshot(struct device *dev, struct blkback_snap *s)
{
	blkback_stats_fill(pci_get_drvdata(to_pci_dev(dev)), s);
}

/* The same numbers for the host (display only: abi.h, struct ddvm_stats). */
static void blkback_stats_publish(struct blkback *bb)
{
	struct blkback_snap s;

	blkback_stats_fill(bb, &s);
	ddvm_region_stats_publish(&bb->t.rg, READ_ONCE(bb->epoch), &s.c, &s.b, sizeof(s.b));
}

static const char *const blkback_path_names[] = { "none", "zero-copy", "copy" };

static ssize_t path_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct blkback_snap s;

	blkback_stats_snapshot(dev, &s);
	return sysfs_emit(buf, "%s\n", blkback_path_names[s.b.path]);
}
static DEVICE_ATTR_RO(path);

/* sysfs ddvm_stats/: one file per counter, named as on the wire (blk.h); `path` is
 * a word (path_show above), the others numbers */
#define BLKBACK_CHAN_STAT(name, unit) DDVM_STAT_ENTRY(blkback, struct blkback_snap, c.name, name);
#define BLKBACK_BLK_STAT(name, unit)  BLKBACK_BLK_STAT_##unit(name)
#define BLKBACK_BLK_STAT_COUNT(name)  DDVM_STAT_ENTRY(blkback, struct blkback_snap, b.name, name);
#define BLKBACK_BLK_STAT_BYTES(name)  BLKBACK_BLK_STAT_COUNT(name)
#define BLKBACK_BLK_STAT_PATH(name)
DDVM_CHAN_STATS_FIELDS(BLKBACK_CHAN_STAT)
DDVM_BLK_STATS_FIELDS(BLKBACK_BLK_STAT)

static struct attribute *blkback_stats_attrs[] = {
	DDVM_CHAN_STATS_FIELDS(DDVM_STAT_ATTR) DDVM_BLK_STATS_FIELDS(DDVM_STAT_ATTR) NULL,
};

static const struct attribute_group blkback_stats_group = {
	.name = DDVM_STATS_GROUP,
	.attrs = blkback_stats_attrs,
};

static const struct attribute_group *blkback_groups[] = {
	&blkback_stats_group,
	NULL,
};

static int blkback_queues_init(struct blkback *bb)
{
	struct ddvm_region *rg = &bb->t.rg;
	unsigned int i;
	int err;

	bb->nq = rg->num_queues;
	bb->qs = kcalloc(bb->nq, sizeof(*bb->qs), GFP_KERNEL);
	if (!bb->qs)
		return -ENOMEM;
	for (i = 0; i < bb->nq; i++) {
		struct blkback_queue *q = &bb->qs[i];

		q->bb = bb;
		q->index = i;
		spin_lock_init(&q->lock);
		INIT_WORK(&q->work, blkback_queue_work);
		err = ddvm_region_ring(rg, 2 * i, DDVM_SIDE_BACKEND, &q->req);
		if (!err)
			err = ddvm_region_ring(rg, 2 * i + 1, DDVM_SIDE_BACKEND, &q->rsp);
		/* one payload slot per tag; tags index the busy bitmap */
		if (!err &&
		    (!q->req.data || q->req.slot_size < SECTOR_SIZE ||
		     q->req.slot_size % SECTOR_SIZE || q->req.is_producer || !q->rsp.is_producer))
			err = -EINVAL;
		if (err)
			goto out_free;
		q->busy = bitmap_zalloc(q->req.entries, GFP_KERNEL);
		if (!q->busy) {
			err = -ENOMEM;
			goto out_free;
		}
	}
	return 0;

out_free:
	while (i-- > 0)
		bitmap_free(bb->qs[i].busy);
	kfree(bb->qs);
	return err;
}

static void blkback_queues_free(struct blkback *bb)
{
	unsigned int i;

	for (i = 0; i < bb->nq; i++)
		bitmap_free(bb->qs[i].busy);
	kfree(bb->qs);
}

static int blkback_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct blkback *bb;
	int err;

	bb = kzalloc(sizeof(*bb), GFP_KERNEL);
	if (!bb)
		return -ENOMEM;
	ratelimit_state_init(&bb->log_rs, 10 * HZ, 20);
	atomic_set(&bb->bios, 0);
	init_waitqueue_head(&bb->bios_wq);
	mutex_init(&bb->open_lock);
	INIT_DELAYED_WORK(&bb->open_work, blkback_open_work);
	INIT_WORK(&bb->ctrl_work, blkback_ctrl_work);
	INIT_WORK(&bb->probe_work, blkback_probe_work);
	spin_lock_init(&bb->held_lock);
	INIT_LIST_HEAD(&bb->held);
	INIT_DELAYED_WORK(&bb->held_work, blkback_held_work);
	timer_setup(&bb->heartbeat, blkback_heartbeat, 0);
	/* Until everything below exists, a doorbell finds nothing to do: the client can
	 * ring ours as soon as ddvm_ivshmem_probe requested the interrupts, and a storm
	 * of them while the driver VM booted read bb->qs before it was allocated (a NULL
	 * dereference in blkback_irq: the driver VM panicked, its other clients lost
	 * their disks for the restart). Cleared, with release, once all is set up; on a
	 * failed probe it stays set until the interrupts are freed. */
	bb->stopping = true;

	err = ddvm_ivshmem_probe(&bb->t, pdev, DDVM_SIDE_BACKEND, DDVM_KIND_BLK, blkback_irq, bb);
	if (err)
		goto out_free;
	ddvm_ivshmem_set_serving(&bb->t, blkback_serving);
	err = blkback_parse_target(bb);
	if (err) {
		dev_err(&pdev->dev, "ddvm blk: backend_target is not a device name under /dev\n");
		goto out_transport;
	}
	err = blkback_queues_init(bb);
	if (err) {
		dev_err(&pdev->dev, "ddvm blk: unusable ring layout (%d)\n", err);
		goto out_transport;
	}
	pci_set_drvdata(pdev, bb);
	err = ddvm_ivshmem_map_pages(&bb->t);
	bb->pages = !err;
	if (err)
		dev_info(&pdev->dev, "ddvm blk: no struct pages for the channel's memory (%d)\n",
			 err);
	bb->copy_why = "the disk is not open yet";
	err = device_create_file(&pdev->dev, &dev_attr_ddvm_blk_stats);
	if (err)
		goto out_pages;
	if (ddvm_ivshmem_standby(&bb->t)) {
		/* a warm spare: not a byte of the channel is ours yet; open the disk and
		 * run its read path now, so that a takeover only resets the rings */
		WRITE_ONCE(bb->standby, true);
		smp_store_release(&bb->stopping, false); /* doorbells from here on */
		schedule_delayed_work(&bb->open_work, 0);
		return 0;
	}
	bb->epoch = ddvm_region_epoch(&bb->t.rg);
	ddvm_region_set_backend(&bb->t.rg, DDVM_STATE_ATTACHING, bb->epoch);
	smp_store_release(&bb->stopping, false); /* doorbells from here on */
	mod_timer(&bb->heartbeat, jiffies + msecs_to_jiffies(BLKBACK_HEARTBEAT_MS));
	schedule_delayed_work(&bb->open_work, 0);
	return 0;

out_pages:
	ddvm_ivshmem_unmap_pages(&bb->t);
	blkback_queues_free(bb);
out_transport:
	ddvm_ivshmem_remove(&bb->t);
out_free:
	kfree(bb);
	return err;
}

static void blkback_remove(struct pci_dev *pdev)
{
	struct blkback *bb = pci_get_drvdata(pdev);
	unsigned int i;
	int v;

	device_remove_file(&pdev->dev, &dev_attr_ddvm_blk_stats);
	WRITE_ONCE(bb->stopping, true);
	/* no interrupt handler schedules anything after this */
	for (v = 0; v < bb->t.nvec; v++)
		synchronize_irq(ddvm_ivshmem_vector_irq(&bb->t, v));
	cancel_delayed_work_sync(&bb->open_work);
	del_timer_sync(&bb->heartbeat);
	cancel_work_sync(&bb->ctrl_work);
	cancel_work_sync(&bb->probe_work);
	WRITE_ONCE(bb->ready, false);
	for (i = 0; i < bb->nq; i++)
		cancel_work_sync(&bb->qs[i].work);
	/* Bios in flight still point at us and at the slots: let them finish (held
	 * failed writes too: blkback_held_work answers them within BLKBACK_HOLD_MS). */
	blkback_bios_drain(bb);
	cancel_delayed_work_sync(&bb->held_work);
	if (!bb->standby) {
		blkback_stats_publish(bb); /* the last word, for `ddvm status` */
		ddvm_region_set_backend(&bb->t.rg, DDVM_STATE_CLOSED, bb->epoch);
	}
	if (bb->bdev)
		blkdev_put(bb->bdev, bb->mode);
	/* No bio points at the slot pages any more (drained above). */
	ddvm_ivshmem_unmap_pages(&bb->t);
	blkback_queues_free(bb);
	ddvm_ivshmem_remove(&bb->t);
	kfree(bb);
}

static const struct pci_device_id blkback_ids[] = {
	{ PCI_DEVICE(DDVM_IVSHMEM_VENDOR, DDVM_IVSHMEM_DEVICE) }, {}
};
MODULE_DEVICE_TABLE(pci, blkback_ids);

static struct pci_driver blkback_driver = {
	.name = "ddvm_blkback",
	.id_table = blkback_ids,
	.probe = blkback_probe,
	.remove = blkback_remove,
	.dev_groups = blkback_groups,
};
module_pci_driver(blkback_driver);

MODULE_DESCRIPTION("ddvm blk translation module: serves a driver VM's disk over ivshmem");
MODULE_LICENSE("Dual BSD/GPL");
