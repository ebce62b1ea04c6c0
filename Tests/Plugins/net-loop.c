/* SPDX-License-Identifier: MIT */
/*
 * A net-class test plugin on the edu device (real or simulated): a NIC
 * whose cable is looped back. Every frame the host transmits comes back as
 * received, with source and destination swapped, through a four-frame ring
 * that a timer drains, so that the host meets a full ring (backpressure)
 * and transmit_ready. Commands drive what a device would: the link, and
 * malformed frames.
 */
#define _POSIX_C_SOURCE 200809L
#include <drvhost/net.h>

#include <stdlib.h>
#include <string.h>

#include "edu_programs.h"

#define RING 4
#define MAX_FRAME 1518

struct loop {
	const struct dh_host *host;
	dh_instance *inst;
	const struct dh_net_host *net;
	struct dh_net_device device;
	uint8_t ring[RING][MAX_FRAME];
	uint32_t length[RING];
	uint32_t used;
	int ring_was_full;
	uint32_t links_said;		/* set_link calls made */
};

static const struct dh_net_host *net_host(struct loop *loop)
{
	if (!loop->net)
		loop->net = loop->host->get_extension(loop->inst, DH_NET_EXTENSION);
	return loop->net;
}

static uint32_t transmit(void *context, uint32_t queue, const struct dh_net_frame *frames, uint32_t count)
{
	struct loop *loop = context;
	uint32_t taken = 0;

	(void)queue;
	while (taken < count && loop->used < RING) {
		uint32_t n = frames[taken].length < MAX_FRAME ? frames[taken].length : MAX_FRAME;

		memcpy(loop->ring[loop->used], frames[taken].data, n);
		loop->length[loop->used++] = n;
		taken++;
	}
	if (taken < count)
		loop->ring_was_full = 1;
	/* The "cable" delivers after 1 ms. */
	loop->host->timer_start(loop->inst, 0, 1000000, 0);
	return taken;
}

static void timer(void *context, uint32_t id)
{
	struct loop *loop = context;
	struct dh_net_frame frames[RING];
	uint8_t mac[6];
	uint32_t i;

	if (id == 1) {
		/* The first callback after attach: the host's half is there.
		 * Built as net-loop-cold, the link is down after attach, as a
		 * NIC's just reset, until the set_link command. */
#ifdef NET_LOOP_COLD
		net_host(loop)->set_link(loop->inst, 0);
#else
		net_host(loop)->set_link(loop->inst, 1);
#endif
		loop->links_said++;
		return;
	}
	for (i = 0; i < loop->used; i++) {
		memcpy(mac, loop->ring[i], 6);
		memcpy(loop->ring[i], loop->ring[i] + 6, 6);
		memcpy(loop->ring[i] + 6, mac, 6);
		frames[i] = (struct dh_net_frame){ loop->ring[i], loop->length[i], 0 };
	}
	if (loop->used)
		net_host(loop)->receive(loop->inst, 0, frames, loop->used);
	loop->used = 0;
	if (loop->ring_was_full) {
		loop->ring_was_full = 0;
		net_host(loop)->transmit_ready(loop->inst, 0);
	}
}

static int32_t attach(const struct dh_host *host, dh_instance *inst, void **context)
{
	struct loop *loop = calloc(1, sizeof(*loop));
	static const uint8_t mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

	if (!loop)
		return DH_ERR_NO_MEMORY;
	loop->host = host;
	loop->inst = inst;
	loop->device.struct_size = sizeof(loop->device);
	memcpy(loop->device.mac, mac, 6);
	loop->device.mtu = 1500;
	loop->device.queue_count = 1;
	loop->device.transmit = transmit;
	*context = loop;
	/* Link up as soon as the host serves the interface. */
	host->timer_start(inst, 1, 1000000, 0);
	return DH_OK;
}

static void detach(void *context)
{
	free(context);
}

static void interrupt(void *context, const struct dh_event *event)
{
	(void)context;
	(void)event;
}

static const void *get_extension(void *context, const char *id)
{
	struct loop *loop = context;

	return strcmp(id, DH_NET_EXTENSION) == 0 ? &loop->device : NULL;
}

static void set_link(void *context, uint32_t up)
{
	struct loop *loop = context;

	net_host(loop)->set_link(loop->inst, up);
	loop->links_said++;
}

static uint32_t links_said(void *context)
{
	return ((struct loop *)context)->links_said;
}

/* Zero length, short, oversized, and on a queue the device lacks: all four
 * dropped and counted, nothing delivered. */
static uint32_t receive_malformed(void *context)
{
	struct loop *loop = context;
	static uint8_t big[1600];
	struct dh_net_frame bad[3] = {
		{ big, 0, 0 }, { big, 13, 0 }, { big, sizeof(big), 0 },
	};
	uint32_t delivered = net_host(loop)->receive(loop->inst, 0, bad, 3);

	memset(big, 0xff, 14);
	bad[0].length = 60;
	return delivered + net_host(loop)->receive(loop->inst, 7, bad, 1);
}

static const struct dh_command commands[] = {
	{ "set_link", "void(u32)", (dh_command_fn)set_link, "link up (1) or down (0)" },
	{ "receive_malformed", "u32()", (dh_command_fn)receive_malformed, "hand over four malformed frames" },
	{ "links_said", "u32()", (dh_command_fn)links_said, "how often this instance called set_link" },
};

const struct dh_plugin dh_plugin_entry = {
	.abi_major = DH_ABI_MAJOR,
	.abi_minor = DH_ABI_MINOR,
	.struct_size = sizeof(struct dh_plugin),
	.name = "net-loop",
	.version = "0",
	EDU_DESCRIPTOR_FIELDS,
	.attach = attach,
	.detach = detach,
	.interrupt = interrupt,
	.timer = timer,
	.commands = commands,
	.command_count = COUNT_OF(commands),
	.get_extension = get_extension,
};
