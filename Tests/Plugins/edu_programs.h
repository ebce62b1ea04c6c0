/* SPDX-License-Identifier: MIT */
/* The edu plugin's match, ACK and RELEASE programs, shared by the misbehaving
 * test plugins so that they drive a real edu device the same way and leave the
 * same release marker behind. Keep in step with Plugins/edu/edu.c. */
#ifndef TEST_EDU_PROGRAMS_H
#define TEST_EDU_PROGRAMS_H

#include <drvhost/plugin.h>
#include "../../Plugins/edu/edu_regs.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static const struct dh_pci_match edu_matches[] = {
	DH_MATCH_ID(EDU_VENDOR, EDU_DEVICE),
};

static const struct dh_insn edu_ack[] = {
	DH_INSN_READ(4, 0, EDU_REG_IRQ_STATUS),
	DH_INSN_NOT_MINE_IF_ZERO(),
	DH_INSN_SNAPSHOT(),
	DH_INSN_WRITE(4, 0, EDU_REG_IRQ_ACK),
};

static const struct dh_insn edu_release[] = {
	DH_INSN_WRITE_IMM(4, 0, EDU_REG_STATUS, 0),
	DH_INSN_READ(4, 0, EDU_REG_IRQ_STATUS),
	DH_INSN_WRITE(4, 0, EDU_REG_IRQ_ACK),
	DH_INSN_WRITE_IMM(4, 0, EDU_REG_LIVENESS, EDU_RELEASE_MARKER),
};

#define EDU_DESCRIPTOR_FIELDS \
	.matches = edu_matches, \
	.match_count = COUNT_OF(edu_matches), \
	.irq_mode = DH_IRQ_INTX_SHARED, \
	.ack_len = COUNT_OF(edu_ack), \
	.ack_program = edu_ack, \
	.release_len = COUNT_OF(edu_release), \
	.release_program = edu_release

#endif
