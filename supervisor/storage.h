/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host storage faults of driver VMs' disks (storage.c): a disk image on a full or
 * failing host file system. QEMU runs every -drive with werror/rerror = report (the
 * supervisor's default, vm.c): the failed request fails in the guest and the driver VM
 * runs on. QEMU tells us through QMP's BLOCK_IO_ERROR, one event per failed request;
 * we log it rate-limited, naming the VM, the device, the image, the operation and the
 * errno, and keep the last error per device for `ddvm status`.
 *
 * Capacity: the size of each raw image is looked at every second; when the user grew
 * or shrank it (`truncate -s`) while the driver VM runs, QEMU is told with QMP
 * block_resize, and the emulated controller tells the driver VM's Linux.
 */
#ifndef DDVM_STORAGE_H
#define DDVM_STORAGE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct supervisor;
struct vm;
struct cfg_device;

/* One blk device: its host I/O errors since `ddvm up`. */
struct storage_dev {
	unsigned long long errors;	 /* failed requests QEMU reported */
	unsigned long long logged;	 /* of them, counted in log lines so far */
	uint64_t spell_ms;		 /* first error of the current run of errors; 0 = none */
	uint64_t last_ms;		 /* last error; 0 = never */
	uint64_t log_ms;		 /* last log line about this device */
	unsigned long long spell_errors; /* errors in the current (or last) run */
	char op[8];			 /* read | write */
	char reason[96];		 /* QEMU's reason (strerror text) */
	char action[8];			 /* report | stop | ignore */
	int err;			 /* errno of the last error; 0 = unknown */
	int nospc;			 /* DDVM_CTL_HOST_NOSPC set on its channels */
	/* nvme: QEMU's failed-request counters (query-blockstats) of this incarnation */
	unsigned long long failed[4]; /* read, write, flush, discard */
	/* capacity (raw images): the image's size as this incarnation of QEMU knows it */
	long long size;		     /* bytes; -1: unknown (told at the first look) */
	long long resizing;	     /* block_resize sent for this size, no answer yet; -1: none */
	long long snap_size;	     /* size when the driver VM's snapshot was taken (restore) */
	unsigned long long dev, ino; /* the file this incarnation of QEMU opened */
	int replaced;		     /* the image path names another file now (logged once) */
};

/* One driver VM. */
struct storage_vm {
	int paused;	  /* QEMU paused it at an I/O error (werror/rerror = stop|enospc) */
	uint64_t cont_ms; /* last `cont` sent to resume it */
	/* nvme reports host I/O errors only on QEMU's stderr ("aio failed: REASON"):
	 * NAME.qemu.log is read from here on, and query-blockstats says which drive */
	int nvme; /* it has an nvme drive */
	long long log_off;
	uint64_t log_ms; /* last look at NAME.qemu.log */
	/* QEMU counts a failed request before it prints its line, so a query may count
	 * requests whose lines come later: both are totals of this incarnation */
	unsigned long long aio_lines;	/* "aio failed" lines read */
	unsigned long long aio_counted; /* failed requests the counters showed */
	char aio_reason[96];		/* the last line's reason */
	int stats_pending;		/* query-blockstats sent, no reply yet */
	uint64_t size_ms;		/* last look at the sizes of its raw images */
};

/* QMP event (EVENT set) or command reply (EVENT NULL, DATA the reply) of VM. */
void storage__qmp(struct vm *vm, const char *event, json_t *data, uint64_t now);
/* Rate-limited summaries, the end of a run of errors, resuming paused VMs, image sizes.
 * Returns ms until it wants to run again. */
int storage__tick(struct supervisor *sup, uint64_t now);
/* A new incarnation of VM starts: whatever paused the old one is gone. */
void storage__vm_started(struct vm *vm);
/* VM's snapshot was taken: a restored guest knows its images at today's sizes. */
void storage__snapshot_taken(struct vm *vm);
/* `ddvm status`: one line about device D's host I/O errors into BUF; 0 = nothing to say. */
size_t storage__describe(struct supervisor *sup, const struct cfg_device *d, char *buf, size_t len,
			 uint64_t now);
/* "ENOSPC" for ENOSPC; "errno N" for one without a name. */
const char *storage__errno_name(int err, char *buf, size_t len);

#endif /* DDVM_STORAGE_H */
