/* epoll, signalfd and timerfd: structs Swift imports badly (packed
 * epoll_event) or needs sigset macros for. */
#define _GNU_SOURCE
#include "CDrvHost.h"

#include <dlfcn.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

int cdh_epoll_create(void)
{
	return epoll_create1(EPOLL_CLOEXEC);
}

int cdh_epoll_add(int epfd, int fd, uint32_t events, uint64_t token)
{
	struct epoll_event ev = { .events = events, .data.u64 = token };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int cdh_epoll_del(int epfd, int fd)
{
	return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
}

int cdh_epoll_wait(int epfd, struct cdh_ready *ready, int max, int timeout_ms)
{
	struct epoll_event evs[64];
	int n, i;

	if (max > 64)
		max = 64;
	n = epoll_wait(epfd, evs, max, timeout_ms);
	for (i = 0; i < n; i++) {
		ready[i].token = evs[i].data.u64;
		ready[i].events = evs[i].events;
		ready[i].reserved = 0;
	}
	return n;
}

uint32_t cdh_epollin(void)
{
	return EPOLLIN;
}

int cdh_signalfd_for_termination(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked in this thread before any other thread exists, so every
	 * thread inherits the mask and the signals only reach the signalfd. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int cdh_signalfd_read(int fd)
{
	struct signalfd_siginfo info;
	ssize_t n = read(fd, &info, sizeof(info));

	if (n == (ssize_t)sizeof(info))
		return (int)info.ssi_signo;
	return n < 0 ? -1 : 0;
}

int cdh_socket_unread(int fd)
{
	int queued = 0;

	return ioctl(fd, SIOCOUTQ, &queued) < 0 ? -1 : queued;
}

int cdh_eventfd_create(void)
{
	return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

int cdh_timerfd_create(void)
{
	return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
}

int cdh_timerfd_set(int fd, uint64_t first_ns, uint64_t period_ns)
{
	struct itimerspec spec = {
		.it_value = { (time_t)(first_ns / 1000000000u), (long)(first_ns % 1000000000u) },
		.it_interval = { (time_t)(period_ns / 1000000000u), (long)(period_ns % 1000000000u) },
	};

	return timerfd_settime(fd, 0, &spec, NULL);
}

uint64_t cdh_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void *cdh_dlopen_now_local(const char *path)
{
	return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}
