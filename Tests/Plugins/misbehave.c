/* SPDX-License-Identifier: MIT */
/*
 * Plugins that misbehave on purpose, for the crash and refusal tests. One
 * source, one plugin per MISBEHAVE_* macro (see Makefile):
 *
 *   abi2.so              declares ABI major 2: must be refused before the
 *                        device is opened
 *   attach-fails.so      attach returns DH_ERR_DEVICE
 *   crash-interrupt.so   interrupt() writes through a NULL pointer
 *   hang-interrupt.so    interrupt() never returns (watchdog bound 300 ms)
 *   peek.so              behaves: attach touches nothing, so tests can read
 *                        what the release program left in the registers
 *   ctor-crash.so        its ELF constructor writes through NULL: whoever
 *                        loads it dies (hostd must read descriptors in a child)
 *   ctor-hang.so         its ELF constructor never returns
 *   ctor-flood.so        its ELF constructor writes to stdout without end
 *   hog.so               `hog u32(u32)` takes that many MiB and keeps them
 *   attach-stop.so       attach stops its own process (SIGSTOP): the
 *                        in-process watchdog stops with it, only the
 *                        supervisor can notice
 *   flood-control.so     attach writes an endless line (128 KiB, no newline)
 *                        to the supervisor's control socket (descriptor 3)
 *   crash-magic.so       interrupt() crashes on the status value 0xdead only;
 *                        `crash u32(u32)` saves the time and raises 0xdead;
 *                        after a restart, attach raises an interrupt itself and
 *                        interrupt() logs "recovered_ns=N": crash to the first
 *                        interrupt handled by the next driverhost (benchmark)
 *   escape-hold.so       attach forks a child that leaves the process group
 *                        (setsid) and sleeps holding every descriptor, the
 *                        device's too; the child's pid is logged ("holder
 *                        pid N"): hostd must kill it with the driverhost
 *   dma-in-attach.so     attach DMAs from edu into a buffer it filled with
 *                        0xab, which it must not do: bus mastering is off
 *                        until attach has returned, so nothing may arrive.
 *                        `dma u32(u32)`: 0 gives how many probe bytes still
 *                        held 0xab after attach's transfer, 1 runs the
 *                        transfer again now and gives the same count
 *
 * Each has the commands `raise u32(u32)`: write the value to the edu raise
 * register and wait for the interrupt, which is where two of them misbehave;
 * and `peek u32(u32)`: read the 32-bit register at that BAR0 offset.
 */
/* clock_gettime and pause under -std=c11 */
#define _POSIX_C_SOURCE 200809L
#include "edu_programs.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct ctx {
	const struct dh_host *host;
	dh_instance *inst;
	uint32_t seen;
};

static struct ctx the_ctx;
#if defined(MISBEHAVE_CRASH_INTERRUPT) || defined(MISBEHAVE_CRASH_MAGIC) || defined(MISBEHAVE_CTOR_CRASH)
static uint32_t *volatile nowhere; /* NULL, but the compiler cannot tell */
#endif

#if defined(MISBEHAVE_CTOR_CRASH)
__attribute__((constructor)) static void crash_on_load(void)
{
	*nowhere = 1;
}
#elif defined(MISBEHAVE_CTOR_HANG)
__attribute__((constructor)) static void hang_on_load(void)
{
	for (;;)
		pause();
}
#elif defined(MISBEHAVE_CTOR_FLOOD)
__attribute__((constructor)) static void flood_on_load(void)
{
	static char junk[65536];
	memset(junk, '{', sizeof(junk));
	for (;;)
		if (write(1, junk, sizeof(junk)) < 0)
			pause();
}
#endif

#if defined(MISBEHAVE_CRASH_MAGIC)
#define CRASH_MAGIC 0xdeadu
/* CLOCK_MONOTONIC is system-wide, so a time saved by one driverhost means
 * the same to the next. */
static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
static uint64_t crashed_at; /* from the saved state; 0: none pending */
#endif

