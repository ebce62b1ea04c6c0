/* SPDX-License-Identifier: MIT */
/*
 * ramblock.so: a block device ("drvhost.block/1") without disk hardware, for
 * the block class's tests. It claims a QEMU edu device (for its interrupt
 * and its release program) and keeps the disk's contents in a file, so that
 * they survive a driverhost crash as a real disk's would.
 *
 * Environment (read at attach):
 *   DRVHOST_RAMBLOCK_FILE  the backing file (default /tmp/ramblock.img);
 *                          made DRVHOST_RAMBLOCK_MB MiB (default 64) if
 *                          missing; its size is the disk's capacity
 *   DRVHOST_RAMBLOCK_MODE  irq (default): submit does the transfer, then
 *                          raises an edu interrupt, and interrupt() completes
 *                          every finished request; inline: submit completes
 *                          the request itself
 *
 * Commands:
 *   hold u32(u32)          1: interrupt() leaves finished requests in flight
 *                          (irq mode), so that a crash finds I/O there;
 *                          0: complete them now and from then on
 *   crash u32(u32)         crash (SIGSEGV) in the plugin, now
 *   crash_after u32(u32)   crash (SIGSEGV) in the n-th submit from now,
 *                          with requests still in flight (irq mode); 0 disarms
 *   in_flight u32(u32)     requests submitted and not completed yet
 *   submitted u64(u32)     requests submitted since attach
 */
#define _GNU_SOURCE
#include "edu_programs.h"
#include <drvhost/block.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK_SIZE 512
#define QUEUE_DEPTH 32
#define MAX_TRANSFER (128u << 10)
#define MAX_DISCARD_BLOCKS 4096
#define RAISE_BIT 0x1000u   /* the edu interrupt bit this plugin raises */

struct finished {
	uint32_t queue, tag;
	int32_t status;
};

struct ramblock {
	const struct dh_host *host;
	dh_instance *inst;
	const struct dh_block_host *block_host;
	struct dh_block_device device;
	int fd;
	int complete_inline;
	/* Requests done on the file, waiting for the interrupt to complete. */
	struct finished done[DH_BLOCK_MAX_QUEUES * DH_BLOCK_MAX_DEPTH];
	uint32_t ndone;
	uint32_t crash_countdown;
	int hold;
	uint64_t submitted;
	uint32_t in_flight;
};

static void say(struct ramblock *rb, int32_t level, const char *msg)
{
	rb->host->log(rb->inst, level, msg);
}

static int32_t transfer(struct ramblock *rb, const struct dh_block_request *rq)
{
	off_t offset = (off_t)(rq->block * BLOCK_SIZE);
	size_t length = (size_t)rq->blocks * BLOCK_SIZE;
	ssize_t n;

	switch (rq->op) {
	case DH_BLOCK_READ:
		n = pread(rb->fd, rq->buffer, length, offset);
		return n == (ssize_t)length ? DH_OK : DH_ERR_IO;
	case DH_BLOCK_WRITE:
		n = pwrite(rb->fd, rq->buffer, length, offset);
		if (n != (ssize_t)length)
			return errno == ENOSPC ? DH_ERR_NO_MEMORY : DH_ERR_IO;
		if ((rq->flags & DH_BLOCK_REQ_FUA) && fdatasync(rb->fd) != 0)
			return DH_ERR_IO;
		return DH_OK;
	case DH_BLOCK_FLUSH:
		return fdatasync(rb->fd) == 0 ? DH_OK : DH_ERR_IO;
	case DH_BLOCK_DISCARD:
		return fallocate(rb->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, (off_t)length) == 0
			? DH_OK : DH_ERR_IO;
	default:
		return DH_ERR_NOT_SUPPORTED;
	}
}

static int32_t rb_submit(void *context, const struct dh_block_request *rq)
{
	struct ramblock *rb = context;
	int32_t status;

	if (rb->crash_countdown && --rb->crash_countdown == 0) {
		say(rb, DH_LOG_WARNING, "crash_after: crashing in submit");
		raise(SIGSEGV);
	}
	rb->submitted++;
	status = transfer(rb, rq);
	if (rb->complete_inline) {
		int32_t rc = rb->block_host->complete(rb->inst, rq->queue, rq->tag, status);
		return rc == DH_OK ? DH_OK : DH_ERR_STATE;
	}
	if (rb->ndone == sizeof(rb->done) / sizeof(rb->done[0]))
		return DH_ERR_STATE; /* cannot happen: at most queue_count * depth in flight */
	rb->done[rb->ndone++] = (struct finished){ rq->queue, rq->tag, status };
	rb->in_flight++;
	/* The completion comes from a real interrupt: the edu device's. */
	rb->host->write32(rb->inst, 0, EDU_REG_IRQ_RAISE, RAISE_BIT);
	return DH_OK;
}

/* The host's half, fetched at the first submit: it is offered from the
 * first callback after the plugin's half was accepted. */
