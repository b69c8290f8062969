/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libddvm: use a device that a driver VM serves, from an ordinary host process.
 *
 * A ddvm channel is one shared-memory region between a driver VM (the backend) and
 * one client (the frontend: you). The supervisor (or tools/ddvm-chan) serves it over
 * the ivshmem-server protocol on a unix socket; libddvm connects to that socket as the
 * frontend peer, maps the region, validates it, and speaks the ring protocol of
 * include/ddvm/ with the same ring code (ring/ring.c, ring/region.c) that the kernel
 * modules and the bare-metal client use.
 *
 * Conventions
 *  - Every call that can fail returns a NEGATIVE errno value (0 or a count on
 *    success); ddvm_strerror() turns it into text. Nothing calls exit() or abort().
 *  - One struct ddvm_chan belongs to one thread at a time. The library takes no locks;
 *    use one channel per thread, or lock around every call.
 *  - The driver VM is NOT trusted. Everything read from shared memory is copied once
 *    and checked. A response that breaks the protocol (unknown id, bad offset or
 *    length, index running backwards...) marks the channel BROKEN: in-flight I/O fails
 *    with -EPIPE, new I/O is refused with -EPIPE, and the frontend state in the header
 *    says DDVM_STATE_BROKEN: the supervisor starts a new session of this channel alone
 *    (a new epoch; the driver VM and its other channels run on: docs/channel.md). A
 *    broken channel recovers by itself when the epoch changes (that new session, or a
 *    restarted driver VM).
 *
 * Life cycle and epochs (see docs/libddvm.md)
 *  - ddvm_chan_open() attaches and returns at once; the channel is usable when
 *    ddvm_chan_state() says DDVM_CHAN_READY: the backend published READY for the
 *    channel's current epoch. ddvm_chan_wait_ready() blocks until then.
 *  - When the supervisor restarts the driver VM it bumps the epoch. libddvm notices on
 *    its next call, resets its ring view, and waits for the new backend to be READY:
 *      net: frames in flight are lost (it looks like a short link flap);
 *      blk: requests in flight are RE-SUBMITTED, unchanged, to the new backend, so an
 *           I/O stalls but does not fail, and no acknowledged write is lost. This is
 *           why the buffer of an asynchronous request must stay valid and unchanged
 *           until its completion was delivered.
 *
 * Sleeping: ddvm_chan_fd() is one file descriptor (an epoll set of the channel's
 * doorbell eventfds and the server socket) that becomes readable when the driver VM
 * rings us. Before sleeping on it call ddvm_chan_prepare_wait(): it publishes in shared
 * memory where we want to be woken (event suppression) and returns 0 if work arrived
 * meanwhile. After waking, call ddvm_chan_process(). ddvm_chan_wait() does all three.
 */
#ifndef DDVM_LIBDDVM_H
#define DDVM_LIBDDVM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ddvm_chan;

/* Channel kinds (values of enum ddvm_kind in include/ddvm/abi.h). */
#define DDVM_CHAN_ANY 0
#define DDVM_CHAN_NET 1
#define DDVM_CHAN_BLK 2

/* What ddvm_chan_state() reports. */
enum ddvm_chan_state {
	DDVM_CHAN_WAITING = 1,	/* attached; the backend is not READY in this epoch yet */
	DDVM_CHAN_READY = 2,	/* the backend serves the current epoch: I/O flows */
	DDVM_CHAN_BROKEN = 3,	/* the backend broke the protocol; waits for a new epoch */
	DDVM_CHAN_SHUTDOWN = 4, /* the supervisor tears the channel down, or the server left */
	DDVM_CHAN_GONE = 5,	/* the supervisor gave up restarting the driver VM: I/O fails
				 * with -ENODEV until `ddvm restart VM` starts a new epoch */
};

/* --- attach, state, sleep ---------------------------------------------------------- */

