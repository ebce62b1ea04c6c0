/* SPDX-License-Identifier: MIT */
/*
 * Setup over the admin queue, once the controller is enabled and may master
 * the bus: Identify controller and namespace 1, refuse what this plugin
 * cannot drive (with the reason), ask for I/O queues, create them, and
 * describe the disk for the block class.
 */
#include "nvme.h"

#include <string.h>
#include <unistd.h>

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64_at(const uint8_t *p)
{
	return le32_at(p) | (uint64_t)le32_at(p + 4) << 32;
}

/* An Identify string: ASCII, padded with spaces. */
static void copy_id_string(char *to, const uint8_t *from, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		to[i] = from[i] >= 0x20 && from[i] < 0x7f ? (char)from[i] : '?';
	while (len > 0 && to[len - 1] == ' ')
		len--;
	to[len] = 0;
}

static int32_t identify(struct nvme *nv, uint32_t cns, uint32_t nsid)
{
	struct nvme_sqe sqe = { .opcode = NVME_ADMIN_IDENTIFY, .nsid = nsid, .cdw10 = cns };

	memset(nv->identify.cpu, 0, NVME_IDENTIFY_SIZE);
	sqe.prp1 = nv->identify.bus_addr;
	return nvme_admin(nv, &sqe, NULL);
}

static int32_t identify_controller(struct nvme *nv)
{
	const uint8_t *id = nv->identify.cpu;
	uint8_t sqes, cqes, mdts;
	uint64_t limit;
	int32_t err = identify(nv, NVME_CNS_CONTROLLER, 0);

	if (err)
		return err;
	copy_id_string(nv->serial, id + NVME_ID_CTRL_SN, 20);
	copy_id_string(nv->model, id + NVME_ID_CTRL_MN, 40);
	sqes = id[NVME_ID_CTRL_SQES];
	cqes = id[NVME_ID_CTRL_CQES];
	if ((sqes & 0xf) > 6 || (sqes >> 4) < 6 || (cqes & 0xf) > 4 || (cqes >> 4) < 4) {
		nvme_log(nv, DH_LOG_ERROR, "refused: queue entry sizes SQES 0x%02x CQES 0x%02x do not allow 64/16 bytes",
			 sqes, cqes);
		return DH_ERR_NOT_SUPPORTED;
	}
	if (le32_at(id + NVME_ID_CTRL_NN) < NVME_NSID) {
		nvme_log(nv, DH_LOG_ERROR, "refused: the controller has no namespace 1 (NN = %u)",
			 le32_at(id + NVME_ID_CTRL_NN));
		return DH_ERR_NOT_SUPPORTED;
	}
	/* MDTS is in units of the minimum page size, which is 4 KiB here. */
	mdts = id[NVME_ID_CTRL_MDTS];
	limit = mdts && mdts < 20 ? (uint64_t)NVME_PAGE << mdts : NVME_MAX_TRANSFER;
	nv->max_transfer = limit < NVME_MAX_TRANSFER ? (uint32_t)limit : NVME_MAX_TRANSFER;
	nv->volatile_cache = id[NVME_ID_CTRL_VWC] & 1;
	return DH_OK;
}

static int32_t identify_namespace(struct nvme *nv)
{
	const uint8_t *id = nv->identify.cpu;
	uint32_t format, lbaf, metadata, lbads;
	int32_t err = identify(nv, NVME_CNS_NAMESPACE, NVME_NSID);

	if (err)
		return err;
	nv->capacity = le64_at(id + NVME_ID_NS_NSZE);
	if (nv->capacity == 0) {
		/* An inactive namespace identifies as all zeros. */
		nvme_log(nv, DH_LOG_ERROR, "refused: namespace 1 is not active (size 0)");
		return DH_ERR_NOT_SUPPORTED;
	}
	format = id[NVME_ID_NS_FLBAS] & 0xf;
	if (format > id[NVME_ID_NS_NLBAF]) {
		nvme_log(nv, DH_LOG_ERROR, "refused: namespace 1 uses LBA format %u of %u", format,
			 id[NVME_ID_NS_NLBAF] + 1u);
		return DH_ERR_DEVICE;
	}
	lbaf = le32_at(id + NVME_ID_NS_LBAF + 4 * format);
	metadata = lbaf & 0xffff;
	lbads = (lbaf >> 16) & 0xff;
	if (metadata) {
		nvme_log(nv, DH_LOG_ERROR,
			 "refused: namespace 1 has %u bytes of metadata per block (LBA format %u): this plugin "
			 "drives only formats without metadata", metadata, format);
		return DH_ERR_NOT_SUPPORTED;
	}
	if (id[NVME_ID_NS_DPS] & 7) {
		nvme_log(nv, DH_LOG_ERROR,
			 "refused: namespace 1 has end-to-end protection information type %u: not supported",
			 id[NVME_ID_NS_DPS] & 7u);
		return DH_ERR_NOT_SUPPORTED;
	}
	if (lbads < 9 || lbads > 12) {
		nvme_log(nv, DH_LOG_ERROR,
			 "refused: namespace 1 has logical blocks of 2^%u bytes: only 512 to 4096 are supported",
			 lbads);
		return DH_ERR_NOT_SUPPORTED;
	}
	nv->lba_size = 1u << lbads;
	return DH_OK;
}

