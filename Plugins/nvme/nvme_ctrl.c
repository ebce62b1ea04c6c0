/* SPDX-License-Identifier: MIT */
/*
 * Controller registers: reset (CC.EN = 0), enable, shutdown. Every wait for
 * CSTS is bounded (CAP.TO, or the plugin's own bound) and a controller that
 * does not get there is reported with the CSTS value it showed.
 */
#define _POSIX_C_SOURCE 200809L
#include "nvme.h"

#include <time.h>

/* 64-bit registers are read and written as two dwords, low first: the
 * specification allows it and some controllers want nothing wider. */
uint32_t nvme_rd32(struct nvme *nv, uint32_t reg)
{
	if (nv->bar)
		return *(volatile uint32_t *)(nv->bar + reg);
	return nv->host->read32(nv->inst, 0, reg);
}

uint64_t nvme_rd64(struct nvme *nv, uint32_t reg)
{
	uint64_t low = nvme_rd32(nv, reg);

	return low | (uint64_t)nvme_rd32(nv, reg + 4) << 32;
}

void nvme_wr32(struct nvme *nv, uint32_t reg, uint32_t value)
{
	if (nv->bar)
		*(volatile uint32_t *)(nv->bar + reg) = value;
	else
		nv->host->write32(nv->inst, 0, reg, value);
}

void nvme_wr64(struct nvme *nv, uint32_t reg, uint64_t value)
{
	nvme_wr32(nv, reg, (uint32_t)value);
	nvme_wr32(nv, reg + 4, (uint32_t)(value >> 32));
}

static void pause_us(long us)
{
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

/*
 * Wait until (CSTS & mask) == want, at most timeout_ns. A fatal status
 * (CFS) or a register reading all ones (the device is gone) ends the wait
 * early with DH_ERR_DEVICE; running out of time is DH_ERR_TIMEOUT.
 */
static int32_t wait_csts(struct nvme *nv, uint32_t mask, uint32_t want,
			 uint64_t timeout_ns, const char *what)
{
	uint64_t deadline = nvme_now_ns() + timeout_ns;
	uint32_t csts;

	for (;;) {
		csts = nvme_rd32(nv, NVME_REG_CSTS);
		if (csts == 0xffffffffu) {
			nvme_log(nv, DH_LOG_ERROR, "%s: CSTS reads 0xffffffff: the controller is gone", what);
			return DH_ERR_DEVICE;
		}
		if ((csts & mask) == want)
			return DH_OK;
		if ((csts & NVME_CSTS_CFS) && want != 0) {
			nvme_log(nv, DH_LOG_ERROR, "%s: controller fatal status (CSTS 0x%08x)", what, csts);
			return DH_ERR_DEVICE;
		}
		if (nvme_now_ns() >= deadline) {
			nvme_log(nv, DH_LOG_ERROR, "%s: not done after %llu ms (CSTS 0x%08x)", what,
				 (unsigned long long)(timeout_ns / 1000000), csts);
			return DH_ERR_TIMEOUT;
		}
		pause_us(100);
	}
}

/* CC.EN = 0 and wait for CSTS.RDY = 0: the controller drops its queues and
 * stops all DMA. Also the way out of a fatal status. */
int32_t nvme_ctrl_disable(struct nvme *nv)
{
	uint32_t cc = nvme_rd32(nv, NVME_REG_CC);

	if (cc & NVME_CC_EN)
		nvme_wr32(nv, NVME_REG_CC, cc & ~NVME_CC_EN);
	return wait_csts(nv, NVME_CSTS_RDY, 0, nv->ready_timeout_ns, "controller disable");
}

/* What an enable waits for. The never-ready test build (Makefile:
 * variants) also waits for a reserved CSTS bit, which no controller sets:
 * the wait must end at CAP.TO with the reason, and the attach with it. */
#ifdef NVME_TEST_NEVER_READY
#define NVME_ENABLED (NVME_CSTS_RDY | 1u << 7)
#else
#define NVME_ENABLED NVME_CSTS_RDY
#endif

/* Enable with the admin queue already programmed (AQA, ASQ, ACQ). */
int32_t nvme_ctrl_enable(struct nvme *nv)
{
	nvme_wr32(nv, NVME_REG_CC, NVME_CC_CSS_NVM | NVME_CC_MPS_4K | NVME_CC_AMS_RR |
		  NVME_CC_IOSQES | NVME_CC_IOCQES | NVME_CC_EN);
	return wait_csts(nv, NVME_ENABLED, NVME_ENABLED, nv->ready_timeout_ns, "controller enable");
}

/* Orderly end: a normal shutdown notification (the controller completes
 * what it has and flushes its cache), then disable. Bounded both ways; on
 * a timeout the disable still happens. */
void nvme_ctrl_shutdown(struct nvme *nv)
{
	uint32_t cc = nvme_rd32(nv, NVME_REG_CC);

	if (cc & NVME_CC_EN) {
		nvme_wr32(nv, NVME_REG_CC, (cc & ~NVME_CC_SHN_MASK) | NVME_CC_SHN_NORMAL);
		wait_csts(nv, NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_DONE, NVME_SHUTDOWN_TIMEOUT_NS, "shutdown");
	}
	nvme_ctrl_disable(nv);
}
