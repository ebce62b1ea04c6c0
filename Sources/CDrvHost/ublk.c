/*
 * ublk for driverhost's block class (see include/cdh_ublk.h): a minimal
 * io_uring over raw system calls, and the ublk commands on top of it.
 *
 * One ring per device carries every I/O command; ublk itself copies a
 * request's data to and from the buffer each FETCH and COMMIT_AND_FETCH
 * names (see cdh_ublk_commit). The control
 * device has a small ring of its own. Both use 128-byte SQEs: ublk's control
 * command does not fit in a 64-byte one, and one SQE layout keeps the ring
 * code single.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/io_uring.h>

#include "include/cdh_ublk.h"

/* The ioctl-encoded command numbers (UBLK_F_CMD_IOCTL_ENCODE); 6.1's header
 * has only the legacy ones, which a kernel may be built without. */
#ifndef UBLK_U_CMD_ADD_DEV
#define UBLK_U_CMD_GET_DEV_INFO _IOR('u', UBLK_CMD_GET_DEV_INFO, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_ADD_DEV _IOWR('u', UBLK_CMD_ADD_DEV, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_DEL_DEV _IOWR('u', UBLK_CMD_DEL_DEV, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_START_DEV _IOWR('u', UBLK_CMD_START_DEV, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_STOP_DEV _IOWR('u', UBLK_CMD_STOP_DEV, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_SET_PARAMS _IOWR('u', UBLK_CMD_SET_PARAMS, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_GET_PARAMS _IOR('u', UBLK_CMD_GET_PARAMS, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_START_USER_RECOVERY _IOWR('u', UBLK_CMD_START_USER_RECOVERY, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_END_USER_RECOVERY _IOWR('u', UBLK_CMD_END_USER_RECOVERY, struct ublksrv_ctrl_cmd)
#define UBLK_U_IO_FETCH_REQ _IOWR('u', UBLK_IO_FETCH_REQ, struct ublksrv_io_cmd)
#define UBLK_U_IO_COMMIT_AND_FETCH_REQ _IOWR('u', UBLK_IO_COMMIT_AND_FETCH_REQ, struct ublksrv_io_cmd)
#endif
#ifndef UBLK_U_CMD_DEL_DEV_ASYNC
#define UBLK_U_CMD_DEL_DEV_ASYNC _IOR('u', 0x14, struct ublksrv_ctrl_cmd)
#endif

_Static_assert(sizeof(struct io_uring_sqe) == 64, "io_uring SQE layout");
_Static_assert(sizeof(struct ublksrv_ctrl_cmd) == 32, "ublk control command layout");
_Static_assert(sizeof(struct ublksrv_io_cmd) == 16, "ublk I/O command layout");
_Static_assert(sizeof(struct ublksrv_io_desc) == 24, "ublk descriptor layout");
_Static_assert(sizeof(struct ublksrv_ctrl_dev_info) == 64, "ublk device info layout");

#define SQE_SHIFT 7             /* IORING_SETUP_SQE128 */
#define SQE_CMD_OFFSET 48       /* where a uring_cmd's payload starts */

/* ---- the ring --------------------------------------------------------------- */

struct ring {
	int fd;
	unsigned entries;
	unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
	unsigned char *sqes;
	void *map;
	size_t map_len, sqes_len;
	unsigned tail;    /* our SQ tail, published at submit */
	unsigned queued;  /* SQEs filled, not yet submitted */
};

