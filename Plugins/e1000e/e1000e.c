/* SPDX-License-Identifier: MIT */
/*
 * drvhost plugin for Intel's 82574L (QEMU's -device e1000e), written against
 * the SDK headers only: the NIC becomes a Linux network interface through
 * the net device class (drvhost/net.h).
 *
 * Driven as on real hardware: reset, MAC from the receive address registers
 * (or the EEPROM), legacy descriptor rings in DMA memory, receive and
 * transmit with interrupts, link state from the link-status-change cause.
 *
 * Interrupts: MSI-X with three vectors (receive, transmit, other), as
 * Linux's own e1000e uses them; the same code serves MSI and a shared INTx
 * line (build with E1000E_IRQ_MODE set), where one cause register says it
 * all. The ACK program reads ICR, answers "not mine" if it is zero (shared
 * line), and snapshots it. In MSI and INTx mode ICR is read-to-clear with
 * auto-mask (CTRL_EXT.IAME, IAM all ones), so the line is quiet until
 * interrupt() has done the work and unmasks; in MSI-X mode EIAC clears and
 * masks a queue's cause when its vector fires, and interrupt() unmasks it.
 *
 * Bus mastering is off during attach: attach resets the device and writes
 * the rings' addresses; receive, transmit and interrupts are switched on by
 * the first timer callback after attach, when DMA and MSI work.
 *
 * The RELEASE program masks every cause, stops receive and transmit, and
 * resets the MAC, which ends all DMA: a crashed driverhost leaves a quiet
 * device, and frames sent to the interface meanwhile wait in TCP.
 */
#define _POSIX_C_SOURCE 200809L
#include <drvhost/net.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e1000e_regs.h"

#ifndef E1000E_IRQ_MODE
#define E1000E_IRQ_MODE DH_IRQ_MSIX
#endif
#ifndef E1000E_NAME
#define E1000E_NAME "e1000e"
#endif

#define RING_SIZE	256		/* descriptors per ring; RDLEN/TDLEN multiple of 128 bytes */
#define BUF_SIZE	2048		/* RCTL.BSIZE 00 */
#define MTU		1500
#define RX_BATCH	64		/* frames per dh_net_host.receive call */

/* MSI-X vectors, as IVAR maps the causes. */
#define VEC_RX		0
#define VEC_TX		1
#define VEC_OTHER	2
#define MSIX_VECTORS	3

/* At most about 20000 interrupts/s, the kernel driver's starting point; a
 * lone frame still interrupts at once (QEMU clamps to 7813/s). */
#define ITR_INTERVAL	196		/* 256 ns units: 50 us */

#define TIMER_START	0		/* first callback after attach: start the rings */
#define TIMER_LINK	1		/* a look at the link, in case a change was missed */
#define LINK_POLL_UP_NS	1000000000ull	/* while up: once a second */
#define LINK_POLL_DOWN_NS 20000000ull	/* while down (as after a reset): every 20 ms */

struct e1000e {
	const struct dh_host *host;
	dh_instance *inst;
	const struct dh_net_host *net;
	volatile uint8_t *regs;		/* BAR0 mapped, or NULL: host read/write */
	uint32_t irq_mode;

	struct dh_dma_buffer rx_ring_mem, tx_ring_mem, rx_bufs, tx_bufs;
	volatile struct e1000e_rx_desc *rx_ring;
	volatile struct e1000e_tx_desc *tx_ring;
	uint32_t rx_next;		/* next descriptor the device fills */
	uint32_t tx_tail;		/* next descriptor to use */
	uint32_t tx_clean;		/* oldest descriptor not yet reclaimed */
	int tx_full;			/* transmit took fewer than offered */
	int started;
	int link_known;			/* set_link was called at least once */
	int link_up;

	struct dh_net_device device;
	uint64_t rx_errors;		/* frames the device flagged or split */
	uint64_t tx_too_long;		/* frames dropped: longer than a buffer */
};

