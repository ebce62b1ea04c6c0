// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_intx_neighbours storm|masked|nobit OURS NEIGHBOUR /dev/uioN
 * t_intx_neighbours unbind|command OURS
 *
 * A device driven through drvproxy must leave the other devices on its INTx
 * line, here an edu bound to uio_pci_generic, able to use it.
 *
 * storm: a storm on OURS, which has the INTx-disable bit, with an ACK
 * program that does acknowledge every interrupt (so the device's interrupt
 * status is already clear when the storm is noticed): OURS is masked with
 * its INTx-disable bit, never by disabling the line, and the neighbour's
 * interrupts keep arriving.
 *
 * masked: OURS in INTX_DISABLE mode, masked by its handler with its
 * interrupt still pending, must not claim the neighbour's interrupts.
 *
 * nobit (drvproxy loaded with nointxmask=1): without the INTx-disable bit,
 * INTX_SHARED needs an ACK program that can answer NOT_MINE and a RELEASE
 * program, else ENOEXEC; while shared, neither may be taken away (EBUSY)
 * and a refused change changes nothing. With both, OURS and the neighbour
 * each get exactly their own interrupts.
 *
 * unbind: a device unbound from drvproxy with its interrupt still pending,
 * idle or owned at the time, is left with its INTx-disable bit set, so it
 * cannot assert a line nobody answers for.
 *
 * command: every read-modify-write of PCI_COMMAND is serialised with the
 * top half's. OURS takes asynchronous interrupts (edu's factorial) in
 * INTX_DISABLE mode while a second thread has drvproxy switch bus mastering
 * on and off (BUS_MASTER; where the module lacks it, DMA_ALLOC, which only
 * turns it on, so PCI_COMMAND is written once). A write that undid the
 * handler's mask would let the pending interrupt fire again before UNMASK:
 * a second event for one interrupt.
 */
#define _GNU_SOURCE
#include "vmtest.h"
#include "vt_irq.h"

#include <errno.h>
#include <linux/pci_regs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define WAIT_MS		2000
#define STORM_MAX_RAISES 20000
#define NEIGHBOUR_ROUNDS 20

static bool intx_masked(const char *bdf)
{
	return vt_pci_command(bdf) & PCI_COMMAND_INTX_DISABLE;
}

static bool irq_pending(const char *bdf)
{
	return vt_pci_status(bdf) & PCI_STATUS_INTERRUPT;
}

static void neighbour_rounds(struct vt_neighbour *n, uint32_t base, const char *when)
{
	uint32_t i;

	for (i = 1; i <= NEIGHBOUR_ROUNDS; i++)
		vt_neighbour_roundtrip(n, base | i, WAIT_MS, when);
}

static void expect_no_event(int fd, const char *when)
{
	struct drvproxy_event ev;

	vt_check(vt_read_events(fd, &ev, 1, 0) == 0, "%s: an event seq %llu flags "
		 "0x%x snap 0x%llx that is not ours", when, (unsigned long long)ev.seq,
		 ev.flags, (unsigned long long)ev.snap[0]);
}

/* ---- storm ------------------------------------------------------------------ */

