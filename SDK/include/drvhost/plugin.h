/* SPDX-License-Identifier: MIT */
/*
 * drvhost plugin ABI, version 1.2.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * DH_PLUGIN_SYMBOL ("dh_plugin_entry"): a const struct dh_plugin, or, since
 * 1.1, DH_PLUGIN_GETTER_SYMBOL ("dh_plugin_get"): a function returning one
 * (for languages that cannot define a const C struct, such as Swift). The
 * driverhost dlopen()s the plugin, reads that descriptor, checks the ABI
 * version, validates every field, and only then opens the device. From then on
 * it calls the plugin's callbacks and passes it a table of host functions
 * (struct dh_host); a plugin never links against host symbols.
 *
 * Rules that keep this ABI stable:
 *  - Every top-level struct starts with abi_major, abi_minor and struct_size.
 *    The host refuses another major, refuses a newer minor than its own and
 *    accepts older minors: it reads only the first struct_size bytes of a
 *    plugin's descriptor and takes every field past them as absent (zero).
 *    struct_size must cover at least the 1.0 descriptor (DH_PLUGIN_SIZE_1_0).
 *  - Structs grow only by appending fields; an existing field never changes.
 *    Bigger additions are extensions, found by string id with a revision
 *    ("drvhost.something/1"): the host's through dh_host.get_extension, the
 *    plugin's (since 1.2) through dh_plugin.get_extension. Device classes
 *    are such extensions (drvhost/block.h, drvhost/net.h).
 *  - Handles are opaque; integers are fixed width; errors are int32_t
 *    (DH_OK or a negative DH_ERR_* value).
 *
 * Hostile arguments: every host function checks what it is given. A NULL
 * or unknown dh_instance, a NULL out-pointer, or an index, size, offset or
 * width out of range answers DH_ERR_INVALID (or the error its comment
 * names; reads answer all ones, void functions do nothing): a plugin bug
 * never crashes the host.
 *
 * Threads: the driverhost calls every callback on one thread, its event-loop
 * thread, never two at once. Host functions are called from that thread
 * (from inside a callback) unless their comment says otherwise.
 *
 * Watchdog: every callback must return within a bound (attach_timeout_ms for
 * attach, callback_timeout_ms for the others; 0 means the host's default:
 * 10000 ms for attach, 2000 ms for the others). The host caps what a plugin
 * declares: the bound in force is never above the cap (driverhost
 * --max-attach-ms, default 60000; --max-callback-ms, default 10000; hostd
 * sets them from hostd.toml [limits]). A callback that overruns its bound
 * ends the driverhost process; the kernel then runs the release program and
 * the supervisor may restart the instance.
 */
#ifndef DRVHOST_PLUGIN_H
#define DRVHOST_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DH_ABI_MAJOR 1
#define DH_ABI_MINOR 2

