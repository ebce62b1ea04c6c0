// SPDX-License-Identifier: MIT
/*
 * Unit tests of the register-program engine, in user space, against a fake
 * device: BAR0 is 4 KiB of memory with an MSI-X table (4 vectors) at 0x800
 * and its PBA at 0xc00, BAR1 is absent, BAR2 is 32 bytes of I/O ports.
 * Every op and every rejection reason has a test.
 */
#include <stdio.h>
#include <string.h>

#include "regprog.h"

#define INSN(...) ((struct drvproxy_insn){ __VA_ARGS__ })
#define LEN(a) ((__u32)(sizeof(a) / sizeof((a)[0])))

#define MSIX_TABLE	0x800
#define MSIX_TABLE_LEN	(4 * 16)
#define MSIX_PBA	0xc00
#define MSIX_PBA_LEN	8

static const struct regprog_bar bars[DRVPROXY_NUM_BARS] = {
	[0] = { .size = 4096, .protect = { { MSIX_TABLE, MSIX_TABLE_LEN },
					   { MSIX_PBA, MSIX_PBA_LEN } } },
	[2] = { .size = 32, .is_io = true },
};

/* The fake device: registers as memory, plus a log of what was done. */
struct fake {
	unsigned char bar0[4096];
	unsigned char bar2[32];
	unsigned reads, writes;
	__u32 delayed_us;
	__u32 poll_ready_after;	/* reads of 0x100 before it shows 1 */
	__u64 clock_us;		/* for now_us: delays and reads advance it */
	__u32 read_cost_us;	/* how long a read takes on this clock */
};

static unsigned char *reg(struct fake *f, __u8 bar, __u32 off)
{
	return bar == 0 ? &f->bar0[off] : &f->bar2[off];
}

static __u64 fake_read(void *ctx, __u8 bar, __u32 off, __u8 width)
{
	struct fake *f = ctx;
	__u64 v = 0;

	f->reads++;
	f->clock_us += f->read_cost_us;
	if (bar == 0 && off == 0x100)
		return f->poll_ready_after && --f->poll_ready_after ? 0 : 1;
	memcpy(&v, reg(f, bar, off), width);
	return v;
}

static void fake_write(void *ctx, __u8 bar, __u32 off, __u8 width, __u64 v)
{
	struct fake *f = ctx;

	f->writes++;
	memcpy(reg(f, bar, off), &v, width);
}

static void fake_delay(void *ctx, __u32 us)
{
	struct fake *f = ctx;

	f->delayed_us += us;
	f->clock_us += us;
}

static __u64 fake_now(void *ctx)
{
	return ((struct fake *)ctx)->clock_us;
}

static __u64 stopped_clock(void *ctx)
{
	(void)ctx;
	return 42;
}

/* No clock: POLL counts the waits it asked for. */
static const struct regprog_io io = {
	.read = fake_read, .write = fake_write, .delay_us = fake_delay,
};
static const struct regprog_io io_clock = {
	.read = fake_read, .write = fake_write, .delay_us = fake_delay,
	.now_us = fake_now,
};
static const struct regprog_io io_stopped_clock = {
	.read = fake_read, .write = fake_write, .delay_us = fake_delay,
	.now_us = stopped_clock,
};

static int passed, failed;