static void e_log(struct e1000e *e, int32_t level, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	e->host->log(e->inst, level, line);
}

static uint32_t rd(struct e1000e *e, uint32_t reg)
{
	if (e->regs)
		return *(volatile uint32_t *)(e->regs + reg);
	return e->host->read32(e->inst, 0, reg);
}

static void wr(struct e1000e *e, uint32_t reg, uint32_t value)
{
	if (e->regs)
		*(volatile uint32_t *)(e->regs + reg) = value;
	else
		e->host->write32(e->inst, 0, reg, value);
}

static void sleep_us(uint32_t us)
{
	struct timespec ts = { 0, (long)us * 1000 };

	nanosleep(&ts, NULL);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Poll reg until (value & mask) == want, at most timeout_us of real time
 * (a sleep may last much longer than asked on a busy machine). */
static int wait_reg(struct e1000e *e, uint32_t reg, uint32_t mask, uint32_t want, uint32_t timeout_us)
{
	uint64_t deadline = now_us() + timeout_us;

	while ((rd(e, reg) & mask) != want) {
		if (now_us() > deadline)
			return (rd(e, reg) & mask) == want;
		sleep_us(10);
	}
	return 1;
}

static const struct dh_net_host *net_host(struct e1000e *e)
{
	if (!e->net)
		e->net = e->host->get_extension(e->inst, DH_NET_EXTENSION);
	return e->net;
}

/* ---- set-up -------------------------------------------------------------- */

/*
 * Quiet and reset the MAC. With `master` (detach: bus mastering is on) let
 * outstanding requests finish first; at attach the proxy has bus mastering
 * off already. (QEMU's model never clears GIO_MASTER_ENABLE: bounded.)
 */
static int32_t reset_device(struct e1000e *e, int master)
{
	if (master) {
		wr(e, REG_CTRL, rd(e, REG_CTRL) | CTRL_GIO_MASTER_DISABLE);
		wait_reg(e, REG_STATUS, STATUS_GIO_MASTER_ENABLE, 0, 1000);
	}
	wr(e, REG_IMC, 0xffffffffu);
	wr(e, REG_RCTL, 0);
	wr(e, REG_TCTL, 0);
	wr(e, REG_CTRL, rd(e, REG_CTRL) | CTRL_RST);
	sleep_us(1000);
	if (!wait_reg(e, REG_CTRL, CTRL_RST, 0, 100000)) {
		e_log(e, DH_LOG_ERROR, "the device did not come out of reset");
		return DH_ERR_DEVICE;
	}
	wr(e, REG_IMC, 0xffffffffu);
	wr(e, REG_ICR, 0xffffffffu);
	(void)rd(e, REG_ICR);
	return DH_OK;
}

static int eeprom_word(struct e1000e *e, uint32_t addr, uint16_t *word)
{
	wr(e, REG_EERD, (addr << EERD_ADDR_SHIFT) | EERD_START);
	if (!wait_reg(e, REG_EERD, EERD_DONE, EERD_DONE, 10000))
		return 0;
	*word = (uint16_t)(rd(e, REG_EERD) >> EERD_DATA_SHIFT);
	return 1;
}

/* The MAC the device came up with: receive address 0, else the EEPROM. */
static int32_t read_mac(struct e1000e *e, uint8_t mac[6])
{
	uint32_t ral = rd(e, REG_RAL0), rah = rd(e, REG_RAH0);
	int i;

	if ((rah & RAH_AV) && (ral || (rah & 0xffff))) {
		for (i = 0; i < 4; i++)
			mac[i] = (uint8_t)(ral >> (8 * i));
		mac[4] = (uint8_t)rah;
		mac[5] = (uint8_t)(rah >> 8);
	} else {
		for (i = 0; i < 3; i++) {
			uint16_t word;

			if (!eeprom_word(e, (uint32_t)i, &word)) {
				e_log(e, DH_LOG_ERROR, "cannot read the MAC address from the EEPROM");
				return DH_ERR_DEVICE;
			}
			mac[2 * i] = (uint8_t)word;
			mac[2 * i + 1] = (uint8_t)(word >> 8);
		}
	}
	if ((mac[0] & 1) || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5])) {
		e_log(e, DH_LOG_ERROR, "the device's MAC address is not a unicast address");
		return DH_ERR_DEVICE;
	}
	/* Receive address 0 is what the filter accepts. */
	wr(e, REG_RAL0, (uint32_t)mac[0] | (uint32_t)mac[1] << 8 | (uint32_t)mac[2] << 16 | (uint32_t)mac[3] << 24);
	wr(e, REG_RAH0, (uint32_t)mac[4] | (uint32_t)mac[5] << 8 | RAH_AV);
	return DH_OK;
}