/*
 * ---- Numbers (SDK/README.md "Numbers" says the same; a test,
 *      Tests/HostdTests/DocumentedNumbersTests.swift, keeps both true) ----
 *
 * Watchdog: attach 10000 ms unless the plugin declares attach_timeout_ms;
 *   every other callback (interrupt, timer, detach) and every command
 *   2000 ms unless it declares callback_timeout_ms. Caps: 60000 ms for
 *   attach, 10000 ms for the rest (driverhost --max-attach-ms and
 *   --max-callback-ms; hostd.toml [limits] max_attach_ms, max_callback_ms).
 * Events: the kernel queues 1023 events per device that the driverhost has
 *   not read; the next ones are counted and dropped, and the first event
 *   read after them has DH_EVENT_DROPPED with `dropped` set. 4096 claimed
 *   interrupts with none read mask the line as a storm (DH_EVENT_STORM;
 *   unmask() re-enables it). driverhost reads and delivers them in order.
 * wait_events(inst, 0): delivers the events already pending and returns at
 *   once: DH_OK if it delivered one or more, DH_ERR_TIMEOUT if none.
 * Commands: `hostctl call` gives up after 120 s without an answer (each send
 *   and each receive); hostd waits for the driverhost as long as the command
 *   runs (the callback watchdog bounds it) but closes a control connection on
 *   which nothing moved for 60 s, a caller waiting for a command included.
 * DMA buffers: page-aligned (CPU and bus address multiples of 4096, enough
 *   for rings that need 128 bytes or a page), sized in whole pages, at most
 *   4 MiB each and 64 per device, charged against RLIMIT_MEMLOCK (per
 *   user, as VFIO does). Coherent: the device sees CPU stores without
 *   flushes.
 * Bus mastering (the device's DMA and MSI): off from open to the end of
 *   attach (the proxy resets the device at open); the host turns it on when
 *   attach returned DH_OK, before any other callback and before it asks for
 *   device classes; the kernel turns it off at release, after the RELEASE
 *   program. A plugin never switches it.
 * Memory ordering: a store to DMA memory followed by a register write that
 *   tells the device to look (a doorbell): through the host table
 *   (write32...) the call itself keeps the compiler from reordering, and on
 *   x86-64 stores reach memory in program order: nothing more is needed.
 *   Through the direct pointer (bar_pointer) write the register with a
 *   volatile access and put atomic_thread_fence(memory_order_release)
 *   between the DMA stores and it (no instruction on x86-64; on AArch64,
 *   which drvhost does not test, use Linux's dma_wmb(): dmb oshst). The
 *   direct pointer saves, per access, the indirect call, the instance
 *   handle check and the BAR bounds check of the host functions; it does
 *   not make the uncached access itself faster, and it is not offered on
 *   devsim (DH_ERR_NOT_SUPPORTED).
 * Names: hostd names an instance "<plugin name>@<device>", the plugin name
 *   from this descriptor and the device a PCI address or sim:NAME, e.g.
 *   "edu@0000:00:05.0"; hostctl and the logs use that name.
 * Devices hostd takes: when a plugin is loaded (hostctl load, or, with
 *   hostd.toml autoload = true, the default, when its file is in plugin_dir)
 *   hostd matches every PCI device against the plugin's table and takes
 *   those without a kernel driver (or already on drvproxy); a device bound
 *   to another kernel driver only if hostd.toml [devices] claim lists its
 *   address; one that [devices] ignore lists never. One instance per device.
 * Checking a plugin without a device: `driverhost --describe --plugin x.so`
 *   loads and validates it as hostd would and prints its descriptor as JSON
 *   (exit 0), or says what is wrong (exit 10, 11 or 12: driverhost --help
 *   lists every exit code).
 */

/* The one symbol a plugin exports: `const struct dh_plugin dh_plugin_entry`. */
#define DH_PLUGIN_SYMBOL "dh_plugin_entry"
/*
 * ABI 1.1: or instead `const struct dh_plugin *dh_plugin_get(void)`. The host
 * looks for dh_plugin_entry first; it calls dh_plugin_get once, right after
 * loading, on the loop thread; the descriptor it returns (and everything it
 * points to) must stay valid and unchanged while the plugin is loaded. Hosts
 * of ABI 1.0 know only dh_plugin_entry.
 */
#define DH_PLUGIN_GETTER_SYMBOL "dh_plugin_get"
typedef const struct dh_plugin *(*dh_plugin_get_fn)(void);

#if defined(__GNUC__) || defined(__clang__)
#define DH_EXPORT __attribute__((visibility("default")))
#else
#define DH_EXPORT
#endif

/* ---- Errors -------------------------------------------------------------- */

/* Every int32_t-returning function answers DH_OK or one of these. */
#define DH_OK                   0
#define DH_ERR_INVALID         -1  /* an argument is out of range or malformed */
#define DH_ERR_NO_MEMORY       -2  /* allocation failed, or a limit was reached */
#define DH_ERR_NOT_SUPPORTED   -3  /* not available on this host or device */
#define DH_ERR_IO              -4  /* the device or the kernel refused */
#define DH_ERR_TIMEOUT         -5  /* nothing happened within the time given */
#define DH_ERR_STATE           -6  /* not allowed now (wrong callback, wrong order) */
#define DH_ERR_NOT_FOUND       -7  /* no such object (buffer, timer, saved state) */
#define DH_ERR_DEVICE          -8  /* plugin's own: the device misbehaves */

/* ---- Opaque handles --------------------------------------------------------- */

/* One attached device instance. Valid from attach until detach returns. */
typedef struct dh_instance dh_instance;
/* One DMA buffer, from dh_host.dma_alloc until dh_host.dma_free. */
typedef struct dh_dma dh_dma;

/* ---- Register programs ------------------------------------------------------ */

/*
 * Programs the kernel runs for the plugin: ACK in the interrupt top half,
 * RELEASE when the driverhost goes away (crash included). The layout and
 * opcodes are exactly those of the kernel's struct drvproxy_insn (the host
 * checks this at compile time), mirrored here so that plugins need no kernel
 * headers. Semantics: one 64-bit accumulator, straight-line, no loops.
 */