#define CHECK(name, cond) do { \
	if (cond) { passed++; printf("PASS: %s\n", name); } \
	else { failed++; printf("FAIL: %s: %s (line %d)\n", name, #cond, __LINE__); } \
} while (0)

static __u32 refusal(enum drvproxy_prog_kind kind, const struct drvproxy_insn *p,
		     __u32 len, __u32 *index)
{
	__u32 err = 0, idx = 0;

	if (regprog_validate(kind, p, len, bars, &err, &idx) == 0)
		return DRVPROXY_EPROG_OK;
	if (index)
		*index = idx;
	return err;
}

/* Validate, then run against a fresh fake device. */
static int run(enum drvproxy_prog_kind kind, const struct drvproxy_insn *p,
	       __u32 len, struct fake *f, struct regprog_result *r)
{
	if (refusal(kind, p, len, NULL) != DRVPROXY_EPROG_OK)
		return -1;
	regprog_run(p, len, &io, f, r);
	return 0;
}

static void test_edu_ack_program(void)
{
	/* The ACK example of docs/ARCHITECTURE.md: is it mine? snapshot, acknowledge. */
	const struct drvproxy_insn ack[] = {
		INSN(.op = DRVPROXY_OP_READ, .width = 4, .offset = 0x24),
		INSN(.op = DRVPROXY_OP_NOT_MINE_IF_ZERO),
		INSN(.op = DRVPROXY_OP_SNAPSHOT),
		INSN(.op = DRVPROXY_OP_WRITE, .width = 4, .offset = 0x64),
	};
	struct fake f = { 0 };
	struct regprog_result r;
	__u32 status = 0x100, acked = 0;

	CHECK("edu ack: idle device answers NOT_MINE",
	      run(DRVPROXY_PROG_ACK, ack, LEN(ack), &f, &r) == 0 &&
	      r.verdict == REGPROG_NOT_MINE && f.writes == 0 && r.nsnap == 0);
	memcpy(&f.bar0[0x24], &status, 4);
	run(DRVPROXY_PROG_ACK, ack, LEN(ack), &f, &r);
	memcpy(&acked, &f.bar0[0x64], 4);
	CHECK("edu ack: raised device is claimed, snapshotted, acknowledged",
	      r.verdict == REGPROG_MINE && r.nsnap == 1 && r.snap[0] == 0x100 &&
	      acked == 0x100);
}

static void test_alu_ops(void)
{
	const struct drvproxy_insn p[] = {
		INSN(.op = DRVPROXY_OP_LOAD_IMM, .imm = 0xf0f0),
		INSN(.op = DRVPROXY_OP_SNAPSHOT),
		INSN(.op = DRVPROXY_OP_AND, .imm = 0xff00),
		INSN(.op = DRVPROXY_OP_OR, .imm = 0x000f),
		INSN(.op = DRVPROXY_OP_XOR, .imm = 0x0101),
		INSN(.op = DRVPROXY_OP_SNAPSHOT),
		INSN(.op = DRVPROXY_OP_SHL, .imm = 60),
		INSN(.op = DRVPROXY_OP_SNAPSHOT),
		INSN(.op = DRVPROXY_OP_SHR, .imm = 63),
		INSN(.op = DRVPROXY_OP_SNAPSHOT),
	};
	struct fake f = { 0 };
	struct regprog_result r;

	CHECK("alu: load, and, or, xor, shl, shr compute as C does",
	      run(DRVPROXY_PROG_ACK, p, LEN(p), &f, &r) == 0 && r.nsnap == 4 &&
	      r.snap[0] == 0xf0f0 && r.snap[1] == (((0xf0f0 & 0xff00) | 0xf) ^ 0x0101) &&
	      r.snap[2] == (((__u64)0xf10e) << 60) && r.snap[3] == 1);
}

static void test_widths(void)
{
	const struct drvproxy_insn p[] = {
		INSN(.op = DRVPROXY_OP_WRITE_IMM, .width = 8, .offset = 0x10, .imm = 0x1122334455667788ULL),
		INSN(.op = DRVPROXY_OP_READ, .width = 1, .offset = 0x10),
		INSN(.op = DRVPROXY_OP_SNAPSHOT),
		INSN(.op = DRVPROXY_OP_READ, .width = 2, .offset = 0x12),
		INSN(.op = DRVPROXY_OP_SNAPSHOT),
		INSN(.op = DRVPROXY_OP_READ, .width = 4, .offset = 0x14),
		INSN(.op = DRVPROXY_OP_SNAPSHOT),
		INSN(.op = DRVPROXY_OP_READ, .width = 8, .offset = 0x10),
		INSN(.op = DRVPROXY_OP_SNAPSHOT),
	};
	struct fake f = { 0 };
	struct regprog_result r;

	CHECK("widths: 8/16/32/64-bit reads zero-extend the right bytes",
	      run(DRVPROXY_PROG_ACK, p, LEN(p), &f, &r) == 0 &&
	      r.snap[0] == 0x88 && r.snap[1] == 0x5566 && r.snap[2] == 0x11223344 &&
	      r.snap[3] == 0x1122334455667788ULL);
}

static void test_write_truncates_to_width(void)
{
	const struct drvproxy_insn p[] = {
		INSN(.op = DRVPROXY_OP_LOAD_IMM, .imm = 0xaabbccdd),
		INSN(.op = DRVPROXY_OP_WRITE, .width = 2, .offset = 0x20),
		INSN(.op = DRVPROXY_OP_WRITE, .width = 1, .offset = 0x3, .bar = 2),
	};
	struct fake f = { 0 };
	struct regprog_result r;

	CHECK("write: the accumulator is truncated to the width, I/O BAR reached",
	      run(DRVPROXY_PROG_ACK, p, LEN(p), &f, &r) == 0 &&
	      f.bar0[0x20] == 0xdd && f.bar0[0x21] == 0xcc && f.bar0[0x22] == 0 &&
	      f.bar2[3] == 0xdd && f.bar2[4] == 0);
}

static void test_release_delay_and_poll(void)
{
	const struct drvproxy_insn p[] = {
		INSN(.op = DRVPROXY_OP_WRITE_IMM, .width = 4, .offset = 0x20, .imm = 0),
		INSN(.op = DRVPROXY_OP_DELAY, .imm = 250),
		INSN(.op = DRVPROXY_OP_POLL, .width = 4, .offset = 0x100, .imm = 1, .expect = 1, .timeout_us = 1000),
		INSN(.op = DRVPROXY_OP_POLL, .width = 4, .offset = 0x0, .imm = 1, .expect = 1, .timeout_us = 50),
	};
	struct fake f = { .poll_ready_after = 10 };
	struct regprog_result r;

	/*
	 * Ready at the 10th read: 9 waits of 1, 2, 4 .. 256 us. Never ready
	 * with 50 us: waits of 1, 2, 4, 8, 16, then the 19 us left.
	 */
	CHECK("release: delay waits, poll stops when ready, poll gives up at its timeout",
	      run(DRVPROXY_PROG_RELEASE, p, LEN(p), &f, &r) == 0 &&
	      r.poll_timeouts == 1 && f.delayed_us == 250 + 511 + 50);
}

static const struct drvproxy_insn poll_never[] = {
	INSN(.op = DRVPROXY_OP_POLL, .width = 4, .offset = 0x0, .imm = 1, .expect = 1,
	     .timeout_us = DRVPROXY_PROG_MAX_WAIT_US),
};

/* Found in a VM: a 1 s POLL of a slow register took 2.3 s. */
static void test_poll_budget_is_elapsed_time(void)
{
	struct fake f = { .read_cost_us = 300 };
	struct regprog_result r;

	regprog_run(poll_never, LEN(poll_never), &io_clock, &f, &r);
	CHECK("poll: slow reads count against the timeout",
	      r.poll_timeouts == 1 &&
	      f.clock_us >= DRVPROXY_PROG_MAX_WAIT_US &&
	      f.clock_us <= DRVPROXY_PROG_MAX_WAIT_US + f.read_cost_us &&
	      f.delayed_us < DRVPROXY_PROG_MAX_WAIT_US);
}

static void test_poll_waits_grow(void)
{
	struct fake f = { 0 };
	struct regprog_result r;

	regprog_run(poll_never, LEN(poll_never), &io_clock, &f, &r);
	/* 1 + 2 + .. + 512 us, then steps of 1 ms: about 1010 reads, not 10^6. */
	CHECK("poll: a long poll waits in steps of up to 1 ms",
	      r.poll_timeouts == 1 && f.clock_us == DRVPROXY_PROG_MAX_WAIT_US &&
	      f.reads <= 11 + DRVPROXY_PROG_MAX_WAIT_US / REGPROG_POLL_MAX_STEP_US);
}

static void test_poll_clock_standing_still(void)
{
	struct fake f = { 0 };
	struct regprog_result r;

	regprog_run(poll_never, LEN(poll_never), &io_stopped_clock, &f, &r);
	CHECK("poll: a clock that stands still still ends the poll at its timeout",
	      r.poll_timeouts == 1 && f.delayed_us == DRVPROXY_PROG_MAX_WAIT_US);
}

static void test_poll_zero_timeout(void)
{
	const struct drvproxy_insn p[] = {
		INSN(.op = DRVPROXY_OP_POLL, .width = 4, .offset = 0x0, .imm = 1, .expect = 1),
	};
	struct fake f = { 0 };
	struct regprog_result r;

	regprog_run(p, LEN(p), &io_clock, &f, &r);
	CHECK("poll: timeout 0 reads once and does not wait",
	      r.poll_timeouts == 1 && f.reads == 1 && f.delayed_us == 0);
}

static void test_empty_program(void)
{
	struct fake f = { 0 };
	struct regprog_result r;

	CHECK("empty program: accepted, claims the interrupt, touches nothing",
	      run(DRVPROXY_PROG_ACK, NULL, 0, &f, &r) == 0 &&
	      r.verdict == REGPROG_MINE && f.reads == 0 && f.writes == 0);
}

static void test_limits_accepted(void)
{
	struct drvproxy_insn p[DRVPROXY_PROG_MAX_INSNS];
	const struct drvproxy_insn edge[] = {
		INSN(.op = DRVPROXY_OP_READ, .width = 8, .offset = 4096 - 8),
		INSN(.op = DRVPROXY_OP_READ, .width = 4, .offset = 28, .bar = 2),
		INSN(.op = DRVPROXY_OP_DELAY, .imm = DRVPROXY_PROG_MAX_WAIT_US),
	};
	__u32 i;

	for (i = 0; i < LEN(p); i++)
		p[i] = INSN(.op = DRVPROXY_OP_LOAD_IMM, .imm = i);
	CHECK("limits: a program of exactly the maximum length is accepted",
	      refusal(DRVPROXY_PROG_ACK, p, LEN(p), NULL) == DRVPROXY_EPROG_OK);
	CHECK("limits: last register of each BAR and the whole wait budget are accepted",
	      refusal(DRVPROXY_PROG_RELEASE, edge, LEN(edge), NULL) == DRVPROXY_EPROG_OK);
}

struct bad_case {
	const char *name;
	enum drvproxy_prog_kind kind;
	struct drvproxy_insn insn;
	__u32 error;
};

static void test_rejections(void)
{
	static const struct bad_case cases[] = {
		{ "reject: opcode 0", DRVPROXY_PROG_ACK, INSN(.op = 0), DRVPROXY_EPROG_BAD_OP },
		{ "reject: unknown opcode", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_MAX_), DRVPROXY_EPROG_BAD_OP },
		{ "reject: width 3", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_READ, .width = 3), DRVPROXY_EPROG_BAD_WIDTH },
		{ "reject: width 0", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_READ, .width = 0), DRVPROXY_EPROG_BAD_WIDTH },
		{ "reject: 64-bit access to an I/O BAR", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_READ, .width = 8, .bar = 2), DRVPROXY_EPROG_BAD_WIDTH },
		{ "reject: absent BAR", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_READ, .width = 4, .bar = 1), DRVPROXY_EPROG_BAD_BAR },
		{ "reject: BAR index 6", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_READ, .width = 4, .bar = 6), DRVPROXY_EPROG_BAD_BAR },
		{ "reject: offset past the BAR", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_READ, .width = 4, .offset = 4096), DRVPROXY_EPROG_OUT_OF_RANGE },
		{ "reject: access straddling the BAR's end", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_WRITE, .width = 8, .offset = 4092), DRVPROXY_EPROG_OUT_OF_RANGE },
		{ "reject: offset near 2^32 (no wrap-around)", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_READ, .width = 4, .offset = 0xfffffffc), DRVPROXY_EPROG_OUT_OF_RANGE },
		{ "reject: misaligned offset", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_READ, .width = 4, .offset = 0x22), DRVPROXY_EPROG_MISALIGNED },
		{ "reject: shift by 64", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_SHL, .imm = 64), DRVPROXY_EPROG_BAD_SHIFT },
		{ "reject: right shift by 200", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_SHR, .imm = 200), DRVPROXY_EPROG_BAD_SHIFT },
		{ "reject: immediate wider than a 16-bit write", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_WRITE_IMM, .width = 2, .imm = 0x10000), DRVPROXY_EPROG_BAD_IMM },
		{ "reject: poll expecting bits outside its mask", DRVPROXY_PROG_RELEASE, INSN(.op = DRVPROXY_OP_POLL, .width = 4, .imm = 1, .expect = 2), DRVPROXY_EPROG_BAD_IMM },
		{ "reject: reserved0 set", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_LOAD_IMM, .reserved0 = 1), DRVPROXY_EPROG_RESERVED },
		{ "reject: reserved1 set", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_LOAD_IMM, .reserved1 = 1), DRVPROXY_EPROG_RESERVED },
		{ "reject: offset on a non-register op", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_AND, .offset = 4), DRVPROXY_EPROG_RESERVED },
		{ "reject: timeout on a non-poll op", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_READ, .width = 4, .timeout_us = 1), DRVPROXY_EPROG_RESERVED },
		{ "reject: immediate on a read", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_READ, .width = 4, .imm = 1), DRVPROXY_EPROG_RESERVED },
		{ "reject: delay in an ack program", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_DELAY, .imm = 1), DRVPROXY_EPROG_WRONG_KIND },
		{ "reject: poll in an ack program", DRVPROXY_PROG_ACK, INSN(.op = DRVPROXY_OP_POLL, .width = 4, .imm = 1, .expect = 1, .timeout_us = 1), DRVPROXY_EPROG_WRONG_KIND },
		{ "reject: NOT_MINE in a release program", DRVPROXY_PROG_RELEASE, INSN(.op = DRVPROXY_OP_NOT_MINE_IF_ZERO), DRVPROXY_EPROG_WRONG_KIND },
		{ "reject: snapshot in a release program", DRVPROXY_PROG_RELEASE, INSN(.op = DRVPROXY_OP_SNAPSHOT), DRVPROXY_EPROG_WRONG_KIND },
		{ "reject: one delay beyond the wait budget", DRVPROXY_PROG_RELEASE, INSN(.op = DRVPROXY_OP_DELAY, .imm = DRVPROXY_PROG_MAX_WAIT_US + 1), DRVPROXY_EPROG_WAIT_TOO_LONG },
		{ "reject: unknown program kind", (enum drvproxy_prog_kind)7, INSN(.op = DRVPROXY_OP_LOAD_IMM), DRVPROXY_EPROG_BAD_KIND },
	};
	unsigned i;

	for (i = 0; i < LEN(cases); i++) {
		const struct drvproxy_insn p[] = {
			INSN(.op = DRVPROXY_OP_LOAD_IMM, .imm = 1),
			cases[i].insn,
		};
		__u32 index = 99, err = refusal(cases[i].kind, p, 2, &index);

		CHECK(cases[i].name, err == cases[i].error &&
		      (err == DRVPROXY_EPROG_BAD_KIND || index == 1));
	}
}

