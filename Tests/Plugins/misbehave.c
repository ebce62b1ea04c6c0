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
 *
 * Each has the commands `raise u32(u32)`: write the value to the edu raise
 * register and wait for the interrupt, which is where two of them misbehave;
 * and `peek u32(u32)`: read the 32-bit register at that BAR0 offset.
 */
#include "edu_programs.h"

#include <stddef.h>

struct ctx {
	const struct dh_host *host;
	dh_instance *inst;
	uint32_t seen;
};

static struct ctx the_ctx;
#if defined(MISBEHAVE_CRASH_INTERRUPT)
static uint32_t *volatile nowhere; /* NULL, but the compiler cannot tell */
#endif

static int32_t attach(const struct dh_host *host, dh_instance *inst, void **context)
{
	the_ctx.host = host;
	the_ctx.inst = inst;
	*context = &the_ctx;
#if defined(MISBEHAVE_ATTACH_FAILS)
	host->log(inst, DH_LOG_ERROR, "attach fails on purpose");
	return DH_ERR_DEVICE;
#else
	return DH_OK;
#endif
}

static void detach(void *context)
{
	(void)context;
}

static void interrupt(void *context, const struct dh_event *ev)
{
	struct ctx *c = context;

	c->seen = (uint32_t)ev->snap[0];
#if defined(MISBEHAVE_CRASH_INTERRUPT)
	*nowhere = c->seen;
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

static const struct dh_command commands[] = {
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
	.callback_timeout_ms = 300,
	.attach = attach,
	.detach = detach,
	.interrupt = interrupt,
	.commands = commands,
	.command_count = COUNT_OF(commands),
};
