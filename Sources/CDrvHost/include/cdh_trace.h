/*
 * The trace ring (trace_ring.c): a fixed ring of trace records that any
 * thread may add to (plugin.h allows register access from any thread) and
 * the loop thread drains. Adding never blocks and never allocates: when the
 * ring is full the record is dropped and counted.
 */
#ifndef CDH_TRACE_H
#define CDH_TRACE_H

#include <stdint.h>

enum cdh_trace_kind {
	CDH_TRACE_READ = 1,	/* a = bar, b = offset, c = value, width */
	CDH_TRACE_WRITE = 2,	/* the same */
	CDH_TRACE_EVENT = 3,	/* a = seq, b = vector, width = nsnap, flags; snap[] */
	CDH_TRACE_CALLBACK = 4	/* a = which (enum cdh_trace_callback), b = duration ns */
};

enum cdh_trace_callback {
	CDH_CALLBACK_ATTACH = 0,
	CDH_CALLBACK_DETACH = 1,
	CDH_CALLBACK_INTERRUPT = 2,
	CDH_CALLBACK_TIMER = 3,
	CDH_CALLBACK_COMMAND = 4,
	CDH_CALLBACK_KINDS = 5
};

struct cdh_trace_record {
	uint64_t time_ns;	/* CLOCK_MONOTONIC: the access, the event's interrupt, a callback's start */
	uint64_t a, b, c;
	uint64_t snap[4];	/* DH_MAX_SNAPSHOTS */
	uint32_t kind;
	uint32_t width;
	uint32_t flags;
	uint32_t reserved;
};

struct cdh_trace_ring;

/* capacity: a power of two. NULL if out of memory. */
struct cdh_trace_ring *cdh_trace_ring_create(uint32_t capacity);
void cdh_trace_ring_destroy(struct cdh_trace_ring *ring);
/* Any thread. 0 if added, -1 if the ring was full (then counted). */
int cdh_trace_ring_push(struct cdh_trace_ring *ring, const struct cdh_trace_record *record);
/* One consumer. 1 if a record was taken into *out, 0 if none is ready. */
int cdh_trace_ring_pop(struct cdh_trace_ring *ring, struct cdh_trace_record *out);
/* Records dropped because the ring was full, since it was created. */
uint64_t cdh_trace_ring_dropped(const struct cdh_trace_ring *ring);

#endif /* CDH_TRACE_H */
