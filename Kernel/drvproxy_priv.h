/* SPDX-License-Identifier: GPL-2.0 */
/*
 * drvproxy: state shared by the module's source files. Not a contract with
 * anybody; the contract is include/uapi/drvproxy.h.
 */
#ifndef DRVPROXY_PRIV_H
#define DRVPROXY_PRIV_H

#include <linux/atomic.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/poll.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include "regprog.h"

#define DRVPROXY_NAME			"drvproxy"

/* Event ring capacity; a power of two so that indices wrap with a mask. */
#define DRVPROXY_RING_ENTRIES		1024
/*
 * Claimed interrupts without user space consuming any event before the
 * line is masked as a storm: four times what the ring holds, so a consumer
 * that is merely slow never trips it.
 */
#define DRVPROXY_STORM_THRESHOLD	(4 * DRVPROXY_RING_ENTRIES)

/* mmap regions: BARs 0..5, DMA buffers from 16 on. */
#define DRVPROXY_MMAP_DMA_FIRST		16
#define DRVPROXY_MMAP_OFFSET_MASK	((1ULL << DRVPROXY_MMAP_SHIFT) - 1)

/* One interrupt source: the INTx line, the MSI vector or one MSI-X vector. */
struct drvproxy_vec {
	struct drvproxy_dev *dp;
	unsigned int irq;
	u32 index;		/* reported as drvproxy_event.vector */
	bool line_disabled;	/* storm: disable_irq_nosync(); ring_lock */
	char name[40];		/* request_irq() keeps the pointer */
};

/*
 * A coherent DMA buffer. Its memory is freed as soon as the proxy lets go of
 * it (DMA_FREE, release, remove), after the owner's mappings of it have been
 * zapped; the struct itself lives until the last mapping is gone, so that a
 * late fault finds it and answers SIGBUS.
 */
struct drvproxy_dma {
	struct kref ref;	/* the buffer table's entry and each VMA */
	struct device *dev;	/* referenced, for dma_free_coherent() */
	void *cpu;		/* NULL once the memory is freed */
	dma_addr_t bus;
	size_t size;
	struct user_struct *charged;	/* RLIMIT_MEMLOCK charged to, or NULL */
};

struct drvproxy_dev {
	struct device dev;	/* the char device; its refcount frees us */
	struct cdev cdev;
	struct pci_dev *pdev;	/* referenced until we are freed */
	int minor;

	/* Fixed at probe. */
	void __iomem *bar_va[DRVPROXY_NUM_BARS];
	struct regprog_bar rbars[DRVPROXY_NUM_BARS];
	unsigned int intx_irq;	/* 0: no usable INTx */
	bool intx_mask_ok;	/* PCI 2.3 INTx-disable bit usable */
	bool has_msi;
	u32 msix_vectors;
	bool can_reset;		/* the function has a reset method */

	/*
	 * lock serialises open, release, ioctls and remove. It is never taken
	 * in the interrupt handler, nor by mmap or page faults (those run under
	 * mmap_lock, which ioctls may take while holding lock).
	 */
	struct mutex lock;
	bool dead;		/* removed; set under zap_sem, ring_lock too */
	/*
	 * The owner: the open file, and the thread group that opened it, the
	 * only one allowed to use it. owner is written under lock and read
	 * without it by the owner check; the rest only changes while owner is
	 * NULL.
	 */
	struct file *owner;
	struct pid *owner_tgid;
	struct user_struct *owner_user;	/* DMA memory is charged to it */
	struct mm_struct *owner_mm;	/* grabbed: see drvproxy_zap_lock() */
	bool dma_unsafe;	/* opened without IOMMU confinement */
	bool needs_reset;	/* not reset since it was last used */
	struct address_space *mapping;	/* zapped on release and remove */
	u32 dma_mask_bits;
	u32 irq_mode;		/* enum drvproxy_irq_mode */
	struct drvproxy_vec *vecs;
	u32 nvec;
	struct drvproxy_insn release_prog[DRVPROXY_PROG_MAX_INSNS];
	u32 release_len;
	u32 release_flags;

	/*
	 * mmap and faults hold zap_sem to read; remove and the release
	 * sequence hold it to write, so no fault can map a BAR page while the
	 * device is being released or reset.
	 */
	struct rw_semaphore zap_sem;

