// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ddvm_blkfront: a client VM's block device whose disk driver runs in a driver VM.
 *
 * Shaped like virtio_blk: one blk-mq hardware queue per channel queue pair, the tag
 * set's depth is the request ring's size, and blk-mq tag t owns payload slot t of the
 * request ring (off = t * slot_size), so a request never waits for a buffer. Merged
 * requests are copied segment by segment into the slot (writes, in queue_rq) or out of
 * it (reads, in the completion). Flush/FUA/discard/write-zeroes are advertised to the
 * block layer exactly as the translation module publishes them.
 *
 * The driver VM is not trusted: each response is copied once (ddvm_ring_pop) and its
 * id must name a tag that is in flight with that exact id (ids carry a sequence number
 * above the tag), so nothing completes twice. Anything else marks the channel BROKEN
 * and fails every request with BLK_STS_IOERR; a request the driver VM does not answer
 * within io_timeout seconds does the same. A new epoch (the supervisor restarted the
 * driver VM, or reset this channel alone) instead requeues what was in flight and
 * resumes once the backend is READY again (blkfront_resync()). Every attach and every
 * resync is a new session (abi.h): the backend serves us only after it dropped what
 * an earlier session (an earlier boot or load of this driver) left in flight.
 *
 * Capacity: the driver VM's disk may grow or shrink (the host image was resized). While
 * LIVE, each control doorbell and the 1 s watch read the published capacity once; a new
 * one becomes the disk's size (set_capacity_and_notify), so I/O past a shrunk end fails
 * in our own block layer. Across a restart (RESYNC) a different capacity with the same
 * logical block size is such a resize too. The value is only ever a bound on I/O.
 */
#include <linux/module.h>
#include <linux/blkdev.h>
#include <linux/blk-mq.h>
#include <linux/highmem.h>
#include <linux/idr.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include "ddvm/blk.h"
#include "ddvm_ivshmem.h"
#include "ddvm_stats.h"
#include "follow.h"

#define BLKFRONT_MINORS	    16
#define BLKFRONT_POLL_MS    100	 /* backend state poll while attaching / resyncing */
#define BLKFRONT_IRQ_PASSES 4	 /* ring-fulls of responses per interrupt */
#define BLKFRONT_WATCH_MS   1000 /* backstop poll while LIVE */
/* a write this large is published before the rest of its batch is copied */
#define BLKFRONT_PUBLISH_EARLY SZ_64K
/* the largest capacity we accept, in sectors: its size in bytes fits a loff_t */
#define BLKFRONT_CAPACITY_MAX ((u64)LLONG_MAX >> SECTOR_SHIFT)

static unsigned int io_timeout = 30;
module_param(io_timeout, uint, 0444);
MODULE_PARM_DESC(io_timeout, "seconds before an unanswered request breaks the channel");

/* A driver VM that resets the channel before io_timeout again and again (a new session
 * each time, while it answers nothing) would have its requests requeued, re-sent and
 * never answered, for ever: across resyncs, a queue whose driver VM completed none of
 * its requests for this long fails them, and so does a request first sent this long
 * ago (one that answers the others but keeps that one, resetting before io_timeout).
 * Longer than the supervisor's restarts can take before it gives up (its back-off is
 * at most 30 s a restart). */
static unsigned int progress_timeout = 300;
module_param(progress_timeout, uint, 0644);
MODULE_PARM_DESC(progress_timeout,
		 "seconds without a completed request, across channel resets, before the "
		 "requests waiting fail (default 300; 0: no bound)");

static unsigned int recovery_timeout_ms = 60000;
module_param(recovery_timeout_ms, uint, 0644);
MODULE_PARM_DESC(recovery_timeout_ms,
		 "how long I/O stalls across a driver VM restart before it fails (ms)");

static int blkfront_major;
static DEFINE_IDA(blkfront_ida);

struct blkfront;

/* blk-mq's per-request data */
struct blkfront_cmd {
	u64 id; /* what we sent; the response must echo it */
	blk_status_t status;
	/* jiffies (never 0) when queue_rq first took this request; kept while KEEP_AGE
	 * says it comes back (our requeue at a resync, or BLK_STS_RESOURCE): the bound of
	 * progress_timeout for one request (blkfront_resync) */
	unsigned long first_sent;
	bool keep_age;
	struct list_head node; /* on a local completion list */
};

struct blkfront_queue {
	struct blkfront *bf;
	unsigned int index;
	spinlock_t lock;      /* both rings, rqs[], seq */
	struct ddvm_ring req; /* producer */
	struct ddvm_ring rsp; /* consumer */
	struct request **rqs; /* tag -> request in flight on the channel */
	u32 seq;
	u32 inflight; /* requests on the channel (rqs[] not NULL) */
	/* jiffies (never 0) since the driver VM last completed a request of this queue
	 * while others waited; 0: nothing waits. Kept across resyncs, which requeue what
	 * was in flight: the bound of progress_timeout (blkfront_resync). */
	unsigned long stuck_since;
	struct work_struct poll_work; /* continues a busy irq handler */
	/* Counters (ddvm_blk_stats) */
	unsigned long requests, responses, kicks, full, inflight_max; /* under lock */
	atomic_long_t irqs;		/* queue-vector interrupts from the driver VM */
	atomic_long_t polls;		/* poll work runs (a busy irq handler, or the watch) */
	atomic64_t copy_ns, copy_bytes; /* time in, and bytes of, our one copy */
	/* A lost wake-up: responses the driver VM had published at one watch and we had
	 * still not taken at the next (only the watch's poll then takes them). */
	unsigned long lost_wakeups; /* ctrl_work only */
	u32 watch_prod, watch_cons; /* the response ring as the last watch saw it */
} ____cacheline_aligned_in_smp;

enum blkfront_phase {
	BLKFRONT_WAITING, /* backend not READY yet: no disk */
	BLKFRONT_LIVE,
	BLKFRONT_RESYNC, /* new epoch: queue quiesced, waiting for the backend */
	BLKFRONT_BROKEN, /* every request fails */
};

struct blkfront {
	struct ddvm_ivshmem t;
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;
	int index;
	u32 depth;
	struct ddvm_follower fl; /* our epoch and session (ring/follow.h) */
	enum blkfront_phase phase;
	bool stopping;
	bool quiet;		       /* probing or removing: interrupts are ignored */
	unsigned long resync_deadline; /* jiffies: fail the requeued I/O after this */
	u64 features;
	struct ddvm_blk_config cfg; /* our validated copy */
	struct delayed_work ctrl_work;
	/* device_add_disk() waits for the partition scan's reads: never in ctrl_work,
	 * which must stay free to resync if the driver VM dies under those reads. */
	struct work_struct add_work;
	bool disk_added;
	unsigned int nq;
	struct blkfront_queue *qs;
	unsigned long sessions; /* sessions begun (ctrl_work and probe only) */
};

