// SPDX-License-Identifier: BSD-2-Clause
/*
 * ddvm-blkcheck: write or verify a pattern on a reused disk through libddvm — the
 * libddvm blk example (asynchronous requests with a completion callback for verify,
 * the synchronous helpers for write).
 *
 *   ddvm-blkcheck --sock DIR/frontend.sock info
 *   ddvm-blkcheck --sock ... write  SEED OFFSET LENGTH   (then flush)
 *   ddvm-blkcheck --sock ... verify SEED OFFSET LENGTH
 *
 * The pattern: the little-endian 32-bit word at byte offset o of the disk is
 * (o / 4 + SEED) * 2654435761 mod 2^32, so any tool can write or check it
 * (tests/vm/lib_pattern.py does, on the host).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddvm.h"

#define CHUNK (64 * 1024)

static void pattern(uint8_t *buf, size_t len, uint64_t offset, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i += 4) {
		uint32_t v = (uint32_t)((offset + i) / 4 + seed) * 2654435761u;

		memcpy(buf + i, &v, 4);
	}
}

struct verify {
	uint8_t *bufs;
	uint64_t offset;
	uint32_t seed;
	unsigned done, bad;
	int err;
};

/* Completion callback: the cookie is the chunk number. */
static void verify_done(struct ddvm_chan *c, uint64_t cookie, int result, void *opaque)
{
	struct verify *v = opaque;
	uint8_t want[CHUNK];
	uint8_t *got = v->bufs + (cookie % 64) * CHUNK;

	(void)c;
	v->done++;
	if (result) {
		v->err = v->err ? v->err : result;
		return;
	}
	pattern(want, CHUNK, v->offset + cookie * CHUNK, v->seed);
	if (memcmp(want, got, CHUNK)) {
		if (!v->bad)
			fprintf(stderr, "blkcheck: mismatch in chunk at byte %llu\n",
				(unsigned long long)(v->offset + cookie * CHUNK));
		v->bad++;
	}
}

static int do_verify(struct ddvm_chan *c, uint32_t seed, uint64_t offset, uint64_t len)
{
	struct verify v = { .offset = offset, .seed = seed };
	uint64_t nchunks = len / CHUNK, next = 0;
	int ret = 0;

	v.bufs = malloc(64 * CHUNK);
	if (!v.bufs)
		return -ENOMEM;
	ddvm_blk_set_callback(c, verify_done, &v);
	/* Up to 64 chunks in flight; chunk k lives in buffer k % 64 until it completes. */
	while (v.done < nchunks && !v.err) {
		while (next < nchunks && next - v.done < 64) {
			ret = ddvm_blk_read(c, (offset + next * CHUNK) / 512,
					    v.bufs + (next % 64) * CHUNK, CHUNK, next);
			if (ret == -EAGAIN)
				break;
			if (ret)
				goto out;
			next++;
		}
		ret = ddvm_chan_wait(c, 1000);
		if (ret < 0)
			goto out;
	}
	ret = v.err ? v.err : v.bad ? -EILSEQ : 0;
out:
	ddvm_blk_set_callback(c, NULL, NULL);
	free(v.bufs);
	return ret;
}

static int do_write(struct ddvm_chan *c, uint32_t seed, uint64_t offset, uint64_t len)
{
	uint8_t *buf = malloc(len);
	int ret;

	if (!buf)
		return -ENOMEM;
	pattern(buf, len, offset, seed);
	ret = ddvm_blk_pwrite(c, buf, len, offset, 0);
	if (!ret)
		ret = ddvm_blk_flush_sync(c);
	free(buf);
	return ret;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *cmd;
	struct ddvm_blk_info bi;
	struct ddvm_chan *c;
	uint64_t offset = 0, len = 0;
	uint32_t seed = 0;
	int ret, opt;

	static const struct option opts[] = {
		{ "sock", required_argument, NULL, 's' }, { NULL, 0, NULL, 0 },
	};

	while ((opt = getopt_long(argc, argv, "+s:", opts, NULL)) != -1) {
		if (opt != 's')
			goto usage;
		sock = optarg;
	}
	if (!sock || optind >= argc)
		goto usage;
	cmd = argv[optind];
	if (strcmp(cmd, "info")) {
		if (optind + 3 >= argc)
			goto usage;
		seed = (uint32_t)strtoul(argv[optind + 1], NULL, 0);
		offset = strtoull(argv[optind + 2], NULL, 0);
		len = strtoull(argv[optind + 3], NULL, 0);
		if (offset % 512 || len % CHUNK || !len) {
			fprintf(stderr, "blkcheck: OFFSET must be 512-aligned, LENGTH a multiple "
					"of %d\n", CHUNK);
			return 2;
		}
	}

	ret = ddvm_chan_open(&c, sock, DDVM_CHAN_BLK, 0);
	if (ret) {
		fprintf(stderr, "blkcheck: %s: %s\n", sock, ddvm_strerror(ret));
		return 1;
	}
	ret = ddvm_chan_wait_ready(c, 60000);
	if (!ret)
		ret = ddvm_blk_info(c, &bi);
	if (ret) {
		fprintf(stderr, "blkcheck: driver VM not ready: %s\n", ddvm_strerror(ret));
		goto out;
	}
	printf("blkcheck: disk %s (%s) %llu sectors, max_io %u, depth %u, features %#llx\n",
	       bi.disk_name, bi.disk_driver, (unsigned long long)bi.capacity, bi.max_io,
	       bi.queue_depth, (unsigned long long)bi.features);
	if (!strcmp(cmd, "info"))
		ret = 0;
	else if (!strcmp(cmd, "verify"))
		ret = do_verify(c, seed, offset, len);
	else if (!strcmp(cmd, "write"))
		ret = do_write(c, seed, offset, len);
	else
		ret = -EINVAL;
	if (ret)
		fprintf(stderr, "blkcheck: %s: %s\n", cmd,
			ret == -EILSEQ ? "pattern mismatch" : ddvm_strerror(ret));
	else if (strcmp(cmd, "info"))
		printf("blkcheck: %s OK %llu bytes at %llu (restarts %llu)\n", cmd,
		       (unsigned long long)len, (unsigned long long)offset,
		       (unsigned long long)ddvm_chan_restarts(c));
out:
	ddvm_chan_close(c);
	return ret ? 1 : 0;
usage:
	fprintf(stderr, "usage: ddvm-blkcheck --sock PATH info|write SEED OFFSET LENGTH|"
			"verify SEED OFFSET LENGTH\n");
	return 2;
}