#if defined(MISBEHAVE_DMA_IN_ATTACH)
#define PROBE_LEN 64u
static struct dh_dma_buffer probe;
static uint32_t untouched_in_attach;

/* DMA PROBE_LEN bytes from edu's buffer into `probe`, filled with 0xab
 * first; how many still hold 0xab once edu reports the transfer done
 * (UINT32_MAX: no interrupt came). */
static uint32_t probe_dma(struct ctx *c)
{
	uint8_t *bytes = probe.cpu;
	uint32_t i, untouched = 0;

	memset(bytes, 0xab, PROBE_LEN);
	c->seen = 0;
	c->host->write32(c->inst, 0, EDU_REG_DMA_SRC, EDU_DMA_BUFFER);
	c->host->write32(c->inst, 0, EDU_REG_DMA_DST, (uint32_t)probe.bus_addr);
	c->host->write32(c->inst, 0, EDU_REG_DMA_COUNT, PROBE_LEN);
	c->host->write32(c->inst, 0, EDU_REG_DMA_CMD, EDU_DMA_RUN | EDU_DMA_TO_RAM | EDU_DMA_IRQ);
	while (!(c->seen & EDU_IRQ_DMA))
		if (c->host->wait_events(c->inst, 2000000000ull) != DH_OK)
			return UINT32_MAX;
	for (i = 0; i < PROBE_LEN; i++)
		untouched += bytes[i] == 0xab;
	return untouched;
}
#endif

static int32_t attach(const struct dh_host *host, dh_instance *inst, void **context)
{
	the_ctx.host = host;
	the_ctx.inst = inst;
	*context = &the_ctx;
#if defined(MISBEHAVE_CRASH_MAGIC)
	uint32_t size = 0;
	if (host->state_load(inst, &crashed_at, sizeof(crashed_at), &size) != DH_OK || size != sizeof(crashed_at))
		crashed_at = 0;
	if (crashed_at)
		host->write32(inst, 0, EDU_REG_IRQ_RAISE, 1);
#endif
#if defined(MISBEHAVE_DMA_IN_ATTACH)
	if (host->dma_set_mask(inst, EDU_DMA_MASK_BITS) != DH_OK || host->dma_alloc(inst, 4096, &probe) != DH_OK)
		return DH_ERR_NO_MEMORY;
	untouched_in_attach = probe_dma(&the_ctx);
#endif
#if defined(MISBEHAVE_ATTACH_STOP)
	raise(SIGSTOP);
#endif
#if defined(MISBEHAVE_ESCAPE_HOLD)
	pid_t holder = fork();
	if (holder == 0) {
		setsid();
		for (;;)
			pause();
	}
	if (holder < 0)
		return DH_ERR_NO_MEMORY;
	char line[64];
	snprintf(line, sizeof(line), "holder pid %d", (int)holder);
	host->log(inst, DH_LOG_INFO, line);
#endif
#if defined(MISBEHAVE_FLOOD_CONTROL)
	static char junk[4096];
	memset(junk, 'x', sizeof(junk));
	for (int i = 0; i < 32; i++)
		if (write(3, junk, sizeof(junk)) < 0)
			break;
#endif
#if defined(MISBEHAVE_ATTACH_FAILS)
	host->log(inst, DH_LOG_ERROR, "attach fails on purpose");
	return DH_ERR_DEVICE;
#else
	return DH_OK;
#endif
}

static void detach(void *context)
{
	struct ctx *c = context;

	/* Tests tell an orderly exit from one that skips detach by this line. */
	c->host->log(c->inst, DH_LOG_INFO, "detach called");
}

