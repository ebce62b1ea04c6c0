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
#define   ICR_RXQ0		(1u << 20)
#define   ICR_TXQ0		(1u << 22)
#define   ICR_OTHER		(1u << 24)
#define   IVAR_VALID		0x8u
#define   IVAR_RXQ0_SHIFT	0
#define   IVAR_TXQ0_SHIFT	8
#define   IVAR_OTHER_SHIFT	16
#define   IVAR_TX_EVERY_WB	(1u << 31)

/* Receive */
#define REG_RCTL		0x00100
#define   RCTL_EN		(1u << 1)
#define   RCTL_MPE		(1u << 4)	/* all multicast (IPv6 neighbour discovery) */
#define   RCTL_BAM		(1u << 15)	/* broadcast */
#define   RCTL_SECRC		(1u << 26)	/* strip the FCS */
/* BSIZE 00, BSEX 0: 2048-byte buffers; DTYP 00: legacy descriptors. */
#define REG_RDBAL		0x02800
#define REG_RDBAH		0x02804
#define REG_RDLEN		0x02808
#define REG_RDH			0x02810
#define REG_RDT			0x02818
#define REG_RDTR		0x02820
#define REG_RADV		0x0282c
#define REG_MTA			0x05200		/* 128 multicast table entries */
#define REG_RAL0		0x05400
#define REG_RAH0		0x05404
#define   RAH_AV		(1u << 31)	/* address valid */

/* Transmit */
#define REG_TCTL		0x00400
#define   TCTL_EN		(1u << 1)
#define   TCTL_PSP		(1u << 3)	/* pad short packets */
#define   TCTL_CT_SHIFT		4
#define   TCTL_COLD_SHIFT	12
#define   TCTL_RTLC		(1u << 24)
#define REG_TIPG		0x00410
#define   TIPG_COPPER		(8u | (8u << 10) | (6u << 20))
#define REG_TDBAL		0x03800
#define REG_TDBAH		0x03804
#define REG_TDLEN		0x03808
#define REG_TDH			0x03810
#define REG_TDT			0x03818
#define REG_TIDV		0x03820
#define REG_TARC0		0x03840
#define   TARC_ENABLE		(1u << 10)	/* the queue transmits at all */

/* Legacy descriptors: 16 bytes, little-endian like the host. */
struct e1000e_rx_desc {
	uint64_t addr;
	uint16_t length;
	uint16_t checksum;
	uint8_t status;
	uint8_t errors;
	uint16_t special;
};
#define RXD_STAT_DD		(1u << 0)	/* done */
#define RXD_STAT_EOP		(1u << 1)	/* end of packet */

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
