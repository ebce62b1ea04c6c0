/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * drvproxy: the only contract between the drvproxy kernel module and user
 * space (driverhost, devsim, tests). Fixed-width types only; every struct's
 * size is pinned by a static assertion so that a layout change cannot slip
 * through unnoticed.
 *
 * Versioning: every ioctl argument that user space fills in starts with
 * `abi_version`; the module refuses any version but DRVPROXY_ABI_VERSION with
 * EPROTO. The argument size is encoded in the ioctl number, so an argument of
 * the wrong size is an unknown ioctl (ENOTTY). Reserved fields must be zero
 * (EINVAL), which keeps them usable for later growth.
 *
 * Who may use a handle:
 * - open() fails with EBUSY while another handle owns the device, and with
 *   EPERM when no IOMMU confines the device's DMA (a translating, strictly
 *   invalidated domain whose IOMMU group has no device left with a kernel
 *   driver), unless the module parameter allow_unsafe_dma is set and the
 *   opener has CAP_SYS_RAWIO; that taints the kernel (INFO: DMA_UNSAFE).
 * - The process that opened the device (its thread group) is the owner and
 *   the only user: from any other process every call fails with EPERM, and
 *   its mappings are not inherited across fork(). When the owner exits, or
 *   closes its last descriptor of the handle, the device is released at once,
 *   whoever else still holds the file; such a file is dead (ENODEV).
 * - A failing ioctl changes nothing. No user memory is touched while a lock
 *   that open() or the release needs is held, so a stalled caller stalls only
 *   itself.
 */
#ifndef _UAPI_DRVPROXY_H
#define _UAPI_DRVPROXY_H

#include <linux/types.h>
#include <linux/ioctl.h>

/*
 * 2: bus mastering only on request (BUS_MASTER), DMA confinement and reset
 * reported by INFO, owner-only access, ERROR events.
 */
#define DRVPROXY_ABI_VERSION	2

/* ---- Register programs ------------------------------------------------ */

/*
 * A register program is a short straight-line list of instructions over one
 * 64-bit accumulator. It is validated once when installed and then run
 * without checks: in the interrupt top half (the ACK program) or when the
 * owner goes away (the RELEASE program).
 */
enum drvproxy_op {
	DRVPROXY_OP_READ = 1,		/* acc = bar[offset] (width bytes, zero-extended) */
	DRVPROXY_OP_WRITE,		/* bar[offset] = acc (truncated to width) */
	DRVPROXY_OP_WRITE_IMM,		/* bar[offset] = imm (must fit width) */
	DRVPROXY_OP_LOAD_IMM,		/* acc = imm */
	DRVPROXY_OP_AND,		/* acc &= imm */
	DRVPROXY_OP_OR,			/* acc |= imm */
	DRVPROXY_OP_XOR,		/* acc ^= imm */
	DRVPROXY_OP_SHL,		/* acc <<= imm, imm < 64 */
	DRVPROXY_OP_SHR,		/* acc >>= imm, imm < 64 */
	DRVPROXY_OP_NOT_MINE_IF_ZERO,	/* ACK only: acc == 0 -> stop, answer NOT_MINE */
	DRVPROXY_OP_SNAPSHOT,		/* ACK only: append acc to the event's snapshots */
	DRVPROXY_OP_DELAY,		/* RELEASE only: wait imm microseconds */
	DRVPROXY_OP_POLL,		/* RELEASE only: read until (reg & imm) == expect,
					 * for at most timeout_us of elapsed time (not a
					 * count of reads); acc = last value read */
	DRVPROXY_OP_MAX_,		/* not an op: one past the last */
};

struct drvproxy_insn {
	__u8  op;		/* enum drvproxy_op */
	__u8  width;		/* register ops: 1, 2, 4 or 8 bytes; else 0 */
	__u8  bar;		/* register ops: BAR index 0..5; else 0 */
	__u8  reserved0;	/* must be 0 */
	__u32 offset;		/* register ops: byte offset in the BAR, width-aligned */
	__u64 imm;		/* immediate operand; POLL: mask */
	__u64 expect;		/* POLL: value wanted after masking; else 0 */
	__u32 timeout_us;	/* POLL: give up after this long; else 0 */
	__u32 reserved1;	/* must be 0 */
};

#define DRVPROXY_PROG_MAX_INSNS		32
#define DRVPROXY_MAX_SNAPSHOTS		4
/* Sum of all DELAY and POLL waits a release program may ask for. */
#define DRVPROXY_PROG_MAX_WAIT_US	1000000

