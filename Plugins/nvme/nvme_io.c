/* SPDX-License-Identifier: MIT */
/*
 * Block requests on the I/O queues: a request becomes one NVMe command whose
 * command id is the request's tag (so a completion names its request), with
 * PRPs over the request's buffer. Completions are drained from interrupt()
 * and handed to the block host.
 *
 * PRPs: the buffer is contiguous on the bus and 4 KiB aligned, so its pages
 * are bus_addr + k * 4096. One page: PRP1 only; two: PRP2 is the second
 * page; more: PRP2 points at the command id's PRP list slot, which lists
 * pages 1..n-1 (at most 255 for 1 MiB, inside one 2 KiB slot).
 *
 * Doorbells: a host that calls submitted() after each batch of submits
 * (DH_BLOCK_HOST_F_SUBMITTED) gets one tail doorbell write per queue for the
 * batch; the completion side writes the head doorbell once per drain.
 */
#include "nvme.h"

#include <string.h>

static const struct dh_block_host *block_host(struct nvme *nv)
{
	const struct dh_block_host *bh;

	if (!nv->block_host && DH_HOST_HAS(nv->host, get_extension)) {
		bh = nv->host->get_extension(nv->inst, DH_BLOCK_EXTENSION);
		nv->batched = bh && DH_BLOCK_HOST_HAS(bh, flags) && (bh->flags & DH_BLOCK_HOST_F_SUBMITTED);
		nv->block_host = bh;
	}
	return nv->block_host;
}

static void set_prps(struct nvme_queue *q, struct nvme_sqe *sqe, uint64_t bus, uint32_t bytes, uint16_t cid)
{
	uint32_t pages = (bytes + NVME_PAGE - 1) / NVME_PAGE, k;
	uint64_t *list;

	sqe->prp1 = bus;
	if (pages == 2) {
		sqe->prp2 = bus + NVME_PAGE;
	} else if (pages > 2) {
		list = q->prp + (size_t)cid * (NVME_PRP_LIST_BYTES / sizeof(uint64_t));
		for (k = 1; k < pages; k++)
			list[k - 1] = bus + (uint64_t)k * NVME_PAGE;
		sqe->prp2 = q->prp_bus + (uint64_t)cid * NVME_PRP_LIST_BYTES;
	}
}

/* Checks a request against the disk; DH_OK or DH_ERR_INVALID/NOT_SUPPORTED. */
static int32_t check_request(struct nvme *nv, const struct dh_block_request *req)
{
	uint64_t bytes;

	if (req->queue >= nv->io_queues)
		return DH_ERR_INVALID;
	switch (req->op) {
	case DH_BLOCK_FLUSH:
		return DH_OK;
	case DH_BLOCK_READ:
	case DH_BLOCK_WRITE:
		break;
	default:
		return DH_ERR_NOT_SUPPORTED;
	}
	bytes = (uint64_t)req->blocks * nv->lba_size;
	if (req->blocks == 0 || req->block >= nv->capacity || req->blocks > nv->capacity - req->block ||
	    bytes > nv->max_transfer || req->bus_addr == 0 || req->bus_addr % NVME_PAGE != 0)
		return DH_ERR_INVALID;
	return DH_OK;
}

/* Put a checked request on its queue as command id cid; ring: tell the
 * controller now (else at the next nvme_sq_ring). */
int32_t nvme_start(struct nvme *nv, const struct dh_block_request *req, uint16_t cid, int ring)
{
	struct nvme_queue *q = &nv->io[req->queue];
	struct nvme_sqe sqe;

	if (q->in_flight >= q->entries - 1)
		return DH_ERR_STATE;	/* more than queue_depth in flight: a host bug */
	memset(&sqe, 0, sizeof(sqe));
	sqe.cid = cid;
	sqe.nsid = NVME_NSID;
	if (req->op == DH_BLOCK_FLUSH) {
		sqe.opcode = NVME_CMD_FLUSH;
	} else {
		sqe.opcode = req->op == DH_BLOCK_WRITE ? NVME_CMD_WRITE : NVME_CMD_READ;
		sqe.cdw10 = (uint32_t)req->block;
		sqe.cdw11 = (uint32_t)(req->block >> 32);
		sqe.cdw12 = (req->blocks - 1) & 0xffff;
		if (req->op == DH_BLOCK_WRITE && (req->flags & DH_BLOCK_REQ_FUA))
			sqe.cdw12 |= NVME_RW_FUA;
		set_prps(q, &sqe, req->bus_addr, req->blocks * nv->lba_size, cid);
	}
	nvme_sq_put(q, &sqe);
	if (ring)
		nvme_sq_ring(nv, q);
	return DH_OK;
}

