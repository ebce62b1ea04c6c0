// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_aer BDF
 *
 * An error the PCI core reports on the device (AER, injected here with the
 * kernel's aer_inject: an uncorrectable, non-fatal completion abort) reaches
 * the owner as an event record with DRVPROXY_EVENT_ERROR and the channel
 * state in snap[0].
 */
#define _GNU_SOURCE
#include "vmtest.h"
#include "vt_safety.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PCI_ERR_UNC_COMP_ABORT	0x00008000u
#define CHANNEL_IO_NORMAL	1

/* drivers/pci/pcie/aer_inject.c's argument. */
struct aer_error_inj {
	uint8_t bus;
	uint8_t dev;
	uint8_t fn;
	uint32_t uncor_status;
	uint32_t cor_status;
	uint32_t header_log[4];
	uint32_t domain;
};

static void inject(const char *bdf)
{
	struct aer_error_inj inj = { .uncor_status = PCI_ERR_UNC_COMP_ABORT };
	unsigned int domain, bus, dev, fn;
	int fd;

	vt_check(sscanf(bdf, "%x:%x:%x.%x", &domain, &bus, &dev, &fn) == 4,
		 "bad BDF '%s'", bdf);
	inj.domain = domain;
	inj.bus = bus;
	inj.dev = dev;
	inj.fn = fn;
	fd = open("/dev/aer_inject", O_WRONLY | O_CLOEXEC);
	vt_check(fd >= 0, "open /dev/aer_inject: %m");
	vt_check(write(fd, &inj, sizeof(inj)) == sizeof(inj),
		 "inject an AER error into %s: %m", bdf);
	close(fd);
}

int main(int argc, char **argv)
{
	struct drvproxy_event ev;
	int fd;

	vt_begin("drvproxy_aer_event", 60);
	vt_check(argc == 2, "usage: t_aer BDF");
	fd = vt_dev_try_open(argv[1]);
	vt_check(fd >= 0, "open %s: %m", argv[1]);
	inject(argv[1]);
	vt_wait_event(fd, &ev, 5000, "an AER error");
	vt_check((ev.flags & DRVPROXY_EVENT_ERROR) && ev.nsnap == 1 &&
		 ev.snap[0] == CHANNEL_IO_NORMAL, "event flags 0x%x nsnap %u "
		 "snap 0x%llx, want ERROR with channel state %d", ev.flags,
		 ev.nsnap, (unsigned long long)ev.snap[0], CHANNEL_IO_NORMAL);
	close(fd);
	vt_pass();
}
