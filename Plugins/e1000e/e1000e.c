/* SPDX-License-Identifier: MIT */
/*
 * drvhost plugin for Intel's 82574L (QEMU's -device e1000e), written against
 * the SDK headers only: the NIC becomes a Linux network interface through
 * the net device class (drvhost/net.h).
 *
 * Driven as on real hardware: reset, MAC from the receive address registers
 * (or the EEPROM), descriptor rings in DMA memory, receive and transmit
 * with interrupts, link state from the link-status-change cause.
 *
 * Queues: the 82574L has two receive and two transmit queues, and so has
 * the interface (the host makes it multi-queue). Receive-side scaling
 * (RSS: a Toeplitz hash of the addresses and TCP ports, then a table)
 * spreads flows over the receive queues, so a flow's frames stay in order;
 * the kernel sends each flow out on the queue its frames came in on. The
 * queue count is the device's, whatever the number of CPUs: one loop
 * thread serves both.
 *
 * Interrupts: MSI-X with five vectors (a receive and a transmit vector per
 * queue, and one for the rest); the same code serves MSI and a shared INTx
 * line (build with E1000E_IRQ_MODE set), where one cause register says it
 * all and each interrupt looks at both queues. The ACK program reads ICR, answers "not mine" if it is zero (shared
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
#define QUEUES		2		/* receive/transmit queue pairs */

/* MSI-X vectors, as IVAR maps the causes. */
#define VEC_RX(q)	(q)
#define VEC_TX(q)	(QUEUES + (q))
#define VEC_OTHER	(2 * QUEUES)
#define MSIX_VECTORS	(2 * QUEUES + 1)

/* At most about 20000 interrupts/s, the kernel driver's starting point; a
 * lone frame still interrupts at once (QEMU clamps to 7813/s). */
#define ITR_INTERVAL	196		/* 256 ns units: 50 us */

#define TIMER_START	0		/* first callback after attach: start the rings */
#define TIMER_LINK	1		/* a look at the link, in case a change was missed */
#define LINK_POLL_UP_NS	1000000000ull	/* while up: once a second */
#define LINK_POLL_DOWN_NS 20000000ull	/* while down (as after a reset): every 20 ms */

struct rx_queue {
	struct dh_dma_buffer ring_mem, bufs;
	volatile union e1000e_rx_desc *ring;
	uint32_t next;			/* next descriptor the device fills */
};

struct tx_queue {
	struct dh_dma_buffer ring_mem, bufs;
	volatile struct e1000e_tx_desc *ring;
	uint32_t tail;			/* next descriptor to use */
	uint32_t clean;			/* oldest descriptor not yet reclaimed */
	int full;			/* transmit took fewer than offered */
};

struct e1000e {
	const struct dh_host *host;
	dh_instance *inst;
	const struct dh_net_host *net;
	volatile uint8_t *regs;		/* BAR0 mapped, or NULL: host read/write */
	uint32_t irq_mode;

	struct dh_dma_buffer dma;	/* all rings and buffers (alloc_dma) */
	struct rx_queue rx[QUEUES];
	struct tx_queue tx[QUEUES];
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
	uint32_t q;

	if (e->dma.handle)
		e->host->dma_free(e->inst, e->dma.handle);
	memset(&e->dma, 0, sizeof(e->dma));
	for (q = 0; q < QUEUES; q++) {
		memset(&e->rx[q].ring_mem, 0, sizeof(e->rx[q].ring_mem));
		memset(&e->rx[q].bufs, 0, sizeof(e->rx[q].bufs));
		memset(&e->tx[q].ring_mem, 0, sizeof(e->tx[q].ring_mem));
		memset(&e->tx[q].bufs, 0, sizeof(e->tx[q].bufs));
	}
}

/* The next `size` bytes of the one DMA buffer, as a buffer of its own
 * (no handle: it is freed with the whole). */
static struct dh_dma_buffer dma_part(const struct dh_dma_buffer *all, size_t *offset, size_t size)
{
	struct dh_dma_buffer part = { NULL, (uint8_t *)all->cpu + *offset, all->bus_addr + *offset, size };

	*offset += size;
	return part;
}

