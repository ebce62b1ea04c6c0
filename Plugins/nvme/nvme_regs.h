/* SPDX-License-Identifier: MIT */
/*
 * NVM Express 1.4 base specification: the controller registers (BAR0), the
 * submission and completion queue entries and the few commands this plugin
 * sends. Only what the plugin uses.
 */
#ifndef NVME_REGS_H
#define NVME_REGS_H

#include <stdint.h>

/* PCI class 01h (mass storage), subclass 08h (NVM), prog-if 02h (NVMe). */
#define NVME_CLASS_CODE		0x010802u

/* ---- controller registers (BAR0) ------------------------------------------ */

#define NVME_REG_CAP		0x00	/* 64 bit */
#define   NVME_CAP_MQES(c)	((uint32_t)((c) & 0xffff))		/* max queue entries, 0-based */
#define   NVME_CAP_CQR(c)	((uint32_t)(((c) >> 16) & 1))		/* contiguous queues required */
#define   NVME_CAP_TO(c)	((uint32_t)(((c) >> 24) & 0xff))	/* ready timeout, 500 ms units */
#define   NVME_CAP_DSTRD(c)	((uint32_t)(((c) >> 32) & 0xf))		/* doorbell stride: 4 << DSTRD */
#define   NVME_CAP_CSS_NVM(c)	((uint32_t)(((c) >> 37) & 1))		/* NVM command set supported */
#define   NVME_CAP_MPSMIN(c)	((uint32_t)(((c) >> 48) & 0xf))		/* min page size: 2^(12+MPSMIN) */
#define NVME_REG_VS		0x08
#define NVME_REG_INTMS		0x0c	/* interrupt mask set (INTx, MSI only) */
#define NVME_REG_INTMC		0x10	/* interrupt mask clear */
#define NVME_REG_CC		0x14
#define   NVME_CC_EN		(1u << 0)
#define   NVME_CC_CSS_NVM	(0u << 4)
#define   NVME_CC_MPS_4K	(0u << 7)
#define   NVME_CC_AMS_RR	(0u << 11)
#define   NVME_CC_SHN_MASK	(3u << 14)
#define   NVME_CC_SHN_NORMAL	(1u << 14)
#define   NVME_CC_IOSQES	(6u << 16)	/* 2^6 = 64-byte SQ entries */
#define   NVME_CC_IOCQES	(4u << 20)	/* 2^4 = 16-byte CQ entries */
#define NVME_REG_CSTS		0x1c
#define   NVME_CSTS_RDY		(1u << 0)
#define   NVME_CSTS_CFS		(1u << 1)	/* controller fatal status */
#define   NVME_CSTS_SHST_MASK	(3u << 2)
#define   NVME_CSTS_SHST_DONE	(2u << 2)
#define NVME_REG_AQA		0x24	/* ACQS << 16 | ASQS, both 0-based */
#define NVME_REG_ASQ		0x28	/* 64 bit */
#define NVME_REG_ACQ		0x30	/* 64 bit */
#define NVME_REG_DOORBELLS	0x1000	/* SQ y tail at 2y * stride, CQ y head at (2y + 1) * stride */

/* ---- queue entries ----------------------------------------------------------- */

struct nvme_sqe {
	uint8_t  opcode;
	uint8_t  flags;		/* FUSE, PSDT: 0 (PRPs, not fused) */
	uint16_t cid;
	uint32_t nsid;
	uint32_t cdw2, cdw3;
	uint64_t mptr;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_cqe {
	uint32_t result;	/* command specific (DW0) */
	uint32_t reserved;
	uint16_t sq_head;
	uint16_t sq_id;
	uint16_t cid;
	uint16_t status;	/* bit 0: phase; bits 15..1: status field (0: success) */
};

_Static_assert(sizeof(struct nvme_sqe) == 64, "SQ entry layout");
_Static_assert(sizeof(struct nvme_cqe) == 16, "CQ entry layout");

#define NVME_CQE_PHASE(s)	((s) & 1u)
#define NVME_CQE_STATUS(s)	((uint16_t)((s) >> 1))	/* SCT << 8 | SC, plus CRD, More, DNR */

/* ---- commands ----------------------------------------------------------------- */

/* Admin */
#define NVME_ADMIN_CREATE_SQ	0x01
#define NVME_ADMIN_CREATE_CQ	0x05
#define NVME_ADMIN_IDENTIFY	0x06
#define NVME_ADMIN_SET_FEATURES	0x09

#define NVME_CNS_NAMESPACE	0x00
#define NVME_CNS_CONTROLLER	0x01

#define NVME_FEAT_NUM_QUEUES	0x07

#define NVME_QUEUE_PHYS_CONTIG	(1u << 0)	/* Create SQ/CQ cdw11 */
#define NVME_CQ_IRQ_ENABLED	(1u << 1)	/* Create CQ cdw11 */

/* NVM command set */
#define NVME_CMD_FLUSH		0x00
#define NVME_CMD_WRITE		0x01
#define NVME_CMD_READ		0x02
#define NVME_RW_FUA		(1u << 30)	/* cdw12 */

/* ---- Identify data (4096 bytes each), offsets used ------------------------------ */

#define NVME_ID_CTRL_SN		4	/* 20 ASCII bytes */
#define NVME_ID_CTRL_MN		24	/* 40 ASCII bytes */
#define NVME_ID_CTRL_MDTS	77	/* max transfer: 2^MDTS min pages, 0 unlimited */
#define NVME_ID_CTRL_SQES	512	/* max << 4 | required, log2 */
#define NVME_ID_CTRL_CQES	513
#define NVME_ID_CTRL_NN		516	/* 32 bit: namespaces */
#define NVME_ID_CTRL_VWC	525	/* bit 0: volatile write cache present */

#define NVME_ID_NS_NSZE		0	/* 64 bit: size in logical blocks */
#define NVME_ID_NS_NLBAF	25	/* LBA formats, 0-based */
#define NVME_ID_NS_FLBAS	26	/* bits 3..0: format in use; bit 4: metadata inline */
#define NVME_ID_NS_DPS		29	/* bits 2..0: protection information type */
#define NVME_ID_NS_LBAF		128	/* 16 x 32 bit: MS 15..0, LBADS 23..16 */

#define NVME_IDENTIFY_SIZE	4096

#endif /* NVME_REGS_H */
