/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Helpers shared by the drvproxy VM tests and benchmarks: a verdict reporter,
 * edu register access, drvproxy ioctls, sysfs/procfs readers, timing and
 * percentiles. Every helper that can fail ends the test with a FAIL line that
 * says what failed (with errno), so the tests themselves stay short.
 */
#ifndef VMTEST_H
#define VMTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "drvproxy.h"

/* ---- QEMU edu device (docs/specs/edu.rst) ------------------------------ */

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8
#define EDU_BAR0_SIZE		(1u << 20)
#define EDU_ID_VALUE		0x010000edu

#define EDU_ID			0x00
#define EDU_LIVENESS		0x04	/* reads back the inverse of what was written */
#define EDU_IRQ_STATUS		0x24
#define EDU_IRQ_RAISE		0x60	/* status |= value, interrupt */
#define EDU_IRQ_ACK		0x64	/* status &= ~value */
#define EDU_DMA_SRC		0x80
#define EDU_DMA_DST		0x88
#define EDU_DMA_COUNT		0x90
#define EDU_DMA_CMD		0x98
#define EDU_DMA_BUF		0x40000	/* device-side buffer, reachable by DMA only */
#define EDU_DMA_BUF_SIZE	4096
#define EDU_DMA_MASK_BITS	28

#define EDU_DMA_CMD_START	0x1
#define EDU_DMA_CMD_TO_RAM	0x2	/* else RAM -> device */
#define EDU_DMA_CMD_IRQ		0x4	/* raise EDU_DMA_IRQ when done */
#define EDU_DMA_IRQ		0x100

uint32_t edu_read(volatile uint8_t *bar0, uint32_t offset);
void edu_write(volatile uint8_t *bar0, uint32_t offset, uint32_t value);
void edu_write64(volatile uint8_t *bar0, uint32_t offset, uint64_t value);
/* Acknowledge every pending interrupt cause, so a test starts quiet. */
void edu_quiesce(volatile uint8_t *bar0);
/*
 * Wait until the interrupt status reads 0, i.e. a top half's ack program ran.
 * Returns false after timeout_ms.
 */
bool edu_wait_status_clear(volatile uint8_t *bar0, int timeout_ms);

/* ---- Verdicts ------------------------------------------------------------ */

/*
 * Name the test and arm a watchdog: after timeout_s seconds the test prints
 * "FAIL: <name>: timed out" and exits, so a hang still yields a verdict.
 */
void vt_begin(const char *name, unsigned int timeout_s);
__attribute__((noreturn)) void vt_pass(void);
/* Prints "FAIL: <name>: <reason>" and exits 1. %m works (errno). */
__attribute__((noreturn, format(printf, 1, 2))) void vt_fail(const char *fmt, ...);
#define vt_check(cond, ...) do { if (!(cond)) vt_fail(__VA_ARGS__); } while (0)
/* Informational line on stderr; the harness only counts stdout verdicts. */
__attribute__((format(printf, 1, 2))) void vt_note(const char *fmt, ...);

/*
 * Fork a helper process. In the child, vt_fail() sends its reason to the
 * parent instead of printing a verdict, and the child dies with the parent.
 * The child calls vt_child_ready() once set up; the parent waits for that
 * with vt_wait_child_ready(). vt_join() reaps the child and fails the test,
 * quoting the child's reason, unless the child exited 0.
 */
struct vt_child {
	pid_t pid;
	int report_fd;	/* parent's end of the reason pipe */
	int ready_fd;	/* parent's end of the "set up" pipe */
};
bool vt_fork(struct vt_child *child);	/* true in the child */
void vt_child_ready(void);
void vt_wait_child_ready(struct vt_child *child, int timeout_ms, const char *what);
void vt_join(struct vt_child *child, const char *what);

/* ---- drvproxy ------------------------------------------------------------ */

struct vt_dev {
	const char *bdf;
	int fd;
	struct drvproxy_info info;
	volatile uint8_t *bar0;
};

/* /dev/drvproxy/<bdf>, or -1 with errno. */
int vt_dev_try_open(const char *bdf);
/* Open, INFO, map BAR0, quiesce the edu; fails the test on any error. */
void vt_dev_open(struct vt_dev *dev, const char *bdf);
void vt_dev_close(struct vt_dev *dev);
void vt_get_info(int fd, struct drvproxy_info *info);

