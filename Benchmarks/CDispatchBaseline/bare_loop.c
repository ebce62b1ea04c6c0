/* The bare C epoll loop the dispatch benchmark compares driverhost with. */
#define _GNU_SOURCE
#include "CDispatchBaseline.h"

#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* EventLoop.drainRounds in DriverHostCore. */
#define CDB_DRAIN_ROUNDS 16

struct bare_device {
	int line;		/* eventfd */
	uint64_t raised;	/* value of the last raise */
	uint64_t seq;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct bare_device *dev_of(dh_instance *inst)
{
	return (struct bare_device *)(void *)inst;
}

static void bare_write32(dh_instance *inst, uint32_t bar, uint64_t offset, uint32_t value)
{
	struct bare_device *dev = dev_of(inst);
	uint64_t one = 1;

	if (bar == 0 && offset == 0x60) {
		dev->raised = value;
		if (write(dev->line, &one, sizeof(one)) < 0)
			dev->raised = 0;
	}
}

static void bare_log(dh_instance *inst, int32_t level, const char *msg)
{
	(void)inst;
	(void)level;
	(void)msg;
}

uint64_t cdb_run_bare_loop(const struct dh_plugin *plugin, const char *arm_command, uint64_t events)
{
	struct bare_device dev = { -1, 0, 0 };
	struct dh_host host;
	struct epoll_event ready[64], add;
	dh_command_fn arm = NULL;
	void *ctx = NULL;
	uint64_t delivered = 0, start, elapsed = 0;
	int epfd = -1;
	uint32_t i;

	for (i = 0; i < plugin->command_count; i++)
		if (strcmp(plugin->commands[i].name, arm_command) == 0)
			arm = plugin->commands[i].fn;
	if (!arm)
		return 0;
	memset(&host, 0, sizeof(host));
	host.abi_major = DH_ABI_MAJOR;
	host.abi_minor = DH_ABI_MINOR;
	host.struct_size = sizeof(host);
	host.log = bare_log;
	host.write32 = bare_write32;
	dev.line = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	add.events = EPOLLIN;
	add.data.u64 = 1;
	if (dev.line < 0 || epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, dev.line, &add) < 0)
		goto out;
	if (plugin->attach(&host, (dh_instance *)(void *)&dev, &ctx) != DH_OK)
		goto out;

	start = now_ns();
	((uint64_t (*)(void *, uint64_t))arm)(ctx, events);
	while (delivered < events) {
		int n = epoll_wait(epfd, ready, 64, -1), k;

		/* Drain like driverhost does (same bound), so that the ratio
		 * measures dispatch overhead, not a different loop strategy. */
		for (k = 0; k < n; k++) {
			uint64_t count;
			struct dh_event ev;
			int round;

			for (round = 0; round < CDB_DRAIN_ROUNDS; round++) {
				if (read(dev.line, &count, sizeof(count)) != sizeof(count))
					break;
				memset(&ev, 0, sizeof(ev));
				ev.seq = ++dev.seq;
				ev.timestamp_ns = now_ns();
				ev.nsnap = 1;
				ev.snap[0] = dev.raised;
				plugin->interrupt(ctx, &ev);
				delivered++;
			}
		}
	}
	elapsed = now_ns() - start;
	plugin->detach(ctx);
out:
	if (epfd >= 0)
		close(epfd);
	if (dev.line >= 0)
		close(dev.line);
	return elapsed;
}
