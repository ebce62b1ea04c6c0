/* SPDX-License-Identifier: MIT */
/*
 * drvhost plugin for QEMU's edu device, written against the SDK header only.
 *
 * Interrupts come on a shared INTx line. The kernel runs the ACK program in
 * the top half: it reads the interrupt status, answers "not mine" if it is 0,
 * snapshots it into the event and acknowledges exactly those bits. So
 * interrupt() sees each cause once, in snap[0], and never touches 0x24/0x64.
 *
 * Interrupt status bits: 0x1 factorial done, 0x100 DMA done, and the ping
 * value (a counter in bits 16..31) that the ping-pong command raises.
 */
#define _POSIX_C_SOURCE 200809L
#include <drvhost/plugin.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edu_regs.h"

#define EDU_PING_SHIFT		16
#define EDU_PING_MASK		0xffff0000u
#define EDU_WAIT_NS		2000000000ull	/* per step; DMA takes 100 ms of QEMU time */
#define EDU_STATE_MAGIC		0x65647531u	/* "edu1" */
/*
 * Bytes per DMA self-test transfer. Not the whole 4 KiB device buffer: QEMU's
 * edu range check is off by one at the buffer's end and a transfer ending
 * there stops the whole VM with "hw_error: DMA range out of bounds".
 */
#define EDU_DMA_XFER_LEN	2048

struct edu_saved_state {
	uint32_t magic;
	uint32_t attaches;
};

struct edu {
	const struct dh_host *host;
	dh_instance *inst;
	struct dh_dma_buffer dma;
	struct edu_saved_state saved;

	int factorial_done;
	uint32_t factorial_result;
	int dma_done;

	/* Ping-pong: interrupt() raises the next ping from the last one. */
	uint32_t ping_target;		/* round trips wanted */
	uint32_t ping_good;		/* round trips seen in order */
	uint32_t ping_errors;		/* lost, duplicated or out-of-order pings */
	uint32_t ping_expected;		/* counter value of the ping in flight */
	uint64_t ping_raised_ns;
	uint64_t *rtt_ns;		/* ping_good samples of raise -> interrupt() */
	uint64_t last_seq;
};

static void edu_log(struct edu *edu, int32_t level, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	edu->host->log(edu->inst, level, line);
}

static uint32_t rd(struct edu *edu, uint32_t reg)
{
	return edu->host->read32(edu->inst, 0, reg);
}

