#define _GNU_SOURCE
#include "CHostd.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/*
 * PR_SET_PDEATHSIG fires when the *thread* that forked exits, not the
 * process. Swift's concurrency pool retires idle threads, so forking from an
 * arbitrary task would kill children at random. Every fork therefore happens
 * on one thread that lives as long as hostd.
 */
static pthread_mutex_t spawner_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t spawner_wake = PTHREAD_COND_INITIALIZER;
static pthread_once_t spawner_once = PTHREAD_ONCE_INIT;
static const struct chd_spawn_request *pending;
static pid_t pending_result;
static int pending_pidfd;
static int pending_done;

static int set_limit(int resource, unsigned long long value)
{
	struct rlimit limit = { .rlim_cur = value, .rlim_max = value };

	return setrlimit(resource, &limit);
}

static void child_exec(const struct chd_spawn_request *r, pid_t parent, int report_fd)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int err;

	/* A driverhost outlives hostd (the next hostd re-adopts it); helpers
	 * such as a --describe child die with it. */
	if (!r->survive_parent && prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		_exit(127);
	if (getppid() != parent)
		_exit(127); /* the parent is already gone */
	/* Its own session, so its own process group (id = its pid): whatever it
	 * starts stays in the group unless it leaves on purpose, and
	 * chd_pidfd_reap ends the group with it, as systemd's
	 * KillMode=control-group does. Also keeps hostd's terminal's job
	 * control (Ctrl-C, SIGHUP) away from it: hostd stops its children. */
	if (setsid() < 0)
		goto fail;
	/* "0" moves the writer: the child is in its instance's cgroup, and its
	 * limits hold, before the first instruction of driverhost runs. */
	if (r->cgroup_procs_fd >= 0 && write(r->cgroup_procs_fd, "0", 1) != 1)
		goto fail;
	if (r->rlimit_data && set_limit(RLIMIT_DATA, r->rlimit_data) != 0)
		goto fail;
	if (r->rlimit_nofile && set_limit(RLIMIT_NOFILE, r->rlimit_nofile) != 0)
		goto fail;
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (r->stdout_fd >= 0 && dup2(r->stdout_fd, 1) < 0)
		goto fail;
	if (r->stderr_fd >= 0 && dup2(r->stderr_fd, 2) < 0)
		goto fail;
	if (r->control_fd >= 0) {
		if (r->control_fd == 3) {
			if (fcntl(3, F_SETFD, 0) < 0)
				goto fail;
		} else if (dup2(r->control_fd, 3) < 0) {
			goto fail;
		}
	}
	if (r->listen_fd >= 0) {
		if (r->listen_fd == 4) {
			if (fcntl(4, F_SETFD, 0) < 0)
				goto fail;
		} else if (dup2(r->listen_fd, 4) < 0) {
			goto fail;
		}
	}
	/* Keep 0-4 and the CLOEXEC report pipe; everything else hostd had goes.
	 * (hostd holds many descriptors: its report pipe is far above 4.) */
	if (report_fd > 5) {
		syscall(SYS_close_range, 5, report_fd - 1, 0);
		syscall(SYS_close_range, report_fd + 1, ~0U, 0);
	} else {
		syscall(SYS_close_range, 6, ~0U, 0);
	}
	execve(r->path, r->argv, r->envp);
fail:
	err = errno;
	(void)!write(report_fd, &err, sizeof(err));
	_exit(127);
}

static pid_t spawn_here(const struct chd_spawn_request *r, int *pidfd)
{
	int report[2], err = 0;
	pid_t parent = getpid(), pid;
	ssize_t n;

	if (pipe2(report, O_CLOEXEC) != 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = errno;
		close(report[0]);
		close(report[1]);
		return -err;
	}
	if (pid == 0) {
		close(report[0]);
		child_exec(r, parent, report[1]);
	}
	close(report[1]);
	/* EOF means exec succeeded (the pipe closed on exec). */
	do
		n = read(report[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(report[0]);
	if (n == sizeof(err)) {
		waitpid(pid, NULL, 0);
		return -err;
	}
	*pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (*pidfd < 0) {
		err = errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -err;
	}
	return pid;
}

static void *spawner_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&spawner_lock);
	for (;;) {
		while (!pending)
			pthread_cond_wait(&spawner_wake, &spawner_lock);
		pending_result = spawn_here(pending, &pending_pidfd);
		pending = NULL;
		pending_done = 1;
		pthread_cond_broadcast(&spawner_wake);
	}
	return NULL;
}

static void spawner_start(void)
{
	pthread_t thread;
	pthread_attr_t attr;
	sigset_t all, old;

	/* The spawner blocks every signal so signalfd-style handling elsewhere
	 * (and service-lifecycle's handlers) keeps working. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_create(&thread, &attr, spawner_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

pid_t chd_spawn(const struct chd_spawn_request *request, int *pidfd)
{
	pid_t result;

	pthread_once(&spawner_once, spawner_start);
	pthread_mutex_lock(&spawner_lock);
	while (pending || pending_done)
		pthread_cond_wait(&spawner_wake, &spawner_lock);
	pending = request;
	pthread_cond_broadcast(&spawner_wake);
	while (!pending_done)
		pthread_cond_wait(&spawner_wake, &spawner_lock);
	result = pending_result;
	*pidfd = pending_pidfd;
	pending_done = 0;
	pthread_cond_broadcast(&spawner_wake);
	pthread_mutex_unlock(&spawner_lock);
	return result;
}

int chd_pidfd_reap(int pidfd, pid_t group, int *exited, int *code)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	if (group > 0) {
		/* Wait for the exit without reaping: while the leader is a zombie
		 * its id cannot be reused, so -group names only what it left. */
		while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOWAIT) != 0)
			if (errno != EINTR)
				return -errno;
		kill(-group, SIGKILL);
		memset(&info, 0, sizeof(info));
	}
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED) != 0)
		if (errno != EINTR)
			return -errno;
	*exited = info.si_code == CLD_EXITED;
	*code = info.si_status;
	return 0;
}

int chd_pidfd_send_signal(int pidfd, int signal)
{
	return syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0) == 0 ? 0 : -errno;
}

int chd_pipe_cloexec(int fds[2])
{
	return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno;
}

int chd_eventfd_cloexec(void)
{
	return eventfd(0, EFD_CLOEXEC);
}

int chd_name_this_thread(const char *name)
{
	return prctl(PR_SET_NAME, name, 0, 0, 0);
}
