/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Helpers for the tests of drvproxy's safety model: bus mastering, polled
 * edu DMA, touching memory that may fault, sysfs and module parameters,
 * physical addresses and capabilities. Like vmtest.h, a helper that fails
 * ends the test with a FAIL line.
 */
#ifndef VT_SAFETY_H
#define VT_SAFETY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void vt_bus_master(int fd, bool on);

/*
 * One edu DMA transfer without an interrupt, polled until the engine is
 * idle again (edu takes 100 ms of virtual time). to_ram: edu's buffer to
 * RAM, else RAM to edu's buffer.
 */
void vt_edu_dma_polled(volatile uint8_t *bar0, uint64_t src, uint64_t dst,
		       uint32_t len, bool to_ram);

/* Read one byte; the signal that raised (SIGBUS, SIGSEGV), or 0. */
int vt_touch(volatile const uint8_t *addr);

/* Whole small files: sysfs attributes, module parameters. */
void vt_write_text(const char *path, const char *text);
/* 0 or errno: for writes a test expects to be refused. */
int vt_try_write_text(const char *path, const char *text);
/* /sys/bus/pci/devices/<bdf>/drvproxy/<name>, trailing newline dropped. */
void vt_attr(const char *bdf, const char *name, char *buf, size_t size);
/* /sys/module/drvproxy/parameters/<name> */
void vt_set_param(const char *name, const char *value);

/* Physical address of a page of ours (root reads /proc/self/pagemap). */
uint64_t vt_phys_addr(const void *page);

/* Drop a capability from the effective set (raw capget/capset). */
void vt_drop_capability(int cap);

#endif /* VT_SAFETY_H */