enum dh_op {
	DH_OP_READ = 1,          /* acc = bar[offset] (width bytes, zero-extended) */
	DH_OP_WRITE = 2,         /* bar[offset] = acc (truncated to width) */
	DH_OP_WRITE_IMM = 3,     /* bar[offset] = imm */
	DH_OP_LOAD_IMM = 4,      /* acc = imm */
	DH_OP_AND = 5,           /* acc &= imm */
	DH_OP_OR = 6,            /* acc |= imm */
	DH_OP_XOR = 7,           /* acc ^= imm */
	DH_OP_SHL = 8,           /* acc <<= imm (imm < 64) */
	DH_OP_SHR = 9,           /* acc >>= imm (imm < 64) */
	DH_OP_NOT_MINE_IF_ZERO = 10, /* ACK only: acc == 0 -> not our interrupt */
	DH_OP_SNAPSHOT = 11,     /* ACK only: append acc to the event's snap[] */
	DH_OP_DELAY = 12,        /* RELEASE only: wait imm microseconds */
	DH_OP_POLL = 13          /* RELEASE only: read until (reg & imm) == expect */
};

struct dh_insn {
	uint8_t  op;          /* enum dh_op */
	uint8_t  width;       /* register ops: 1, 2, 4 or 8; else 0 */
	uint8_t  bar;         /* register ops: BAR index 0..5; else 0 */
	uint8_t  reserved0;   /* 0 */
	uint32_t offset;      /* register ops: byte offset, aligned to width */
	uint64_t imm;         /* immediate; POLL: mask */
	uint64_t expect;      /* POLL: value wanted after masking; else 0 */
	uint32_t timeout_us;  /* POLL: give up after this long; else 0 */
	uint32_t reserved1;   /* 0 */
};

#define DH_PROG_MAX_INSNS    32
#define DH_MAX_SNAPSHOTS     4

/* Initialisers for struct dh_insn, usable in C99 and C++ alike. */
#define DH_INSN_READ(w, b, off)        { DH_OP_READ, (w), (b), 0, (off), 0, 0, 0, 0 }
#define DH_INSN_WRITE(w, b, off)       { DH_OP_WRITE, (w), (b), 0, (off), 0, 0, 0, 0 }
#define DH_INSN_WRITE_IMM(w, b, off, v) { DH_OP_WRITE_IMM, (w), (b), 0, (off), (v), 0, 0, 0 }
#define DH_INSN_LOAD_IMM(v)            { DH_OP_LOAD_IMM, 0, 0, 0, 0, (v), 0, 0, 0 }
#define DH_INSN_AND(v)                 { DH_OP_AND, 0, 0, 0, 0, (v), 0, 0, 0 }
#define DH_INSN_OR(v)                  { DH_OP_OR, 0, 0, 0, 0, (v), 0, 0, 0 }
#define DH_INSN_NOT_MINE_IF_ZERO()     { DH_OP_NOT_MINE_IF_ZERO, 0, 0, 0, 0, 0, 0, 0, 0 }
#define DH_INSN_SNAPSHOT()             { DH_OP_SNAPSHOT, 0, 0, 0, 0, 0, 0, 0, 0 }
#define DH_INSN_DELAY(us)              { DH_OP_DELAY, 0, 0, 0, 0, (us), 0, 0, 0 }
#define DH_INSN_POLL(w, b, off, mask, want, tmo_us) \
	{ DH_OP_POLL, (w), (b), 0, (off), (mask), (want), (tmo_us), 0 }

/*
 * dh_plugin.release_flags. A function that has a reset method (FLR and the
 * like: `hostctl status` says "reset: yes") is reset by the kernel at the
 * end of every release, after the release program, and again at the next
 * open if it was not; NO_RESET skips the reset at release (the next open
 * still does it). A function without a reset method is left as the release
 * program leaves it: the release program is its only safety net.
 * FUNCTION_RESET is accepted for plugins written before resets became the
 * default and changes nothing.
 */
#define DH_RELEASE_FUNCTION_RESET (1u << 0)
#define DH_RELEASE_NO_RESET       (1u << 1)

/* ---- Interrupts ----------------------------------------------------------- */

enum dh_irq_mode {
	DH_IRQ_NONE = 0,          /* no interrupts (polling or timer-driven plugin) */
	DH_IRQ_INTX_SHARED = 1,   /* shared INTx line; needs an ACK program */
	DH_IRQ_INTX_DISABLE = 2,  /* PCI 2.3 INTx-disable bit; plugin calls unmask() */
	DH_IRQ_MSI = 3,
	DH_IRQ_MSIX = 4           /* msix_vectors vectors; dh_event.vector tells which */
};

