/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * net_stream: the net class tests' and benchmarks' traffic, with what they
 * judge printed as `key=value` words on one line.
 *
 *   net_stream recv PORT TIMEOUT_S
 *       accept one TCP connection, read it to its end; prints bytes, hash
 *       (FNV-1a 64 of the data), ms (first byte to end), mbit_s,
 *       max_gap_ms (the longest wait between two reads) and gaps_ms (each
 *       wait over 50 ms, in order, at most 16, as MS@END: END the moment
 *       it ended, CLOCK_MONOTONIC in ms), or error=...
 *   net_stream send ADDR PORT BYTES TIMEOUT_S
 *       connect (retrying while the receiver is not listening yet, within
 *       the timeout), send BYTES of a fixed pseudo-random stream, close the
 *       sending side, wait for the receiver to close; prints bytes and hash
 *       of what was sent, ms, or error=... (a reset is error=Connection
 *       reset by peer)
 *   net_stream outage IFACE PID TIMEOUT_MS
 *       SIGSEGV to PID (IFACE's driverhost, while traffic flows), then the
 *       milliseconds until frames come in through IFACE again: the first
 *       received frame (rx_packets, what a driverhost writes to the TAP)
 *       after PID's exit, with the carrier on: ms=..., or error=... when
 *       none came within the timeout. The interface is looked at whenever
 *       the kernel announces a link change (rtnetlink) and every 2 ms
 *       besides: a tighter poll would take the single vCPU from the
 *       restart it measures (every 200 us took about a third of it).
 *   net_stream outage IFACE PID TIMEOUT_MS LOG NAME=TEXT...
 *       the same, and where the time went, on the same line: at= (the
 *       signal, CLOCK_MONOTONIC in ms), exit= (the
 *       process is gone, the kernel's release done), off= (carrier off, -1
 *       if it stayed on), and NAME= for the first line of LOG written after
 *       the signal that holds TEXT (- if none came before the frames);
 *       LOG's lines go to stderr, stamped.
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
#include <sys/syscall.h>
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
	uint64_t gaps[16], gap_ends[16];
	int one = 1, lfd, fd, long_gaps = 0, i;
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
		else {
			if (t - last > gap)
				gap = t - last;
			/* Each crash's own gap, beside the longest (the caller
			 * tells a crash's from another's by the time). */
			if (t - last > 50000000ull && long_gaps < 16) {
				gap_ends[long_gaps] = t;
				gaps[long_gaps++] = t - last;
			}
		}
		last = t;
		hash = fnv1a(hash, buf, (size_t)n);
		bytes += (uint64_t)n;
	}
	if (n < 0)
		return fail("read");
	t = last > first ? last - first : 1;
	printf("bytes=%llu hash=%016llx ms=%llu mbit_s=%.2f max_gap_ms=%llu gaps_ms=", (unsigned long long)bytes,
	       (unsigned long long)hash, (unsigned long long)(t / 1000000), (double)bytes * 8e3 / (double)t,
	       (unsigned long long)(gap / 1000000));
	for (i = 0; i < long_gaps; i++)
		printf("%s%llu@%llu", i ? "," : "", (unsigned long long)(gaps[i] / 1000000),
		       (unsigned long long)(gap_ends[i] / 1000000));
	printf("%s\n", long_gaps ? "" : "-");
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

