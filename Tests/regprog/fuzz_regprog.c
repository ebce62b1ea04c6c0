// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the register-program validator. The input chooses
 * the program kind, the BAR layout and the instructions. Any program the
 * validator accepts is then run, and the run must keep the promises the
 * kernel relies on in its top half: every access inside its BAR, aligned,
 * of a legal width; no I/O-BAR 64-bit access; waits within the budget; at
 * most the snapshot limit; a bounded number of steps.
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
};

static void check_access(struct bounds *b, __u8 bar, __u32 off, __u8 width)
{
	if (bar >= DRVPROXY_NUM_BARS || b->bars[bar].size == 0)
		abort();
	if (width != 1 && width != 2 && width != 4 && width != 8)
		abort();
	if ((__u64)off + width > b->bars[bar].size || off % width)
		abort();
	if (width == 8 && b->bars[bar].is_io)
		abort();
	/* Straight-line code: a read per instruction plus one per polled µs. */
	if (++b->accesses > DRVPROXY_PROG_MAX_INSNS * 2 + DRVPROXY_PROG_MAX_WAIT_US)
		abort();
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
	if (b->waited_us > DRVPROXY_PROG_MAX_WAIT_US)
		abort();
}

static const struct regprog_io io = { fuzz_read, fuzz_write, fuzz_delay };

/* Input: kind(1) value(8) 6 x [size_log2(1) is_io(1)] then instructions. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drvproxy_insn insns[DRVPROXY_PROG_MAX_INSNS + 2];
	struct regprog_result result;
	struct bounds b = { 0 };
	__u32 len, err, idx;
	__u8 kind;
	int i;

	if (size < 1 + 8 + 2 * DRVPROXY_NUM_BARS)
		return 0;
	kind = data[0];
	memcpy(&b.value, data + 1, 8);
	data += 9;
	size -= 9;
	for (i = 0; i < DRVPROXY_NUM_BARS; i++) {
		__u8 lg = data[2 * i] % 40;

		b.bars[i].size = lg < 2 ? 0 : (1ULL << lg) - (data[2 * i] & 0x80 ? 4 : 0);
		b.bars[i].is_io = data[2 * i + 1] & 1;
	}
	data += 2 * DRVPROXY_NUM_BARS;
	size -= 2 * DRVPROXY_NUM_BARS;

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
	regprog_run(insns, len, &io, &b, &result);
	if (result.nsnap > DRVPROXY_MAX_SNAPSHOTS)
		abort();
	if (kind == DRVPROXY_PROG_ACK && (b.waited_us || result.poll_timeouts))
		abort();
	return 0;
}