enum drvproxy_prog_kind {
	DRVPROXY_PROG_ACK = 1,		/* runs in the interrupt top half */
	DRVPROXY_PROG_RELEASE,		/* runs when the owner goes away or on RESET */
};

/* Why a program was refused (drvproxy_prog.error). */
enum drvproxy_prog_error {
	DRVPROXY_EPROG_OK = 0,
	DRVPROXY_EPROG_BAD_KIND,	/* kind is neither ACK nor RELEASE */
	DRVPROXY_EPROG_TOO_LONG,	/* more than DRVPROXY_PROG_MAX_INSNS */
	DRVPROXY_EPROG_BAD_OP,		/* unknown opcode */
	DRVPROXY_EPROG_BAD_WIDTH,	/* width not 1/2/4/8, or 8 on an I/O BAR */
	DRVPROXY_EPROG_BAD_BAR,		/* BAR index >5, or BAR absent */
	DRVPROXY_EPROG_OUT_OF_RANGE,	/* offset + width beyond the BAR */
	DRVPROXY_EPROG_MISALIGNED,	/* offset not a multiple of width */
	DRVPROXY_EPROG_BAD_SHIFT,	/* shift count >= 64 */
	DRVPROXY_EPROG_BAD_IMM,		/* WRITE_IMM value wider than width */
	DRVPROXY_EPROG_RESERVED,	/* a reserved or unused field is not 0 */
	DRVPROXY_EPROG_WRONG_KIND,	/* op not allowed in this kind of program */
	DRVPROXY_EPROG_TOO_MANY_SNAPSHOTS, /* more than DRVPROXY_MAX_SNAPSHOTS */
	DRVPROXY_EPROG_WAIT_TOO_LONG,	/* waits add up to more than the limit */
	DRVPROXY_EPROG_PROTECTED,	/* register in the MSI-X table or PBA */
	DRVPROXY_EPROG_MAX_,
};

/*
 * drvproxy_prog.flags, RELEASE programs only. A function that has a reset
 * method is reset at the end of every release unless NO_RESET is given;
 * FUNCTION_RESET is accepted for compatibility and changes nothing.
 */
#define DRVPROXY_RELEASE_FUNCTION_RESET	(1u << 0)
#define DRVPROXY_RELEASE_NO_RESET	(1u << 1) /* skip the reset at release */

struct drvproxy_prog {
	__u32 abi_version;	/* in: DRVPROXY_ABI_VERSION */
	__u32 kind;		/* in: enum drvproxy_prog_kind */
	__u32 flags;		/* in: DRVPROXY_RELEASE_* */
	__u32 len;		/* in: number of instructions, 0 removes the program */
	__u64 insns;		/* in: user pointer to len struct drvproxy_insn */
	__u32 error;		/* out: enum drvproxy_prog_error when refused */
	__u32 error_index;	/* out: index of the offending instruction */
};

/* ---- Device information ------------------------------------------------ */

#define DRVPROXY_NUM_BARS	6

/* drvproxy_bar_info.flags */
#define DRVPROXY_BAR_PRESENT	(1u << 0)
#define DRVPROXY_BAR_MEM	(1u << 1)	/* else I/O ports (not mmap-able) */
#define DRVPROXY_BAR_64BIT	(1u << 2)
#define DRVPROXY_BAR_PREFETCH	(1u << 3)

struct drvproxy_bar_info {
	__u64 size;
	__u32 flags;
	__u32 reserved;
};

/* drvproxy_info.irq_kinds */
#define DRVPROXY_IRQ_KIND_INTX	(1u << 0)
#define DRVPROXY_IRQ_KIND_MSI	(1u << 1)
#define DRVPROXY_IRQ_KIND_MSIX	(1u << 2)

/* drvproxy_info.flags */
#define DRVPROXY_INFO_INTX_DISABLE	(1u << 0) /* PCI 2.3 INTx-disable bit works */
/* An IOMMU confines the device's DMA to its owner's buffers (strict domain). */
#define DRVPROXY_INFO_DMA_CONFINED	(1u << 1)
/* No confinement: opened in the explicit unsafe mode (kernel tainted). */
#define DRVPROXY_INFO_DMA_UNSAFE	(1u << 2)
/* The function has a reset method: reset at open and at release. */
#define DRVPROXY_INFO_RESET		(1u << 3)
/* Bus mastering is on (BUS_MASTER). */
#define DRVPROXY_INFO_BUS_MASTER	(1u << 4)

