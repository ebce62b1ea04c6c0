// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_modes intx-disable BDF | t_modes msi BDF
 *
 * intx-disable: without an ack program, the top half masks the device with
 * the PCI 2.3 INTx-disable bit and queues an event; the device keeps
 * asserting until user space acknowledges it, and UNMASK clears the bit.
 *
 * msi: events arrive through the device's MSI vector (its /proc/interrupts
 * line counts exactly our raises, the INTx line none), and SET_IRQ NONE
 * frees the vector again.
 */
#include "vmtest.h"
#include "vt_safety.h"

#include <linux/pci_regs.h>
#include <stdio.h>
#include <string.h>

#define ROUNDS	200
#define WAIT_MS	2000

static void check_plain_event(const struct drvproxy_event *ev, uint32_t round)
{
	vt_check(ev->seq == round && ev->flags == 0 && ev->dropped == 0 &&
		 ev->nsnap == 0,
		 "round %u: event seq %llu flags 0x%x dropped %u nsnap %u, want "
		 "seq %u and nothing else (no ack program)", round,
		 (unsigned long long)ev->seq, ev->flags, ev->dropped, ev->nsnap, round);
}

static void check_intx_masked(int cfg, bool want, uint32_t round, const char *when)
{
	uint16_t cmd = vt_config_read16(cfg, PCI_COMMAND);

	vt_check(!!(cmd & PCI_COMMAND_INTX_DISABLE) == want,
		 "round %u, %s: command register 0x%04x, INTx-disable bit should be %s",
		 round, when, cmd, want ? "set" : "clear");
}

static void check_no_more_events(int fd)
{
	struct drvproxy_event ev;

	vt_check(vt_read_events(fd, &ev, 1, 0) == 0,
		 "unexpected event seq %llu flags 0x%x after the last round",
		 (unsigned long long)ev.seq, ev.flags);
}

static void test_intx_disable(struct vt_dev *dev)
{
	struct drvproxy_event ev;
	uint32_t i;
	int cfg;

	vt_check(dev->info.flags & DRVPROXY_INFO_INTX_DISABLE,
		 "INFO does not report INTx-disable support");
	cfg = vt_config_open(dev->bdf);
	vt_set_irq(dev->fd, DRVPROXY_IRQ_INTX_DISABLE);
	check_intx_masked(cfg, false, 0, "after SET_IRQ");
	for (i = 1; i <= ROUNDS; i++) {
		uint16_t status;

		edu_write(dev->bar0, EDU_IRQ_RAISE, i);
		vt_wait_event(dev->fd, &ev, WAIT_MS, "a raise");
		check_plain_event(&ev, i);
		check_intx_masked(cfg, true, i, "after the event");
		status = vt_config_read16(cfg, PCI_STATUS);
		vt_check(status & PCI_STATUS_INTERRUPT,
			 "round %u: status register 0x%04x: the device stopped asserting "
			 "before anyone acknowledged it", i, status);
		edu_write(dev->bar0, EDU_IRQ_ACK, i);
		vt_unmask(dev->fd);
		check_intx_masked(cfg, false, i, "after UNMASK");
	}
	check_no_more_events(dev->fd);
}

/* An IRQ nobody has requested or counted has no line: count 0. */
static long long irq_count_or_zero(unsigned int irq, bool *listed)
{
	long long count;
	char text[512];

	*listed = vt_irq_line(irq, &count, text, sizeof(text));
	return *listed ? count : 0;
}

static long long msi_line_count(unsigned int irq)
{
	long long count;
	char text[512];

	vt_check(vt_irq_line(irq, &count, text, sizeof(text)),
		 "no /proc/interrupts line for MSI IRQ %u", irq);
	vt_check(strstr(text, "PCI-MSI") != NULL,
		 "IRQ %u is not an MSI: %s", irq, text);
	return count;
}

/* An MSI is a memory write: without bus mastering it never leaves the device. */
__attribute__((noreturn))
static void explain_missing_msi(struct vt_dev *dev, uint32_t round,
				unsigned int msi_irq, long long msi_before)
{
	int cfg = vt_config_open(dev->bdf);
	uint16_t cmd = vt_config_read16(cfg, PCI_COMMAND);

	vt_fail("round %u: no event within %d ms (MSI IRQ %u counted %lld; command "
		"register 0x%04x, bus mastering %s; edu status 0x%x)", round,
		WAIT_MS, msi_irq, msi_line_count(msi_irq) - msi_before, cmd,
		cmd & PCI_COMMAND_MASTER ? "on" : "off",
		edu_read(dev->bar0, EDU_IRQ_STATUS));
}

static void test_msi(struct vt_dev *dev)
{
	long long msi_before, msi_moved, intx_before, intx_after;
	unsigned int intx_irq, msi_irq;
	struct drvproxy_event ev;
	bool listed;
	uint32_t i;

	vt_check(dev->info.irq_kinds & DRVPROXY_IRQ_KIND_MSI,
		 "INFO does not offer MSI (irq_kinds 0x%x)", dev->info.irq_kinds);
	intx_irq = vt_irq_of(dev->bdf);
	intx_before = irq_count_or_zero(intx_irq, &listed);
	vt_set_irq(dev->fd, DRVPROXY_IRQ_MSI);
	vt_bus_master(dev->fd, true);
	/* With MSI enabled, sysfs `irq` shows the MSI vector's IRQ. */
	msi_irq = vt_irq_of(dev->bdf);
	vt_check(msi_irq != intx_irq, "sysfs irq still %u: MSI not enabled", msi_irq);
	msi_before = msi_line_count(msi_irq);
	for (i = 1; i <= ROUNDS; i++) {
		edu_write(dev->bar0, EDU_IRQ_RAISE, i);
		if (vt_read_events(dev->fd, &ev, 1, WAIT_MS) != 1)
			explain_missing_msi(dev, i, msi_irq, msi_before);
		check_plain_event(&ev, i);
		edu_write(dev->bar0, EDU_IRQ_ACK, i);
	}
	check_no_more_events(dev->fd);
	msi_moved = msi_line_count(msi_irq) - msi_before;
	vt_check(msi_moved == ROUNDS, "MSI IRQ %u counted %lld interrupts for %u raises",
		 msi_irq, msi_moved, ROUNDS);
	intx_after = irq_count_or_zero(intx_irq, &listed);
	vt_check(intx_after == intx_before, "INTx IRQ %u moved by %lld during MSI rounds",
		 intx_irq, intx_after - intx_before);

	vt_set_irq(dev->fd, DRVPROXY_IRQ_NONE);
	vt_check(vt_irq_of(dev->bdf) == intx_irq, "MSI still enabled after SET_IRQ NONE");
	irq_count_or_zero(msi_irq, &listed);
	vt_check(!listed, "MSI IRQ %u still in /proc/interrupts after SET_IRQ NONE", msi_irq);
}

int main(int argc, char **argv)
{
	struct vt_dev dev;
	bool msi;

	msi = argc == 3 && !strcmp(argv[1], "msi");
	vt_begin(msi ? "drvproxy_msi" : "drvproxy_intx_disable", 120);
	vt_check(argc == 3 && (msi || !strcmp(argv[1], "intx-disable")),
		 "usage: t_modes intx-disable|msi BDF");
	vt_dev_open(&dev, argv[2]);
	if (msi)
		test_msi(&dev);
	else
		test_intx_disable(&dev);
	vt_dev_close(&dev);
	vt_pass();
}