static void interrupt(void *context, const struct dh_event *ev)
{
	/* NULL while attach waits for events: the host has no context yet. */
	struct ctx *c = context ? context : &the_ctx;

	c->seen = (uint32_t)ev->snap[0];
#if defined(MISBEHAVE_CRASH_INTERRUPT)
	*nowhere = c->seen;
#elif defined(MISBEHAVE_CRASH_MAGIC)
	if (c->seen == CRASH_MAGIC)
		*nowhere = c->seen;
	if (crashed_at) {
		char line[64];
		uint64_t zero = 0;
		snprintf(line, sizeof(line), "recovered_ns=%llu", (unsigned long long)(now_ns() - crashed_at));
		c->host->log(c->inst, DH_LOG_INFO, line);
		crashed_at = 0;
		c->host->state_save(c->inst, &zero, sizeof(zero));
	}
#elif defined(MISBEHAVE_HANG_INTERRUPT)
	for (;;)
		*(volatile uint32_t *)&c->seen += 1;
#endif
}

static uint32_t raise_irq(void *context, uint32_t value)
{
	struct ctx *c = context;

	c->seen = 0;
	c->host->write32(c->inst, 0, EDU_REG_IRQ_RAISE, value);
	while (c->seen == 0)
		if (c->host->wait_events(c->inst, 2000000000ull) != DH_OK)
			return 0;
	return c->seen;
}

static uint32_t peek(void *context, uint32_t offset)
{
	struct ctx *c = context;

	return c->host->read32(c->inst, 0, offset);
}

#if defined(MISBEHAVE_CRASH_MAGIC)
static uint32_t crash(void *context, uint32_t unused)
{
	struct ctx *c = context;
	uint64_t t = now_ns();
	(void)unused;
	c->host->state_save(c->inst, &t, sizeof(t));
	return raise_irq(context, CRASH_MAGIC);
}
#endif

#if defined(MISBEHAVE_DMA_IN_ATTACH)
static uint32_t dma(void *context, uint32_t now)
{
	return now ? probe_dma(context) : untouched_in_attach;
}
#endif

#if defined(MISBEHAVE_HOG)
/* Takes n MiB, touching every page, and keeps it; returns how many MiB it
 * got before malloc failed (if the limit is an rlimit: under a cgroup the
 * supervisor ends it first). */
static uint32_t hog(void *context, uint32_t mib)
{
	uint32_t got = 0;

	(void)context;
	while (got < mib) {
		char *chunk = malloc(1u << 20);

		if (!chunk)
			break;
		memset(chunk, 0x5a, 1u << 20);
		got++;
	}
	return got;
}
#endif

static const struct dh_command commands[] = {
#if defined(MISBEHAVE_HOG)
	{ "hog", "u32(u32)", (dh_command_fn)hog, "take n MiB and keep it" },
#endif
#if defined(MISBEHAVE_DMA_IN_ATTACH)
	{ "dma", "u32(u32)", (dh_command_fn)dma, "0: probe bytes untouched by attach's DMA; 1: DMA again now" },
#endif
#if defined(MISBEHAVE_CRASH_MAGIC)
	{ "crash", "u32(u32)", (dh_command_fn)crash, "save the time, crash in interrupt()" },
#endif
	{ "raise", "u32(u32)", (dh_command_fn)raise_irq, "raise an edu interrupt, wait for it" },
	{ "peek", "u32(u32)", (dh_command_fn)peek, "read a BAR0 register" },
};

const struct dh_plugin dh_plugin_entry = {
#if defined(MISBEHAVE_ABI2)
	.abi_major = 2,
#else
	.abi_major = DH_ABI_MAJOR,
#endif
	.abi_minor = DH_ABI_MINOR,
	.struct_size = sizeof(struct dh_plugin),
	.name = "misbehave",
	.version = "0",
	EDU_DESCRIPTOR_FIELDS,
#if defined(MISBEHAVE_HOG)
	.callback_timeout_ms = 10000, /* slow, throttled allocation: the memory limit must end it first */
#else
	.callback_timeout_ms = 300,
#endif
	.attach = attach,
	.detach = detach,
	.interrupt = interrupt,
	.commands = commands,
	.command_count = COUNT_OF(commands),
};
