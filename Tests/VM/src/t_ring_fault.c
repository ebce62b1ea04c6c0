// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_ring_fault BDF
 *
 * read() never loses records.
 *
 * faults: with records queued, read() into a buffer whose second page is
 * PROT_NONE returns what fits in the first page; into a buffer whose first
 * record straddles the boundary, the whole records before it; into an
 * unmapped or PROT_NONE address, EFAULT. A good read() then gets every
 * remaining record: no gap in seq, no DROPPED mark, sysfs dropped unmoved.
 *
 * stalled: a reader stalls inside read() on a userfaultfd page, holding
 * records it has copied but not yet taken off the ring. Meanwhile ioctls
 * still work and a storm fills the ring and masks the device. Once the page
 * arrives the reader gets its records intact; the records after it, the
 * dropped counts and the storm record account for every interrupt.
 */
#define _GNU_SOURCE
#include "vmtest.h"
#include "vt_irq.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WAIT_MS		2000
#define QUEUED		100
#define STALL_QUEUED	20
#define STALL_READ	16
#define STORM_VALUE	0x77u
#define REC		sizeof(struct drvproxy_event)

static uint32_t raise_value(uint64_t seq)
{
	return 0xa0000000u | (uint32_t)seq;
}

static long page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/* Append records to a log; the log's seqs must run on without a gap. */
struct log {
	struct drvproxy_event ev[8192];
	size_t n;
};

static void take(struct log *log, const void *buf, ssize_t bytes, const char *what)
{
	vt_check(bytes >= 0 && bytes % REC == 0, "%s: returned %zd, not whole records",
		 what, bytes);
	vt_check(log->n + bytes / REC <= sizeof(log->ev) / REC, "%s: too many records", what);
	memcpy(&log->ev[log->n], buf, bytes);
	log->n += bytes / REC;
}

static void expect_efault(int fd, void *buf, size_t count, const char *what)
{
	ssize_t n = read(fd, buf, count);

	vt_check(n < 0 && errno == EFAULT, "read into %s: %s, want EFAULT", what,
		 n < 0 ? strerror(errno) : "succeeded");
}

static void drain(int fd, struct log *log)
{
	struct drvproxy_event batch[64];
	size_t n;

	while ((n = vt_read_events(fd, batch, 64, 0)) > 0)
		take(log, batch, n * REC, "a good read");
}

/* seq from first on, each gap announced exactly by the record after it. */
static uint64_t check_log(const struct log *log, uint64_t first, uint64_t *dropped)
{
	uint64_t prev = first - 1;
	size_t i;

	*dropped = 0;
	for (i = 0; i < log->n; i++) {
		const struct drvproxy_event *ev = &log->ev[i];
		uint64_t gap = ev->seq - prev - 1;

		vt_check(ev->seq > prev, "record %zu: seq %llu after %llu", i,
			 (unsigned long long)ev->seq, (unsigned long long)prev);
		vt_check(ev->dropped == gap && !!(ev->flags & DRVPROXY_EVENT_DROPPED) == !!gap,
			 "record %zu: seq %llu after %llu, but dropped %u flags 0x%x: %s",
			 i, (unsigned long long)ev->seq, (unsigned long long)prev,
			 ev->dropped, ev->flags, gap ? "a loss not announced right" :
			 "records lost without a word");
		*dropped += gap;
		prev = ev->seq;
	}
	return prev;
}