/* Rings first (each 4 KiB: 128-byte aligned as RDBA/TDBA need), then the
 * buffers, all in one allocation: each dma_alloc is a system call, a
 * mapping through the IOMMU and an mmap, and a restart's outage waits for
 * all of them (eight separate ones took 8-20 ms in the TCG guest). */
static int32_t alloc_dma(struct e1000e *e)
{
	const size_t rx_ring = RING_SIZE * sizeof(union e1000e_rx_desc);
	const size_t tx_ring = RING_SIZE * sizeof(struct e1000e_tx_desc);
	const size_t bufs = (size_t)RING_SIZE * BUF_SIZE;
	size_t offset = 0;
	int32_t err;
	uint32_t q;

	err = e->host->dma_alloc(e->inst, QUEUES * (rx_ring + tx_ring + 2 * bufs), &e->dma);
	if (err != DH_OK) {
		e_log(e, DH_LOG_ERROR, "cannot allocate DMA memory (%d)", err);
		return err;
	}
	for (q = 0; q < QUEUES; q++) {
		e->rx[q].ring_mem = dma_part(&e->dma, &offset, rx_ring);
		e->tx[q].ring_mem = dma_part(&e->dma, &offset, tx_ring);
		e->rx[q].ring = e->rx[q].ring_mem.cpu;
		e->tx[q].ring = e->tx[q].ring_mem.cpu;
	}
	for (q = 0; q < QUEUES; q++) {
		e->rx[q].bufs = dma_part(&e->dma, &offset, bufs);
		e->tx[q].bufs = dma_part(&e->dma, &offset, bufs);
	}
	return DH_OK;
}

static uint64_t rx_buffer(const struct rx_queue *rx, uint32_t i)
{
	return rx->bufs.bus_addr + (uint64_t)i * BUF_SIZE;
}

/* A receive descriptor handed (back) to the device. */
static void rx_arm(struct rx_queue *rx, uint32_t i)
{
	rx->ring[i].read.addr = rx_buffer(rx, i);
	rx->ring[i].read.zero = 0;
}

/* The hash key: any 40 bytes do; these are fixed so that a flow keeps its
 * queue across restarts. */
static const uint32_t rss_key[10] = {
	0x3b9ac9ff, 0x5e2d58d8, 0x7f4a7c15, 0x1f83d9ab, 0x9e3779b9,
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f,
};

/* RSS over both receive queues: the table alternates between them. */
static void set_up_rss(struct e1000e *e)
{
	uint32_t i;

	for (i = 0; i < 10; i++)
		wr(e, REG_RSSRK(i), rss_key[i]);
	for (i = 0; i < 32; i++)
		wr(e, REG_RETA(i), (uint32_t)RETA_QUEUE1 << 8 | (uint32_t)RETA_QUEUE1 << 24);
	/* The hash needs extended descriptors, in which it takes the place of
	 * the packet checksum. */
	wr(e, REG_RFCTL, rd(e, REG_RFCTL) | RFCTL_EXTEN);
	wr(e, REG_RXCSUM, RXCSUM_PCSD);
	wr(e, REG_MRQC, MRQC_RSS_2Q | MRQC_HASH_TCP_IPV4 | MRQC_HASH_IPV4 | MRQC_HASH_TCP_IPV6 | MRQC_HASH_IPV6);
}