static void test_storm(struct vt_dev *dev, struct vt_neighbour *n)
{
	uint64_t storms = vt_counter(dev->bdf, "storms"), raises = 0;
	struct drvproxy_event batch[64], last = { 0 };
	size_t got;

	vt_set_edu_ack_prog(dev->fd);
	vt_set_irq(dev->fd, DRVPROXY_IRQ_INTX_SHARED);
	/*
	 * Every interrupt acknowledged, none read: a storm to the proxy. Once
	 * it is masked, a raise stays pending: that ends the loop.
	 */
	for (;;) {
		edu_write(dev->bar0, EDU_IRQ_RAISE, 0xb0000000u | (uint32_t)++raises);
		if (!edu_wait_status_clear(dev->bar0, 500))
			break;
		vt_check(raises < STORM_MAX_RAISES, "no storm after %llu unread "
			 "interrupts", (unsigned long long)raises);
	}
	vt_check(vt_counter(dev->bdf, "storms") == storms + 1, "raise %llu was not "
		 "acknowledged, yet the storms counter moved from %llu to %llu",
		 (unsigned long long)raises, (unsigned long long)storms,
		 (unsigned long long)vt_counter(dev->bdf, "storms"));
	vt_note("storm noticed after %llu interrupts", (unsigned long long)raises - 1);

	/* The line is the neighbour's as much as ours. */
	neighbour_rounds(n, 0x5000000u, "neighbour during our storm");
	vt_check(intx_masked(dev->bdf), "the storm on %s did not set its INTx-disable "
		 "bit (command 0x%04x)", dev->bdf, vt_pci_command(dev->bdf));
	/* Masked at the device, it stays quiet however often it is raised. */
	edu_write(dev->bar0, EDU_IRQ_RAISE, 0x1234);
	neighbour_rounds(n, 0x6000000u, "neighbour while ours is masked and raised");

	while ((got = vt_read_events(dev->fd, batch, 64, 0)) > 0)
		last = batch[got - 1];
	vt_check(last.flags & DRVPROXY_EVENT_STORM, "last record seq %llu flags 0x%x: "
		 "no STORM", (unsigned long long)last.seq, last.flags);

	/* Acknowledged and unmasked, it works as before. */
	edu_quiesce(dev->bar0);
	vt_unmask(dev->fd);
	vt_check(!intx_masked(dev->bdf), "UNMASK left the INTx-disable bit set");
	vt_roundtrip(dev, 0x99, last.seq + 1);
	neighbour_rounds(n, 0x7000000u, "neighbour after UNMASK");
}

/* ---- masked ------------------------------------------------------------------ */

static void test_masked(struct vt_dev *dev, struct vt_neighbour *n)
{
	struct drvproxy_event ev;
	uint64_t claimed;

	vt_set_irq(dev->fd, DRVPROXY_IRQ_INTX_DISABLE);
	edu_write(dev->bar0, EDU_IRQ_RAISE, 0x42);
	vt_wait_event(dev->fd, &ev, WAIT_MS, "our raise");
	vt_check(ev.seq == 1, "first event seq %llu", (unsigned long long)ev.seq);
	vt_check(intx_masked(dev->bdf) && irq_pending(dev->bdf),
		 "after our event: command 0x%04x status 0x%04x, want masked and pending",
		 vt_pci_command(dev->bdf), vt_pci_status(dev->bdf));
	claimed = vt_counter(dev->bdf, "interrupts");

	/* Ours is masked and pending; every interrupt now is the neighbour's. */
	neighbour_rounds(n, 0x5000000u, "neighbour while ours is masked");
	expect_no_event(dev->fd, "after the neighbour's interrupts");
	vt_check(vt_counter(dev->bdf, "interrupts") == claimed,
		 "our interrupts counter moved from %llu to %llu: the neighbour's "
		 "interrupts were claimed", (unsigned long long)claimed,
		 (unsigned long long)vt_counter(dev->bdf, "interrupts"));

	edu_write(dev->bar0, EDU_IRQ_ACK, 0x42);
	vt_unmask(dev->fd);
	edu_write(dev->bar0, EDU_IRQ_RAISE, 0x43);
	vt_wait_event(dev->fd, &ev, WAIT_MS, "our raise after UNMASK");
	vt_check(ev.seq == 2, "event after UNMASK: seq %llu, want 2",
		 (unsigned long long)ev.seq);
	edu_write(dev->bar0, EDU_IRQ_ACK, 0x43);
	vt_unmask(dev->fd);
}

/* ---- nobit -------------------------------------------------------------------- */

static const struct drvproxy_insn sloppy_ack[] = {
	{ .op = DRVPROXY_OP_READ, .width = 4, .offset = EDU_IRQ_STATUS },
	{ .op = DRVPROXY_OP_SNAPSHOT },
	{ .op = DRVPROXY_OP_WRITE, .width = 4, .offset = EDU_IRQ_ACK },
};