/*
 * Connect to an ivshmem-server socket (a channel's frontend socket, e.g. ddvm-chan's
 * DIR/frontend.sock), receive the shared memory and doorbells, map and validate the
 * region. `kind` is DDVM_CHAN_NET, DDVM_CHAN_BLK or DDVM_CHAN_ANY; a region of another
 * kind is refused with -EMEDIUMTYPE. `flags`: 0, or for a net channel
 * DDVM_OPEN_NET_OFFLOADS.
 * Errors: -EINVAL (bad argument), -ENAMETOOLONG, socket errors (-ENOENT: no such
 * socket, -ECONNREFUSED: nobody listens on it, -ENOTSOCK: the path is not a socket,
 * ...), -EBUSY (the server hung up on us:
 * the socket's peer is taken, e.g. the channel already has a frontend), -EPERM (the
 * server made us another peer than the client: a driver VM's or a host tool's socket,
 * not CHANNEL.client.sock), -EPROTO (the server broke the ivshmem protocol),
 * -EPROTONOSUPPORT (not a ddvm region, or an incompatible ABI major), -EMEDIUMTYPE,
 * -ENOMEM.
 */
int ddvm_chan_open(struct ddvm_chan **out, const char *socket_path, int kind, unsigned int flags);

/*
 * ddvm_chan_open(), but while the socket does not exist yet (-ENOENT) or nobody
 * listens on it (-ECONNREFUSED: `ddvm up` has not started, or is restarting), try
 * again every 100 ms, for up to timeout_ms (< 0: forever). For a client started
 * beside the supervisor (a unit, a script) that need not come second. Returns what the
 * last ddvm_chan_open() returned, or -EINTR when a signal handler of the program ran
 * meanwhile (its SIGTERM or SIGINT: the program decides whether to go on waiting).
 */
int ddvm_chan_open_wait(struct ddvm_chan **out, const char *socket_path, int kind,
			unsigned int flags, int timeout_ms);

/* ddvm_chan_open() flags */
#define DDVM_OPEN_NET_OFFLOADS                                                                     \
	1u /* net: we take frames with a partial checksum and GSO                                  \
	    * frames on receive (and honour their ddvm_net_meta):                                  \
	    * the driver VM passes them whole instead of segmenting                                \
	    * and checksumming them in software. Transmit offloads                                 \
	    * are always available when the backend offers them. */

/* Detach: says CLOSED in the header, unmaps, closes every fd. Outstanding blk requests
 * are dropped without completions. NULL is allowed. */
void ddvm_chan_close(struct ddvm_chan *c);

/* DDVM_CHAN_NET or DDVM_CHAN_BLK. */
int ddvm_chan_kind(const struct ddvm_chan *c);

/* Current enum ddvm_chan_state (re-reads the header first). */
int ddvm_chan_state(struct ddvm_chan *c);

/* The epoch our view of the rings belongs to, and how many epoch changes we survived. */
uint32_t ddvm_chan_epoch(const struct ddvm_chan *c);
uint64_t ddvm_chan_restarts(const struct ddvm_chan *c);

/* Feature bits the backend offers (DDVM_NET_F_* / DDVM_BLK_F_*), valid when READY. */
uint64_t ddvm_chan_features(const struct ddvm_chan *c);

/* Why the channel is broken, for humans ("" when it is not). */
const char *ddvm_chan_broken_reason(const struct ddvm_chan *c);

/* Block until READY, for at most timeout_ms (-1: forever). 0, -ETIMEDOUT, -EPIPE
 * (broken and no new epoch within the time), -ESHUTDOWN, -ENODEV (GONE: at once). */
int ddvm_chan_wait_ready(struct ddvm_chan *c, int timeout_ms);

/* A file descriptor that polls readable when a doorbell rang. Do not read it. */
int ddvm_chan_fd(const struct ddvm_chan *c);

/* Drain doorbells, follow server messages (peers coming and going), follow state and
 * epoch changes (re-submitting blk requests), and with a blk completion callback set,
 * deliver completions. Returns the number of completions delivered, or -errno. */
int ddvm_chan_process(struct ddvm_chan *c);

