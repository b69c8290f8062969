// SPDX-License-Identifier: BSD-2-Clause
/*
 * libddvm blk: asynchronous block I/O on a disk a driver VM owns (include/ddvm/blk.h).
 * Queue pair 0: ring 0 "req" (we produce; one payload slot per tag), ring 1 "rsp".
 *
 * A request's tag is the index of its payload slot and of its struct blk_tag. Its wire
 * id is (seq << 16) | tag, with seq counting submissions, so a response is matched to
 * exactly the request it answers: the tag must be in flight and the whole id equal.
 * Tag life: FREE -> QUEUED (accepted, backend not READY) -> INFLIGHT (on the ring) ->
 * DONE (result waiting for delivery) -> FREE. A new epoch turns INFLIGHT back into
 * QUEUED (re-submitted, unchanged, once the new backend is READY); a broken channel
 * a shutdown or a supervisor that gave up (BACKEND_GONE) turns everything pending into
 * DONE with -EPIPE / -ESHUTDOWN / -ENODEV.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define SECTOR 512u

static int pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

int blk_setup(struct ddvm_chan *c)
{
	struct timespec ts;

	c->ntags = c->fe.entries; /* <= DDVM_RING_MAX_ENTRIES: fits the 16-bit tag */
	c->tags = calloc(c->ntags, sizeof(*c->tags));
	if (!c->tags)
		return -ENOMEM;
	/* Start ids somewhere unpredictable so that a response meant for an earlier
	 * client of the same channel does not match one of ours by accident. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->next_seq = ((uint64_t)ts.tv_nsec << 8) ^ (uint64_t)ts.tv_sec;
	c->io_timeout_ms = DDVM_BLK_IO_TIMEOUT_MS;
	c->total_timeout_ms = DDVM_BLK_TOTAL_TIMEOUT_MS;
	return 0;
}

void blk_teardown(struct ddvm_chan *c)
{
	free(c->tags);
	c->tags = NULL;
}

static uint32_t blk_lbs(const struct ddvm_chan *c)
{
	uint32_t lb = c->blk_cfg.logical_block;

	/* Untrusted: anything odd falls back to the wire's sector size. */
	return pow2(lb) && lb >= SECTOR && lb <= 65536 ? lb : SECTOR;
}

static void blk_compute_limits(struct ddvm_chan *c)
{
	uint64_t max_io = c->fe.slot_size & ~(uint64_t)(SECTOR - 1);
	uint64_t ms = (uint64_t)c->blk_cfg.max_sectors * SECTOR;
	uint64_t lb = blk_lbs(c);

	if (ms && ms < max_io)
		max_io = ms;
	c->max_io = max_io & ~(lb - 1);
	c->max_discard = 0;
	if (c->features & (DDVM_BLK_F_DISCARD | DDVM_BLK_F_WRITE_ZEROES)) {
		uint64_t md = (uint64_t)c->blk_cfg.max_discard_sectors * SECTOR;

		if (!md || md > 0xffffffffull)
			md = 0xffffffffull; /* req.len is 32-bit */
		c->max_discard = md & ~(lb - 1);
	}
}

static void tag_done(struct ddvm_chan *c, uint32_t tag, int result)
{
	c->tags[tag].state = TAG_DONE;
	c->tags[tag].result = result;
}

/* Put a tag's request on the ring (payload first). 0; -EAGAIN when the ring is full
 * (the backend may answer a request before it publishes that it consumed it, so a full
 * ring is normal: the tag stays QUEUED); -EPIPE when the ring broke. */
static int tag_push(struct ddvm_chan *c, uint32_t tag)
{
	struct blk_tag *t = &c->tags[tag];
	struct ddvm_blk_req rq;
	uint32_t off = tag * c->fe.slot_size;
	int ret;

	if (ddvm_ring_space(&c->fe) == 0) {
		if (!ddvm_ring_broken(&c->fe))
			return -EAGAIN;
		chan_break(c, "req ring: the consumer index moved backwards or too far");
		return -EPIPE;
	}
	memset(&rq, 0, sizeof(rq));
	rq.id = t->id;
	rq.sector = t->sector;
	rq.off = off;
	rq.len = t->op == DDVM_BLK_OP_FLUSH ? 0 : t->len;
	rq.op = t->op;
	rq.flags = t->flags;
	if (t->op == DDVM_BLK_OP_WRITE)
		memcpy(c->fe.data + off, t->buf, t->len);
	ret = ddvm_ring_push(&c->fe, &rq);
	if (ret) {
		chan_break(c, "req ring: the consumer index moved backwards or too far");
		return -EPIPE;
	}
	t->state = TAG_INFLIGHT;
	t->sent_ms = chan_now_ms();
	return 0;
}

