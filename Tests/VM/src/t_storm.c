// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_storm BDF
 *
 * The device is raised under an ack program that claims the interrupt but
 * never acknowledges it, so the level-triggered line keeps firing. drvproxy
 * must mask it: the storms counter moves, the ring's last record carries
 * DRVPROXY_EVENT_STORM, and the line falls silent (its count in
 * /proc/interrupts stops moving, so the CPU is ours again). After an ack and
 * UNMASK, a normal round trip works and continues the sequence.
 *
 * Silence is judged by counting interrupts, not by timing a loop: a timed
 * loop measured the host's load as much as the storm (it failed once on a
 * busy machine), a count does not.
 */
#include "vmtest.h"

#include <sched.h>
#include <stdlib.h>
#include <time.h>

#define STORM_VALUE	0x77u
#define QUIET_MS	200
#define WAIT_MS		10000
/* One interrupt may already be on its way when the mask lands. */
#define QUIET_MAX	1

static long long line_count(unsigned int irq)
{
	long long count;
	char text[1024];

	vt_check(vt_irq_line(irq, &count, text, sizeof(text)),
		 "IRQ %u is not in /proc/interrupts", irq);
	return count;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void install_claim_without_ack(int fd)
{
	const struct drvproxy_insn claim_only[] = {
		vt_insn_reg(DRVPROXY_OP_READ, EDU_IRQ_STATUS),
		vt_insn(DRVPROXY_OP_NOT_MINE_IF_ZERO, 0),
		vt_insn(DRVPROXY_OP_SNAPSHOT, 0),
	};

	vt_set_prog(fd, DRVPROXY_PROG_ACK, 0, claim_only, 3);
}

/* The storm counter is our event: poll it, bounded. */
static void wait_for_storm(const char *bdf, uint64_t storms_before)
{
	uint64_t deadline = vt_now_ns() + (uint64_t)WAIT_MS * 1000000u;

	while (vt_counter(bdf, "storms") == storms_before) {
		vt_check(vt_now_ns() < deadline, "storms counter still %llu after %d ms "
			 "of an unacknowledged interrupt",
			 (unsigned long long)storms_before, WAIT_MS);
		sched_yield();
	}
}

/* Drain the ring; returns the last record, which must announce the storm. */
static struct drvproxy_event last_record(int fd)
{
	struct drvproxy_event batch[64], last = { 0 };
	size_t n, total = 0;

	while ((n = vt_read_events(fd, batch, 64, total ? 0 : WAIT_MS)) > 0) {
		last = batch[n - 1];
		total += n;
	}
	vt_check(total > 0, "no event at all from the storm");
	vt_check(last.flags & DRVPROXY_EVENT_STORM, "last of %zu records (seq %llu) "
		 "has flags 0x%x, no STORM", total, (unsigned long long)last.seq,
		 last.flags);
	vt_check(last.nsnap == 1 && last.snap[0] == STORM_VALUE,
		 "storm record snapshot 0x%llx, want 0x%x",
		 (unsigned long long)last.snap[0], STORM_VALUE);
	return last;
}

int main(int argc, char **argv)
{
	uint64_t storms_before, storms_moved;
	long long fired_before, fired_quiet;
	struct drvproxy_event storm;
	struct vt_dev dev;
	unsigned int irq;

	vt_begin("drvproxy_storm", 60);
	vt_check(argc == 2, "usage: t_storm BDF");
	vt_dev_open(&dev, argv[1]);
	install_claim_without_ack(dev.fd);
	vt_set_irq(dev.fd, DRVPROXY_IRQ_INTX_SHARED);
	storms_before = vt_counter(dev.bdf, "storms");
	irq = vt_irq_of(dev.bdf);

	edu_write(dev.bar0, EDU_IRQ_RAISE, STORM_VALUE);
	wait_for_storm(dev.bdf, storms_before);
	/* The sleep is the observation window, not a synchronisation. */
	fired_before = line_count(irq);
	sleep_ms(QUIET_MS);
	fired_quiet = line_count(irq) - fired_before;
	vt_check(fired_quiet <= QUIET_MAX, "after the storm was masked IRQ %u "
		 "still fired %lld times in %d ms", irq, fired_quiet, QUIET_MS);
	storm = last_record(dev.fd);
	storms_moved = vt_counter(dev.bdf, "storms") - storms_before;
	vt_check(storms_moved == 1, "storms counter moved by %llu, want 1",
		 (unsigned long long)storms_moved);

	/* Quiet the device, lift the mask, and the line works as before. */
	edu_write(dev.bar0, EDU_IRQ_ACK, STORM_VALUE);
	vt_unmask(dev.fd);
	vt_set_edu_ack_prog(dev.fd);
	vt_roundtrip(&dev, 0x99, storm.seq + 1);
	vt_dev_close(&dev);
	vt_pass();
}
