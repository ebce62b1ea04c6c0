/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * sd_ready TIMEOUT_S LOG -- COMMAND [ARG...]
 *
 * Plays systemd's part of Type=notify for the VM suites: binds a datagram
 * socket, starts COMMAND with NOTIFY_SOCKET pointing at it (stdout and
 * stderr appended to LOG), and waits for a datagram holding READY=1. Then
 * prints "ready PID", stays the command's parent and exits with its exit
 * status (128 + signal if killed), so that a shell can `wait` for it. Prints
 * "exited N" or "timeout" (and exits 1) if it never got ready.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char buf[4096];
	int sock, logfd, status;
	pid_t pid;
	long deadline_ms;
	struct timespec now;

	if (argc < 5 || strcmp(argv[3], "--") != 0) {
		fprintf(stderr, "usage: sd_ready TIMEOUT_S LOG -- COMMAND [ARG...]\n");
		return 2;
	}
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/tmp/sd_ready.%d", getpid());
	unlink(addr.sun_path);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		fprintf(stderr, "sd_ready: socket %s: %s\n", addr.sun_path, strerror(errno));
		return 1;
	}
	logfd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		fprintf(stderr, "sd_ready: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		setenv("NOTIFY_SOCKET", addr.sun_path, 1);
		dup2(logfd, 1);
		dup2(logfd, 2);
		execvp(argv[4], argv + 4);
		fprintf(stderr, "sd_ready: exec %s: %s\n", argv[4], strerror(errno));
		_exit(127);
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	deadline_ms = now.tv_sec * 1000 + now.tv_nsec / 1000000 + atol(argv[1]) * 1000;
	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		long left;
		ssize_t n;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			printf("exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = deadline_ms - (now.tv_sec * 1000 + now.tv_nsec / 1000000);
		if (left <= 0) {
			printf("timeout\n");
			return 1;
		}
		/* Short slices: the child's death is noticed by waitpid above. */
		if (poll(&p, 1, left < 100 ? (int)left : 100) <= 0)
			continue;
		n = recv(sock, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = 0;
		if (strstr(buf, "READY=1"))
			break;
	}
	printf("ready %d\n", pid);
	fflush(stdout);
	close(sock);
	unlink(addr.sun_path);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
