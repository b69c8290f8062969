// SPDX-License-Identifier: BSD-2-Clause
/*
 * ddvm-blkcheck: write or verify a pattern on a reused disk through libddvm — the
 * libddvm blk example (asynchronous requests with a completion callback for verify,
 * the synchronous helpers for write).
 *
 *   ddvm-blkcheck --sock DIR/frontend.sock COMMAND...
 *     info | write SEED OFFSET LENGTH (then flush) | verify SEED OFFSET LENGTH |
 *     mismatch SEED OFFSET LENGTH (verify must fail)
 * Commands run in order over one connection. The socket may appear later: it waits up
 * to 60 s for it, and as long again for the driver VM.
 *
 * The pattern: the little-endian 32-bit word at byte offset o of the disk is
 * (o / 4 + SEED) * 2654435761 mod 2^32, so any tool can write or check it
 * (tests/vm/client_pattern.py does, on the host).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
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

#define NBUF 64 /* reads in flight, each in a buffer of its own */

struct verify {
	uint8_t *bufs;
	uint64_t offset;
	uint32_t seed;
	unsigned done, bad;
	int err;
	unsigned nfree;
	uint8_t free[NBUF]; /* buffers no read is using */
};

/* Completion callback: the cookie is (chunk number << 8) | buffer. Completions come in
 * any order, so a buffer is reused only once ITS read completed (reusing buffer
 * chunk % NBUF after any NBUF completions let a later chunk's read land in a buffer an
 * earlier chunk's read was still copied into). */
static void verify_done(struct ddvm_chan *c, uint64_t cookie, int result, void *opaque)
{
	struct verify *v = opaque;
	uint8_t want[CHUNK];
	uint64_t chunk = cookie >> 8;
	unsigned buf = cookie & 0xff;
	uint8_t *got = v->bufs + (size_t)buf * CHUNK;

	(void)c;
	v->done++;
	v->free[v->nfree++] = (uint8_t)buf;
	if (result) {
		v->err = v->err ? v->err : result;
		return;
	}
	pattern(want, CHUNK, v->offset + chunk * CHUNK, v->seed);
	if (memcmp(want, got, CHUNK)) {
		if (!v->bad)
			fprintf(stderr, "blkcheck: mismatch in chunk at byte %llu\n",
				(unsigned long long)(v->offset + chunk * CHUNK));
		v->bad++;
	}
}