/* Rings written and their registers set; nothing enabled (no DMA yet). */
static void set_up_rings(struct e1000e *e)
{
	uint32_t i, q;

	for (q = 0; q < QUEUES; q++) {
		struct rx_queue *rx = &e->rx[q];
		struct tx_queue *tx = &e->tx[q];

		for (i = 0; i < RING_SIZE; i++) {
			rx_arm(rx, i);
			tx->ring[i] = (struct e1000e_tx_desc){ .status = TXD_STAT_DD };
		}
		rx->next = 0;
		tx->tail = 0;
		tx->clean = 0;
		tx->full = 0;
		wr(e, REG_RDBAL(q), (uint32_t)rx->ring_mem.bus_addr);
		wr(e, REG_RDBAH(q), (uint32_t)(rx->ring_mem.bus_addr >> 32));
		wr(e, REG_RDLEN(q), RING_SIZE * sizeof(union e1000e_rx_desc));
		wr(e, REG_RDH(q), 0);
		wr(e, REG_RDT(q), 0);
		wr(e, REG_TDBAL(q), (uint32_t)tx->ring_mem.bus_addr);
		wr(e, REG_TDBAH(q), (uint32_t)(tx->ring_mem.bus_addr >> 32));
		wr(e, REG_TDLEN(q), RING_SIZE * sizeof(struct e1000e_tx_desc));
		wr(e, REG_TDH(q), 0);
		wr(e, REG_TDT(q), 0);
		wr(e, REG_TARC(q), rd(e, REG_TARC(q)) | TARC_ENABLE);
	}
	for (i = 0; i < 128; i++)
		wr(e, REG_MTA + 4 * i, 0);
	wr(e, REG_RDTR, 0);
	wr(e, REG_RADV, 0);
	wr(e, REG_TIDV, 0);
	wr(e, REG_TIPG, TIPG_COPPER);
	set_up_rss(e);
	wr(e, REG_CTRL, (rd(e, REG_CTRL) | CTRL_SLU) & ~(CTRL_FRCSPD | CTRL_FRCDPX));
}

/* The transmit-done cause of queue q, in this interrupt mode. */
static uint32_t tx_cause(const struct e1000e *e, uint32_t q)
{
	return e->irq_mode == DH_IRQ_MSIX ? ICR_TXQ(q) : ICR_TXDW;
}

/* The causes interrupt() wants, in force after each interrupt. */
static uint32_t wanted_causes(const struct e1000e *e)
{
	uint32_t causes, q;

	if (e->irq_mode == DH_IRQ_MSIX)
		causes = ICR_RXQ(0) | ICR_RXQ(1) | ICR_OTHER | ICR_LSC;
	else
		causes = ICR_RXT0 | ICR_RXDMT0 | ICR_RXO | ICR_LSC;
	for (q = 0; q < QUEUES; q++)
		if (e->tx[q].full)
			causes |= tx_cause(e, q);
	return causes;
}

static void configure_interrupts(struct e1000e *e)
{
	uint32_t ctrl_ext = rd(e, REG_CTRL_EXT) & ~(CTRL_EXT_IAME | CTRL_EXT_EIAME);
	uint32_t ivar = (IVAR_VALID | VEC_OTHER) << IVAR_OTHER_SHIFT | IVAR_TX_EVERY_WB, q;
	int v;

	if (e->irq_mode == DH_IRQ_MSIX) {
		for (q = 0; q < QUEUES; q++)
			ivar |= (IVAR_VALID | VEC_RX(q)) << IVAR_RXQ_SHIFT(q) | (IVAR_VALID | VEC_TX(q)) << IVAR_TXQ_SHIFT(q);
		wr(e, REG_IVAR, ivar);
		wr(e, REG_EIAC, ICR_RXQ(0) | ICR_RXQ(1) | ICR_TXQ(0) | ICR_TXQ(1));
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
	/* The carrier first: a log line wakes the supervisor that relays it,
	 * which may run before this process gets to the next line, and after
	 * a restart the interface waits for this call. */
	net_host(e)->set_link(e->inst, (uint32_t)up);
	e_log(e, DH_LOG_INFO, "link %s", up ? "up" : "down");
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
	uint32_t q;

	configure_interrupts(e);
	wr(e, REG_RCTL, RCTL_EN | RCTL_BAM | RCTL_MPE | RCTL_SECRC);
	for (q = 0; q < QUEUES; q++)
		wr(e, REG_RDT(q), RING_SIZE - 1);
	wr(e, REG_TCTL, TCTL_EN | TCTL_PSP | TCTL_RTLC | (0x0fu << TCTL_CT_SHIFT) | (0x3fu << TCTL_COLD_SHIFT));
	e->started = 1;
	report_link(e);
	wr(e, REG_IMS, wanted_causes(e));
	/* Anything the host offered before now was refused: offer it again. */
	for (q = 0; q < QUEUES; q++)
		e->net->transmit_ready(e->inst, q);
}

/* ---- receive --------------------------------------------------------------- */

static void receive(struct e1000e *e, uint32_t q)
{
	struct rx_queue *rx = &e->rx[q];
	struct dh_net_frame frames[RX_BATCH];
	uint32_t n = 0, done = 0, first = rx->next, last = 0, i;
	int in_fragment = 0;

	while (done < RING_SIZE) {
		volatile union e1000e_rx_desc *d = &rx->ring[rx->next];
		uint32_t status = d->wb.status_error;

		if (!(status & RXD_STAT_DD))
			break;
		/* Read the descriptor's other fields only after DD. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!(status & RXD_STAT_EOP) || in_fragment || (status & RXD_ERR_FRAME)) {
			/* A frame over several buffers is longer than the MTU: drop all of it. */
			if (!(status & RXD_STAT_EOP) || !in_fragment)
				e->rx_errors++;
			in_fragment = !(status & RXD_STAT_EOP);
		} else {
			frames[n++] = (struct dh_net_frame){
				(const uint8_t *)rx->bufs.cpu + (size_t)rx->next * BUF_SIZE, d->wb.length, 0 };
		}
		last = rx->next;
		rx->next = (rx->next + 1) % RING_SIZE;
		done++;
		if (n == RX_BATCH) {
			/* The host copies: the buffers can go back to the device. */
			e->net->receive(e->inst, q, frames, n);
			n = 0;
		}
	}
	if (n)
		e->net->receive(e->inst, q, frames, n);
	if (done) {
		/* The write-back replaced the buffer address: write it again. */
		for (i = 0; i < done; i++)
			rx_arm(rx, (first + i) % RING_SIZE);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		wr(e, REG_RDT(q), last);
	}
}

