/*
 * devsim's wire protocol: how driverhost (the owner) and tools (observers)
 * talk to a simulated device in the devsim process. It mirrors the drvproxy
 * character device one for one, so that a simulated device keeps the kernel
 * contract (Kernel/include/uapi/drvproxy.h):
 *
 *   drvproxy                         devsim
 *   open /dev/drvproxy/<BDF>         connect <dir>/<name>.sock, HELLO(OWN)
 *   second open: EBUSY               second HELLO(OWN): status -EBUSY
 *   ioctl INFO / SET_PROG / ...      one request message, one answer message
 *   mmap a DMA buffer                DMA_ALLOC's answer carries a memfd
 *   mmap a BAR                       not offered: registers have side effects
 *                                    in the model, so they go through READ/WRITE
 *   poll + read() of events          an eventfd (sent with HELLO's answer) is
 *                                    readable once events are queued;
 *                                    READ_EVENTS copies whole records out
 *   last close (crash included)      the connection closes: devsim runs the
 *                                    release sequence, in the kernel's order
 *   AER error reported by the PCI    INJECT_ERROR (from an observer: the test
 *   core: an ERROR event              bench's hand) queues the ERROR record
 *
 * Transport: a SOCK_SEQPACKET Unix socket, so every message arrives whole.
 * Each message is a struct devsim_msg, optionally followed by a payload
 * (program instructions, INFO, event records, counters). Descriptors travel
 * as SCM_RIGHTS. All cds_ functions return 0/length or -1 with errno.
 */
#ifndef CDEVSIM_H
#define CDEVSIM_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "../../../Kernel/include/uapi/drvproxy.h"

/* Constants as an enum: Swift imports these, not macros with expressions. */
enum {
	/* 2: drvproxy ABI 2 (BUS_MASTER; bus mastering off until asked) */
	DEVSIM_WIRE_VERSION = 2,
	DEVSIM_MAX_EVENTS_PER_READ = 64,
	/* Largest message: the header plus 64 event records. */
	DEVSIM_MAX_MESSAGE = 40 + DEVSIM_MAX_EVENTS_PER_READ * 64,
};

/*
 * Requests. Arguments and results use the generic slots of devsim_msg:
 *
 * op           request a[]/b[], payload            answer a[]/b[], payload, fd
 * HELLO        a0 wire version, a1 role            payload drvproxy_info; OWN: eventfd
 * SET_PROG     a0 kind, a1 flags, payload insns    a0 drvproxy_prog_error, a1 index
 * SET_IRQ      a0 mode, a1 nvec                    -
 * UNMASK       -                                   -
 * DMA_MASK     a0 bits                             -
 * DMA_ALLOC    b0 size                             a0 id, b0 bus address, b1 size; memfd
 * DMA_FREE     a0 id                               -
 * RESET        -                                   -
 * READ         a0 bar, a1 width, b0 offset         b0 value
 * WRITE        a0 bar, a1 width, b0 offset, b1 v   -
 * READ_EVENTS  a0 most records wanted              a0 count, payload records
 * COUNTERS     -                                   payload devsim_counters
 * BUS_MASTER   a0 1 on, 0 off                      -
 * INJECT_ERROR a0 pci_channel_state_t (1-3)        -; -ENXIO when nobody owns it
 *
 * An observer (HELLO role OBSERVE) may only ask COUNTERS, like reading
 * sysfs, and INJECT_ERROR, like the kernel's AER error injection: it never
 * owns the device.
 */
enum devsim_op {
	DEVSIM_HELLO = 1,
	DEVSIM_SET_PROG,
	DEVSIM_SET_IRQ,
	DEVSIM_UNMASK,
	DEVSIM_DMA_MASK,
	DEVSIM_DMA_ALLOC,
	DEVSIM_DMA_FREE,
	DEVSIM_RESET,
	DEVSIM_READ,
	DEVSIM_WRITE,
	DEVSIM_READ_EVENTS,
	DEVSIM_COUNTERS,
	DEVSIM_BUS_MASTER,
	DEVSIM_INJECT_ERROR,
};

enum devsim_role {
	DEVSIM_ROLE_OWN = 1,
	DEVSIM_ROLE_OBSERVE = 2,
};

struct devsim_msg {
	uint32_t op;		/* enum devsim_op; the answer repeats it */
	int32_t  status;	/* answer: 0 or -errno, as the ioctl would fail */
	uint32_t a[4];
	uint64_t b[2];
};

/* What drvproxy shows in sysfs, plus the state the release sequence leaves. */
struct devsim_counters {
	uint64_t interrupts;	/* claimed by the ACK program (or MSI) */
	uint64_t not_mine;	/* NOT_MINE answers on a shared line */
	uint64_t dropped;	/* events lost to a full ring */
	uint64_t storms;	/* times the source was masked as a storm */
	uint64_t releases;	/* release sequences run */
	uint32_t owner_pid;	/* 0: nobody owns the device */
	uint32_t bus_master;	/* 1 while bus mastering is on */
	uint32_t irq_mode;	/* enum drvproxy_irq_mode in force */
	uint32_t dma_buffers;	/* DMA buffers allocated */
};

_Static_assert(sizeof(struct devsim_msg) == 40, "devsim_msg layout");
_Static_assert(sizeof(struct devsim_counters) == 56, "devsim_counters layout");

/* Send one message (header + payload) with at most one descriptor (-1: none). */
ssize_t cds_send(int sock, const struct devsim_msg *msg, const void *payload,
		 size_t payload_len, int fd);
/*
 * Receive one message into buf (at least DEVSIM_MAX_MESSAGE bytes). *fd gets a
 * passed descriptor (close-on-exec) or -1. Returns the message length, 0 when
 * the peer closed.
 */
ssize_t cds_recv(int sock, void *buf, size_t cap, int *fd);

/* Socket plumbing: a listening / connected SOCK_SEQPACKET socket at path. */
int cds_listen(const char *path);
int cds_connect(const char *path);
int cds_accept(int listener);
/* The peer's pid (SO_PEERCRED), or 0. */
uint32_t cds_peer_pid(int sock);

/* 1 if the peer has closed its end (without reading anything), else 0. */
int cds_peer_hung_up(int sock);

/* An anonymous shared memory file of `size` bytes (the DMA buffer's pages). */
int cds_memfd(const char *name, uint64_t size);

/*
 * The directory that holds the devices' sockets: $DRVHOST_SIM_DIR, else
 * $XDG_RUNTIME_DIR/drvhost-sim, else /run/drvhost/sim for root, else
 * /tmp/drvhost-sim-<uid>. Writes it into buf; -1 if it does not fit.
 */
int cds_default_dir(char *buf, size_t cap);

/* Sleep this long, restarting after signals. */
void cds_sleep_us(uint32_t us);

#endif /* CDEVSIM_H */