static void test_rejections_across_instructions(void)
{
	struct drvproxy_insn p[DRVPROXY_PROG_MAX_INSNS + 1];
	const struct drvproxy_insn snaps[] = {
		INSN(.op = DRVPROXY_OP_SNAPSHOT), INSN(.op = DRVPROXY_OP_SNAPSHOT),
		INSN(.op = DRVPROXY_OP_SNAPSHOT), INSN(.op = DRVPROXY_OP_SNAPSHOT),
		INSN(.op = DRVPROXY_OP_SNAPSHOT),
	};
	const struct drvproxy_insn waits[] = {
		INSN(.op = DRVPROXY_OP_DELAY, .imm = DRVPROXY_PROG_MAX_WAIT_US / 2),
		INSN(.op = DRVPROXY_OP_POLL, .width = 4, .imm = 1, .expect = 1,
		     .timeout_us = DRVPROXY_PROG_MAX_WAIT_US / 2 + 1),
	};
	/* Found by the fuzzer: a sum that wraps around looked small. */
	const struct drvproxy_insn wrap[] = {
		INSN(.op = DRVPROXY_OP_DELAY, .imm = 10),
		INSN(.op = DRVPROXY_OP_DELAY, .imm = ~0ULL - 4),
	};
	__u32 i, index = 0;

	CHECK("reject: delays whose sum wraps around 2^64",
	      refusal(DRVPROXY_PROG_RELEASE, wrap, LEN(wrap), &index) ==
	      DRVPROXY_EPROG_WAIT_TOO_LONG && index == 1);
	for (i = 0; i < LEN(p); i++)
		p[i] = INSN(.op = DRVPROXY_OP_LOAD_IMM);
	CHECK("reject: one instruction more than the maximum",
	      refusal(DRVPROXY_PROG_ACK, p, LEN(p), NULL) == DRVPROXY_EPROG_TOO_LONG);
	CHECK("reject: a fifth snapshot",
	      refusal(DRVPROXY_PROG_ACK, snaps, LEN(snaps), &index) ==
	      DRVPROXY_EPROG_TOO_MANY_SNAPSHOTS && index == 4);
	CHECK("reject: waits that add up past the budget",
	      refusal(DRVPROXY_PROG_RELEASE, waits, LEN(waits), &index) ==
	      DRVPROXY_EPROG_WAIT_TOO_LONG && index == 1);
}