/* --- failing and resyncing --------------------------------------------------------- */

/* Take every request in flight on q off the channel (caller holds q->lock). */
static void blkfront_collect(struct blkfront_queue *q, struct list_head *out) __must_hold(&q->lock)
{
	u32 t;

	for (t = 0; t < q->bf->depth; t++) {
		struct request *rq = q->rqs[t];

		if (!rq)
			continue;
		q->rqs[t] = NULL;
		q->inflight--;
		list_add_tail(&((struct blkfront_cmd *)blk_mq_rq_to_pdu(rq))->node, out);
	}
}

static void blkfront_complete_list(struct list_head *list, blk_status_t sts, bool set)
{
	struct blkfront_cmd *cmd, *next;

	list_for_each_entry_safe(cmd, next, list, node) {
		list_del_init(&cmd->node);
		if (set)
			cmd->status = sts;
		blk_mq_complete_request(blk_mq_rq_from_pdu(cmd));
	}
}

/* Fail everything, forever (until a new epoch). PUBLISH: we judged the driver VM (it
 * broke the protocol, or stopped answering) and say BROKEN in the header; a backend
 * that says BROKEN itself, or a supervisor that gave up, needs no word from us. Any
 * context. */
static void blkfront_fail(struct blkfront *bf, const char *why, bool publish)
{
	struct ddvm_region_hdr *h = bf->t.rg.hdr;
	unsigned long flags;
	LIST_HEAD(failed);
	unsigned int i;

	if (xchg(&bf->phase, BLKFRONT_BROKEN) == BLKFRONT_BROKEN)
		return;
	dev_err(&bf->t.pdev->dev, "ddvm blk: %s: channel broken, failing I/O\n", why);
	if (publish) {
		WRITE_ONCE(h->frontend_errors, READ_ONCE(h->frontend_errors) + 1);
		ddvm_follower_break(&bf->fl, &bf->t.rg);
	} else {
		bf->fl.broken = true;
		bf->fl.connected = false;
	}
	for (i = 0; i < bf->nq; i++) {
		spin_lock_irqsave(&bf->qs[i].lock, flags);
		blkfront_collect(&bf->qs[i], &failed);
		bf->qs[i].stuck_since = 0; /* nothing waits any more */
		spin_unlock_irqrestore(&bf->qs[i].lock, flags);
	}
	blkfront_complete_list(&failed, BLK_STS_IOERR, true);
}

static void blkfront_break(struct blkfront *bf, const char *why)
{
	blkfront_fail(bf, why, true);
}

/* RECONNECT (ring/follow.h): our ring fields from zero first, then a session at the
 * current epoch, then ring the backend. Queues are quiesced or not yet in use. */
static void blkfront_session_begin(struct blkfront *bf)
{
	unsigned int i;

	for (i = 0; i < bf->nq; i++) {
		ddvm_ring_reset_own(&bf->qs[i].req);
		ddvm_ring_reset_own(&bf->qs[i].rsp);
	}
	ddvm_follower_begin(&bf->fl, &bf->t.rg);
	WRITE_ONCE(bf->sessions, bf->sessions + 1);
	ddvm_ivshmem_kick(&bf->t, DDVM_VECTOR_CONTROL);
}

/* A ring that went bad: is it the supervisor's reset (a new epoch; the backend ABSENT,
 * ATTACHING or serving another session) rather than a hostile backend? A backend
 * that is READY or BROKEN in our session is not restarting: if it misbehaves, that is
 * on it. */
static bool blkfront_backend_restarting(struct blkfront *bf)
{
	return ddvm_follow(&bf->fl, &bf->t.rg) == DDVM_FOLLOW_RECONNECT;
}

/* Leave RESYNC for good: fail the requeued I/O (queue_rq fails everything once the
 * phase is BROKEN) instead of keeping it parked. */
static void blkfront_resync_fail(struct blkfront *bf, const char *why, bool publish)
{
	blkfront_fail(bf, why, publish);
	blk_mq_unquiesce_queue(bf->disk->queue);
	blk_mq_kick_requeue_list(bf->disk->queue);
}

/*
 * The supervisor restarted the driver VM (new epoch; it reset the rings). Requests in
 * flight were lost with the old driver VM: take them back and requeue them, reset our
 * ring state, and wait (ctrl_work) for the new driver VM to be READY. Writes are
 * idempotent at sector granularity, so replaying them is safe.
 *
 * The new session is asked for first and the quiesce waited for last: its RCU grace
 * period (10-40 ms in a TCG guest) then overlaps the new driver VM's work instead of
 * delaying it (a warm spare's failover is a few ms). Until the wait, a queue_rq that
 * was already past the quiesce check finds RESYNC under its queue's lock and parks
 * its request (BLK_STS_RESOURCE; the quiesced queue is re-run at resume).
 */
static void blkfront_resync(struct blkfront *bf)
{
	LIST_HEAD(again);
	struct blkfront_cmd *cmd, *next;
	unsigned int i;

	blk_mq_quiesce_queue_nowait(bf->disk->queue);
	WRITE_ONCE(bf->phase, BLKFRONT_RESYNC);
	for (i = 0; i < bf->nq; i++) {
		struct blkfront_queue *q = &bf->qs[i];
		unsigned long since, limit;
		LIST_HEAD(mine);

		spin_lock_irq(&q->lock);
		blkfront_collect(q, &mine);
		since = q->stuck_since;
		limit = (unsigned long)READ_ONCE(progress_timeout) * HZ; /* 0: no bound */
		if (since && limit && !list_empty(&mine) && time_after(jiffies, since + limit)) {
			q->stuck_since = 0;
			spin_unlock_irq(&q->lock);
			dev_err(&bf->t.pdev->dev,
				"ddvm blk: queue %u: the driver VM completed no request for %u s "
				"across channel resets: failing what waits\n",
				i, jiffies_to_msecs(jiffies - since) / 1000);
			blkfront_complete_list(&mine, BLK_STS_IOERR, true);
			continue;
		}
		spin_unlock_irq(&q->lock);
		list_splice_tail(&mine, &again);
	}
	list_for_each_entry_safe(cmd, next, &again, node) {
		unsigned long limit = (unsigned long)READ_ONCE(progress_timeout) * HZ;

		list_del_init(&cmd->node);
		if (limit && time_after(jiffies, cmd->first_sent + limit)) {
			dev_err_ratelimited(&bf->t.pdev->dev,
					    "ddvm blk: a request sent %u s ago was taken back at "
					    "every channel reset, never answered: failing it\n",
					    jiffies_to_msecs(jiffies - cmd->first_sent) / 1000);
			cmd->status = BLK_STS_IOERR;
			blk_mq_complete_request(blk_mq_rq_from_pdu(cmd));
			continue;
		}
		cmd->keep_age = true;
		blk_mq_requeue_request(blk_mq_rq_from_pdu(cmd), false);
	}
	bf->resync_deadline = jiffies + msecs_to_jiffies(READ_ONCE(recovery_timeout_ms));
	/* a new session: we may have written our indices after the backend reset */
	blkfront_session_begin(bf);
	dev_info(&bf->t.pdev->dev,
		 "ddvm blk: channel reset (epoch %u, session %u): requeued in-flight I/O\n",
		 bf->fl.epoch, bf->fl.session);
	/* no dispatch runs any more once this returns (ctrl_work unquiesces, after it) */
	blk_mq_wait_quiesce_done(bf->disk->queue);
}

