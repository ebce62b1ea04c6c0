// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_badinput BDF
 *
 * Every kind of bad input is refused with the documented errno (and, for
 * programs, the documented reason code and instruction index), and the
 * handle keeps working afterwards. The harness checks that none of it left a
 * kernel warning in dmesg.
 */
#include "vmtest.h"
#include "regprog.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_LEN		(DRVPROXY_PROG_MAX_INSNS + 1)

struct bad_prog {
	const char *name;
	uint32_t kind;
	struct drvproxy_insn insns[MAX_LEN];
	uint32_t len;
	uint32_t error;		/* enum drvproxy_prog_error */
	uint32_t index;
};

#define READ32(off)	{ .op = DRVPROXY_OP_READ, .width = 4, .offset = (off) }
#define LOAD(v)		{ .op = DRVPROXY_OP_LOAD_IMM, .imm = (v) }
#define SNAP		{ .op = DRVPROXY_OP_SNAPSHOT }

static const struct bad_prog bad_progs[] = {
	{ "offset beyond BAR0", DRVPROXY_PROG_ACK, { READ32(EDU_BAR0_SIZE) }, 1,
	  DRVPROXY_EPROG_OUT_OF_RANGE, 0 },
	{ "access straddling the end of BAR0", DRVPROXY_PROG_ACK,
	  { { .op = DRVPROXY_OP_READ, .width = 8, .offset = EDU_BAR0_SIZE - 4 } }, 1,
	  DRVPROXY_EPROG_OUT_OF_RANGE, 0 },
	{ "misaligned offset", DRVPROXY_PROG_ACK, { LOAD(1), READ32(0x26) }, 2,
	  DRVPROXY_EPROG_MISALIGNED, 1 },
	{ "width 3", DRVPROXY_PROG_ACK,
	  { { .op = DRVPROXY_OP_READ, .width = 3, .offset = 0 } }, 1,
	  DRVPROXY_EPROG_BAD_WIDTH, 0 },
	{ "absent BAR1", DRVPROXY_PROG_ACK,
	  { { .op = DRVPROXY_OP_READ, .width = 4, .bar = 1 } }, 1,
	  DRVPROXY_EPROG_BAD_BAR, 0 },
	{ "BAR index 6", DRVPROXY_PROG_ACK,
	  { { .op = DRVPROXY_OP_READ, .width = 4, .bar = 6 } }, 1,
	  DRVPROXY_EPROG_BAD_BAR, 0 },
	{ "opcode 0", DRVPROXY_PROG_ACK, { LOAD(1), LOAD(2), { .op = 0 } }, 3,
	  DRVPROXY_EPROG_BAD_OP, 2 },
	{ "opcode past the last", DRVPROXY_PROG_ACK, { { .op = DRVPROXY_OP_MAX_ } }, 1,
	  DRVPROXY_EPROG_BAD_OP, 0 },
	{ "reserved0 set", DRVPROXY_PROG_ACK,
	  { { .op = DRVPROXY_OP_LOAD_IMM, .reserved0 = 1 } }, 1,
	  DRVPROXY_EPROG_RESERVED, 0 },
	{ "reserved1 set", DRVPROXY_PROG_ACK,
	  { { .op = DRVPROXY_OP_LOAD_IMM, .reserved1 = 1 } }, 1,
	  DRVPROXY_EPROG_RESERVED, 0 },
	{ "imm on a READ", DRVPROXY_PROG_ACK,
	  { { .op = DRVPROXY_OP_READ, .width = 4, .imm = 1 } }, 1,
	  DRVPROXY_EPROG_RESERVED, 0 },
	{ "DELAY in an ACK program", DRVPROXY_PROG_ACK,
	  { { .op = DRVPROXY_OP_DELAY, .imm = 1 } }, 1,
	  DRVPROXY_EPROG_WRONG_KIND, 0 },
	{ "SNAPSHOT in a RELEASE program", DRVPROXY_PROG_RELEASE, { SNAP }, 1,
	  DRVPROXY_EPROG_WRONG_KIND, 0 },
	{ "NOT_MINE_IF_ZERO in a RELEASE program", DRVPROXY_PROG_RELEASE,
	  { { .op = DRVPROXY_OP_NOT_MINE_IF_ZERO } }, 1,
	  DRVPROXY_EPROG_WRONG_KIND, 0 },
	{ "kind 0", 0, { LOAD(1) }, 1, DRVPROXY_EPROG_BAD_KIND, 0 },
	{ "kind 3", 3, { LOAD(1) }, 1, DRVPROXY_EPROG_BAD_KIND, 0 },
	{ "shift by 64", DRVPROXY_PROG_ACK, { { .op = DRVPROXY_OP_SHL, .imm = 64 } }, 1,
	  DRVPROXY_EPROG_BAD_SHIFT, 0 },
	{ "WRITE_IMM wider than its width", DRVPROXY_PROG_ACK,
	  { { .op = DRVPROXY_OP_WRITE_IMM, .width = 1, .offset = 4, .imm = 0x100 } }, 1,
	  DRVPROXY_EPROG_BAD_IMM, 0 },
	{ "five snapshots", DRVPROXY_PROG_ACK, { SNAP, SNAP, SNAP, SNAP, SNAP }, 5,
	  DRVPROXY_EPROG_TOO_MANY_SNAPSHOTS, 4 },
	{ "waits beyond the limit", DRVPROXY_PROG_RELEASE,
	  { { .op = DRVPROXY_OP_DELAY, .imm = DRVPROXY_PROG_MAX_WAIT_US },
	    { .op = DRVPROXY_OP_DELAY, .imm = 1 } }, 2,
	  DRVPROXY_EPROG_WAIT_TOO_LONG, 1 },
	/* 33 zeroed instructions: the length is refused before any is looked at. */
	{ "33 instructions", DRVPROXY_PROG_ACK, { LOAD(1) }, MAX_LEN,
	  DRVPROXY_EPROG_TOO_LONG, DRVPROXY_PROG_MAX_INSNS },
};

