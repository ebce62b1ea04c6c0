/* SPDX-License-Identifier: MIT */
/*
 * QEMU's educational PCI device ("edu", 1234:11e8), BAR0 register map, from
 * QEMU docs/specs/edu.rst. Only 4-byte accesses below 0x80.
 */
#ifndef EDU_REGS_H
#define EDU_REGS_H

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8

#define EDU_REG_ID		0x00	/* 0xRRrr00ed: major, minor, 0x00, 0xed */
#define EDU_REG_LIVENESS	0x04	/* reads back the bitwise NOT of what was written */
#define EDU_REG_FACTORIAL	0x08	/* write n: computes n! (32 bits) */
#define EDU_REG_STATUS		0x20
#define   EDU_STATUS_COMPUTING	0x01	/* factorial in progress (read only) */
#define   EDU_STATUS_IRQ_FACT	0x80	/* raise interrupt 0x01 when n! is done */
#define EDU_REG_IRQ_STATUS	0x24	/* pending interrupt bits; line asserted while != 0 */
#define EDU_REG_IRQ_RAISE	0x60	/* write v: irq_status |= v */
#define EDU_REG_IRQ_ACK		0x64	/* write v: irq_status &= ~v */
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define   EDU_DMA_RUN		0x01
#define   EDU_DMA_TO_RAM	0x02	/* device buffer -> RAM; clear: RAM -> device */
#define   EDU_DMA_IRQ		0x04	/* raise interrupt 0x100 when done */

#define EDU_IRQ_FACTORIAL	0x00000001u
#define EDU_IRQ_DMA		0x00000100u

#define EDU_DMA_BUFFER		0x40000	/* device-side DMA buffer, in the DMA address space */
#define EDU_DMA_BUFFER_SIZE	4096
#define EDU_DMA_MASK_BITS	28

/*
 * Release marker: the release program writes EDU_RELEASE_MARKER to the
 * liveness register as its last step, so after a crash BAR0+0x04 reads
 * ~EDU_RELEASE_MARKER = EDU_RELEASE_MARKER_READBACK. Nothing else writes
 * that value, so seeing it proves the kernel ran the release program.
 */
#define EDU_RELEASE_MARKER		0xD15EA5EDu
#define EDU_RELEASE_MARKER_READBACK	0x2EA15A12u

#endif /* EDU_REGS_H */
