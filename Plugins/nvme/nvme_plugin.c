/* SPDX-License-Identifier: MIT */
/*
 * drvhost plugin for NVMe controllers (PCI class 01:08:02): namespace 1 as
 * a drvhost.block/1 device.
 *
 * attach: reset the controller (CC.EN = 0, CSTS.RDY = 0 within CAP.TO),
 * set up the admin queue and enable it, then let it master the bus
 * (dh_host.enable_bus_master: bus mastering is otherwise off until attach
 * returns, and the block class needs the disk's geometry right after), and
 * over polled admin commands: Identify, Set Features (Number of Queues),
 * one I/O queue pair per block queue. Every wait is bounded; a controller
 * that does not become ready or does not answer fails attach with the CSTS
 * it showed.
 *
 * Interrupts: MSI-X, one vector per I/O queue (the admin queue shares vector
 * 0, and is polled anyway). Completions are drained in interrupt() and
 * handed to the block host by (queue, tag = command id). Where the host
 * falls back to one vector (MSI, INTx) there is one I/O queue.
 *
 * Shared INTx: NVMe has no interrupt status register, and whether a
 * completion queue has new entries is in host memory, out of a register
 * program's reach. So the ACK program decides by the controller's own mask:
 * while vector 0 is masked (INTMS bit 0) the controller cannot be asserting
 * the line, so the interrupt is not ours; while it is unmasked, the program
 * claims it and masks vector 0, which lowers our line at once. interrupt()
 * then drains every queue and unmasks (INTMC); a completion that came in
 * between raises the line again. The price: an interrupt of a neighbour
 * while we are unmasked is claimed by us too (one empty drain); it is still
 * delivered to the neighbour's handler, as on every shared line.
 *
 * Release (crash, SIGKILL): the kernel's RELEASE program disables the
 * controller and waits for CSTS.RDY = 0, so the controller has dropped its
 * queues and stopped DMA before its memory is freed (a clean detach shuts
 * it down first).
 */
#define _POSIX_C_SOURCE 200809L
#include "nvme.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct dh_plugin nvme_descriptor;

/* The test builds name themselves (Makefile: variants). */
#ifndef NVME_NAME
#define NVME_NAME "nvme"
#endif

