// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Helpers for the interrupt-safety tests; see vt_irq.h. */
#define _GNU_SOURCE
#include "vt_irq.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void vt_sysfs_write(const char *path, const char *value)
{
	size_t len = strlen(value);
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	vt_check(fd >= 0, "open %s: %m", path);
	n = write(fd, value, len);
	vt_check(n == (ssize_t)len, "write '%s' to %s: %m", value, path);
	close(fd);
}

void vt_unbind_driver(const char *bdf)
{
	char path[160];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
	if (access(path, F_OK) == 0)
		vt_sysfs_write(path, bdf);
}

void vt_bind_driver(const char *bdf, const char *driver)
{
	char path[160];

	vt_unbind_driver(bdf);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	vt_sysfs_write(path, driver);
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", driver);
	vt_sysfs_write(path, bdf);
}

static uint16_t config16(const char *bdf, off_t offset)
{
	int cfg = vt_config_open(bdf);
	uint16_t v = vt_config_read16(cfg, offset);

	close(cfg);
	return v;
}

uint16_t vt_pci_command(const char *bdf)
{
	return config16(bdf, PCI_COMMAND);
}

uint16_t vt_pci_status(const char *bdf)
{
	return config16(bdf, PCI_STATUS);
}

uint64_t vt_wait_counter_moves(const char *bdf, const char *name, uint64_t before,
			       int timeout_ms)
{
	uint64_t deadline = vt_now_ns() + (uint64_t)timeout_ms * 1000000u, now;

	while ((now = vt_counter(bdf, name)) == before) {
		vt_check(vt_now_ns() < deadline, "%s counter still %llu after %d ms",
			 name, (unsigned long long)before, timeout_ms);
		sched_yield();
	}
	return now;
}

void vt_raise_and_wait_ack(struct vt_dev *dev, uint32_t value, int timeout_ms)
{
	edu_write(dev->bar0, EDU_IRQ_RAISE, value);
	vt_check(edu_wait_status_clear(dev->bar0, timeout_ms),
		 "raise 0x%x: the top half did not acknowledge within %d ms "
		 "(status 0x%x)", value, timeout_ms, edu_read(dev->bar0, EDU_IRQ_STATUS));
}

void vt_neighbour_open(struct vt_neighbour *n, const char *bdf, const char *uio_dev)
{
	n->bdf = bdf;
	vt_uio_open(&n->uio, bdf, uio_dev);
	n->count = 0;
}

/* uio_pci_generic's handler masks its device: proof that it saw the interrupt. */
static void wait_masked_by_uio(struct vt_neighbour *n, uint64_t deadline,
			       const char *when)
{
	while (!(vt_config_read16(n->uio.cfg, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE)) {
		vt_check(vt_now_ns() < deadline, "%s: the neighbour %s's own driver "
			 "did not see its interrupt", when, n->bdf);
		sched_yield();
	}
}

void vt_neighbour_roundtrip(struct vt_neighbour *n, uint32_t value, int timeout_ms,
			    const char *when)
{
	uint64_t deadline = vt_now_ns() + (uint64_t)timeout_ms * 1000000u;
	uint32_t status;

	edu_write(n->uio.bar0, EDU_IRQ_RAISE, value);
	wait_masked_by_uio(n, deadline, when);
	/* Its driver has seen it: the uio count moved, nobody acknowledged it. */
	n->count = vt_uio_wait(&n->uio, timeout_ms);
	status = edu_read(n->uio.bar0, EDU_IRQ_STATUS);
	vt_check(status == value, "%s: neighbour %s status 0x%x, want 0x%x: "
		 "someone else acknowledged its interrupt", when, n->bdf, status, value);
	edu_write(n->uio.bar0, EDU_IRQ_ACK, value);
	vt_uio_reenable(&n->uio);
}
