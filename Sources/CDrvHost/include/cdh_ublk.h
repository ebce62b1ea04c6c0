/*
 * ublk (Linux's user-space block device driver, ublk_drv) for driverhost's
 * block class: a small io_uring (raw system calls, no liburing) and the ublk
 * control and I/O commands over it. Every function answers 0 (or a count)
 * or a negative errno; nothing here blocks except the *_sync control calls.
 *
 * The ublk uapi comes from <linux/ublk_cmd.h>; what the 6.1 header on build
 * machines lacks (the guest runs 6.12) is defined here with the kernel's
 * values.
 */
#ifndef CDH_UBLK_H
#define CDH_UBLK_H

#include <stddef.h>
#include <stdint.h>
#include <linux/ublk_cmd.h>

#ifndef UBLK_F_CMD_IOCTL_ENCODE
#define UBLK_F_CMD_IOCTL_ENCODE (1UL << 6)
#endif
/* Not used (ublk copies at FETCH and COMMIT), but a disk made with it by an
 * older driverhost cannot be served this way (BlockGeometry.mismatch). */
#ifndef UBLK_F_USER_COPY
#define UBLK_F_USER_COPY (1UL << 7)
#endif

/* What ublk_drv reports in dev_info.state. */
#define CDH_UBLK_STATE_DEAD 0
#define CDH_UBLK_STATE_LIVE 1
#define CDH_UBLK_STATE_QUIESCED 2

/* ublk_drv is loaded: /dev/ublk-control exists. */
int cdh_ublk_available(void);

/*
 * 1 if the kernel can pin the pages at [addr, addr + len) (get_user_pages),
 * 0 if not: a VM_PFNMAP mapping, such as dma_mmap_coherent's without an
 * IOMMU. ublk pins the server's buffer for every copy (also for
 * UBLK_F_USER_COPY's read/write on /dev/ublkcN). Probed with
 * process_vm_readv on ourselves, which pins its "remote" range.
 */
int cdh_pages_pinnable(const void *addr, size_t len);

/* ---- control: /dev/ublk-control and a small ring of its own ---- */
struct cdh_ublk_control;

/* NULL and *err = -errno (-ENOENT: no ublk_drv). */
struct cdh_ublk_control *cdh_ublk_control_open(int *err);
void cdh_ublk_control_close(struct cdh_ublk_control *c);

/* Synchronous commands (the kernel runs them in an io-wq worker; these wait). */
int cdh_ublk_add(struct cdh_ublk_control *c, struct ublksrv_ctrl_dev_info *info);
int cdh_ublk_set_params(struct cdh_ublk_control *c, uint32_t dev_id, struct ublk_params *params);
int cdh_ublk_get_params(struct cdh_ublk_control *c, uint32_t dev_id, struct ublk_params *params);
int cdh_ublk_get_info(struct cdh_ublk_control *c, uint32_t dev_id, struct ublksrv_ctrl_dev_info *info);
int cdh_ublk_start_recovery(struct cdh_ublk_control *c, uint32_t dev_id);
int cdh_ublk_stop(struct cdh_ublk_control *c, uint32_t dev_id);
/* DEL_DEV_ASYNC (does not wait for the disk's last opener), DEL_DEV on older kernels. */
int cdh_ublk_delete(struct cdh_ublk_control *c, uint32_t dev_id);

/*
 * START_DEV and END_USER_RECOVERY wait inside the kernel for I/O that the
 * caller itself must serve (the partition scan, requeued requests): they are
 * only queued here; cdh_ublk_control_reap answers their result later. The
 * ring's fd is readable then.
 */
int cdh_ublk_start_async(struct cdh_ublk_control *c, uint32_t dev_id, int32_t pid);
int cdh_ublk_end_recovery_async(struct cdh_ublk_control *c, uint32_t dev_id, int32_t pid);
int cdh_ublk_control_ring_fd(const struct cdh_ublk_control *c);
/* 1 and *result: the queued command finished; 0: not yet. */
int cdh_ublk_control_reap(struct cdh_ublk_control *c, int32_t *result);

/* ---- the server side of one device: /dev/ublkcN, descriptors, one ring ---- */
struct cdh_ublk_server;

/* What a completion was: a FETCH or COMMIT_AND_FETCH returned. */
enum cdh_ublk_kind {
	CDH_UBLK_REQUEST = 1
};

struct cdh_ublk_completion {
	uint32_t kind;   /* enum cdh_ublk_kind */
	uint16_t queue;
	uint16_t tag;
	int32_t result;  /* UBLK_IO_RES_OK: a request; UBLK_IO_RES_ABORT: the disk is stopping */
	uint32_t reserved;
};

/* Opens /dev/ublkcN (-EBUSY while a dead server's ring still holds it) and
 * makes the ring; the descriptors are mapped later, once the tags are
 * fetched (cdh_ublk_server_map). */
struct cdh_ublk_server *cdh_ublk_server_open(uint32_t dev_id, uint16_t queues, uint16_t depth, int *err);
/* Maps every queue's request descriptors (after the FETCHes: see ublk.c). */
int cdh_ublk_server_map(struct cdh_ublk_server *s);
/* Closes the ring and /dev/ublkcN: the kernel takes back the tags (requeued
 * for a later server under user recovery). */
void cdh_ublk_server_close(struct cdh_ublk_server *s);
int cdh_ublk_server_ring_fd(const struct cdh_ublk_server *s);
/* The kernel's descriptor of request (queue, tag): read-only, valid while
 * open, once mapped. */
const struct ublksrv_io_desc *cdh_ublk_iod(const struct cdh_ublk_server *s, uint16_t queue, uint16_t tag);

/*
 * Queue (not yet submit) one operation on the ring; at most one per tag is
 * outstanding, so the ring never fills. `buffer` is the tag's I/O buffer
 * (max_io_buf_bytes), which ublk copies the block layer's data into before
 * it answers a FETCH with a WRITE, and a READ's data out of while it takes
 * the COMMIT: no read/write system call per request. Both copies run in
 * this process's own system calls (the COMMIT's io_uring_enter, the
 * request's task work), never in an io-wq worker: a server killed mid-way
 * has its requests requeued, not failed (see the history of
 * cdh_ublk_server_map for why that matters under user recovery). The
 * kernel pins the buffer's pages for the copy (so it must not be VM_PFNMAP:
 * cdh_pages_pinnable).
 */
int cdh_ublk_fetch(struct cdh_ublk_server *s, uint16_t queue, uint16_t tag, void *buffer);
int cdh_ublk_commit(struct cdh_ublk_server *s, uint16_t queue, uint16_t tag, int32_t result, void *buffer);
/* Submit everything queued: one system call for the batch. */
int cdh_ublk_submit(struct cdh_ublk_server *s);
/* 1 and *out: one completion; 0: none left. */
int cdh_ublk_next(struct cdh_ublk_server *s, struct cdh_ublk_completion *out);

#endif