static void free_dma(struct e1000e *e)
{
	struct dh_dma_buffer *bufs[] = { &e->rx_ring_mem, &e->tx_ring_mem, &e->rx_bufs, &e->tx_bufs };
	size_t i;

	for (i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
		if (bufs[i]->handle)
			e->host->dma_free(e->inst, bufs[i]->handle);
		memset(bufs[i], 0, sizeof(*bufs[i]));
	}
}

static int32_t alloc_dma(struct e1000e *e)
{
	int32_t err;

	if ((err = e->host->dma_alloc(e->inst, RING_SIZE * sizeof(struct e1000e_rx_desc), &e->rx_ring_mem)) ||
	    (err = e->host->dma_alloc(e->inst, RING_SIZE * sizeof(struct e1000e_tx_desc), &e->tx_ring_mem)) ||
	    (err = e->host->dma_alloc(e->inst, RING_SIZE * BUF_SIZE, &e->rx_bufs)) ||
	    (err = e->host->dma_alloc(e->inst, RING_SIZE * BUF_SIZE, &e->tx_bufs))) {
		e_log(e, DH_LOG_ERROR, "cannot allocate DMA memory (%d)", err);
		free_dma(e);
		return err;
	}
	e->rx_ring = e->rx_ring_mem.cpu;
	e->tx_ring = e->tx_ring_mem.cpu;
	return DH_OK;
}

/* Rings written and their registers set; nothing enabled (no DMA yet). */
static void set_up_rings(struct e1000e *e)
{
	uint32_t i;

	for (i = 0; i < RING_SIZE; i++) {
		e->rx_ring[i] = (struct e1000e_rx_desc){ .addr = e->rx_bufs.bus_addr + (uint64_t)i * BUF_SIZE };
		e->tx_ring[i] = (struct e1000e_tx_desc){ .status = TXD_STAT_DD };
	}
	e->rx_next = 0;
	e->tx_tail = 0;
	e->tx_clean = 0;

	for (i = 0; i < 128; i++)
		wr(e, REG_MTA + 4 * i, 0);
	wr(e, REG_RDBAL, (uint32_t)e->rx_ring_mem.bus_addr);
	wr(e, REG_RDBAH, (uint32_t)(e->rx_ring_mem.bus_addr >> 32));
	wr(e, REG_RDLEN, RING_SIZE * sizeof(struct e1000e_rx_desc));
	wr(e, REG_RDH, 0);
	wr(e, REG_RDT, 0);
	wr(e, REG_RDTR, 0);
	wr(e, REG_RADV, 0);
	wr(e, REG_TDBAL, (uint32_t)e->tx_ring_mem.bus_addr);
	wr(e, REG_TDBAH, (uint32_t)(e->tx_ring_mem.bus_addr >> 32));
	wr(e, REG_TDLEN, RING_SIZE * sizeof(struct e1000e_tx_desc));
	wr(e, REG_TDH, 0);
	wr(e, REG_TDT, 0);
	wr(e, REG_TIDV, 0);
	wr(e, REG_TIPG, TIPG_COPPER);
	wr(e, REG_TARC0, rd(e, REG_TARC0) | TARC_ENABLE);
	wr(e, REG_CTRL, (rd(e, REG_CTRL) | CTRL_SLU) & ~(CTRL_FRCSPD | CTRL_FRCDPX));
}

