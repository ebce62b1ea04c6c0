// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Helpers for the safety-model tests; see vt_safety.h. */
#define _GNU_SOURCE
#include "vmtest.h"
#include "vt_safety.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

void vt_bus_master(int fd, bool on)
{
	struct drvproxy_bus_master req = {
		.abi_version = DRVPROXY_ABI_VERSION, .enable = on,
	};

	vt_check(ioctl(fd, DRVPROXY_IOC_BUS_MASTER, &req) == 0,
		 "BUS_MASTER %s: %m", on ? "on" : "off");
}

void vt_edu_dma_polled(volatile uint8_t *bar0, uint64_t src, uint64_t dst,
		       uint32_t len, bool to_ram)
{
	uint64_t deadline = vt_now_ns() + 5000000000ull;
	const struct timespec pause = { .tv_nsec = 1000000 };

	edu_write64(bar0, EDU_DMA_SRC, src);
	edu_write64(bar0, EDU_DMA_DST, dst);
	edu_write64(bar0, EDU_DMA_COUNT, len);
	edu_write64(bar0, EDU_DMA_CMD, EDU_DMA_CMD_START |
				       (to_ram ? EDU_DMA_CMD_TO_RAM : 0));
	while (edu_read(bar0, EDU_DMA_CMD) & EDU_DMA_CMD_START) {
		vt_check(vt_now_ns() < deadline, "edu DMA 0x%llx -> 0x%llx did "
			 "not finish within 5 s", (unsigned long long)src,
			 (unsigned long long)dst);
		nanosleep(&pause, NULL);
	}
}

static sigjmp_buf touch_jump;

static void on_touch_fault(int sig)
{
	siglongjmp(touch_jump, sig);
}

int vt_touch(volatile const uint8_t *addr)
{
	struct sigaction sa = { .sa_handler = on_touch_fault }, old_bus, old_segv;
	int sig;

	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	sig = sigsetjmp(touch_jump, 1);
	if (!sig)
		(void)*addr;
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return sig;
}

int vt_try_write_text(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (write(fd, text, len) != (ssize_t)len)
		err = errno ? errno : EIO;
	close(fd);
	return err;
}

void vt_write_text(const char *path, const char *text)
{
	int err = vt_try_write_text(path, text);

	vt_check(!err, "write '%s' to %s: %s", text, path, strerror(err));
}

void vt_attr(const char *bdf, const char *name, char *buf, size_t size)
{
	char path[160];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/drvproxy/%s", bdf, name);
	vt_read_text(path, buf, size);
}

void vt_set_param(const char *name, const char *value)
{
	char path[160];

	snprintf(path, sizeof(path), "/sys/module/drvproxy/parameters/%s", name);
	vt_write_text(path, value);
}

uint64_t vt_phys_addr(const void *page)
{
	uint64_t entry, vpn = (uintptr_t)page / 4096;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	vt_check(fd >= 0, "open /proc/self/pagemap: %m");
	vt_check(pread(fd, &entry, sizeof(entry), vpn * sizeof(entry)) ==
		 sizeof(entry), "read /proc/self/pagemap: %m");
	close(fd);
	/* Bit 63: present; bits 0-54: the page frame (0 unless root). */
	vt_check((entry >> 63) & 1, "page %p not present", page);
	entry &= (1ull << 55) - 1;
	vt_check(entry != 0, "pagemap hides the frame of %p (not root?)", page);
	return entry * 4096 + (uintptr_t)page % 4096;
}

void vt_drop_capability(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	vt_check(syscall(SYS_capget, &hdr, data) == 0, "capget: %m");
	data[cap / 32].effective &= ~(1u << (cap % 32));
	vt_check(syscall(SYS_capset, &hdr, data) == 0, "capset: %m");
}
