// SPDX-License-Identifier: BSD-2-Clause
/*
 * nbdkit-ddvm-plugin: export a disk that a driver VM drives, over NBD, through libddvm.
 * Then qemu-img, nbdcopy, nbdfuse or the kernel's nbd client can use the reused disk.
 *
 *   nbdkit build/lib/nbdkit-ddvm-plugin.so socket=DIR/frontend.sock [timeout=SECONDS]
 *
 * A channel has one frontend, so the plugin opens it once (get_ready) and serialises
 * all requests of all connections onto it (NBDKIT_THREAD_MODEL_SERIALIZE_ALL_REQUESTS);
 * each request is split into max_io pieces and pipelined by libddvm's synchronous
 * helpers. A driver VM restart stalls requests and re-submits them; it does not fail
 * them (libddvm's timeouts do: ddvm_blk_set_timeouts). Requests must be aligned to the disk's
 * logical block (advertised through .block_size, so NBD clients that honour block size constraints
 * comply).
 *
 * A supervisor restart (`ddvm down` + `up`, `systemctl restart ddvm`) ends the channel
 * (-ESHUTDOWN): requests fail with EIO while nothing serves the socket, and the first
 * one after it is back opens the new channel (waiting up to timeout= for the driver
 * VM) and goes on, if the disk is the one the NBD clients were told of (size, block
 * size, read-only); if it is not, nbdkit shuts down: serving another disk under the
 * old geometry would hand the clients wrong data.
 */
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "ddvm.h"
#include "ddvm/blk.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_SERIALIZE_ALL_REQUESTS

static const char *sock_path;
static int timeout_s = 120;
static struct ddvm_chan *chan;
static struct ddvm_blk_info info;

static int ddvm_config(const char *key, const char *value)
{
	if (!strcmp(key, "socket")) {
		sock_path = value;
		return 0;
	}
	if (!strcmp(key, "timeout")) {
		uint64_t v;

		if (ddvm_parse_u64(value, 86400, &v)) {
			nbdkit_error("timeout=%s: not a whole number of seconds (0-86400)", value);
			return -1;
		}
		timeout_s = (int)v;
		return 0;
	}
	nbdkit_error("unknown parameter '%s'", key);
	return -1;
}

static int ddvm_config_complete(void)
{
	if (!sock_path) {
		nbdkit_error("socket=PATH (a ddvm channel's frontend socket) is required");
		return -1;
	}
	return 0;
}

static int fail(const char *what, int ret)
{
	nbdkit_error("ddvm: %s: %s", what, ddvm_strerror(ret));
	if (ret == -ESHUTDOWN && chan) { /* the supervisor went away: reopen at the next */
		nbdkit_error("ddvm: the channel was shut down (ddvm down, or the supervisor "
			     "restarted): requests fail until %s is served again",
			     sock_path);
		ddvm_chan_close(chan);
		chan = NULL;
	}
	nbdkit_set_error(-ret == EPIPE || -ret == ESHUTDOWN ? EIO : -ret);
	return -1;
}

/* Open the channel and wait for its driver VM: WAIT_MS for the socket to appear. */
static int chan_open(int wait_ms, struct ddvm_blk_info *got)
{
	int ret = ddvm_chan_open_wait(&chan, sock_path, DDVM_CHAN_BLK, 0, wait_ms);

	if (ret)
		return fail(sock_path, ret);
	ret = ddvm_chan_wait_ready(chan, timeout_s * 1000);
	if (!ret)
		ret = ddvm_blk_info(chan, got);
	if (ret) {
		fail("waiting for the driver VM", ret);
		ddvm_chan_close(chan); /* (NULL after a shutdown: fail() closed it) */
		chan = NULL;
		return -1;
	}
	return 0;
}

static int ddvm_get_ready(void)
{
	if (chan_open(timeout_s * 1000, &info))
		return -1;
	nbdkit_debug("ddvm: %s (%s): %llu sectors, max_io %u", info.disk_name, info.disk_driver,
		     (unsigned long long)info.capacity, info.max_io);
	return 0;
}

/* The channel for a request: after a shutdown, the new one if its socket is back. */
static struct ddvm_chan *chan_get(void)
{
	const uint64_t same = DDVM_BLK_F_RO | DDVM_BLK_F_FLUSH | DDVM_BLK_F_FUA |
			      DDVM_BLK_F_DISCARD | DDVM_BLK_F_WRITE_ZEROES;
	struct ddvm_blk_info now;

	if (chan) {
		/* a supervisor restart while we were idle: noticed now, not by failing the
		 * first request of the new supervisor's time */
		ddvm_chan_process(chan);
		if (ddvm_chan_state(chan) != DDVM_CHAN_SHUTDOWN)
			return chan;
		ddvm_chan_close(chan);
		chan = NULL;
	}
	if (chan_open(0, &now)) { /* the socket not back yet: this request fails */
		nbdkit_set_error(EIO);
		return NULL;
	}
	/* what the NBD clients were told at their handshake: size, block size, read-only,
	 * flush, FUA, trim, zero */
	if (now.capacity != info.capacity || now.logical_block != info.logical_block ||
	    (now.features & same) != (info.features & same)) {
		nbdkit_error("ddvm: %s serves another disk now (%llu sectors of %u bytes, "
			     "features %#llx; was %llu of %u, %#llx): nbdkit stops; start it "
			     "again for the new disk",
			     sock_path, (unsigned long long)now.capacity, now.logical_block,
			     (unsigned long long)(now.features & same),
			     (unsigned long long)info.capacity, info.logical_block,
			     (unsigned long long)(info.features & same));
		ddvm_chan_close(chan);
		chan = NULL;
		nbdkit_shutdown();
		nbdkit_set_error(EIO);
		return NULL;
	}
	nbdkit_error("ddvm: %s: the channel is served again; requests go on", sock_path);
	info = now; /* max_io and the features beside RO may differ */
	return chan;
}