/* --- blk-mq ------------------------------------------------------------------------ */

static blk_status_t blkfront_queue_rq(struct blk_mq_hw_ctx *hctx,
				      const struct blk_mq_queue_data *bd)
{
	struct blkfront_queue *q = hctx->driver_data;
	struct blkfront *bf = q->bf;
	struct request *rq = bd->rq;
	struct blkfront_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct ddvm_blk_req d = { .sector = blk_rq_pos(rq) };
	u32 tag = rq->tag;
	unsigned long flags;
	bool kick = false;
	int err;

	/* a new request, or one of ours coming back (requeued, or BLK_STS_RESOURCE) */
	if (!cmd->keep_age)
		cmd->first_sent = jiffies | 1;
	cmd->keep_age = false;
	if (READ_ONCE(bf->phase) == BLKFRONT_BROKEN)
		return BLK_STS_IOERR;
	switch (req_op(rq)) {
	case REQ_OP_READ:
		d.op = DDVM_BLK_OP_READ;
		break;
	case REQ_OP_WRITE:
		d.op = DDVM_BLK_OP_WRITE;
		if (rq->cmd_flags & REQ_FUA)
			d.flags |= DDVM_BLK_REQ_FUA;
		break;
	case REQ_OP_FLUSH:
		d.op = DDVM_BLK_OP_FLUSH;
		d.sector = 0;
		break;
	case REQ_OP_DISCARD:
		d.op = DDVM_BLK_OP_DISCARD;
		break;
	case REQ_OP_WRITE_ZEROES:
		d.op = DDVM_BLK_OP_WRITE_ZEROES;
		break;
	default:
		return BLK_STS_NOTSUPP;
	}
	if (d.op != DDVM_BLK_OP_FLUSH)
		d.len = blk_rq_bytes(rq);
	if (d.op == DDVM_BLK_OP_READ || d.op == DDVM_BLK_OP_WRITE) {
		/* tag < depth <= req entries; len <= max_hw_sectors <= slot_size */
		d.off = tag * q->req.slot_size;
		if (WARN_ON_ONCE(tag >= bf->depth || d.len > q->req.slot_size))
			return BLK_STS_IOERR;
	}
	if (d.op == DDVM_BLK_OP_WRITE) {
		u8 *slot = q->req.data + d.off;
		struct req_iterator iter;
		struct bio_vec bv;
		u64 t0 = ktime_get_ns();

		rq_for_each_segment(bv, rq, iter)
		{
			memcpy_from_bvec(slot, &bv);
			slot += bv.bv_len;
		}
		atomic64_add(ktime_get_ns() - t0, &q->copy_ns);
		atomic64_add(d.len, &q->copy_bytes);
	}
	cmd->status = BLK_STS_OK;
	blk_mq_start_request(rq);

	spin_lock_irqsave(&q->lock, flags);
	if (READ_ONCE(bf->phase) == BLKFRONT_BROKEN) {
		spin_unlock_irqrestore(&q->lock, flags);
		return BLK_STS_IOERR;
	}
	if (READ_ONCE(bf->phase) == BLKFRONT_RESYNC) {
		/* dispatched just before blkfront_resync quiesced the queue: parked until
		 * the resume re-runs it (nothing reruns a quiesced queue before) */
		spin_unlock_irqrestore(&q->lock, flags);
		cmd->keep_age = true;
		return BLK_STS_RESOURCE;
	}
	cmd->id = ((u64)++q->seq << 16) | tag;
	d.id = cmd->id;
	err = ddvm_ring_push(&q->req, &d);
	if (err == -ENOSPC) {
		q->full++;
		/* The backend answered but has not yet released the descriptors: blk-mq
		 * retries shortly (not DEV_RESOURCE: nothing of ours may be in flight
		 * to restart the queue). */
		kick = ddvm_ring_publish(&q->req);
		spin_unlock_irqrestore(&q->lock, flags);
		if (kick)
			ddvm_ivshmem_kick(&bf->t, q->req.vector);
		cmd->keep_age = true;
		return BLK_STS_RESOURCE;
	}
	if (err) {
		spin_unlock_irqrestore(&q->lock, flags);
		if (blkfront_backend_restarting(bf)) {
			/* the supervisor zeroed the ring under us: resync, then retry */
			mod_delayed_work(system_highpri_wq, &bf->ctrl_work, 0);
			cmd->keep_age = true;
			return BLK_STS_RESOURCE;
		}
		blkfront_break(bf, "request ring violated");
		return BLK_STS_IOERR;
	}
	q->rqs[tag] = rq;
	if (!q->stuck_since)
		q->stuck_since = jiffies | 1; /* the clock of progress_timeout starts */
	q->requests++;
	q->inflight_max = max(q->inflight_max, (unsigned long)++q->inflight);
	/* A large write is published at once, not with the last of its batch: the
	 * driver VM's disk writes it while we copy the next ones into their slots. */
	if (bd->last || (d.op == DDVM_BLK_OP_WRITE && d.len >= BLKFRONT_PUBLISH_EARLY))
		kick = ddvm_ring_publish(&q->req);
	q->kicks += kick;
	spin_unlock_irqrestore(&q->lock, flags);
	/* Prepare the kick under the lock, ring the doorbell outside it. */
	if (kick)
		ddvm_ivshmem_kick(&bf->t, q->req.vector);
	return BLK_STS_OK;
}

