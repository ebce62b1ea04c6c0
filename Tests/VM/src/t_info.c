// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_info BDF: INFO describes the edu device, and BAR0 mapped through the
 * proxy reaches the device's registers.
 */
#include "vmtest.h"

#include <stdio.h>
#include <unistd.h>

static void check_info(const struct drvproxy_info *info)
{
	const struct drvproxy_bar_info *bar0 = &info->bars[0];

	vt_check(info->abi_version == DRVPROXY_ABI_VERSION,
		 "INFO abi_version %u, want %u", info->abi_version,
		 DRVPROXY_ABI_VERSION);
	vt_check(info->vendor == EDU_VENDOR && info->device == EDU_DEVICE,
		 "INFO ids %04x:%04x, want %04x:%04x", info->vendor,
		 info->device, EDU_VENDOR, EDU_DEVICE);
	vt_check(bar0->size == EDU_BAR0_SIZE, "BAR0 size %llu, want %u",
		 (unsigned long long)bar0->size, EDU_BAR0_SIZE);
	vt_check((bar0->flags & (DRVPROXY_BAR_PRESENT | DRVPROXY_BAR_MEM)) ==
		 (DRVPROXY_BAR_PRESENT | DRVPROXY_BAR_MEM),
		 "BAR0 flags 0x%x, want PRESENT|MEM", bar0->flags);
	vt_check(!(info->bars[1].flags & DRVPROXY_BAR_PRESENT),
		 "BAR1 reported present (flags 0x%x); edu has one BAR",
		 info->bars[1].flags);
	vt_check(info->irq_kinds & DRVPROXY_IRQ_KIND_INTX, "no INTx in irq_kinds 0x%x",
		 info->irq_kinds);
	vt_check(info->irq_kinds & DRVPROXY_IRQ_KIND_MSI, "no MSI in irq_kinds 0x%x",
		 info->irq_kinds);
	vt_check(info->flags & DRVPROXY_INFO_INTX_DISABLE,
		 "INTx-disable support not reported (flags 0x%x)", info->flags);
	vt_check(info->ring_entries > 0, "ring_entries is 0");
}

static void check_registers(volatile uint8_t *bar0)
{
	static const uint32_t patterns[] = { 0, 0xffffffffu, 0x12345678u, 0xa5a5a5a5u };
	uint32_t id = edu_read(bar0, EDU_ID);
	size_t i;

	vt_check(id == EDU_ID_VALUE, "id register 0x%08x, want 0x%08x", id,
		 EDU_ID_VALUE);
	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		uint32_t got;

		edu_write(bar0, EDU_LIVENESS, patterns[i]);
		got = edu_read(bar0, EDU_LIVENESS);
		vt_check(got == ~patterns[i],
			 "liveness: wrote 0x%08x, read 0x%08x, want 0x%08x",
			 patterns[i], got, ~patterns[i]);
	}
}

int main(int argc, char **argv)
{
	struct vt_dev dev;
	uint64_t owner;

	vt_begin("drvproxy_info_mmap", 30);
	vt_check(argc == 2, "usage: t_info BDF");
	vt_dev_open(&dev, argv[1]);
	check_info(&dev.info);
	check_registers(dev.bar0);
	owner = vt_counter(dev.bdf, "owner_pid");
	vt_check(owner == (uint64_t)getpid(), "sysfs owner_pid %llu, want %d",
		 (unsigned long long)owner, (int)getpid());
	vt_dev_close(&dev);
	vt_pass();
}