static void wr(struct edu *edu, uint32_t reg, uint32_t value)
{
	edu->host->write32(edu->inst, 0, reg, value);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Deliver events until *flag is set; DH_ERR_TIMEOUT if a wait gives nothing. */
static int32_t wait_for(struct edu *edu, const int *flag)
{
	while (!*flag) {
		int32_t err = edu->host->wait_events(edu->inst, EDU_WAIT_NS);

		if (err != DH_OK)
			return err;
	}
	return DH_OK;
}

/* ---- ping-pong --------------------------------------------------------------- */

static void ping_raise(struct edu *edu)
{
	edu->ping_expected = edu->ping_expected % 0xffff + 1;
	edu->ping_raised_ns = now_ns();
	wr(edu, EDU_REG_IRQ_RAISE, edu->ping_expected << EDU_PING_SHIFT);
}

static void ping_received(struct edu *edu, uint32_t value, uint64_t at_ns)
{
	if (edu->ping_good >= edu->ping_target || value != edu->ping_expected) {
		edu->ping_errors++;
		edu_log(edu, DH_LOG_WARNING, "ping %u unexpected (waiting for %u, %u of %u done)",
			value, edu->ping_expected, edu->ping_good, edu->ping_target);
		return;
	}
	edu->rtt_ns[edu->ping_good++] = at_ns - edu->ping_raised_ns;
	if (edu->ping_good < edu->ping_target)
		ping_raise(edu);
}

static int ping_finished(const struct edu *edu)
{
	return edu->ping_good >= edu->ping_target || edu->ping_errors > 0;
}

/* ---- callbacks ----------------------------------------------------------------- */

static void edu_interrupt(void *context, const struct dh_event *ev)
{
	struct edu *edu = context;
	uint64_t at_ns = now_ns();
	uint32_t status;

	if (ev->flags & DH_EVENT_DROPPED) {
		edu->ping_errors += ev->dropped;
		edu_log(edu, DH_LOG_WARNING, "%u events dropped before seq %llu",
			ev->dropped, (unsigned long long)ev->seq);
	}
	if (edu->last_seq && ev->seq != edu->last_seq + 1 + ev->dropped) {
		edu->ping_errors++;
		edu_log(edu, DH_LOG_WARNING, "event seq %llu after %llu",
			(unsigned long long)ev->seq, (unsigned long long)edu->last_seq);
	}
	edu->last_seq = ev->seq;
	if (ev->nsnap < 1)
		return;
	status = (uint32_t)ev->snap[0];
	if (status & EDU_IRQ_FACTORIAL) {
		edu->factorial_result = rd(edu, EDU_REG_FACTORIAL);
		edu->factorial_done = 1;
	}
	if (status & EDU_IRQ_DMA)
		edu->dma_done = 1;
	if (status & EDU_PING_MASK)
		ping_received(edu, status >> EDU_PING_SHIFT, at_ns);
}

static int32_t edu_check_alive(struct edu *edu)
{
	static const uint32_t probes[] = { 0x00000000u, 0xffffffffu, 0x5a5aa5a5u };
	uint32_t id = rd(edu, EDU_REG_ID);
	size_t i;

	if ((id & 0xff) != 0xed) {
		edu_log(edu, DH_LOG_ERROR, "id register reads 0x%08x, not an edu device", id);
		return DH_ERR_DEVICE;
	}
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		wr(edu, EDU_REG_LIVENESS, probes[i]);
		if (rd(edu, EDU_REG_LIVENESS) != ~probes[i]) {
			edu_log(edu, DH_LOG_ERROR, "liveness check failed for 0x%08x", probes[i]);
			return DH_ERR_DEVICE;
		}
	}
	edu_log(edu, DH_LOG_INFO, "edu %u.%u alive", id >> 24, (id >> 16) & 0xff);
	return DH_OK;
}

/* Count attaches across restarts in the saved state blob (shows it works). */
static void edu_load_state(struct edu *edu)
{
	uint32_t size = 0;
	struct dh_instance_info info;

	info.struct_size = sizeof(info);
	if (edu->host->state_load(edu->inst, &edu->saved, sizeof(edu->saved), &size) != DH_OK ||
	    size != sizeof(edu->saved) || edu->saved.magic != EDU_STATE_MAGIC) {
		edu->saved.magic = EDU_STATE_MAGIC;
		edu->saved.attaches = 0;
	}
	edu->saved.attaches++;
	edu->host->state_save(edu->inst, &edu->saved, sizeof(edu->saved));
	if (edu->host->instance_info(edu->inst, &info) == DH_OK)
		edu_log(edu, DH_LOG_INFO, "attach %u (restart %u) at %04x:%02x:%02x.%u",
			edu->saved.attaches, info.restart_count, info.pci_domain,
			info.pci_bus, info.pci_slot, info.pci_function);
}

static int32_t edu_attach(const struct dh_host *host, dh_instance *inst, void **context)
{
	struct edu *edu = calloc(1, sizeof(*edu));
	int32_t err;

	if (!edu)
		return DH_ERR_NO_MEMORY;
	edu->host = host;
	edu->inst = inst;
	err = edu_check_alive(edu);
	if (err)
		goto free_edu;
	err = host->dma_set_mask(inst, EDU_DMA_MASK_BITS);
	if (err) {
		edu_log(edu, DH_LOG_ERROR, "cannot set a %d-bit DMA mask (%d)", EDU_DMA_MASK_BITS, err);
		goto free_edu;
	}
	err = host->dma_alloc(inst, EDU_DMA_BUFFER_SIZE, &edu->dma);
	if (err) {
		edu_log(edu, DH_LOG_ERROR, "cannot allocate a DMA buffer (%d)", err);
		goto free_edu;
	}
	edu_load_state(edu);
	*context = edu;
	return DH_OK;

free_edu:
	free(edu);
	return err;
}