static void blkfront_commit_rqs(struct blk_mq_hw_ctx *hctx)
{
	struct blkfront_queue *q = hctx->driver_data;
	unsigned long flags;
	bool kick;

	spin_lock_irqsave(&q->lock, flags);
	kick = ddvm_ring_publish(&q->req);
	q->kicks += kick;
	spin_unlock_irqrestore(&q->lock, flags);
	if (kick)
		ddvm_ivshmem_kick(&q->bf->t, q->req.vector);
}

/* Runs once per request that left the channel (answered, failed or timed out). */
static void blkfront_complete(struct request *rq)
{
	struct blkfront_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct blkfront_queue *q = rq->mq_hctx->driver_data;

	if (cmd->status == BLK_STS_OK && req_op(rq) == REQ_OP_READ) {
		const u8 *slot = q->req.data + (size_t)rq->tag * q->req.slot_size;
		struct req_iterator iter;
		struct bio_vec bv;
		u64 t0 = ktime_get_ns();

		rq_for_each_segment(bv, rq, iter)
		{
			memcpy_to_bvec(&bv, slot);
			slot += bv.bv_len;
		}
		atomic64_add(ktime_get_ns() - t0, &q->copy_ns);
		atomic64_add(blk_rq_bytes(rq), &q->copy_bytes);
	}
	blk_mq_end_request(rq, cmd->status);
}

static enum blk_eh_timer_return blkfront_timeout(struct request *rq)
{
	struct blkfront_queue *q = rq->mq_hctx->driver_data;
	struct blkfront_cmd *cmd = blk_mq_rq_to_pdu(rq);
	unsigned long flags;
	bool owned;

	/* A driver VM restart under way: the resync takes this request back and
	 * requeues it (bounded by recovery_timeout_ms), it is not the new one's fault. */
	if (!READ_ONCE(q->bf->stopping) && blkfront_backend_restarting(q->bf)) {
		mod_delayed_work(system_wq, &q->bf->ctrl_work, 0);
		return BLK_EH_RESET_TIMER;
	}
	spin_lock_irqsave(&q->lock, flags);
	owned = rq->tag < q->bf->depth && q->rqs[rq->tag] == rq;
	if (owned) {
		q->rqs[rq->tag] = NULL;
		q->inflight--;
	}
	spin_unlock_irqrestore(&q->lock, flags);
	if (!owned)
		return BLK_EH_DONE; /* the completion path has it */
	dev_err(&q->bf->t.pdev->dev,
		"ddvm blk: tag %u id %#llx timed out; req prod %u/%u cons %u ev %u/%u, rsp prod %u "
		"cons %u/%u ev %u\n",
		rq->tag, cmd->id, q->req.prod, READ_ONCE(q->req.ctl->prod),
		READ_ONCE(q->req.ctl->cons), READ_ONCE(q->req.ctl->prod_event),
		READ_ONCE(q->req.ctl->cons_event), READ_ONCE(q->rsp.ctl->prod), q->rsp.cons,
		READ_ONCE(q->rsp.ctl->cons), READ_ONCE(q->rsp.ctl->prod_event));
	cmd->status = BLK_STS_IOERR;
	blk_mq_complete_request(rq);
	blkfront_break(q->bf, "request timed out");
	return BLK_EH_DONE;
}

static int blkfront_init_hctx(struct blk_mq_hw_ctx *hctx, void *data, unsigned int idx)
{
	struct blkfront *bf = data;

	hctx->driver_data = &bf->qs[idx];
	return 0;
}

static const struct blk_mq_ops blkfront_mq_ops = {
	.queue_rq = blkfront_queue_rq,
	.commit_rqs = blkfront_commit_rqs,
	.complete = blkfront_complete,
	.timeout = blkfront_timeout,
	.init_hctx = blkfront_init_hctx,
};

static const struct block_device_operations blkfront_fops = {
	.owner = THIS_MODULE,
};

/* --- responses --------------------------------------------------------------------- */

static blk_status_t blkfront_status(u32 s)
{
	switch (s) {
	case DDVM_BLK_S_OK:
		return BLK_STS_OK;
	case DDVM_BLK_S_UNSUPP:
		return BLK_STS_NOTSUPP;
	case DDVM_BLK_S_NOSPC:
		return BLK_STS_NOSPC;
	default:
		return BLK_STS_IOERR;
	}
}

/* Hard irq: consume responses (at most a ring's worth per pass, a bounded number of
 * passes), then complete the requests outside the lock. */
static void blkfront_queue_irq(struct blkfront_queue *q)
{
	struct blkfront *bf = q->bf;
	const char *violation = NULL;
	struct ddvm_blk_rsp r;
	LIST_HEAD(done);
	unsigned long flags;
	unsigned int pass;
	bool kick = false, armed = false;
	u32 n;

	spin_lock_irqsave(&q->lock, flags);
	if (READ_ONCE(bf->phase) != BLKFRONT_LIVE) {
		spin_unlock_irqrestore(&q->lock, flags);
		return;
	}
	for (pass = 0; pass < BLKFRONT_IRQ_PASSES && !violation; pass++) {
		for (n = 0; n < q->rsp.entries; n++) {
			struct blkfront_cmd *cmd;
			struct request *rq;
			u32 tag;
			int err = ddvm_ring_pop(&q->rsp, &r);

			if (err == -EAGAIN)
				break;
			if (err) {
				violation = "response ring violated";
				break;
			}
			tag = DDVM_BLK_TAG(r.id);
			rq = tag < bf->depth ? q->rqs[tag] : NULL;
			cmd = rq ? blk_mq_rq_to_pdu(rq) : NULL;
			if (!cmd || cmd->id != r.id) {
				violation = "response for a request not in flight";
				break;
			}
			q->rqs[tag] = NULL;
			q->inflight--;
			q->responses++;
			cmd->status = blkfront_status(r.status);
			list_add_tail(&cmd->node, &done);
		}
		if (!list_empty(&done)) /* progress: the clock starts again for the rest */
			q->stuck_since = q->inflight ? jiffies | 1 : 0;
		kick |= ddvm_ring_release(&q->rsp);
		if (violation)
			break;
		armed = ddvm_ring_prepare_wait(&q->rsp);
		if (armed)
			break;
	}
	q->kicks += kick;
	spin_unlock_irqrestore(&q->lock, flags);
	/* Still busy after our passes: the doorbell is not armed, so carry on from a
	 * work item instead of waiting for a kick that will not come. */
	if (!armed && !violation)
		queue_work(system_highpri_wq, &q->poll_work);
	if (kick)
		ddvm_ivshmem_kick(&bf->t, q->rsp.vector);
	blkfront_complete_list(&done, BLK_STS_OK, false);
	if (!violation)
		return;
	/* A ring that went bad while the driver VM is being restarted is the
	 * supervisor's reset, not a hostile backend: resync instead. */
	if (blkfront_backend_restarting(bf))
		mod_delayed_work(system_highpri_wq, &bf->ctrl_work, 0);
	else
		blkfront_break(bf, violation);
}

