/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ddvm blk service: sector-granular block I/O on a disk a driver VM owns.
 *
 * Queue pair q uses two rings of the region:
 *   ring 2q     "req": client -> driver VM; producer DDVM_SIDE_FRONTEND; has payload
 *               slots, one per request tag: a request with tag t names the buffer
 *               off == t * slot_size, len <= slot_size. Write data is in it when the
 *               request is published; read data is in it when the response is.
 *   ring 2q+1   "rsp": driver VM -> client; producer DDVM_SIDE_BACKEND; no payload.
 * A client may reuse tag t only after it consumed t's response. The backend completes
 * a request only after the driver VM's device completed it (a write is durable to the
 * extent the device says; DDVM_BLK_OP_FLUSH is passed through as a flush).
 */
#ifndef DDVM_BLK_H
#define DDVM_BLK_H

#include "abi.h"

#define DDVM_BLK_SECTOR_SHIFT 9 /* sectors are always 512 bytes on the wire */

/* Feature bits (hdr.features / driver_features). */
#define DDVM_BLK_F_FLUSH	(1ull << 0) /* device has a volatile cache; flush works */
#define DDVM_BLK_F_FUA		(1ull << 1) /* DDVM_BLK_REQ_FUA honoured */
#define DDVM_BLK_F_DISCARD	(1ull << 2)
#define DDVM_BLK_F_WRITE_ZEROES (1ull << 3)
#define DDVM_BLK_F_RO		(1ull << 4) /* writes fail with DDVM_BLK_S_IOERR */

/* Device description at hdr.device, written by the translation module. */
struct ddvm_blk_config {
	ddvm_le64 capacity;	       /* in 512-byte sectors */
	ddvm_le32 logical_block;       /* bytes, power of two >= 512 */
	ddvm_le32 physical_block;      /* bytes */
	ddvm_le32 max_sectors;	       /* per read/write request (<= slot_size / 512) */
	ddvm_le32 max_discard_sectors; /* per discard/write-zeroes request */
	ddvm_u8 disk_driver[16];       /* the unmodified driver's name, for humans */
	ddvm_u8 disk_name[16];	       /* the driver VM's name of the disk (e.g. nvme0n1) */
	ddvm_u8 reserved[0x100 - 56];
};

enum ddvm_blk_op {
	DDVM_BLK_OP_READ = 0,
	DDVM_BLK_OP_WRITE = 1,
	DDVM_BLK_OP_FLUSH = 2,
	DDVM_BLK_OP_DISCARD = 3,
	DDVM_BLK_OP_WRITE_ZEROES = 4,
};

#define DDVM_BLK_REQ_FUA (1u << 0) /* write through to stable storage */

enum ddvm_blk_status {
	DDVM_BLK_S_OK = 0,
	DDVM_BLK_S_IOERR = 1,  /* the device failed it */
	DDVM_BLK_S_UNSUPP = 2, /* op not supported by this device */
	DDVM_BLK_S_INVAL = 3,  /* malformed: bad op, range, alignment or buffer */
	DDVM_BLK_S_NOSPC = 4,  /* thin provisioning ran out */
};

struct ddvm_blk_req {
	ddvm_le64 id;	  /* client's request id; echoed; low 16 bits are the tag */
	ddvm_le64 sector; /* first 512-byte sector */
	ddvm_le32 off;	  /* buffer offset in the req ring's data area (tag * slot_size) */
	ddvm_le32 len;	  /* bytes; a multiple of 512 (0 for flush) */
	ddvm_le16 op;	  /* enum ddvm_blk_op */
	ddvm_le16 flags;  /* DDVM_BLK_REQ_* */
	ddvm_le32 reserved;
};

struct ddvm_blk_rsp {
	ddvm_le64 id;	  /* the request's id */
	ddvm_le32 status; /* enum ddvm_blk_status */
	ddvm_le32 len;	  /* bytes transferred */
	ddvm_le64 reserved[2];
};

#define DDVM_BLK_TAG(id) ((uint32_t)((id)&0xffffu))

/* Which data path serves reads and writes (ddvm_blk_stats.path). */
enum ddvm_blk_path {
	DDVM_BLK_PATH_NONE = 0,	     /* the disk is not open yet */
	DDVM_BLK_PATH_ZERO_COPY = 1, /* the disk DMAs to and from the payload slots */
	DDVM_BLK_PATH_COPY = 2,	     /* each bio has pages of its own; data is copied */
};

/* The blk translation module's counters: hdr.stats.service (abi.h; display only).
 * Bytes are payload bytes of reads and writes; docs/blk.md, "Counters". */
struct ddvm_blk_stats {
	ddvm_le64 path;		      /* enum ddvm_blk_path */
	ddvm_le64 requests;	      /* requests taken off the request rings (all ops) */
	ddvm_le64 zero_copy_requests; /* reads and writes with bios on the slot pages */
	ddvm_le64 zero_copy_bytes;    /* ... their bytes: the copies avoided */
	ddvm_le64 copy_requests;      /* reads and writes through bounce pages */
	ddvm_le64 copy_bytes;	      /* ... their bytes, each copied once in the driver VM */
	ddvm_le64 read_bytes;	      /* bytes of reads submitted to the disk */
	ddvm_le64 write_bytes;	      /* bytes of writes submitted to the disk */
	ddvm_le64 flushes;	      /* flushes submitted */
	ddvm_le64 discards;	      /* discards and write-zeroes submitted */
	ddvm_le64 errors;	      /* responses other than DDVM_BLK_S_OK */
};