static void receive_all(struct e1000e *e)
{
	uint32_t q;

	for (q = 0; q < QUEUES; q++)
		receive(e, q);
}

/* ---- transmit ---------------------------------------------------------------- */

static uint32_t tx_free(const struct tx_queue *tx)
{
	return (tx->clean + RING_SIZE - tx->tail - 1) % RING_SIZE;
}

static void tx_reclaim(struct tx_queue *tx)
{
	while (tx->clean != tx->tail && (tx->ring[tx->clean].status & TXD_STAT_DD))
		tx->clean = (tx->clean + 1) % RING_SIZE;
}

static uint32_t e1000e_transmit(void *context, uint32_t queue, const struct dh_net_frame *frames, uint32_t count)
{
	struct e1000e *e = context;
	struct tx_queue *tx;
	uint32_t taken = 0;

	if (!e->started || queue >= QUEUES)
		return 0;
	tx = &e->tx[queue];
	tx_reclaim(tx);
	while (taken < count && tx_free(tx) > 0) {
		const struct dh_net_frame *f = &frames[taken++];
		volatile struct e1000e_tx_desc *d = &tx->ring[tx->tail];

		if (f->length == 0 || f->length > BUF_SIZE) {
			e->tx_too_long++;
			continue;
		}
		memcpy((uint8_t *)tx->bufs.cpu + (size_t)tx->tail * BUF_SIZE, f->data, f->length);
		d->addr = tx->bufs.bus_addr + (uint64_t)tx->tail * BUF_SIZE;
		d->length = (uint16_t)f->length;
		d->cso = 0;
		d->css = 0;
		d->special = 0;
		d->status = 0;
		d->cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
		tx->tail = (tx->tail + 1) % RING_SIZE;
	}
	/* One doorbell for the whole batch. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	wr(e, REG_TDT(queue), tx->tail);
	if (taken < count && !tx->full) {
		/* Ring full: the transmit-done interrupt says when there is room. */
		tx->full = 1;
		wr(e, REG_IMS, tx_cause(e, queue));
	}
	return taken;
}

static int any_tx_full(const struct e1000e *e)
{
	uint32_t q;

	for (q = 0; q < QUEUES; q++)
		if (e->tx[q].full)
			return 1;
	return 0;
}

static void transmit_done(struct e1000e *e, uint32_t q)
{
	struct tx_queue *tx = &e->tx[q];

	tx_reclaim(tx);
	if (tx->full && tx_free(tx) > 0) {
		tx->full = 0;
		/* In MSI and INTx mode one cause serves every queue. */
		if (e->irq_mode == DH_IRQ_MSIX || !any_tx_full(e))
			wr(e, REG_IMC, tx_cause(e, q));
		e->net->transmit_ready(e->inst, q);
	}
}