static const struct drvproxy_insn quiet_release[] = {
	{ .op = DRVPROXY_OP_WRITE_IMM, .width = 4, .offset = EDU_IRQ_ACK, .imm = 0xffffffffu },
};

static void expect_set_irq_refused(int fd, int want, const char *what)
{
	int ret = vt_try_set_irq(fd, DRVPROXY_IRQ_INTX_SHARED);

	vt_check(ret < 0 && errno == want, "INTX_SHARED %s: %s, want %s", what,
		 ret == 0 ? "accepted" : strerror(errno), strerror(want));
}

static void expect_set_prog_refused(int fd, uint32_t kind,
				    const struct drvproxy_insn *insns, uint32_t len,
				    const char *what)
{
	struct drvproxy_prog prog;
	int ret = vt_try_set_prog(fd, &prog, kind, 0, insns, len);

	vt_check(ret < 0 && errno == EBUSY, "while shared without the INTx-disable "
		 "bit, %s: %s, want EBUSY", what, ret == 0 ? "accepted" : strerror(errno));
}

static void test_nobit(struct vt_dev *dev, struct vt_neighbour *n)
{
	uint64_t not_mine;
	uint32_t i;

	vt_check(!(dev->info.flags & DRVPROXY_INFO_INTX_DISABLE),
		 "INFO reports the INTx-disable bit: is nointxmask=1 set?");
	vt_check(vt_try_set_irq(dev->fd, DRVPROXY_IRQ_INTX_DISABLE) < 0 &&
		 errno == EOPNOTSUPP, "INTX_DISABLE without the bit: %m, want EOPNOTSUPP");

	/* A sloppy ACK program would claim the neighbour's interrupts. */
	vt_set_prog(dev->fd, DRVPROXY_PROG_ACK, 0, sloppy_ack, 3);
	vt_set_prog(dev->fd, DRVPROXY_PROG_RELEASE, 0, quiet_release, 1);
	expect_set_irq_refused(dev->fd, ENOEXEC, "with an ACK program that cannot say NOT_MINE");
	/* Nothing could quiet the device when its owner goes. */
	vt_set_edu_ack_prog(dev->fd);
	vt_set_prog(dev->fd, DRVPROXY_PROG_RELEASE, 0, NULL, 0);
	expect_set_irq_refused(dev->fd, ENOEXEC, "without a RELEASE program");

	vt_set_prog(dev->fd, DRVPROXY_PROG_RELEASE, 0, quiet_release, 1);
	vt_set_irq(dev->fd, DRVPROXY_IRQ_INTX_SHARED);
	expect_set_prog_refused(dev->fd, DRVPROXY_PROG_RELEASE, NULL, 0,
				"removing the RELEASE program");
	expect_set_prog_refused(dev->fd, DRVPROXY_PROG_ACK, sloppy_ack, 3,
				"an ACK program that cannot say NOT_MINE");
	expect_set_prog_refused(dev->fd, DRVPROXY_PROG_ACK, NULL, 0,
				"removing the ACK program");

	/* The refusals changed nothing: each side gets its own interrupts. */
	not_mine = vt_counter(dev->bdf, "not_mine");
	for (i = 1; i <= NEIGHBOUR_ROUNDS; i++) {
		vt_roundtrip(dev, 0xc000u + i, i);
		vt_neighbour_roundtrip(n, 0x5000000u | i, WAIT_MS, "neighbour sharing with "
				       "a device without the INTx-disable bit");
		expect_no_event(dev->fd, "after the neighbour's interrupt");
	}
	vt_check(vt_counter(dev->bdf, "not_mine") > not_mine,
		 "not_mine did not move while the neighbour fired");

	/* Off the line, the programs are the owner's business again. */
	vt_set_irq(dev->fd, DRVPROXY_IRQ_NONE);
	vt_set_prog(dev->fd, DRVPROXY_PROG_ACK, 0, sloppy_ack, 3);
	vt_set_prog(dev->fd, DRVPROXY_PROG_RELEASE, 0, NULL, 0);
}