/* The causes interrupt() wants, in force after each interrupt. */
static uint32_t wanted_causes(const struct e1000e *e)
{
	if (e->irq_mode == DH_IRQ_MSIX)
		return ICR_RXQ0 | ICR_OTHER | ICR_LSC | (e->tx_full ? ICR_TXQ0 : 0);
	return ICR_RXT0 | ICR_RXDMT0 | ICR_RXO | ICR_LSC | (e->tx_full ? ICR_TXDW : 0);
}

static void configure_interrupts(struct e1000e *e)
{
	uint32_t ctrl_ext = rd(e, REG_CTRL_EXT) & ~(CTRL_EXT_IAME | CTRL_EXT_EIAME);
	int v;

	if (e->irq_mode == DH_IRQ_MSIX) {
		wr(e, REG_IVAR, (IVAR_VALID | VEC_RX) << IVAR_RXQ0_SHIFT |
				(IVAR_VALID | VEC_TX) << IVAR_TXQ0_SHIFT |
				(IVAR_VALID | VEC_OTHER) << IVAR_OTHER_SHIFT | IVAR_TX_EVERY_WB);
		wr(e, REG_EIAC, ICR_RXQ0 | ICR_TXQ0);
		for (v = 0; v < MSIX_VECTORS; v++)
			wr(e, REG_EITR(v), ITR_INTERVAL);
		wr(e, REG_CTRL_EXT, ctrl_ext | CTRL_EXT_PBA_CLR);
	} else {
		wr(e, REG_ITR, ITR_INTERVAL);
		wr(e, REG_IAM, 0xffffffffu);
		wr(e, REG_CTRL_EXT, ctrl_ext | CTRL_EXT_IAME);
	}
}

static void report_link(struct e1000e *e)
{
	int up = (rd(e, REG_STATUS) & STATUS_LU) != 0;

	if (e->link_known && up == e->link_up)
		return;
	e->link_known = 1;
	e->link_up = up;
	e_log(e, DH_LOG_INFO, "link %s", up ? "up" : "down");
	net_host(e)->set_link(e->inst, (uint32_t)up);
	/* A link that comes up is an interrupt, but a restart's outage should
	 * not hang on one: look often while down. */
	e->host->timer_start(e->inst, TIMER_LINK, up ? LINK_POLL_UP_NS : LINK_POLL_DOWN_NS,
			     up ? LINK_POLL_UP_NS : LINK_POLL_DOWN_NS);
}

/* DMA and MSI work now: receive, transmit, interrupts on. */
static void start(struct e1000e *e)
{
	if (!net_host(e)) {
		e_log(e, DH_LOG_ERROR, "the host serves no %s device", DH_NET_EXTENSION);
		return;
	}
	configure_interrupts(e);
	wr(e, REG_RCTL, RCTL_EN | RCTL_BAM | RCTL_MPE | RCTL_SECRC);
	wr(e, REG_RDT, RING_SIZE - 1);
	wr(e, REG_TCTL, TCTL_EN | TCTL_PSP | TCTL_RTLC | (0x0fu << TCTL_CT_SHIFT) | (0x3fu << TCTL_COLD_SHIFT));
	e->started = 1;
	report_link(e);
	wr(e, REG_IMS, wanted_causes(e));
	/* Anything the host offered before now was refused: offer it again. */
	e->net->transmit_ready(e->inst, 0);
}

/* ---- receive --------------------------------------------------------------- */

