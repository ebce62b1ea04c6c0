// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the register-program validator. The input chooses
 * the program kind, the BAR layout and the instructions. Any program the
 * validator accepts is then run, and the run must keep the promises the
 * kernel relies on in its top half: every access inside its BAR, aligned,
 * of a legal width, clear of the BAR's protected ranges (MSI-X table, PBA);
 * no I/O-BAR 64-bit access; waits within the budget; at most the snapshot
 * limit; a bounded number of steps, with or without a clock, also when
 * reads are slow.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "regprog.h"

struct bounds {
	struct regprog_bar bars[DRVPROXY_NUM_BARS];
	__u64 waited_us;
	__u64 accesses;
	__u64 value;	/* what every read returns: from the input */
	__u64 clock_us;	/* advanced by waits and reads */
	__u32 read_us;	/* what a read costs on that clock: from the input */
};

/*
 * A POLL reads once, then once after each wait; the waits double from 1 us
 * to REGPROG_POLL_MAX_STEP_US, so a program reads at most this often.
 */
#define MAX_ACCESSES	(DRVPROXY_PROG_MAX_INSNS * 13 + \
			 DRVPROXY_PROG_MAX_WAIT_US / REGPROG_POLL_MAX_STEP_US)

static void check_access(struct bounds *b, __u8 bar, __u32 off, __u8 width)
{
	int i;

	if (bar >= DRVPROXY_NUM_BARS || b->bars[bar].size == 0)
		abort();
	if (width != 1 && width != 2 && width != 4 && width != 8)
		abort();
	if ((__u64)off + width > b->bars[bar].size || off % width)
		abort();
	if (width == 8 && b->bars[bar].is_io)
		abort();
	for (i = 0; i < REGPROG_MAX_PROTECTED; i++) {
		const struct regprog_range *r = &b->bars[bar].protect[i];

		if (r->len && off < r->start + r->len && r->start < (__u64)off + width)
			abort();
	}
	if (++b->accesses > MAX_ACCESSES)
		abort();
	b->clock_us += b->read_us;
}

static __u64 fuzz_read(void *ctx, __u8 bar, __u32 off, __u8 width)
{
	struct bounds *b = ctx;

	check_access(b, bar, off, width);
	return b->value;
}

static void fuzz_write(void *ctx, __u8 bar, __u32 off, __u8 width, __u64 v)
{
	(void)v;
	check_access(ctx, bar, off, width);
}

static void fuzz_delay(void *ctx, __u32 us)
{
	struct bounds *b = ctx;

	b->waited_us += us;
	b->clock_us += us;
	if (us == 0 || b->waited_us > DRVPROXY_PROG_MAX_WAIT_US)
		abort();
}

static __u64 fuzz_now(void *ctx)
{
	return ((struct bounds *)ctx)->clock_us;
}

static const struct regprog_io io_counting = {
	.read = fuzz_read, .write = fuzz_write, .delay_us = fuzz_delay,
};
static const struct regprog_io io_clock = {
	.read = fuzz_read, .write = fuzz_write, .delay_us = fuzz_delay,
	.now_us = fuzz_now,
};

static __u64 le(const uint8_t *p, int n)
{
	__u64 v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

#define BAR_BYTES	8
#define HEADER_BYTES	(1 + 8 + 1 + BAR_BYTES * DRVPROXY_NUM_BARS)

/*
 * Input: kind(1) value(8) read_us(1, 0: no clock), then per BAR
 * [size_log2(1) is_io(1) 2 x (start/8 (2) len/16 (1))], then instructions.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drvproxy_insn insns[DRVPROXY_PROG_MAX_INSNS + 2];
	const struct regprog_io *io;
	struct regprog_result result;
	struct bounds b = { 0 };
	__u32 len, err, idx;
	__u8 kind;
	int i, j;

	if (size < HEADER_BYTES)
		return 0;
	kind = data[0];
	memcpy(&b.value, data + 1, 8);
	b.read_us = data[9];
	io = b.read_us ? &io_clock : &io_counting;
	data += 10;
	for (i = 0; i < DRVPROXY_NUM_BARS; i++, data += BAR_BYTES) {
		__u8 lg = data[0] % 40;

		b.bars[i].size = lg < 2 ? 0 : (1ULL << lg) - (data[0] & 0x80 ? 4 : 0);
		b.bars[i].is_io = data[1] & 1;
		for (j = 0; j < REGPROG_MAX_PROTECTED; j++) {
			b.bars[i].protect[j].start = le(data + 2 + 3 * j, 2) * 8;
			b.bars[i].protect[j].len = le(data + 4 + 3 * j, 1) * 16;
		}
	}
	size -= HEADER_BYTES;

	len = size / sizeof(struct drvproxy_insn);
	if (len > DRVPROXY_PROG_MAX_INSNS + 2)
		len = DRVPROXY_PROG_MAX_INSNS + 2;
	memcpy(insns, data, len * sizeof(struct drvproxy_insn));

	if (regprog_validate(kind, insns, len, b.bars, &err, &idx) != 0) {
		if (err == DRVPROXY_EPROG_OK || err >= DRVPROXY_EPROG_MAX_ || idx > len)
			abort();
		return 0;
	}
	if (len > DRVPROXY_PROG_MAX_INSNS)
		abort();
	regprog_run(insns, len, io, &b, &result);
	if (result.nsnap > DRVPROXY_MAX_SNAPSHOTS)
		abort();
	if (kind == DRVPROXY_PROG_ACK && (b.waited_us || result.poll_timeouts))
		abort();
	return 0;
}
