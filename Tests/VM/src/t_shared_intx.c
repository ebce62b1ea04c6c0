// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_shared_intx OURS SIBLING /dev/uioN
 *
 * OURS (bound to drvproxy) and SIBLING (bound to uio_pci_generic) share one
 * INTx line. OURS runs the edu ack program in the top half and does 10,000
 * raise/event round trips; meanwhile a child drives SIBLING the uio way. Each
 * side must see its own interrupts: contiguous sequence numbers and the
 * raised value in every snapshot on ours, exactly as many claimed interrupts
 * as raises, no event of ours caused by the sibling, drvproxy's NOT_MINE
 * counter moving because the sibling fired; on the sibling, every raise
 * reaches uio_pci_generic's handler, and nobody else acknowledges it.
 */
#include "vmtest.h"

#include <linux/pci_regs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUR_ROUNDS	10000
#define SIBLING_ROUNDS	500
#define WAIT_MS		2000

static uint32_t uio_event_count(const char *uio_dev)
{
	const char *name = strrchr(uio_dev, '/');
	char path[128], buf[32];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/uio/%s/event", name ? name + 1 : uio_dev);
	f = fopen(path, "re");
	vt_check(f != NULL, "open %s: %m", path);
	vt_check(fgets(buf, sizeof(buf), f) != NULL, "read %s: %m", path);
	fclose(f);
	return (uint32_t)strtoul(buf, NULL, 10);
}

/*
 * uio_pci_generic's handler claims whatever fires on the line while its
 * device's INTx status bit is set, even once it has masked the device; so
 * between its mask and the re-enable it counts the other device's
 * interrupts too, and its count only bounds ours from below. That the
 * sibling's own interrupt reached the handler shows in the INTx-disable bit,
 * which the handler sets.
 */
static void wait_masked_by_uio(struct vt_uio *uio, uint32_t round)
{
	uint64_t deadline = vt_now_ns() + (uint64_t)WAIT_MS * 1000000u;

	while (!(vt_config_read16(uio->cfg, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE)) {
		vt_check(vt_now_ns() < deadline, "sibling raise %u: uio_pci_generic "
			 "did not mask the device within %d ms", round, WAIT_MS);
		sched_yield();
	}
}

/* The child: a uio_pci_generic driver that handles its own interrupts. */
static void drive_sibling(const char *bdf, const char *uio_dev)
{
	uint32_t prev, i, extra = 0;
	struct vt_uio uio;

	vt_uio_open(&uio, bdf, uio_dev);
	prev = uio_event_count(uio_dev);
	vt_child_ready();
	for (i = 1; i <= SIBLING_ROUNDS; i++) {
		uint32_t value = 0x5000000u | i, count, status;

		edu_write(uio.bar0, EDU_IRQ_RAISE, value);
		count = vt_uio_wait(&uio, WAIT_MS);
		vt_check(count > prev, "sibling raise %u: uio count %u after %u",
			 i, count, prev);
		wait_masked_by_uio(&uio, i);
		/* Nobody but us may have acknowledged the sibling's interrupt. */
		status = edu_read(uio.bar0, EDU_IRQ_STATUS);
		vt_check(status == value, "sibling raise %u: status 0x%x, want 0x%x",
			 i, status, value);
		extra += count - prev - 1;
		prev = count;
		edu_write(uio.bar0, EDU_IRQ_ACK, value);
		vt_uio_reenable(&uio);
	}
	vt_note("uio_pci_generic also counted %u interrupts of the other device "
		"while its own was pending", extra);
	exit(0);
}

static void check_event(const struct drvproxy_event *ev, uint32_t i,
			uint64_t raised_ns, uint64_t seen_ns)
{
	vt_check(ev->seq == i, "round %u: event seq %llu, want %u", i,
		 (unsigned long long)ev->seq, i);
	vt_check(ev->flags == 0 && ev->dropped == 0,
		 "round %u: flags 0x%x dropped %u, want none", i, ev->flags, ev->dropped);
	vt_check(ev->nsnap == 1 && ev->snap[0] == i,
		 "round %u: %u snapshots, first 0x%llx, want one: 0x%x", i,
		 ev->nsnap, (unsigned long long)ev->snap[0], i);
	vt_check(ev->timestamp_ns >= raised_ns && ev->timestamp_ns <= seen_ns,
		 "round %u: timestamp %llu outside [raise %llu, read %llu]", i,
		 (unsigned long long)ev->timestamp_ns,
		 (unsigned long long)raised_ns, (unsigned long long)seen_ns);
}

static void run_our_rounds(struct vt_dev *dev)
{
	struct drvproxy_event ev;
	uint32_t i;

	for (i = 1; i <= OUR_ROUNDS; i++) {
		uint64_t raised = vt_now_ns();

		edu_write(dev->bar0, EDU_IRQ_RAISE, i);
		vt_wait_event(dev->fd, &ev, WAIT_MS, "our raise");
		check_event(&ev, i, raised, vt_now_ns());
	}
}

int main(int argc, char **argv)
{
	uint64_t not_mine_before, not_mine_moved, claimed_before, claimed;
	struct drvproxy_event extra;
	struct vt_child sibling;
	struct vt_dev dev;

	vt_begin("drvproxy_shared_intx", 300);
	vt_check(argc == 4, "usage: t_shared_intx OURS SIBLING /dev/uioN");
	vt_check(vt_irq_of(argv[1]) == vt_irq_of(argv[2]),
		 "%s (IRQ %u) and %s (IRQ %u) do not share a line", argv[1],
		 vt_irq_of(argv[1]), argv[2], vt_irq_of(argv[2]));

	vt_dev_open(&dev, argv[1]);
	vt_set_edu_ack_prog(dev.fd);
	vt_set_irq(dev.fd, DRVPROXY_IRQ_INTX_SHARED);
	not_mine_before = vt_counter(dev.bdf, "not_mine");
	claimed_before = vt_counter(dev.bdf, "interrupts");

	if (vt_fork(&sibling))
		drive_sibling(argv[2], argv[3]);
	vt_wait_child_ready(&sibling, 5000, "uio sibling");
	run_our_rounds(&dev);
	vt_join(&sibling, "uio sibling");

	/* The sibling's last interrupt was handled before the child exited. */
	vt_check(vt_read_events(dev.fd, &extra, 1, 0) == 0,
		 "an event beyond our %u raises: seq %llu snap 0x%llx", OUR_ROUNDS,
		 (unsigned long long)extra.seq, (unsigned long long)extra.snap[0]);
	claimed = vt_counter(dev.bdf, "interrupts") - claimed_before;
	vt_check(claimed == OUR_ROUNDS, "interrupts counter moved by %llu for %u raises",
		 (unsigned long long)claimed, OUR_ROUNDS);
	not_mine_moved = vt_counter(dev.bdf, "not_mine") - not_mine_before;
	vt_check(not_mine_moved > 0,
		 "not_mine counter did not move while the sibling fired %u times",
		 SIBLING_ROUNDS);
	vt_note("not_mine moved by %llu", (unsigned long long)not_mine_moved);
	vt_dev_close(&dev);
	vt_pass();
}