static void receive(struct e1000e *e)
{
	struct dh_net_frame frames[RX_BATCH];
	uint32_t n = 0, done = 0, last = 0;
	int in_fragment = 0;

	while (done < RING_SIZE) {
		volatile struct e1000e_rx_desc *d = &e->rx_ring[e->rx_next];
		uint8_t status = d->status;

		if (!(status & RXD_STAT_DD))
			break;
		/* Read the descriptor's other fields only after DD. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!(status & RXD_STAT_EOP) || in_fragment || d->errors) {
			/* A frame over several buffers is longer than the MTU: drop all of it. */
			if (!(status & RXD_STAT_EOP) || !in_fragment)
				e->rx_errors++;
			in_fragment = !(status & RXD_STAT_EOP);
		} else {
			frames[n++] = (struct dh_net_frame){
				(const uint8_t *)e->rx_bufs.cpu + (size_t)e->rx_next * BUF_SIZE, d->length, 0 };
		}
		last = e->rx_next;
		e->rx_next = (e->rx_next + 1) % RING_SIZE;
		done++;
		if (n == RX_BATCH) {
			/* The host copies: the buffers can go back to the device. */
			e->net->receive(e->inst, 0, frames, n);
			n = 0;
		}
	}
	if (n)
		e->net->receive(e->inst, 0, frames, n);
	if (done) {
		uint32_t i, k = (last + RING_SIZE + 1 - done) % RING_SIZE;

		for (i = 0; i < done; i++, k = (k + 1) % RING_SIZE)
			e->rx_ring[k].status = 0;
		__atomic_thread_fence(__ATOMIC_RELEASE);
		wr(e, REG_RDT, last);
	}
}

/* ---- transmit ---------------------------------------------------------------- */

static uint32_t tx_free(const struct e1000e *e)
{
	return (e->tx_clean + RING_SIZE - e->tx_tail - 1) % RING_SIZE;
}

static void tx_reclaim(struct e1000e *e)
{
	while (e->tx_clean != e->tx_tail && (e->tx_ring[e->tx_clean].status & TXD_STAT_DD))
		e->tx_clean = (e->tx_clean + 1) % RING_SIZE;
}

static uint32_t e1000e_transmit(void *context, uint32_t queue, const struct dh_net_frame *frames, uint32_t count)
{
	struct e1000e *e = context;
	uint32_t taken = 0;

	(void)queue;
	if (!e->started)
		return 0;
	tx_reclaim(e);
	while (taken < count && tx_free(e) > 0) {
		const struct dh_net_frame *f = &frames[taken++];
		volatile struct e1000e_tx_desc *d = &e->tx_ring[e->tx_tail];

		if (f->length == 0 || f->length > BUF_SIZE) {
			e->tx_too_long++;
			continue;
		}
		memcpy((uint8_t *)e->tx_bufs.cpu + (size_t)e->tx_tail * BUF_SIZE, f->data, f->length);
		d->addr = e->tx_bufs.bus_addr + (uint64_t)e->tx_tail * BUF_SIZE;
		d->length = (uint16_t)f->length;
		d->cso = 0;
		d->css = 0;
		d->special = 0;
		d->status = 0;
		d->cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
		e->tx_tail = (e->tx_tail + 1) % RING_SIZE;
	}
	/* One doorbell for the whole batch. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	wr(e, REG_TDT, e->tx_tail);
	if (taken < count && !e->tx_full) {
		/* Ring full: the transmit-done interrupt says when there is room. */
		e->tx_full = 1;
		wr(e, REG_IMS, e->irq_mode == DH_IRQ_MSIX ? ICR_TXQ0 : ICR_TXDW);
	}
	return taken;
}

static void transmit_done(struct e1000e *e)
{
	tx_reclaim(e);
	if (e->tx_full && tx_free(e) > 0) {
		e->tx_full = 0;
		wr(e, REG_IMC, e->irq_mode == DH_IRQ_MSIX ? ICR_TXQ0 : ICR_TXDW);
		e->net->transmit_ready(e->inst, 0);
	}
}

/* ---- callbacks ------------------------------------------------------------------ */