static void check_bad_programs(int fd)
{
	struct drvproxy_prog prog;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_progs); i++) {
		const struct bad_prog *bad = &bad_progs[i];
		int ret = vt_try_set_prog(fd, &prog, bad->kind, 0, bad->insns, bad->len);

		vt_check(ret < 0 && errno == EINVAL, "program '%s': %s, want EINVAL",
			 bad->name, ret == 0 ? "accepted" : strerror(errno));
		vt_check(prog.error == bad->error && prog.error_index == bad->index,
			 "program '%s': reason %u (%s) at insn %u, want %u (%s) at %u",
			 bad->name, prog.error, regprog_error_name(prog.error),
			 prog.error_index, bad->error, regprog_error_name(bad->error),
			 bad->index);
	}
}

static void check_bad_program_pointer(int fd)
{
	struct drvproxy_prog prog = {
		.abi_version = DRVPROXY_ABI_VERSION, .kind = DRVPROXY_PROG_ACK,
		.len = 1, .insns = 16,
	};

	vt_check(ioctl(fd, DRVPROXY_IOC_SET_PROG, &prog) < 0 && errno == EFAULT,
		 "program at user address 16: %m, want EFAULT");
}

static const struct { const char *name; unsigned long cmd; } sized_ioctls[] = {
	{ "INFO", DRVPROXY_IOC_INFO },
	{ "SET_PROG", DRVPROXY_IOC_SET_PROG },
	{ "SET_IRQ", DRVPROXY_IOC_SET_IRQ },
	{ "DMA_MASK", DRVPROXY_IOC_DMA_MASK },
	{ "DMA_ALLOC", DRVPROXY_IOC_DMA_ALLOC },
	{ "DMA_FREE", DRVPROXY_IOC_DMA_FREE },
};

/* The size is part of the ioctl number: another size is another ioctl. */
static void check_wrong_sizes(int fd)
{
	static const int deltas[] = { -4, 8 };
	uint8_t arg[256] = { 0 };
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(sized_ioctls); i++) {
		unsigned long cmd = sized_ioctls[i].cmd;

		for (j = 0; j < ARRAY_SIZE(deltas); j++) {
			unsigned long size = _IOC_SIZE(cmd) + deltas[j];
			unsigned long wrong = _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd),
						   _IOC_NR(cmd), size);

			vt_check(ioctl(fd, wrong, arg) < 0 && errno == ENOTTY,
				 "%s with size %lu: %m, want ENOTTY",
				 sized_ioctls[i].name, size);
		}
	}
	vt_check(ioctl(fd, _IO(DRVPROXY_IOC_MAGIC, 0x7f)) < 0 && errno == ENOTTY,
		 "unknown ioctl number 0x7f: %m, want ENOTTY");
}

/* Every argument user space fills in starts with abi_version. */
static void check_wrong_abi(int fd)
{
	static const uint32_t versions[] = { 0, DRVPROXY_ABI_VERSION + 1 };
	size_t i, j;

	for (i = 1; i < ARRAY_SIZE(sized_ioctls); i++) {
		for (j = 0; j < ARRAY_SIZE(versions); j++) {
			uint32_t arg[64] = { versions[j] };

			vt_check(ioctl(fd, sized_ioctls[i].cmd, arg) < 0 && errno == EPROTO,
				 "%s with abi_version %u: %m, want EPROTO",
				 sized_ioctls[i].name, versions[j]);
		}
	}
}

