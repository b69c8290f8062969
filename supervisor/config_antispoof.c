// SPDX-License-Identifier: BSD-2-Clause
/*
 * A net device's anti-spoofing keys, resolved into its channels (config.h, enum
 * cfg_antispoof; docs/net.md "Anti-spoofing"):
 *
 *   antispoof        = mac | ip | off          mac; ip when `ip =` is given
 *   ip               = CLIENT=ADDRESS[/N][,ADDRESS[/N]...] ...   IPv4 or IPv6
 *   antispoof_exempt = CLIENT ...              these clients are not checked
 *
 * The supervisor only checks and passes the policy on (the channels list, vm.c); the
 * translation module's switch enforces it on every frame a client sends.
 */
#include "config_internal.h"
#include "ddvm/net.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* DEVICE's channel to the client named NAME, or NULL. */
static struct cfg_channel *find_channel(struct config *cfg, const struct cfg_device *d,
					const char *name)
{
	unsigned i;

	for (i = 0; i < cfg->nr_channels; i++)
		if (cfg->channels[i].dev == d && !strcmp(cfg->channels[i].client->name, name))
			return &cfg->channels[i];
	return NULL;
}

/* "a, b" - the clients of D, for a message that names a client D does not have. */
static void clients_of(const struct config *cfg, const struct cfg_device *d, char *buf, size_t len)
{
	unsigned i;
	size_t n = 0;

	buf[0] = '\0';
	for (i = 0; i < cfg->nr_channels && n < len; i++)
		if (cfg->channels[i].dev == d)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
					      cfg->channels[i].client->name);
	if (!buf[0])
		snprintf(buf, len, "none");
}

/* The bits of byte I of an address that a prefix of LEN bits keeps. */
static uint8_t prefix_byte_mask(unsigned len, unsigned i)
{
	return i * 8 >= len ? 0 : i * 8 + 8 > len ? (uint8_t)(0xff00 >> (len - i * 8)) : 0xff;
}

/* "A.B.C.D[/N]" or "X:X::X[/N]" into P (host bits must be clear: -2 if not). */
static int parse_prefix(const char *s, struct cfg_ip_prefix *p)
{
	char a[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long len, max;
	unsigned i;
	char *end;

	if (n >= sizeof(a))
		return -1;
	memcpy(a, s, n);
	a[n] = '\0';
	memset(p, 0, sizeof(*p));
	p->v6 = strchr(a, ':') != NULL;
	if (inet_pton(p->v6 ? AF_INET6 : AF_INET, a, p->addr) != 1)
		return -1;
	len = max = p->v6 ? 128 : 32;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		len = strtoul(slash + 1, &end, 10);
		if (*end || len > max)
			return -1;
	}
	p->len = (uint8_t)len;
	for (i = 0; i < max / 8; i++)
		if (p->addr[i] & ~prefix_byte_mask(len, i))
			return -2; /* host bits set: 10.0.2.15/24 */
	return 0;
}

/* Not an address a client sends from: unspecified, loopback, multicast, broadcast. */
static const char *not_unicast(const struct cfg_ip_prefix *p)
{
	static const uint8_t any[16], loop6[16] = { [15] = 1 }, bcast[4] = { 255, 255, 255, 255 };

	if (!memcmp(p->addr, any, p->v6 ? 16 : 4))
		return "the unspecified address";
	if (p->v6 ? !memcmp(p->addr, loop6, 16) : p->addr[0] == 127)
		return "a loopback address";
	if (p->v6 ? p->addr[0] == 0xff : (p->addr[0] & 0xf0) == 0xe0)
		return "a multicast address";
	if (!p->v6 && p->len == 32 && !memcmp(p->addr, bcast, 4))
		return "the broadcast address";
	return NULL;
}

/* Do X and Y (one family) have an address in common: equal in their shorter prefix? */
static int prefixes_overlap(const struct cfg_ip_prefix *x, const struct cfg_ip_prefix *y)
{
	unsigned len = x->len < y->len ? x->len : y->len, i;

	if (x->v6 != y->v6)
		return 0;
	for (i = 0; i < 16; i++)
		if ((x->addr[i] ^ y->addr[i]) & prefix_byte_mask(len, i))
			return 0;
	return 1;
}

static void format_prefix(const struct cfg_ip_prefix *p, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->v6 ? AF_INET6 : AF_INET, p->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, n, "%s/%u", a, p->len);
}

