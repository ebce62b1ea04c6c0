// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * t_poll_time BDF
 *
 * A POLL's timeout is elapsed time. A RELEASE program polls edu's ID
 * register for a bit that never comes, with the whole wait budget (1 s) as
 * its timeout; RESET runs it. Reads of a device register take time (under
 * TCG, more than the 1 us a poll used to count per read), yet RESET must
 * return within a little more than 1 s, and the poll must not have spun on
 * the CPU all that time. A poll whose bit is there ends at once.
 */
#include "vmtest.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#define BUDGET_MS	(DRVPROXY_PROG_MAX_WAIT_US / 1000)
#define SLACK_MS	200
#define MAX_CPU_MS	(BUDGET_MS / 2)
#define ID_BIT_SET	0x01u	/* EDU_ID_VALUE is 0x010000ed */
#define ID_BIT_CLEAR	0x02u

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void set_poll(int fd, uint32_t mask, uint32_t expect)
{
	const struct drvproxy_insn release[] = {
		{ .op = DRVPROXY_OP_POLL, .width = 4, .offset = EDU_ID, .imm = mask,
		  .expect = expect, .timeout_us = DRVPROXY_PROG_MAX_WAIT_US },
	};

	vt_set_prog(fd, DRVPROXY_PROG_RELEASE, 0, release, 1);
}

/* RESET runs the release sequence; returns its wall time, CPU time in *cpu. */
static uint64_t timed_reset(int fd, uint64_t *cpu)
{
	uint64_t t0 = vt_now_ns(), c0 = cpu_ns();

	vt_check(ioctl(fd, DRVPROXY_IOC_RESET) == 0, "ioctl RESET: %m");
	*cpu = (cpu_ns() - c0) / 1000000u;
	return (vt_now_ns() - t0) / 1000000u;
}

int main(int argc, char **argv)
{
	uint64_t wall, cpu;
	struct vt_dev dev;

	vt_begin("drvproxy_poll_time", 60);
	vt_check(argc == 2, "usage: t_poll_time BDF");
	vt_dev_open(&dev, argv[1]);
	vt_check(edu_read(dev.bar0, EDU_ID) == EDU_ID_VALUE, "edu ID 0x%x",
		 edu_read(dev.bar0, EDU_ID));

	set_poll(dev.fd, ID_BIT_SET, ID_BIT_SET);
	wall = timed_reset(dev.fd, &cpu);
	vt_check(wall < SLACK_MS, "a poll satisfied at once took %llu ms",
		 (unsigned long long)wall);

	set_poll(dev.fd, ID_BIT_CLEAR, ID_BIT_CLEAR);
	wall = timed_reset(dev.fd, &cpu);
	vt_note("a %d ms poll took %llu ms, %llu ms of CPU", BUDGET_MS,
		(unsigned long long)wall, (unsigned long long)cpu);
	vt_check(wall >= BUDGET_MS - 1, "a %d ms poll gave up after %llu ms", BUDGET_MS,
		 (unsigned long long)wall);
	vt_check(wall <= BUDGET_MS + SLACK_MS, "a %d ms poll took %llu ms: its "
		 "timeout is not elapsed time", BUDGET_MS, (unsigned long long)wall);
	vt_check(cpu <= MAX_CPU_MS, "a %d ms poll used %llu ms of CPU: it spins",
		 BUDGET_MS, (unsigned long long)cpu);

	/* No second poll at close. */
	vt_set_prog(dev.fd, DRVPROXY_PROG_RELEASE, 0, NULL, 0);
	vt_dev_close(&dev);
	vt_pass();
}