/* dh_event.flags */
#define DH_EVENT_DROPPED (1u << 0) /* `dropped` events were lost just before this one */
#define DH_EVENT_STORM   (1u << 1) /* the line was masked as an interrupt storm */

/*
 * One interrupt the ACK program claimed (or one MSI/MSI-X message). seq counts
 * from 1 without gaps except those reported by `dropped`. snap[] holds the
 * values the ACK program snapshotted, in program order. Same layout as the
 * kernel's struct drvproxy_event; this struct never changes.
 */
struct dh_event {
	uint64_t seq;
	uint64_t timestamp_ns;   /* CLOCK_MONOTONIC, taken in the interrupt */
	uint32_t vector;
	uint32_t flags;          /* DH_EVENT_* */
	uint32_t dropped;
	uint32_t nsnap;
	uint64_t snap[DH_MAX_SNAPSHOTS];
};

/* ---- PCI matching ----------------------------------------------------------- */

/* A device matches an entry when (id & mask) == (value & mask) for every field. */
struct dh_pci_match {
	uint16_t vendor, vendor_mask;
	uint16_t device, device_mask;
	uint16_t subvendor, subvendor_mask;
	uint16_t subdevice, subdevice_mask;
	uint32_t class_code, class_mask;  /* base << 16 | sub << 8 | prog-if */
};

/* Match vendor:device exactly, anything else. */
#define DH_MATCH_ID(v, d) { (v), 0xffff, (d), 0xffff, 0, 0, 0, 0, 0, 0 }

/* ---- Instance information ----------------------------------------------------- */

#define DH_NUM_BARS 6

struct dh_instance_info {
	uint32_t struct_size;    /* in: sizeof(struct dh_instance_info) of the caller */
	uint16_t pci_domain;
	uint8_t  pci_bus;
	uint8_t  pci_slot;       /* device number, 0..31 */
	uint8_t  pci_function;   /* 0..7 */
	uint8_t  reserved0[3];
	uint32_t restart_count;  /* 0 on the first attach, then +1 per restart */
	uint16_t vendor, device, subvendor, subdevice;
	uint32_t class_code;
	uint32_t irq_mode;       /* enum dh_irq_mode in force (see dh_plugin.irq_mode) */
	uint32_t dma_mask_bits;  /* current DMA mask */
	uint32_t irq_vectors;    /* 1.2: vectors in force (MSI-X: at most
				  * msix_vectors); 0 from an older host */
	uint64_t bar_size[DH_NUM_BARS]; /* 0: BAR absent */

	/* ---- ABI 1.2: filled when the caller's struct_size reaches them ---- */
	uint8_t  bar_kind[DH_NUM_BARS]; /* DH_BAR_*: a memory BAR can be mapped
					 * (bar_pointer), an I/O BAR only read
					 * and written through the host */
	uint8_t  reserved2[2];
	uint32_t irq_line;       /* the system's IRQ number for the device's INTx
				  * line (lspci's "IRQ", sysfs "irq"); 0 when
				  * it has none or the device is simulated */
	uint32_t msix_vectors;   /* entries in its MSI-X table; 0: no MSI-X */
	uint32_t reserved3;
};

/* dh_instance_info.bar_kind[] */
#define DH_BAR_ABSENT 0
#define DH_BAR_MEMORY 1
#define DH_BAR_IO     2

/* The size of the ABI 1.0/1.1 struct dh_instance_info. */
#define DH_INSTANCE_INFO_SIZE_1_0 offsetof(struct dh_instance_info, bar_kind)

/* ---- DMA ------------------------------------------------------------------- */

struct dh_dma_buffer {
	dh_dma  *handle;     /* pass to dma_free */
	void    *cpu;        /* CPU address, mapped for the life of the buffer */
	uint64_t bus_addr;   /* what the device puts on the bus */
	uint64_t size;       /* bytes, at least what was asked for */
};

/* ---- Logging ---------------------------------------------------------------- */

enum dh_log_level {
	DH_LOG_ERROR = 0,
	DH_LOG_WARNING = 1,
	DH_LOG_INFO = 2,
	DH_LOG_DEBUG = 3
};

/* Largest blob state_save keeps. */
#define DH_STATE_MAX 4096

/* ---- The host table ------------------------------------------------------------ */