/* ---- unbind ------------------------------------------------------------------ */

/*
 * The device must be quiet: its interrupt pending, its INTx-disable bit set.
 * Acknowledge it either way, so a failure does not leave a line asserted.
 */
static void check_left_masked(const char *bdf, uint32_t value, const char *when)
{
	uint16_t cmd = vt_pci_command(bdf), status = vt_pci_status(bdf);
	volatile uint8_t *bar0 = vt_map_resource0(bdf);

	edu_write(bar0, EDU_IRQ_ACK, value);
	vt_check(status & PCI_STATUS_INTERRUPT, "%s: status 0x%04x, the interrupt "
		 "should still be pending", when, status);
	vt_check(cmd & PCI_COMMAND_INTX_DISABLE, "%s: command 0x%04x: the INTx-disable "
		 "bit is clear, the device asserts a line nobody answers for", when, cmd);
}

static void test_unbind(const char *bdf)
{
	struct drvproxy_event ev;
	struct vt_dev dev;
	char buf[64];

	/* Idle: opened, raised without an interrupt mode, closed. */
	vt_dev_open(&dev, bdf);
	edu_write(dev.bar0, EDU_IRQ_RAISE, 0x11);
	vt_dev_close(&dev);
	vt_check(intx_masked(bdf) && irq_pending(bdf), "bound and unowned: command "
		 "0x%04x status 0x%04x, want masked and pending", vt_pci_command(bdf),
		 vt_pci_status(bdf));
	vt_unbind_driver(bdf);
	check_left_masked(bdf, 0x11, "unbound while idle");

	/* Owned, in INTX_DISABLE mode, masked by the handler. */
	vt_bind_driver(bdf, "drvproxy");
	vt_dev_open(&dev, bdf);
	vt_set_irq(dev.fd, DRVPROXY_IRQ_INTX_DISABLE);
	edu_write(dev.bar0, EDU_IRQ_RAISE, 0x22);
	vt_wait_event(dev.fd, &ev, WAIT_MS, "the raise before unbind");
	vt_unbind_driver(bdf);
	vt_check(read(dev.fd, buf, sizeof(buf)) < 0 && errno == ENODEV,
		 "read after unbind: %m, want ENODEV");
	vt_dev_close(&dev);
	check_left_masked(bdf, 0x22, "unbound while owned");
	vt_bind_driver(bdf, "drvproxy");
}

/* ---- command ------------------------------------------------------------------ */

#define EDU_FACTORIAL		0x08
#define EDU_STATUS		0x20
#define EDU_STATUS_COMPUTING	0x01
#define EDU_STATUS_IRQFACT	0x80
#define EDU_FACT_IRQ		0x01
#define COMMAND_ROUNDS		3000

struct toggler {
	int fd;
	atomic_bool stop;
	unsigned long changes;
	bool use_bus_master;
};

/* Make drvproxy write PCI_COMMAND, as often as it will. */
static void *toggle_command(void *arg)
{
	struct toggler *t = arg;

	while (!atomic_load(&t->stop)) {
		if (t->use_bus_master) {
			struct drvproxy_bus_master bm = {
				.abi_version = DRVPROXY_ABI_VERSION,
				.enable = t->changes & 1,
			};

			vt_check(ioctl(t->fd, DRVPROXY_IOC_BUS_MASTER, &bm) == 0,
				 "BUS_MASTER %u: %m", bm.enable);
		} else {
			struct drvproxy_dma_alloc a = {
				.abi_version = DRVPROXY_ABI_VERSION, .size = 4096,
			};
			struct drvproxy_dma_free f = { .abi_version = DRVPROXY_ABI_VERSION };

			vt_check(ioctl(t->fd, DRVPROXY_IOC_DMA_ALLOC, &a) == 0,
				 "DMA_ALLOC: %m");
			f.id = a.id;
			vt_check(ioctl(t->fd, DRVPROXY_IOC_DMA_FREE, &f) == 0,
				 "DMA_FREE: %m");
		}
		t->changes++;
	}
	return NULL;
}