/* dh_block_device.submit: the host's request, command id = tag. */
int32_t nvme_submit(void *context, const struct dh_block_request *req)
{
	struct nvme *nv = context;
	struct nvme_queue *q;
	int32_t err;

	if (!req)
		return DH_ERR_INVALID;
	err = check_request(nv, req);
	if (err)
		return err;
	q = &nv->io[req->queue];
	if (req->tag >= nv->io_depth || q->requests[req->tag])
		return DH_ERR_INVALID;
	/* A host that calls submitted() after the batch gets one doorbell
	 * write per queue for it: under virtualization each is a trap. */
	block_host(nv);
	err = nvme_start(nv, req, (uint16_t)req->tag, !nv->batched);
	if (!err)
		q->requests[req->tag] = req;
	return err;
}

/* dh_block_device.submitted: the batch is over, ring what it put. */
void nvme_submitted(void *context)
{
	struct nvme *nv = context;
	uint32_t i;

	for (i = 0; i < nv->io_queues; i++)
		nvme_sq_ring(nv, &nv->io[i]);
}

static void io_done(struct nvme *nv, struct nvme_queue *q, const struct nvme_cqe *cqe)
{
	uint32_t queue = q->qid - 1u;
	uint16_t status = NVME_CQE_STATUS(cqe->status);
	const struct dh_block_host *bh;
	const struct dh_block_request *req;

	nv->completions++;
	if (status) {
		nv->errors++;
		nvme_log(nv, DH_LOG_WARNING, "queue %u command %u: status 0x%04x", queue, cqe->cid, status);
	}
	if (cqe->cid == nv->io_depth) {
		nv->own[queue].done = 1;
		nv->own[queue].status = status;
		return;
	}
	req = cqe->cid < nv->io_depth ? q->requests[cqe->cid] : NULL;
	if (!req) {
		nvme_log(nv, DH_LOG_WARNING, "queue %u: completion for command %u, which is not in flight",
			 queue, cqe->cid);
		return;
	}
	q->requests[cqe->cid] = NULL;
	bh = block_host(nv);
	if (bh)
		bh->complete(nv->inst, queue, cqe->cid, status ? DH_ERR_IO : DH_OK);
}

/*
 * One interrupt: with MSI-X the vector names the queues to drain; with one
 * vector (MSI, INTx) every queue is on it. In shared-INTx mode the ACK
 * program masked vector 0 (INTMS) in the top half, which lowered the line:
 * unmask it after draining. If completions came meanwhile, the controller
 * raises the line again at once, so none is left waiting.
 */
void nvme_interrupt(void *context, const struct dh_event *event)
{
	struct nvme *nv = context;
	uint32_t i;

	if (event->vector < DH_BLOCK_MAX_QUEUES)
		nv->vector_events[event->vector]++;
	for (i = 0; i < nv->io_queues; i++)
		if (nv->irq_mode != DH_IRQ_MSIX || nv->io[i].vector == event->vector)
			nvme_cq_drain(nv, &nv->io[i], io_done);
	if (nv->irq_mode == DH_IRQ_INTX_SHARED)
		nvme_wr32(nv, NVME_REG_INTMC, 1);
	/* INTx-disable: the kernel masked the function; a storm: the line. */
	if (nv->irq_mode == DH_IRQ_INTX_DISABLE || (event->flags & DH_EVENT_STORM))
		nv->host->unmask(nv->inst);
}
