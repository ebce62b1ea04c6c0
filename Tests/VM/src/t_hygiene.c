// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_hygiene efault BDF | t_hygiene memlimit BDF | t_hygiene stall BDF
 *
 * efault: a failing ioctl changes nothing. SET_PROG whose verdict cannot be
 * written back (read-only argument) answers EFAULT and installs no program;
 * DMA_ALLOC whose answer cannot be written back leaves no buffer behind and
 * bus mastering off.
 *
 * memlimit: DMA memory is accounted. With dma_limit_mb=8 a third 4 MiB
 * buffer is refused (ENOMEM) until one is freed; a process without
 * CAP_IPC_LOCK is held to its RLIMIT_MEMLOCK.
 *
 * stall: one thread of the owner is stuck inside SET_PROG, copying its
 * program from a userfaultfd page nobody serves. Nobody else is stalled:
 * another process's open() fails at once with EBUSY, and the owner's other
 * thread still gets INFO answered.
 */
#define _GNU_SOURCE
#include "vmtest.h"
#include "vt_safety.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#define PAGE	4096u
#define MIB	(1u << 20)

static void *read_only_copy(const void *arg, size_t size)
{
	void *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	vt_check(page != MAP_FAILED, "mmap: %m");
	memcpy(page, arg, size);
	vt_check(mprotect(page, PAGE, PROT_READ) == 0, "mprotect: %m");
	return page;
}

static void test_efault(struct vt_dev *dev)
{
	const struct drvproxy_insn ack[] = {
		vt_insn_reg(DRVPROXY_OP_READ, EDU_IRQ_STATUS),
		vt_insn(DRVPROXY_OP_NOT_MINE_IF_ZERO, 0),
	};
	struct drvproxy_prog prog = {
		.abi_version = DRVPROXY_ABI_VERSION, .kind = DRVPROXY_PROG_ACK,
		.len = 2, .insns = (uintptr_t)ack,
	};
	struct drvproxy_dma_alloc alloc = {
		.abi_version = DRVPROXY_ABI_VERSION, .size = PAGE,
	};
	struct vt_dma dma;
	int i;

	vt_check(ioctl(dev->fd, DRVPROXY_IOC_SET_PROG,
		       read_only_copy(&prog, sizeof(prog))) < 0 && errno == EFAULT,
		 "SET_PROG with a read-only argument: %m, want EFAULT");
	vt_check(vt_try_set_irq(dev->fd, DRVPROXY_IRQ_INTX_SHARED) < 0 &&
		 errno == EINVAL, "INTX_SHARED after the failed SET_PROG: %m, "
		 "want EINVAL (no ACK program may have been installed)");

	vt_check(ioctl(dev->fd, DRVPROXY_IOC_DMA_ALLOC,
		       read_only_copy(&alloc, sizeof(alloc))) < 0 && errno == EFAULT,
		 "DMA_ALLOC with a read-only argument: %m, want EFAULT");
	vt_get_info(dev->fd, &dev->info);
	vt_check(!(dev->info.flags & DRVPROXY_INFO_BUS_MASTER),
		 "bus mastering on after a failed DMA_ALLOC");
	/* Every buffer slot is still free: the failed one left nothing behind. */
	for (i = 0; i < DRVPROXY_MAX_DMA_BUFFERS; i++) {
		alloc.size = PAGE;
		vt_check(ioctl(dev->fd, DRVPROXY_IOC_DMA_ALLOC, &alloc) == 0,
			 "DMA_ALLOC %d of %d: %m", i + 1, DRVPROXY_MAX_DMA_BUFFERS);
	}
	(void)dma;
}

static int try_alloc(int fd, uint64_t size, uint32_t *id)
{
	struct drvproxy_dma_alloc alloc = {
		.abi_version = DRVPROXY_ABI_VERSION, .size = size,
	};
	int ret = ioctl(fd, DRVPROXY_IOC_DMA_ALLOC, &alloc);

	*id = alloc.id;
	return ret < 0 ? errno : 0;
}

static void dma_free(int fd, uint32_t id)
{
	struct drvproxy_dma_free req = {
		.abi_version = DRVPROXY_ABI_VERSION, .id = id,
	};

	vt_check(ioctl(fd, DRVPROXY_IOC_DMA_FREE, &req) == 0, "DMA_FREE: %m");
}

