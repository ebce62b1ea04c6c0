/* Descriptors handed over with SCM_RIGHTS on the supervisor's channel
 * (hostd's TAP queues ride on a standby's "start" line). cmsg macros stay
 * in C, where they are defined. */
#define _GNU_SOURCE
#include "CDrvHost.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CDH_MAX_PASSED_FDS 16

ssize_t cdh_recv_with_fds(int sock, void *buffer, size_t length, int *fds, int max, int *count)
{
	union {
		struct cmsghdr header;
		char space[CMSG_SPACE(sizeof(int) * CDH_MAX_PASSED_FDS)];
	} control;
	struct iovec iov = { .iov_base = buffer, .iov_len = length };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.space, .msg_controllen = sizeof(control.space),
	};
	struct cmsghdr *c;
	ssize_t n;

	*count = 0;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		int i, k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int *passed = (int *)CMSG_DATA(c);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		/* Whatever does not fit is closed: never leak a descriptor. */
		for (i = 0; i < k; i++) {
			if (*count < max)
				fds[(*count)++] = passed[i];
			else
				close(passed[i]);
		}
	}
	return n;
}