static void blk_publish(struct ddvm_chan *c)
{
	if (ddvm_ring_publish(&c->fe))
		chan_kick(c, c->fe.vector);
}

static int seq_cmp(const void *a, const void *b, void *arg)
{
	const struct blk_tag *tags = arg;
	uint64_t x = tags[*(const uint16_t *)a].seq, y = tags[*(const uint16_t *)b].seq;

	return x < y ? -1 : x > y;
}

/* Push QUEUED tags in submission order while the ring has room. */
void blk_push_queued(struct ddvm_chan *c)
{
	uint16_t order[DDVM_RING_MAX_ENTRIES];
	uint32_t i, n = 0, pushed = 0;

	if (c->state != DDVM_CHAN_READY)
		return;
	for (i = 0; i < c->ntags; i++)
		if (c->tags[i].state == TAG_QUEUED)
			order[n++] = (uint16_t)i;
	if (!n)
		return;
	qsort_r(order, n, sizeof(order[0]), seq_cmp, c->tags);
	for (i = 0; i < n; i++) {
		struct blk_tag *t = &c->tags[order[i]];

		/* sent, taken back at a new session, again and again, never answered: a
		 * driver VM that resets before io_timeout keeps it for ever otherwise */
		if (c->total_timeout_ms && chan_now_ms() - t->submitted_ms > c->total_timeout_ms) {
			tag_done(c, order[i], -ETIMEDOUT);
			continue;
		}
		if (tag_push(c, order[i]))
			break;
		pushed++;
	}
	if (pushed)
		blk_publish(c);
}

static int blk_any_queued(const struct ddvm_chan *c)
{
	uint32_t i;

	for (i = 0; i < c->ntags; i++)
		if (c->tags[i].state == TAG_QUEUED)
			return 1;
	return 0;
}

/*
 * The bounds of ddvm_blk_set_timeouts, checked whenever the channel is processed:
 *  - a request not on the ring (waiting for a backend that serves us, or for room)
 *    older than total_timeout_ms fails with -ETIMEDOUT: it is ours alone to fail;
 *  - requests on the ring while the driver VM serves our session: when it answered
 *    nothing for io_timeout_ms and one has been there that long, or one has been there
 *    since total_timeout_ms after its submission (answering the others), it sits on
 *    them. The slot may still be written, so the request cannot be failed alone: as
 *    blkfront's io_timeout, the channel breaks (everything in flight fails with
 *    -EPIPE; the supervisor starts a new session). A request waiting behind others
 *    on a slow disk (bps_limit) is not timed out while answers come; answers on the
 *    ring that we have not taken yet (a caller that did not call us for a while) are
 *    progress.
 */
void blk_check_timeouts(struct ddvm_chan *c)
{
	int64_t now = chan_now_ms();
	uint32_t i;

	for (i = 0; c->total_timeout_ms && i < c->ntags; i++)
		if (c->tags[i].state == TAG_QUEUED &&
		    now - c->tags[i].submitted_ms > c->total_timeout_ms)
			tag_done(c, i, -ETIMEDOUT);
	if (c->state != DDVM_CHAN_READY || ddvm_ring_pending(&c->be))
		return;
	for (i = 0; i < c->ntags; i++) {
		const struct blk_tag *t = &c->tags[i];

		if (t->state != TAG_INFLIGHT)
			continue;
		if ((c->io_timeout_ms && now - t->sent_ms > c->io_timeout_ms &&
		     now - c->progress_ms > c->io_timeout_ms) ||
		    (c->total_timeout_ms && now - t->submitted_ms > c->total_timeout_ms)) {
			chan_break(c, "a request was not answered within the I/O timeout");
			return;
		}
	}
}

int ddvm_blk_set_timeouts(struct ddvm_chan *c, int io_timeout_ms, int total_timeout_ms)
{
	if (!c || io_timeout_ms < 0 || total_timeout_ms < 0)
		return -EINVAL;
	if (c->kind != DDVM_CHAN_BLK)
		return -EOPNOTSUPP;
	c->io_timeout_ms = io_timeout_ms;
	c->total_timeout_ms = total_timeout_ms;
	return 0;
}

void blk_on_ready(struct ddvm_chan *c)
{
	c->progress_ms = chan_now_ms();
	blk_compute_limits(c);
	blk_push_queued(c); /* re-submit, in the order the caller submitted */
}

void blk_on_epoch(struct ddvm_chan *c)
{
	uint32_t i;

	for (i = 0; i < c->ntags; i++)
		if (c->tags[i].state == TAG_INFLIGHT)
			c->tags[i].state = TAG_QUEUED;
}