static long long rx_packets(const char *iface)
{
	char path[128], text[32] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/rx_packets", iface);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	return n > 0 ? atoll(text) : -1;
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

/*
 * Where an outage goes: the moments the probe can see from outside, in ms
 * after the signal. The process's exit (its pidfd: the kernel's release of
 * the device and of the TAP queues is done by then), the carrier going off,
 * and the first log line holding each STAGE's text (hostd's log, which
 * carries the driverhosts' lines too; a line is stamped when it is read,
 * within the probe's 2 ms wake-ups).
 */
#define MAX_STAGES 12

struct stage {
	const char *name, *text;
	double ms;
};

struct split {
	int log, pidfd;
	uint64_t start_ns;
	double exit_ms, off_ms;
	struct stage stages[MAX_STAGES];
	int count;
	char line[4096];
	size_t used;
};

static double since(uint64_t start) { return (double)(now_ns() - start) / 1e6; }

/* Stamps every complete line read from the log since the last look; the
 * lines go to stderr with their time, for a closer look. */
static void read_log(struct split *s, uint64_t start)
{
	ssize_t n;
	char *nl;
	int i;

	while ((n = read(s->log, s->line + s->used, sizeof(s->line) - 1 - s->used)) > 0) {
		s->used += (size_t)n;
		s->line[s->used] = 0;
		while ((nl = strchr(s->line, '\n')) != NULL || s->used == sizeof(s->line) - 1) {
			size_t len = nl ? (size_t)(nl - s->line) + 1 : s->used;

			s->line[len - 1] = 0;
			fprintf(stderr, "%8.1f %s\n", since(start), s->line);
			for (i = 0; i < s->count; i++)
				if (s->stages[i].ms < 0 && strstr(s->line, s->stages[i].text))
					s->stages[i].ms = since(start);
			memmove(s->line, s->line + len, s->used - len);
			s->used -= len;
			s->line[s->used] = 0;
		}
	}
}

static void print_split(const struct split *s)
{
	int i;

	printf(" at=%llu exit=%.1f off=%.1f", (unsigned long long)(s->start_ns / 1000000), s->exit_ms, s->off_ms);
	for (i = 0; i < s->count; i++)
		if (s->stages[i].ms >= 0)
			printf(" %s=%.1f", s->stages[i].name, s->stages[i].ms);
		else
			printf(" %s=-", s->stages[i].name);
}

static int do_outage(const char *iface, pid_t pid, uint64_t timeout_ms, const char *log, char **stages, int nstages)
{
	struct split s = { .log = -1, .pidfd = -1, .exit_ms = -1, .off_ms = -1 };
	uint64_t start, deadline;
	long long rx_at_exit = -1;
	int c, nl, i;
	char drain[8192];

	if (carrier(iface) != 1) {
		printf("error=%s has no carrier before the crash\n", iface);
		return 1;
	}
	if (nstages > MAX_STAGES) {
		printf("error=at most %d stages\n", MAX_STAGES);
		return 1;
	}
	for (i = 0; i < nstages; i++) {
		char *eq = strchr(stages[i], '=');

		if (!eq || eq == stages[i] || !eq[1]) {
			printf("error=a stage is NAME=TEXT, not %s\n", stages[i]);
			return 1;
		}
		*eq = 0;
		s.stages[i] = (struct stage){ stages[i], eq + 1, -1 };
	}
	s.count = nstages;
	if (log) {
		s.log = open(log, O_RDONLY | O_CLOEXEC);
		if (s.log < 0 || lseek(s.log, 0, SEEK_END) < 0)
			return fail(log);
	}
	s.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (s.pidfd < 0)
		return fail("pidfd_open");
	nl = link_changes();
	if (nl < 0)
		return fail("rtnetlink");
	start = s.start_ns = now_ns();
	deadline = start + timeout_ms * 1000000ull;
	if (kill(pid, SIGSEGV))
		return fail("kill");
	while (now_ns() < deadline) {
		c = carrier(iface);
		if (c == 0 && s.off_ms < 0)
			s.off_ms = since(start);
		if (c == 1 && rx_at_exit >= 0 && rx_packets(iface) > rx_at_exit) {
			double ms = since(start);

			if (s.log >= 0)
				read_log(&s, start);
			printf("ms=%.1f", ms);
			print_split(&s);
			printf("\n");
			close(nl);
			return 0;
		}
		struct pollfd p[2] = { { .fd = nl, .events = POLLIN }, { .fd = s.pidfd, .events = POLLIN } };
		if (poll(p, s.exit_ms < 0 ? 2 : 1, 2) > 0) {
			while (recv(nl, drain, sizeof(drain), 0) > 0)
				;
			if (s.exit_ms < 0 && (p[1].revents & POLLIN)) {
				s.exit_ms = since(start);
				rx_at_exit = rx_packets(iface);
			}
		}
		if (s.log >= 0)
			read_log(&s, start);
	}
	close(nl);
	printf("error=no frame came in %s within %llu ms", s.exit_ms >= 0 ? "after the exit" : "(no exit)",
	       (unsigned long long)timeout_ms);
	print_split(&s);
	printf("\n");
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
		return do_outage(argv[2], (pid_t)atoi(argv[3]), strtoull(argv[4], NULL, 0), NULL, NULL, 0);
	if (argc >= 6 && !strcmp(argv[1], "outage"))
		return do_outage(argv[2], (pid_t)atoi(argv[3]), strtoull(argv[4], NULL, 0), argv[5], argv + 6, argc - 6);
	fprintf(stderr, "usage: net_stream recv PORT TIMEOUT_S | send ADDR PORT BYTES TIMEOUT_S | outage IFACE PID TIMEOUT_MS [LOG NAME=TEXT...]\n");
	return 2;
}
