/*
 * Live instance handles (see CDrvHost.h). A fixed table of atomic slots:
 * checking one costs a few relaxed loads (the one instance of a driverhost
 * sits in the first slot), needs no lock, and never touches the memory the
 * pointer names, so a made-up pointer cannot fault here.
 */
#include "CDrvHost.h"

#include <stdatomic.h>
#include <stdint.h>

static _Atomic uintptr_t live[CDH_MAX_LIVE_HANDLES];

int cdh_handle_register(const void *handle)
{
	for (int i = 0; i < CDH_MAX_LIVE_HANDLES; i++) {
		uintptr_t empty = 0;

		if (atomic_compare_exchange_strong(&live[i], &empty, (uintptr_t)handle))
			return 0;
	}
	return -1;
}

void cdh_handle_unregister(const void *handle)
{
	for (int i = 0; i < CDH_MAX_LIVE_HANDLES; i++) {
		uintptr_t mine = (uintptr_t)handle;

		if (atomic_compare_exchange_strong(&live[i], &mine, 0))
			return;
	}
}

int cdh_handle_is_live(const void *handle)
{
	uintptr_t wanted = (uintptr_t)handle;

	if (wanted == 0)
		return 0;
	for (int i = 0; i < CDH_MAX_LIVE_HANDLES; i++)
		if (atomic_load_explicit(&live[i], memory_order_acquire) == wanted)
			return 1;
	return 0;
}
