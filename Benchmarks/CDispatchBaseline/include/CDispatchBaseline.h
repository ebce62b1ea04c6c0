/*
 * The bare C baseline for the dispatch benchmark: the smallest epoll loop
 * that can drive a plugin from an eventfd, with the least host table that
 * plugin needs. driverhost's loop must reach at least 0.9x its rate.
 */
#ifndef CDISPATCH_BASELINE_H
#define CDISPATCH_BASELINE_H

#include <stdint.h>
#include "../../../SDK/include/drvhost/plugin.h"

/*
 * Attaches `plugin` to a bare eventfd "device" (a BAR0+0x60 write signals the
 * eventfd; each signal is one event with snap[0] = the value written), runs
 * `arm_command` (a "u64(u64)" command that starts `events` re-raising rounds),
 * then loops epoll_wait -> read -> interrupt() until `events` events are
 * delivered. Returns the elapsed nanoseconds, or 0 on failure.
 */
uint64_t cdb_run_bare_loop(const struct dh_plugin *plugin, const char *arm_command, uint64_t events);

#endif
