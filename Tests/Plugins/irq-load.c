/* SPDX-License-Identifier: MIT */
/*
 * A steady interrupt load on an edu device, counted at both ends: a timer
 * raises the next interrupt (its number in the status bits 16..31) once the
 * previous one arrived, and interrupt() checks each number. Used to show
 * that hostd's own restart loses no interrupt: the driverhost serves them
 * while no hostd is there, and the counts only grow.
 *
 * Commands: handled (interrupts received in order), lost (raised but never
 * received, or received out of order or twice, or dropped by the ring),
 * pause 1 (stop raising and wait for the one in flight: a quiet point to
 * compare with the device's own interrupt counter), pause 0 (go on).
 */
#include <drvhost/plugin.h>

#include <stdlib.h>

#include "edu_programs.h"

#define LOAD_PERIOD_NS	5000000ull	/* 200 interrupts a second */
#define LOAD_WAIT_NS	1000000000ull
#define LOAD_SHIFT	16

struct load {
	const struct dh_host *host;
	dh_instance *inst;
	uint64_t raised, handled, unexpected;
	uint32_t next;		/* number of the next interrupt to raise */
	int in_flight, paused;
};

static void raise_next(struct load *l)
{
	l->next = l->next % 0xffff + 1;
	l->in_flight = 1;
	l->raised++;
	l->host->write32(l->inst, 0, EDU_REG_IRQ_RAISE, l->next << LOAD_SHIFT);
}

static int32_t attach(const struct dh_host *host, dh_instance *inst, void **context)
{
	struct load *l = calloc(1, sizeof(*l));

	if (!l)
		return DH_ERR_NO_MEMORY;
	l->host = host;
	l->inst = inst;
	*context = l;
	return host->timer_start(inst, 0, LOAD_PERIOD_NS, LOAD_PERIOD_NS);
}

static void detach(void *context)
{
	struct load *l = context;

	l->host->timer_stop(l->inst, 0);
	free(l);
}

static void timer(void *context, uint32_t id)
{
	struct load *l = context;

	(void)id;
	if (!l->paused && !l->in_flight)
		raise_next(l);
}

static void interrupt(void *context, const struct dh_event *ev)
{
	struct load *l = context;
	uint32_t number = (uint32_t)(ev->snap[0] >> LOAD_SHIFT) & 0xffff;

	l->unexpected += ev->dropped;
	if (ev->nsnap == 0 || !l->in_flight || number != l->next) {
		l->unexpected++;
		return;
	}
	l->in_flight = 0;
	l->handled++;
}

static uint64_t handled(void *context)
{
	return ((struct load *)context)->handled;
}

static uint64_t lost(void *context)
{
	struct load *l = context;

	return l->raised - l->handled - (uint64_t)l->in_flight + l->unexpected;
}

static uint32_t pause_load(void *context, uint32_t on)
{
	struct load *l = context;

	l->paused = on != 0;
	while (l->paused && l->in_flight)
		if (l->host->wait_events(l->inst, LOAD_WAIT_NS) != DH_OK)
			break;
	return (uint32_t)l->in_flight;
}

static const struct dh_command commands[] = {
	{ "handled", "u64()", (dh_command_fn)handled, "interrupts received in order" },
	{ "lost", "u64()", (dh_command_fn)lost, "interrupts raised and not received once, in order" },
	{ "pause", "u32(u32)", (dh_command_fn)pause_load, "1: stop raising, wait for the one in flight (returns 1 if it never came); 0: go on" },
};

const struct dh_plugin dh_plugin_entry = {
	.abi_major = DH_ABI_MAJOR,
	.abi_minor = DH_ABI_MINOR,
	.struct_size = sizeof(struct dh_plugin),
	.name = "irq-load",
	.version = "1",
	EDU_DESCRIPTOR_FIELDS,
	.attach = attach,
	.detach = detach,
	.interrupt = interrupt,
	.timer = timer,
	.commands = commands,
	.command_count = COUNT_OF(commands),
};
