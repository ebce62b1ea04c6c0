// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_release kill BDF | t_release reset BDF
 *
 * kill: a child becomes the device's owner, installs a release program that
 * writes a marker into the liveness register, requests the IRQ and maps a
 * DMA buffer, and is then SIGKILLed. By the time the parent has reaped it,
 * the release sequence must have run: marker written, IRQ handler gone from
 * /proc/interrupts, bus mastering off, releases counter +1, and the device
 * opens again.
 *
 * reset: the RESET ioctl runs the same sequence without closing: the DMA
 * buffer's mapping is gone (SIGBUS), the BAR mapping faults back in, and
 * the handle still works for a new interrupt round trip.
 */
#include "vmtest.h"
#include "vt_safety.h"

#include <linux/pci_regs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#define MARKER		0x4d41524bu	/* "MARK" */
#define WAIT_MS		2000

/* Everything a release has to undo: IRQ, DMA buffer, bus mastering. */
static void become_busy_owner(struct vt_dev *dev, const char *bdf,
			      struct vt_dma *dma)
{
	const struct drvproxy_insn release[] = {
		vt_insn_write_imm(EDU_LIVENESS, MARKER),
	};

	vt_dev_open(dev, bdf);
	vt_set_prog(dev->fd, DRVPROXY_PROG_RELEASE, 0, release, 1);
	vt_set_edu_ack_prog(dev->fd);
	vt_set_irq(dev->fd, DRVPROXY_IRQ_INTX_SHARED);
	vt_dma_alloc(dev->fd, dma, 4096);
	memset(dma->map, 0x5a, 4096);
	vt_bus_master(dev->fd, true);
	/* Anything but the marker, so that only the release can put it there. */
	edu_write(dev->bar0, EDU_LIVENESS, 0);
}

/* drvproxy names its handler "drvproxy[<bdf>]". */
static bool irq_handler_listed(const char *bdf)
{
	unsigned int irq = vt_irq_of(bdf);
	char text[1024], name[64];
	long long count;

	snprintf(name, sizeof(name), "drvproxy[%s]", bdf);
	return vt_irq_line(irq, &count, text, sizeof(text)) &&
	       strstr(text, name) != NULL;
}

static bool bus_master_on(const char *bdf)
{
	int cfg = vt_config_open(bdf);
	bool on = vt_config_read16(cfg, PCI_COMMAND) & PCI_COMMAND_MASTER;

	close(cfg);
	return on;
}

static void check_in_use(const char *bdf, pid_t owner)
{
	uint64_t pid = vt_counter(bdf, "owner_pid");

	vt_check(pid == (uint64_t)owner, "owner_pid %llu, want %d",
		 (unsigned long long)pid, (int)owner);
	vt_check(irq_handler_listed(bdf), "no drvproxy handler on IRQ %u in "
		 "/proc/interrupts while the IRQ is requested", vt_irq_of(bdf));
	vt_check(bus_master_on(bdf), "bus mastering off although the owner "
		 "turned it on");
}

/* The marker is read through a fresh handle when the old one is gone. */
static void check_released(const char *bdf, uint64_t releases_before,
			   volatile uint8_t *bar0)
{
	uint64_t releases = vt_counter(bdf, "releases");
	uint32_t liveness = edu_read(bar0, EDU_LIVENESS);

	vt_check(releases == releases_before + 1, "releases counter %llu, want %llu",
		 (unsigned long long)releases, (unsigned long long)releases_before + 1);
	vt_check(liveness == ~MARKER, "liveness reads 0x%08x, want 0x%08x: the "
		 "release program did not run", liveness, ~MARKER);
	vt_check(!irq_handler_listed(bdf), "drvproxy handler still on IRQ %u",
		 vt_irq_of(bdf));
	vt_check(!bus_master_on(bdf), "bus mastering still on after the release");
}

static void test_kill(const char *bdf)
{
	uint64_t releases_before = vt_counter(bdf, "releases");
	struct vt_child child;
	struct vt_dev dev;
	struct vt_dma dma;
	int status;

	if (vt_fork(&child)) {
		become_busy_owner(&dev, bdf, &dma);
		vt_child_ready();
		for (;;)
			pause();
	}
	vt_wait_child_ready(&child, 5000, "the child owning the device");
	check_in_use(bdf, child.pid);
	vt_check(vt_dev_try_open(bdf) < 0, "a second open succeeded while the "
		 "child owns the device");

	vt_check(kill(child.pid, SIGKILL) == 0, "kill: %m");
	vt_check(waitpid(child.pid, &status, 0) == child.pid, "waitpid: %m");
	vt_check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		 "the child was not killed by SIGKILL (status 0x%x)", status);

	/* The release ran during the child's exit, before waitpid returned. */
	vt_dev_open(&dev, bdf);
	check_released(bdf, releases_before, dev.bar0);
	vt_dev_close(&dev);
}

static void test_reset(const char *bdf)
{
	uint64_t releases_before = vt_counter(bdf, "releases");
	struct drvproxy_event ev;
	struct vt_dev dev;
	struct vt_dma dma;
	int sig;

	become_busy_owner(&dev, bdf, &dma);
	check_in_use(bdf, getpid());
	vt_check(ioctl(dev.fd, DRVPROXY_IOC_RESET) == 0, "ioctl RESET: %m");
	/* The BAR mapping was zapped and faults back in; the buffer is gone. */
	check_released(bdf, releases_before, dev.bar0);
	sig = vt_touch(dma.map);
	vt_check(sig == SIGBUS, "the DMA buffer's mapping after RESET: %s, "
		 "want SIGBUS", sig ? strsignal(sig) : "still readable");

	/* The handle survives: a new IRQ and one round trip. */
	vt_set_edu_ack_prog(dev.fd);
	vt_set_irq(dev.fd, DRVPROXY_IRQ_INTX_SHARED);
	edu_write(dev.bar0, EDU_IRQ_RAISE, 0x1234);
	vt_wait_event(dev.fd, &ev, WAIT_MS, "a raise after RESET");
	vt_check(ev.nsnap == 1 && ev.snap[0] == 0x1234,
		 "event after RESET: nsnap %u snap 0x%llx, want 0x1234", ev.nsnap,
		 (unsigned long long)ev.snap[0]);
	vt_dev_close(&dev);
}

int main(int argc, char **argv)
{
	bool reset;

	reset = argc == 3 && !strcmp(argv[1], "reset");
	vt_begin(reset ? "drvproxy_reset_ioctl" : "drvproxy_release_on_kill", 60);
	vt_check(argc == 3 && (reset || !strcmp(argv[1], "kill")),
		 "usage: t_release kill|reset BDF");
	if (reset)
		test_reset(argv[2]);
	else
		test_kill(argv[2]);
	vt_pass();
}
