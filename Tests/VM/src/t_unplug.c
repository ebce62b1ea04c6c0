// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_unplug BDF
 *
 * The device is removed (sysfs remove, as a hot-unplug would) while its
 * owner has the interrupt set up, bus mastering on and a DMA buffer mapped.
 * Afterwards the owner's BAR and DMA mappings fault with SIGBUS (the DMA
 * memory was taken back while the device was still there, not at a later
 * munmap through a dead DMA path), every call on the handle says ENODEV and
 * poll says POLLHUP. The suite then rescans the bus and drives the device
 * again.
 */
#define _GNU_SOURCE
#include "vmtest.h"
#include "vt_safety.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

static void expect_enodev(int ret, const char *what)
{
	vt_check(ret < 0 && errno == ENODEV, "%s after remove: %s, want ENODEV",
		 what, ret < 0 ? strerror(errno) : "succeeded");
}

int main(int argc, char **argv)
{
	struct pollfd pfd = { .events = POLLIN };
	struct drvproxy_info info;
	struct drvproxy_event ev;
	struct vt_dev dev;
	struct vt_dma dma;
	char path[160];
	int sig;

	vt_begin("drvproxy_hot_unplug", 60);
	vt_check(argc == 2, "usage: t_unplug BDF");
	vt_dev_open(&dev, argv[1]);
	vt_set_edu_ack_prog(dev.fd);
	vt_set_irq(dev.fd, DRVPROXY_IRQ_INTX_SHARED);
	vt_dma_alloc(dev.fd, &dma, 4096);
	memset(dma.map, 0x5a, 4096);
	vt_bus_master(dev.fd, true);

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/remove", argv[1]);
	vt_write_text(path, "1");

	sig = vt_touch(dev.bar0);
	vt_check(sig == SIGBUS, "BAR0 mapping after remove: %s, want SIGBUS",
		 sig ? strsignal(sig) : "still readable");
	sig = vt_touch(dma.map);
	vt_check(sig == SIGBUS, "DMA mapping after remove: %s, want SIGBUS",
		 sig ? strsignal(sig) : "still readable");
	expect_enodev(ioctl(dev.fd, DRVPROXY_IOC_INFO, &info), "INFO");
	expect_enodev(read(dev.fd, &ev, sizeof(ev)), "read");
	pfd.fd = dev.fd;
	vt_check(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP),
		 "poll after remove: revents 0x%x, want POLLHUP", pfd.revents);
	vt_check(close(dev.fd) == 0, "close after remove: %m");
	vt_pass();
}
