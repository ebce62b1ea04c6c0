/* SPDX-License-Identifier: MIT */
/*
 * Intel 82574L (QEMU -device e1000e) registers and descriptors used by the
 * drvhost e1000e plugin, from Intel's "82574 GbE Controller Family
 * Datasheet". BAR0 is the 128 KiB register space; BAR3 holds the MSI-X table.
 */
#ifndef E1000E_REGS_H
#define E1000E_REGS_H

#include <stdint.h>

#define E1000E_VENDOR		0x8086
#define E1000E_DEVICE_82574L	0x10d3

/* General */
#define REG_CTRL		0x00000
#define   CTRL_GIO_MASTER_DISABLE (1u << 2)
#define   CTRL_SLU		(1u << 6)	/* set link up */
#define   CTRL_FRCSPD		(1u << 11)
#define   CTRL_FRCDPX		(1u << 12)
#define   CTRL_RST		(1u << 26)
#define REG_STATUS		0x00008
#define   STATUS_LU		(1u << 1)	/* link up */
#define   STATUS_GIO_MASTER_ENABLE (1u << 19)
#define REG_EERD		0x00014		/* EEPROM read */
#define   EERD_START		(1u << 0)
#define   EERD_DONE		(1u << 1)
#define   EERD_ADDR_SHIFT	2
#define   EERD_DATA_SHIFT	16
#define REG_CTRL_EXT		0x00018
#define   CTRL_EXT_EIAME	(1u << 24)
#define   CTRL_EXT_IAME		(1u << 27)
#define   CTRL_EXT_PBA_CLR	(1u << 31)

/* Interrupts */
#define REG_ICR			0x000c0		/* cause; cleared by reading (IAME) or writing 1s */
#define REG_ITR			0x000c4		/* throttling, in 256 ns units */
#define REG_ICS			0x000c8
#define REG_IMS			0x000d0		/* mask set (enable) */
#define REG_IMC			0x000d8		/* mask clear (disable) */
#define REG_EIAC		0x000dc		/* MSI-X: causes cleared when their vector fires */
#define REG_IAM			0x000e0		/* causes masked on ICR read (IAME) */
#define REG_IVAR		0x000e4		/* MSI-X: cause -> vector */
#define REG_EITR(n)		(0x000e8 + 4 * (n))
#define   ICR_TXDW		(1u << 0)	/* transmit descriptor written back */
#define   ICR_LSC		(1u << 2)	/* link status change */
#define   ICR_RXDMT0		(1u << 4)	/* receive descriptors below threshold */
#define   ICR_RXO		(1u << 6)	/* receive overrun */
#define   ICR_RXT0		(1u << 7)	/* receive timer (a frame arrived) */
#define   ICR_RXQ(q)		(1u << (20 + (q)))	/* MSI-X: receive queue q (0, 1) */
#define   ICR_TXQ(q)		(1u << (22 + (q)))	/* MSI-X: transmit queue q */
#define   ICR_OTHER		(1u << 24)
/* IVAR: a 4-bit entry per cause, vector number and valid bit. */
#define   IVAR_VALID		0x8u
#define   IVAR_RXQ_SHIFT(q)	(4 * (q))
#define   IVAR_TXQ_SHIFT(q)	(8 + 4 * (q))
#define   IVAR_OTHER_SHIFT	16
#define   IVAR_TX_EVERY_WB	(1u << 31)