static void blkfront_poll_work(struct work_struct *work)
{
	struct blkfront_queue *q = container_of(work, struct blkfront_queue, poll_work);

	atomic_long_inc(&q->polls);
	blkfront_queue_irq(q);
}

/* The doorbell guard's question (ddvm_ivshmem_set_serving): only a LIVE channel's
 * queue doorbells can be work (as netfront_serving). */
static bool blkfront_serving(struct ddvm_ivshmem *t)
{
	return READ_ONCE(container_of(t, struct blkfront, t)->phase) == BLKFRONT_LIVE;
}

static void blkfront_irq(struct ddvm_ivshmem *t, unsigned int vector)
{
	struct blkfront *bf = t->priv;

	if (smp_load_acquire(&bf->quiet))
		return;
	if (vector == DDVM_VECTOR_CONTROL)
		mod_delayed_work(system_highpri_wq, &bf->ctrl_work, 0);
	else if (vector - DDVM_VECTOR_QUEUE(0) < bf->nq) {
		atomic_long_inc(&bf->qs[vector - DDVM_VECTOR_QUEUE(0)].irqs);
		blkfront_queue_irq(&bf->qs[vector - DDVM_VECTOR_QUEUE(0)]);
	}
}

/* --- attach: description, disk ------------------------------------------------------ */

/* Copy the backend's description once and check it against our own ring layout. */
static int blkfront_read_config(struct blkfront *bf)
{
	const struct ddvm_region_hdr *h = bf->t.rg.hdr;
	struct ddvm_blk_config *c = &bf->cfg;
	u32 slot_sectors = bf->qs[0].req.slot_size >> SECTOR_SHIFT, lbs_sec;

	memcpy(c, h->device, sizeof(*c));
	bf->features = READ_ONCE(h->features);
	c->disk_driver[sizeof(c->disk_driver) - 1] = '\0';
	c->disk_name[sizeof(c->disk_name) - 1] = '\0';
	if (c->logical_block < SECTOR_SIZE || c->logical_block > PAGE_SIZE ||
	    !is_power_of_2(c->logical_block))
		return -EINVAL;
	lbs_sec = c->logical_block >> SECTOR_SHIFT;
	if (c->physical_block < c->logical_block || c->physical_block > SZ_64K ||
	    !is_power_of_2(c->physical_block))
		c->physical_block = c->logical_block;
	c->max_sectors = round_down(min(c->max_sectors, slot_sectors), lbs_sec);
	if (c->max_sectors < (PAGE_SIZE >> SECTOR_SHIFT))
		return -EINVAL;
	if (c->capacity > BLKFRONT_CAPACITY_MAX)
		return -EINVAL;
	c->capacity = round_down(c->capacity, lbs_sec);
	/* A request's bytes are 32 bits in the block layer (6.1's write-zeroes helper
	 * makes bi_size = sectors << 9): a driver VM's 0xffffffff sectors would build
	 * truncated bios that report success. */
	c->max_discard_sectors =
	    round_down(min_t(u32, c->max_discard_sectors, UINT_MAX >> SECTOR_SHIFT), lbs_sec);
	if (c->max_discard_sectors < lbs_sec)
		bf->features &= ~(DDVM_BLK_F_DISCARD | DDVM_BLK_F_WRITE_ZEROES);
	if (!(bf->features & DDVM_BLK_F_FLUSH))
		bf->features &= ~DDVM_BLK_F_FUA;
	return 0;
}

static int blkfront_disk_add(struct blkfront *bf)
{
	struct blk_mq_tag_set *set = &bf->tag_set;
	struct ddvm_blk_config *c = &bf->cfg;
	struct request_queue *rq;
	struct gendisk *disk;
	int err;

	memset(set, 0, sizeof(*set));
	set->ops = &blkfront_mq_ops;
	set->nr_hw_queues = bf->nq;
	set->queue_depth = bf->depth;
	set->numa_node = NUMA_NO_NODE;
	/* No I/O scheduler of our own by default: the driver VM's block layer schedules
	 * for the disk, and ours cost client CPU per request (the client's vCPU is what
	 * bounds a busy channel; docs/blk.md). */
	set->flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_NO_SCHED_BY_DEFAULT;
	set->cmd_size = sizeof(struct blkfront_cmd);
	set->driver_data = bf;
	err = blk_mq_alloc_tag_set(set);
	if (err)
		return err;
	disk = blk_mq_alloc_disk(set, bf);
	if (IS_ERR(disk)) {
		err = PTR_ERR(disk);
		goto out_free_tags;
	}
	disk->major = blkfront_major;
	disk->first_minor = bf->index * BLKFRONT_MINORS;
	disk->minors = BLKFRONT_MINORS;
	disk->fops = &blkfront_fops;
	disk->private_data = bf;
	snprintf(disk->disk_name, DISK_NAME_LEN, "ddvmblk%d", bf->index);

	rq = disk->queue;
	blk_queue_logical_block_size(rq, c->logical_block);
	blk_queue_physical_block_size(rq, c->physical_block);
	blk_queue_max_hw_sectors(rq, c->max_sectors);
	/* we copy: any number and size of segments fits the slot */
	blk_queue_max_segments(rq, min_t(u32, c->max_sectors, USHRT_MAX));
	blk_queue_max_segment_size(rq, c->max_sectors << SECTOR_SHIFT);
	blk_queue_write_cache(rq, bf->features & DDVM_BLK_F_FLUSH, bf->features & DDVM_BLK_F_FUA);
	if (bf->features & DDVM_BLK_F_DISCARD) {
		blk_queue_max_discard_sectors(rq, c->max_discard_sectors);
		rq->limits.discard_granularity = c->logical_block;
	}
	if (bf->features & DDVM_BLK_F_WRITE_ZEROES)
		blk_queue_max_write_zeroes_sectors(rq, c->max_discard_sectors);
	blk_queue_rq_timeout(rq, io_timeout * HZ);
	set_disk_ro(disk, !!(bf->features & DDVM_BLK_F_RO));
	set_capacity(disk, c->capacity);

	bf->disk = disk;
	return 0;

out_free_tags:
	blk_mq_free_tag_set(set);
	return err;
}

