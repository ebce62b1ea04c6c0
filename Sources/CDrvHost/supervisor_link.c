/* The driverhost's side of its supervisor's channel, as system calls Swift's
 * Glibc cannot spell (cmsg macros, SO_PEERCRED, atomics): receiving bytes
 * with a descriptor attached, accepting only a trusted peer, and writing to
 * stderr without ever blocking or dying when the reader is gone. */
#define _GNU_SOURCE
#include "CDrvHost.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

ssize_t cdh_recv_with_fd(int sock, void *buffer, size_t length, int *fd)
{
	union {
		struct cmsghdr header;
		char space[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = buffer, .iov_len = length };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.space, .msg_controllen = sizeof(control.space),
	};
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == ENOTSOCK) {
		/* A pipe or FIFO as the channel (a test's, a benchmark's). */
		do
			n = read(sock, buffer, length);
		while (n < 0 && errno == EINTR);
	}
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < count; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*fd < 0)
				*fd = got;
			else
				close(got); /* one descriptor per message, no more */
		}
	}
	return n;
}

ssize_t cdh_send_nowait(int sock, const void *buffer, size_t length)
{
	ssize_t n;

	do
		n = send(sock, buffer, length, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == ENOTSOCK) {
		do
			n = write(sock, buffer, length);
		while (n < 0 && errno == EINTR);
	}
	return n < 0 ? -errno : n;
}

int cdh_accept_trusted(int listener, uid_t *peer_uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd;

	do
		fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	*peer_uid = cred.uid;
	if (cred.uid != 0 && cred.uid != geteuid()) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

int cdh_replace_stderr(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || dup2(fd, STDERR_FILENO) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	close(fd);
	return 0;
}

int cdh_stderr_nonblocking_if_pipe(void)
{
	struct stat info;
	int flags;

	if (fstat(STDERR_FILENO, &info) != 0 || !S_ISFIFO(info.st_mode))
		return 0;
	flags = fcntl(STDERR_FILENO, F_GETFL);
	return flags >= 0 && fcntl(STDERR_FILENO, F_SETFL, flags | O_NONBLOCK) == 0;
}

static atomic_ulong log_dropped;

unsigned long cdh_log_write(const void *line, size_t length)
{
	unsigned long dropped = atomic_exchange(&log_dropped, 0);
	ssize_t n;

	if (dropped) {
		char notice[96];
		int len = snprintf(notice, sizeof(notice),
				   "driverhost: warning: %lu log lines dropped (stderr full or gone)\n", dropped);

		if (write(STDERR_FILENO, notice, (size_t)len) != len) {
			atomic_fetch_add(&log_dropped, dropped + 1);
			return dropped + 1;
		}
	}
	do
		n = write(STDERR_FILENO, line, length);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		atomic_fetch_add(&log_dropped, 1);
	return 0;
}

void cdh_ignore_sigpipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}