static int ring_init(struct ring *r, unsigned entries)
{
	struct io_uring_params p;
	size_t sq_len, cq_len;
	unsigned char *base;
	int fd;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQE128 | IORING_SETUP_CQSIZE;
	p.cq_entries = entries * 2;
	fd = (int)syscall(__NR_io_uring_setup, entries, &p);
	if (fd < 0)
		return -errno;
	if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
		close(fd);
		return -ENOSYS;
	}
	sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	r->map_len = sq_len > cq_len ? sq_len : cq_len;
	r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	if (r->map == MAP_FAILED) {
		int err = -errno;
		close(fd);
		return err;
	}
	r->sqes_len = (size_t)p.sq_entries << SQE_SHIFT;
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED) {
		int err = -errno;
		munmap(r->map, r->map_len);
		close(fd);
		return err;
	}
	base = r->map;
	r->fd = fd;
	r->entries = p.sq_entries;
	r->sq_head = (unsigned *)(base + p.sq_off.head);
	r->sq_tail = (unsigned *)(base + p.sq_off.tail);
	r->sq_mask = (unsigned *)(base + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(base + p.sq_off.array);
	r->cq_head = (unsigned *)(base + p.cq_off.head);
	r->cq_tail = (unsigned *)(base + p.cq_off.tail);
	r->cq_mask = (unsigned *)(base + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(base + p.cq_off.cqes);
	r->tail = *r->sq_tail;
	return 0;
}

static void ring_exit(struct ring *r)
{
	if (r->fd < 0)
		return;
	munmap(r->sqes, r->sqes_len);
	munmap(r->map, r->map_len);
	close(r->fd);
	r->fd = -1;
}

/* A zeroed SQE, or NULL when the ring is full. */
static struct io_uring_sqe *ring_sqe(struct ring *r)
{
	unsigned head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
	unsigned index;
	struct io_uring_sqe *sqe;

	if (r->tail - head >= r->entries)
		return NULL;
	index = r->tail & *r->sq_mask;
	sqe = (struct io_uring_sqe *)(r->sqes + ((size_t)index << SQE_SHIFT));
	memset(sqe, 0, 1u << SQE_SHIFT);
	r->sq_array[index] = index;
	r->tail++;
	r->queued++;
	return sqe;
}

/* Submit what is queued and wait for `wait` completions. */
static int ring_enter(struct ring *r, unsigned wait)
{
	__atomic_store_n(r->sq_tail, r->tail, __ATOMIC_RELEASE);
	for (;;) {
		unsigned flags = wait ? IORING_ENTER_GETEVENTS : 0;
		int n = (int)syscall(__NR_io_uring_enter, r->fd, r->queued, wait, flags, NULL, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if ((unsigned)n >= r->queued) {
			r->queued = 0;
			return 0;
		}
		if (n == 0)
			return -EBUSY;
		r->queued -= (unsigned)n;
	}
}

static int ring_reap(struct ring *r, struct io_uring_cqe *out)
{
	unsigned head = *r->cq_head;
	unsigned tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);

	if (head == tail)
		return 0;
	*out = r->cqes[head & *r->cq_mask];
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return 1;
}

static void *sqe_cmd(struct io_uring_sqe *sqe)
{
	return (unsigned char *)sqe + SQE_CMD_OFFSET;
}

int cdh_pages_pinnable(const void *addr, size_t len)
{
	char probe[64];
	struct iovec local = { probe, len < sizeof(probe) ? len : sizeof(probe) };
	struct iovec remote = { (void *)addr, local.iov_len };

	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)local.iov_len;
}

/* ---- control ---------------------------------------------------------------- */

#define USER_SYNC 1
#define USER_ASYNC 2

struct cdh_ublk_control {
	int fd;
	struct ring ring;
	int async_pending;
	int async_done;
	int32_t async_result;
};

int cdh_ublk_available(void)
{
	return access("/dev/ublk-control", F_OK) == 0;
}

struct cdh_ublk_control *cdh_ublk_control_open(int *err)
{
	struct cdh_ublk_control *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		*err = -ENOMEM;
		return NULL;
	}
	c->fd = open("/dev/ublk-control", O_RDWR | O_CLOEXEC);
	if (c->fd < 0) {
		*err = -errno;
		free(c);
		return NULL;
	}
	rc = ring_init(&c->ring, 4);
	if (rc < 0) {
		close(c->fd);
		free(c);
		*err = rc;
		return NULL;
	}
	return c;
}

void cdh_ublk_control_close(struct cdh_ublk_control *c)
{
	if (!c)
		return;
	ring_exit(&c->ring);
	close(c->fd);
	free(c);
}

static int control_queue(struct cdh_ublk_control *c, uint32_t op, uint32_t dev_id,
			 void *buf, uint16_t len, uint64_t data0, uint64_t user, uint8_t flags)
{
	struct io_uring_sqe *sqe = ring_sqe(&c->ring);
	struct ublksrv_ctrl_cmd *cmd;

	if (!sqe)
		return -EBUSY;
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = c->fd;
	sqe->cmd_op = op;
	sqe->user_data = user;
	sqe->flags = flags;
	cmd = sqe_cmd(sqe);
	cmd->dev_id = dev_id;
	cmd->queue_id = (uint16_t)-1;
	cmd->addr = (uint64_t)(uintptr_t)buf;
	cmd->len = len;
	cmd->data[0] = data0;
	return 0;
}

/* Reaps whatever finished; an async command's result is kept for later. */
static int control_collect(struct cdh_ublk_control *c, int32_t *sync_result)
{
	struct io_uring_cqe cqe;
	int got_sync = 0;

	while (ring_reap(&c->ring, &cqe)) {
		if (cqe.user_data == USER_SYNC) {
			*sync_result = cqe.res;
			got_sync = 1;
		} else if (cqe.user_data == USER_ASYNC) {
			c->async_pending = 0;
			c->async_done = 1;
			c->async_result = cqe.res;
		}
	}
	return got_sync;
}