/*
 * Functions the host offers. The table is owned by the host and stays valid
 * from attach until detach returns. Fields after the v1.0 set are appended
 * only; test DH_HOST_HAS(host, field) before using one.
 */
struct dh_host {
	uint32_t abi_major;
	uint32_t abi_minor;
	uint32_t struct_size;
	uint32_t reserved;

	/* Write one line to the instance's log (no trailing newline needed).
	 * Any thread. msg is copied; NULL is ignored. Control characters
	 * (C0, DEL, C1; a newline too) are printed as text, "\x1b": a log line
	 * cannot drive a terminal or forge another line. */
	void (*log)(dh_instance *inst, int32_t level, const char *msg);

	/* Register access through the host (traced: while `hostctl trace`
	 * follows the instance, each access is recorded with its BAR, offset,
	 * width, value and time; works with simulated devices). Any thread.
	 * offset must lie inside the BAR and be aligned to the width; a bad BAR
	 * or offset is a plugin bug: reads then answer all ones, writes are
	 * dropped, and the host logs it. */
	uint8_t  (*read8)(dh_instance *inst, uint32_t bar, uint64_t offset);
	uint16_t (*read16)(dh_instance *inst, uint32_t bar, uint64_t offset);
	uint32_t (*read32)(dh_instance *inst, uint32_t bar, uint64_t offset);
	uint64_t (*read64)(dh_instance *inst, uint32_t bar, uint64_t offset);
	void (*write8)(dh_instance *inst, uint32_t bar, uint64_t offset, uint8_t value);
	void (*write16)(dh_instance *inst, uint32_t bar, uint64_t offset, uint16_t value);
	void (*write32)(dh_instance *inst, uint32_t bar, uint64_t offset, uint32_t value);
	void (*write64)(dh_instance *inst, uint32_t bar, uint64_t offset, uint64_t value);

	/* Direct mapping of a memory BAR for hot paths. On success *base points
	 * at the BAR (uncached MMIO, valid until detach returns; use volatile
	 * accesses of the width the device wants) and *size is its length.
	 * DH_ERR_NOT_SUPPORTED: no mapping (I/O BAR, simulated device): use the
	 * read/write functions. DH_ERR_INVALID: no such BAR, or base or size
	 * NULL. Accesses through the pointer are not traced: the host never
	 * sees them (`hostctl trace` shows only the read/write functions'). */
	int32_t (*bar_pointer)(dh_instance *inst, uint32_t bar,
			       volatile void **base, uint64_t *size);

	/* Narrow the device's DMA addressing to `bits` (12..64) before
	 * allocating. DH_ERR_INVALID out of range, DH_ERR_IO if refused. */
	int32_t (*dma_set_mask)(dh_instance *inst, uint32_t bits);

	/* Allocate a coherent DMA buffer of at least `size` bytes (at most
	 * 4 MiB, at most 64 buffers). On DH_OK *out is filled; the plugin owns
	 * the buffer until dma_free. The host frees leftovers after detach; the
	 * kernel frees them after the device is quiet, even after a crash.
	 * Errors: DH_ERR_INVALID (size 0 or too big), DH_ERR_NO_MEMORY, DH_ERR_IO. */
	int32_t (*dma_alloc)(dh_instance *inst, uint64_t size, struct dh_dma_buffer *out);
	/* Free a buffer. The device must no longer use it. DH_ERR_NOT_FOUND for
	 * an unknown handle (NULL, freed, or never given out). */
	int32_t (*dma_free)(dh_instance *inst, dh_dma *handle);

	/* Re-enable the interrupt line (DH_IRQ_INTX_DISABLE, or after a storm
	 * mask). DH_ERR_IO if the kernel refuses. */
	int32_t (*unmask)(dh_instance *inst);

	/* Start timer `timer_id` (0..DH_MAX_TIMERS-1, chosen by the plugin):
	 * first expiry after first_ns, then every period_ns (0: one shot).
	 * Restarting a running timer re-arms it. Expiries call dh_plugin.timer
	 * on the loop thread; missed periods are coalesced into one call.
	 * DH_ERR_INVALID: bad id or first_ns 0; DH_ERR_NOT_SUPPORTED: the
	 * plugin has no timer callback. */
	int32_t (*timer_start)(dh_instance *inst, uint32_t timer_id,
			       uint64_t first_ns, uint64_t period_ns);
	/* Stop a timer; no callback for it runs afterwards. Stopping a stopped
	 * timer is DH_OK. */
	int32_t (*timer_stop)(dh_instance *inst, uint32_t timer_id);