static void test_faults(struct vt_dev *dev)
{
	long pg = page_size();
	uint64_t sysfs_dropped = vt_counter(dev->bdf, "dropped"), last, dropped;
	static struct log log;
	uint8_t *two, *gone;
	ssize_t n;
	size_t i;

	for (i = 1; i <= QUEUED; i++)
		vt_raise_and_wait_ack(dev, raise_value(i), WAIT_MS);

	gone = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	vt_check(gone != MAP_FAILED, "mmap: %m");
	munmap(gone, pg);
	expect_efault(dev->fd, gone, 16 * REC, "an unmapped page");

	two = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	vt_check(two != MAP_FAILED, "mmap: %m");
	vt_check(mprotect(two + pg, pg, PROT_NONE) == 0, "mprotect: %m");
	expect_efault(dev->fd, two + pg, REC, "a PROT_NONE page");

	n = read(dev->fd, two, 2 * pg);
	vt_check(n == pg, "read into a page followed by a PROT_NONE page: %zd "
		 "(%s), want %ld", n, n < 0 ? strerror(errno) : "", pg);
	take(&log, two, n, "the first page");
	vt_check(log.ev[0].seq == 1 && !(log.ev[0].flags & DRVPROXY_EVENT_DROPPED),
		 "after two read()s that faulted, the first record is seq %llu flags "
		 "0x%x dropped %u: records lost without a word",
		 (unsigned long long)log.ev[0].seq, log.ev[0].flags, log.ev[0].dropped);

	/* One whole record, then one that straddles into PROT_NONE. */
	n = read(dev->fd, two + pg - REC - REC / 2, 4 * REC);
	vt_check(n == REC, "read with a record straddling a PROT_NONE page: %zd "
		 "(%s), want %zu", n, n < 0 ? strerror(errno) : "", REC);
	take(&log, two + pg - REC - REC / 2, n, "the straddling read");
	expect_efault(dev->fd, two + pg - REC / 2, 4 * REC, "a straddling first record");

	drain(dev->fd, &log);
	last = check_log(&log, 1, &dropped);
	vt_check(last == QUEUED && log.n == QUEUED, "%zu records up to seq %llu, want "
		 "all %d", log.n, (unsigned long long)last, QUEUED);
	for (i = 0; i < log.n; i++)
		vt_check(log.ev[i].snap[0] == raise_value(log.ev[i].seq),
			 "record %zu: snap 0x%llx, want 0x%x", i,
			 (unsigned long long)log.ev[i].snap[0], raise_value(log.ev[i].seq));
	vt_check(vt_counter(dev->bdf, "dropped") == sysfs_dropped,
		 "sysfs dropped moved from %llu to %llu", (unsigned long long)sysfs_dropped,
		 (unsigned long long)vt_counter(dev->bdf, "dropped"));
	munmap(two, 2 * pg);
}

/* ---- A reader stalled in a page fault ------------------------------------ */

struct stalled_reader {
	int fd;
	void *buf;
	ssize_t got;
	int err;
};

static void *stalled_read(void *arg)
{
	struct stalled_reader *r = arg;

	r->got = read(r->fd, r->buf, STALL_READ * REC);
	r->err = errno;
	return NULL;
}

static int userfault_page(void *page, long pg)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)page, .len = (uint64_t)pg },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);

	vt_check(uffd >= 0, "userfaultfd: %m");
	vt_check(ioctl(uffd, UFFDIO_API, &api) == 0, "UFFDIO_API: %m");
	vt_check(ioctl(uffd, UFFDIO_REGISTER, &reg) == 0, "UFFDIO_REGISTER: %m");
	return uffd;
}

static void wait_for_fault(int uffd, void *page)
{
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	struct uffd_msg msg;

	vt_check(poll(&pfd, 1, WAIT_MS) == 1, "the reader did not fault on its buffer");
	vt_check(read(uffd, &msg, sizeof(msg)) == sizeof(msg), "read uffd: %m");
	vt_check(msg.event == UFFD_EVENT_PAGEFAULT &&
		 (msg.arg.pagefault.address & ~(uint64_t)(page_size() - 1)) == (uintptr_t)page,
		 "unexpected userfault event %u at 0x%llx", msg.event,
		 (unsigned long long)msg.arg.pagefault.address);
}

static void resolve_fault(int uffd, void *page, long pg)
{
	static uint8_t zeros[65536];
	struct uffdio_copy copy = {
		.dst = (uintptr_t)page, .src = (uintptr_t)zeros, .len = (uint64_t)pg,
	};

	vt_check(pg <= (long)sizeof(zeros), "page size %ld", pg);
	vt_check(ioctl(uffd, UFFDIO_COPY, &copy) == 0, "UFFDIO_COPY: %m");
}