/* Receive */
#define REG_RCTL		0x00100
#define   RCTL_EN		(1u << 1)
#define   RCTL_MPE		(1u << 4)	/* all multicast (IPv6 neighbour discovery) */
#define   RCTL_BAM		(1u << 15)	/* broadcast */
#define   RCTL_SECRC		(1u << 26)	/* strip the FCS */
/* BSIZE 00, BSEX 0: 2048-byte buffers; DTYP 00: one buffer per descriptor. */
/* Two receive queues, 0x100 apart; RSS picks one per flow. */
#define REG_RDBAL(q)		(0x02800 + 0x100 * (q))
#define REG_RDBAH(q)		(0x02804 + 0x100 * (q))
#define REG_RDLEN(q)		(0x02808 + 0x100 * (q))
#define REG_RDH(q)		(0x02810 + 0x100 * (q))
#define REG_RDT(q)		(0x02818 + 0x100 * (q))
#define REG_RDTR		0x02820
#define REG_RADV		0x0282c
#define REG_RXCSUM		0x05000
#define   RXCSUM_PCSD		(1u << 13)	/* descriptors carry the RSS hash, not a checksum */
#define REG_RFCTL		0x05008
#define   RFCTL_EXTEN		(1u << 15)	/* extended receive descriptors */
#define REG_MTA			0x05200		/* 128 multicast table entries */
#define REG_RAL0		0x05400
#define REG_RAH0		0x05404
#define   RAH_AV		(1u << 31)	/* address valid */
#define REG_MRQC		0x05818
#define   MRQC_RSS_2Q		(1u << 0)	/* RSS over the two queues */
#define   MRQC_HASH_TCP_IPV4	(1u << 16)
#define   MRQC_HASH_IPV4	(1u << 17)
#define   MRQC_HASH_TCP_IPV6	(1u << 18)
#define   MRQC_HASH_IPV6	(1u << 20)
#define REG_RETA(n)		(0x05c00 + 4 * (n))	/* 32 registers, 128 one-byte entries */
#define   RETA_QUEUE1		0x80u		/* an entry's bit 7: queue 1 */
#define REG_RSSRK(n)		(0x05c80 + 4 * (n))	/* 10 registers: the 40-byte hash key */

/* Transmit */
#define REG_TCTL		0x00400
#define   TCTL_EN		(1u << 1)
#define   TCTL_PSP		(1u << 3)	/* pad short packets */
#define   TCTL_CT_SHIFT		4
#define   TCTL_COLD_SHIFT	12
#define   TCTL_RTLC		(1u << 24)
#define REG_TIPG		0x00410
#define   TIPG_COPPER		(8u | (8u << 10) | (6u << 20))
/* Two transmit queues, 0x100 apart. */
#define REG_TDBAL(q)		(0x03800 + 0x100 * (q))
#define REG_TDBAH(q)		(0x03804 + 0x100 * (q))
#define REG_TDLEN(q)		(0x03808 + 0x100 * (q))
#define REG_TDH(q)		(0x03810 + 0x100 * (q))
#define REG_TDT(q)		(0x03818 + 0x100 * (q))
#define REG_TIDV		0x03820
#define REG_TARC(q)		(0x03840 + 0x100 * (q))
#define   TARC_ENABLE		(1u << 10)	/* the queue transmits at all */

/* Descriptors: 16 bytes, little-endian like the host. Receive uses the
 * extended format (RSS needs it): the driver writes the buffer's address,
 * the device writes back status, length and the RSS result over it. */
union e1000e_rx_desc {
	struct {
		uint64_t addr;
		uint64_t zero;		/* DD must read 0 until written back */
	} read;
	struct {
		uint32_t mrq;		/* RSS type, queue */
		uint32_t rss_hash;
		uint32_t status_error;	/* status bits 19:0, errors 31:20 */
		uint16_t length;
		uint16_t vlan;
	} wb;
};
#define RXD_STAT_DD		(1u << 0)	/* done */
#define RXD_STAT_EOP		(1u << 1)	/* end of packet */
#define RXD_ERR_FRAME		0x97000000u	/* CRC, symbol, sequence, carrier extension, RX data errors */

struct e1000e_tx_desc {
	uint64_t addr;
	uint16_t length;
	uint8_t cso;
	uint8_t cmd;
	uint8_t status;
	uint8_t css;
	uint16_t special;
};
#define TXD_CMD_EOP		(1u << 0)
#define TXD_CMD_IFCS		(1u << 1)	/* insert the FCS */
#define TXD_CMD_RS		(1u << 3)	/* report status (DD) */
#define TXD_STAT_DD		(1u << 0)

#endif /* E1000E_REGS_H */
