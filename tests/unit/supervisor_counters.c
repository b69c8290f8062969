/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The supervisor's reading and formatting of a channel's counters (supervisor/counters.c,
 * hdr.stats in abi.h): what a translation module writes shows in `status --json` under
 * the names docs/supervisor.md gives; an absent block is null; and a block full of
 * garbage (a client can write it) is displayed, clamped, and never crashes, overflows
 * a buffer or reads past the block (this test also runs under ASan and UBSan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "counters.h"
#include "ddvm/blk.h"
#include "ddvm/net.h"

/* A block as a translation module writes it (field by field, like ring/region.c). */
static void block_init(struct ddvm_stats *s, const struct ddvm_chan_stats *chan, const void *svc,
		       uint32_t svc_size)
{
	memset(s, 0, sizeof(*s));
	s->magic = DDVM_STATS_MAGIC;
	s->epoch = 3;
	s->updates = 17;
	s->chan_size = sizeof(*chan);
	s->service_size = svc_size;
	s->chan = *chan;
	if (svc_size)
		memcpy(s->service, svc, svc_size);
}

static const struct ddvm_chan_stats chan_sample = {
	.interrupts = 101,
	.polls = 202,
	.doorbells_out = 303,
	.doorbells_suppressed = 404,
	.doorbells_throttled = 5,
	.sessions = 2,
};

static json_int_t jint(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	assert_non_null(v);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void test_absent(void **state)
{
	struct ddvm_stats s;
	struct counters c;
	char line[128] = "x";
	uint64_t v = 9;
	json_t *j;

	(void)state;
	memset(&s, 0, sizeof(s));
	counters__read(&c, &s, DDVM_KIND_BLK);
	assert_false(c.present);
	j = counters__json(&c);
	assert_true(json_is_null(j));
	json_decref(j);
	assert_int_equal(counters__line(&c, line, sizeof(line)), 0);
	assert_string_equal(line, "");
	assert_int_equal(counters__get(&c, "interrupts", &v), -1);
	/* counters but no magic: an older driver VM, or a cleared block */
	block_init(&s, &chan_sample, NULL, 0);
	s.magic = DDVM_STATS_MAGIC + 1;
	counters__read(&c, &s, DDVM_KIND_BLK);
	assert_false(c.present);
}

static void test_blk(void **state)
{
	struct ddvm_blk_stats b = {
		.path = DDVM_BLK_PATH_ZERO_COPY,
		.requests = 1000,
		.zero_copy_requests = 900,
		.zero_copy_bytes = 900ull << 20,
		.copy_requests = 0,
		.copy_bytes = 0,
		.read_bytes = 400ull << 20,
		.write_bytes = 500ull << 20,
		.flushes = 60,
		.discards = 7,
		.errors = 1,
	};
	struct ddvm_stats s;
	struct counters c;
	char line[512];
	uint64_t v;
	json_t *j;

	(void)state;
	block_init(&s, &chan_sample, &b, sizeof(b));
	counters__read(&c, &s, DDVM_KIND_BLK);
	assert_true(c.present);
	j = counters__json(&c);
	assert_true(json_is_object(j));
	assert_int_equal(jint(j, "epoch"), 3);
	assert_int_equal(jint(j, "updates"), 17);
	assert_int_equal(jint(j, "interrupts"), 101);
	assert_int_equal(jint(j, "polls"), 202);
	assert_int_equal(jint(j, "doorbells_out"), 303);
	assert_int_equal(jint(j, "doorbells_suppressed"), 404);
	assert_int_equal(jint(j, "doorbells_throttled"), 5);
	assert_int_equal(jint(j, "sessions"), 2);
	assert_string_equal(json_string_value(json_object_get(j, "path")), "zero-copy");
	assert_int_equal(jint(j, "requests"), 1000);
	assert_int_equal(jint(j, "zero_copy_requests"), 900);
	assert_int_equal(jint(j, "zero_copy_bytes"), 900ll << 20);
	assert_int_equal(jint(j, "copy_requests"), 0);
	assert_int_equal(jint(j, "copy_bytes"), 0);
	assert_int_equal(jint(j, "read_bytes"), 400ll << 20);
	assert_int_equal(jint(j, "write_bytes"), 500ll << 20);
	assert_int_equal(jint(j, "flushes"), 60);
	assert_int_equal(jint(j, "discards"), 7);
	assert_int_equal(jint(j, "errors"), 1);
	assert_null(json_object_get(j, "tx_frames")); /* no net names on a blk channel */
	json_decref(j);
	assert_int_equal(counters__get(&c, "zero_copy_bytes", &v), 0);
	assert_int_equal(v, 900ull << 20);
	assert_int_equal(counters__get(&c, "no_such_counter", &v), -1);
	assert_int_equal(counters__line(&c, line, sizeof(line)), 1);
	assert_non_null(strstr(line, "path zero-copy"));
	assert_non_null(strstr(line, "zero_copy_bytes 900.0 MiB"));
	assert_non_null(strstr(line, "copy_bytes 0 B"));
	assert_non_null(strstr(line, "irqs 101"));
	assert_non_null(strstr(line, "throttled 5"));
}

static void test_net(void **state)
{
	struct ddvm_net_stats n = {
		.tx_frames = 10,
		.tx_bytes = 1500,
		.tx_copy_bytes = 1500,
		.rx_frames = 20,
		.rx_bytes = 3000,
		.rx_copy_bytes = 3000,
		.rx_drops = 4,
		.tx_storm_drops = 7,
		.tx_spoof_drops = 3,
	};
	struct ddvm_stats s;
	struct counters c;
	char line[512];
	json_t *j;

	(void)state;
	block_init(&s, &chan_sample, &n, sizeof(n));
	counters__read(&c, &s, DDVM_KIND_NET);
	j = counters__json(&c);
	assert_int_equal(jint(j, "tx_frames"), 10);
	assert_int_equal(jint(j, "tx_bytes"), 1500);
	assert_int_equal(jint(j, "tx_copy_bytes"), 1500);
	assert_int_equal(jint(j, "rx_frames"), 20);
	assert_int_equal(jint(j, "rx_bytes"), 3000);
	assert_int_equal(jint(j, "rx_copy_bytes"), 3000);
	assert_int_equal(jint(j, "rx_drops"), 4);
	assert_int_equal(jint(j, "rx_soft"), 0);
	assert_int_equal(jint(j, "interrupts"), 101);
	assert_null(json_object_get(j, "path")); /* no blk names on a net channel */
	json_decref(j);
	assert_int_equal(counters__line(&c, line, sizeof(line)), 1);
	assert_non_null(strstr(line, "tx_frames 10, tx_bytes 1.5 KiB, rx_frames 20"));
	/* what storm control and anti-spoofing dropped, beside what the NIC dropped (the
	 * text status) */
	assert_non_null(strstr(line, "tx_drops 0, tx_storm_drops 7, tx_spoof_drops 3, rx_drops 4"));
	assert_int_equal(jint(j = counters__json(&c), "tx_spoof_drops"), 3);
	json_decref(j);
}

/* A writer that fills less (an older module) shows only what it filled; a kind without
 * a table (a future service) shows the channel counters. */
static void test_sizes_and_kinds(void **state)
{
	struct ddvm_net_stats n = { .tx_frames = 10, .tx_bytes = 1500, .tx_copy_bytes = 1500 };
	struct ddvm_stats s;
	struct counters c;
	json_t *j;

	(void)state;
	block_init(&s, &chan_sample, &n, 2 * 8 + 3); /* a ragged size: whole words count */
	s.chan_size = 8;
	counters__read(&c, &s, DDVM_KIND_NET);
	j = counters__json(&c);
	assert_int_equal(jint(j, "interrupts"), 101);
	assert_null(json_object_get(j, "polls"));
	assert_int_equal(jint(j, "tx_frames"), 10);
	assert_int_equal(jint(j, "tx_bytes"), 1500);
	assert_null(json_object_get(j, "tx_copy_bytes"));
	json_decref(j);

	block_init(&s, &chan_sample, &n, sizeof(n));
	counters__read(&c, &s, 77);
	j = counters__json(&c);
	assert_int_equal(jint(j, "sessions"), 2);
	assert_null(json_object_get(j, "tx_frames"));
	json_decref(j);
}

/* Every byte 0xff but the magic: sizes past the block, counters past INT64_MAX, a path
 * that is no path. */
static void test_garbage_max(void **state)
{
	struct ddvm_stats s;
	struct counters c;
	char line[512], small[8];
	size_t len;
	json_t *j;
	char *text;

	(void)state;
	memset(&s, 0xff, sizeof(s));
	s.magic = DDVM_STATS_MAGIC;
	counters__read(&c, &s, DDVM_KIND_BLK);
	assert_int_equal(c.chan_size, sizeof(s.chan));
	assert_int_equal(c.service_size, sizeof(s.service));
	j = counters__json(&c);
	assert_int_equal(jint(j, "epoch"), 0xffffffffll);
	assert_int_equal(jint(j, "updates"), INT64_MAX);
	assert_int_equal(jint(j, "interrupts"), INT64_MAX);
	assert_int_equal(jint(j, "zero_copy_bytes"), INT64_MAX);
	assert_string_equal(json_string_value(json_object_get(j, "path")), "?");
	text = json_dumps(j, 0);
	assert_non_null(text);
	free(text);
	json_decref(j);
	assert_int_equal(counters__line(&c, line, sizeof(line)), 1);
	assert_non_null(strstr(line, "16.0 EiB"));
	for (len = 1; len <= sizeof(small); len++) {
		memset(small, 'x', sizeof(small));
		counters__line(&c, small, len);
		assert_true(strlen(small) < len);
	}
	assert_int_equal(counters__line(&c, small, 0), 0); /* writes nothing */
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Random blocks, random kinds, every reader, every buffer size. */
static void test_garbage_random(void **state)
{
	static const uint32_t kinds[] = { DDVM_KIND_NONE, DDVM_KIND_NET, DDVM_KIND_BLK,
					  0xffffffff };
	struct ddvm_stats s;
	struct counters c;
	char line[96];
	unsigned round, i;
	uint64_t v;

	(void)state;
	for (round = 0; round < 20000; round++) {
		json_t *j;
		char *text;
		size_t len = rnd() % (sizeof(line) + 1);

		for (i = 0; i < sizeof(s) / 8; i++)
			((uint64_t *)&s)[i] = rnd();
		if (round & 1)
			s.magic = DDVM_STATS_MAGIC;
		if (round % 3 == 0)
			s.service_size = (uint32_t)rnd() % 0x200;
		counters__read(&c, &s, kinds[rnd() % 4]);
		assert_true(c.chan_size <= sizeof(s.chan));
		assert_true(c.service_size <= sizeof(s.service));
		j = counters__json(&c);
		assert_non_null(j);
		text = json_dumps(j, JSON_ENCODE_ANY);
		assert_non_null(text);
		free(text);
		json_decref(j);
		memset(line, 'x', sizeof(line));
		counters__line(&c, line, len);
		if (len)
			assert_true(strlen(line) < len);
		(void)counters__get(&c, "sessions", &v);
		(void)counters__get(&c, "rx_drops", &v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absent),	    cmocka_unit_test(test_blk),
		cmocka_unit_test(test_net),	    cmocka_unit_test(test_sizes_and_kinds),
		cmocka_unit_test(test_garbage_max), cmocka_unit_test(test_garbage_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