	/* The DMA buffer table; mmap looks buffers up without lock. */
	spinlock_t dma_lock;
	struct drvproxy_dma *dma[DRVPROXY_MAX_DMA_BUFFERS];

	/*
	 * ring_lock: the event ring, the ACK program and the masking state.
	 * The top half takes it, so process context uses the irqsave form.
	 */
	spinlock_t ring_lock;
	struct drvproxy_event *ring;
	u32 head;		/* records written */
	u32 tail;		/* records read */
	u64 next_seq;
	u64 pending_drops;	/* lost since the last queued record */
	bool drops_since_read;	/* the reader did not keep up */
	u32 storm_count;	/* claims since user space last consumed */
	bool intx_masked;	/* we set the INTx-disable bit */
	struct drvproxy_insn ack_prog[DRVPROXY_PROG_MAX_INSNS];
	u32 ack_len;
	wait_queue_head_t wait;

	/* sysfs counters */
	atomic64_t interrupts;
	atomic64_t not_mine;
	atomic64_t dropped;
	atomic64_t releases;
	atomic64_t storms;
	atomic64_t resets;	/* function resets done, at open or release */
	atomic_t owner_pid;

	/* ---- drvproxy_irq.c: readers of the event ring ---- */
	struct mutex read_lock;	/* one read() copies out at a time */
	u32 ring_gen;		/* ring_lock; moved by each ring reset */
};

extern const struct regprog_io drvproxy_regprog_io;
extern bool drvproxy_allow_unsafe_dma;
extern unsigned int drvproxy_dma_limit_mb;

/* drvproxy_main.c */
int drvproxy_check_caller(struct drvproxy_dev *dp, struct file *filp);

/* drvproxy_iommu.c */
bool drvproxy_dma_confined(struct pci_dev *pdev, const char **why);

/* drvproxy_irq.c */
int drvproxy_ring_alloc(struct drvproxy_dev *dp);
void drvproxy_ring_free(struct drvproxy_dev *dp);
void drvproxy_ring_reset(struct drvproxy_dev *dp);
ssize_t drvproxy_ring_read(struct drvproxy_dev *dp, struct file *filp,
			   char __user *buf, size_t count);
__poll_t drvproxy_ring_poll(struct drvproxy_dev *dp, struct file *filp,
			    poll_table *wait);
int drvproxy_set_irq(struct drvproxy_dev *dp, const struct drvproxy_irq *req);
void drvproxy_irq_teardown(struct drvproxy_dev *dp);
int drvproxy_unmask(struct drvproxy_dev *dp);
int drvproxy_set_ack_prog(struct drvproxy_dev *dp,
			  const struct drvproxy_insn *insns, u32 len);
void drvproxy_intx_mask(struct drvproxy_dev *dp);
void drvproxy_intx_set(struct drvproxy_dev *dp, bool disable);
void drvproxy_ring_push_error(struct drvproxy_dev *dp, u32 channel_state);

/* ---- drvproxy_irq.c: shared lines, PCI_COMMAND, MSI-X, POLL clock ---- */

/*
 * Records the ring holds, as INFO reports it: its last slot is kept for the
 * record that announces a storm (see ring_push()).
 */
#define DRVPROXY_RING_CAPACITY		(DRVPROXY_RING_ENTRIES - 1)

void drvproxy_set_bus_master(struct drvproxy_dev *dp, bool on);
bool drvproxy_release_prog_required(struct drvproxy_dev *dp);
void drvproxy_protect_msix(struct drvproxy_dev *dp);
bool drvproxy_bar_range_protected(struct drvproxy_dev *dp, u32 bar, u64 off,
				  u64 len);
u64 drvproxy_io_now_us(void *ctx);

/* drvproxy_mem.c */
int drvproxy_dma_alloc(struct drvproxy_dev *dp, struct drvproxy_dma_alloc *req);
int drvproxy_dma_free(struct drvproxy_dev *dp, u32 id);
void drvproxy_dma_release_all(struct drvproxy_dev *dp);
void drvproxy_zap_lock(struct drvproxy_dev *dp);
void drvproxy_zap_unlock(struct drvproxy_dev *dp);
int drvproxy_mmap(struct file *filp, struct vm_area_struct *vma);

#endif /* DRVPROXY_PRIV_H */