static void blk_fail_all(struct ddvm_chan *c, int err)
{
	uint32_t i;

	for (i = 0; i < c->ntags; i++)
		if (c->tags[i].state == TAG_QUEUED || c->tags[i].state == TAG_INFLIGHT)
			tag_done(c, i, err);
}

void blk_on_broken(struct ddvm_chan *c)
{
	blk_fail_all(c, -EPIPE);
}

void blk_on_gone(struct ddvm_chan *c)
{
	blk_fail_all(c, -ENODEV);
}

void blk_on_shutdown(struct ddvm_chan *c)
{
	blk_fail_all(c, -ESHUTDOWN);
}

static int blk_any_done(const struct ddvm_chan *c)
{
	uint32_t i;

	for (i = 0; i < c->ntags; i++)
		if (c->tags[i].state == TAG_DONE)
			return 1;
	return 0;
}

int blk_pending_work(struct ddvm_chan *c)
{
	if (blk_any_done(c))
		return 1;
	if (c->state != DDVM_CHAN_READY)
		return 0;
	if (ddvm_ring_pending(&c->be) > 0)
		return 1;
	/* requests waiting for ring space: ask to be kicked when the backend frees some */
	return blk_any_queued(c) && ddvm_ring_wait_space(&c->fe);
}

int ddvm_blk_info(struct ddvm_chan *c, struct ddvm_blk_info *info)
{
	const struct ddvm_blk_config *bc;

	if (!c || !info)
		return -EINVAL;
	if (c->kind != DDVM_CHAN_BLK)
		return -EOPNOTSUPP;
	chan_sync(c);
	if (!c->ever_ready)
		return -ENOTCONN;
	bc = &c->blk_cfg;
	memset(info, 0, sizeof(*info));
	info->capacity = bc->capacity;
	info->logical_block = blk_lbs(c);
	info->physical_block = bc->physical_block;
	info->max_io = (uint32_t)c->max_io;
	info->max_discard = (uint32_t)c->max_discard;
	info->queue_depth = c->ntags;
	info->features = c->features;
	memcpy(info->disk_driver, bc->disk_driver, sizeof(bc->disk_driver));
	memcpy(info->disk_name, bc->disk_name, sizeof(bc->disk_name));
	return 0;
}

int ddvm_blk_set_callback(struct ddvm_chan *c, ddvm_blk_done_fn fn, void *opaque)
{
	if (!c)
		return -EINVAL;
	if (c->kind != DDVM_CHAN_BLK)
		return -EOPNOTSUPP;
	c->cb = fn;
	c->cb_opaque = opaque;
	return 0;
}

unsigned int ddvm_blk_inflight(const struct ddvm_chan *c)
{
	uint32_t i, n = 0;

	if (!c || !c->tags)
		return 0;
	for (i = 0; i < c->ntags; i++)
		n += c->tags[i].state != TAG_FREE;
	return n;
}

/* The range check every data-carrying op needs: aligned, inside the disk. */
static int blk_range_check(const struct ddvm_chan *c, uint64_t sector, size_t len)
{
	uint64_t lb = blk_lbs(c), cap = c->blk_cfg.capacity;

	if (len == 0 || len % lb || (sector * SECTOR) % lb)
		return -EINVAL;
	if (sector > cap || len / SECTOR > cap - sector)
		return -ERANGE;
	return 0;
}

static int blk_validate(const struct ddvm_chan *c, int op, uint64_t sector, const void *buf,
			size_t len, unsigned int flags)
{
	uint64_t f = c->features;
	int ret;

	if (flags & ~DDVM_BLK_IO_FUA)
		return -EINVAL;
	if ((flags & DDVM_BLK_IO_FUA) && (op != DDVM_BLK_WRITE || !(f & DDVM_BLK_F_FUA)))
		return op == DDVM_BLK_WRITE ? -EOPNOTSUPP : -EINVAL;
	switch (op) {
	case DDVM_BLK_READ:
	case DDVM_BLK_WRITE:
		if (!buf)
			return -EINVAL;
		if (op == DDVM_BLK_WRITE && (f & DDVM_BLK_F_RO))
			return -EROFS;
		ret = blk_range_check(c, sector, len);
		if (ret)
			return ret;
		return len > c->max_io ? -E2BIG : 0;
	case DDVM_BLK_FLUSH:
		return buf || len || sector ? -EINVAL : 0;
	case DDVM_BLK_DISCARD:
	case DDVM_BLK_WRITE_ZEROES:
		if (buf)
			return -EINVAL;
		if (!(f & (op == DDVM_BLK_DISCARD ? DDVM_BLK_F_DISCARD : DDVM_BLK_F_WRITE_ZEROES)))
			return -EOPNOTSUPP;
		if (f & DDVM_BLK_F_RO)
			return -EROFS;
		ret = blk_range_check(c, sector, len);
		if (ret)
			return ret;
		return len > c->max_discard ? -E2BIG : 0;
	default:
		return -EINVAL;
	}
}