static void test_protected_ranges(void)
{
	static const struct bad_case cases[] = {
		{ "protected: read of the first table entry", DRVPROXY_PROG_ACK,
		  INSN(.op = DRVPROXY_OP_READ, .width = 4, .offset = MSIX_TABLE), DRVPROXY_EPROG_PROTECTED },
		{ "protected: read of the table's last dword", DRVPROXY_PROG_ACK,
		  INSN(.op = DRVPROXY_OP_READ, .width = 4, .offset = MSIX_TABLE + MSIX_TABLE_LEN - 4), DRVPROXY_EPROG_PROTECTED },
		{ "protected: 8-byte read reaching into the table", DRVPROXY_PROG_ACK,
		  INSN(.op = DRVPROXY_OP_READ, .width = 8, .offset = MSIX_TABLE + MSIX_TABLE_LEN - 8), DRVPROXY_EPROG_PROTECTED },
		{ "protected: write of a vector's data", DRVPROXY_PROG_ACK,
		  INSN(.op = DRVPROXY_OP_WRITE, .width = 4, .offset = MSIX_TABLE + 0x18), DRVPROXY_EPROG_PROTECTED },
		{ "protected: immediate write unmasking a vector", DRVPROXY_PROG_RELEASE,
		  INSN(.op = DRVPROXY_OP_WRITE_IMM, .width = 4, .offset = MSIX_TABLE + 0xc, .imm = 0), DRVPROXY_EPROG_PROTECTED },
		{ "protected: byte of the PBA", DRVPROXY_PROG_ACK,
		  INSN(.op = DRVPROXY_OP_READ, .width = 1, .offset = MSIX_PBA + 7), DRVPROXY_EPROG_PROTECTED },
		{ "protected: poll of the PBA", DRVPROXY_PROG_RELEASE,
		  INSN(.op = DRVPROXY_OP_POLL, .width = 8, .offset = MSIX_PBA, .imm = 1, .expect = 1, .timeout_us = 1), DRVPROXY_EPROG_PROTECTED },
	};
	const struct drvproxy_insn around[] = {
		INSN(.op = DRVPROXY_OP_READ, .width = 8, .offset = MSIX_TABLE - 8),
		INSN(.op = DRVPROXY_OP_READ, .width = 4, .offset = MSIX_TABLE + MSIX_TABLE_LEN),
		INSN(.op = DRVPROXY_OP_READ, .width = 8, .offset = MSIX_PBA - 8),
		INSN(.op = DRVPROXY_OP_WRITE_IMM, .width = 1, .offset = MSIX_PBA + MSIX_PBA_LEN, .imm = 1),
	};
	/* A range at the very top of the address space: no sum may wrap. */
	const struct regprog_bar top[DRVPROXY_NUM_BARS] = {
		[0] = { .size = 4096, .protect = { { ~0ULL - 3, 100 }, { 8, 0 } } },
	};
	const struct drvproxy_insn low[] = {
		INSN(.op = DRVPROXY_OP_READ, .width = 8, .offset = 0),
		INSN(.op = DRVPROXY_OP_READ, .width = 8, .offset = 4088),
	};
	__u32 err, idx;
	unsigned i;

	for (i = 0; i < LEN(cases); i++) {
		const struct drvproxy_insn p[] = {
			INSN(.op = DRVPROXY_OP_LOAD_IMM, .imm = 1),
			cases[i].insn,
		};
		__u32 index = 99;

		err = refusal(cases[i].kind, p, 2, &index);
		CHECK(cases[i].name, err == cases[i].error && index == 1);
	}
	CHECK("protected: registers right next to the table and PBA are allowed",
	      refusal(DRVPROXY_PROG_ACK, around, LEN(around), NULL) == DRVPROXY_EPROG_OK);
	CHECK("protected: a range near 2^64, and one of length 0, protect nothing below",
	      regprog_validate(DRVPROXY_PROG_ACK, low, LEN(low), top, &err, &idx) == 0);
	CHECK("protected: the byte test matches overlap exactly",
	      regprog_bar_protected(&bars[0], MSIX_TABLE - 1, 2) &&
	      !regprog_bar_protected(&bars[0], MSIX_TABLE - 1, 1) &&
	      !regprog_bar_protected(&bars[0], MSIX_TABLE, 0) &&
	      regprog_bar_protected(&bars[0], 0, ~0ULL) &&
	      regprog_bar_protected(&top[0], ~0ULL, 1) &&
	      !regprog_bar_protected(&top[0], 0, ~0ULL - 3));
}