/* struct ddvm_blk_stats' names and units, in order (abi.h, DDVM_CHAN_STATS_FIELDS). */
#define DDVM_BLK_STATS_FIELDS(X)                                                                   \
	X(path, PATH)                                                                              \
	X(requests, COUNT)                                                                         \
	X(zero_copy_requests, COUNT)                                                               \
	X(zero_copy_bytes, BYTES)                                                                  \
	X(copy_requests, COUNT)                                                                    \
	X(copy_bytes, BYTES)                                                                       \
	X(read_bytes, BYTES)                                                                       \
	X(write_bytes, BYTES)                                                                      \
	X(flushes, COUNT)                                                                          \
	X(discards, COUNT)                                                                         \
	X(errors, COUNT)

_Static_assert(sizeof(struct ddvm_blk_config) == 0x100, "blk config size");
_Static_assert(sizeof(struct ddvm_blk_req) == DDVM_DESC_SIZE, "blk req size");
_Static_assert(sizeof(struct ddvm_blk_rsp) == DDVM_DESC_SIZE, "blk rsp size");
DDVM_ASSERT_OFFSET(struct ddvm_blk_config, capacity, 0);
DDVM_ASSERT_OFFSET(struct ddvm_blk_config, logical_block, 8);
DDVM_ASSERT_OFFSET(struct ddvm_blk_config, physical_block, 12);
DDVM_ASSERT_OFFSET(struct ddvm_blk_config, max_sectors, 16);
DDVM_ASSERT_OFFSET(struct ddvm_blk_config, max_discard_sectors, 20);
DDVM_ASSERT_OFFSET(struct ddvm_blk_config, disk_driver, 24);
DDVM_ASSERT_OFFSET(struct ddvm_blk_config, disk_name, 40);
DDVM_ASSERT_OFFSET(struct ddvm_blk_req, id, 0);
DDVM_ASSERT_OFFSET(struct ddvm_blk_req, sector, 8);
DDVM_ASSERT_OFFSET(struct ddvm_blk_req, off, 16);
DDVM_ASSERT_OFFSET(struct ddvm_blk_req, len, 20);
DDVM_ASSERT_OFFSET(struct ddvm_blk_req, op, 24);
DDVM_ASSERT_OFFSET(struct ddvm_blk_req, flags, 26);
DDVM_ASSERT_OFFSET(struct ddvm_blk_rsp, id, 0);
DDVM_ASSERT_OFFSET(struct ddvm_blk_rsp, status, 8);
DDVM_ASSERT_OFFSET(struct ddvm_blk_rsp, len, 12);
_Static_assert(sizeof(struct ddvm_blk_stats) == 11 * 8, "blk counters size");
_Static_assert(DDVM_STATS_SERVICE_SIZE >= sizeof(struct ddvm_blk_stats), "blk counters fit");
DDVM_ASSERT_OFFSET(struct ddvm_blk_stats, path, 0x00);
DDVM_ASSERT_OFFSET(struct ddvm_blk_stats, requests, 0x08);
DDVM_ASSERT_OFFSET(struct ddvm_blk_stats, zero_copy_requests, 0x10);
DDVM_ASSERT_OFFSET(struct ddvm_blk_stats, zero_copy_bytes, 0x18);
DDVM_ASSERT_OFFSET(struct ddvm_blk_stats, copy_requests, 0x20);
DDVM_ASSERT_OFFSET(struct ddvm_blk_stats, copy_bytes, 0x28);
DDVM_ASSERT_OFFSET(struct ddvm_blk_stats, read_bytes, 0x30);
DDVM_ASSERT_OFFSET(struct ddvm_blk_stats, write_bytes, 0x38);
DDVM_ASSERT_OFFSET(struct ddvm_blk_stats, flushes, 0x40);
DDVM_ASSERT_OFFSET(struct ddvm_blk_stats, discards, 0x48);
DDVM_ASSERT_OFFSET(struct ddvm_blk_stats, errors, 0x50);
#define DDVM_BLK_STAT_INDEX_(name, unit) DDVM_BLK_STAT_##name,
enum { DDVM_BLK_STATS_FIELDS(DDVM_BLK_STAT_INDEX_) DDVM_BLK_STATS_N };
#define DDVM_BLK_STAT_ORDER_(name, unit)                                                           \
	DDVM_ASSERT_OFFSET(struct ddvm_blk_stats, name, 8 * DDVM_BLK_STAT_##name);
DDVM_BLK_STATS_FIELDS(DDVM_BLK_STAT_ORDER_)
_Static_assert(sizeof(struct ddvm_blk_stats) == 8 * DDVM_BLK_STATS_N, "blk counters listed");

#endif /* DDVM_BLK_H */