static void ddvm_unload(void)
{
	ddvm_chan_close(chan);
	chan = NULL;
}

static void *ddvm_open(int readonly)
{
	(void)readonly;
	return &info; /* every connection shares the one channel (chan_get) */
}

static int64_t ddvm_get_size(void *h)
{
	(void)h;
	return (int64_t)(info.capacity * 512);
}

static int ddvm_block_size(void *h, uint32_t *minimum, uint32_t *preferred, uint32_t *maximum)
{
	(void)h;
	*minimum = info.logical_block;
	*preferred = info.physical_block >= info.logical_block && info.physical_block <= 65536
			 ? info.physical_block
			 : 4096;
	*maximum = 0xffffffff;
	return 0;
}

static int ddvm_can_write(void *h)
{
	(void)h;
	return !(info.features & DDVM_BLK_F_RO);
}

static int ddvm_can_flush(void *h)
{
	(void)h;
	return 1;
}

static int ddvm_can_fua(void *h)
{
	(void)h;
	return info.features & DDVM_BLK_F_FUA ? NBDKIT_FUA_NATIVE : NBDKIT_FUA_EMULATE;
}

static int ddvm_can_trim(void *h)
{
	(void)h;
	return !!(info.features & DDVM_BLK_F_DISCARD);
}

static int ddvm_can_zero(void *h)
{
	(void)h;
	return 1; /* natively with DDVM_BLK_F_WRITE_ZEROES, else nbdkit writes zeroes */
}

static int ddvm_pread(void *h, void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct ddvm_chan *c = chan_get();
	int ret;

	(void)h;
	(void)flags;
	if (!c)
		return -1;
	ret = ddvm_blk_pread(c, buf, count, offset);
	return ret ? fail("read", ret) : 0;
}

static int ddvm_pwrite(void *h, const void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	unsigned int f = (flags & NBDKIT_FLAG_FUA) ? DDVM_BLK_IO_FUA : 0;
	struct ddvm_chan *c = chan_get();
	int ret;

	(void)h;
	if (!c)
		return -1;
	ret = ddvm_blk_pwrite(c, buf, count, offset, f);
	return ret ? fail("write", ret) : 0;
}

static int ddvm_flush(void *h, uint32_t flags)
{
	struct ddvm_chan *c = chan_get();
	int ret;

	(void)h;
	(void)flags;
	if (!c)
		return -1;
	ret = ddvm_blk_flush_sync(c);
	return ret ? fail("flush", ret) : 0;
}

static int ddvm_trim(void *h, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct ddvm_chan *c = chan_get();
	int ret;

	(void)h;
	if (!c)
		return -1;
	ret = ddvm_blk_trim_sync(c, DDVM_BLK_DISCARD, count, offset);
	if (!ret && (flags & NBDKIT_FLAG_FUA))
		ret = ddvm_blk_flush_sync(c);
	return ret ? fail("trim", ret) : 0;
}

static int ddvm_zero(void *h, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct ddvm_chan *c = chan_get();
	int ret;

	(void)h;
	if (!c)
		return -1;
	if (!(info.features & DDVM_BLK_F_WRITE_ZEROES)) {
		nbdkit_set_error(EOPNOTSUPP); /* nbdkit falls back to writing zeroes */
		return -1;
	}
	ret = ddvm_blk_trim_sync(c, DDVM_BLK_WRITE_ZEROES, count, offset);
	if (!ret && (flags & NBDKIT_FLAG_FUA))
		ret = ddvm_blk_flush_sync(c);
	return ret ? fail("zero", ret) : 0;
}

static struct nbdkit_plugin plugin = {
	.name = "ddvm",
	.longname = "ddvm: a disk driven by a driver VM, through libddvm",
	.version = "1.0",
	.description = "Export a disk that a ddvm driver VM serves over a channel.",
	.config = ddvm_config,
	.config_complete = ddvm_config_complete,
	.config_help =
	    "socket=PATH     the channel's frontend socket (required)\n"
	    "timeout=SECONDS how long to wait for the socket, then for the driver VM (120)",
	.get_ready = ddvm_get_ready,
	.unload = ddvm_unload,
	.open = ddvm_open,
	.get_size = ddvm_get_size,
	.block_size = ddvm_block_size,
	.can_write = ddvm_can_write,
	.can_flush = ddvm_can_flush,
	.can_fua = ddvm_can_fua,
	.can_trim = ddvm_can_trim,
	.can_zero = ddvm_can_zero,
	.pread = ddvm_pread,
	.pwrite = ddvm_pwrite,
	.flush = ddvm_flush,
	.trim = ddvm_trim,
	.zero = ddvm_zero,
	.errno_is_preserved = 0,
};

NBDKIT_REGISTER_PLUGIN(plugin)