static int do_verify(struct ddvm_chan *c, uint32_t seed, uint64_t offset, uint64_t len)
{
	struct verify v = { .offset = offset, .seed = seed };
	uint64_t nchunks = len / CHUNK, next = 0;
	int ret = 0;

	v.bufs = malloc((size_t)NBUF * CHUNK);
	if (!v.bufs)
		return -ENOMEM;
	for (v.nfree = 0; v.nfree < NBUF; v.nfree++)
		v.free[v.nfree] = (uint8_t)v.nfree;
	ddvm_blk_set_callback(c, verify_done, &v);
	/* Up to NBUF chunks in flight, each in a free buffer until its read completes. */
	while (v.done < nchunks && !v.err) {
		while (next < nchunks && v.nfree) {
			unsigned buf = v.free[--v.nfree];

			ret = ddvm_blk_read(c, (offset + next * CHUNK) / 512,
					    v.bufs + (size_t)buf * CHUNK, CHUNK, next << 8 | buf);
			if (ret) {
				v.free[v.nfree++] = (uint8_t)buf; /* not submitted */
				if (ret == -EAGAIN)
					break;
				goto out;
			}
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

/* One command: 0 when it did what was asked. */
static int run_cmd(struct ddvm_chan *c, const char *cmd, uint32_t seed, uint64_t offset,
		   uint64_t len)
{
	int ret;

	if (!strcmp(cmd, "verify") || !strcmp(cmd, "mismatch"))
		ret = do_verify(c, seed, offset, len);
	else if (!strcmp(cmd, "write"))
		ret = do_write(c, seed, offset, len);
	else
		return -EINVAL;
	if (!strcmp(cmd, "mismatch")) {
		if (ret == -EILSEQ) {
			printf("blkcheck: mismatch OK (a wrong pattern is caught)\n");
			return 0;
		}
		fprintf(stderr, "blkcheck: mismatch: %s\n",
			ret ? ddvm_strerror(ret) : "the wrong pattern verified");
		return ret ? ret : -EINVAL;
	}
	if (ret)
		fprintf(stderr, "blkcheck: %s: %s\n", cmd,
			ret == -EILSEQ ? "pattern mismatch" : ddvm_strerror(ret));
	else
		printf("blkcheck: %s OK %llu bytes at %llu (restarts %llu)\n", cmd,
		       (unsigned long long)len, (unsigned long long)offset,
		       (unsigned long long)ddvm_chan_restarts(c));
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sock", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL;
	struct ddvm_blk_info bi;
	struct ddvm_chan *c;
	int ret, opt, i, help = 0;
	uint64_t v, seed, off, len;

	setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines for whoever watches */
	while ((opt = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		if (opt == 'h')
			help = 1;
		if (opt != 's')
			goto usage;
		sock = optarg;
	}
	if (!sock || optind >= argc)
		goto usage;
	/* check the whole command line before touching the channel */
	for (i = optind; i < argc; i += 4) {
		if (!strcmp(argv[i], "info")) {
			i -= 3;
			continue;
		}
		if (strcmp(argv[i], "verify") && strcmp(argv[i], "write") &&
		    strcmp(argv[i], "mismatch"))
			goto usage;
		if (i + 3 >= argc) {
			fprintf(stderr, "blkcheck: %s needs SEED OFFSET LENGTH\n", argv[i]);
			return 2;
		}
		if (ddvm_parse_u64(argv[i + 1], UINT32_MAX, &v)) {
			fprintf(stderr, "blkcheck: %s: SEED '%s' is not a number from 0 to %u\n",
				argv[i], argv[i + 1], UINT32_MAX);
			return 2;
		}
		if (ddvm_parse_u64(argv[i + 2], UINT64_MAX, &v) || v % 512) {
			fprintf(stderr,
				"blkcheck: %s: OFFSET '%s' is not a byte offset that is a "
				"multiple of 512\n",
				argv[i], argv[i + 2]);
			return 2;
		}
		if (ddvm_parse_u64(argv[i + 3], UINT64_MAX, &v) || !v || v % CHUNK) {
			fprintf(stderr,
				"blkcheck: %s: LENGTH '%s' is not a non-zero multiple of %d "
				"bytes\n",
				argv[i], argv[i + 3], CHUNK);
			return 2;
		}
	}

	ret = ddvm_chan_open(&c, sock, DDVM_CHAN_BLK, 0);
	if (ret == -ENOENT || ret == -ECONNREFUSED) {
		/* a setup still starting makes its socket soon; a typo never does */
		fprintf(stderr, "blkcheck: %s: %s; waiting up to 60 s\n", sock, ddvm_strerror(ret));
		ret = ddvm_chan_open_wait(&c, sock, DDVM_CHAN_BLK, 0, 60000);
	}
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
	for (i = optind; i < argc && !ret; i += 4) {
		if (!strcmp(argv[i], "info")) {
			i -= 3;
			continue;
		}
		ddvm_parse_u64(argv[i + 1], UINT32_MAX, &seed); /* checked above */
		ddvm_parse_u64(argv[i + 2], UINT64_MAX, &off);
		ddvm_parse_u64(argv[i + 3], UINT64_MAX, &len);
		/* before a buffer of LENGTH bytes is made and filled */
		if (off > bi.capacity * 512 || len > bi.capacity * 512 - off) {
			fprintf(stderr,
				"blkcheck: %s: %llu bytes at %llu end past the disk's %llu bytes\n",
				argv[i], (unsigned long long)len, (unsigned long long)off,
				(unsigned long long)bi.capacity * 512);
			ret = -ERANGE;
			break;
		}
		ret = run_cmd(c, argv[i], (uint32_t)seed, off, len);
	}
out:
	ddvm_chan_close(c);
	return ret ? 1 : 0;
usage:
	fprintf(help ? stdout : stderr,
		"usage: ddvm-blkcheck --sock PATH COMMAND...\n"
		"  info                          print the disk's description\n"
		"  write    SEED OFFSET LENGTH   write the pattern, then flush\n"
		"  verify   SEED OFFSET LENGTH   read and check the pattern\n"
		"  mismatch SEED OFFSET LENGTH   expect verify to find a mismatch\n"
		"OFFSET: bytes, a multiple of 512; LENGTH: bytes, a multiple of 65536.\n"
		"Commands run in order over one connection; the first failure stops.\n");
	return help ? 0 : 2;
}