static void edu_detach(void *context)
{
	struct edu *edu = context;

	wr(edu, EDU_REG_STATUS, 0);
	edu->host->dma_free(edu->inst, edu->dma.handle);
	free(edu->rtt_ns);
	free(edu);
}

/* ---- commands --------------------------------------------------------------- */

/* n! computed by the device (32 bits: exact up to 12!), or UINT64_MAX on timeout. */
static uint64_t edu_factorial(void *context, uint32_t n)
{
	struct edu *edu = context;

	edu->factorial_done = 0;
	wr(edu, EDU_REG_STATUS, EDU_STATUS_IRQ_FACT);
	wr(edu, EDU_REG_FACTORIAL, n);
	if (wait_for(edu, &edu->factorial_done) != DH_OK) {
		edu_log(edu, DH_LOG_ERROR, "no factorial interrupt");
		return UINT64_MAX;
	}
	return edu->factorial_result;
}

static uint32_t edu_liveness(void *context, uint32_t value)
{
	struct edu *edu = context;

	wr(edu, EDU_REG_LIVENESS, value);
	return rd(edu, EDU_REG_LIVENESS);
}

static int32_t edu_dma(struct edu *edu, uint64_t src, uint64_t dst, uint32_t cmd)
{
	edu->dma_done = 0;
	wr(edu, EDU_REG_DMA_SRC, (uint32_t)src);
	wr(edu, EDU_REG_DMA_DST, (uint32_t)dst);
	wr(edu, EDU_REG_DMA_COUNT, EDU_DMA_XFER_LEN);
	wr(edu, EDU_REG_DMA_CMD, cmd | EDU_DMA_RUN | EDU_DMA_IRQ);
	return wait_for(edu, &edu->dma_done);
}

/* Copy a pattern to the device and back; 0 if it came back intact, else the
 * number of bytes that differ, or a negative DH_ERR_*. */
static int32_t edu_dma_selftest(void *context, uint32_t seed)
{
	struct edu *edu = context;
	uint8_t *buf = edu->dma.cpu;
	uint32_t x = seed | 1, i;
	int32_t err, wrong = 0;

	for (i = 0; i < EDU_DMA_XFER_LEN; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;	/* xorshift32 */
		buf[i] = (uint8_t)x;
	}
	err = edu_dma(edu, edu->dma.bus_addr, EDU_DMA_BUFFER, 0);
	if (err)
		return err;
	memset(buf, 0, EDU_DMA_XFER_LEN);
	err = edu_dma(edu, EDU_DMA_BUFFER, edu->dma.bus_addr, EDU_DMA_TO_RAM);
	if (err)
		return err;
	x = seed | 1;
	for (i = 0; i < EDU_DMA_XFER_LEN; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		wrong += buf[i] != (uint8_t)x;
	}
	return wrong;
}

/* Run `count` raise -> interrupt() -> raise round trips; returns how many
 * arrived once and in order (== count when nothing was lost or duplicated). */