/* Ask to be woken (event suppression): returns 1 if the caller may now sleep on
 * ddvm_chan_fd(), 0 if work arrived meanwhile (received frames, blk responses, or
 * transmit space after a send returned -EAGAIN). */
int ddvm_chan_prepare_wait(struct ddvm_chan *c);

/* process + prepare_wait + poll, for at most timeout_ms (-1: forever; internally the
 * library wakes at least every 100 ms to look at the header). Returns what
 * ddvm_chan_process() returned after waking, 0 on timeout. */
int ddvm_chan_wait(struct ddvm_chan *c, int timeout_ms);

/* Text for a (negative or positive) errno value returned by libddvm. */
const char *ddvm_strerror(int err);

/* --- net: Ethernet frames ---------------------------------------------------------- */

/* Offload metadata of a frame: virtio-net's struct virtio_net_hdr, field by field. */
struct ddvm_net_meta {
	uint8_t flags;	  /* DDVM_NET_META_NEEDS_CSUM | DDVM_NET_META_DATA_VALID */
	uint8_t gso_type; /* DDVM_NET_META_GSO_* (0: not a GSO frame) */
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};
#define DDVM_NET_META_NEEDS_CSUM 1u /* == VIRTIO_NET_HDR_F_NEEDS_CSUM */
#define DDVM_NET_META_DATA_VALID 2u /* == VIRTIO_NET_HDR_F_DATA_VALID */
#define DDVM_NET_META_GSO_TCPV4	 1u
#define DDVM_NET_META_GSO_UDP	 3u
#define DDVM_NET_META_GSO_TCPV6	 4u
#define DDVM_NET_META_GSO_ECN	 0x80u

struct ddvm_net_info {
	uint8_t mac[6];	     /* the client's MAC address (assigned by the supervisor) */
	uint16_t mtu;	     /* the NIC's MTU, 0 if unknown */
	int link_up;	     /* 1 while the NIC has carrier */
	uint32_t speed_mbps; /* 0 if unknown */
	char nic_driver[17]; /* the unmodified driver's name, e.g. "e1000" */
	uint32_t max_frame;  /* largest frame ddvm_net_send() takes (and recv delivers) */
	uint64_t features;   /* DDVM_NET_F_* */
};

/* Device description. The MAC is valid as soon as the channel is open; the rest when
 * READY. -EOPNOTSUPP on a blk channel. */
int ddvm_net_info(struct ddvm_chan *c, struct ddvm_net_info *info);

/* ddvm_net_send() flags */
#define DDVM_NET_SEND_MORE 1u /* more frames follow: push, but do not publish/kick yet */

/*
 * Queue one Ethernet frame (no FCS) for transmission, copying it into the channel.
 * meta may be NULL (a plain frame). Without DDVM_NET_SEND_MORE the frame (and every
 * frame queued before with MORE) is published and the driver VM is kicked if it asked.
 * Errors: -EINVAL (bad argument or metadata), -EMSGSIZE (shorter than an Ethernet
 * header or longer than max_frame), -EOPNOTSUPP (GSO/checksum offload the backend did
 * not offer, or not a net channel), -EAGAIN (the ring is full: wait and retry),
 * -ENOTCONN (not READY), -EPIPE (broken), -ESHUTDOWN, -ENODEV (GONE).
 */
int ddvm_net_send(struct ddvm_chan *c, const void *frame, size_t len,
		  const struct ddvm_net_meta *meta, unsigned int flags);

/* Publish frames queued with DDVM_NET_SEND_MORE and kick the driver VM if it asked. */
int ddvm_net_flush(struct ddvm_chan *c);

/*
 * Frames sent and not yet taken by the driver VM (their tx slots not back): 0 once it
 * has taken every one (checked, and handed to the NIC or another client). A client
 * that wants its last frames out before ddvm_chan_close(), which ends the session
 * and so resets the rings, waits (ddvm_chan_wait()) for 0. Errors as for send.
 */