static int control_sync(struct cdh_ublk_control *c, uint32_t op, uint32_t dev_id,
			void *buf, uint16_t len, uint64_t data0)
{
	int32_t result = 0;
	int rc = control_queue(c, op, dev_id, buf, len, data0, USER_SYNC, 0);

	if (rc < 0)
		return rc;
	rc = ring_enter(&c->ring, 0);
	if (rc < 0)
		return rc;
	while (!control_collect(c, &result)) {
		rc = ring_enter(&c->ring, 1);
		if (rc < 0)
			return rc;
	}
	return result;
}

static int control_async(struct cdh_ublk_control *c, uint32_t op, uint32_t dev_id, uint64_t data0)
{
	int rc;

	if (c->async_pending)
		return -EBUSY;
	/* IOSQE_ASYNC: run it in an io-wq worker, never inline in
	 * io_uring_enter, which would then wait for I/O we have yet to serve. */
	rc = control_queue(c, op, dev_id, NULL, 0, data0, USER_ASYNC, IOSQE_ASYNC);
	if (rc < 0)
		return rc;
	rc = ring_enter(&c->ring, 0);
	if (rc < 0)
		return rc;
	c->async_pending = 1;
	c->async_done = 0;
	return 0;
}

int cdh_ublk_add(struct cdh_ublk_control *c, struct ublksrv_ctrl_dev_info *info)
{
	return control_sync(c, UBLK_U_CMD_ADD_DEV, info->dev_id, info, sizeof(*info), 0);
}

int cdh_ublk_set_params(struct cdh_ublk_control *c, uint32_t dev_id, struct ublk_params *params)
{
	return control_sync(c, UBLK_U_CMD_SET_PARAMS, dev_id, params, (uint16_t)params->len, 0);
}

int cdh_ublk_get_params(struct cdh_ublk_control *c, uint32_t dev_id, struct ublk_params *params)
{
	return control_sync(c, UBLK_U_CMD_GET_PARAMS, dev_id, params, (uint16_t)params->len, 0);
}

int cdh_ublk_get_info(struct cdh_ublk_control *c, uint32_t dev_id, struct ublksrv_ctrl_dev_info *info)
{
	return control_sync(c, UBLK_U_CMD_GET_DEV_INFO, dev_id, info, sizeof(*info), 0);
}

int cdh_ublk_start_recovery(struct cdh_ublk_control *c, uint32_t dev_id)
{
	return control_sync(c, UBLK_U_CMD_START_USER_RECOVERY, dev_id, NULL, 0, 0);
}

int cdh_ublk_stop(struct cdh_ublk_control *c, uint32_t dev_id)
{
	return control_sync(c, UBLK_U_CMD_STOP_DEV, dev_id, NULL, 0, 0);
}

int cdh_ublk_delete(struct cdh_ublk_control *c, uint32_t dev_id)
{
	int rc = control_sync(c, UBLK_U_CMD_DEL_DEV_ASYNC, dev_id, NULL, 0, 0);

	/* Kernels before 6.9 do not know the async delete. */
	if (rc == -EINVAL || rc == -EOPNOTSUPP)
		rc = control_sync(c, UBLK_U_CMD_DEL_DEV, dev_id, NULL, 0, 0);
	return rc;
}

int cdh_ublk_start_async(struct cdh_ublk_control *c, uint32_t dev_id, int32_t pid)
{
	return control_async(c, UBLK_U_CMD_START_DEV, dev_id, (uint64_t)pid);
}

int cdh_ublk_end_recovery_async(struct cdh_ublk_control *c, uint32_t dev_id, int32_t pid)
{
	return control_async(c, UBLK_U_CMD_END_USER_RECOVERY, dev_id, (uint64_t)pid);
}

int cdh_ublk_control_ring_fd(const struct cdh_ublk_control *c)
{
	return c->ring.fd;
}

int cdh_ublk_control_reap(struct cdh_ublk_control *c, int32_t *result)
{
	int32_t ignored;

	control_collect(c, &ignored);
	if (!c->async_done)
		return 0;
	c->async_done = 0;
	*result = c->async_result;
	return 1;
}

/* ---- the server: /dev/ublkcN ------------------------------------------------ */

struct cdh_ublk_server {
	int cdev;
	uint16_t queues, depth;
	size_t iod_len;
	struct ring ring;
	void *iods[];
};

#define USER_KIND_SHIFT 32

static uint64_t user_data(uint32_t kind, uint16_t queue, uint16_t tag)
{
	return (uint64_t)kind << USER_KIND_SHIFT | (uint32_t)queue << 16 | tag;
}

static size_t page_round(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (n + page - 1) / page * page;
}

