// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_msix BDF
 *
 * The MSI-X table and PBA belong to the kernel: whoever writes the table
 * chooses where the device's MSI writes go. On a function with MSI-X (found
 * through its capability in config space), a register program that reads
 * the table is refused with DRVPROXY_EPROG_PROTECTED, and the page of the
 * table cannot be touched through a BAR mapping (SIGBUS).
 */
#define _GNU_SOURCE
#include "vmtest.h"
#include "vt_safety.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#define PCI_CAP_LIST		0x34
#define PCI_CAP_ID_MSIX		0x11
#define PAGE			4096u

/* The MSI-X table's BAR and offset, from the capability. */
static void msix_table(const char *bdf, uint32_t *bar, uint32_t *offset)
{
	int cfg = vt_config_open(bdf);
	uint8_t pos = vt_config_read16(cfg, PCI_CAP_LIST) & 0xff;
	int hops;

	for (hops = 0; pos && hops < 48; hops++) {
		uint16_t id_next = vt_config_read16(cfg, pos);

		if ((id_next & 0xff) == PCI_CAP_ID_MSIX) {
			uint32_t table = vt_config_read16(cfg, pos + 4) |
					 (uint32_t)vt_config_read16(cfg, pos + 6) << 16;

			*bar = table & 7;
			*offset = table & ~7u;
			close(cfg);
			return;
		}
		pos = id_next >> 8;
	}
	vt_fail("%s has no MSI-X capability", bdf);
}

int main(int argc, char **argv)
{
	struct drvproxy_insn read_table;
	struct drvproxy_prog prog;
	uint32_t bar, offset;
	uint8_t *map;
	int fd, sig;

	vt_begin("drvproxy_msix_out_of_reach", 60);
	vt_check(argc == 2, "usage: t_msix BDF");
	msix_table(argv[1], &bar, &offset);
	fd = vt_dev_try_open(argv[1]);
	vt_check(fd >= 0, "open %s: %m", argv[1]);

	read_table = (struct drvproxy_insn){
		.op = DRVPROXY_OP_READ, .width = 4, .bar = bar, .offset = offset,
	};
	vt_check(vt_try_set_prog(fd, &prog, DRVPROXY_PROG_RELEASE, 0, &read_table, 1) < 0 &&
		 errno == EINVAL && prog.error == DRVPROXY_EPROG_PROTECTED,
		 "a program reading the MSI-X table (BAR%u+0x%x): %m, error %u, "
		 "want EINVAL and EPROG_PROTECTED", bar, offset, prog.error);

	map = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd,
		   DRVPROXY_MMAP_BAR(bar) + (offset & ~(PAGE - 1)));
	vt_check(map != MAP_FAILED, "mmap BAR%u: %m", bar);
	sig = vt_touch(map + (offset & (PAGE - 1)));
	vt_check(sig == SIGBUS, "the MSI-X table through a mapping: %s, want SIGBUS",
		 sig ? strsignal(sig) : "readable");
	close(fd);
	vt_pass();
}