	/* Keep a blob of at most DH_STATE_MAX bytes that the next attach of this
	 * instance (after a crash or a restart) can load. Copied; replaces the
	 * previous blob. DH_ERR_INVALID if too big; DH_ERR_NOT_SUPPORTED if the
	 * host was given no place to keep it (checked after the size);
	 * DH_ERR_IO if writing failed. */
	int32_t (*state_save)(dh_instance *inst, const void *data, uint32_t size);
	/* Copy the saved blob into buf (capacity cap) and set *size.
	 * DH_ERR_NOT_FOUND: nothing saved; DH_ERR_INVALID: cap too small
	 * (*size then tells the size needed). */
	int32_t (*state_load)(dh_instance *inst, void *buf, uint32_t cap, uint32_t *size);

	/* Fill info; set info->struct_size first (at least 4). The host fills
	 * at most that many bytes and sets struct_size to what it filled: a
	 * plugin built against 1.0 or 1.1 (88 bytes) gets the fields it knows. */
	int32_t (*instance_info)(dh_instance *inst, struct dh_instance_info *info);

	/* Wait at most timeout_ns for device events and deliver them to
	 * dh_plugin.interrupt (nested, on this thread) before returning. For
	 * attach and commands that need to see interrupts to finish.
	 * Returns DH_OK once at least one event was delivered, DH_ERR_TIMEOUT
	 * if none came, DH_ERR_STATE when called from interrupt or timer.
	 * timeout_ns is rounded up to whole milliseconds and saturated at
	 * INT32_MAX ms (about 24.8 days): UINT64_MAX means "a very long time",
	 * not an error, and returns as soon as an event is there. 0 only looks
	 * at what is pending. */
	int32_t (*wait_events)(dh_instance *inst, uint64_t timeout_ns);

	/* The host's half of an extension by id and revision, e.g.
	 * "drvhost.block/1" (a struct dh_block_host, drvhost/block.h), or NULL
	 * if this host does not offer it, or not to this instance (a device
	 * class is offered once the plugin's own half was accepted, that is
	 * from the first callback after attach). The result stays valid until
	 * detach returns. NULL or unknown id: NULL. */
	const void *(*get_extension)(dh_instance *inst, const char *id);

	/* ABI 1.2: let the device master the bus now, inside attach, instead
	 * of when attach returns. For devices whose setup is itself DMA (an
	 * NVMe controller answers Identify and creates its queues through
	 * its admin queue) and that a device class must describe as soon as
	 * attach returns (dh_plugin.get_extension is asked right then).
	 * Call it only once the device is reset and every address it may
	 * use points into the plugin's own DMA buffers: that is what keeping
	 * bus mastering off during attach protects. From then on MSI and
	 * MSI-X messages arrive too (wait_events delivers them). If attach
	 * then fails, the host turns bus mastering off again before freeing
	 * the plugin's buffers. DH_OK; DH_ERR_STATE outside attach;
	 * DH_ERR_IO if the kernel refuses. Test DH_HOST_HAS first. */
	int32_t (*enable_bus_master)(dh_instance *inst);
};

#define DH_MAX_TIMERS 16

#define DH_HOST_HAS(host, field) \
	((host)->struct_size >= offsetof(struct dh_host, field) + sizeof((host)->field) && \
	 (host)->field != NULL)

/* ---- Commands ---------------------------------------------------------------- */

