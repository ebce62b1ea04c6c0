// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_confine BDF
 *
 * Who may drive a device's DMA. The device's sysfs dma_mode says which boot
 * this is:
 *
 * confined (an IOMMU in strict mode): INFO says DMA_CONFINED. The edu is made
 * to DMA to the bus address of a buffer that another device's owner holds:
 * the write is blocked (the IOMMU reports a DMAR fault) and the buffer keeps
 * its contents, while DMA through the owner's own buffer still works.
 *
 * unsafe (no IOMMU, allow_unsafe_dma=1): INFO says DMA_UNSAFE and the kernel
 * is tainted. The same stray DMA does land, which shows that the confined
 * boot's check can see a stray write. With allow_unsafe_dma=0, or without
 * CAP_SYS_RAWIO, open() is refused with EPERM and sysfs says "refused".
 */
#define _GNU_SOURCE
#include "vmtest.h"
#include "vt_safety.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define PAGE		4096u
#define XFER_LEN	2048u	/* edu's own limit is exclusive: see t_dma */
#define VICTIM_BYTE	0xcc
#define TAINT_USER	(1u << 6)

static uint8_t pattern_byte(size_t i)
{
	return (uint8_t)(i * 13 + 1);
}

static void set_edu_mask(struct vt_dev *dev)
{
	struct drvproxy_dma_mask mask = {
		.abi_version = DRVPROXY_ABI_VERSION, .bits = EDU_DMA_MASK_BITS,
	};

	vt_check(ioctl(dev->fd, DRVPROXY_IOC_DMA_MASK, &mask) == 0, "DMA_MASK: %m");
}

static size_t changed_bytes(const uint8_t *page)
{
	size_t i, n = 0;

	for (i = 0; i < PAGE; i++)
		n += page[i] != VICTIM_BYTE;
	return n;
}

/* The victim: a DMA buffer of another device's, within edu's reach. */
static void victim_buffer(struct vt_dev *other, struct vt_dma *victim)
{
	set_edu_mask(other);
	vt_dma_alloc(other->fd, victim, PAGE);
	memset(victim->map, VICTIM_BYTE, PAGE);
}

/*
 * dev, with no buffer of its own yet, DMAs edu's buffer to the victim's bus
 * address; returns how many bytes of the victim changed. Then DMA through
 * dev's own buffer must work.
 */
static size_t stray_dma(struct vt_dev *dev, struct vt_dma *victim)
{
	struct vt_dma own;
	size_t changed, i;

	vt_bus_master(dev->fd, true);
	vt_edu_dma_polled(dev->bar0, EDU_DMA_BUF, victim->alloc.bus_addr,
			  XFER_LEN, true);
	changed = changed_bytes(victim->map);

	set_edu_mask(dev);
	vt_dma_alloc(dev->fd, &own, 2 * PAGE);
	for (i = 0; i < XFER_LEN; i++)
		own.map[i] = pattern_byte(i);
	memset(own.map + PAGE, 0, PAGE);
	vt_edu_dma_polled(dev->bar0, own.alloc.bus_addr, EDU_DMA_BUF, XFER_LEN,
			  false);
	vt_edu_dma_polled(dev->bar0, EDU_DMA_BUF, own.alloc.bus_addr + PAGE,
			  XFER_LEN, true);
	for (i = 0; i < XFER_LEN; i++)
		vt_check(own.map[PAGE + i] == pattern_byte(i), "DMA through the "
			 "owner's buffer: byte %zu is 0x%02x, want 0x%02x", i,
			 own.map[PAGE + i], pattern_byte(i));
	return changed;
}

static unsigned long tainted(void)
{
	char text[32];

	vt_read_text("/proc/sys/kernel/tainted", text, sizeof(text));
	return strtoul(text, NULL, 10);
}

static void expect_refused(const char *bdf, const char *why)
{
	int fd = vt_dev_try_open(bdf);

	vt_check(fd < 0 && errno == EPERM, "open %s: %s, want EPERM", why,
		 fd < 0 ? strerror(errno) : "succeeded");
}

static void test_confined(struct vt_dev *dev, struct vt_dma *victim)
{
	size_t changed;

	vt_check((dev->info.flags & DRVPROXY_INFO_DMA_CONFINED) &&
		 !(dev->info.flags & DRVPROXY_INFO_DMA_UNSAFE),
		 "INFO flags 0x%x: want DMA_CONFINED only", dev->info.flags);
	changed = stray_dma(dev, victim);
	vt_check(changed == 0, "DMA to 0x%llx, another device's buffer, changed "
		 "%zu bytes of it", (unsigned long long)victim->alloc.bus_addr,
		 changed);
}

static void test_unsafe(struct vt_dev *dev, struct vt_dma *victim)
{
	struct vt_child child;
	const char *bdf = dev->bdf;
	char mode[32];
	size_t changed;

	vt_check((dev->info.flags & DRVPROXY_INFO_DMA_UNSAFE) &&
		 !(dev->info.flags & DRVPROXY_INFO_DMA_CONFINED),
		 "INFO flags 0x%x: want DMA_UNSAFE only", dev->info.flags);
	vt_check(tainted() & TAINT_USER, "an unsafe open did not taint the kernel");
	changed = stray_dma(dev, victim);
	vt_check(changed > 0, "unconfined DMA to 0x%llx changed nothing: this "
		 "check could not see a stray write",
		 (unsigned long long)victim->alloc.bus_addr);
	vt_dev_close(dev);

	vt_set_param("allow_unsafe_dma", "0");
	vt_attr(bdf, "dma_mode", mode, sizeof(mode));
	vt_check(!strcmp(mode, "refused"), "dma_mode '%s' without the unsafe mode",
		 mode);
	expect_refused(bdf, "without allow_unsafe_dma");
	vt_set_param("allow_unsafe_dma", "1");

	if (vt_fork(&child)) {
		vt_drop_capability(CAP_SYS_RAWIO);
		expect_refused(bdf, "without CAP_SYS_RAWIO");
		exit(0);
	}
	vt_join(&child, "a child without CAP_SYS_RAWIO");
}

int main(int argc, char **argv)
{
	struct vt_dev dev, other;
	struct vt_dma victim;
	char mode[32];

	vt_begin("drvproxy_dma_confinement", 120);
	vt_check(argc == 3, "usage: t_confine BDF OTHER_BDF");
	vt_attr(argv[1], "dma_mode", mode, sizeof(mode));
	vt_dev_open(&dev, argv[1]);
	vt_dev_open(&other, argv[2]);
	victim_buffer(&other, &victim);
	if (!strcmp(mode, "confined"))
		test_confined(&dev, &victim);
	else if (!strcmp(mode, "unsafe"))
		test_unsafe(&dev, &victim);
	else
		vt_fail("dma_mode is '%s': neither an IOMMU nor the unsafe mode", mode);
	vt_pass();
}
