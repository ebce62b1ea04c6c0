/* SPDX-License-Identifier: MIT */
/*
 * drvhost device class "drvhost.block/1" (plugin ABI 1.2): the plugin's
 * device becomes a Linux block device (/dev/ublkbN) that programs partition,
 * format and mount without knowing drvhost.
 *
 * The two halves:
 *  - the plugin's, struct dh_block_device, returned by
 *    dh_plugin.get_extension(context, DH_BLOCK_EXTENSION) after attach,
 *    with bus mastering on (see plugin.h): the disk's geometry and the
 *    submit callback;
 *  - the host's, struct dh_block_host, returned by
 *    dh_host.get_extension(inst, DH_BLOCK_EXTENSION) once the plugin's half
 *    was accepted: the completion function.
 *
 * I/O: the host submits requests on the loop thread, at most queue_depth in
 * flight per queue; the plugin starts each on the device and completes it
 * later, usually from interrupt(), possibly from inside submit. The data
 * buffer of a READ or WRITE is host-owned DMA memory, contiguous on the bus,
 * 4096-byte aligned, and is where the block layer's data is and goes: the
 * device transfers straight to and from it (no copy in user space).
 *
 * Crash: the block device outlives the driverhost. Requests in flight when
 * a plugin crashes are not lost: after the kernel's release program has
 * quieted the device, the next driverhost of the instance attaches, and the
 * host submits them again (the plugin sees them as new requests). A plugin
 * must therefore answer with the same geometry after every attach; if it
 * does not, or the instance cannot be restarted, the block device is ended
 * and its I/O fails with errors (never a hang).
 */
#ifndef DRVHOST_BLOCK_H
#define DRVHOST_BLOCK_H

#include <drvhost/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DH_BLOCK_EXTENSION "drvhost.block/1"

#define DH_BLOCK_MAX_QUEUES    16    /* queue_count: 1..16 */
#define DH_BLOCK_MAX_DEPTH     256   /* queue_depth: 1..256 */
#define DH_BLOCK_MAX_TRANSFER  (1u << 20) /* max_transfer: 4096..1 MiB */

/* dh_block_device.flags */
#define DH_BLOCK_F_FLUSH      (1u << 0) /* volatile write cache: send FLUSH */
#define DH_BLOCK_F_DISCARD    (1u << 1) /* accepts DISCARD */
#define DH_BLOCK_F_READ_ONLY  (1u << 2) /* no WRITE, DISCARD */

enum dh_block_op {
	DH_BLOCK_READ = 0,     /* device -> buffer */
	DH_BLOCK_WRITE = 1,    /* buffer -> device */
	DH_BLOCK_FLUSH = 2,    /* make completed writes durable; no block range */
	DH_BLOCK_DISCARD = 3   /* the range's contents may be dropped; no buffer */
};

/* dh_block_request.flags */
#define DH_BLOCK_REQ_FUA (1u << 0) /* WRITE: durable before completion */

/*
 * One request. Valid, unchanged, from submit until the plugin completes it.
 * (queue, tag) names it: tag is unique among the queue's requests in flight.
 */
struct dh_block_request {
	uint32_t queue;        /* 0..queue_count-1 */
	uint32_t tag;          /* 0..queue_depth-1 */
	uint32_t op;           /* enum dh_block_op */
	uint32_t flags;        /* DH_BLOCK_REQ_* */
	uint64_t block;        /* first logical block */
	uint32_t blocks;       /* logical blocks, >= 1; 0 for FLUSH */
	uint32_t reserved;     /* 0 */
	void    *buffer;       /* READ, WRITE: blocks * logical_block_size bytes; else NULL */
	uint64_t bus_addr;     /* the buffer's bus address; else 0 */
};

/* The plugin's half. */
struct dh_block_device {
	uint32_t struct_size;        /* sizeof(struct dh_block_device) */
	uint32_t flags;              /* DH_BLOCK_F_* */
	uint64_t capacity;           /* logical blocks, >= 1 */
	uint32_t logical_block_size; /* 512, 1024, 2048 or 4096 */
	uint32_t queue_count;        /* 1..DH_BLOCK_MAX_QUEUES */
	uint32_t queue_depth;        /* 1..DH_BLOCK_MAX_DEPTH, per queue */
	uint32_t max_transfer;       /* bytes per READ/WRITE, a multiple of 4096 */
	uint32_t max_discard_blocks; /* DISCARD: blocks per request; else 0 */
	uint32_t reserved;           /* 0 */

	/*
	 * Start one request. DH_OK: the plugin owns it until it calls
	 * dh_block_host.complete. Any error: the request fails now with it, and
	 * the plugin must not complete it. Loop thread, under the callback
	 * watchdog; never blocks waiting for the device.
	 */
	int32_t (*submit)(void *context, const struct dh_block_request *request);

	/* ---- appended: read only when struct_size reaches them ---- */

	/*
	 * Optional (NULL: never called). The host has made a batch of submit
	 * calls (those one wake-up of its loop brought) and makes no more
	 * before this call: a plugin may let the device know of the whole
	 * batch at once (one doorbell write) here instead of in each submit.
	 * Called only by a host that says so in dh_block_host.flags
	 * (DH_BLOCK_HOST_F_SUBMITTED): on an older host a plugin must start
	 * each request in submit. Loop thread, under the callback watchdog.
	 */
	void (*submitted)(void *context);
};

/* The host's half. */
struct dh_block_host {
	uint32_t struct_size;
	uint32_t reserved;

	/*
	 * Finish request (queue, tag) with DH_OK or an error (the program sees
	 * EIO, or ENOSPC/EOPNOTSUPP for DH_ERR_NO_MEMORY/DH_ERR_NOT_SUPPORTED).
	 * Loop thread: from interrupt(), timer(), a command or submit itself.
	 * DH_ERR_NOT_FOUND: no such request in flight (completed already, or
	 * never submitted): nothing happens.
	 */
	int32_t (*complete)(dh_instance *inst, uint32_t queue, uint32_t tag, int32_t status);

	/* ---- appended: present when struct_size reaches them ---- */
	uint32_t flags;        /* DH_BLOCK_HOST_F_* */
	uint32_t reserved2;    /* 0 */
};

/* dh_block_host.flags */
#define DH_BLOCK_HOST_F_SUBMITTED (1u << 0) /* calls dh_block_device.submitted */

/* Whether the host's half has an appended field (test before reading it). */
#define DH_BLOCK_HOST_HAS(bh, field) \
	((bh)->struct_size >= offsetof(struct dh_block_host, field) + sizeof((bh)->field))

/* The sizes of the first revision's halves: a host reads no more of an
 * older plugin's half, and accepts no less. */
#define DH_BLOCK_DEVICE_SIZE_1 48
#define DH_BLOCK_HOST_SIZE_1 16

DH_PIN_SIZE(struct dh_block_request, 48);
DH_PIN_SIZE(struct dh_block_device, 56);
DH_PIN_SIZE(struct dh_block_host, 24);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DRVHOST_BLOCK_H */