static bool has_bus_master_ioctl(int fd)
{
	struct drvproxy_bus_master bm = { .abi_version = DRVPROXY_ABI_VERSION, .enable = 0 };

	return ioctl(fd, DRVPROXY_IOC_BUS_MASTER, &bm) == 0;
}

static void test_command(const char *bdf)
{
	struct toggler t = { .stop = false };
	struct drvproxy_event ev[4];
	pthread_t thread;
	struct vt_dev dev;
	uint32_t i;
	size_t n;

	vt_dev_open(&dev, bdf);
	t.fd = dev.fd;
	t.use_bus_master = has_bus_master_ioctl(dev.fd);
	vt_set_irq(dev.fd, DRVPROXY_IRQ_INTX_DISABLE);
	edu_write(dev.bar0, EDU_STATUS, EDU_STATUS_IRQFACT);
	vt_check(pthread_create(&thread, NULL, toggle_command, &t) == 0, "pthread_create");
	srand(1);
	for (i = 1; i <= COMMAND_ROUNDS; i++) {
		/* Done at a time the device picks: an asynchronous interrupt. */
		edu_write(dev.bar0, EDU_FACTORIAL, 1000 + (uint32_t)rand() % 200000);
		n = vt_read_events(dev.fd, ev, 4, WAIT_MS);
		vt_check(n == 1 && ev[0].seq == i, "round %u: %zu events, first seq %llu",
			 i, n, (unsigned long long)ev[0].seq);
		/* Still masked by the handler: nothing more may come. */
		n = vt_read_events(dev.fd, ev, 4, 0);
		vt_check(n == 0, "round %u: a second event (seq %llu) for one interrupt: "
			 "the INTx mask was undone behind the handler's back", i,
			 (unsigned long long)ev[0].seq);
		vt_check(!(edu_read(dev.bar0, EDU_STATUS) & EDU_STATUS_COMPUTING),
			 "round %u: event while still computing", i);
		edu_write(dev.bar0, EDU_IRQ_ACK, EDU_FACT_IRQ);
		vt_unmask(dev.fd);
	}
	atomic_store(&t.stop, true);
	pthread_join(thread, NULL);
	vt_note("%u interrupts, %lu %s calls alongside", COMMAND_ROUNDS, t.changes,
		t.use_bus_master ? "BUS_MASTER" : "DMA_ALLOC");
	vt_check(vt_read_events(dev.fd, ev, 4, 0) == 0, "an event after the last round");
	edu_write(dev.bar0, EDU_STATUS, 0);
	vt_dev_close(&dev);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	struct vt_neighbour n;
	struct vt_dev dev;
	char name[64];

	snprintf(name, sizeof(name), "drvproxy_intx_%s", what);
	vt_begin(strdup(name), 240);
	if (!strcmp(what, "unbind") && argc == 3) {
		test_unbind(argv[2]);
		vt_pass();
	}
	if (!strcmp(what, "command") && argc == 3) {
		test_command(argv[2]);
		vt_pass();
	}
	vt_check(argc == 5, "usage: t_intx_neighbours storm|masked|nobit OURS "
		 "NEIGHBOUR /dev/uioN, or unbind|command OURS");
	vt_check(vt_irq_of(argv[2]) == vt_irq_of(argv[3]), "%s and %s do not share a line",
		 argv[2], argv[3]);
	vt_dev_open(&dev, argv[2]);
	vt_neighbour_open(&n, argv[3], argv[4]);
	if (!strcmp(what, "storm"))
		test_storm(&dev, &n);
	else if (!strcmp(what, "masked"))
		test_masked(&dev, &n);
	else if (!strcmp(what, "nobit"))
		test_nobit(&dev, &n);
	else
		vt_fail("unknown test '%s'", what);
	vt_dev_close(&dev);
	vt_pass();
}