/* One `ip =` entry, CLIENT=LIST, into its channel. */
static void ip_entry(struct config *cfg, const char *f, struct cfg_device *d, char *entry)
{
	char *eq = strchr(entry, '='), *list, *item, *save = NULL, users[256];
	struct cfg_channel *ch;
	unsigned k;

	if (!eq || eq == entry || !eq[1]) {
		cfg_dev_error(cfg, f, d, d->ip_line,
			      "ip = ... %s ...: expected CLIENT=ADDRESS[,ADDRESS...] "
			      "(e.g. ip = a=10.0.2.15 b=10.0.2.16,10.0.2.17)",
			      entry);
		return;
	}
	*eq = '\0';
	list = eq + 1;
	ch = find_channel(cfg, d, entry);
	if (!ch) {
		clients_of(cfg, d, users, sizeof(users));
		cfg_dev_error(cfg, f, d, d->ip_line,
			      "ip = %s=...: %s does not use device %s (its clients: %s)", entry,
			      entry, d->name, users);
		return;
	}
	if (ch->antispoof == CFG_ANTISPOOF_OFF) {
		cfg_dev_error(cfg, f, d, d->ip_line,
			      "ip = %s=...: %s is in antispoof_exempt, which checks none of its "
			      "addresses; give it either",
			      entry, entry);
		return;
	}
	if (ch->nr_ip) {
		cfg_dev_error(cfg, f, d, d->ip_line,
			      "ip = %s=... is given twice; list all of %s's addresses in one "
			      "entry, separated by commas",
			      entry, entry);
		return;
	}
	for (item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (ch->nr_ip == CFG_ANTISPOOF_MAX_IP) {
			cfg_dev_error(cfg, f, d, d->ip_line,
				      "ip = %s=...: more than %d addresses; give a prefix "
				      "(A.B.C.D/N) that covers them",
				      entry, CFG_ANTISPOOF_MAX_IP);
			return;
		}
		struct cfg_ip_prefix *p = &ch->ip[ch->nr_ip];
		const char *what;
		char net[INET6_ADDRSTRLEN + 4];
		int rc = parse_prefix(item, p);

		if (rc == -2) {
			*strchr(item, '/') = '\0';
			for (k = 0; k < 16; k++) /* the prefix the user may have meant */
				p->addr[k] &= prefix_byte_mask(p->len, k);
			format_prefix(p, net, sizeof(net));
			cfg_dev_error(cfg, f, d, d->ip_line,
				      "ip = %s=...: %s/%u has host bits set; give %s for that one "
				      "address, or %s for every address of the prefix (the "
				      "gateway's too)",
				      entry, item, p->len, item, net);
			return;
		}
		if (rc) {
			cfg_dev_error(
			    cfg, f, d, d->ip_line,
			    "ip = %s=...: '%s' is not an IP address or prefix (A.B.C.D or "
			    "A.B.C.D/N, N 0-32; X:X::X or X:X::X/N, N 0-128)",
			    entry, item);
			return;
		}
		if (p->v6 && p->addr[0] == 0xfe && (p->addr[1] & 0xc0) == 0x80 && p->len < 128) {
			cfg_dev_error(
			    cfg, f, d, d->ip_line,
			    "ip = %s=...: %s is a link-local prefix; every client has its "
			    "own link-local address from its MAC without it: list only a "
			    "client's other link-local addresses, whole (/128)",
			    entry, item);
			return;
		}
		what = not_unicast(p);
		if (what) {
			cfg_dev_error(cfg, f, d, d->ip_line,
				      "ip = %s=...: %s is %s, not one a client sends from", entry,
				      item, what);
			return;
		}
		ch->nr_ip++;
	}
}

/* The link-local address the translation module lets C use without a listing: from
 * its MAC (modified EUI-64, RFC 4291; driver-vm/net/antispoof.c antispoof_ip6_ok). */
static void implicit_ll(const struct cfg_channel *c, struct cfg_ip_prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->v6 = 1;
	p->len = 128;
	ddvm_net_implicit_ll(c->mac, p->addr);
}

/* Two clients of D whose prefixes overlap would both own the addresses in common; a
 * listed address may not be another client's implicit link-local one either. */
static void check_overlaps(struct config *cfg, const char *f, struct cfg_device *d)
{
	unsigned i, j, a, b;

	for (i = 0; i < cfg->nr_channels; i++)
		for (j = 0; j < cfg->nr_channels; j++) {
			const struct cfg_channel *x = &cfg->channels[i], *y = &cfg->channels[j];
			struct cfg_ip_prefix ll;

			if (x->dev != d || y->dev != d || i == j)
				continue;
			implicit_ll(y, &ll);
			for (a = 0; a < x->nr_ip; a++)
				if (prefixes_overlap(&x->ip[a], &ll)) {
					char pa[INET6_ADDRSTRLEN + 4];

					format_prefix(&x->ip[a], pa, sizeof(pa));
					cfg_dev_error(cfg, f, d, d->ip_line,
						      "ip =: %s of %s is %s's link-local address "
						      "(from its MAC); two clients cannot own one "
						      "address",
						      pa, x->client->name, y->client->name);
					return;
				}
			if (j < i)
				continue;
			for (a = 0; a < x->nr_ip; a++)
				for (b = 0; b < y->nr_ip; b++) {
					char pa[INET6_ADDRSTRLEN + 4], pb[INET6_ADDRSTRLEN + 4];

					if (!prefixes_overlap(&x->ip[a], &y->ip[b]))
						continue;
					format_prefix(&x->ip[a], pa, sizeof(pa));
					format_prefix(&y->ip[b], pb, sizeof(pb));
					cfg_dev_error(cfg, f, d, d->ip_line,
						      "ip =: %s of %s and %s of %s overlap; two "
						      "clients cannot own one address",
						      pa, x->client->name, pb, y->client->name);
					return;
				}
		}
}

