/* hostd's one watcher (ChildWatcher.swift): epoll over every child's pidfd,
 * control channel and stderr, the sysfs attributes it waits on, and an
 * eventfd that wakes it for new work. The kernel's epoll_event is packed on
 * x86-64, so it is only touched here. */
#define _GNU_SOURCE
#include "CHostd.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

int chd_epoll_create(void)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int chd_epoll_add(int epfd, int fd, uint32_t events, uint64_t token)
{
	struct epoll_event event = { .events = events, .data.u64 = token };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event) < 0 ? -errno : 0;
}

int chd_epoll_del(int epfd, int fd)
{
	return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

int chd_epoll_wait(int epfd, struct chd_ready *ready, int max, int timeout_ms)
{
	struct epoll_event events[64];
	int n;

	if (max > 64)
		max = 64;
	do {
		n = epoll_wait(epfd, events, max, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		ready[i].token = events[i].data.u64;
		ready[i].events = events[i].events;
	}
	return n;
}

uint32_t chd_epoll_in(void) { return EPOLLIN; }
uint32_t chd_epoll_pri(void) { return EPOLLPRI; }

int chd_set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}