/*
 * At most one I/O queue pair per CPU: ublk serves no more queues than the
 * system has CPUs, and a pair nobody submits to costs each restart its
 * creation (two admin commands, its memory, its interrupt vector).
 */
uint32_t nvme_queue_limit(void)
{
#ifdef NVME_TEST_ALL_QUEUES
	return DH_BLOCK_MAX_QUEUES;
#endif
	long cpus = sysconf(_SC_NPROCESSORS_CONF);

	return cpus > 0 && (unsigned long)cpus < DH_BLOCK_MAX_QUEUES ? (uint32_t)cpus : DH_BLOCK_MAX_QUEUES;
}

/* One I/O queue pair per vector, within the limit above. */
static uint32_t queues_wanted(const struct nvme *nv)
{
	uint32_t limit = nvme_queue_limit();

	return nv->vectors < limit ? nv->vectors : limit;
}

/* Set Features, Number of Queues: the controller grants what it can. */
static int32_t negotiate_queues(struct nvme *nv)
{
	uint32_t wanted = queues_wanted(nv);
	struct nvme_sqe sqe = {
		.opcode = NVME_ADMIN_SET_FEATURES,
		.cdw10 = NVME_FEAT_NUM_QUEUES,
		.cdw11 = (wanted - 1) << 16 | (wanted - 1),
	};
	uint32_t granted, sq, cq;
	int32_t err = nvme_admin(nv, &sqe, &granted);

	if (err)
		return err;
	sq = (granted & 0xffff) + 1;
	cq = (granted >> 16) + 1;
	nv->io_queues = wanted;
	if (sq < nv->io_queues)
		nv->io_queues = sq;
	if (cq < nv->io_queues)
		nv->io_queues = cq;
	return DH_OK;
}

static int32_t create_queue_pair(struct nvme *nv, struct nvme_queue *q)
{
	struct nvme_sqe cq = {
		.opcode = NVME_ADMIN_CREATE_CQ,
		.prp1 = q->cq_bus,
		.cdw10 = (q->entries - 1) << 16 | q->qid,
		.cdw11 = (uint32_t)q->vector << 16 | NVME_CQ_IRQ_ENABLED | NVME_QUEUE_PHYS_CONTIG,
	};
	struct nvme_sqe sq = {
		.opcode = NVME_ADMIN_CREATE_SQ,
		.prp1 = q->sq_bus,
		.cdw10 = (q->entries - 1) << 16 | q->qid,
		.cdw11 = (uint32_t)q->qid << 16 | NVME_QUEUE_PHYS_CONTIG,
	};
	int32_t err = nvme_admin(nv, &cq, NULL);

	return err ? err : nvme_admin(nv, &sq, NULL);
}

int32_t nvme_setup(struct nvme *nv)
{
	uint32_t entries = NVME_CAP_MQES(nv->cap) + 1u;
	uint32_t i;
	int32_t err;

	err = identify_controller(nv);
	if (!err)
		err = identify_namespace(nv);
	if (!err)
		err = negotiate_queues(nv);
	if (err)
		return err;
	if (entries > NVME_IO_ENTRIES)
		entries = NVME_IO_ENTRIES;
	nv->io_depth = entries - 2;
	for (i = 0; i < nv->io_queues; i++) {
		struct nvme_queue *q = &nv->io[i];

		err = nvme_queue_alloc(nv, q, (uint16_t)(i + 1), entries, 1);
		if (err)
			return err;
		/* One vector per queue with MSI-X (the admin queue shares 0);
		 * with one vector, every queue is on it. */
		q->vector = (uint16_t)(nv->vectors > 1 ? i : 0);
		err = create_queue_pair(nv, q);
		if (err)
			return err;
	}
	nv->block = (struct dh_block_device){
		.struct_size = sizeof(struct dh_block_device),
		.flags = nv->volatile_cache ? DH_BLOCK_F_FLUSH : 0,
		.capacity = nv->capacity,
		.logical_block_size = nv->lba_size,
		.queue_count = nv->io_queues,
		.queue_depth = nv->io_depth,
		.max_transfer = nv->max_transfer,
		.submit = nvme_submit,
		.submitted = nvme_submitted,
	};
	nvme_log(nv, DH_LOG_INFO, "%s (serial %s): %llu blocks of %u bytes, %u queue(s) of %u, "
		 "max transfer %u KiB%s", nv->model, nv->serial, (unsigned long long)nv->capacity,
		 nv->lba_size, nv->io_queues, nv->io_depth, nv->max_transfer / 1024,
		 nv->volatile_cache ? ", volatile write cache" : "");
	return DH_OK;
}