struct drvproxy_info {
	__u32 abi_version;	/* out: the module's DRVPROXY_ABI_VERSION */
	__u32 flags;		/* out: DRVPROXY_INFO_* */
	__u16 vendor;
	__u16 device;
	__u16 subvendor;
	__u16 subdevice;
	__u32 class_code;	/* base class << 16 | subclass << 8 | prog-if */
	__u8  revision;
	__u8  reserved0[3];
	__u32 irq_kinds;	/* DRVPROXY_IRQ_KIND_* */
	__u32 msix_vectors;	/* MSI-X table size, 0 without MSI-X */
	__u32 ring_entries;	/* records the event ring holds; one more
				 * slot is kept for a STORM or ERROR record */
	__u32 dma_mask_bits;	/* current DMA mask width */
	struct drvproxy_bar_info bars[DRVPROXY_NUM_BARS];
};

/* ---- Interrupts and events --------------------------------------------- */

enum drvproxy_irq_mode {
	DRVPROXY_IRQ_NONE = 0,		/* free the interrupt */
	DRVPROXY_IRQ_INTX_SHARED,	/* shared line; the ACK program decides.
					 * Without the INTx-disable bit the ACK
					 * program must be able to answer NOT_MINE
					 * and a RELEASE program must be set, else
					 * ENOEXEC: nothing could silence the device
					 * for its neighbours. While it shares so,
					 * SET_PROG that would drop either answers
					 * EBUSY */
	DRVPROXY_IRQ_INTX_DISABLE,	/* PCI 2.3 disable bit; UNMASK re-enables */
	DRVPROXY_IRQ_MSI,
	DRVPROXY_IRQ_MSIX,		/* nvec vectors, event.vector tells which */
};

struct drvproxy_irq {
	__u32 abi_version;	/* in */
	__u32 mode;		/* in: enum drvproxy_irq_mode */
	__u32 nvec;		/* in: MSI-X vectors wanted (1 for other modes) */
	__u32 reserved;		/* must be 0 */
};

/*
 * drvproxy_event.flags. The top half claims an interrupt on a shared line only
 * if the device's own status says so, and a source that keeps firing unread
 * (a storm) is masked at the device with its INTx-disable bit where it has
 * one (the line stays usable for its neighbours) until UNMASK.
 */
#define DRVPROXY_EVENT_DROPPED	(1u << 0) /* `dropped` events were lost before this one */
#define DRVPROXY_EVENT_STORM	(1u << 1) /* the interrupt was masked as a storm */
/*
 * The PCI core reported an error on the device (AER): its state is unknown
 * and the owner should let go so that the device is released and reset.
 * snap[0] is the pci_channel_state_t. Not the result of an ACK program.
 */
#define DRVPROXY_EVENT_ERROR	(1u << 2)

/*
 * One record per interrupt the ACK program claimed. read() returns whole
 * records only, as many as fit. seq counts every claimed interrupt from 1, so
 * a record's seq minus the previous one's, minus 1, equals its `dropped`.
 */
struct drvproxy_event {
	__u64 seq;
	__u64 timestamp_ns;	/* CLOCK_MONOTONIC, taken in the top half */
	__u32 vector;		/* MSI-X vector, else 0 */
	__u32 flags;		/* DRVPROXY_EVENT_* */
	__u32 dropped;		/* events lost to a full ring just before this one */
	__u32 nsnap;		/* valid entries in snap[] */
	__u64 snap[DRVPROXY_MAX_SNAPSHOTS];
};

/* ---- DMA ---------------------------------------------------------------- */

#define DRVPROXY_MAX_DMA_BUFFERS	64
#define DRVPROXY_MAX_DMA_SIZE		(4u << 20)

struct drvproxy_dma_mask {
	__u32 abi_version;	/* in */
	__u32 bits;		/* in: 12..64 */
};

struct drvproxy_dma_alloc {
	__u32 abi_version;	/* in */
	__u32 reserved;		/* must be 0 */
	__u64 size;		/* in: bytes, rounded up to pages; <= DRVPROXY_MAX_DMA_SIZE */
	__u32 id;		/* out: buffer id for DMA_FREE */
	__u32 reserved1;
	__u64 bus_addr;		/* out: address the device uses */
	__u64 mmap_offset;	/* out: mmap() offset of the buffer */
};