static void check_device(struct config *cfg, const char *f, struct cfg_device *d)
{
	enum cfg_antispoof mode = d->antispoof;
	char *tok, *save = NULL, buf[CFG_PROPS_MAX], users[256];
	unsigned i;
	int errors;

	if (d->kind != CFG_NET) {
		int line = d->antispoof_line ? d->antispoof_line
			   : d->ip_line	     ? d->ip_line
					     : d->antispoof_exempt_line;

		if (line)
			cfg_dev_error(cfg, f, d, line,
				      "antispoof, ip and antispoof_exempt are for net devices; "
				      "remove them");
		return;
	}
	if (mode == CFG_ANTISPOOF_UNSET)
		mode = d->ip_line ? CFG_ANTISPOOF_IP : CFG_ANTISPOOF_MAC;
	if (d->ip_line && mode != CFG_ANTISPOOF_IP)
		cfg_dev_error(cfg, f, d, d->ip_line,
			      "ip = gives the clients' addresses for antispoof = ip, but antispoof "
			      "= %s here; remove ip = or set antispoof = ip",
			      mode == CFG_ANTISPOOF_OFF ? "off" : "mac");
	if (mode == CFG_ANTISPOOF_IP && !d->ip_line)
		cfg_dev_error(cfg, f, d, d->antispoof_line,
			      "antispoof = ip needs ip = CLIENT=ADDRESS[,ADDRESS...], each client "
			      "of the device with its IPv4 addresses (e.g. ip = a=10.0.2.15 "
			      "b=10.0.2.16)");
	for (i = 0; i < cfg->nr_channels; i++)
		if (cfg->channels[i].dev == d) {
			cfg->channels[i].antispoof = mode;
			cfg->channels[i].nr_ip = 0;
		}
	snprintf(buf, sizeof(buf), "%s", d->antispoof_exempt);
	for (tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		struct cfg_channel *ch = find_channel(cfg, d, tok);

		if (!ch) {
			clients_of(cfg, d, users, sizeof(users));
			cfg_dev_error(
			    cfg, f, d, d->antispoof_exempt_line,
			    "antispoof_exempt: %s does not use device %s (its clients: %s)", tok,
			    d->name, users);
			continue;
		}
		ch->antispoof = CFG_ANTISPOOF_OFF;
	}
	if (mode != CFG_ANTISPOOF_IP || !d->ip_line)
		return;
	snprintf(buf, sizeof(buf), "%s", d->ip);
	save = NULL;
	errors = cfg->nr_errors;
	for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
		ip_entry(cfg, f, d, tok);
	if (cfg->nr_errors != errors)
		return; /* not also what follows from a bad entry (a client "without" addresses) */
	for (i = 0; i < cfg->nr_channels; i++) {
		const struct cfg_channel *ch = &cfg->channels[i];

		if (ch->dev == d && ch->antispoof == CFG_ANTISPOOF_IP && !ch->nr_ip)
			cfg_dev_error(cfg, f, d, d->ip_line,
				      "ip = gives %s, a client of %s, no address: add %s=ADDRESS "
				      "(or list it in antispoof_exempt = to leave it unchecked)",
				      ch->client->name, d->name, ch->client->name);
	}
	check_overlaps(cfg, f, d);
}

void config__check_antispoof(struct config *cfg, const char *f)
{
	unsigned i;

	for (i = 0; i < cfg->nr_devices; i++)
		check_device(cfg, f, &cfg->devices[i]);
}

int cfg_channel_antispoof(const struct cfg_channel *c, char *buf, size_t len)
{
	size_t n;
	unsigned i;

	if (c->antispoof == CFG_ANTISPOOF_OFF)
		n = (size_t)snprintf(buf, len, "off");
	else if (c->antispoof != CFG_ANTISPOOF_IP)
		n = (size_t)snprintf(buf, len, "mac");
	else
		n = (size_t)snprintf(buf, len, "ip:");
	for (i = 0; c->antispoof == CFG_ANTISPOOF_IP && i < c->nr_ip && n < len; i++) {
		char p[INET6_ADDRSTRLEN + 4];

		format_prefix(&c->ip[i], p, sizeof(p));
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? "+" : "", p);
	}
	return n < len ? (int)n : -1;
}
