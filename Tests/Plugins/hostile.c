/* SPDX-License-Identifier: MIT */
/*
 * Plugins that attack the host through what it must accept from them. One
 * source, one plugin per HOSTILE_* macro (see Makefile):
 *
 *   hostile-args.so    `hostile u32(u32)` calls every host function with
 *                      hostile arguments (NULL and made-up handles, indices,
 *                      sizes, offsets and timeouts out of range, NULL
 *                      out-pointers) and logs one line per call,
 *                      "hostile NAME = RESULT" (RESULT in decimal, or "ok"
 *                      for a void call that came back); returns how many
 *                      calls it made. The host must answer every one with
 *                      an error and survive.
 *   huge-bound.so      declares the largest callback_timeout_ms and
 *                      attach_timeout_ms there are and spins in interrupt():
 *                      only the host's cap ends it
 *   nasty-strings.so   its version holds ESC [2J (clear screen), its
 *                      command help ESC [31m, and `shout u32(u32)` logs a line
 *                      holding ESC ]0; (set the terminal title), a DEL and a
 *                      C1 CSI: none may reach a terminal raw
 *
 * Each has `raise u32(u32)` like misbehave.c: write the value to the edu raise
 * register and wait for the interrupt.
 */
#include "edu_programs.h"

#include <stdint.h>
#include <stdio.h>

struct ctx {
	const struct dh_host *host;
	dh_instance *inst;
	volatile uint32_t seen;
};

static struct ctx the_ctx;

static int32_t attach(const struct dh_host *host, dh_instance *inst, void **context)
{
	the_ctx.host = host;
	the_ctx.inst = inst;
	*context = &the_ctx;
	return DH_OK;
}

static void detach(void *context)
{
	(void)context;
}

static void interrupt(void *context, const struct dh_event *ev)
{
	struct ctx *c = context ? context : &the_ctx;

	c->seen = (uint32_t)ev->snap[0];
#if defined(HOSTILE_HUGE_BOUND)
	for (;;)
		c->seen += 1;
#endif
}

