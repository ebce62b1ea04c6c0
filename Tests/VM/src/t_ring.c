// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_ring coalesce BDF | t_ring overflow BDF
 *
 * coalesce: several interrupts taken while nobody reads come back from one
 * read(), whole and in order.
 *
 * overflow: more interrupts than the ring holds, unread. Nothing is lost
 * silently: the records left, plus the `dropped` counts carried by the record
 * after each gap, account for every interrupt; seq arithmetic agrees with
 * `dropped`; the sysfs dropped counter moved by the same amount.
 *
 * Each raise waits until the edu's status reads 0 again, i.e. until the ack
 * program has run in the top half (1 vCPU: the event is queued by then), so
 * every raise is a separate interrupt rather than bits OR-ed into one.
 */
#include "vmtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COALESCE_COUNT	8
#define OVERFLOW_EXTRA	5
#define WAIT_MS		2000

static uint32_t raise_value(uint64_t seq)
{
	return 0xa0000000u | (uint32_t)seq;
}

static void raise_and_wait_ack(struct vt_dev *dev, uint64_t seq)
{
	edu_write(dev->bar0, EDU_IRQ_RAISE, raise_value(seq));
	vt_check(edu_wait_status_clear(dev->bar0, WAIT_MS),
		 "raise %llu: the top half did not acknowledge within %d ms "
		 "(status 0x%x)", (unsigned long long)seq, WAIT_MS,
		 edu_read(dev->bar0, EDU_IRQ_STATUS));
}

static void open_with_ack_program(struct vt_dev *dev, const char *bdf)
{
	vt_dev_open(dev, bdf);
	vt_set_edu_ack_prog(dev->fd);
	vt_set_irq(dev->fd, DRVPROXY_IRQ_INTX_SHARED);
}

static void test_coalesce(struct vt_dev *dev)
{
	struct drvproxy_event ev[COALESCE_COUNT * 2];
	size_t n, i;

	for (i = 1; i <= COALESCE_COUNT; i++)
		raise_and_wait_ack(dev, i);
	n = vt_read_events(dev->fd, ev, COALESCE_COUNT * 2, WAIT_MS);
	vt_check(n == COALESCE_COUNT, "one read() returned %zu events, want %d",
		 n, COALESCE_COUNT);
	for (i = 0; i < n; i++)
		vt_check(ev[i].seq == i + 1 && ev[i].flags == 0 && ev[i].nsnap == 1 &&
			 ev[i].snap[0] == raise_value(i + 1),
			 "record %zu: seq %llu flags 0x%x snap 0x%llx, want seq %zu "
			 "flags 0 snap 0x%x", i, (unsigned long long)ev[i].seq,
			 ev[i].flags, (unsigned long long)ev[i].snap[0], i + 1,
			 raise_value(i + 1));
	vt_check(vt_read_events(dev->fd, ev, 1, 0) == 0,
		 "an event left after reading all %d", COALESCE_COUNT);
}

/* Read whatever the ring holds; returns how many records were appended. */
static size_t drain(int fd, struct drvproxy_event *ev, size_t room)
{
	size_t total = 0, n;

	while (total < room && (n = vt_read_events(fd, ev + total, room - total, 0)) > 0)
		total += n;
	return total;
}

/* Every gap in seq must be announced, exactly, by the record after it. */
static uint64_t check_gaps(const struct drvproxy_event *ev, size_t n)
{
	uint64_t prev = 0, dropped = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t gap = ev[i].seq - prev - 1;

		vt_check(ev[i].seq > prev, "record %zu: seq %llu after %llu", i,
			 (unsigned long long)ev[i].seq, (unsigned long long)prev);
		vt_check(ev[i].dropped == gap,
			 "record %zu: seq %llu follows %llu but says dropped %u", i,
			 (unsigned long long)ev[i].seq, (unsigned long long)prev,
			 ev[i].dropped);
		vt_check(!!(ev[i].flags & DRVPROXY_EVENT_DROPPED) == (gap > 0),
			 "record %zu: flags 0x%x with dropped %u", i, ev[i].flags,
			 ev[i].dropped);
		vt_check(ev[i].nsnap == 1 && ev[i].snap[0] == raise_value(ev[i].seq),
			 "record %zu (seq %llu): snap 0x%llx, want 0x%x", i,
			 (unsigned long long)ev[i].seq,
			 (unsigned long long)ev[i].snap[0], raise_value(ev[i].seq));
		dropped += gap;
		prev = ev[i].seq;
	}
	return dropped;
}

static void test_overflow(struct vt_dev *dev)
{
	uint64_t raises = (uint64_t)dev->info.ring_entries + OVERFLOW_EXTRA;
	uint64_t sysfs_before, sysfs_moved, dropped, seq;
	struct drvproxy_event *ev;
	size_t n;

	vt_check(dev->info.ring_entries > 0 && dev->info.ring_entries <= 1u << 20,
		 "implausible ring_entries %u", dev->info.ring_entries);
	ev = calloc(raises + 1, sizeof(*ev));
	vt_check(ev != NULL, "calloc: %m");
	sysfs_before = vt_counter(dev->bdf, "dropped");
	for (seq = 1; seq <= raises; seq++)
		raise_and_wait_ack(dev, seq);
	n = drain(dev->fd, ev, raises + 1);
	vt_check(n == dev->info.ring_entries, "the full ring gave %zu records, "
		 "want ring_entries %u", n, dev->info.ring_entries);
	/* The record after the loss carries the count. */
	raise_and_wait_ack(dev, raises + 1);
	vt_wait_event(dev->fd, &ev[n], WAIT_MS, "the raise after the overflow");
	n++;

	dropped = check_gaps(ev, n);
	vt_check(ev[n - 1].seq == raises + 1, "last seq %llu, want %llu",
		 (unsigned long long)ev[n - 1].seq, (unsigned long long)raises + 1);
	vt_check(dropped == OVERFLOW_EXTRA, "records announce %llu dropped, want %d",
		 (unsigned long long)dropped, OVERFLOW_EXTRA);
	sysfs_moved = vt_counter(dev->bdf, "dropped") - sysfs_before;
	vt_check(sysfs_moved == OVERFLOW_EXTRA, "sysfs dropped moved by %llu, want %d",
		 (unsigned long long)sysfs_moved, OVERFLOW_EXTRA);
	free(ev);
}

int main(int argc, char **argv)
{
	struct vt_dev dev;
	bool overflow;

	overflow = argc == 3 && !strcmp(argv[1], "overflow");
	vt_begin(overflow ? "drvproxy_ring_overflow" : "drvproxy_coalesce", 240);
	vt_check(argc == 3 && (overflow || !strcmp(argv[1], "coalesce")),
		 "usage: t_ring coalesce|overflow BDF");
	open_with_ack_program(&dev, argv[2]);
	if (overflow)
		test_overflow(&dev);
	else
		test_coalesce(&dev);
	vt_dev_close(&dev);
	vt_pass();
}
