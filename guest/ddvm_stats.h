/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A channel's counters in sysfs, one value per file, the way /sys/class/net/X/statistics
 * has them: an attribute group "ddvm_stats" on the channel's PCI device (the ivshmem
 * device), in every ddvm kernel module (docs/blk.md and docs/net.md name each file).
 *
 * A module defines a snapshot type, a function that fills one,
 *
 *     static void PREFIX_stats_snapshot(struct device *dev, TYPE *s);
 *
 * and one DDVM_STAT_ENTRY(PREFIX, TYPE, FIELD, NAME) per file, then lists the
 * dev_attr_NAME attributes in a group named DDVM_STATS_GROUP (as net-sysfs.c does with
 * NETSTAT_ENTRY); both from the counters' name lists where the wire has them. Each read takes a
 * fresh snapshot; counters are best effort (a read may miss an update in flight), never torn.
 *
 * The translation modules also publish their snapshot to the host in hdr.stats
 * (abi.h, ddvm_region_stats_publish): same names, same values, about once a heartbeat.
 */
#ifndef DDVM_STATS_H
#define DDVM_STATS_H

#include <linux/device.h>
#include <linux/sysfs.h>
#include "ddvm_ivshmem.h"

#define DDVM_STATS_GROUP "ddvm_stats"

#define DDVM_STAT_ENTRY(prefix, type, field, name)                                                 \
	static ssize_t name##_show(struct device *dev, struct device_attribute *attr, char *buf)   \
	{                                                                                          \
		type s;                                                                            \
                                                                                                   \
		prefix##_stats_snapshot(dev, &s);                                                  \
		return sysfs_emit(buf, "%llu\n", (unsigned long long)s.field);                     \
	}                                                                                          \
	static DEVICE_ATTR_RO(name)

/* In an attribute list: one &dev_attr_NAME.attr per counter of a DDVM_*_STATS_FIELDS
 * list (abi.h, blk.h, net.h), e.g. DDVM_CHAN_STATS_FIELDS(DDVM_STAT_ATTR). The files
 * themselves: a module-local X(name, unit) that expands to DDVM_STAT_ENTRY(...); for
 * the same list, so that a counter's name is written once, in the wire header. */
#define DDVM_STAT_ATTR(name, unit) &dev_attr_##name.attr,

/* The counters of ddvm_chan_stats that the transport keeps: doorbells each way and the
 * doorbell guard's throttling. The service adds polls, suppressed doorbells, sessions. */
static inline void ddvm_stats_transport(struct ddvm_ivshmem *t, struct ddvm_chan_stats *c)
{
	c->interrupts = atomic64_read(&t->doorbells_in);
	c->doorbells_out = atomic64_read(&t->doorbells_out);
	c->doorbells_throttled = READ_ONCE(t->doorbells_throttled);
}

#endif /* DDVM_STATS_H */