static int32_t rb_submit_first(void *context, const struct dh_block_request *rq)
{
	struct ramblock *rb = context;

	if (!rb->block_host) {
		rb->block_host = rb->host->get_extension(rb->inst, DH_BLOCK_EXTENSION);
		if (!rb->block_host)
			return DH_ERR_STATE;
	}
	return rb_submit(context, rq);
}

static void rb_interrupt(void *context, const struct dh_event *event)
{
	struct ramblock *rb = context;
	uint32_t i;

	(void)event;
	if (rb->hold)
		return;
	for (i = 0; i < rb->ndone; i++) {
		if (rb->block_host->complete(rb->inst, rb->done[i].queue, rb->done[i].tag, rb->done[i].status) != DH_OK)
			say(rb, DH_LOG_ERROR, "complete refused a request in flight");
	}
	rb->in_flight -= rb->ndone;
	rb->ndone = 0;
}

static int open_backing(struct ramblock *rb)
{
	const char *path = getenv("DRVHOST_RAMBLOCK_FILE");
	const char *mb = getenv("DRVHOST_RAMBLOCK_MB");
	struct stat st;

	if (!path || !*path)
		path = "/tmp/ramblock.img";
	rb->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (rb->fd < 0 || fstat(rb->fd, &st) != 0)
		return -1;
	if (st.st_size == 0) {
		st.st_size = (off_t)(mb && *mb ? strtoul(mb, NULL, 10) : 64) << 20;
		if (ftruncate(rb->fd, st.st_size) != 0)
			return -1;
	}
	rb->device.capacity = (uint64_t)st.st_size / BLOCK_SIZE;
	return rb->device.capacity ? 0 : -1;
}

static int32_t rb_attach(const struct dh_host *host, dh_instance *inst, void **context)
{
	struct ramblock *rb = calloc(1, sizeof(*rb));
	const char *mode = getenv("DRVHOST_RAMBLOCK_MODE");

	if (!rb)
		return DH_ERR_NO_MEMORY;
	rb->host = host;
	rb->inst = inst;
	rb->complete_inline = mode && strcmp(mode, "inline") == 0;
	if (open_backing(rb) != 0) {
		say(rb, DH_LOG_ERROR, "cannot open or size the backing file");
		if (rb->fd >= 0)
			close(rb->fd);
		free(rb);
		return DH_ERR_IO;
	}
	rb->device.struct_size = sizeof(rb->device);
	rb->device.flags = DH_BLOCK_F_FLUSH | DH_BLOCK_F_DISCARD;
	rb->device.logical_block_size = BLOCK_SIZE;
	rb->device.queue_count = 1;
	rb->device.queue_depth = QUEUE_DEPTH;
	rb->device.max_transfer = MAX_TRANSFER;
	rb->device.max_discard_blocks = MAX_DISCARD_BLOCKS;
	rb->device.submit = rb_submit_first;
	*context = rb;
	return DH_OK;
}

static void rb_detach(void *context)
{
	struct ramblock *rb = context;

	close(rb->fd);
	free(rb);
}

static const void *rb_get_extension(void *context, const char *id)
{
	struct ramblock *rb = context;

	if (strcmp(id, DH_BLOCK_EXTENSION) != 0)
		return NULL;
	return &rb->device;
}

static uint32_t hold(void *context, uint32_t on)
{
	struct ramblock *rb = context;

	rb->hold = on != 0;
	if (!rb->hold)
		rb_interrupt(rb, NULL);
	return on;
}

static uint32_t crash(void *context, uint32_t unused)
{
	(void)unused;
	say(context, DH_LOG_WARNING, "crash: crashing in a command");
	raise(SIGSEGV);
	return 0;
}

static uint32_t crash_after(void *context, uint32_t n)
{
	struct ramblock *rb = context;

	rb->crash_countdown = n;
	return n;
}

static uint32_t in_flight(void *context, uint32_t unused)
{
	(void)unused;
	return ((struct ramblock *)context)->in_flight;
}

static uint64_t submitted(void *context, uint32_t unused)
{
	(void)unused;
	return ((struct ramblock *)context)->submitted;
}

static const struct dh_command commands[] = {
	{ "hold", "u32(u32)", (dh_command_fn)hold, "1: keep finished requests in flight; 0: complete them" },
	{ "crash", "u32(u32)", (dh_command_fn)crash, "crash (SIGSEGV) now" },
	{ "crash_after", "u32(u32)", (dh_command_fn)crash_after, "crash in the n-th submit from now (0: never)" },
	{ "in_flight", "u32(u32)", (dh_command_fn)in_flight, "requests submitted, not completed" },
	{ "submitted", "u64(u32)", (dh_command_fn)submitted, "requests submitted since attach" },
};

const struct dh_plugin dh_plugin_entry = {
	.abi_major = DH_ABI_MAJOR,
	.abi_minor = DH_ABI_MINOR,
	.struct_size = sizeof(struct dh_plugin),
	.name = "ramblock",
	.version = "1.0",
	EDU_DESCRIPTOR_FIELDS,
	.attach = rb_attach,
	.detach = rb_detach,
	.interrupt = rb_interrupt,
	.commands = commands,
	.command_count = COUNT_OF(commands),
	.get_extension = rb_get_extension,
};
