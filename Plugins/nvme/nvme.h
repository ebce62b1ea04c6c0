/* SPDX-License-Identifier: MIT */
/*
 * The NVMe plugin's state and the functions its files share.
 *
 * Files: nvme_ctrl.c (controller registers: reset, enable, shutdown, every
 * wait bounded), nvme_queue.c (rings, doorbells, phase bits, polled admin
 * commands), nvme_setup.c (Identify, validation, I/O queue creation),
 * nvme_io.c (block requests, PRPs, completions, interrupts), nvme_commands.c
 * (identify and selftest for people and tests), nvme_plugin.c (descriptor,
 * attach, detach, register programs).
 */
#ifndef NVME_H
#define NVME_H

#include <drvhost/block.h>
#include <drvhost/plugin.h>

#include "nvme_regs.h"

#define NVME_ADMIN_ENTRIES	32
#define NVME_IO_ENTRIES		128
/*
 * The block host gets entries - 2 tags per queue: a ring of N entries holds
 * N - 1 commands, and one command id above the host's tags (io_depth) is
 * the plugin's own (selftest) on every queue. Fewer entries if CAP.MQES
 * says so.
 */
#define NVME_IO_DEPTH		(NVME_IO_ENTRIES - 2)
#define NVME_PAGE		4096u
/* One PRP list per tag: a transfer of max_transfer bytes needs at most
 * max_transfer / 4096 - 1 entries after PRP1; 2 KiB holds 256 of them and,
 * 2 KiB aligned, never crosses a page (no list chaining). */
#define NVME_PRP_LIST_BYTES	2048u
#define NVME_MAX_TRANSFER	DH_BLOCK_MAX_TRANSFER
#define NVME_NSID		1u
/* Bounds of the plugin's own waits (a controller's CAP.TO can be larger). */
#define NVME_ADMIN_TIMEOUT_NS	5000000000ull
#define NVME_SHUTDOWN_TIMEOUT_NS 2000000000ull
#define NVME_READY_TIMEOUT_MAX_NS 25000000000ull	/* CAP.TO allows up to 127.5 s */

/* One submission/completion queue pair and its memory (one DMA buffer). */
struct nvme_queue {
	uint16_t qid;		/* 0: admin */
	uint16_t vector;	/* interrupt vector of its CQ */
	uint32_t entries;
	struct dh_dma_buffer mem;
	struct nvme_sqe *sq;
	struct nvme_cqe *cq;
	uint64_t sq_bus, cq_bus, prp_bus;
	uint64_t *prp;		/* CPU view of the PRP list slots (I/O queues) */
	uint32_t sq_tail;
	uint32_t sq_rung;	/* the tail the doorbell was last written with */
	uint32_t cq_head;
	uint8_t cq_phase;	/* the phase bit of entries not yet seen */
	uint32_t in_flight;
	/* The host's requests in flight by tag (I/O queues); NULL: free. */
	const struct dh_block_request *requests[NVME_IO_DEPTH];
};

/* What a polled admin command or the plugin's own I/O came back with. */
struct nvme_own_result {
	int done;
	int stuck;	/* timed out: the command id stays taken */
	uint16_t status;
	uint32_t result;
};

struct nvme {
	const struct dh_host *host;
	dh_instance *inst;
	volatile uint8_t *bar;	/* mapped BAR0, or NULL: the host's read/write functions */
	uint64_t cap;
	uint32_t doorbell_stride;
	uint64_t ready_timeout_ns;	/* CAP.TO */
	uint32_t irq_mode;		/* enum dh_irq_mode in force */
	uint32_t vectors;

	struct nvme_queue admin;
	struct nvme_own_result admin_result;	/* of the one admin command in flight */
	struct dh_dma_buffer identify;	/* one page for Identify data */
	struct nvme_queue io[DH_BLOCK_MAX_QUEUES];
	uint32_t io_queues;
	uint32_t io_depth;		/* the host's tags per queue; io_depth is our own */

	/* What Identify said. */
	char model[41];
	char serial[21];
	uint64_t capacity;		/* logical blocks */
	uint32_t lba_size;
	uint32_t max_transfer;
	int volatile_cache;

	struct dh_block_device block;
	const struct dh_block_host *block_host;	/* looked up at first use */
	/* The host calls submitted() after each batch (DH_BLOCK_HOST_F_SUBMITTED):
	 * submit only puts commands on the rings, submitted() rings the doorbells. */
	int batched;
	struct nvme_own_result own[DH_BLOCK_MAX_QUEUES];	/* command id io_depth, per queue */
	uint64_t completions;
	uint64_t errors;
	uint64_t vector_events[DH_BLOCK_MAX_QUEUES];	/* interrupts seen per vector */
};

void nvme_log(struct nvme *nv, int32_t level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t nvme_now_ns(void);

/* nvme_ctrl.c */
uint32_t nvme_rd32(struct nvme *nv, uint32_t reg);
uint64_t nvme_rd64(struct nvme *nv, uint32_t reg);
void nvme_wr32(struct nvme *nv, uint32_t reg, uint32_t value);
void nvme_wr64(struct nvme *nv, uint32_t reg, uint64_t value);
int32_t nvme_ctrl_disable(struct nvme *nv);
int32_t nvme_ctrl_enable(struct nvme *nv);
void nvme_ctrl_shutdown(struct nvme *nv);

/* nvme_queue.c */
int32_t nvme_queue_alloc(struct nvme *nv, struct nvme_queue *q, uint16_t qid,
			 uint32_t entries, int with_prp_lists);
void nvme_queue_free(struct nvme *nv, struct nvme_queue *q);
void nvme_sq_put(struct nvme_queue *q, const struct nvme_sqe *sqe);
void nvme_sq_ring(struct nvme *nv, struct nvme_queue *q);
void nvme_sq_push(struct nvme *nv, struct nvme_queue *q, const struct nvme_sqe *sqe);
typedef void (*nvme_cqe_fn)(struct nvme *nv, struct nvme_queue *q, const struct nvme_cqe *cqe);
uint32_t nvme_cq_drain(struct nvme *nv, struct nvme_queue *q, nvme_cqe_fn fn);
int32_t nvme_admin(struct nvme *nv, struct nvme_sqe *sqe, uint32_t *result);

/* nvme_setup.c */
int32_t nvme_setup(struct nvme *nv);
/* I/O queue pairs worth having: DH_BLOCK_MAX_QUEUES, at most one per CPU. */
uint32_t nvme_queue_limit(void);

/* nvme_io.c */
int32_t nvme_submit(void *context, const struct dh_block_request *req);
void nvme_submitted(void *context);
int32_t nvme_start(struct nvme *nv, const struct dh_block_request *req, uint16_t cid, int ring);
void nvme_interrupt(void *context, const struct dh_event *event);

/* nvme_commands.c */
#define NVME_COMMAND_COUNT 6
extern const struct dh_command nvme_commands[NVME_COMMAND_COUNT];

#endif /* NVME_H */