int ddvm_net_tx_pending(struct ddvm_chan *c);

/*
 * Take one received frame: copies it into buf and its metadata into *meta (may be
 * NULL) and returns its length. -EAGAIN when none is waiting; -EMSGSIZE when the
 * frame is longer than cap (the frame is dropped: use a buffer of max_frame bytes);
 * -EBADMSG when its offload metadata does not fit the frame (a GSO header longer
 * than the frame, checksum offsets outside it, unknown flags or GSO type: the frame
 * is dropped, the channel goes on; the driver VM may have forwarded it from another
 * client); -ENOTCONN, -EPIPE, -ESHUTDOWN, -ENODEV as for send.
 */
ssize_t ddvm_net_recv(struct ddvm_chan *c, void *buf, size_t cap, struct ddvm_net_meta *meta);

/* --- blk: asynchronous block I/O --------------------------------------------------- */

struct ddvm_blk_info {
	uint64_t capacity;	 /* in 512-byte sectors */
	uint32_t logical_block;	 /* bytes */
	uint32_t physical_block; /* bytes */
	uint32_t max_io;	 /* largest read/write in bytes (one request) */
	uint32_t max_discard;	 /* largest discard in bytes (0: no discard) */
	uint32_t queue_depth;	 /* requests that can be in flight */
	uint64_t features;	 /* DDVM_BLK_F_* */
	char disk_driver[17];	 /* e.g. "nvme" */
	char disk_name[17];	 /* the driver VM's name of the disk, e.g. "nvme0n1" */
};

/* Valid when READY; -ENOTCONN before, -EOPNOTSUPP on a net channel. */
int ddvm_blk_info(struct ddvm_chan *c, struct ddvm_blk_info *info);

enum ddvm_blk_io_op {
	DDVM_BLK_READ = 0,
	DDVM_BLK_WRITE = 1,
	DDVM_BLK_FLUSH = 2,
	DDVM_BLK_DISCARD = 3,
	DDVM_BLK_WRITE_ZEROES = 4,
};
#define DDVM_BLK_IO_FUA 1u /* write through (needs DDVM_BLK_F_FUA) */

/* One finished request: the cookie given at submission and 0 or a negative errno
 * (-EIO: the device failed it, -EOPNOTSUPP, -EINVAL: the backend refused it as
 * malformed, -ENOSPC, -EPIPE: the channel broke, -ESHUTDOWN). */
struct ddvm_blk_completion {
	uint64_t cookie;
	int result;
};

typedef void (*ddvm_blk_done_fn)(struct ddvm_chan *c, uint64_t cookie, int result, void *opaque);

/* Deliver completions by calling fn from ddvm_chan_process()/ddvm_blk_reap() instead
 * of returning them from ddvm_blk_reap(). NULL switches back. */
int ddvm_blk_set_callback(struct ddvm_chan *c, ddvm_blk_done_fn fn, void *opaque);

/*
 * Submit one request. sector and len are in 512-byte units/bytes; len must be a
 * multiple of the logical block (0 for flush), at most max_io (max_discard for
 * discard/write-zeroes), and the range inside the disk. buf: the data to write, or
 * where a read lands; it must stay valid and unchanged until the completion (a
 * request may be re-submitted after a driver VM restart). buf is NULL for flush,
 * discard and write-zeroes. Accepted while WAITING (sent when the backend is READY).
 * Errors: -EINVAL, -E2BIG (longer than max_io), -ERANGE (beyond the end of the disk),
 * -EROFS, -EOPNOTSUPP, -EAGAIN (queue_depth requests in flight: reap first),
 * -EPIPE (broken), -ESHUTDOWN, -ENODEV (GONE: the supervisor gave up on the driver
 * VM; requests pending then complete with it too), -ENOTCONN (the backend never was
 * READY, so the geometry is unknown).
 */
int ddvm_blk_submit(struct ddvm_chan *c, int op, uint64_t sector, void *buf, size_t len,
		    unsigned int flags, uint64_t cookie);

