/* The class device's queues hostd keeps across driverhost crashes (a TAP
 * interface's): taken from a driverhost with pidfd_getfd, handed to the
 * next one with SCM_RIGHTS, and the TAP carrier turned off in between.
 * Variadic ioctl and cmsg macros stay in C. */
#define _GNU_SOURCE
#include "CHostd.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

int chd_pidfd_getfd(int pidfd, int target_fd)
{
	int fd = (int)syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);

	return fd >= 0 ? fd : -errno;
}

int chd_send_with_fds(int sock, const void *buffer, size_t length, const int *fds, int count)
{
	union {
		struct cmsghdr header;
		char space[CMSG_SPACE(sizeof(int) * CHD_MAX_HANDED_FDS)];
	} control;
	struct iovec iov = { .iov_base = (void *)buffer, .iov_len = length };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t n;

	if (count < 0 || count > CHD_MAX_HANDED_FDS)
		return -EINVAL;
	if (count > 0) {
		memset(&control, 0, sizeof(control));
		msg.msg_control = control.space;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * count);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * count);
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)length ? 0 : n < 0 ? -errno : -EIO;
}

int chd_tap_set_carrier(int fd, int up)
{
	int value = up ? 1 : 0;

	return ioctl(fd, TUNSETCARRIER, &value) == 0 ? 0 : -errno;
}
