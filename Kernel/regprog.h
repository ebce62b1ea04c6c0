/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Register programs: validate once, then run without checks.
 *
 * This file and regprog.c are compiled into drvproxy.ko and, unchanged, into
 * user space (devsim, unit tests, the fuzzer). They therefore use only the
 * uapi types and reach the device through the regprog_io callbacks.
 */
#ifndef DRVPROXY_REGPROG_H
#define DRVPROXY_REGPROG_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#endif
#include "include/uapi/drvproxy.h"

/* Bytes of a BAR that no program may touch. */
struct regprog_range {
	__u64 start;
	__u64 len;	/* 0: no range */
};

/* The MSI-X table and its PBA may both live in one BAR. */
#define REGPROG_MAX_PROTECTED	2

/* What the validator needs to know about each BAR. */
struct regprog_bar {
	__u64 size;	/* 0: BAR absent */
	bool is_io;	/* I/O port BAR: no 8-byte accesses */
	/*
	 * Registers that belong to the kernel, such as the MSI-X table and
	 * PBA: an access that overlaps one is refused (EPROG_PROTECTED).
	 */
	struct regprog_range protect[REGPROG_MAX_PROTECTED];
};

/*
 * The longest single wait between two reads of a POLL: the wait doubles
 * from 1 us up to this, so a quick device is seen at once and a slow one
 * costs a wake-up per millisecond rather than a busy CPU.
 */
#define REGPROG_POLL_MAX_STEP_US	1000

/* How a program reaches the registers; ctx is passed back unchanged. */
struct regprog_io {
	__u64 (*read)(void *ctx, __u8 bar, __u32 offset, __u8 width);
	void (*write)(void *ctx, __u8 bar, __u32 offset, __u8 width, __u64 value);
	/* Only RELEASE programs wait; may be NULL for ACK-only users. */
	void (*delay_us)(void *ctx, __u32 us);
	/*
	 * A monotonic clock in microseconds: a POLL's timeout is elapsed time,
	 * reads included. NULL counts only the waits POLL asked delay_us()
	 * for, which suits a simulated clock but not registers slow to read.
	 */
	__u64 (*now_us)(void *ctx);
};

enum regprog_verdict {
	REGPROG_MINE = 0,	/* ACK: the interrupt is ours; RELEASE: ran to the end */
	REGPROG_NOT_MINE,	/* ACK: NOT_MINE_IF_ZERO stopped the program */
};

struct regprog_result {
	enum regprog_verdict verdict;
	__u32 nsnap;
	__u64 snap[DRVPROXY_MAX_SNAPSHOTS];
	__u32 poll_timeouts;	/* POLLs that gave up (RELEASE only) */
};

/*
 * Check a program against the device's BARs. Returns 0, or -1 with
 * *error (enum drvproxy_prog_error) and *error_index set.
 */
int regprog_validate(enum drvproxy_prog_kind kind,
		     const struct drvproxy_insn *insns, __u32 len,
		     const struct regprog_bar bars[DRVPROXY_NUM_BARS],
		     __u32 *error, __u32 *error_index);

/* Run a program that regprog_validate() accepted for the same BARs. */
void regprog_run(const struct drvproxy_insn *insns, __u32 len,
		 const struct regprog_io *io, void *ctx,
		 struct regprog_result *result);

/* True if an ACK program can answer NOT_MINE (has NOT_MINE_IF_ZERO). */
bool regprog_can_disclaim(const struct drvproxy_insn *insns, __u32 len);

/* True if [off, off + len) overlaps a protected range of the BAR. */
bool regprog_bar_protected(const struct regprog_bar *bar, __u64 off, __u64 len);

/* A short English reason for a drvproxy_prog_error, for messages. */
const char *regprog_error_name(__u32 error);

#endif /* DRVPROXY_REGPROG_H */
