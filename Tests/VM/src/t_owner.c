// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_owner fork BDF | t_owner orphan BDF
 *
 * A device belongs to the process that opened it, and only while it lives.
 *
 * fork: a child forked by the owner inherits neither the BAR nor the DMA
 * mapping (touching their addresses faults), and every use of the inherited
 * descriptor fails with EPERM: ioctl, read, mmap; poll says POLLERR. The
 * owner itself is unaffected.
 *
 * orphan: the owner forks a child that keeps the descriptor, then exits. The
 * device is released at once all the same (the releases counter moves, the
 * owner pid goes to 0), another process can open it while the child still
 * holds the old file, and the child's descriptor is dead (ENODEV).
 */
#define _GNU_SOURCE
#include "vmtest.h"
#include "vt_safety.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define WAIT_MS 5000

static void expect_errno(int ret, int want, const char *what)
{
	vt_check(ret < 0 && errno == want, "%s: %s, want %s", what,
		 ret < 0 ? strerror(errno) : "succeeded", strerror(want));
}

static void child_of_owner(struct vt_dev *dev, struct vt_dma *dma)
{
	struct drvproxy_info info;
	struct drvproxy_event ev;
	struct pollfd pfd = { .fd = dev->fd, .events = POLLIN };
	void *map;
	int sig;

	sig = vt_touch(dev->bar0);
	vt_check(sig == SIGSEGV, "the child reads the owner's BAR0 mapping (%s)",
		 sig ? strsignal(sig) : "no fault");
	sig = vt_touch(dma->map);
	vt_check(sig == SIGSEGV, "the child reads the owner's DMA mapping (%s)",
		 sig ? strsignal(sig) : "no fault");
	expect_errno(ioctl(dev->fd, DRVPROXY_IOC_INFO, &info), EPERM,
		     "INFO from the child");
	expect_errno(read(dev->fd, &ev, sizeof(ev)), EPERM, "read from the child");
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, dev->fd, DRVPROXY_MMAP_BAR(0));
	expect_errno(map == MAP_FAILED ? -1 : 0, EPERM, "mmap BAR0 from the child");
	vt_check(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR),
		 "poll from the child: revents 0x%x, want POLLERR", pfd.revents);
	exit(0);
}

static void test_fork(const char *bdf)
{
	struct vt_child child;
	struct vt_dev dev;
	struct vt_dma dma;

	vt_dev_open(&dev, bdf);
	vt_dma_alloc(dev.fd, &dma, 4096);
	memset(dma.map, 0x5a, 4096);
	if (vt_fork(&child))
		child_of_owner(&dev, &dma);
	vt_join(&child, "the owner's child");
	/* The owner keeps everything. */
	vt_get_info(dev.fd, &dev.info);
	vt_check(edu_read(dev.bar0, EDU_ID) == EDU_ID_VALUE, "owner lost BAR0");
	vt_check(dma.map[100] == 0x5a, "owner lost its DMA buffer");
	vt_dev_close(&dev);
}

/* The owner: open, hand the file to a child that outlives us, exit. */
static void owner_then_exit(const char *bdf, int go_fd, int result_fd)
{
	struct drvproxy_info info;
	int fd = vt_dev_try_open(bdf);
	pid_t child;

	vt_check(fd >= 0, "owner: open %s: %m", bdf);
	child = fork();
	vt_check(child >= 0, "owner: fork: %m");
	if (child == 0) {
		char c;
		int err, other;

		/* Keep no pipe of the test's open, or its reader would wait on us. */
		for (other = 3; other < 256; other++)
			if (other != fd && other != go_fd && other != result_fd)
				close(other);
		/* Wait until the parent has taken the device over. */
		if (read(go_fd, &c, 1) != 1)
			_exit(1);
		err = ioctl(fd, DRVPROXY_IOC_INFO, &info) == 0 ? 0 : errno;
		_exit(write(result_fd, &err, sizeof(err)) == sizeof(err) ? 0 : 1);
	}
	exit(0);
}

static void test_orphan(const char *bdf)
{
	uint64_t releases = vt_counter(bdf, "releases");
	int go[2], result[2], err, fd;
	struct vt_child owner;
	char owner_pid[32];

	vt_check(pipe(go) == 0 && pipe(result) == 0, "pipe: %m");
	if (vt_fork(&owner)) {
		close(go[1]);
		close(result[0]);
		owner_then_exit(bdf, go[0], result[1]);
	}
	close(go[0]);
	close(result[1]);
	vt_join(&owner, "the owner");

	vt_check(vt_counter(bdf, "releases") == releases + 1,
		 "the owner exited but the device was not released (releases "
		 "%llu, was %llu)", (unsigned long long)vt_counter(bdf, "releases"),
		 (unsigned long long)releases);
	vt_attr(bdf, "owner_pid", owner_pid, sizeof(owner_pid));
	vt_check(!strcmp(owner_pid, "0"), "owner_pid %s after the owner exited",
		 owner_pid);
	fd = vt_dev_try_open(bdf);
	vt_check(fd >= 0, "open while the dead owner's child holds the old "
		 "file: %m");

	vt_check(write(go[1], "!", 1) == 1, "pipe: %m");
	vt_check(read(result[0], &err, sizeof(err)) == sizeof(err),
		 "the child did not report");
	vt_check(err == ENODEV, "INFO on the released file: %s, want ENODEV",
		 err ? strerror(err) : "succeeded");
	close(fd);
}

int main(int argc, char **argv)
{
	bool orphan = argc == 3 && !strcmp(argv[1], "orphan");

	vt_begin(orphan ? "drvproxy_owner_exit_releases" : "drvproxy_owner_fork",
		 60);
	vt_check(argc == 3 && (orphan || !strcmp(argv[1], "fork")),
		 "usage: t_owner fork|orphan BDF");
	if (orphan)
		test_orphan(argv[2]);
	else
		test_fork(argv[2]);
	vt_pass();
}
