/* SPDX-License-Identifier: MIT */
/*
 * Commands for people and tests (hostctl call, driverhost --call):
 * identify, the disk's figures, and a selftest that writes and reads back
 * blocks on every I/O queue through the same submit path and interrupts
 * as block requests, without a block device, restoring what was there.
 */
#include "nvme.h"

#include <string.h>

#define SELFTEST_WAIT_NS	2000000000ull
#define SELFTEST_AREA		65536u	/* largest transfer tried; also the save area */

/* Capacity in bytes; logs everything Identify said and what was set up. */
static uint64_t cmd_identify(void *context)
{
	struct nvme *nv = context;
	static const char *const modes[] = { "none", "INTx shared", "INTx disable", "MSI", "MSI-X" };

	nvme_log(nv, DH_LOG_INFO,
		 "identify: model \"%s\" serial \"%s\" capacity %llu blocks of %u bytes (%llu bytes) "
		 "queues %u depth %u max_transfer %u vwc %d irq %s vectors %u",
		 nv->model, nv->serial, (unsigned long long)nv->capacity, nv->lba_size,
		 (unsigned long long)(nv->capacity * nv->lba_size), nv->io_queues, nv->io_depth,
		 nv->max_transfer, nv->volatile_cache,
		 nv->irq_mode < 5 ? modes[nv->irq_mode] : "?", nv->vectors);
	return nv->capacity * nv->lba_size;
}

static uint32_t cmd_lba_size(void *context)
{
	return ((struct nvme *)context)->lba_size;
}

static uint32_t cmd_queues(void *context)
{
	return ((struct nvme *)context)->io_queues;
}

/* How many distinct vectors have delivered an interrupt since attach. */
static uint32_t cmd_vectors_used(void *context)
{
	struct nvme *nv = context;
	uint32_t i, n = 0;

	for (i = 0; i < DH_BLOCK_MAX_QUEUES; i++)
		n += nv->vector_events[i] != 0;
	return n;
}

/* CSTS as read now (tests compare it with what a reader sees after release). */
static uint32_t cmd_csts(void *context)
{
	return nvme_rd32(context, NVME_REG_CSTS);
}

/*
 * One request with the plugin's own command id on `queue`, completed by
 * interrupt() like any other: wait_events delivers the interrupts.
 */
static int32_t own_io(struct nvme *nv, uint32_t queue, uint32_t op, uint64_t block,
		      uint32_t bytes, const struct dh_dma_buffer *buf, uint64_t offset)
{
	struct nvme_own_result *own = &nv->own[queue];
	struct dh_block_request req = {
		.queue = queue,
		.tag = nv->io_depth,
		.op = op,
		.block = block,
		.blocks = bytes / nv->lba_size,
		.buffer = bytes ? (uint8_t *)buf->cpu + offset : NULL,
		.bus_addr = bytes ? buf->bus_addr + offset : 0,
	};
	uint64_t deadline = nvme_now_ns() + SELFTEST_WAIT_NS;
	int32_t err;

	if (own->stuck)
		return DH_ERR_STATE;
	own->done = 0;
	err = nvme_start(nv, &req, (uint16_t)nv->io_depth, 1);
	if (err)
		return err;
	while (!own->done) {
		uint64_t now = nvme_now_ns();

		err = now < deadline ? nv->host->wait_events(nv->inst, deadline - now) : DH_ERR_TIMEOUT;
		if (err == DH_ERR_TIMEOUT) {
			own->stuck = 1;
			nvme_log(nv, DH_LOG_ERROR, "selftest: queue %u: no completion interrupt within %llu ms "
				 "(CSTS 0x%08x)", queue, (unsigned long long)(SELFTEST_WAIT_NS / 1000000),
				 nvme_rd32(nv, NVME_REG_CSTS));
			return err;
		}
		if (err)
			return err;
	}
	return own->status ? DH_ERR_IO : DH_OK;
}

static void fill(uint8_t *p, uint32_t n, uint32_t seed)
{
	uint32_t x = seed | 1, i;

	for (i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;	/* xorshift32 */
		p[i] = (uint8_t)x;
	}
}

/* Write a pattern, read it back, put the old contents back: one queue,
 * one size. Returns wrong bytes (>= 0) or a DH_ERR_*. */