static void test_memlimit(struct vt_dev *dev)
{
	struct rlimit one_mib = { .rlim_cur = MIB, .rlim_max = MIB };
	struct vt_child child;
	uint32_t a, b, c;
	int err;

	vt_set_param("dma_limit_mb", "8");
	vt_check(!try_alloc(dev->fd, 4 * MIB, &a) && !try_alloc(dev->fd, 4 * MIB, &b),
		 "two 4 MiB buffers within an 8 MiB cap: %m");
	err = try_alloc(dev->fd, 4 * MIB, &c);
	vt_check(err == ENOMEM, "a third 4 MiB buffer beyond the 8 MiB cap: %s, "
		 "want ENOMEM", err ? strerror(err) : "granted");
	dma_free(dev->fd, a);
	err = try_alloc(dev->fd, 4 * MIB, &c);
	vt_check(!err, "4 MiB after freeing 4 MiB: %s", strerror(err));
	dma_free(dev->fd, b);
	dma_free(dev->fd, c);
	vt_set_param("dma_limit_mb", "0");
	vt_dev_close(dev);

	/* A new owner without CAP_IPC_LOCK, limited to 1 MiB of locked memory. */
	if (vt_fork(&child)) {
		vt_drop_capability(CAP_IPC_LOCK);
		vt_check(setrlimit(RLIMIT_MEMLOCK, &one_mib) == 0, "setrlimit: %m");
		vt_dev_open(dev, dev->bdf);
		err = try_alloc(dev->fd, 2 * MIB, &a);
		vt_check(err == ENOMEM, "2 MiB with RLIMIT_MEMLOCK 1 MiB: %s, "
			 "want ENOMEM", err ? strerror(err) : "granted");
		err = try_alloc(dev->fd, MIB / 2, &a);
		vt_check(!err, "512 KiB with RLIMIT_MEMLOCK 1 MiB: %s", strerror(err));
		exit(0);
	}
	vt_join(&child, "the owner without CAP_IPC_LOCK");
}

struct stuck_call {
	int fd;
	struct drvproxy_prog prog;
};

static void *set_prog_from_uffd_page(void *arg)
{
	struct stuck_call *call = arg;

	ioctl(call->fd, DRVPROXY_IOC_SET_PROG, &call->prog);
	return NULL;
}

/* A page whose first touch blocks until somebody serves it: nobody will. */
static void *unserved_page(int *uffd_out)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	void *page;
	int uffd;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	vt_check(uffd >= 0, "userfaultfd: %m");
	vt_check(ioctl(uffd, UFFDIO_API, &api) == 0, "UFFDIO_API: %m");
	page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	vt_check(page != MAP_FAILED, "mmap: %m");
	reg.range.start = (uintptr_t)page;
	reg.range.len = PAGE;
	vt_check(ioctl(uffd, UFFDIO_REGISTER, &reg) == 0, "UFFDIO_REGISTER: %m");
	*uffd_out = uffd;
	return page;
}

static void test_stall(struct vt_dev *dev)
{
	struct stuck_call call = {
		.fd = dev->fd,
		.prog = { .abi_version = DRVPROXY_ABI_VERSION,
			  .kind = DRVPROXY_PROG_ACK, .len = 1 },
	};
	struct pollfd pfd = { .events = POLLIN };
	struct vt_child child;
	pthread_t thread;
	uint64_t start;

	call.prog.insns = (uintptr_t)unserved_page(&pfd.fd);
	vt_check(pthread_create(&thread, NULL, set_prog_from_uffd_page, &call) == 0,
		 "pthread_create failed");
	/* The fault shows up on the userfaultfd once the thread is stuck in it. */
	vt_check(poll(&pfd, 1, 5000) == 1, "SET_PROG never touched its program");

	if (vt_fork(&child)) {
		start = vt_now_ns();
		vt_check(vt_dev_try_open(dev->bdf) < 0 && errno == EBUSY,
			 "open by another process: %m, want EBUSY");
		vt_check(vt_now_ns() - start < 1000000000ull, "open took %llu ms",
			 (unsigned long long)(vt_now_ns() - start) / 1000000);
		exit(0);
	}
	vt_join(&child, "another process opening the device");
	vt_get_info(dev->fd, &dev->info);
	/* Exit ends the stuck thread; the release runs as for any exit. */
}

int main(int argc, char **argv)
{
	const char *mode = argc == 3 ? argv[1] : "";
	struct vt_dev dev;

	if (!strcmp(mode, "memlimit"))
		vt_begin("drvproxy_dma_accounting", 60);
	else if (!strcmp(mode, "stall"))
		vt_begin("drvproxy_no_stall", 60);
	else
		vt_begin("drvproxy_failed_ioctl_changes_nothing", 60);
	vt_check(argc == 3, "usage: t_hygiene efault|memlimit|stall BDF");
	vt_dev_open(&dev, argv[2]);
	if (!strcmp(mode, "efault"))
		test_efault(&dev);
	else if (!strcmp(mode, "memlimit"))
		test_memlimit(&dev);
	else if (!strcmp(mode, "stall"))
		test_stall(&dev);
	else
		vt_fail("unknown mode '%s'", mode);
	vt_pass();
}
