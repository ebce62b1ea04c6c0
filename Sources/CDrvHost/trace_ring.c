/*
 * A bounded multi-producer, single-consumer ring for trace records, after
 * Dmitry Vyukov's bounded queue: each slot carries a sequence number that
 * says whose turn it is, so producers claim slots with one compare-and-swap
 * and never wait for each other or for the consumer. A full ring drops the
 * new record and counts it: tracing must never stall the interrupt loop.
 */
#include "CDrvHost.h"

#include <stdatomic.h>
#include <stdlib.h>

struct slot {
	_Atomic uint64_t seq;
	struct cdh_trace_record record;
};

struct cdh_trace_ring {
	struct slot *slots;
	uint64_t mask;
	_Atomic uint64_t head;		/* next slot a producer claims */
	uint64_t tail;			/* next slot the consumer reads */
	_Atomic uint64_t dropped;
};

struct cdh_trace_ring *cdh_trace_ring_create(uint32_t capacity)
{
	struct cdh_trace_ring *ring;
	uint64_t i;

	if (capacity < 2 || (capacity & (capacity - 1)))
		return NULL;
	ring = calloc(1, sizeof(*ring));
	if (!ring)
		return NULL;
	ring->slots = calloc(capacity, sizeof(*ring->slots));
	if (!ring->slots) {
		free(ring);
		return NULL;
	}
	ring->mask = capacity - 1;
	for (i = 0; i < capacity; i++)
		atomic_init(&ring->slots[i].seq, i);
	return ring;
}

void cdh_trace_ring_destroy(struct cdh_trace_ring *ring)
{
	if (!ring)
		return;
	free(ring->slots);
	free(ring);
}

int cdh_trace_ring_push(struct cdh_trace_ring *ring, const struct cdh_trace_record *record)
{
	uint64_t pos = atomic_load_explicit(&ring->head, memory_order_relaxed);
	struct slot *slot;

	for (;;) {
		int64_t lag;

		slot = &ring->slots[pos & ring->mask];
		lag = (int64_t)(atomic_load_explicit(&slot->seq, memory_order_acquire) - pos);
		if (lag == 0) {
			if (atomic_compare_exchange_weak_explicit(&ring->head, &pos, pos + 1,
								  memory_order_relaxed, memory_order_relaxed))
				break;
		} else if (lag < 0) {
			/* The consumer has not freed this slot yet: full. */
			atomic_fetch_add_explicit(&ring->dropped, 1, memory_order_relaxed);
			return -1;
		} else {
			pos = atomic_load_explicit(&ring->head, memory_order_relaxed);
		}
	}
	slot->record = *record;
	atomic_store_explicit(&slot->seq, pos + 1, memory_order_release);
	return 0;
}

int cdh_trace_ring_pop(struct cdh_trace_ring *ring, struct cdh_trace_record *out)
{
	struct slot *slot = &ring->slots[ring->tail & ring->mask];

	if (atomic_load_explicit(&slot->seq, memory_order_acquire) != ring->tail + 1)
		return 0;
	*out = slot->record;
	atomic_store_explicit(&slot->seq, ring->tail + ring->mask + 1, memory_order_release);
	ring->tail++;
	return 1;
}

uint64_t cdh_trace_ring_dropped(const struct cdh_trace_ring *ring)
{
	return atomic_load_explicit(&((struct cdh_trace_ring *)ring)->dropped, memory_order_relaxed);
}