static void expect_einval(int fd, unsigned long cmd, void *arg, const char *what)
{
	vt_check(ioctl(fd, cmd, arg) < 0 && errno == EINVAL, "%s: %m, want EINVAL", what);
}

static void check_bad_arguments(int fd)
{
	struct drvproxy_irq irq = { .abi_version = DRVPROXY_ABI_VERSION, .nvec = 1 };
	struct drvproxy_dma_mask mask = { .abi_version = DRVPROXY_ABI_VERSION };
	struct drvproxy_dma_alloc alloc = { .abi_version = DRVPROXY_ABI_VERSION };
	struct drvproxy_dma_free dfree = { .abi_version = DRVPROXY_ABI_VERSION, .id = 7 };

	irq.mode = 99;
	expect_einval(fd, DRVPROXY_IOC_SET_IRQ, &irq, "SET_IRQ mode 99");
	irq.mode = DRVPROXY_IRQ_INTX_SHARED;
	irq.reserved = 1;
	expect_einval(fd, DRVPROXY_IOC_SET_IRQ, &irq, "SET_IRQ with reserved set");
	mask.bits = 11;
	expect_einval(fd, DRVPROXY_IOC_DMA_MASK, &mask, "DMA_MASK 11 bits");
	mask.bits = 65;
	expect_einval(fd, DRVPROXY_IOC_DMA_MASK, &mask, "DMA_MASK 65 bits");
	alloc.size = (uint64_t)DRVPROXY_MAX_DMA_SIZE + 1;
	expect_einval(fd, DRVPROXY_IOC_DMA_ALLOC, &alloc, "DMA_ALLOC beyond the maximum");
	alloc.size = 4096;
	alloc.reserved = 1;
	expect_einval(fd, DRVPROXY_IOC_DMA_ALLOC, &alloc, "DMA_ALLOC with reserved set");
	expect_einval(fd, DRVPROXY_IOC_DMA_FREE, &dfree, "DMA_FREE of a buffer never allocated");
}

static void expect_mmap_einval(int fd, size_t len, uint64_t offset, const char *what)
{
	void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)offset);

	if (map != MAP_FAILED)
		munmap(map, len);
	vt_check(map == MAP_FAILED && errno == EINVAL, "mmap %s (offset 0x%llx, "
		 "%zu bytes): %s, want EINVAL", what, (unsigned long long)offset, len,
		 map == MAP_FAILED ? strerror(errno) : "succeeded");
}

static void check_bad_mmaps(int fd)
{
	expect_mmap_einval(fd, 4096, DRVPROXY_MMAP_BAR(1), "of absent BAR1");
	expect_mmap_einval(fd, 4096, DRVPROXY_MMAP_BAR(6), "of BAR6");
	expect_mmap_einval(fd, 4096, DRVPROXY_MMAP_BAR(15), "of region 15");
	expect_mmap_einval(fd, 2 * EDU_BAR0_SIZE, DRVPROXY_MMAP_BAR(0), "larger than BAR0");
	expect_mmap_einval(fd, 4096, DRVPROXY_MMAP_BAR(0) + EDU_BAR0_SIZE, "past BAR0's end");
	expect_mmap_einval(fd, 4096, DRVPROXY_MMAP_DMA(0), "of DMA buffer 0, never allocated");
	expect_mmap_einval(fd, 4096, DRVPROXY_MMAP_DMA(DRVPROXY_MAX_DMA_BUFFERS),
			   "of a DMA buffer id beyond the table");
	expect_mmap_einval(fd, 4096, 1ull << 62, "at a huge offset");
}

/* After all of it, the handle still works. */
static void check_still_usable(struct vt_dev *dev)
{
	struct drvproxy_info info;

	vt_get_info(dev->fd, &info);
	vt_set_edu_ack_prog(dev->fd);
	vt_set_irq(dev->fd, DRVPROXY_IRQ_INTX_SHARED);
	vt_roundtrip(dev, 0x42, 1);
}

int main(int argc, char **argv)
{
	struct vt_dev dev;
	int second;

	vt_begin("drvproxy_bad_input", 60);
	vt_check(argc == 2, "usage: t_badinput BDF");
	vt_dev_open(&dev, argv[1]);
	second = vt_dev_try_open(argv[1]);
	vt_check(second < 0 && errno == EBUSY, "second open: %s, want EBUSY",
		 second < 0 ? strerror(errno) : "succeeded");
	check_bad_programs(dev.fd);
	check_bad_program_pointer(dev.fd);
	check_wrong_sizes(dev.fd);
	check_wrong_abi(dev.fd);
	check_bad_arguments(dev.fd);
	check_bad_mmaps(dev.fd);
	check_still_usable(&dev);
	vt_dev_close(&dev);
	vt_pass();
}
