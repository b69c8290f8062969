/* SPDX-License-Identifier: BSD-2-Clause */
/* libddvm internals shared by chan.c, net.c and blk.c. Not installed. */
#ifndef DDVM_LIBDDVM_INTERNAL_H
#define DDVM_LIBDDVM_INTERNAL_H

#include "ddvm.h"
#include "follow.h"
#include "region.h"
#include "ddvm/net.h"
#include "ddvm/blk.h"

#define CHAN_MAX_PEERS	 8 /* peers (any ids) we keep doorbells for at a time */
#define CHAN_MAX_VECTORS DDVM_MAX_VECTORS

enum blk_tag_state {
	TAG_FREE = 0,
	TAG_QUEUED,   /* accepted; waits for a READY backend (new, or re-submission) */
	TAG_INFLIGHT, /* pushed to the req ring of the current epoch */
	TAG_DONE,     /* finished; result waits to be delivered */
};

struct blk_tag {
	uint8_t state;
	uint8_t op;
	uint16_t flags;
	uint32_t len;
	uint64_t id; /* wire id: (seq << 16) | tag */
	uint64_t sector;
	uint64_t cookie;
	uint64_t seq; /* submission order, for re-submission */
	void *buf;
	int result;
	int64_t submitted_ms; /* when the caller submitted it (ddvm_blk_set_timeouts) */
	int64_t sent_ms;      /* when it was last put on the ring */
};

struct ddvm_chan {
	int sock; /* ivshmem server */
	int epfd; /* sock + my doorbells */
	int shm_fd;
	void *base;
	uint64_t size;
	struct ddvm_region rg;
	int kind;
	uint16_t my_id;
	int my_efd[CHAN_MAX_VECTORS];
	unsigned int my_nvec;
	struct {
		int id; /* -1: free slot */
		int efd[CHAN_MAX_VECTORS];
	} peers[CHAN_MAX_PEERS];

	int state;		 /* enum ddvm_chan_state */
	struct ddvm_follower fl; /* our epoch and session (ring/follow.h) */
	uint64_t restarts;
	uint64_t features;
	uint64_t want_features; /* driver_features we announce */
	int ever_ready;
	char why[96]; /* broken reason */

	struct ddvm_ring fe; /* net tx / blk req: we produce */
	struct ddvm_ring be; /* net rx / blk rsp: we consume */
	int tx_waiting;	     /* a send hit a full ring: ask for space on prepare_wait */

	/* net: a private copy of the device description, per epoch */
	struct ddvm_net_config net_cfg;

	/* blk */
	struct ddvm_blk_config blk_cfg;
	struct blk_tag *tags; /* fe.entries of them; tag == index */
	uint32_t ntags;
	uint32_t queued; /* TAG_QUEUED + TAG_INFLIGHT + TAG_DONE */
	uint64_t next_seq;
	ddvm_blk_done_fn cb;
	void *cb_opaque;
	uint64_t max_io;			 /* bytes */
	uint64_t max_discard;			 /* bytes */
	int64_t io_timeout_ms, total_timeout_ms; /* ddvm_blk_set_timeouts; 0: none */
	int64_t progress_ms; /* the backend's last answer, or when it began serving us */
};

/* chan.c */
int64_t chan_now_ms(void);
void chan_kick(struct ddvm_chan *c, unsigned int vector);
void chan_break(struct ddvm_chan *c, const char *why); /* we saw a violation */
int chan_sync(struct ddvm_chan *c);		       /* follow header; returns c->state */
int chan_io_error(const struct ddvm_chan *c);	       /* -errno for "not READY" states */

/* blk.c */
int blk_setup(struct ddvm_chan *c);
void blk_teardown(struct ddvm_chan *c);
void blk_on_ready(struct ddvm_chan *c);	      /* limits, then push QUEUED tags */
void blk_push_queued(struct ddvm_chan *c);    /* QUEUED tags onto the ring while room */
void blk_check_timeouts(struct ddvm_chan *c); /* in flight past io_timeout: break */
void blk_on_epoch(struct ddvm_chan *c);	      /* INFLIGHT -> QUEUED */
void blk_on_broken(struct ddvm_chan *c);      /* everything pending -> DONE(-EPIPE) */
void blk_on_gone(struct ddvm_chan *c);	      /* everything pending -> DONE(-ENODEV) */
void blk_on_shutdown(struct ddvm_chan *c);
int blk_pending_work(struct ddvm_chan *c); /* responses or DONE tags waiting */

#endif
