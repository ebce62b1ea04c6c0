/* SPDX-License-Identifier: MIT */
/*
 * drvhost device class "drvhost.net/1" (plugin ABI 1.2): the plugin's NIC
 * becomes a Linux network interface (a TAP interface kept by hostd) that
 * `ip`, `ping` and every socket program use without knowing drvhost.
 *
 * The two halves:
 *  - the plugin's, struct dh_net_device, returned by
 *    dh_plugin.get_extension(context, DH_NET_EXTENSION) after attach: MAC,
 *    MTU, queues and the transmit callback;
 *  - the host's, struct dh_net_host, returned by
 *    dh_host.get_extension(inst, DH_NET_EXTENSION) once the plugin's half
 *    was accepted: receive, link state and transmit flow control.
 *
 * Frames are Ethernet frames without the FCS: destination MAC first, at
 * least 14 and at most mtu + 14 bytes (+ 4 with a VLAN tag). Both directions
 * go in batches: the host offers every frame it has for a queue at once, and
 * the plugin hands over every frame the device has received at once.
 *
 * Crash: the interface outlives the driverhost (addresses, routes and open
 * sockets stay). While the instance restarts, its carrier stays on for a
 * grace (hostd.toml [net] carrier_grace_ms) and frames sent to it wait in
 * its queue for the next driverhost; past the grace, the carrier goes off
 * and frames are dropped, as on a cable pulled out. The interface takes
 * the MAC address of the first attach.
 */
#ifndef DRVHOST_NET_H
#define DRVHOST_NET_H

#include <drvhost/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DH_NET_EXTENSION "drvhost.net/1"

#define DH_NET_MAX_QUEUES 8        /* queue_count: 1..8 */
#define DH_NET_MIN_MTU    68
#define DH_NET_MAX_MTU    9000

/* One frame, valid only during the call that hands it over. */
struct dh_net_frame {
	const void *data;
	uint32_t length;       /* bytes */
	uint32_t flags;        /* 0 */
};

/* The plugin's half. */
struct dh_net_device {
	uint32_t struct_size;  /* sizeof(struct dh_net_device) */
	uint32_t flags;        /* 0 */
	uint8_t  mac[6];       /* unicast, not all zero */
	uint16_t reserved0;    /* 0 */
	uint32_t mtu;          /* DH_NET_MIN_MTU..DH_NET_MAX_MTU; 1500 for most */
	uint32_t queue_count;  /* transmit/receive queue pairs, 1..DH_NET_MAX_QUEUES */
	uint32_t offloads;     /* 0: none yet */
	uint32_t reserved1;    /* 0 */

	/*
	 * Transmit frames[0..count-1] on `queue`, in order. Return how many
	 * were taken (copied into the device's transmit ring, or dropped as
	 * malformed); the plugin owns none of the memory after it returns.
	 * Fewer than count: the ring is full; the host keeps the rest and
	 * offers them again after the plugin called dh_net_host.transmit_ready.
	 * Loop thread, under the callback watchdog.
	 */
	uint32_t (*transmit)(void *context, uint32_t queue,
			     const struct dh_net_frame *frames, uint32_t count);
};

/* The host's half. */
struct dh_net_host {
	uint32_t struct_size;
	uint32_t reserved;

	/*
	 * Hand received frames to the interface (copied before it returns, so
	 * the plugin may reuse its receive buffers at once). A frame of length
	 * 0, below 14 bytes or above the MTU's limit is dropped and counted
	 * (hostctl status shows it), the others still delivered. Returns the
	 * number delivered. Loop thread.
	 */
	uint32_t (*receive)(dh_instance *inst, uint32_t queue,
			    const struct dh_net_frame *frames, uint32_t count);

	/* The link came up (up = 1) or went down (0): the interface's
	 * carrier follows. Until the first call the carrier is off, except
	 * after a crash: then the carrier hostd kept on stays on until the
	 * link is up or the restart's grace ends. */
	void (*set_link)(dh_instance *inst, uint32_t up);

	/* The transmit ring of `queue` has room again after a transmit that
	 * took fewer frames than offered. Loop thread. */
	void (*transmit_ready)(dh_instance *inst, uint32_t queue);
};

DH_PIN_SIZE(struct dh_net_frame, 16);
DH_PIN_SIZE(struct dh_net_device, 40);
DH_PIN_SIZE(struct dh_net_host, 32);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DRVHOST_NET_H */
