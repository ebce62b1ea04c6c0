/*
 * The plugin ABI mirrors kernel structures so that plugins need no kernel
 * headers, and driverhost passes them through without copying. These
 * assertions keep the mirrors exact.
 */
#include "CDrvHost.h"

#define SAME_FIELD(a, b, f) \
	_Static_assert(offsetof(struct a, f) == offsetof(struct b, f) && \
		       sizeof(((struct a *)0)->f) == sizeof(((struct b *)0)->f), #a "." #f)

/* The two sides name their enums differently; the values are what must match. */
#define SAME_VALUE(a, b, what) _Static_assert((long long)(a) == (long long)(b), what)

_Static_assert(sizeof(struct dh_insn) == sizeof(struct drvproxy_insn), "insn size");
SAME_FIELD(dh_insn, drvproxy_insn, op);
SAME_FIELD(dh_insn, drvproxy_insn, width);
SAME_FIELD(dh_insn, drvproxy_insn, bar);
SAME_FIELD(dh_insn, drvproxy_insn, reserved0);
SAME_FIELD(dh_insn, drvproxy_insn, offset);
SAME_FIELD(dh_insn, drvproxy_insn, imm);
SAME_FIELD(dh_insn, drvproxy_insn, expect);
SAME_FIELD(dh_insn, drvproxy_insn, timeout_us);
SAME_FIELD(dh_insn, drvproxy_insn, reserved1);

SAME_VALUE(DH_OP_READ, DRVPROXY_OP_READ, "op");
SAME_VALUE(DH_OP_WRITE, DRVPROXY_OP_WRITE, "op");
SAME_VALUE(DH_OP_WRITE_IMM, DRVPROXY_OP_WRITE_IMM, "op");
SAME_VALUE(DH_OP_LOAD_IMM, DRVPROXY_OP_LOAD_IMM, "op");
SAME_VALUE(DH_OP_AND, DRVPROXY_OP_AND, "op");
SAME_VALUE(DH_OP_OR, DRVPROXY_OP_OR, "op");
SAME_VALUE(DH_OP_XOR, DRVPROXY_OP_XOR, "op");
SAME_VALUE(DH_OP_SHL, DRVPROXY_OP_SHL, "op");
SAME_VALUE(DH_OP_SHR, DRVPROXY_OP_SHR, "op");
SAME_VALUE(DH_OP_NOT_MINE_IF_ZERO, DRVPROXY_OP_NOT_MINE_IF_ZERO, "op");
SAME_VALUE(DH_OP_SNAPSHOT, DRVPROXY_OP_SNAPSHOT, "op");
SAME_VALUE(DH_OP_DELAY, DRVPROXY_OP_DELAY, "op");
SAME_VALUE(DH_OP_POLL, DRVPROXY_OP_POLL, "op");
SAME_VALUE(DH_OP_POLL + 1, DRVPROXY_OP_MAX_, "an op was added to one side only");
SAME_VALUE(DH_PROG_MAX_INSNS, DRVPROXY_PROG_MAX_INSNS, "program length");
SAME_VALUE(DH_RELEASE_FUNCTION_RESET, DRVPROXY_RELEASE_FUNCTION_RESET, "flag");
SAME_VALUE(DH_RELEASE_NO_RESET, DRVPROXY_RELEASE_NO_RESET, "flag");

_Static_assert(sizeof(struct dh_event) == sizeof(struct drvproxy_event), "event size");
SAME_FIELD(dh_event, drvproxy_event, seq);
SAME_FIELD(dh_event, drvproxy_event, timestamp_ns);
SAME_FIELD(dh_event, drvproxy_event, vector);
SAME_FIELD(dh_event, drvproxy_event, flags);
SAME_FIELD(dh_event, drvproxy_event, dropped);
SAME_FIELD(dh_event, drvproxy_event, nsnap);
SAME_FIELD(dh_event, drvproxy_event, snap);
SAME_VALUE(DH_EVENT_DROPPED, DRVPROXY_EVENT_DROPPED, "flag");
SAME_VALUE(DH_EVENT_STORM, DRVPROXY_EVENT_STORM, "flag");
SAME_VALUE(DH_MAX_SNAPSHOTS, DRVPROXY_MAX_SNAPSHOTS, "snapshots");

SAME_VALUE(DH_IRQ_NONE, DRVPROXY_IRQ_NONE, "irq mode");
SAME_VALUE(DH_IRQ_INTX_SHARED, DRVPROXY_IRQ_INTX_SHARED, "irq mode");
SAME_VALUE(DH_IRQ_INTX_DISABLE, DRVPROXY_IRQ_INTX_DISABLE, "irq mode");
SAME_VALUE(DH_IRQ_MSI, DRVPROXY_IRQ_MSI, "irq mode");
SAME_VALUE(DH_IRQ_MSIX, DRVPROXY_IRQ_MSIX, "irq mode");
SAME_VALUE(DH_NUM_BARS, DRVPROXY_NUM_BARS, "BAR count");
