/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Helpers for the tests of what keeps a drvproxy device from harming its
 * neighbours: binding and unbinding drivers, reading PCI_COMMAND and
 * PCI_STATUS, waiting for a counter, and a uio_pci_generic neighbour that
 * handles its own interrupts. Like vmtest.h's, every helper that can fail
 * ends the test with a FAIL line saying what failed.
 */
#ifndef VT_IRQ_H
#define VT_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#include "vmtest.h"

/* Write value to a sysfs file. */
void vt_sysfs_write(const char *path, const char *value);
/* Unbind bdf from its driver (driver_override stays). */
void vt_unbind_driver(const char *bdf);
/* Bind bdf to driver through driver_override, as the suites do. */
void vt_bind_driver(const char *bdf, const char *driver);

/* The device's command and status registers, from its sysfs config file. */
uint16_t vt_pci_command(const char *bdf);
uint16_t vt_pci_status(const char *bdf);

/* Wait until /sys/.../drvproxy/<name> differs from before; fail after timeout_ms. */
uint64_t vt_wait_counter_moves(const char *bdf, const char *name, uint64_t before,
			       int timeout_ms);

/* Every raise of a drvproxy device, waited for until its ack program ran. */
void vt_raise_and_wait_ack(struct vt_dev *dev, uint32_t value, int timeout_ms);

/*
 * A neighbour on the same line, bound to uio_pci_generic and driven the uio
 * way: raise `value`, its own handler must see it (and mask the device),
 * nobody else may acknowledge it; then acknowledge and re-enable.
 */
struct vt_neighbour {
	const char *bdf;
	struct vt_uio uio;
	uint32_t count;		/* uio event count after the last round */
};
void vt_neighbour_open(struct vt_neighbour *n, const char *bdf, const char *uio_dev);
void vt_neighbour_roundtrip(struct vt_neighbour *n, uint32_t value, int timeout_ms,
			    const char *when);

#endif /* VT_IRQ_H */