static void transmit_done_all(struct e1000e *e)
{
	uint32_t q;

	for (q = 0; q < QUEUES; q++)
		transmit_done(e, q);
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
		uint32_t q = ev->vector % QUEUES;

		if (ev->vector < VEC_TX(0)) {
			receive(e, q);
			wr(e, REG_IMS, ICR_RXQ(q));
		} else if (ev->vector < VEC_OTHER) {
			transmit_done(e, q);
			if (e->tx[q].full)
				wr(e, REG_IMS, ICR_TXQ(q));
		} else {
			/* Writing OTHER clears every "other" cause with it. */
			wr(e, REG_ICR, ICR_OTHER | ICR_LSC);
			if (icr & ICR_LSC)
				report_link(e);
			wr(e, REG_IMS, ICR_OTHER | ICR_LSC);
		}
		return;
	}
	if (icr & (ICR_RXT0 | ICR_RXDMT0 | ICR_RXO | ICR_RXQ(0) | ICR_RXQ(1)))
		receive_all(e);
	if (icr & (ICR_TXDW | ICR_TXQ(0) | ICR_TXQ(1)))
		transmit_done_all(e);
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
	receive_all(e);
	transmit_done_all(e);
}

static void fill_device(struct e1000e *e, const uint8_t mac[6])
{
	e->device.struct_size = sizeof(e->device);
	memcpy(e->device.mac, mac, 6);
	e->device.mtu = MTU;
	e->device.queue_count = QUEUES;
	e->device.transmit = e1000e_transmit;
}

static int32_t e1000e_attach(const struct dh_host *host, dh_instance *inst, void **context)
{
	struct e1000e *e = calloc(1, sizeof(*e));
	struct dh_instance_info info = { .struct_size = sizeof(info) };
	volatile void *base = NULL;
	uint64_t size = 0;
	uint8_t mac[6];
	uint64_t t[4];
	int32_t err;

	if (!e)
		return DH_ERR_NO_MEMORY;
	e->host = host;
	e->inst = inst;
	if ((err = host->instance_info(inst, &info)) != DH_OK)
		goto fail;
	e->irq_mode = info.irq_mode;
	/* One vector per queue and direction, or the causes would go unheard. */
	if (e->irq_mode == DH_IRQ_MSIX && info.irq_vectors != 0 && info.irq_vectors < MSIX_VECTORS) {
		e_log(e, DH_LOG_ERROR, "MSI-X with %u vectors: this driver needs %u (or MSI, or INTx)",
		      info.irq_vectors, MSIX_VECTORS);
		err = DH_ERR_DEVICE;
		goto fail;
	}
	if (host->bar_pointer(inst, 0, &base, &size) == DH_OK && size >= 0x20000)
		e->regs = base;
	/* Each step's time is in the log: attach is part of every restart. */
	t[0] = now_us();
	if ((err = reset_device(e, 0)) != DH_OK || (err = read_mac(e, mac)) != DH_OK)
		goto fail;
	t[1] = now_us();
	if ((err = alloc_dma(e)) != DH_OK)
		goto fail;
	t[2] = now_us();
	set_up_rings(e);
	t[3] = now_us();
	fill_device(e, mac);
	/* Bus mastering comes on once attach returns; start from the loop. */
	if ((err = host->timer_start(inst, TIMER_START, 1000, 0)) != DH_OK) {
		free_dma(e);
		goto fail;
	}
	e_log(e, DH_LOG_INFO, "82574L at %04x:%02x:%02x.%u, MAC %02x:%02x:%02x:%02x:%02x:%02x, irq mode %u, restart %u "
	      "(reset and MAC %llu us, DMA memory %llu us, rings %llu us)",
	      info.pci_domain, info.pci_bus, info.pci_slot, info.pci_function,
	      mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], info.irq_mode, info.restart_count,
	      (unsigned long long)(t[1] - t[0]), (unsigned long long)(t[2] - t[1]), (unsigned long long)(t[3] - t[2]));
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
