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
 * NETSTAT_ENTRY). Each read takes a fresh snapshot; counters are best effort (a read
 * may miss an update in flight), never torn.
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

/* The files of the channel counters every module has (struct ddvm_chan_stats, at
 * PATH in TYPE: "c." for a member c, nothing for the struct itself). */
#define DDVM_CHAN_STAT_ENTRIES(prefix, type, path)                                                 \
	DDVM_STAT_ENTRY(prefix, type, path interrupts, interrupts);                                \
	DDVM_STAT_ENTRY(prefix, type, path polls, polls);                                          \
	DDVM_STAT_ENTRY(prefix, type, path doorbells_out, doorbells_out);                          \
	DDVM_STAT_ENTRY(prefix, type, path doorbells_suppressed, doorbells_suppressed);            \
	DDVM_STAT_ENTRY(prefix, type, path doorbells_throttled, doorbells_throttled);              \
	DDVM_STAT_ENTRY(prefix, type, path sessions, sessions)

/* The counters of ddvm_chan_stats that the transport keeps: doorbells each way and the
 * doorbell guard's throttling. The service adds polls, suppressed doorbells, sessions. */
static inline void ddvm_stats_transport(struct ddvm_ivshmem *t, struct ddvm_chan_stats *c)
{
	c->interrupts = atomic64_read(&t->doorbells_in);
	c->doorbells_out = atomic64_read(&t->doorbells_out);
	c->doorbells_throttled = READ_ONCE(t->doorbells_throttled);
}

#endif /* DDVM_STATS_H */
