// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_dma BDF
 *
 * The edu DMA engine copies a pattern from a proxy DMA buffer into its own
 * buffer and back into the second page of the DMA buffer, at other offsets. Each
 * completion interrupt (status 0x100) arrives as an event whose snapshot is
 * 0x100, and the data comes back identical. The buffer respects the 28-bit
 * DMA mask, and once freed its mmap offset is refused. Bus mastering stays
 * off until the owner asks for it (BUS_MASTER), not when it allocates.
 */
#include "vmtest.h"
#include "vt_safety.h"

#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE		4096u
#define BUF_SIZE	(2 * PAGE)
/*
 * QEMU 7.2's edu refuses a transfer that ends exactly at the end of its
 * buffer (an off-by-one in edu_check_range) and then aborts the whole VM
 * with hw_error(), so stay strictly inside it.
 */
#define XFER_LEN	2048u
#define DEV_OFFSET	0x400u	/* in the edu's buffer */
#define BACK_OFFSET	(PAGE + 0x100u)	/* in our DMA buffer */
/* edu's DMA takes 100 ms of virtual time; TCG may stretch that. */
#define DMA_WAIT_MS	5000

static void set_dma_mask(struct vt_dev *dev, uint32_t bits)
{
	struct drvproxy_dma_mask mask = {
		.abi_version = DRVPROXY_ABI_VERSION, .bits = bits,
	};

	vt_check(ioctl(dev->fd, DRVPROXY_IOC_DMA_MASK, &mask) == 0,
		 "DMA_MASK %u bits: %m", bits);
	vt_get_info(dev->fd, &dev->info);
	vt_check(dev->info.dma_mask_bits == bits, "INFO dma_mask_bits %u after "
		 "setting %u", dev->info.dma_mask_bits, bits);
}

static uint8_t pattern_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3) ^ (uint8_t)(i >> 8);
}

/* Program one transfer and wait for its completion event. */
static void run_dma(struct vt_dev *dev, uint64_t src, uint64_t dst, uint32_t cmd,
		    uint64_t want_seq, const char *what)
{
	struct drvproxy_event ev;
	uint32_t cmd_after;

	edu_write64(dev->bar0, EDU_DMA_SRC, src);
	edu_write64(dev->bar0, EDU_DMA_DST, dst);
	edu_write64(dev->bar0, EDU_DMA_COUNT, XFER_LEN);
	edu_write64(dev->bar0, EDU_DMA_CMD, cmd | EDU_DMA_CMD_START | EDU_DMA_CMD_IRQ);
	vt_wait_event(dev->fd, &ev, DMA_WAIT_MS, what);
	vt_check(ev.seq == want_seq && ev.nsnap == 1 && ev.snap[0] == EDU_DMA_IRQ,
		 "%s: event seq %llu nsnap %u snap 0x%llx, want seq %llu snap 0x%x",
		 what, (unsigned long long)ev.seq, ev.nsnap,
		 (unsigned long long)ev.snap[0], (unsigned long long)want_seq,
		 EDU_DMA_IRQ);
	cmd_after = edu_read(dev->bar0, EDU_DMA_CMD);
	vt_check(!(cmd_after & EDU_DMA_CMD_START), "%s: DMA still running after its "
		 "completion interrupt (cmd 0x%x)", what, cmd_after);
}

static void check_copy(const uint8_t *got, const char *bdf)
{
	size_t i;

	for (i = 0; i < XFER_LEN; i++) {
		int cfg;

		if (got[i] == pattern_byte(i))
			continue;
		cfg = vt_config_open(bdf);
		vt_fail("byte %zu came back 0x%02x, want 0x%02x (command register 0x%04x)",
			i, got[i], pattern_byte(i), vt_config_read16(cfg, PCI_COMMAND));
	}
}

static void check_freed(struct vt_dev *dev, struct vt_dma *dma)
{
	struct drvproxy_dma_free req = {
		.abi_version = DRVPROXY_ABI_VERSION, .id = dma->alloc.id,
	};
	void *map;

	vt_check(munmap(dma->map, BUF_SIZE) == 0, "munmap DMA buffer: %m");
	vt_check(ioctl(dev->fd, DRVPROXY_IOC_DMA_FREE, &req) == 0,
		 "DMA_FREE %u: %m", req.id);
	map = mmap(NULL, BUF_SIZE, PROT_READ, MAP_SHARED, dev->fd,
		   dma->alloc.mmap_offset);
	vt_check(map == MAP_FAILED && errno == EINVAL,
		 "mmap of freed DMA buffer %u: %s, want EINVAL", req.id,
		 map == MAP_FAILED ? strerror(errno) : "succeeded");
}

/* Allocating DMA memory does not let the device use it: the owner says when. */
static void check_bus_master_off(struct vt_dev *dev)
{
	int cfg = vt_config_open(dev->bdf);
	uint16_t cmd = vt_config_read16(cfg, PCI_COMMAND);

	vt_get_info(dev->fd, &dev->info);
	vt_check(!(cmd & PCI_COMMAND_MASTER) &&
		 !(dev->info.flags & DRVPROXY_INFO_BUS_MASTER),
		 "bus mastering on after DMA_ALLOC alone (command 0x%04x, INFO "
		 "flags 0x%x)", cmd, dev->info.flags);
	close(cfg);
}

int main(int argc, char **argv)
{
	struct vt_dev dev;
	struct vt_dma dma;
	uint64_t bus;
	size_t i;

	vt_begin("drvproxy_dma", 60);
	vt_check(argc == 2, "usage: t_dma BDF");
	vt_dev_open(&dev, argv[1]);
	vt_set_edu_ack_prog(dev.fd);
	vt_set_irq(dev.fd, DRVPROXY_IRQ_INTX_SHARED);
	set_dma_mask(&dev, EDU_DMA_MASK_BITS);
	vt_dma_alloc(dev.fd, &dma, BUF_SIZE);
	bus = dma.alloc.bus_addr;
	vt_check(bus % PAGE == 0 && bus + BUF_SIZE <= 1ull << EDU_DMA_MASK_BITS,
		 "bus address 0x%llx: not page aligned or beyond the 28-bit mask",
		 (unsigned long long)bus);

	for (i = 0; i < PAGE; i++) {
		dma.map[i] = pattern_byte(i);
		dma.map[PAGE + i] = 0;
	}
	check_bus_master_off(&dev);
	vt_bus_master(dev.fd, true);
	vt_get_info(dev.fd, &dev.info);
	vt_check(dev.info.flags & DRVPROXY_INFO_BUS_MASTER,
		 "INFO flags 0x%x after BUS_MASTER on", dev.info.flags);
	run_dma(&dev, bus, EDU_DMA_BUF + DEV_OFFSET, 0, 1, "DMA RAM -> device");
	run_dma(&dev, EDU_DMA_BUF + DEV_OFFSET, bus + BACK_OFFSET,
		EDU_DMA_CMD_TO_RAM, 2, "DMA device -> RAM");
	check_copy(dma.map + BACK_OFFSET, dev.bdf);
	check_freed(&dev, &dma);
	vt_dev_close(&dev);
	vt_pass();
}
