/* SPDX-License-Identifier: MIT */
/*
 * A drvhost plugin template for QEMU's edu device (1234:11e8): the smallest
 * plugin that uses every part of the ABI a real driver needs. Copy it, rename
 * it, and change the registers, programs and commands for your device.
 */
#include <drvhost/plugin.h>

#include <stdlib.h>

#define REG_ID		0x00	/* edu: 0xRRrr00ed */
#define REG_IRQ_STATUS	0x24	/* pending interrupt bits */
#define REG_IRQ_RAISE	0x60	/* write v: pending |= v */
#define REG_IRQ_ACK	0x64	/* write v: pending &= ~v */
#define WAIT_NS		2000000000ull

struct myplugin {
	const struct dh_host *host;
	dh_instance *inst;
	uint32_t last_status;	/* what the ACK program snapshotted last */
	uint64_t interrupts;
};

/* attach: check that this is the device we expect, keep our state. */
static int32_t my_attach(const struct dh_host *host, dh_instance *inst, void **context)
{
	struct myplugin *me;

	if ((host->read32(inst, 0, REG_ID) & 0xff) != 0xed) {
		host->log(inst, DH_LOG_ERROR, "not an edu device");
		return DH_ERR_DEVICE;
	}
	me = calloc(1, sizeof(*me));
	if (!me)
		return DH_ERR_NO_MEMORY;
	me->host = host;
	me->inst = inst;
	*context = me;
	host->log(inst, DH_LOG_INFO, "myplugin attached");
	return DH_OK;
}

static void my_detach(void *context)
{
	free(context);
}

/* The kernel already ran the ACK program: snap[0] is the status it read. */
static void my_interrupt(void *context, const struct dh_event *event)
{
	struct myplugin *me = context;

	me->interrupts++;
	if (event->nsnap > 0)
		me->last_status = (uint32_t)event->snap[0];
}

/* Commands: `driverhost --call id` and `--call raise 4096`. */
static uint32_t my_id(void *context)
{
	struct myplugin *me = context;

	return me->host->read32(me->inst, 0, REG_ID);
}

/* Raise an interrupt with these bits, wait for it, return what the ACK
 * program saw (0 if it never came). */
static uint32_t my_raise(void *context, uint32_t bits)
{
	struct myplugin *me = context;
	uint64_t before = me->interrupts;

	me->last_status = 0;
	me->host->write32(me->inst, 0, REG_IRQ_RAISE, bits);
	while (me->interrupts == before)
		if (me->host->wait_events(me->inst, WAIT_NS) != DH_OK)
			return 0;
	return me->last_status;
}

/*
 * A command that returns a record (ABI 1.2): the signature names the
 * fields, the host passes a zeroed struct of that layout as the last
 * argument, and `hostctl call` prints "id=0x010000ed bar0=1048576 ...".
 */
struct my_info {
	uint32_t id;		/* x32 */
	uint64_t bar0;		/* u64 */
	uint8_t bar0_io;	/* u8 */
	uint32_t irq_line;	/* u32 */
};

static int32_t my_info(void *context, struct my_info *out)
{
	struct myplugin *me = context;
	struct dh_instance_info info = { .struct_size = sizeof(info) };
	int32_t status = me->host->instance_info(me->inst, &info);

	if (status != DH_OK)
		return status;
	out->id = me->host->read32(me->inst, 0, REG_ID);
	out->bar0 = info.bar_size[0];
	out->bar0_io = info.bar_kind[0] == DH_BAR_IO;
	out->irq_line = info.irq_line;
	return DH_OK;
}

static const struct dh_pci_match my_matches[] = {
	DH_MATCH_ID(0x1234, 0x11e8),
};

/* Runs in the interrupt top half: ours? acknowledge, remember the cause. */
static const struct dh_insn my_ack[] = {
	DH_INSN_READ(4, 0, REG_IRQ_STATUS),
	DH_INSN_NOT_MINE_IF_ZERO(),
	DH_INSN_SNAPSHOT(),
	DH_INSN_WRITE(4, 0, REG_IRQ_ACK),
};

/* Runs when driverhost goes away, crash included: leave nothing pending. */
static const struct dh_insn my_release[] = {
	DH_INSN_READ(4, 0, REG_IRQ_STATUS),
	DH_INSN_WRITE(4, 0, REG_IRQ_ACK),
};

static const struct dh_command my_commands[] = {
	{ "id", "u32()", (dh_command_fn)my_id, "the device's id register" },
	{ "raise", "u32(u32)", (dh_command_fn)my_raise, "raise an interrupt, return its status" },
	{ "info", "{id:x32,bar0:u64,bar0_io:u8,irq_line:u32}()", (dh_command_fn)my_info,
	  "id register, BAR0 size and kind, interrupt line" },
};

const struct dh_plugin dh_plugin_entry = {
	.abi_major = DH_ABI_MAJOR,
	.abi_minor = DH_ABI_MINOR,
	.struct_size = sizeof(struct dh_plugin),
	.name = "myplugin",
	.version = "0.1.0",
	.matches = my_matches,
	.match_count = 1,
	.irq_mode = DH_IRQ_INTX_SHARED,
	.ack_len = sizeof(my_ack) / sizeof(my_ack[0]),
	.ack_program = my_ack,
	.release_len = sizeof(my_release) / sizeof(my_release[0]),
	.release_program = my_release,
	.attach = my_attach,
	.detach = my_detach,
	.interrupt = my_interrupt,
	.commands = my_commands,
	.command_count = sizeof(my_commands) / sizeof(my_commands[0]),
};
