/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A channel's counters from the translation module (see counters.h). The names are an
 * interface: they are the JSON fields of `ddvm status --json` (docs/supervisor.md) and
 * the files of the driver VM's /sys/bus/pci/devices/BDF/ddvm_stats/ (docs/blk.md,
 * docs/net.md), and tests compare the two by name. Each service's counters are one
 * table; nothing below names a service outside the tables.
 */
#include "counters.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ddvm/blk.h"
#include "ddvm/net.h"

enum counter_fmt {
	CF_COUNT, /* a number of things */
	CF_BYTES, /* a number of bytes */
	CF_PATH,  /* enum ddvm_blk_path */
};

struct counter_field {
	const char *name;
	uint16_t off; /* in ddvm_stats.chan or ddvm_stats.service */
	uint8_t fmt;  /* enum counter_fmt */
};

#define CHAN(f)	 #f, offsetof(struct ddvm_chan_stats, f)
#define BLK(f)	 #f, offsetof(struct ddvm_blk_stats, f)
#define NET(f)	 #f, offsetof(struct ddvm_net_stats, f)
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The names and units come from the wire headers' lists (abi.h: one list per struct,
 * proven against it there), as do the driver VM's sysfs files. */
#define CHAN_FIELD(f, unit) { CHAN(f), CF_##unit },
#define BLK_FIELD(f, unit)  { BLK(f), CF_##unit },
#define NET_FIELD(f, unit)  { NET(f), CF_##unit },

static const struct counter_field chan_fields[] = { DDVM_CHAN_STATS_FIELDS(CHAN_FIELD) };
static const struct counter_field blk_fields[] = { DDVM_BLK_STATS_FIELDS(BLK_FIELD) };
static const struct counter_field net_fields[] = { DDVM_NET_STATS_FIELDS(NET_FIELD) };

/* A service's table; a kind without one shows the channel counters only. */
struct service_table {
	uint32_t kind;
	const struct counter_field *f;
	size_t n;
	/* the plain line: "what moved" for this service (NULL-terminated field names) */
	const char *const *line;
};

static const char *const blk_line[] = { "path",	    "zero_copy_bytes", "copy_bytes",
					"requests", "errors",	       NULL };
static const char *const net_line[] = { "tx_frames",	  "tx_bytes", "rx_frames",
					"rx_bytes",	  "tx_drops", "tx_storm_drops",
					"tx_spoof_drops", "rx_drops", NULL };

static const struct service_table services[] = {
	{ DDVM_KIND_BLK, blk_fields, NELEM(blk_fields), blk_line },
	{ DDVM_KIND_NET, net_fields, NELEM(net_fields), net_line },
};

static const struct service_table *service_of(uint32_t kind)
{
	size_t i;

	for (i = 0; i < NELEM(services); i++)
		if (services[i].kind == kind)
			return &services[i];
	return NULL;
}

void counters__read(struct counters *c, const struct ddvm_stats *shared, uint32_t kind)
{
	memset(c, 0, sizeof(*c));
	/* the one read of shared memory; everything below looks at the copy */
	memcpy(&c->copy, shared, sizeof(c->copy));
	c->kind = kind;
	c->present = c->copy.magic == DDVM_STATS_MAGIC;
	c->chan_size = c->copy.chan_size;
	if (c->chan_size > sizeof(c->copy.chan))
		c->chan_size = sizeof(c->copy.chan);
	c->service_size = c->copy.service_size;
	if (c->service_size > sizeof(c->copy.service))
		c->service_size = sizeof(c->copy.service);
}

/* The value of F in AREA (chan or service) if the writer filled it. */
static int field_value(const struct counters *c, const struct counter_field *f, int service,
		       uint64_t *v)
{
	const unsigned char *base =
	    service ? c->copy.service : (const unsigned char *)&c->copy.chan;
	uint32_t size = service ? c->service_size : c->chan_size;

	if ((uint32_t)f->off + sizeof(*v) > size)
		return -1;
	memcpy(v, base + f->off, sizeof(*v));
	return 0;
}