static void test_can_disclaim(void)
{
	const struct drvproxy_insn sloppy[] = {
		INSN(.op = DRVPROXY_OP_READ, .width = 4, .offset = 0x24),
		INSN(.op = DRVPROXY_OP_SNAPSHOT),
		INSN(.op = DRVPROXY_OP_WRITE, .width = 4, .offset = 0x64),
	};
	const struct drvproxy_insn careful[] = {
		INSN(.op = DRVPROXY_OP_READ, .width = 4, .offset = 0x24),
		INSN(.op = DRVPROXY_OP_SNAPSHOT),
		INSN(.op = DRVPROXY_OP_NOT_MINE_IF_ZERO),
		INSN(.op = DRVPROXY_OP_WRITE, .width = 4, .offset = 0x64),
	};

	CHECK("disclaim: an ACK program without NOT_MINE_IF_ZERO cannot say NOT_MINE",
	      !regprog_can_disclaim(sloppy, LEN(sloppy)) && !regprog_can_disclaim(NULL, 0));
	CHECK("disclaim: one with NOT_MINE_IF_ZERO anywhere can",
	      regprog_can_disclaim(careful, LEN(careful)));
}

static void test_error_names(void)
{
	__u32 e;
	int all_named = 1;

	for (e = 0; e < DRVPROXY_EPROG_MAX_; e++)
		all_named &= regprog_error_name(e) != NULL &&
			     strcmp(regprog_error_name(e), "unknown error") != 0;
	CHECK("every reason code has a message",
	      all_named && strcmp(regprog_error_name(1000), "unknown error") == 0);
}

int main(void)
{
	test_edu_ack_program();
	test_alu_ops();
	test_widths();
	test_write_truncates_to_width();
	test_release_delay_and_poll();
	test_poll_budget_is_elapsed_time();
	test_poll_waits_grow();
	test_poll_clock_standing_still();
	test_poll_zero_timeout();
	test_empty_program();
	test_limits_accepted();
	test_rejections();
	test_rejections_across_instructions();
	test_protected_ranges();
	test_can_disclaim();
	test_error_names();
	printf("regprog: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
