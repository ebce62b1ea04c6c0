/* SPDX-License-Identifier: MIT */
/*
 * Queue pairs: memory, submission (tail doorbell), completion (phase bit,
 * head doorbell), and admin commands that are polled, so that setup needs
 * no interrupt and works the same in every interrupt mode.
 */
#define _POSIX_C_SOURCE 200809L
#include "nvme.h"

#include <string.h>
#include <time.h>

static uint64_t page_round(uint64_t n)
{
	return (n + NVME_PAGE - 1) & ~(uint64_t)(NVME_PAGE - 1);
}

/*
 * One DMA buffer per queue pair: SQ, CQ, then (I/O queues) a PRP list
 * slot per command id. Each ring starts on a page, as the controller wants
 * with 4 KiB pages; the buffer is contiguous on the bus, so a ring of more
 * than a page is physically contiguous (Create SQ/CQ say so).
 */
int32_t nvme_queue_alloc(struct nvme *nv, struct nvme_queue *q, uint16_t qid,
			 uint32_t entries, int with_prp_lists)
{
	uint64_t sq_bytes = page_round((uint64_t)entries * sizeof(struct nvme_sqe));
	uint64_t cq_bytes = page_round((uint64_t)entries * sizeof(struct nvme_cqe));
	uint64_t prp_bytes = with_prp_lists ? page_round((uint64_t)(NVME_IO_DEPTH + 1) * NVME_PRP_LIST_BYTES) : 0;
	int32_t err;

	memset(q, 0, sizeof(*q));
	err = nv->host->dma_alloc(nv->inst, sq_bytes + cq_bytes + prp_bytes, &q->mem);
	if (err) {
		nvme_log(nv, DH_LOG_ERROR, "queue %u: cannot allocate %llu bytes of DMA memory (%d)", qid,
			 (unsigned long long)(sq_bytes + cq_bytes + prp_bytes), err);
		return err;
	}
	memset(q->mem.cpu, 0, sq_bytes + cq_bytes + prp_bytes);
	q->qid = qid;
	q->entries = entries;
	q->sq = q->mem.cpu;
	q->cq = (struct nvme_cqe *)((uint8_t *)q->mem.cpu + sq_bytes);
	q->sq_bus = q->mem.bus_addr;
	q->cq_bus = q->mem.bus_addr + sq_bytes;
	if (with_prp_lists) {
		q->prp = (uint64_t *)((uint8_t *)q->mem.cpu + sq_bytes + cq_bytes);
		q->prp_bus = q->mem.bus_addr + sq_bytes + cq_bytes;
	}
	q->cq_phase = 1;	/* a fresh ring is zeros: phase 0 means "not written yet" */
	return DH_OK;
}

void nvme_queue_free(struct nvme *nv, struct nvme_queue *q)
{
	if (q->mem.handle)
		nv->host->dma_free(nv->inst, q->mem.handle);
	memset(q, 0, sizeof(*q));
}

static uint32_t doorbell(struct nvme *nv, uint16_t qid, int completion)
{
	return NVME_REG_DOORBELLS + (2u * qid + (completion ? 1u : 0u)) * nv->doorbell_stride;
}

/* Copy the entry into the ring; the controller hears of it at the next
 * nvme_sq_ring. The caller keeps in_flight below entries - 1, so the ring
 * never overflows. */
void nvme_sq_put(struct nvme_queue *q, const struct nvme_sqe *sqe)
{
	q->sq[q->sq_tail] = *sqe;
	q->sq_tail = (q->sq_tail + 1) % q->entries;
	q->in_flight++;
}

/* Tell the controller of every entry put since the last time: one tail
 * doorbell write for all of them, none if there is nothing new. */
void nvme_sq_ring(struct nvme *nv, struct nvme_queue *q)
{
	if (q->sq_tail == q->sq_rung)
		return;
	/* The entries must be in memory before the controller hears of them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	nvme_wr32(nv, doorbell(nv, q->qid, 0), q->sq_tail);
	q->sq_rung = q->sq_tail;
}

void nvme_sq_push(struct nvme *nv, struct nvme_queue *q, const struct nvme_sqe *sqe)
{
	nvme_sq_put(q, sqe);
	nvme_sq_ring(nv, q);
}

/*
 * Hand every new completion to fn, then tell the controller how far we
 * read (one head doorbell for the batch). New entries are those whose
 * phase bit matches the expected phase, which flips at each wrap.
 */
uint32_t nvme_cq_drain(struct nvme *nv, struct nvme_queue *q, nvme_cqe_fn fn)
{
	uint32_t n = 0;

	for (;;) {
		volatile struct nvme_cqe *slot = &q->cq[q->cq_head];
		struct nvme_cqe cqe;

		if (NVME_CQE_PHASE(slot->status) != q->cq_phase)
			break;
		/* Read the entry only after seeing its phase bit. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		cqe = *(const struct nvme_cqe *)slot;
		if (++q->cq_head == q->entries) {
			q->cq_head = 0;
			q->cq_phase ^= 1;
		}
		if (q->in_flight)
			q->in_flight--;
		fn(nv, q, &cqe);
		n++;
	}
	if (n)
		nvme_wr32(nv, doorbell(nv, q->qid, 1), q->cq_head);
	return n;
}

static void admin_done(struct nvme *nv, struct nvme_queue *q, const struct nvme_cqe *cqe)
{
	(void)q;
	if (cqe->cid != 0) {
		nvme_log(nv, DH_LOG_WARNING, "admin completion for unknown command id %u", cqe->cid);
		return;
	}
	nv->admin_result.done = 1;
	nv->admin_result.status = NVME_CQE_STATUS(cqe->status);
	nv->admin_result.result = cqe->result;
}

/*
 * Run one admin command and poll its completion, at most
 * NVME_ADMIN_TIMEOUT_NS. One at a time, command id 0. The admin CQ also
 * raises vector 0; those events find nothing new to drain later.
 */
int32_t nvme_admin(struct nvme *nv, struct nvme_sqe *sqe, uint32_t *result)
{
	uint64_t deadline = nvme_now_ns() + NVME_ADMIN_TIMEOUT_NS;
	struct timespec pause = { 0, 20000 };

	sqe->cid = 0;
	nv->admin_result.done = 0;
	nvme_sq_push(nv, &nv->admin, sqe);
	while (!nv->admin_result.done) {
		if (nvme_cq_drain(nv, &nv->admin, admin_done))
			continue;
		if (nvme_now_ns() >= deadline) {
			nvme_log(nv, DH_LOG_ERROR, "admin command 0x%02x: no completion after %llu ms (CSTS 0x%08x)",
				 sqe->opcode, (unsigned long long)(NVME_ADMIN_TIMEOUT_NS / 1000000),
				 nvme_rd32(nv, NVME_REG_CSTS));
			return DH_ERR_TIMEOUT;
		}
		nanosleep(&pause, NULL);
	}
	if (nv->admin_result.status) {
		nvme_log(nv, DH_LOG_ERROR, "admin command 0x%02x failed: status 0x%04x", sqe->opcode,
			 nv->admin_result.status);
		return DH_ERR_DEVICE;
	}
	if (result)
		*result = nv->admin_result.result;
	return DH_OK;
}
