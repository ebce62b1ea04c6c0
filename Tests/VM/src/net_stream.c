/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * net_stream: the net class tests' and benchmarks' traffic, with what they
 * judge printed as `key=value` words on one line.
 *
 *   net_stream recv PORT TIMEOUT_S
 *       accept one TCP connection, read it to its end; prints bytes, hash
 *       (FNV-1a 64 of the data), ms (first byte to end), mbit_s and
 *       max_gap_ms (the longest wait between two reads), or error=...
 *   net_stream send ADDR PORT BYTES TIMEOUT_S
 *       connect (retrying while the receiver is not listening yet, within
 *       the timeout), send BYTES of a fixed pseudo-random stream, close the
 *       sending side, wait for the receiver to close; prints bytes and hash
 *       of what was sent, ms, or error=... (a reset is error=Connection
 *       reset by peer)
 *   net_stream outage IFACE PID TIMEOUT_MS
 *       SIGSEGV to PID, then the milliseconds until IFACE's carrier is on
 *       again after it went off: ms=..., or error=... when it did not come
 *       back within the timeout. The carrier is looked at whenever the
 *       kernel announces a link change (rtnetlink) and every 2 ms besides:
 *       a tighter poll would take the single vCPU from the restart it
 *       measures (every 200 us took about a third of it).
 *
 * Exit status 0 unless an error was printed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t fnv1a(uint64_t hash, const uint8_t *p, size_t n)
{
	while (n--) {
		hash ^= *p++;
		hash *= 0x100000001b3ull;
	}
	return hash;
}

#define FNV_START 0xcbf29ce484222325ull

static void fill(uint8_t *buf, size_t n, uint64_t *state)
{
	size_t i;

	for (i = 0; i < n; i++) {
		/* xorshift64: cheap, and no two chunks alike */
		*state ^= *state << 13;
		*state ^= *state >> 7;
		*state ^= *state << 17;
		buf[i] = (uint8_t)*state;
	}
}

static void set_timeout(int fd, int seconds)
{
	struct timeval tv = { seconds, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int fail(const char *what)
{
	printf("error=%s: %s\n", what, strerror(errno));
	return 1;
}

static int do_recv(int port, int timeout_s)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	static uint8_t buf[CHUNK];
	uint64_t hash = FNV_START, bytes = 0, first = 0, last = 0, gap = 0, t;
	int one = 1, lfd, fd;
	ssize_t n;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		return fail("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 1))
		return fail("bind/listen");
	set_timeout(lfd, timeout_s);
	printf("listening\n");
	fflush(stdout);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return fail("accept");
	set_timeout(fd, timeout_s);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		t = now_ns();
		if (!first)
			first = t;
		else if (t - last > gap)
			gap = t - last;
		last = t;
		hash = fnv1a(hash, buf, (size_t)n);
		bytes += (uint64_t)n;
	}
	if (n < 0)
		return fail("read");
	t = last > first ? last - first : 1;
	printf("bytes=%llu hash=%016llx ms=%llu mbit_s=%.2f max_gap_ms=%llu\n", (unsigned long long)bytes,
	       (unsigned long long)hash, (unsigned long long)(t / 1000000), (double)bytes * 8e3 / (double)t,
	       (unsigned long long)(gap / 1000000));
	close(fd);
	return 0;
}

static int do_send(const char *host, int port, uint64_t total, int timeout_s)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	static uint8_t buf[CHUNK];
	uint64_t hash = FNV_START, sent = 0, state = 0x9e3779b97f4a7c15ull, start, deadline;
	int fd = -1;
	ssize_t n;

	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		printf("error=bad address %s\n", host);
		return 1;
	}
	deadline = now_ns() + (uint64_t)timeout_s * 1000000000ull;
	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return fail("socket");
		set_timeout(fd, timeout_s);
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			break;
		if (errno != ECONNREFUSED || now_ns() > deadline)
			return fail("connect");
		close(fd);
		usleep(20000);
	}
	start = now_ns();
	while (sent < total) {
		size_t want = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
		size_t off = 0;

		fill(buf, want, &state);
		hash = fnv1a(hash, buf, want);
		while (off < want) {
			n = write(fd, buf + off, want - off);
			if (n < 0)
				return fail("write");
			off += (size_t)n;
		}
		sent += want;
	}
	if (shutdown(fd, SHUT_WR))
		return fail("shutdown");
	/* The receiver closes once it has it all. */
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		return fail("read");
	printf("bytes=%llu hash=%016llx ms=%llu\n", (unsigned long long)sent, (unsigned long long)hash,
	       (unsigned long long)((now_ns() - start) / 1000000));
	close(fd);
	return 0;
}

static int carrier(const char *iface)
{
	char path[128], c = '?';
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/carrier", iface);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) != 1)
		c = '?';
	close(fd);
	return c == '1' ? 1 : c == '0' ? 0 : -1;
}

/* A socket that becomes readable at every link change (RTMGRP_LINK). */
static int link_changes(void)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		return -1;
	return fd;
}

static int do_outage(const char *iface, pid_t pid, uint64_t timeout_ms)
{
	uint64_t start, deadline;
	int went_off = 0, c, nl;
	char drain[8192];

	if (carrier(iface) != 1) {
		printf("error=%s has no carrier before the crash\n", iface);
		return 1;
	}
	nl = link_changes();
	if (nl < 0)
		return fail("rtnetlink");
	start = now_ns();
	deadline = start + timeout_ms * 1000000ull;
	if (kill(pid, SIGSEGV))
		return fail("kill");
	while (now_ns() < deadline) {
		c = carrier(iface);
		if (c == 0)
			went_off = 1;
		if (c == 1 && went_off) {
			printf("ms=%.1f\n", (double)(now_ns() - start) / 1e6);
			close(nl);
			return 0;
		}
		struct pollfd p = { .fd = nl, .events = POLLIN };
		if (poll(&p, 1, 2) > 0)
			while (recv(nl, drain, sizeof(drain), 0) > 0)
				;
	}
	close(nl);
	printf("error=carrier %s within %llu ms\n", went_off ? "not back" : "never went off",
	       (unsigned long long)timeout_ms);
	return 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "recv"))
		return do_recv(atoi(argv[2]), atoi(argv[3]));
	if (argc == 6 && !strcmp(argv[1], "send"))
		return do_send(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 0), atoi(argv[5]));
	if (argc == 5 && !strcmp(argv[1], "outage"))
		return do_outage(argv[2], (pid_t)atoi(argv[3]), strtoull(argv[4], NULL, 0));
	fprintf(stderr, "usage: net_stream recv PORT TIMEOUT_S | send ADDR PORT BYTES TIMEOUT_S | outage IFACE PID TIMEOUT_MS\n");
	return 2;
}