static void e1000e_interrupt(void *context, const struct dh_event *ev)
{
	struct e1000e *e = context;
	uint32_t icr = ev->nsnap ? (uint32_t)ev->snap[0] : 0xffffffffu;

	if (!e->started)
		return;
	/* Lost events: look at everything. */
	if (ev->flags & DH_EVENT_DROPPED)
		icr = 0xffffffffu;
	if (e->irq_mode == DH_IRQ_MSIX && !(ev->flags & DH_EVENT_DROPPED)) {
		switch (ev->vector) {
		case VEC_RX:
			receive(e);
			wr(e, REG_IMS, ICR_RXQ0);
			return;
		case VEC_TX:
			transmit_done(e);
			if (e->tx_full)
				wr(e, REG_IMS, ICR_TXQ0);
			return;
		default:
			/* Writing OTHER clears every "other" cause with it. */
			wr(e, REG_ICR, ICR_OTHER | ICR_LSC);
			if (icr & ICR_LSC)
				report_link(e);
			wr(e, REG_IMS, ICR_OTHER | ICR_LSC);
			return;
		}
	}
	if (icr & (ICR_RXT0 | ICR_RXDMT0 | ICR_RXO | ICR_RXQ0))
		receive(e);
	if (icr & (ICR_TXDW | ICR_TXQ0))
		transmit_done(e);
	if (icr & ICR_LSC)
		report_link(e);
	if (e->irq_mode == DH_IRQ_MSIX)
		wr(e, REG_ICR, ICR_OTHER | ICR_LSC);
	/* The ICR read in the ACK program masked everything (IAME). */
	wr(e, REG_IMS, wanted_causes(e));
}

static void e1000e_timer(void *context, uint32_t id)
{
	struct e1000e *e = context;

	if (id == TIMER_START) {
		start(e);
		return;
	}
	report_link(e);
	/* A frame or a completion whose interrupt was coalesced away. */
	receive(e);
	transmit_done(e);
}

static void fill_device(struct e1000e *e, const uint8_t mac[6])
{
	e->device.struct_size = sizeof(e->device);
	memcpy(e->device.mac, mac, 6);
	e->device.mtu = MTU;
	e->device.queue_count = 1;
	e->device.transmit = e1000e_transmit;
}

static int32_t e1000e_attach(const struct dh_host *host, dh_instance *inst, void **context)
{
	struct e1000e *e = calloc(1, sizeof(*e));
	struct dh_instance_info info = { .struct_size = sizeof(info) };
	volatile void *base = NULL;
	uint64_t size = 0;
	uint8_t mac[6];
	int32_t err;

	if (!e)
		return DH_ERR_NO_MEMORY;
	e->host = host;
	e->inst = inst;
	if ((err = host->instance_info(inst, &info)) != DH_OK)
		goto fail;
	e->irq_mode = info.irq_mode;
	if (host->bar_pointer(inst, 0, &base, &size) == DH_OK && size >= 0x20000)
		e->regs = base;
	if ((err = reset_device(e, 0)) != DH_OK || (err = read_mac(e, mac)) != DH_OK ||
	    (err = alloc_dma(e)) != DH_OK)
		goto fail;
	set_up_rings(e);
	fill_device(e, mac);
	/* Bus mastering comes on once attach returns; start from the loop. */
	if ((err = host->timer_start(inst, TIMER_START, 1000, 0)) != DH_OK) {
		free_dma(e);
		goto fail;
	}
	e_log(e, DH_LOG_INFO, "82574L at %04x:%02x:%02x.%u, MAC %02x:%02x:%02x:%02x:%02x:%02x, irq mode %u, restart %u",
	      info.pci_domain, info.pci_bus, info.pci_slot, info.pci_function,
	      mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], info.irq_mode, info.restart_count);
	*context = e;
	return DH_OK;
fail:
	free(e);
	return err;
}

static void e1000e_detach(void *context)
{
	struct e1000e *e = context;

	e->host->timer_stop(e->inst, TIMER_START);
	e->host->timer_stop(e->inst, TIMER_LINK);
	/* Quiet before the memory goes: the same steps as the RELEASE program. */
	reset_device(e, 1);
	free_dma(e);
	free(e);
}