/* Make the disk visible (reads the partition table through the channel). */
static void blkfront_add_work(struct work_struct *work)
{
	struct blkfront *bf = container_of(work, struct blkfront, add_work);
	int err;

	err = device_add_disk(&bf->t.pdev->dev, bf->disk, NULL);
	if (err) {
		dev_err(&bf->t.pdev->dev, "ddvm blk: cannot add the disk (%d)\n", err);
		return;
	}
	WRITE_ONCE(bf->disk_added, true);
	dev_info(&bf->t.pdev->dev,
		 "ddvm blk: %s: %llu sectors of %s (%s in the driver VM), features %#llx\n",
		 bf->disk->disk_name, bf->cfg.capacity, bf->cfg.disk_name, bf->cfg.disk_driver,
		 bf->features);
}

static void blkfront_disk_del(struct blkfront *bf)
{
	if (bf->disk_added)
		del_gendisk(bf->disk);
	put_disk(bf->disk);
	blk_mq_free_tag_set(&bf->tag_set);
}

/* The disk's size becomes CAP sectors (already checked and rounded to whole blocks). */
static void blkfront_set_capacity(struct blkfront *bf, u64 cap)
{
	u64 old = bf->cfg.capacity;

	if (cap == old)
		return;
	bf->cfg.capacity = cap;
	set_capacity_and_notify(bf->disk, cap);
	dev_info_ratelimited(&bf->t.pdev->dev,
			     "ddvm blk: %s: capacity %llu -> %llu sectors (%s in the driver VM)\n",
			     bf->disk->disk_name, old, cap, bf->cfg.disk_name);
}

/* LIVE: did the driver VM publish a new capacity (its disk was resized)? One read of
 * shared memory; a value we cannot use is ignored (it would only bound our I/O). */
static void blkfront_check_capacity(struct blkfront *bf)
{
	const struct ddvm_blk_config *c = (const struct ddvm_blk_config *)bf->t.rg.hdr->device;
	u64 cap = READ_ONCE(c->capacity);

	if (cap > BLKFRONT_CAPACITY_MAX)
		return;
	blkfront_set_capacity(bf, round_down(cap, bf->cfg.logical_block >> SECTOR_SHIFT));
}

/*
 * Diagnostics: were responses the driver VM published by the last watch still not
 * taken now? Then no interrupt came for them (a lost wake-up; the watch's poll takes
 * them). Racy reads: a counter, never a decision.
 */
static void blkfront_check_wakeup(struct blkfront_queue *q)
{
	u32 prod = READ_ONCE(q->rsp.ctl->prod), cons = READ_ONCE(q->rsp.cons);
	u32 was = q->watch_prod - q->watch_cons;

	if (was && was <= q->rsp.entries && (u32)(cons - q->watch_cons) < was)
		q->lost_wakeups++;
	q->watch_prod = prod;
	q->watch_cons = cons;
}

/* Backend state machine, in process context: first attach, resync after a new epoch,
 * each step what ring/follow.h decides. */
static void blkfront_ctrl_work(struct work_struct *work)
{
	struct blkfront *bf = container_of(to_delayed_work(work), struct blkfront, ctrl_work);
	enum blkfront_phase phase = READ_ONCE(bf->phase);
	enum ddvm_follow_action a;
	unsigned int i;
	int err;

	if (READ_ONCE(bf->stopping))
		return;
	a = ddvm_follow(&bf->fl, &bf->t.rg);
	if (a == DDVM_FOLLOW_GONE) {
		/* fail now instead of at the resync deadline; keep looking for the new
		 * epoch of a `ddvm restart` */
		if (phase == BLKFRONT_RESYNC)
			blkfront_resync_fail(bf, "the supervisor gave up on the driver VM", false);
		else if (phase == BLKFRONT_LIVE)
			blkfront_fail(bf, "the supervisor gave up on the driver VM", false);
		goto poll;
	}
	if (a == DDVM_FOLLOW_RECONNECT) {
		if (phase == BLKFRONT_WAITING || phase == BLKFRONT_RESYNC)
			blkfront_session_begin(bf); /* the epoch moved again */
		else if (bf->disk)
			blkfront_resync(bf); /* LIVE or BROKEN: the driver VM restarted */
		else
			return; /* BROKEN before we had a disk */
		phase = READ_ONCE(bf->phase);
		a = DDVM_FOLLOW_WAIT;
	}
	switch (phase) {
	case BLKFRONT_WAITING:
		if (a != DDVM_FOLLOW_CONNECT)
			goto poll;
		err = blkfront_read_config(bf);
		if (err) {
			dev_err(&bf->t.pdev->dev, "ddvm blk: unusable device description\n");
			return;
		}
		ddvm_follower_connect(&bf->fl, &bf->t.rg);
		WRITE_ONCE(bf->phase, BLKFRONT_LIVE);
		WRITE_ONCE(bf->t.rg.hdr->driver_features, bf->features);
		err = blkfront_disk_add(bf);
		if (err) {
			dev_err(&bf->t.pdev->dev, "ddvm blk: cannot add the disk (%d)\n", err);
			WRITE_ONCE(bf->phase, BLKFRONT_BROKEN);
			return;
		}
		queue_work(system_unbound_wq, &bf->add_work);
		goto watch;
	case BLKFRONT_LIVE:
		/* the backend says BROKEN in our session: it stopped the rings */
		if (a == DDVM_FOLLOW_BROKEN) {
			blkfront_fail(bf, "the driver VM stopped serving the channel", false);
			return;
		}
		blkfront_check_capacity(bf);
		ddvm_follower_reassert(&bf->fl, &bf->t.rg);
		goto watch;
	case BLKFRONT_BROKEN:
		/* until a new epoch (the supervisor rings the control vector); our BROKEN
		 * stays in the header meanwhile, or the supervisor never hears of it */
		ddvm_follower_reassert(&bf->fl, &bf->t.rg);
		queue_delayed_work(system_highpri_wq, &bf->ctrl_work, HZ);
		return;
	case BLKFRONT_RESYNC:
		break;
	}
	/* RESYNC: wait for a backend serving our new session with the same disk; its
	 * capacity may have changed meanwhile (a resize: the requeued requests past a
	 * shrunk end are refused by the driver VM). */
	if (a == DDVM_FOLLOW_CONNECT) {
		struct ddvm_blk_config old = bf->cfg;
		u64 cap;

		if (blkfront_read_config(bf) || old.logical_block != bf->cfg.logical_block) {
			bf->cfg = old;
			blkfront_resync_fail(bf, "the restarted driver VM serves another disk",
					     true);
			return;
		}
		cap = bf->cfg.capacity;
		bf->cfg.capacity = old.capacity;
		blkfront_set_capacity(bf, cap);
		ddvm_follower_connect(&bf->fl, &bf->t.rg);
		WRITE_ONCE(bf->phase, BLKFRONT_LIVE);
		ddvm_ivshmem_kick(&bf->t, DDVM_VECTOR_CONTROL);
		blk_mq_unquiesce_queue(bf->disk->queue);
		blk_mq_kick_requeue_list(bf->disk->queue);
		dev_info(&bf->t.pdev->dev, "ddvm blk: resumed at epoch %u session %u\n",
			 bf->fl.epoch, bf->fl.session);
		goto watch;
	}
	if (time_after(jiffies, bf->resync_deadline)) {
		blkfront_resync_fail(
		    bf, "the driver VM did not come back within recovery_timeout_ms", true);
		return;
	}
poll:
	queue_delayed_work(system_highpri_wq, &bf->ctrl_work, msecs_to_jiffies(BLKFRONT_POLL_MS));
	return;
watch:
	/* LIVE: look at the responses and the backend's state once a second, a
	 * backstop for a doorbell lost on the way (the backend polls likewise). */
	for (i = 0; i < bf->nq; i++) {
		struct blkfront_queue *q = &bf->qs[i];

		blkfront_check_wakeup(q);
		queue_work(system_highpri_wq, &q->poll_work);
	}
	queue_delayed_work(system_highpri_wq, &bf->ctrl_work, msecs_to_jiffies(BLKFRONT_WATCH_MS));
}

