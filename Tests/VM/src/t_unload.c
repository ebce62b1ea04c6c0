// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_unload BDF MODULE.ko
 *
 * BDF is bound to drvproxy (through driver_override). With an owner holding
 * the device and its IRQ, unloading drvproxy is refused and the handle keeps
 * working. Once the owner has closed it, the module unloads, taking its device
 * nodes with it, and loads again; driver_override binds BDF again and the new
 * instance handles interrupts.
 */
#define _GNU_SOURCE
#include "vmtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define MODULE_NAME	"drvproxy"
#define WAIT_MS		5000

static int delete_module(const char *name)
{
	return (int)syscall(SYS_delete_module, name, O_NONBLOCK);
}

/* With the boot's parameters (the guest's init exports them), as it was. */
static void load_module(const char *path)
{
	const char *params = getenv("DRVPROXY_PARAMS");
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	vt_check(fd >= 0, "open %s: %m", path);
	vt_check(syscall(SYS_finit_module, fd, params ? params : "", 0) == 0,
		 "finit_module %s: %m", path);
	close(fd);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void start_owner(struct vt_dev *dev, const char *bdf)
{
	vt_dev_open(dev, bdf);
	vt_set_edu_ack_prog(dev->fd);
	vt_set_irq(dev->fd, DRVPROXY_IRQ_INTX_SHARED);
}

static void check_refused_while_owned(struct vt_dev *dev)
{
	int ret = delete_module(MODULE_NAME);

	vt_check(ret < 0, "drvproxy unloaded while %s was open", dev->bdf);
	vt_check(errno == EWOULDBLOCK || errno == EBUSY,
		 "unload while owned: %m, want EWOULDBLOCK or EBUSY");
	vt_roundtrip(dev, 0x51, 1);
}

static void check_unloaded(const char *bdf)
{
	char node[128];

	vt_check(delete_module(MODULE_NAME) == 0, "unload without an owner: %m");
	vt_check(!exists("/sys/module/" MODULE_NAME), "/sys/module/drvproxy "
		 "still there after the unload");
	snprintf(node, sizeof(node), "/dev/drvproxy/%s", bdf);
	vt_check(!exists(node), "%s still there after the unload", node);
}

/* driver_override makes the new instance bind BDF at load time. */
static void check_reloaded(const char *bdf, const char *path)
{
	struct vt_dev dev;

	load_module(path);
	start_owner(&dev, bdf);
	vt_roundtrip(&dev, 0x52, 1);
	vt_dev_close(&dev);
}

int main(int argc, char **argv)
{
	struct vt_dev dev;

	vt_begin("drvproxy_unload", 60);
	vt_check(argc == 3, "usage: t_unload BDF MODULE.ko");
	start_owner(&dev, argv[1]);
	check_refused_while_owned(&dev);
	vt_dev_close(&dev);
	check_unloaded(argv[1]);
	check_reloaded(argv[1], argv[2]);
	vt_pass();
}