void nvme_log(struct nvme *nv, int32_t level, const char *fmt, ...)
{
	char line[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	nv->host->log(nv->inst, level, line);
}

uint64_t nvme_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Registers: mapped if the host can, else through its functions. */
static int32_t map_registers(struct nvme *nv)
{
	volatile void *base = NULL;
	uint64_t size = 0;

	if (nv->host->bar_pointer(nv->inst, 0, &base, &size) == DH_OK) {
		if (size < NVME_REG_DOORBELLS + 8) {
			nvme_log(nv, DH_LOG_ERROR, "BAR0 is %llu bytes: too small for NVMe registers",
				 (unsigned long long)size);
			return DH_ERR_DEVICE;
		}
		nv->bar = base;
	}
	return DH_OK;
}

/* CAP: what this plugin needs from the controller. */
static int32_t read_capabilities(struct nvme *nv)
{
	uint64_t cap = nvme_rd64(nv, NVME_REG_CAP);

	if (cap == ~0ull) {
		nvme_log(nv, DH_LOG_ERROR, "CAP reads all ones: the controller does not answer");
		return DH_ERR_DEVICE;
	}
	nv->cap = cap;
	if (!NVME_CAP_CSS_NVM(cap)) {
		nvme_log(nv, DH_LOG_ERROR, "refused: the controller has no NVM command set (CAP 0x%016llx)",
			 (unsigned long long)cap);
		return DH_ERR_NOT_SUPPORTED;
	}
	if (NVME_CAP_MPSMIN(cap) != 0) {
		nvme_log(nv, DH_LOG_ERROR, "refused: smallest memory page is %u KiB, this plugin uses 4 KiB",
			 4u << NVME_CAP_MPSMIN(cap));
		return DH_ERR_NOT_SUPPORTED;
	}
	if (NVME_CAP_MQES(cap) + 1u < 3) {
		nvme_log(nv, DH_LOG_ERROR, "refused: queues of at most %u entries", NVME_CAP_MQES(cap) + 1u);
		return DH_ERR_NOT_SUPPORTED;
	}
	nv->doorbell_stride = 4u << NVME_CAP_DSTRD(cap);
	/* CAP.TO is in 500 ms units; 0 would mean no time at all: give 500 ms.
	 * Capped so that a disable, an enable and one admin timeout fit in
	 * the attach bound. */
	nv->ready_timeout_ns = (uint64_t)(NVME_CAP_TO(cap) ? NVME_CAP_TO(cap) : 1) * 500000000ull;
	if (nv->ready_timeout_ns > NVME_READY_TIMEOUT_MAX_NS) {
		nvme_log(nv, DH_LOG_INFO, "CAP.TO is %u ms; waiting at most %llu ms for ready", NVME_CAP_TO(cap) * 500,
			 (unsigned long long)(NVME_READY_TIMEOUT_MAX_NS / 1000000));
		nv->ready_timeout_ns = NVME_READY_TIMEOUT_MAX_NS;
	}
	return DH_OK;
}

static void release_memory(struct nvme *nv)
{
	uint32_t i;

	for (i = 0; i < DH_BLOCK_MAX_QUEUES; i++)
		nvme_queue_free(nv, &nv->io[i]);
	nvme_queue_free(nv, &nv->admin);
	if (nv->identify.handle)
		nv->host->dma_free(nv->inst, nv->identify.handle);
	nv->identify.handle = NULL;
}

/* Admin queue and Identify page, then enable. Interrupts stay masked in
 * the INTx and MSI modes until setup is done (INTMS; MSI-X has its own
 * masks in the table, which the kernel owns). */
static int32_t enable_controller(struct nvme *nv)
{
	uint32_t entries = NVME_ADMIN_ENTRIES;
	int32_t err;

	if (entries > NVME_CAP_MQES(nv->cap) + 1u)
		entries = NVME_CAP_MQES(nv->cap) + 1u;
	err = nvme_queue_alloc(nv, &nv->admin, 0, entries, 0);
	if (err)
		return err;
	err = nv->host->dma_alloc(nv->inst, NVME_IDENTIFY_SIZE, &nv->identify);
	if (err) {
		nvme_log(nv, DH_LOG_ERROR, "cannot allocate the Identify page (%d)", err);
		return err;
	}
	if (nv->irq_mode != DH_IRQ_MSIX)
		nvme_wr32(nv, NVME_REG_INTMS, 0xffffffffu);
	nvme_wr32(nv, NVME_REG_AQA, (entries - 1) << 16 | (entries - 1));
#ifdef NVME_TEST_BAD_ADMIN_QUEUE
	/* The fatal-status test build (Makefile: variants): an admin submission
	 * queue off its page boundary, which the specification forbids; QEMU's
	 * controller refuses to start on it (CSTS.CFS). */
	nvme_wr64(nv, NVME_REG_ASQ, nv->admin.sq_bus + 64);
#else
	nvme_wr64(nv, NVME_REG_ASQ, nv->admin.sq_bus);
#endif
	nvme_wr64(nv, NVME_REG_ACQ, nv->admin.cq_bus);
	return nvme_ctrl_enable(nv);
}

static int32_t nvme_attach(const struct dh_host *host, dh_instance *inst, void **context)
{
	struct nvme *nv = calloc(1, sizeof(*nv));
	struct dh_instance_info info;
	/* Where the attach's time goes, logged: a restart's stall is made of it. */
	uint64_t begun = nvme_now_ns(), reset, enabled;
	int32_t err;

	if (!nv)
		return DH_ERR_NO_MEMORY;
	nv->host = host;
	nv->inst = inst;
	memset(&info, 0, sizeof(info));
	info.struct_size = sizeof(info);
	err = host->instance_info(inst, &info);
	if (err)
		goto free_nv;
	nv->irq_mode = info.irq_mode;
	/* A host older than 1.2 reports no vector count: then it set what we asked. */
	nv->vectors = info.irq_vectors ? info.irq_vectors :
		      info.irq_mode == DH_IRQ_MSIX ? nvme_descriptor.msix_vectors : 1;
	if (!DH_HOST_HAS(host, enable_bus_master)) {
		nvme_log(nv, DH_LOG_ERROR, "this host cannot enable bus mastering during attach "
			 "(dh_host.enable_bus_master): NVMe setup needs DMA before the disk can be described");
		err = DH_ERR_NOT_SUPPORTED;
		goto free_nv;
	}
	err = map_registers(nv);
	if (!err)
		err = read_capabilities(nv);
	if (!err)
		err = host->dma_set_mask(inst, 64);
	if (!err)
		err = nvme_ctrl_disable(nv);
	if (err)
		goto free_nv;
	reset = nvme_now_ns();
	err = enable_controller(nv);
	if (err)
		goto disable;
	enabled = nvme_now_ns();
	/* Reset, and every queue address is ours: now it may master the bus. */
	err = host->enable_bus_master(inst);
	if (err) {
		nvme_log(nv, DH_LOG_ERROR, "cannot enable bus mastering (%d)", err);
		goto disable;
	}
	err = nvme_setup(nv);
	if (err)
		goto disable;
	if (nv->irq_mode != DH_IRQ_MSIX)
		nvme_wr32(nv, NVME_REG_INTMC, 1);
	nvme_log(nv, DH_LOG_INFO, "attached in %llu us: reset %llu, enable %llu, Identify and queues %llu",
		 (unsigned long long)((nvme_now_ns() - begun) / 1000), (unsigned long long)((reset - begun) / 1000),
		 (unsigned long long)((enabled - reset) / 1000), (unsigned long long)((nvme_now_ns() - enabled) / 1000));
	*context = nv;
	return DH_OK;

disable:
	nvme_ctrl_disable(nv);
	release_memory(nv);
free_nv:
	free(nv);
	return err;
}

static void nvme_detach(void *context)
{
	struct nvme *nv = context;

	nvme_ctrl_shutdown(nv);
	release_memory(nv);
	free(nv);
}

static const void *nvme_get_extension(void *context, const char *id)
{
	struct nvme *nv = context;

	if (!nv || !id || strcmp(id, DH_BLOCK_EXTENSION) != 0)
		return NULL;
	return &nv->block;
}

/* ---- descriptor ---------------------------------------------------------------- */

static const struct dh_pci_match nvme_matches[] = {
	{ 0, 0, 0, 0, 0, 0, 0, 0, NVME_CLASS_CODE, 0xffffff },
};

/*
 * Quiet the controller after a crash: CC.EN = 0 and wait for CSTS.RDY = 0
 * (it aborts what it has, forgets its queues and stops all DMA), as the
 * kernel's own nvme driver does before a reset. No shutdown notification
 * first: that is for power-off (the controller commits its volatile cache,
 * which a reset does not lose), and QEMU's flushes the disk image for it,
 * which took 3-270 ms of each crash's stall (bench 60's kernel split).
 * Aborted requests are reissued by ublk to the next driverhost. CAP.TO is
 * not known here: 600 ms (QEMU's and common controllers' take far less); a
 * slower controller leaves drvproxy's "poll(s) timed out" line, and the
 * kernel's function reset follows.
 */
static const struct dh_insn nvme_release[] = {
	DH_INSN_WRITE_IMM(4, 0, NVME_REG_CC, 0),
	DH_INSN_POLL(4, 0, NVME_REG_CSTS, NVME_CSTS_RDY, 0, 600000),
};

/* Shared INTx only (see the top of this file); never run under MSI-X, where
 * INTMS is undefined: the host installs it for that fallback alone. */
static const struct dh_insn nvme_ack[] = {
	DH_INSN_READ(4, 0, NVME_REG_INTMS),
	DH_INSN_AND(1),
	{ DH_OP_XOR, 0, 0, 0, 0, 1, 0, 0, 0 },	/* 1: vector 0 unmasked */
	DH_INSN_NOT_MINE_IF_ZERO(),
	DH_INSN_WRITE_IMM(4, 0, NVME_REG_INTMS, 1),
};

/*
 * ABI 1.1's getter instead of a const dh_plugin_entry: the MSI-X vectors
 * wanted (one per I/O queue) depend on the CPUs, known only at run time.
 * Vectors nobody uses would cost each restart their set-up and teardown.
 */
static struct dh_plugin nvme_descriptor = {
	.abi_major = DH_ABI_MAJOR,
	.abi_minor = DH_ABI_MINOR,
	.struct_size = sizeof(struct dh_plugin),
	.name = NVME_NAME,
	.version = "1.0.0",
	.matches = nvme_matches,
	.match_count = sizeof(nvme_matches) / sizeof(nvme_matches[0]),
	.irq_mode = DH_IRQ_MSIX,
	.msix_vectors = DH_BLOCK_MAX_QUEUES,	/* lowered by dh_plugin_get */
	.ack_len = sizeof(nvme_ack) / sizeof(nvme_ack[0]),
	.ack_program = nvme_ack,
	/* INTMS is undefined under MSI and MSI-X: the ACK program serves a
	 * shared line only. */
	.ack_modes = 1u << DH_IRQ_INTX_SHARED,
	.release_len = sizeof(nvme_release) / sizeof(nvme_release[0]),
	.release_program = nvme_release,
	/* Two ready waits (each at most NVME_READY_TIMEOUT_MAX_NS) and setup,
	 * which stops at the first admin command that times out. */
	.attach_timeout_ms = 60000,
	/* selftest waits for real I/O; detach for a shutdown. */
	.callback_timeout_ms = 10000,
	.attach = nvme_attach,
	.detach = nvme_detach,
	.interrupt = nvme_interrupt,
	.commands = nvme_commands,
	.command_count = NVME_COMMAND_COUNT,
	.get_extension = nvme_get_extension,
};

DH_EXPORT const struct dh_plugin *dh_plugin_get(void);

/* Called once, right after loading. */
const struct dh_plugin *dh_plugin_get(void)
{
	nvme_descriptor.msix_vectors = nvme_queue_limit();
	return &nvme_descriptor;
}
