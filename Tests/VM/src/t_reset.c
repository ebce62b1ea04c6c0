/*
 * t_reset BDF
 *
 * Reset before reuse. A function without a reset method (edu) says so in
 * INFO and sysfs, and nothing more is asked of it. A function with one (a
 * QEMU virtio device behind a PCIe root port has FLR) is observed through a
 * register that a reset clears, virtio's device status, and through the
 * resets counter in sysfs:
 * - the release resets it by default: the next owner finds the status clear,
 *   and the counter moved at the close, not at the open;
 * - with DRVPROXY_RELEASE_NO_RESET the release does not reset, and the next
 *   open does, before the new owner sees the device;
 * - RESET zaps the owner's BAR mapping, resets, and the mapping faults back
 *   in on the reset device.
 */
#define _GNU_SOURCE
#include "vmtest.h"
#include "vt_safety.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define PCI_CAP_LIST		0x34
#define PCI_CAP_ID_VNDR		0x09
#define VIRTIO_PCI_CAP_COMMON	1
#define VIRTIO_STATUS		0x14	/* device_status in the common config */
#define STATUS_MARK		0x03	/* ACKNOWLEDGE | DRIVER */
#define MAP_LEN			4096u

/* Where virtio's common configuration is: BAR and offset, from config space. */
struct common_cfg {
	uint32_t bar;
	uint32_t offset;
};

static struct common_cfg find_common_cfg(const char *bdf)
{
	int cfg = vt_config_open(bdf);
	uint8_t pos = vt_config_read16(cfg, PCI_CAP_LIST) & 0xff;
	int hops;

	for (hops = 0; pos && hops < 48; hops++) {
		uint16_t id_next = vt_config_read16(cfg, pos);
		uint16_t type_bar = vt_config_read16(cfg, pos + 3);

		if ((id_next & 0xff) == PCI_CAP_ID_VNDR &&
		    (type_bar & 0xff) == VIRTIO_PCI_CAP_COMMON) {
			struct common_cfg c = {
				.bar = type_bar >> 8,
				.offset = vt_config_read16(cfg, pos + 8) |
					  (uint32_t)vt_config_read16(cfg, pos + 10) << 16,
			};
			close(cfg);
			return c;
		}
		pos = id_next >> 8;
	}
	vt_fail("%s: no virtio common configuration capability", bdf);
}

static struct common_cfg common;

static volatile uint8_t *map_status(int fd)
{
	uint8_t *map = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			    DRVPROXY_MMAP_BAR(common.bar) + (common.offset & ~(MAP_LEN - 1)));

	vt_check(map != MAP_FAILED, "mmap BAR%u: %m", common.bar);
	return map + (common.offset & (MAP_LEN - 1)) + VIRTIO_STATUS;
}

/* Open and map the status register; the status the new owner finds. */
static int open_mapped(const char *bdf, volatile uint8_t **status, uint8_t *now)
{
	int fd = vt_dev_try_open(bdf);

	vt_check(fd >= 0, "open %s: %m", bdf);
	*status = map_status(fd);
	*now = **status;
	return fd;
}

static void close_mapped(int fd, volatile uint8_t *status)
{
	munmap((void *)((uintptr_t)status & ~(uintptr_t)(MAP_LEN - 1)), MAP_LEN);
	close(fd);
}

static uint64_t resets(const char *bdf)
{
	return vt_counter(bdf, "resets");
}

/*
 * One owner marks the status and closes, asking for no reset at release or
 * not; the next owner must find it clear, and the resets counter says whether
 * the reset happened at the release or at the open.
 */
static void test_reuse(const char *bdf, bool no_reset)
{
	volatile uint8_t *regs;
	uint64_t before;
	uint8_t status_now;
	int fd;

	fd = open_mapped(bdf, &regs, &status_now);
	if (no_reset)
		vt_set_prog(fd, DRVPROXY_PROG_RELEASE, DRVPROXY_RELEASE_NO_RESET,
			    NULL, 0);
	*regs = STATUS_MARK;
	vt_check(*regs == STATUS_MARK, "the status does not hold 0x%x",
		 STATUS_MARK);
	before = resets(bdf);
	close_mapped(fd, regs);
	vt_check(resets(bdf) == before + !no_reset, "%s: resets counter moved "
		 "by %llu at the release", no_reset ? "NO_RESET" : "default",
		 (unsigned long long)(resets(bdf) - before));

	before = resets(bdf);
	fd = open_mapped(bdf, &regs, &status_now);
	vt_check(status_now == 0, "%s: the next owner finds status 0x%x: not reset",
		 no_reset ? "NO_RESET" : "default", status_now);
	vt_check(resets(bdf) == before + no_reset, "%s: resets counter moved by "
		 "%llu at the open", no_reset ? "NO_RESET" : "default",
		 (unsigned long long)(resets(bdf) - before));
	close_mapped(fd, regs);
}

static void test_reset_ioctl(const char *bdf)
{
	volatile uint8_t *regs;
	uint64_t before;
	uint8_t status_now;
	int fd;

	fd = open_mapped(bdf, &regs, &status_now);
	*regs = STATUS_MARK;
	before = resets(bdf);
	vt_check(ioctl(fd, DRVPROXY_IOC_RESET) == 0, "ioctl RESET: %m");
	vt_check(resets(bdf) == before + 1, "RESET did not reset the function");
	status_now = *regs;
	vt_check(status_now == 0, "status 0x%x through the old mapping after RESET", status_now);
	close_mapped(fd, regs);
}

int main(int argc, char **argv)
{
	struct drvproxy_info info;
	char attr[16];
	int fd;

	vt_begin("drvproxy_reset_before_reuse", 120);
	vt_check(argc == 2, "usage: t_reset BDF");
	fd = vt_dev_try_open(argv[1]);
	vt_check(fd >= 0, "open %s: %m", argv[1]);
	vt_get_info(fd, &info);
	close(fd);
	vt_attr(argv[1], "reset", attr, sizeof(attr));
	if (!(info.flags & DRVPROXY_INFO_RESET)) {
		vt_check(!strcmp(attr, "0"), "INFO says no reset method, sysfs "
			 "reset says '%s'", attr);
		vt_check(info.vendor == EDU_VENDOR, "%04x:%04x has no reset "
			 "method: this test wants edu or virtio", info.vendor,
			 info.device);
		vt_pass();
	}
	vt_check(!strcmp(attr, "1"), "INFO says RESET, sysfs reset says '%s'", attr);
	common = find_common_cfg(argv[1]);
	test_reuse(argv[1], false);
	test_reuse(argv[1], true);
	test_reset_ioctl(argv[1]);
	vt_pass();
}
