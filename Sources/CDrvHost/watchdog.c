/*
 * The callback watchdog. The loop thread arms it (bound, generation) before
 * calling into the plugin and disarms it after: two relaxed atomic stores,
 * no system call, so it costs nothing measurable per event. The watchdog
 * thread samples the generation a few times per bound; if the same armed
 * generation has been running longer than its bound, it writes one line to
 * stderr and ends the whole process with the watchdog exit code. The kernel
 * then runs the release program when the proxy handle closes.
 */
#define _GNU_SOURCE
#include "CDrvHost.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic uint64_t wd_generation;	/* odd: armed, even: idle */
static _Atomic uint64_t wd_bound_ns;
static _Atomic(const char *) wd_what;
static uint64_t wd_counter;		/* loop thread only */
static int wd_exit_code;

void cdh_watchdog_arm(uint64_t bound_ns, const char *what)
{
	atomic_store_explicit(&wd_bound_ns, bound_ns, memory_order_relaxed);
	atomic_store_explicit(&wd_what, what, memory_order_relaxed);
	wd_counter += (wd_counter & 1) ? 2 : 1;	/* a new odd value */
	atomic_store_explicit(&wd_generation, wd_counter, memory_order_release);
}

void cdh_watchdog_disarm(void)
{
	if (wd_counter & 1)
		wd_counter++;
	atomic_store_explicit(&wd_generation, wd_counter, memory_order_release);
}

static void fire(uint64_t bound_ns, const char *what)
{
	char line[160];
	int n = snprintf(line, sizeof(line),
			 "driverhost: watchdog: plugin %s ran longer than %llu ms; exiting\n",
			 what ? what : "callback", (unsigned long long)(bound_ns / 1000000u));

	if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0)
		n = 0;
	_exit(wd_exit_code);
}

static void *watchdog_thread(void *unused)
{
	uint64_t seen = 0, since = 0;

	(void)unused;
	for (;;) {
		uint64_t bound = atomic_load_explicit(&wd_bound_ns, memory_order_relaxed);
		uint64_t tick = bound / 8;
		struct timespec ts;
		uint64_t gen, now;

		if (tick < 1000000u)
			tick = 1000000u;
		if (tick > 100000000u)
			tick = 100000000u;
		ts.tv_sec = (time_t)(tick / 1000000000u);
		ts.tv_nsec = (long)(tick % 1000000000u);
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);

		gen = atomic_load_explicit(&wd_generation, memory_order_acquire);
		now = cdh_monotonic_ns();
		if (!(gen & 1)) {
			seen = 0;
			continue;
		}
		if (gen != seen) {
			/* First sight: it was armed at most one tick ago. */
			seen = gen;
			since = now - tick;
			continue;
		}
		bound = atomic_load_explicit(&wd_bound_ns, memory_order_relaxed);
		if (now - since > bound)
			fire(bound, atomic_load_explicit(&wd_what, memory_order_relaxed));
	}
	return NULL;
}

int cdh_watchdog_start(int exit_code)
{
	pthread_t thread;
	pthread_attr_t attr;
	int err;

	wd_exit_code = exit_code;
	atomic_store(&wd_bound_ns, 1000000000u);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	err = pthread_create(&thread, &attr, watchdog_thread, NULL);
	pthread_attr_destroy(&attr);
	if (err == 0)
		pthread_setname_np(thread, "watchdog");
	return err;
}
