// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Register programs: see regprog.h. The validator establishes every property
 * the runner relies on (known ops, widths, BARs, bounds, alignment, shift
 * counts, snapshot count, total wait), so the runner has no checks and no
 * failure paths: it is safe in the interrupt top half.
 */
#include "regprog.h"

#ifdef __KERNEL__
#include <linux/nospec.h>
#else
/* User space validates only its own programs: nothing to leak. */
#define array_index_nospec(index, size)	(index)
#endif

static bool is_register_op(__u8 op)
{
	return op == DRVPROXY_OP_READ || op == DRVPROXY_OP_WRITE ||
	       op == DRVPROXY_OP_WRITE_IMM || op == DRVPROXY_OP_POLL;
}

static bool op_allowed(enum drvproxy_prog_kind kind, __u8 op)
{
	switch (op) {
	case DRVPROXY_OP_NOT_MINE_IF_ZERO:
	case DRVPROXY_OP_SNAPSHOT:
		return kind == DRVPROXY_PROG_ACK;
	case DRVPROXY_OP_DELAY:
	case DRVPROXY_OP_POLL:
		return kind == DRVPROXY_PROG_RELEASE;
	default:
		return true;
	}
}

static __u64 width_mask(__u8 width)
{
	return width == 8 ? ~0ULL : (1ULL << (width * 8)) - 1;
}

/* Whether [a, a + alen) and [b, b + blen) meet; no sum that could wrap. */
static bool ranges_overlap(__u64 a, __u64 alen, __u64 b, __u64 blen)
{
	if (!alen || !blen)
		return false;
	return a < b ? b - a < alen : a - b < blen;
}

bool regprog_bar_protected(const struct regprog_bar *bar, __u64 off, __u64 len)
{
	__u32 i;

	for (i = 0; i < REGPROG_MAX_PROTECTED; i++)
		if (ranges_overlap(off, len, bar->protect[i].start,
				   bar->protect[i].len))
			return true;
	return false;
}

static __u32 check_register(const struct drvproxy_insn *in,
			    const struct regprog_bar bars[DRVPROXY_NUM_BARS])
{
	const struct regprog_bar *bar;

	if (in->width != 1 && in->width != 2 && in->width != 4 && in->width != 8)
		return DRVPROXY_EPROG_BAD_WIDTH;
	if (in->bar >= DRVPROXY_NUM_BARS)
		return DRVPROXY_EPROG_BAD_BAR;
	/* The index comes from user space: no speculative read past bars[]. */
	bar = &bars[array_index_nospec(in->bar, DRVPROXY_NUM_BARS)];
	if (bar->size == 0)
		return DRVPROXY_EPROG_BAD_BAR;
	if (in->width == 8 && bar->is_io)
		return DRVPROXY_EPROG_BAD_WIDTH;
	/* Written so that it cannot overflow: width <= 8 < size here. */
	if (bar->size < in->width || in->offset > bar->size - in->width)
		return DRVPROXY_EPROG_OUT_OF_RANGE;
	if (in->offset % in->width)
		return DRVPROXY_EPROG_MISALIGNED;
	if (regprog_bar_protected(bar, in->offset, in->width))
		return DRVPROXY_EPROG_PROTECTED;
	return DRVPROXY_EPROG_OK;
}

/* Fields an op does not use must be zero, so they can gain meaning later. */
static bool unused_fields_clear(const struct drvproxy_insn *in)
{
	if (in->reserved0 || in->reserved1)
		return false;
	if (!is_register_op(in->op) && (in->width || in->bar || in->offset))
		return false;
	if (in->op != DRVPROXY_OP_POLL && (in->expect || in->timeout_us))
		return false;
	switch (in->op) {
	case DRVPROXY_OP_READ:
	case DRVPROXY_OP_WRITE:
	case DRVPROXY_OP_NOT_MINE_IF_ZERO:
	case DRVPROXY_OP_SNAPSHOT:
		return in->imm == 0;
	default:
		return true;
	}
}