static int32_t roundtrip(struct nvme *nv, const struct dh_dma_buffer *buf, uint32_t queue,
			 uint64_t block, uint32_t bytes, uint32_t seed)
{
	uint8_t *data = buf->cpu, *expected = (uint8_t *)buf->cpu + 2 * SELFTEST_AREA;
	int32_t err, wrong = 0;
	uint32_t i;

	err = own_io(nv, queue, DH_BLOCK_READ, block, bytes, buf, SELFTEST_AREA);
	if (!err) {
		fill(expected, bytes, seed);
		memcpy(data, expected, bytes);
		err = own_io(nv, queue, DH_BLOCK_WRITE, block, bytes, buf, 0);
	}
	if (!err)
		err = own_io(nv, queue, DH_BLOCK_FLUSH, 0, 0, buf, 0);
	if (!err) {
		memset(data, 0, bytes);
		err = own_io(nv, queue, DH_BLOCK_READ, block, bytes, buf, 0);
	}
	if (err)
		return err;
	for (i = 0; i < bytes; i++)
		wrong += data[i] != expected[i];
	err = own_io(nv, queue, DH_BLOCK_WRITE, block, bytes, buf, SELFTEST_AREA);
	return err ? err : wrong;
}

/*
 * On every I/O queue, transfers of one page (PRP1), two (PRP2) and 16
 * (a PRP list) at the end of the namespace, each write flushed; then enough
 * one-page reads that both rings wrap twice (the phase bit flips). 0: all
 * intact; > 0: bytes that came back wrong; < 0: DH_ERR_* (and a log line
 * says where).
 */
static int32_t cmd_selftest(void *context, uint32_t seed)
{
	static const uint32_t sizes[] = { 4096, 8192, SELFTEST_AREA };
	struct nvme *nv = context;
	struct dh_dma_buffer buf;
	uint64_t block, started = nvme_now_ns(), completions = nv->completions;
	uint32_t q, s;
	int32_t err = 0, wrong = 0, r;

	if ((uint64_t)SELFTEST_AREA / nv->lba_size > nv->capacity) {
		nvme_log(nv, DH_LOG_ERROR, "selftest: the namespace is smaller than %u bytes", SELFTEST_AREA);
		return DH_ERR_STATE;
	}
	block = nv->capacity - SELFTEST_AREA / nv->lba_size;
	err = nv->host->dma_alloc(nv->inst, 3 * SELFTEST_AREA, &buf);
	if (err)
		return err;
	for (q = 0; q < nv->io_queues && !err; q++) {
		for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			r = roundtrip(nv, &buf, q, block, sizes[s], seed + q * 3 + s);
			if (r < 0) {
				nvme_log(nv, DH_LOG_ERROR, "selftest: queue %u, %u bytes: error %d", q, sizes[s], r);
				err = r;
				break;
			}
			if (r > 0)
				nvme_log(nv, DH_LOG_ERROR, "selftest: queue %u, %u bytes: %d bytes wrong", q, sizes[s], r);
			wrong += r;
		}
		if (err)
			break;
		for (s = 0; !err && s < 2 * nv->io[q].entries + 1; s++)
			err = own_io(nv, q, DH_BLOCK_READ, block, NVME_PAGE, &buf, 0);
		if (err)
			nvme_log(nv, DH_LOG_ERROR, "selftest: queue %u: read %u of a ring wrap: error %d", q, s, err);
	}
	nv->host->dma_free(nv->inst, buf.handle);
	if (!err && !wrong)
		nvme_log(nv, DH_LOG_INFO, "selftest: %u queue(s) x %u sizes written, flushed and read back intact, "
			 "rings wrapped twice: %llu commands in %llu ms", nv->io_queues,
			 (uint32_t)(sizeof(sizes) / sizeof(sizes[0])),
			 (unsigned long long)(nv->completions - completions),
			 (unsigned long long)((nvme_now_ns() - started) / 1000000));
	return err ? err : wrong;
}

const struct dh_command nvme_commands[NVME_COMMAND_COUNT] = {
	{ "identify", "u64()", (dh_command_fn)cmd_identify,
	  "capacity in bytes; logs model, serial, blocks, block size, queues, interrupt mode" },
	{ "lba_size", "u32()", (dh_command_fn)cmd_lba_size, "logical block size in bytes" },
	{ "queues", "u32()", (dh_command_fn)cmd_queues, "I/O queue pairs (block queues)" },
	{ "vectors_used", "u32()", (dh_command_fn)cmd_vectors_used,
	  "distinct interrupt vectors that delivered an interrupt since attach" },
	{ "csts", "u32()", (dh_command_fn)cmd_csts, "the controller status register now" },
	{ "selftest", "i32(u32)", (dh_command_fn)cmd_selftest,
	  "write, flush, read back and restore 4/8/64 KiB, wrap the rings, on every queue; 0 if intact" },
};