static void set_claim_without_ack(int fd)
{
	const struct drvproxy_insn claim_only[] = {
		vt_insn_reg(DRVPROXY_OP_READ, EDU_IRQ_STATUS),
		vt_insn(DRVPROXY_OP_NOT_MINE_IF_ZERO, 0),
		vt_insn(DRVPROXY_OP_SNAPSHOT, 0),
	};

	vt_set_prog(fd, DRVPROXY_PROG_ACK, 0, claim_only, 3);
}

static void test_stalled(struct vt_dev *dev)
{
	uint64_t first = QUEUED + 1, storms = vt_counter(dev->bdf, "storms");
	uint64_t last, dropped, claimed;
	struct stalled_reader r = { .fd = dev->fd };
	struct drvproxy_info info;
	static struct log log;
	pthread_t thread;
	long pg = page_size();
	size_t i;
	int uffd;

	for (i = 0; i < STALL_QUEUED; i++)
		vt_raise_and_wait_ack(dev, raise_value(first + i), WAIT_MS);
	r.buf = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	vt_check(r.buf != MAP_FAILED, "mmap: %m");
	uffd = userfault_page(r.buf, pg);
	vt_check(pthread_create(&thread, NULL, stalled_read, &r) == 0, "pthread_create");
	wait_for_fault(uffd, r.buf);

	/* The stalled reader holds no lock an ioctl needs. */
	vt_get_info(dev->fd, &info);
	set_claim_without_ack(dev->fd);
	edu_write(dev->bar0, EDU_IRQ_RAISE, STORM_VALUE);
	vt_wait_counter_moves(dev->bdf, "storms", storms, 10000);

	resolve_fault(uffd, r.buf, pg);
	pthread_join(thread, NULL);
	errno = r.err;
	vt_check(r.got == STALL_READ * REC, "the stalled read returned %zd (%m), want "
		 "%d records", r.got, STALL_READ);
	take(&log, r.buf, r.got, "the stalled read");
	drain(dev->fd, &log);

	last = check_log(&log, first, &dropped);
	claimed = last - first + 1;
	vt_check(log.n + dropped == claimed, "%zu records and %llu dropped for %llu "
		 "claimed interrupts", log.n, (unsigned long long)dropped,
		 (unsigned long long)claimed);
	vt_check(log.n == info.ring_entries + 1, "%zu records: want the ring's %u and the "
		 "storm record", log.n, info.ring_entries);
	for (i = 0; i < log.n; i++) {
		const struct drvproxy_event *ev = &log.ev[i];
		uint32_t want = ev->seq < first + STALL_QUEUED ? raise_value(ev->seq) : STORM_VALUE;

		vt_check(ev->nsnap == 1 && ev->snap[0] == want, "record %zu (seq %llu): "
			 "snap 0x%llx, want 0x%x", i, (unsigned long long)ev->seq,
			 (unsigned long long)ev->snap[0], want);
		vt_check(!!(ev->flags & DRVPROXY_EVENT_STORM) == (i == log.n - 1),
			 "record %zu of %zu (seq %llu): flags 0x%x, only the last may say STORM",
			 i, log.n, (unsigned long long)ev->seq, ev->flags);
	}

	/* Quiet the device, lift the mask: the sequence goes on. */
	edu_quiesce(dev->bar0);
	vt_unmask(dev->fd);
	vt_set_edu_ack_prog(dev->fd);
	vt_roundtrip(dev, 0x99, last + 1);
	close(uffd);
	munmap(r.buf, pg);
}

int main(int argc, char **argv)
{
	struct vt_dev dev;

	vt_begin("drvproxy_ring_fault", 180);
	vt_check(argc == 2, "usage: t_ring_fault BDF");
	vt_dev_open(&dev, argv[1]);
	vt_check(dev.info.ring_entries >= STALL_QUEUED + 8 &&
		 dev.info.ring_entries < sizeof(((struct log *)0)->ev) / REC - 1,
		 "ring_entries %u out of the test's range", dev.info.ring_entries);
	vt_set_edu_ack_prog(dev.fd);
	vt_set_irq(dev.fd, DRVPROXY_IRQ_INTX_SHARED);
	test_faults(&dev);
	test_stalled(&dev);
	vt_dev_close(&dev);
	vt_pass();
}