static uint32_t edu_pingpong(void *context, uint32_t count)
{
	struct edu *edu = context;

	free(edu->rtt_ns);
	edu->rtt_ns = calloc(count ? count : 1, sizeof(*edu->rtt_ns));
	if (!edu->rtt_ns)
		return 0;
	edu->ping_target = count;
	edu->ping_good = 0;
	edu->ping_errors = 0;
	if (count == 0)
		return 0;
	ping_raise(edu);
	while (!ping_finished(edu))
		if (edu->host->wait_events(edu->inst, EDU_WAIT_NS) != DH_OK)
			break;
	/* A duplicate of the last ping would arrive right after it. */
	edu->host->wait_events(edu->inst, 20000000ull);
	if (edu->ping_errors)
		edu_log(edu, DH_LOG_ERROR, "ping-pong: %u errors", edu->ping_errors);
	return edu->ping_errors ? 0 : edu->ping_good;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentile (0..100) of the last ping-pong's raise -> interrupt() times, ns. */
static uint64_t edu_roundtrip_ns(void *context, uint32_t percentile)
{
	struct edu *edu = context;
	uint32_t n = edu->ping_good;

	if (n == 0 || percentile > 100)
		return 0;
	qsort(edu->rtt_ns, n, sizeof(*edu->rtt_ns), compare_u64);
	return edu->rtt_ns[(uint64_t)(n - 1) * percentile / 100];
}

/* ---- descriptor ------------------------------------------------------------------ */

static const struct dh_pci_match edu_matches[] = {
	DH_MATCH_ID(EDU_VENDOR, EDU_DEVICE),
};

static const struct dh_insn edu_ack[] = {
	DH_INSN_READ(4, 0, EDU_REG_IRQ_STATUS),
	DH_INSN_NOT_MINE_IF_ZERO(),
	DH_INSN_SNAPSHOT(),
	DH_INSN_WRITE(4, 0, EDU_REG_IRQ_ACK),
};

/* Leave the device quiet: no factorial interrupt, no DMA running (edu cannot
 * abort one, so wait for it), nothing pending; then the marker. */
static const struct dh_insn edu_release[] = {
	DH_INSN_WRITE_IMM(4, 0, EDU_REG_STATUS, 0),
	DH_INSN_POLL(4, 0, EDU_REG_DMA_CMD, EDU_DMA_RUN, 0, 300000),
	DH_INSN_WRITE_IMM(4, 0, EDU_REG_DMA_CMD, 0),
	DH_INSN_POLL(4, 0, EDU_REG_STATUS, EDU_STATUS_COMPUTING, 0, 100000),
	DH_INSN_READ(4, 0, EDU_REG_IRQ_STATUS),
	DH_INSN_WRITE(4, 0, EDU_REG_IRQ_ACK),
	DH_INSN_WRITE_IMM(4, 0, EDU_REG_LIVENESS, EDU_RELEASE_MARKER),
};

static const struct dh_command edu_commands[] = {
	{ "factorial", "u64(u32)", (dh_command_fn)edu_factorial,
	  "n! computed by the device, with its completion interrupt" },
	{ "liveness", "u32(u32)", (dh_command_fn)edu_liveness,
	  "write the liveness register, read it back (the bitwise NOT)" },
	{ "dma_selftest", "i32(u32)", (dh_command_fn)edu_dma_selftest,
	  "DMA 2 KiB to the device and back; 0 if intact, else bytes wrong" },
	{ "pingpong", "u32(u32)", (dh_command_fn)edu_pingpong,
	  "n raise/interrupt round trips; returns n if none lost or duplicated" },
	{ "roundtrip_ns", "u64(u32)", (dh_command_fn)edu_roundtrip_ns,
	  "percentile of the last pingpong's raise-to-interrupt() time" },
};

const struct dh_plugin dh_plugin_entry = {
	.abi_major = DH_ABI_MAJOR,
	.abi_minor = DH_ABI_MINOR,
	.struct_size = sizeof(struct dh_plugin),
	.name = "edu",
	.version = "1.0.0",
	.matches = edu_matches,
	.match_count = sizeof(edu_matches) / sizeof(edu_matches[0]),
	.irq_mode = DH_IRQ_INTX_SHARED,
	.ack_len = sizeof(edu_ack) / sizeof(edu_ack[0]),
	.ack_program = edu_ack,
	.release_len = sizeof(edu_release) / sizeof(edu_release[0]),
	.release_program = edu_release,
	.attach = edu_attach,
	.detach = edu_detach,
	.interrupt = edu_interrupt,
	.commands = edu_commands,
	.command_count = sizeof(edu_commands) / sizeof(edu_commands[0]),
};