static __u32 check_insn(enum drvproxy_prog_kind kind,
			const struct drvproxy_insn *in,
			const struct regprog_bar bars[DRVPROXY_NUM_BARS])
{
	__u32 err;

	if (in->op == 0 || in->op >= DRVPROXY_OP_MAX_)
		return DRVPROXY_EPROG_BAD_OP;
	if (!op_allowed(kind, in->op))
		return DRVPROXY_EPROG_WRONG_KIND;
	if (!unused_fields_clear(in))
		return DRVPROXY_EPROG_RESERVED;
	if (is_register_op(in->op)) {
		err = check_register(in, bars);
		if (err)
			return err;
	}
	switch (in->op) {
	case DRVPROXY_OP_SHL:
	case DRVPROXY_OP_SHR:
		return in->imm >= 64 ? DRVPROXY_EPROG_BAD_SHIFT : DRVPROXY_EPROG_OK;
	case DRVPROXY_OP_WRITE_IMM:
		return in->imm & ~width_mask(in->width) ?
		       DRVPROXY_EPROG_BAD_IMM : DRVPROXY_EPROG_OK;
	case DRVPROXY_OP_POLL:
		return (in->expect & ~in->imm) || (in->imm & ~width_mask(in->width)) ?
		       DRVPROXY_EPROG_BAD_IMM : DRVPROXY_EPROG_OK;
	case DRVPROXY_OP_DELAY:
		/* Bounded one by one, so that the program's sum cannot wrap. */
		return in->imm > DRVPROXY_PROG_MAX_WAIT_US ?
		       DRVPROXY_EPROG_WAIT_TOO_LONG : DRVPROXY_EPROG_OK;
	default:
		return DRVPROXY_EPROG_OK;
	}
}

int regprog_validate(enum drvproxy_prog_kind kind,
		     const struct drvproxy_insn *insns, __u32 len,
		     const struct regprog_bar bars[DRVPROXY_NUM_BARS],
		     __u32 *error, __u32 *error_index)
{
	__u64 wait_us = 0;
	__u32 nsnap = 0;
	__u32 i, err = DRVPROXY_EPROG_OK;

	*error_index = 0;
	if (kind != DRVPROXY_PROG_ACK && kind != DRVPROXY_PROG_RELEASE) {
		err = DRVPROXY_EPROG_BAD_KIND;
		goto refuse;
	}
	if (len > DRVPROXY_PROG_MAX_INSNS) {
		err = DRVPROXY_EPROG_TOO_LONG;
		*error_index = DRVPROXY_PROG_MAX_INSNS;
		goto refuse;
	}
	for (i = 0; i < len; i++) {
		const struct drvproxy_insn *in = &insns[i];

		*error_index = i;
		err = check_insn(kind, in, bars);
		if (err)
			goto refuse;
		if (in->op == DRVPROXY_OP_SNAPSHOT && ++nsnap > DRVPROXY_MAX_SNAPSHOTS) {
			err = DRVPROXY_EPROG_TOO_MANY_SNAPSHOTS;
			goto refuse;
		}
		if (in->op == DRVPROXY_OP_DELAY)
			wait_us += in->imm;
		if (in->op == DRVPROXY_OP_POLL)
			wait_us += in->timeout_us;
		if (wait_us > DRVPROXY_PROG_MAX_WAIT_US) {
			err = DRVPROXY_EPROG_WAIT_TOO_LONG;
			goto refuse;
		}
	}
	*error = DRVPROXY_EPROG_OK;
	return 0;
refuse:
	*error = err;
	return -1;
}

bool regprog_can_disclaim(const struct drvproxy_insn *insns, __u32 len)
{
	__u32 i;

	for (i = 0; i < len; i++)
		if (insns[i].op == DRVPROXY_OP_NOT_MINE_IF_ZERO)
			return true;
	return false;
}

/*
 * Read until the masked value matches or timeout_us have passed. Elapsed
 * time is the clock's where there is one, since reads of a slow register
 * take time too, and never less than the waits asked for: a clock that
 * stands still cannot make the loop endless, and the waits of one POLL add
 * up to at most its timeout. Every wait is at least 1 us, so there are at
 * most timeout_us of them.
 */