/* --- PCI driver -------------------------------------------------------------------- */

/* How the channel is used: requests, responses, doorbells each way, polls. */
static ssize_t ddvm_blk_stats_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct blkfront *bf = pci_get_drvdata(to_pci_dev(dev));
	unsigned long c[8] = { 0 }, flags;
	u64 cns = 0, cb = 0;
	unsigned int i;

	for (i = 0; i < bf->nq; i++) {
		struct blkfront_queue *q = &bf->qs[i];

		spin_lock_irqsave(&q->lock, flags);
		c[0] += q->requests;
		c[1] += q->responses;
		c[2] += q->kicks;
		c[3] += q->full;
		c[4] = max(c[4], q->inflight_max);
		spin_unlock_irqrestore(&q->lock, flags);
		c[5] += atomic_long_read(&q->irqs);
		c[6] += atomic_long_read(&q->polls);
		c[7] += READ_ONCE(q->lost_wakeups);
		cns += atomic64_read(&q->copy_ns);
		cb += atomic64_read(&q->copy_bytes);
	}
	return sysfs_emit(buf,
			  "queues %u\ndepth %u\nrequests %lu\nresponses %lu\nkicks %lu\n"
			  "ring_full %lu\ninflight_max %lu\nirqs %lu\npolls %lu\nlost_wakeups %lu\n"
			  "copy_bytes %llu\ncopy_ns %llu\n",
			  bf->nq, bf->depth, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], cb,
			  cns);
}
static DEVICE_ATTR_RO(ddvm_blk_stats);

/* "ddvm_stats": the client's side of the counters the driver VM publishes (docs/blk.md,
 * "Counters"); a pass over the rings is an interrupt's or a poll work's. */
struct blkfront_snap {
	struct ddvm_chan_stats c;
	u64 requests, copy_bytes;
};

static void blkfront_stats_snapshot(struct device *dev, struct blkfront_snap *s)
{
	struct blkfront *bf = pci_get_drvdata(to_pci_dev(dev));
	unsigned int i;

	memset(s, 0, sizeof(*s));
	ddvm_stats_transport(&bf->t, &s->c);
	for (i = 0; i < bf->nq; i++) {
		struct blkfront_queue *q = &bf->qs[i];

		s->c.polls += atomic_long_read(&q->irqs) + atomic_long_read(&q->polls);
		s->c.doorbells_suppressed += READ_ONCE(q->req.suppressed); /* racy read */
		s->requests += READ_ONCE(q->requests);
		s->copy_bytes += atomic64_read(&q->copy_bytes);
	}
	s->c.sessions = READ_ONCE(bf->sessions);
}

/* sysfs ddvm_stats/: the channel counters of our side, named as on the wire (abi.h),
 * and two of our own */
#define BLKFRONT_CHAN_STAT(name, unit)                                                             \
	DDVM_STAT_ENTRY(blkfront, struct blkfront_snap, c.name, name);
DDVM_CHAN_STATS_FIELDS(BLKFRONT_CHAN_STAT)
DDVM_STAT_ENTRY(blkfront, struct blkfront_snap, requests, requests);
DDVM_STAT_ENTRY(blkfront, struct blkfront_snap, copy_bytes, copy_bytes);

static struct attribute *blkfront_stats_attrs[] = {
	DDVM_CHAN_STATS_FIELDS(DDVM_STAT_ATTR) & dev_attr_requests.attr,
	&dev_attr_copy_bytes.attr,
	NULL,
};

static const struct attribute_group blkfront_stats_group = {
	.name = DDVM_STATS_GROUP,
	.attrs = blkfront_stats_attrs,
};

static const struct attribute_group *blkfront_groups[] = {
	&blkfront_stats_group,
	NULL,
};