struct drvproxy_dma_free {
	__u32 abi_version;	/* in */
	__u32 id;		/* in */
};

/*
 * Bus mastering (DMA and MSI) is off after open and after every release or
 * RESET; the owner turns it on once it has set the device up.
 */
struct drvproxy_bus_master {
	__u32 abi_version;	/* in */
	__u32 enable;		/* in: 1 on, 0 off */
};

/* ---- mmap offsets --------------------------------------------------------- */

/* mmap(offset = DRVPROXY_MMAP_BAR(i)) maps BAR i (memory BARs only, uncached). */
#define DRVPROXY_MMAP_SHIFT		40
#define DRVPROXY_MMAP_BAR(i)		((__u64)(i) << DRVPROXY_MMAP_SHIFT)
#define DRVPROXY_MMAP_DMA(id)		((__u64)(16 + (id)) << DRVPROXY_MMAP_SHIFT)

/* ---- ioctls --------------------------------------------------------------- */

#define DRVPROXY_IOC_MAGIC	0xDD

#define DRVPROXY_IOC_INFO	_IOR(DRVPROXY_IOC_MAGIC, 0x00, struct drvproxy_info)
#define DRVPROXY_IOC_SET_PROG	_IOWR(DRVPROXY_IOC_MAGIC, 0x01, struct drvproxy_prog)
#define DRVPROXY_IOC_SET_IRQ	_IOW(DRVPROXY_IOC_MAGIC, 0x02, struct drvproxy_irq)
/* Re-enable the interrupt: clears the INTx-disable bit, or a storm mask. */
#define DRVPROXY_IOC_UNMASK	_IO(DRVPROXY_IOC_MAGIC, 0x03)
#define DRVPROXY_IOC_DMA_MASK	_IOW(DRVPROXY_IOC_MAGIC, 0x04, struct drvproxy_dma_mask)
#define DRVPROXY_IOC_DMA_ALLOC	_IOWR(DRVPROXY_IOC_MAGIC, 0x05, struct drvproxy_dma_alloc)
#define DRVPROXY_IOC_DMA_FREE	_IOW(DRVPROXY_IOC_MAGIC, 0x06, struct drvproxy_dma_free)
/*
 * Run the release sequence without closing: the handle stays usable. The
 * owner's BAR and DMA mappings are zapped first (later touches: SIGBUS).
 */
#define DRVPROXY_IOC_RESET	_IO(DRVPROXY_IOC_MAGIC, 0x07)
#define DRVPROXY_IOC_BUS_MASTER	_IOW(DRVPROXY_IOC_MAGIC, 0x08, struct drvproxy_bus_master)

/* ---- Layout pins ----------------------------------------------------------- */

/* C11 and C++11 have static assertions; C99 gets a negative array size. */
#if defined(__cplusplus)
#define DRVPROXY_PIN_SIZE(type, size) static_assert(sizeof(type) == (size), #type " layout")
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define DRVPROXY_PIN_SIZE(type, size) _Static_assert(sizeof(type) == (size), #type " layout")
#else
#define DRVPROXY_PIN_SIZE_(type, size, line) typedef char drvproxy_pin_##line[sizeof(type) == (size) ? 1 : -1]
#define DRVPROXY_PIN_SIZE__(type, size, line) DRVPROXY_PIN_SIZE_(type, size, line)
#define DRVPROXY_PIN_SIZE(type, size) DRVPROXY_PIN_SIZE__(type, size, __LINE__)
#endif
DRVPROXY_PIN_SIZE(struct drvproxy_insn, 32);
DRVPROXY_PIN_SIZE(struct drvproxy_prog, 32);
DRVPROXY_PIN_SIZE(struct drvproxy_bar_info, 16);
DRVPROXY_PIN_SIZE(struct drvproxy_info, 136);
DRVPROXY_PIN_SIZE(struct drvproxy_irq, 16);
DRVPROXY_PIN_SIZE(struct drvproxy_event, 64);
DRVPROXY_PIN_SIZE(struct drvproxy_dma_mask, 8);
DRVPROXY_PIN_SIZE(struct drvproxy_dma_alloc, 40);
DRVPROXY_PIN_SIZE(struct drvproxy_dma_free, 8);
DRVPROXY_PIN_SIZE(struct drvproxy_bus_master, 8);

#endif /* _UAPI_DRVPROXY_H */