struct drvproxy_insn vt_insn_reg(enum drvproxy_op op, uint32_t offset);	/* 32-bit BAR0 */
struct drvproxy_insn vt_insn_write_imm(uint32_t offset, uint32_t value);	/* 32-bit BAR0 */
struct drvproxy_insn vt_insn(enum drvproxy_op op, uint64_t imm);

/* SET_PROG; returns the ioctl's result (errno set), prog->error filled in. */
int vt_try_set_prog(int fd, struct drvproxy_prog *prog, uint32_t kind,
		    uint32_t flags, const struct drvproxy_insn *insns, uint32_t len);
void vt_set_prog(int fd, uint32_t kind, uint32_t flags,
		 const struct drvproxy_insn *insns, uint32_t len);
/* read32 0x24 -> NOT_MINE_IF_ZERO -> SNAPSHOT -> write32 0x64 <- acc */
void vt_set_edu_ack_prog(int fd);
int vt_try_set_irq(int fd, enum drvproxy_irq_mode mode);
void vt_set_irq(int fd, enum drvproxy_irq_mode mode);
void vt_unmask(int fd);

/*
 * Wait up to timeout_ms for events, then read() up to max records. Returns
 * how many were read, 0 on timeout. A short or torn read fails the test.
 */
size_t vt_read_events(int fd, struct drvproxy_event *ev, size_t max, int timeout_ms);
/* Exactly one event within timeout_ms, else the test fails. */
void vt_wait_event(int fd, struct drvproxy_event *ev, int timeout_ms, const char *what);
/* An interrupt round trip: raise `value`, wait for its event, check it. */
void vt_roundtrip(struct vt_dev *dev, uint32_t value, uint64_t want_seq);

struct vt_dma {
	struct drvproxy_dma_alloc alloc;
	uint8_t *map;
};
void vt_dma_alloc(int fd, struct vt_dma *dma, uint64_t size);

/* ---- sysfs, procfs --------------------------------------------------------- */

/* A whole small file (sysfs, procfs), its trailing newline dropped. */
void vt_read_text(const char *path, char *buf, size_t size);
/* /sys/bus/pci/devices/<bdf>/drvproxy/<name> */
uint64_t vt_counter(const char *bdf, const char *name);
/* The device's sysfs config file, opened read-write. */
int vt_config_open(const char *bdf);
uint16_t vt_config_read16(int cfg, off_t offset);
void vt_config_write8(int cfg, off_t offset, uint8_t value);
/*
 * The /proc/interrupts line of IRQ number `irq`: false when there is none,
 * else its summed per-CPU count and its text.
 */
bool vt_irq_line(unsigned int irq, long long *count, char *text, size_t size);
/* The IRQ number in /sys/bus/pci/devices/<bdf>/irq. */
unsigned int vt_irq_of(const char *bdf);
/* mmap of /sys/bus/pci/devices/<bdf>/resource0 (for devices without drvproxy). */
volatile uint8_t *vt_map_resource0(const char *bdf);

/* ---- uio_pci_generic -------------------------------------------------------- */

struct vt_uio {
	int fd;			/* /dev/uioN */
	int cfg;		/* sysfs config, kept open */
	uint8_t cmd_hi;		/* command register bits 8..15, INTx-disable clear */
	volatile uint8_t *bar0;
};
/* Open the uio node and config space; clears the INTx-disable bit. */
void vt_uio_open(struct vt_uio *uio, const char *bdf, const char *uio_dev);
/* Block (up to timeout_ms) for an interrupt; returns the uio event count. */
uint32_t vt_uio_wait(struct vt_uio *uio, int timeout_ms);
/* uio_pci_generic masks with the INTx-disable bit; clear it (byte 5, bit 2). */
void vt_uio_reenable(struct vt_uio *uio);

/* ---- Time and statistics ------------------------------------------------------ */

uint64_t vt_now_ns(void);
void vt_sort_u64(uint64_t *v, size_t n);
/* Nearest-rank percentile (0 < p <= 100) of a sorted array. */
uint64_t vt_percentile(const uint64_t *sorted, size_t n, double p);

#endif /* VMTEST_H */