static inline int ddvm_blk_read(struct ddvm_chan *c, uint64_t sector, void *buf, size_t len,
				uint64_t cookie)
{
	return ddvm_blk_submit(c, DDVM_BLK_READ, sector, buf, len, 0, cookie);
}

static inline int ddvm_blk_write(struct ddvm_chan *c, uint64_t sector, const void *buf, size_t len,
				 uint64_t cookie)
{
	return ddvm_blk_submit(c, DDVM_BLK_WRITE, sector, (void *)buf, len, 0, cookie);
}

static inline int ddvm_blk_flush(struct ddvm_chan *c, uint64_t cookie)
{
	return ddvm_blk_submit(c, DDVM_BLK_FLUSH, 0, NULL, 0, 0, cookie);
}

static inline int ddvm_blk_discard(struct ddvm_chan *c, uint64_t sector, size_t len,
				   uint64_t cookie)
{
	return ddvm_blk_submit(c, DDVM_BLK_DISCARD, sector, NULL, len, 0, cookie);
}

/* Collect up to max completions into out (or, with a callback set, call it and ignore
 * out). Returns how many, 0 when none is ready, or -errno. Does not sleep. */
int ddvm_blk_reap(struct ddvm_chan *c, struct ddvm_blk_completion *out, unsigned int max);

/* Requests submitted and not yet delivered. */
unsigned int ddvm_blk_inflight(const struct ddvm_chan *c);

/*
 * How long a request may take before it fails, so that no driver VM can keep one
 * waiting for ever (the client never trusts it; blkfront has the same two bounds):
 *   io_timeout_ms: a request on the ring that long while the driver VM serves our
 *     session and has answered nothing for as long (a slow disk that answers is not
 *     timed out) -> the channel breaks (-EPIPE for everything in flight; the
 *     supervisor starts a new session, as for any protocol violation). Default
 *     DDVM_BLK_IO_TIMEOUT_MS (30 s).
 *   total_timeout_ms: since submission, across driver VM restarts and new sessions
 *     (each takes the request back and sends it again) -> -ETIMEDOUT for a request
 *     that waits off the ring, and the channel broken (-EPIPE) for one still on it
 *     (its slot may still be written). Default DDVM_BLK_TOTAL_TIMEOUT_MS (300 s:
 *     longer than the supervisor's restarts take before it gives up).
 * 0 turns a bound off. Checked whenever the channel is processed (ddvm_chan_process,
 * ddvm_chan_wait, the synchronous helpers): a caller that sleeps on ddvm_chan_fd()
 * should wake at least every second. 0, -EINVAL, -EOPNOTSUPP (not blk).
 */
#define DDVM_BLK_IO_TIMEOUT_MS	  30000
#define DDVM_BLK_TOTAL_TIMEOUT_MS 300000
int ddvm_blk_set_timeouts(struct ddvm_chan *c, int io_timeout_ms, int total_timeout_ms);

/*
 * Synchronous helpers: byte offsets and lengths (multiples of the logical block),
 * split into max_io pieces, pipelined up to queue_depth, waiting across driver VM
 * restarts, within ddvm_blk_set_timeouts' bounds (-EPIPE, -ETIMEDOUT). They need an otherwise idle
 * channel: -EINPROGRESS when asynchronous requests are in flight or a callback is set. 0 or the
 * first error.
 */
int ddvm_blk_pread(struct ddvm_chan *c, void *buf, size_t len, uint64_t offset);
int ddvm_blk_pwrite(struct ddvm_chan *c, const void *buf, size_t len, uint64_t offset,
		    unsigned int flags);
int ddvm_blk_flush_sync(struct ddvm_chan *c);
/* op is DDVM_BLK_DISCARD or DDVM_BLK_WRITE_ZEROES. */
int ddvm_blk_trim_sync(struct ddvm_chan *c, int op, size_t len, uint64_t offset);

#ifdef __cplusplus
}
#endif

#endif /* DDVM_LIBDDVM_H */