/*
 * A named command that tools (hostctl call, driverhost --call) can invoke.
 * `signature` is "RET(ARG,ARG,...)" over the types void, u8, u16, u32, u64,
 * i8, i16, i32, i64 and f64, at most DH_COMMAND_MAX_ARGS arguments; "u64(u32)"
 * names `uint64_t fn(void *context, uint32_t)`. The plugin's context (from
 * attach) is always the hidden first argument. `fn` is stored as a generic
 * function pointer; the host calls it through the declared signature (libffi:
 * f64 and every integer width are passed as the platform's C ABI passes
 * them). Runs on the loop thread under the callback watchdog.
 *
 * ABI 1.2 adds, in the same grammar (a 1.0 signature means what it meant):
 *
 *   x8 x16 x32 x64   as u8..u64; results are shown in hexadecimal ("0x2a").
 *   str[N]           text of at most N bytes (1 <= N <= DH_COMMAND_MAX_BYTES).
 *                    As an argument: `const char *`, NUL-terminated UTF-8,
 *                    strlen <= N.
 *   bytes[N]         at most N bytes. As an argument: `const struct dh_bytes *`
 *                    (data, size <= N). On the command line: hex digits, pairs
 *                    optionally separated by ':' ("52:54:00:12:34:56").
 *   {name:T,...}     a record, as a result only: up to DH_COMMAND_MAX_FIELDS
 *                    fields of the scalar types, xN, str[N] (char[N], NUL-
 *                    padded; all N bytes may be text) or bytes[N] (uint8_t[N]),
 *                    laid out as the C struct with those members in that
 *                    order (natural alignment), at most DH_COMMAND_MAX_BYTES.
 *
 * A command whose result is str[N], bytes[N] or a record returns int32_t
 * (DH_OK, or a DH_ERR_* that the caller sees as the command's failure) and
 * takes one more, last, argument, where it writes its result:
 *   str[N], bytes[N]: `struct dh_bytes *out`, out->data has room for N bytes
 *                     (zeroed), out->size is 0: set it to the bytes written.
 *   a record:         a pointer to the zeroed struct.
 * Examples:
 *   "str[32](x16)"              int32_t fn(void *ctx, uint16_t, struct dh_bytes *out)
 *   "{mac:bytes[6],mtu:u32}()"  int32_t fn(void *ctx, struct my_link *out)
 *   "u32(bytes[64],str[16])"    uint32_t fn(void *ctx, const struct dh_bytes *, const char *)
 * The host checks what comes back: a size above N, text that is not UTF-8,
 * or a status that is not a DH_* code fails the call with a clear message.
 * hostctl call prints a result as its type says (decimal, hex, text, hex
 * bytes, name=value for record fields) and --json prints it as JSON
 * (numbers as numbers; xN, bytes and str as strings; a record as an object).
 */
typedef void (*dh_command_fn)(void);

#define DH_COMMAND_MAX_ARGS 6
/* ABI 1.2: largest str[N]/bytes[N] (and record); most fields in a record. */
#define DH_COMMAND_MAX_BYTES 4096
#define DH_COMMAND_MAX_FIELDS 16

/* ABI 1.2: a byte buffer argument or result (see above). */
struct dh_bytes {
	void    *data;
	uint32_t size;     /* bytes in data */
	uint32_t capacity; /* N of the signature */
};

struct dh_command {
	const char *name;       /* [a-z0-9_]+, unique in the plugin */
	const char *signature;
	dh_command_fn fn;
	const char *help;       /* one line, may be NULL */
};

/* ---- The plugin descriptor ------------------------------------------------------- */

struct dh_plugin {
	uint32_t abi_major;      /* DH_ABI_MAJOR */
	uint32_t abi_minor;      /* DH_ABI_MINOR */
	uint32_t struct_size;    /* sizeof(struct dh_plugin) */
	uint32_t reserved;       /* 0 */

	const char *name;        /* [A-Za-z0-9_.-]+ */
	const char *version;     /* free text, e.g. "1.2.0"; shown to people with
				  * control characters escaped, exact in JSON */

	const struct dh_pci_match *matches;
	uint32_t match_count;    /* at least 1 */

	/*
	 * The interrupt mode wanted. An INTx mode or none is set as it is. MSI
	 * and MSI-X are preferences (1.2): the host falls back, in this order,
	 * to MSI-X with fewer vectors (as many as the device has), MSI, INTx
	 * with the INTx-disable bit, and a shared INTx line if the plugin gives
	 * an ACK program. The ACK program is installed in every mode unless
	 * ack_modes names fewer. driverhost --irq-mode forces one mode.
	 * The mode and vectors in force are in dh_instance_info.
	 */
	uint32_t irq_mode;       /* enum dh_irq_mode */
	uint32_t msix_vectors;   /* DH_IRQ_MSIX: vectors wanted; else 0 */

	uint32_t ack_len;        /* DH_IRQ_INTX_SHARED needs an ACK program */
	const struct dh_insn *ack_program;
	uint32_t release_len;    /* 0: no release program (not recommended) */
	uint32_t release_flags;  /* DH_RELEASE_* */
	const struct dh_insn *release_program;

	/* Watchdog bounds (see the top of this file): 0 is the host's default,
	 * anything above the host's cap is cut to the cap. */
	uint32_t attach_timeout_ms;   /* watchdog bound for attach; 0: host default */
	uint32_t callback_timeout_ms; /* bound for all other callbacks; 0: default */