static __u64 run_poll(const struct drvproxy_insn *in,
		      const struct regprog_io *io, void *ctx, bool *timed_out)
{
	__u64 start = io->now_us ? io->now_us(ctx) : 0;
	__u64 waited = 0, elapsed, now, value;
	__u32 step = 1, wait;

	for (;;) {
		value = io->read(ctx, in->bar, in->offset, in->width);
		if ((value & in->imm) == in->expect) {
			*timed_out = false;
			return value;
		}
		elapsed = waited;
		if (io->now_us) {
			now = io->now_us(ctx);
			if (now > start && now - start > elapsed)
				elapsed = now - start;
		}
		if (elapsed >= in->timeout_us) {
			*timed_out = true;
			return value;
		}
		wait = in->timeout_us - elapsed < step ?
		       (__u32)(in->timeout_us - elapsed) : step;
		io->delay_us(ctx, wait);
		waited += wait;
		if (step < REGPROG_POLL_MAX_STEP_US)
			step = step * 2 < REGPROG_POLL_MAX_STEP_US ?
			       step * 2 : REGPROG_POLL_MAX_STEP_US;
	}
}

void regprog_run(const struct drvproxy_insn *insns, __u32 len,
		 const struct regprog_io *io, void *ctx,
		 struct regprog_result *result)
{
	__u64 acc = 0;
	bool timed_out;
	__u32 i;

	result->verdict = REGPROG_MINE;
	result->nsnap = 0;
	result->poll_timeouts = 0;
	for (i = 0; i < len; i++) {
		const struct drvproxy_insn *in = &insns[i];

		switch (in->op) {
		case DRVPROXY_OP_READ:
			acc = io->read(ctx, in->bar, in->offset, in->width);
			break;
		case DRVPROXY_OP_WRITE:
			io->write(ctx, in->bar, in->offset, in->width,
				  acc & width_mask(in->width));
			break;
		case DRVPROXY_OP_WRITE_IMM:
			io->write(ctx, in->bar, in->offset, in->width, in->imm);
			break;
		case DRVPROXY_OP_LOAD_IMM:
			acc = in->imm;
			break;
		case DRVPROXY_OP_AND:
			acc &= in->imm;
			break;
		case DRVPROXY_OP_OR:
			acc |= in->imm;
			break;
		case DRVPROXY_OP_XOR:
			acc ^= in->imm;
			break;
		case DRVPROXY_OP_SHL:
			acc <<= in->imm;
			break;
		case DRVPROXY_OP_SHR:
			acc >>= in->imm;
			break;
		case DRVPROXY_OP_NOT_MINE_IF_ZERO:
			if (acc == 0) {
				result->verdict = REGPROG_NOT_MINE;
				return;
			}
			break;
		case DRVPROXY_OP_SNAPSHOT:
			result->snap[result->nsnap++] = acc;
			break;
		case DRVPROXY_OP_DELAY:
			if (in->imm)
				io->delay_us(ctx, (__u32)in->imm);
			break;
		case DRVPROXY_OP_POLL:
			acc = run_poll(in, io, ctx, &timed_out);
			result->poll_timeouts += timed_out;
			break;
		}
	}
}

const char *regprog_error_name(__u32 error)
{
	static const char *const names[DRVPROXY_EPROG_MAX_] = {
		[DRVPROXY_EPROG_OK] = "ok",
		[DRVPROXY_EPROG_BAD_KIND] = "unknown program kind",
		[DRVPROXY_EPROG_TOO_LONG] = "program too long",
		[DRVPROXY_EPROG_BAD_OP] = "unknown opcode",
		[DRVPROXY_EPROG_BAD_WIDTH] = "bad access width",
		[DRVPROXY_EPROG_BAD_BAR] = "no such BAR",
		[DRVPROXY_EPROG_OUT_OF_RANGE] = "offset outside the BAR",
		[DRVPROXY_EPROG_MISALIGNED] = "offset not aligned to width",
		[DRVPROXY_EPROG_BAD_SHIFT] = "shift count of 64 or more",
		[DRVPROXY_EPROG_BAD_IMM] = "immediate wider than the access",
		[DRVPROXY_EPROG_RESERVED] = "unused field not zero",
		[DRVPROXY_EPROG_WRONG_KIND] = "op not allowed in this program kind",
		[DRVPROXY_EPROG_TOO_MANY_SNAPSHOTS] = "too many snapshots",
		[DRVPROXY_EPROG_WAIT_TOO_LONG] = "waits exceed the limit",
		[DRVPROXY_EPROG_PROTECTED] = "register in the MSI-X table or PBA",
	};

	if (error >= DRVPROXY_EPROG_MAX_)
		return "unknown error";
	return names[array_index_nospec(error, DRVPROXY_EPROG_MAX_)];
}