static int blkfront_queues_init(struct blkfront *bf)
{
	struct ddvm_region *rg = &bf->t.rg;
	unsigned int i;
	int err;

	bf->nq = rg->num_queues;
	bf->qs = kcalloc(bf->nq, sizeof(*bf->qs), GFP_KERNEL);
	if (!bf->qs)
		return -ENOMEM;
	bf->depth = 0;
	for (i = 0; i < bf->nq; i++) {
		struct blkfront_queue *q = &bf->qs[i];
		u32 depth;

		q->bf = bf;
		q->index = i;
		spin_lock_init(&q->lock);
		INIT_WORK(&q->poll_work, blkfront_poll_work);
		err = ddvm_region_ring(rg, 2 * i, DDVM_SIDE_FRONTEND, &q->req);
		if (!err)
			err = ddvm_region_ring(rg, 2 * i + 1, DDVM_SIDE_FRONTEND, &q->rsp);
		if (!err && (!q->req.data || q->req.slot_size < PAGE_SIZE ||
			     q->req.slot_size % SECTOR_SIZE || !q->req.is_producer ||
			     q->rsp.is_producer || q->req.slot_size != bf->qs[0].req.slot_size))
			err = -EINVAL;
		if (err)
			goto out_free;
		/* one payload slot per tag; every tag must have room for its response */
		depth = min3(q->req.entries, q->rsp.entries, (u32)BLK_MQ_MAX_DEPTH);
		bf->depth = i ? min(bf->depth, depth) : depth;
	}
	for (i = 0; i < bf->nq; i++) {
		bf->qs[i].rqs = kcalloc(bf->depth, sizeof(*bf->qs[i].rqs), GFP_KERNEL);
		if (!bf->qs[i].rqs) {
			err = -ENOMEM;
			goto out_free_rqs;
		}
	}
	return 0;

out_free_rqs:
	while (i-- > 0)
		kfree(bf->qs[i].rqs);
out_free:
	kfree(bf->qs);
	return err;
}

/* No interrupt handler or poll work touches the queues after this. */
static void blkfront_quiesce_irqs(struct blkfront *bf)
{
	unsigned int i;
	int v;

	WRITE_ONCE(bf->quiet, true);
	for (v = 0; v < bf->t.nvec; v++)
		synchronize_irq(ddvm_ivshmem_vector_irq(&bf->t, v));
	for (i = 0; i < bf->nq; i++)
		cancel_work_sync(&bf->qs[i].poll_work);
	cancel_delayed_work_sync(&bf->ctrl_work);
}

static void blkfront_queues_free(struct blkfront *bf)
{
	unsigned int i;

	for (i = 0; i < bf->nq; i++)
		kfree(bf->qs[i].rqs);
	kfree(bf->qs);
}

static int blkfront_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct blkfront *bf;
	int err;

	bf = kzalloc(sizeof(*bf), GFP_KERNEL);
	if (!bf)
		return -ENOMEM;
	INIT_DELAYED_WORK(&bf->ctrl_work, blkfront_ctrl_work);
	INIT_WORK(&bf->add_work, blkfront_add_work);
	bf->phase = BLKFRONT_WAITING;
	/* Interrupts are ignored until the probe is done: the backend may ring as soon as
	 * the vectors are requested, and a ctrl_work or queue interrupt then found no
	 * queues (a client oopsed in blkfront_session_begin at boot, its driver VM
	 * restarting), or, after a failed probe, freed memory. */
	bf->quiet = true;
	bf->index =
	    ida_alloc_max(&blkfront_ida, (1 << MINORBITS) / BLKFRONT_MINORS - 1, GFP_KERNEL);
	if (bf->index < 0) {
		err = bf->index;
		goto out_free;
	}
	err = ddvm_ivshmem_probe(&bf->t, pdev, DDVM_SIDE_FRONTEND, DDVM_KIND_BLK, blkfront_irq, bf);
	if (err)
		goto out_ida;
	ddvm_ivshmem_set_serving(&bf->t, blkfront_serving);
	err = blkfront_queues_init(bf);
	if (err) {
		dev_err(&pdev->dev, "ddvm blk: unusable ring layout (%d)\n", err);
		goto out_transport;
	}
	pci_set_drvdata(pdev, bf);
	err = device_create_file(&pdev->dev, &dev_attr_ddvm_blk_stats);
	if (err)
		goto out_queues;
	/* a new session, whatever an earlier load of this driver left in the region */
	blkfront_session_begin(bf);
	smp_store_release(&bf->quiet, false); /* what the probe made, before any irq uses it */
	queue_delayed_work(system_highpri_wq, &bf->ctrl_work, 0);
	return 0;

out_queues:
	blkfront_queues_free(bf);
out_transport:
	ddvm_ivshmem_remove(&bf->t);
out_ida:
	ida_free(&blkfront_ida, bf->index);
out_free:
	kfree(bf);
	return err;
}

static void blkfront_remove(struct pci_dev *pdev)
{
	struct blkfront *bf = pci_get_drvdata(pdev);

	device_remove_file(&pdev->dev, &dev_attr_ddvm_blk_stats);
	WRITE_ONCE(bf->stopping, true);
	cancel_delayed_work_sync(&bf->ctrl_work);
	if (bf->disk) {
		if (READ_ONCE(bf->phase) == BLKFRONT_RESYNC) {
			blkfront_fail(bf, "removed while resyncing", false);
			blk_mq_unquiesce_queue(bf->disk->queue);
			blk_mq_kick_requeue_list(bf->disk->queue);
		}
		/* its reads complete: served, failed (BROKEN) or timed out (stopping) */
		flush_work(&bf->add_work);
		blkfront_disk_del(bf);
	}
	ddvm_region_set_frontend(&bf->t.rg, DDVM_STATE_CLOSED, bf->fl.epoch);
	blkfront_quiesce_irqs(bf);
	blkfront_queues_free(bf);
	ddvm_ivshmem_remove(&bf->t);
	ida_free(&blkfront_ida, bf->index);
	kfree(bf);
}

static const struct pci_device_id blkfront_ids[] = {
	{ PCI_DEVICE(DDVM_IVSHMEM_VENDOR, DDVM_IVSHMEM_DEVICE) }, {}
};
MODULE_DEVICE_TABLE(pci, blkfront_ids);

static struct pci_driver blkfront_driver = {
	.name = "ddvm_blkfront",
	.id_table = blkfront_ids,
	.probe = blkfront_probe,
	.remove = blkfront_remove,
	.dev_groups = blkfront_groups,
};

static int __init blkfront_init(void)
{
	int err;

	blkfront_major = register_blkdev(0, "ddvmblk");
	if (blkfront_major < 0)
		return blkfront_major;
	err = pci_register_driver(&blkfront_driver);
	if (err)
		goto out_unregister_blkdev;
	return 0;

out_unregister_blkdev:
	unregister_blkdev(blkfront_major, "ddvmblk");
	return err;
}

static void __exit blkfront_exit(void)
{
	pci_unregister_driver(&blkfront_driver);
	unregister_blkdev(blkfront_major, "ddvmblk");
	ida_destroy(&blkfront_ida);
}

module_init(blkfront_init);
module_exit(blkfront_exit);

MODULE_DESCRIPTION("ddvm blk client: a block device served by a driver VM over ivshmem");
MODULE_LICENSE("Dual BSD/GPL");
