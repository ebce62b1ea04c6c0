/* SPDX-License-Identifier: MIT */
/*
 * halfline SOCKET N: a hostile control client for hostd's tests. Opens N
 * connections to the Unix socket SOCKET, sends half a request on each (no
 * newline) and keeps them open until its standard input ends. It prints
 * "held H refused R" once every connection has either been answered with a
 * refusal (a line, then end of file) or stayed silent while the others were
 * refused: that is, once H + R == N and R answers came, or after 10 s.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 256

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int main(int argc, char **argv)
{
	static const char half[] = "{\"id\":1,\"op\":\"instan";
	struct pollfd fds[MAX_CONNECTIONS];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int n, expected_refusals, refused = 0;
	char buffer[4096];
	long deadline;

	if (argc != 4 || strlen(argv[1]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "usage: halfline SOCKET N EXPECTED_REFUSALS\n");
		return 2;
	}
	n = atoi(argv[2]);
	expected_refusals = atoi(argv[3]);
	if (n < 1 || n > MAX_CONNECTIONS || expected_refusals < 0 || expected_refusals > n) {
		fprintf(stderr, "halfline: N must be 1..%d, EXPECTED_REFUSALS 0..N\n", MAX_CONNECTIONS);
		return 2;
	}
	strcpy(addr.sun_path, argv[1]);
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
			perror("halfline: connect");
			return 1;
		}
		if (write(fd, half, sizeof(half) - 1) < 0) {
			perror("halfline: write");
			return 1;
		}
		fds[i] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	/* Wait for the refusals, bounded; the held connections never answer. */
	deadline = now_ms() + 10000;
	while (refused < expected_refusals && now_ms() < deadline) {
		int ready = poll(fds, (nfds_t)n, (int)(deadline - now_ms()));

		if (ready < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n && ready > 0; i++) {
			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			ssize_t got = read(fds[i].fd, buffer, sizeof(buffer) - 1);

			buffer[got > 0 ? got : 0] = '\0';
			if (got <= 0 || strstr(buffer, "busy")) {
				refused++;
				close(fds[i].fd);
				fds[i].fd = -1;
			}
		}
	}
	printf("held %d refused %d\n", n - refused, refused);
	fflush(stdout);
	/* Keep the held connections until told to go. */
	while (read(0, buffer, sizeof(buffer)) > 0)
		;
	return 0;
}
