/*
 * LD_PRELOAD library for interrupt-cost-test.sh: counts the calls a process
 * makes to the Swift runtime's reference counting and to the allocator,
 * and writes the counts to $COUNT_CALLS_OUT when the process exits. Every
 * call is passed on to the real function.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long retains, releases, allocations, mallocs;

#define FORWARD(ret, name, params, args, counter)			\
	ret name params							\
	{								\
		static ret (*real) params;				\
		if (!real)						\
			real = (ret (*) params)dlsym(RTLD_NEXT, #name);	\
		__atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);	\
		return real args;					\
	}

FORWARD(void *, swift_retain, (void *object), (object), retains)
FORWARD(void *, swift_retain_n, (void *object, unsigned n), (object, n), retains)
FORWARD(void, swift_release, (void *object), (object), releases)
FORWARD(void, swift_release_n, (void *object, unsigned n), (object, n), releases)
FORWARD(void *, swift_allocObject, (void *metadata, size_t size, size_t align), (metadata, size, align), allocations)

/* malloc is counted through the symbol glibc offers for interposition. */
extern void *__libc_malloc(size_t size);
void *malloc(size_t size)
{
	__atomic_fetch_add(&mallocs, 1, __ATOMIC_RELAXED);
	return __libc_malloc(size);
}

__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("COUNT_CALLS_OUT");
	FILE *out;

	if (!path || !(out = fopen(path, "w")))
		return;
	fprintf(out, "retain %lu\nrelease %lu\nallocObject %lu\nmalloc %lu\n",
		retains, releases, allocations, mallocs);
	fclose(out);
}