/* Calls FN for every field the block carries, channel counters first. */
static void for_each_field(const struct counters *c,
			   void (*fn)(const struct counter_field *f, uint64_t v, void *arg),
			   void *arg)
{
	const struct service_table *t = service_of(c->kind);
	uint64_t v;
	size_t i;

	for (i = 0; i < NELEM(chan_fields); i++)
		if (!field_value(c, &chan_fields[i], 0, &v))
			fn(&chan_fields[i], v, arg);
	for (i = 0; t && i < t->n; i++)
		if (!field_value(c, &t->f[i], 1, &v))
			fn(&t->f[i], v, arg);
}

struct get_arg {
	const char *name;
	uint64_t v;
	int found;
};

static void get_one(const struct counter_field *f, uint64_t v, void *arg)
{
	struct get_arg *g = arg;

	if (!strcmp(f->name, g->name)) {
		g->v = v;
		g->found = 1;
	}
}

int counters__get(const struct counters *c, const char *name, uint64_t *v)
{
	struct get_arg g = { .name = name };

	if (!c->present)
		return -1;
	for_each_field(c, get_one, &g);
	if (!g.found)
		return -1;
	*v = g.v;
	return 0;
}

static const char *path_name(uint64_t v)
{
	switch (v) {
	case DDVM_BLK_PATH_NONE:
		return "none";
	case DDVM_BLK_PATH_ZERO_COPY:
		return "zero-copy";
	case DDVM_BLK_PATH_COPY:
		return "copy";
	}
	return "?";
}

static json_t *json_count(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static void json_one(const struct counter_field *f, uint64_t v, void *arg)
{
	json_object_set_new(arg, f->name,
			    f->fmt == CF_PATH ? json_string(path_name(v)) : json_count(v));
}

json_t *counters__json(const struct counters *c)
{
	json_t *o;

	if (!c->present)
		return json_null();
	o = json_object();
	if (!o)
		return json_null();
	json_object_set_new(o, "epoch", json_integer(c->copy.epoch));
	json_object_set_new(o, "updates", json_count(c->copy.updates));
	for_each_field(c, json_one, o);
	return o;
}

/* V as a short human number of bytes ("0 B", "12.3 MiB", up to "16.0 EiB"). */
static void fmt_bytes(char *buf, size_t len, uint64_t v)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double d = (double)v;
	int u = -1;

	if (v < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", v);
		return;
	}
	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", d, unit[u]);
}

/* An snprintf that appends at *AT within LEN, never past it. */
static void append(char *buf, size_t len, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*at >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *at, len - *at, fmt, ap);
	va_end(ap);
	if (n > 0)
		*at = (size_t)n >= len - *at ? len - 1 : *at + (size_t)n;
}

static void line_field(const struct counters *c, char *buf, size_t len, size_t *at,
		       const char *name, const char *label)
{
	const struct service_table *t = service_of(c->kind);
	const struct counter_field *f = NULL;
	char num[32];
	uint64_t v;
	size_t i;

	for (i = 0; i < NELEM(chan_fields) && !f; i++)
		if (!strcmp(chan_fields[i].name, name) && !field_value(c, &chan_fields[i], 0, &v))
			f = &chan_fields[i];
	for (i = 0; t && i < t->n && !f; i++)
		if (!strcmp(t->f[i].name, name) && !field_value(c, &t->f[i], 1, &v))
			f = &t->f[i];
	if (!f)
		return;
	if (f->fmt == CF_BYTES)
		fmt_bytes(num, sizeof(num), v);
	else if (f->fmt == CF_PATH)
		snprintf(num, sizeof(num), "%s", path_name(v));
	else
		snprintf(num, sizeof(num), "%" PRIu64, v);
	append(buf, len, at, "%s%s %s", *at ? ", " : "", label ? label : name, num);
}

int counters__line(const struct counters *c, char *buf, size_t len)
{
	const struct service_table *t = service_of(c->kind);
	size_t at = 0, i;

	if (!len)
		return 0;
	buf[0] = 0;
	if (!c->present)
		return 0;
	for (i = 0; t && t->line[i]; i++)
		line_field(c, buf, len, &at, t->line[i], NULL);
	line_field(c, buf, len, &at, "interrupts", "irqs");
	line_field(c, buf, len, &at, "polls", NULL);
	line_field(c, buf, len, &at, "doorbells_out", "kicks");
	line_field(c, buf, len, &at, "doorbells_suppressed", "suppressed");
	line_field(c, buf, len, &at, "doorbells_throttled", "throttled");
	return 1;
}
