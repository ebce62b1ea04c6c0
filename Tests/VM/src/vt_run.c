// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * vt_run NAME TIMEOUT_S PROGRAM [ARGS...]
 *
 * Runs one test binary and guarantees a verdict for NAME: the program's own
 * output passes through, and if it dies by a signal, exits non-zero without a
 * FAIL line, exits 0 without a PASS line, or outlives TIMEOUT_S (then its whole
 * process group is killed), vt_run prints the FAIL line itself.
 */
#define _GNU_SOURCE
#include "vmtest.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

struct verdicts {
	bool pass, fail;
	char partial[256];	/* start of a line not yet complete */
	size_t partial_len;
};

static void scan_line(struct verdicts *v, const char *line)
{
	if (!strncmp(line, "PASS: ", 6))
		v->pass = true;
	if (!strncmp(line, "FAIL: ", 6))
		v->fail = true;
}

/* Copy the test's output to ours, noting PASS/FAIL at line starts. */
static void forward(struct verdicts *v, const char *buf, size_t n)
{
	size_t i;

	fwrite(buf, 1, n, stdout);
	fflush(stdout);
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			v->partial[v->partial_len] = '\0';
			scan_line(v, v->partial);
			v->partial_len = 0;
		} else if (v->partial_len < sizeof(v->partial) - 1) {
			v->partial[v->partial_len++] = buf[i];
		}
	}
}

static pid_t start(char **argv, int *out_fd)
{
	int fds[2];
	pid_t pid;

	vt_check(pipe(fds) == 0, "pipe: %m");
	pid = fork();
	vt_check(pid >= 0, "fork: %m");
	if (pid == 0) {
		setpgid(0, 0);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], argv);
		fprintf(stdout, "FAIL: %s: exec: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);	/* also here: no race with the child's own call */
	close(fds[1]);
	*out_fd = fds[0];
	return pid;
}

/* Forward output until EOF or the deadline; false on timeout. */
static bool drain(struct verdicts *v, int fd, uint64_t deadline_ns)
{
	char buf[512];

	for (;;) {
		uint64_t now = vt_now_ns();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int ready;

		if (now >= deadline_ns)
			return false;
		ready = poll(&pfd, 1, (int)((deadline_ns - now) / 1000000u) + 1);
		if (ready < 0)
			vt_check(errno == EINTR, "poll: %m");
		if (ready <= 0)
			continue;	/* the deadline check decides */
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return true;
		forward(v, buf, (size_t)n);
	}
}

int main(int argc, char **argv)
{
	struct verdicts v = { 0 };
	unsigned int timeout_s;
	int fd, status;
	bool finished;
	pid_t pid;

	if (argc < 4) {
		fprintf(stderr, "usage: vt_run NAME TIMEOUT_S PROGRAM [ARGS...]\n");
		return 2;
	}
	vt_begin(argv[1], 0);
	timeout_s = (unsigned int)strtoul(argv[2], NULL, 10);
	pid = start(argv + 3, &fd);
	finished = drain(&v, fd, vt_now_ns() + (uint64_t)timeout_s * 1000000000u);
	if (!finished)
		kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* Children that outlive the test (held devices) go with it. */
	kill(-pid, SIGKILL);
	if (!finished)
		vt_fail("killed after %u s without finishing", timeout_s);
	if (WIFSIGNALED(status))
		vt_fail("died of signal %d (%s)", WTERMSIG(status),
			strsignal(WTERMSIG(status)));
	if (WEXITSTATUS(status) != 0 && !v.fail)
		vt_fail("exited with status %d without a FAIL line",
			WEXITSTATUS(status));
	if (WEXITSTATUS(status) == 0 && !v.pass)
		vt_fail("exited 0 without a PASS line");
	return WEXITSTATUS(status);
}