	/*
	 * Set up the device. `host` and `inst` stay valid until detach returns.
	 * Store your state and return it in *context; every later callback gets
	 * it back. Return DH_OK, or an error to refuse the device: the host then
	 * exits without calling detach (so undo your own work first).
	 * Bus mastering is off during attach (the proxy reset the device at
	 * open, so that one a crashed driver left running cannot write memory):
	 * no DMA and no MSI until attach has returned DH_OK; the host turns bus
	 * mastering on then. Allocate DMA buffers and program the device here,
	 * but start transfers, or wait for an MSI, only after attach, or after
	 * dh_host.enable_bus_master (1.2) once the device is reset and set up.
	 * INTx interrupts do arrive during attach.
	 */
	int32_t (*attach)(const struct dh_host *host, dh_instance *inst, void **context);
	/* Quiet the device and free what attach made. Called once, on orderly
	 * shutdown only (after a crash the RELEASE program stands in for it). */
	void (*detach)(void *context);
	/* One device event, in order. Required unless irq_mode is DH_IRQ_NONE. */
	void (*interrupt)(void *context, const struct dh_event *event);
	/* Timer `timer_id` expired. Optional (NULL: no timers). */
	void (*timer)(void *context, uint32_t timer_id);

	const struct dh_command *commands;
	uint32_t command_count;
	uint32_t reserved1;      /* 0 */

	/* ---- ABI 1.2 (absent in a descriptor of DH_PLUGIN_SIZE_1_0 bytes) ---- */

	/*
	 * The plugin's half of an extension, by id and revision, or NULL if it
	 * offers none by that id. Optional (NULL: no extensions). The host asks
	 * for each device class it serves once per attach, on the loop thread,
	 * after attach returned DH_OK and bus mastering was turned on, under
	 * the attach watchdog bound; `context` is what attach returned. So a
	 * plugin whose answer needs DMA (NVMe learns its capacity by Identify)
	 * finishes that set-up here, waiting with wait_events, or earlier, in
	 * attach, after dh_host.enable_bus_master: only attach can refuse the
	 * device with a reason (here NULL means "no such class"). What it returns
	 * (and everything it points to) must stay valid and unchanged until
	 * detach returns. A plugin offers at most one device class; the host
	 * checks what it is given as it checks the descriptor, and ends the
	 * instance with a clear reason (exit 32) if it is malformed.
	 */
	const void *(*get_extension)(void *context, const char *id);

	/*
	 * The interrupt modes the ACK program is installed in, as a mask of
	 * (1u << enum dh_irq_mode); 0 means every mode (as in 1.0 and 1.1):
	 * the program then also runs for MSI and MSI-X messages, to snapshot a
	 * read-to-clear cause register. A plugin whose ACK program only makes
	 * sense on a line (an NVMe controller's INTMS is undefined under
	 * MSI-X) names the INTx modes it serves, e.g. 1u << DH_IRQ_INTX_SHARED.
	 */
	uint32_t ack_modes;
	uint32_t reserved2;      /* 0 */
};

/* The size of an ABI 1.0 or 1.1 descriptor: everything before get_extension. */
#define DH_PLUGIN_SIZE_1_0 offsetof(struct dh_plugin, get_extension)

/* ---- Layout pins ----------------------------------------------------------- */

#if defined(__cplusplus)
#define DH_PIN_SIZE(type, size) static_assert(sizeof(type) == (size), #type " layout")
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define DH_PIN_SIZE(type, size) _Static_assert(sizeof(type) == (size), #type " layout")
#else
#define DH_PIN_SIZE_(type, size, line) typedef char dh_pin_##line[sizeof(type) == (size) ? 1 : -1]
#define DH_PIN_SIZE__(type, size, line) DH_PIN_SIZE_(type, size, line)
#define DH_PIN_SIZE(type, size) DH_PIN_SIZE__(type, size, __LINE__)
#endif
DH_PIN_SIZE(struct dh_insn, 32);
DH_PIN_SIZE(struct dh_event, 64);
DH_PIN_SIZE(struct dh_pci_match, 24);
DH_PIN_SIZE(struct dh_instance_info, 112);
DH_PIN_SIZE(struct dh_plugin, 152);
DH_PIN_SIZE(struct dh_bytes, 16);

/* The plugin's one export. Define it as
 *     const struct dh_plugin dh_plugin_entry = { ... };
 * in one C or C++ file that includes this header: this declaration gives it C
 * linkage and default visibility even under -fvisibility=hidden. */
DH_EXPORT extern const struct dh_plugin dh_plugin_entry;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DRVHOST_PLUGIN_H */