int ddvm_blk_submit(struct ddvm_chan *c, int op, uint64_t sector, void *buf, size_t len,
		    unsigned int flags, uint64_t cookie)
{
	struct blk_tag *t = NULL;
	uint32_t i;
	int ret;

	if (!c)
		return -EINVAL;
	if (c->kind != DDVM_CHAN_BLK)
		return -EOPNOTSUPP;
	ret = chan_sync(c);
	if (ret == DDVM_CHAN_BROKEN || ret == DDVM_CHAN_SHUTDOWN || ret == DDVM_CHAN_GONE)
		return chan_io_error(c);
	if (!c->ever_ready)
		return -ENOTCONN;
	ret = blk_validate(c, op, sector, buf, len, flags);
	if (ret)
		return ret;
	for (i = 0; i < c->ntags; i++) {
		if (c->tags[i].state == TAG_FREE) {
			t = &c->tags[i];
			break;
		}
	}
	if (!t)
		return -EAGAIN;
	memset(t, 0, sizeof(*t));
	t->op = (uint8_t)op;
	t->flags = (uint16_t)flags;
	t->len = (uint32_t)len;
	t->sector = sector;
	t->buf = buf;
	t->cookie = cookie;
	t->seq = c->next_seq++;
	t->id = (t->seq << 16) | i;
	t->submitted_ms = chan_now_ms();
	if (op == DDVM_BLK_FLUSH && !(c->features & DDVM_BLK_F_FLUSH)) {
		tag_done(c, i, 0); /* no volatile cache: nothing to flush */
		return 0;
	}
	t->state = TAG_QUEUED;
	/* Sent now if the backend is READY and the ring has room, else later; a broken
	 * channel completes it with -EPIPE. */
	blk_push_queued(c);
	return 0;
}

static int blk_status_errno(uint32_t status)
{
	switch (status) {
	case DDVM_BLK_S_OK:
		return 0;
	case DDVM_BLK_S_IOERR:
		return -EIO;
	case DDVM_BLK_S_UNSUPP:
		return -EOPNOTSUPP;
	case DDVM_BLK_S_INVAL:
		return -EINVAL;
	case DDVM_BLK_S_NOSPC:
		return -ENOSPC;
	default:
		return 1; /* not a status: protocol violation */
	}
}

/* One response the driver VM wrote: match, check, finish its tag. */
static void blk_complete(struct ddvm_chan *c, const struct ddvm_blk_rsp *rsp)
{
	uint32_t tag = DDVM_BLK_TAG(rsp->id);
	struct blk_tag *t;
	int err;

	if (tag >= c->ntags || c->tags[tag].state != TAG_INFLIGHT || c->tags[tag].id != rsp->id) {
		chan_break(c, "response for a request that is not in flight");
		return;
	}
	t = &c->tags[tag];
	c->progress_ms = chan_now_ms();
	err = blk_status_errno(rsp->status);
	if (err > 0) {
		chan_break(c, "response with an unknown status");
		return;
	}
	if (!err && t->op == DDVM_BLK_OP_READ) {
		const void *src = ddvm_ring_buf_check(&c->fe, tag * c->fe.slot_size, t->len);

		if (rsp->len != t->len || !src) {
			chan_break(c, "read response with a wrong length");
			return;
		}
		memcpy(t->buf, src, t->len);
	} else if (!err && rsp->len > t->len) {
		chan_break(c, "response claims more bytes than requested");
		return;
	}
	tag_done(c, tag, err);
}

/* Hand one DONE tag to the caller. */
static void blk_deliver(struct ddvm_chan *c, uint32_t tag, struct ddvm_blk_completion *out)
{
	struct blk_tag *t = &c->tags[tag];
	uint64_t cookie = t->cookie;
	int result = t->result;

	t->state = TAG_FREE; /* before the callback: it may submit again */
	if (c->cb)
		c->cb(c, cookie, result, c->cb_opaque);
	else {
		out->cookie = cookie;
		out->result = result;
	}
}

