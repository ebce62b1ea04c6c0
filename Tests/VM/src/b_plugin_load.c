// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * How long driverhost takes to load and check a plugin, without a device.
 *
 *   b_plugin_load RUNS LABEL=PLUGIN...
 *       runs `driverhost --describe --plugin PLUGIN` RUNS times per plugin,
 *       alternating between the plugins so that they share the machine's
 *       state, and prints `LABEL_plugin_load_ms_p50: X` for each: process
 *       start, dlopen (the plugin's libraries and constructors included),
 *       the descriptor's checks, exit. The same driverhost runs for every
 *       plugin, so differences are the plugins' own.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/wait.h>

#define MAX_PLUGINS 8
#define MAX_RUNS 101

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One `driverhost --describe` run; its time, or 0 if it failed. */
static uint64_t describe_once(const char *plugin)
{
	uint64_t start = now_ns();
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return 0;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execlp("driverhost", "driverhost", "--describe", "--plugin", plugin, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return 0;
	return now_ns() - start;
}

int main(int argc, char **argv)
{
	static uint64_t times[MAX_PLUGINS][MAX_RUNS];
	int runs = argc > 1 ? atoi(argv[1]) : 0, n = argc - 2, r, i;

	if (runs < 1 || runs > MAX_RUNS || n < 1 || n > MAX_PLUGINS) {
		fprintf(stderr, "usage: b_plugin_load RUNS(1-%d) LABEL=PLUGIN... (at most %d)\n", MAX_RUNS, MAX_PLUGINS);
		return 2;
	}
	for (r = 0; r < runs; r++)
		for (i = 0; i < n; i++) {
			const char *eq = strchr(argv[i + 2], '=');

			times[i][r] = describe_once(eq ? eq + 1 : argv[i + 2]);
			if (!times[i][r]) {
				printf("FAIL: bench_plugin_load: driverhost --describe %s failed\n", argv[i + 2]);
				return 1;
			}
		}
	for (i = 0; i < n; i++) {
		const char *eq = strchr(argv[i + 2], '=');
		int len = eq ? (int)(eq - argv[i + 2]) : 6;

		qsort(times[i], runs, sizeof(times[i][0]), cmp);
		printf("%.*s_plugin_load_ms_p50: %.2f\n", len, eq ? argv[i + 2] : "plugin",
		       times[i][runs / 2] / 1e6);
	}
	return 0;
}