struct cdh_ublk_server *cdh_ublk_server_open(uint32_t dev_id, uint16_t queues, uint16_t depth, int *err)
{
	struct cdh_ublk_server *s;
	char path[32];
	unsigned entries = 1;
	int rc;

	s = calloc(1, sizeof(*s) + queues * sizeof(void *));
	if (!s) {
		*err = -ENOMEM;
		return NULL;
	}
	s->queues = queues;
	s->depth = depth;
	s->ring.fd = -1;
	snprintf(path, sizeof(path), "/dev/ublkc%u", dev_id);
	s->cdev = open(path, O_RDWR | O_CLOEXEC);
	if (s->cdev < 0) {
		*err = -errno;
		free(s);
		return NULL;
	}
	s->iod_len = page_round(depth * sizeof(struct ublksrv_io_desc));
	/* At most one operation per tag is outstanding. */
	while (entries < (unsigned)queues * depth)
		entries <<= 1;
	rc = ring_init(&s->ring, entries < 8 ? 8 : entries);
	if (rc < 0) {
		*err = rc;
		cdh_ublk_server_close(s);
		return NULL;
	}
	return s;
}

/*
 * The kernel binds the descriptors to the first mm that maps them and
 * forgets it only at the next START_USER_RECOVERY: mapped before the tags
 * are fetched, a server killed in between would leave a disk that no later
 * server could map (and START_USER_RECOVERY refuses a disk with no fetched
 * queue). Mapped after the fetch, every moment of death is recoverable.
 */
int cdh_ublk_server_map(struct cdh_ublk_server *s)
{
	size_t stride = page_round(UBLK_MAX_QUEUE_DEPTH * sizeof(struct ublksrv_io_desc));
	uint16_t q;

	for (q = 0; q < s->queues; q++) {
		void *iods;

		if (s->iods[q])
			continue;
		/* Each queue's descriptors sit at a fixed stride in the char device. */
		iods = mmap(NULL, s->iod_len, PROT_READ, MAP_SHARED | MAP_POPULATE,
			    s->cdev, (off_t)(UBLKSRV_CMD_BUF_OFFSET + q * stride));
		if (iods == MAP_FAILED)
			return -errno;
		s->iods[q] = iods;
	}
	return 0;
}

void cdh_ublk_server_close(struct cdh_ublk_server *s)
{
	uint16_t q;

	if (!s)
		return;
	ring_exit(&s->ring);
	for (q = 0; q < s->queues; q++)
		if (s->iods[q])
			munmap(s->iods[q], s->iod_len);
	close(s->cdev);
	free(s);
}

int cdh_ublk_server_ring_fd(const struct cdh_ublk_server *s)
{
	return s->ring.fd;
}

const struct ublksrv_io_desc *cdh_ublk_iod(const struct cdh_ublk_server *s, uint16_t queue, uint16_t tag)
{
	return (const struct ublksrv_io_desc *)s->iods[queue] + tag;
}

static int io_command(struct cdh_ublk_server *s, uint32_t op, uint16_t queue, uint16_t tag, int32_t result,
		      void *buffer)
{
	struct io_uring_sqe *sqe = ring_sqe(&s->ring);
	struct ublksrv_io_cmd *cmd;

	if (!sqe)
		return -EBUSY;
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = s->cdev;
	sqe->cmd_op = op;
	sqe->user_data = user_data(CDH_UBLK_REQUEST, queue, tag);
	cmd = sqe_cmd(sqe);
	cmd->q_id = queue;
	cmd->tag = tag;
	cmd->result = result;
	cmd->addr = (uint64_t)(uintptr_t)buffer;
	return 0;
}

int cdh_ublk_fetch(struct cdh_ublk_server *s, uint16_t queue, uint16_t tag, void *buffer)
{
	return io_command(s, UBLK_U_IO_FETCH_REQ, queue, tag, 0, buffer);
}

int cdh_ublk_commit(struct cdh_ublk_server *s, uint16_t queue, uint16_t tag, int32_t result, void *buffer)
{
	return io_command(s, UBLK_U_IO_COMMIT_AND_FETCH_REQ, queue, tag, result, buffer);
}

int cdh_ublk_submit(struct cdh_ublk_server *s)
{
	if (!s->ring.queued)
		return 0;
	return ring_enter(&s->ring, 0);
}

int cdh_ublk_next(struct cdh_ublk_server *s, struct cdh_ublk_completion *out)
{
	struct io_uring_cqe cqe;

	if (!ring_reap(&s->ring, &cqe))
		return 0;
	out->kind = (uint32_t)(cqe.user_data >> USER_KIND_SHIFT);
	out->queue = (uint16_t)(cqe.user_data >> 16);
	out->tag = (uint16_t)cqe.user_data;
	out->result = cqe.res;
	out->reserved = 0;
	return 1;
}