int ddvm_blk_reap(struct ddvm_chan *c, struct ddvm_blk_completion *out, unsigned int max)
{
	unsigned int n = 0;
	uint32_t i;

	if (!c)
		return -EINVAL;
	if (c->kind != DDVM_CHAN_BLK)
		return -EOPNOTSUPP;
	if (!c->cb && (!out || !max))
		return -EINVAL;
	chan_sync(c);
	if (c->state == DDVM_CHAN_READY) {
		/* Bounded by the ring: at most `entries` responses per call. */
		uint32_t budget = c->be.entries;
		struct ddvm_blk_rsp rsp;

		while (budget-- && c->state == DDVM_CHAN_READY) {
			int ret = ddvm_ring_pop(&c->be, &rsp);

			if (ret == -EAGAIN)
				break;
			if (ret) {
				chan_break(
				    c, "rsp ring: the producer index moved backwards or too far");
				break;
			}
			blk_complete(c, &rsp);
		}
		if (c->state == DDVM_CHAN_READY && ddvm_ring_release(&c->be))
			chan_kick(c, c->be.vector);
		blk_push_queued(c); /* tags that waited for ring space */
	}
	for (i = 0; i < c->ntags && n < max; i++) {
		if (c->tags[i].state != TAG_DONE)
			continue;
		blk_deliver(c, i, c->cb ? NULL : &out[n]);
		n++;
	}
	return (int)n;
}

/* --- synchronous helpers ----------------------------------------------------------- */

static int blk_sync_io(struct ddvm_chan *c, int op, uint8_t *buf, size_t len, uint64_t offset,
		       unsigned int flags)
{
	struct ddvm_blk_completion comp[64];
	unsigned int outstanding = 0;
	size_t sent = 0;
	int err = 0, ret, i;
	uint64_t chunk_max;

	if (!c)
		return -EINVAL;
	if (c->kind != DDVM_CHAN_BLK)
		return -EOPNOTSUPP;
	if (c->cb || ddvm_blk_inflight(c))
		return -EINPROGRESS;
	if (!c->ever_ready) {
		ret = ddvm_chan_wait_ready(c, -1);
		if (ret)
			return ret;
	}
	if (offset % SECTOR)
		return -EINVAL;
	if (op == DDVM_BLK_FLUSH)
		len = 1; /* one request */
	chunk_max = (op == DDVM_BLK_READ || op == DDVM_BLK_WRITE) ? c->max_io : c->max_discard;
	if (op != DDVM_BLK_FLUSH && !chunk_max)
		return -EOPNOTSUPP;
	while ((sent < len && !err) || outstanding) {
		while (sent < len && !err && outstanding < c->ntags) {
			size_t chunk = len - sent;

			if (op == DDVM_BLK_FLUSH)
				chunk = 0;
			else if (chunk > chunk_max)
				chunk = chunk_max;
			ret = ddvm_blk_submit(c, op, (offset + sent) / SECTOR,
					      buf ? buf + sent : NULL, chunk, flags, 0);
			if (ret == -EAGAIN)
				break;
			if (ret) {
				err = ret;
				break;
			}
			sent += op == DDVM_BLK_FLUSH ? 1 : chunk;
			outstanding++;
		}
		ret = ddvm_blk_reap(c, comp, 64);
		if (ret < 0)
			return ret;
		for (i = 0; i < ret; i++) {
			outstanding--;
			if (comp[i].result && !err)
				err = comp[i].result;
		}
		if (ret == 0 && outstanding) {
			ret = ddvm_chan_wait(c, 1000);
			if (ret < 0)
				return ret;
		}
	}
	return err;
}

int ddvm_blk_pread(struct ddvm_chan *c, void *buf, size_t len, uint64_t offset)
{
	if (!buf && len)
		return -EINVAL;
	return len ? blk_sync_io(c, DDVM_BLK_READ, buf, len, offset, 0) : 0;
}

int ddvm_blk_pwrite(struct ddvm_chan *c, const void *buf, size_t len, uint64_t offset,
		    unsigned int flags)
{
	if (!buf && len)
		return -EINVAL;
	return len ? blk_sync_io(c, DDVM_BLK_WRITE, (uint8_t *)buf, len, offset, flags) : 0;
}

int ddvm_blk_flush_sync(struct ddvm_chan *c)
{
	return blk_sync_io(c, DDVM_BLK_FLUSH, NULL, 0, 0, 0);
}

int ddvm_blk_trim_sync(struct ddvm_chan *c, int op, size_t len, uint64_t offset)
{
	if (op != DDVM_BLK_DISCARD && op != DDVM_BLK_WRITE_ZEROES)
		return -EINVAL;
	return len ? blk_sync_io(c, op, NULL, len, offset, 0) : 0;
}