static void timer(void *context, uint32_t id)
{
	(void)context;
	(void)id;
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

#if defined(HOSTILE_ARGS)
static uint32_t calls;

static void report(struct ctx *c, const char *name, long long result)
{
	char line[128];

	snprintf(line, sizeof(line), "hostile %s = %lld", name, result);
	c->host->log(c->inst, DH_LOG_INFO, line);
	calls++;
}

#define VOID_CALL(name, call) do { call; report(c, name, 0); } while (0)

static uint32_t hostile(void *context, uint32_t unused)
{
	struct ctx *c = context;
	const struct dh_host *h = c->host;
	dh_instance *inst = c->inst;
	/* A pointer to real memory that is not a handle the host gave out. */
	dh_instance *fake = (dh_instance *)&the_ctx;
	volatile void *base;
	uint64_t size;
	struct dh_dma_buffer buf, real;
	struct dh_instance_info info;
	uint8_t blob[16] = { 0 };
	uint32_t got;

	(void)unused;
	calls = 0;

	VOID_CALL("log_null_inst", h->log(NULL, DH_LOG_INFO, "nobody"));
	VOID_CALL("log_fake_inst", h->log(fake, DH_LOG_INFO, "nobody"));
	VOID_CALL("log_level_99", h->log(inst, 99, "level 99"));
	VOID_CALL("log_level_neg", h->log(inst, -7, "level -7"));
	VOID_CALL("log_null_msg", h->log(inst, DH_LOG_INFO, NULL));

	report(c, "read8_null_inst", h->read8(NULL, 0, 0));
	report(c, "read16_fake_inst", h->read16(fake, 0, 0));
	report(c, "read32_bar6", h->read32(inst, DH_NUM_BARS, 0));
	report(c, "read32_bar_max", h->read32(inst, UINT32_MAX, 0));
	report(c, "read32_offset_max", h->read32(inst, 0, UINT64_MAX));
	report(c, "read32_misaligned", h->read32(inst, 0, 2));
	report(c, "read64_offset_near_max", (long long)(h->read64(inst, 0, UINT64_MAX - 7) == UINT64_MAX));
	VOID_CALL("write8_null_inst", h->write8(NULL, 0, 0, 1));
	VOID_CALL("write32_offset_max", h->write32(inst, 0, UINT64_MAX - 3, 1));
	VOID_CALL("write64_bar_max", h->write64(fake, UINT32_MAX, 0, 1));

	report(c, "bar_pointer_null_inst", h->bar_pointer(NULL, 0, &base, &size));
	report(c, "bar_pointer_bar6", h->bar_pointer(inst, DH_NUM_BARS, &base, &size));
	report(c, "bar_pointer_bar_max", h->bar_pointer(inst, UINT32_MAX, &base, &size));
	report(c, "bar_pointer_null_out", h->bar_pointer(inst, 0, NULL, NULL));

	report(c, "dma_set_mask_null_inst", h->dma_set_mask(NULL, 32));
	report(c, "dma_set_mask_0", h->dma_set_mask(inst, 0));
	report(c, "dma_set_mask_65", h->dma_set_mask(inst, 65));
	report(c, "dma_set_mask_max", h->dma_set_mask(inst, UINT32_MAX));

	report(c, "dma_alloc_null_inst", h->dma_alloc(NULL, 4096, &buf));
	report(c, "dma_alloc_0", h->dma_alloc(inst, 0, &buf));
	report(c, "dma_alloc_max", h->dma_alloc(inst, UINT64_MAX, &buf));
	report(c, "dma_alloc_null_out", h->dma_alloc(inst, 4096, NULL));
	/* A real buffer, then handles that would alias it if the host
	 * truncated them. */
	report(c, "dma_alloc_real", h->dma_alloc(inst, 4096, &real));
	report(c, "dma_free_null_inst", h->dma_free(NULL, real.handle));
	report(c, "dma_free_null", h->dma_free(inst, NULL));
	report(c, "dma_free_alias", h->dma_free(inst, (dh_dma *)((uintptr_t)real.handle + ((uintptr_t)1 << 32))));
	report(c, "dma_free_max", h->dma_free(inst, (dh_dma *)UINTPTR_MAX));
	report(c, "dma_free_real", h->dma_free(inst, real.handle));
	report(c, "dma_free_twice", h->dma_free(inst, real.handle));

	report(c, "unmask_null_inst", h->unmask(NULL));

	report(c, "timer_start_null_inst", h->timer_start(NULL, 0, 1, 0));
	report(c, "timer_start_id_max", h->timer_start(inst, UINT32_MAX, 1, 0));
	report(c, "timer_start_id_16", h->timer_start(inst, DH_MAX_TIMERS, 1, 0));
	report(c, "timer_start_first_0", h->timer_start(inst, 0, 0, 0));
	/* Legal, if silly: far in the future. Must not overflow the timespec. */
	report(c, "timer_start_times_max", h->timer_start(inst, 0, UINT64_MAX, UINT64_MAX));
	report(c, "timer_stop_id_max", h->timer_stop(inst, UINT32_MAX));
	report(c, "timer_stop_null_inst", h->timer_stop(NULL, 0));
	report(c, "timer_stop_0", h->timer_stop(inst, 0));

	report(c, "state_save_null_inst", h->state_save(NULL, blob, sizeof(blob)));
	report(c, "state_save_null_data", h->state_save(inst, NULL, 10));
	report(c, "state_save_size_max", h->state_save(inst, blob, UINT32_MAX));
	report(c, "state_save_too_big", h->state_save(inst, blob, DH_STATE_MAX + 1));
	report(c, "state_load_null_inst", h->state_load(NULL, blob, sizeof(blob), &got));
	report(c, "state_load_null_size", h->state_load(inst, blob, sizeof(blob), NULL));

	report(c, "instance_info_null_inst", h->instance_info(NULL, &info));
	report(c, "instance_info_null", h->instance_info(inst, NULL));
	info.struct_size = 0;
	report(c, "instance_info_size_0", h->instance_info(inst, &info));
	info.struct_size = UINT32_MAX;
	report(c, "instance_info_size_max", h->instance_info(inst, &info));
	report(c, "instance_info_size_max_filled", info.struct_size);

	report(c, "wait_events_null_inst", h->wait_events(NULL, 0));
	report(c, "wait_events_fake_inst", h->wait_events(fake, UINT64_MAX));
	report(c, "wait_events_0_idle", h->wait_events(inst, 0));
	/* A huge timeout with an event already pending returns at once;
	 * UINT64_MAX overflowed the host's rounding (SIGILL) before. */
	c->seen = 0;
	h->write32(inst, 0, EDU_REG_IRQ_RAISE, 5);
	report(c, "wait_events_max_pending", h->wait_events(inst, UINT64_MAX));
	report(c, "wait_events_max_seen", c->seen);
	c->seen = 0;
	h->write32(inst, 0, EDU_REG_IRQ_RAISE, 6);
	report(c, "wait_events_max_minus_1_pending", h->wait_events(inst, UINT64_MAX - 1));

	report(c, "get_extension_null_id", h->get_extension(inst, NULL) != NULL);
	report(c, "get_extension_null_inst", h->get_extension(NULL, "drvhost.trace/1") != NULL);
	return calls;
}
#endif

#if defined(HOSTILE_NASTY_STRINGS)
static uint32_t shout(void *context, uint32_t unused)
{
	struct ctx *c = context;

	(void)unused;
	c->host->log(c->inst, DH_LOG_WARNING, "title \x1b]0;owned\x07 del \x7f c1 \xc2\x9b" "2J utf8 \xc3\xa9");
	return 1;
}
#endif

static const struct dh_command commands[] = {
#if defined(HOSTILE_ARGS)
	{ "hostile", "u32(u32)", (dh_command_fn)hostile, "call every host function with hostile arguments" },
#endif
#if defined(HOSTILE_NASTY_STRINGS)
	{ "shout", "u32(u32)", (dh_command_fn)shout, "log a line full of \x1b[31mterminal controls" },
#endif
	{ "raise", "u32(u32)", (dh_command_fn)raise_irq, "raise an edu interrupt, wait for it" },
};

const struct dh_plugin dh_plugin_entry = {
	.abi_major = DH_ABI_MAJOR,
	.abi_minor = DH_ABI_MINOR,
	.struct_size = sizeof(struct dh_plugin),
#if defined(HOSTILE_NASTY_STRINGS)
	.name = "nasty-strings",
	.version = "1.0\x1b[2J",
#else
	.name = "hostile",
	.version = "0",
#endif
	EDU_DESCRIPTOR_FIELDS,
#if defined(HOSTILE_HUGE_BOUND)
	.attach_timeout_ms = UINT32_MAX,
	.callback_timeout_ms = UINT32_MAX,
#else
	.callback_timeout_ms = 2000,
#endif
	.attach = attach,
	.detach = detach,
	.interrupt = interrupt,
	.timer = timer,
	.commands = commands,
	.command_count = COUNT_OF(commands),
};