static const void *e1000e_get_extension(void *context, const char *id)
{
	struct e1000e *e = context;

	return strcmp(id, DH_NET_EXTENSION) == 0 ? &e->device : NULL;
}

/*
 * For tests: hand the host frames no device would (zero length, shorter
 * than a header, longer than the MTU allows). The host must drop and count
 * all three; returns how many it delivered (0).
 */
static uint32_t cmd_receive_malformed(void *context)
{
	struct e1000e *e = context;
	static uint8_t junk[BUF_SIZE];
	struct dh_net_frame bad[3] = {
		{ junk, 0, 0 }, { junk, 13, 0 }, { junk, MTU + 14 + 4 + 1, 0 },
	};

	if (!net_host(e))
		return 0;
	return e->net->receive(e->inst, 0, bad, 3);
}

static uint64_t cmd_rx_errors(void *context)
{
	return ((struct e1000e *)context)->rx_errors;
}

static const struct dh_command e1000e_commands[] = {
	{ "receive_malformed", "u32()", (dh_command_fn)cmd_receive_malformed,
	  "test: hand the host a zero-length, a short and an oversized frame; returns how many it took" },
	{ "rx_errors", "u64()", (dh_command_fn)cmd_rx_errors, "frames the device received with errors or split" },
};

static const struct dh_pci_match e1000e_matches[] = {
	DH_MATCH_ID(E1000E_VENDOR, E1000E_DEVICE_82574L),
};

/* ICR, read (to clear, in MSI and INTx mode) and handed to interrupt(). */
static const struct dh_insn e1000e_ack[] = {
	DH_INSN_READ(4, 0, REG_ICR),
	DH_INSN_NOT_MINE_IF_ZERO(),
	DH_INSN_SNAPSHOT(),
};

/* Mask, stop receive and transmit, reset the MAC (ends its DMA), mask again. */
static const struct dh_insn e1000e_release[] = {
	DH_INSN_WRITE_IMM(4, 0, REG_IMC, 0xffffffffu),
	DH_INSN_WRITE_IMM(4, 0, REG_RCTL, 0),
	DH_INSN_WRITE_IMM(4, 0, REG_TCTL, 0),
	DH_INSN_READ(4, 0, REG_STATUS),
	DH_INSN_WRITE_IMM(4, 0, REG_CTRL, CTRL_RST),
	DH_INSN_DELAY(1000),
	DH_INSN_POLL(4, 0, REG_CTRL, CTRL_RST, 0, 100000),
	DH_INSN_WRITE_IMM(4, 0, REG_IMC, 0xffffffffu),
	DH_INSN_READ(4, 0, REG_ICR),
};

const struct dh_plugin dh_plugin_entry = {
	.abi_major = DH_ABI_MAJOR,
	.abi_minor = DH_ABI_MINOR,
	.struct_size = sizeof(struct dh_plugin),
	.name = E1000E_NAME,
	.version = "1.0.0",
	.matches = e1000e_matches,
	.match_count = sizeof(e1000e_matches) / sizeof(e1000e_matches[0]),
	.irq_mode = E1000E_IRQ_MODE,
	.msix_vectors = E1000E_IRQ_MODE == DH_IRQ_MSIX ? MSIX_VECTORS : 0,
	.ack_len = sizeof(e1000e_ack) / sizeof(e1000e_ack[0]),
	.ack_program = e1000e_ack,
	.release_len = sizeof(e1000e_release) / sizeof(e1000e_release[0]),
	.release_program = e1000e_release,
	.attach = e1000e_attach,
	.detach = e1000e_detach,
	.interrupt = e1000e_interrupt,
	.timer = e1000e_timer,
	.commands = e1000e_commands,
	.command_count = sizeof(e1000e_commands) / sizeof(e1000e_commands[0]),
	.get_extension = e1000e_get_extension,
};
