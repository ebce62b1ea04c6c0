/* hostd's C shims: process spawning with a parent-death signal, pidfds, and
 * libpci enumeration (whose error hook must not return and whose name lookup
 * is variadic, neither of which Swift can express). Prefix chd_. */
#ifndef CHOSTD_H
#define CHOSTD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- processes ---------------------------------------------------------- */

struct chd_spawn_request {
	const char *path;
	char *const *argv;        /* NULL-terminated */
	char *const *envp;        /* NULL-terminated */
	int control_fd;           /* becomes fd 3 in the child; -1: none */
	int listen_fd;            /* becomes fd 4 in the child; -1: none */
	int survive_parent;       /* 0: SIGKILL when hostd dies; 1: outlive it */
	int stdout_fd;            /* -1: inherit */
	int stderr_fd;            /* -1: inherit */
	int cgroup_procs_fd;      /* a cgroup's cgroup.procs, opened for writing:
	                           * the child moves itself there before exec; -1: stay */
	unsigned long long rlimit_data;   /* RLIMIT_DATA in bytes; 0: inherit */
	unsigned long long rlimit_nofile; /* RLIMIT_NOFILE; 0: inherit */
};

/* Forks and execs on hostd's one spawner thread. Unless survive_parent, the
 * child gets SIGKILL when that thread (so: hostd) dies, its own session and process group (whose id
 * is its pid), its cgroup and resource limits (before it runs any of its own
 * code), an empty signal mask, default dispositions, and only fds 0-4.
 * Returns the pid and a pidfd in *pidfd, or -errno (also when exec failed,
 * with the child's errno). */
pid_t chd_spawn(const struct chd_spawn_request *request, int *pidfd);

/* Reaps the process behind a pidfd once it has exited (never blocks when
 * called after the pidfd polled readable). With group > 0, first SIGKILLs
 * what is left of that process group, once the process has exited and
 * before it is reaped (so the group's id cannot have been reused).
 * *exited: 1 for an exit code in *code, 0 for a signal in *code. Returns 0
 * or -errno. */
int chd_pidfd_reap(int pidfd, pid_t group, int *exited, int *code);

int chd_pidfd_send_signal(int pidfd, int signal);

/* pipe2(O_CLOEXEC) and eventfd(EFD_CLOEXEC): GNU names Swift's Glibc lacks. */
int chd_pipe_cloexec(int fds[2]);
int chd_eventfd_cloexec(void);
/* prctl(PR_SET_NAME) for the calling thread (variadic, so not from Swift). */
int chd_name_this_thread(const char *name);

/* ---- the one watcher (watch.c) ------------------------------------------- */
struct chd_ready {
	uint64_t token;
	uint32_t events;
	uint32_t reserved;
};
int chd_epoll_create(void);
int chd_epoll_add(int epfd, int fd, uint32_t events, uint64_t token);
int chd_epoll_del(int epfd, int fd);
/* epoll_wait(2) retried on EINTR, reporting (token, events); at most 64; or -errno. */
int chd_epoll_wait(int epfd, struct chd_ready *ready, int max, int timeout_ms);
uint32_t chd_epoll_in(void);
uint32_t chd_epoll_pri(void);
int chd_set_nonblocking(int fd);

/* ---- re-adoption (adopt.c) ------------------------------------------------ */

/* pidfd_open(2): a pidfd for any process, child or not; or -errno. */
int chd_pidfd_open(pid_t pid);
/* A listening unix socket at path (replacing a stale one), mode 0600; or -errno. */
int chd_listen_unix(const char *path);
/* A connection to the unix socket at path; or -errno. */
int chd_connect_unix(const char *path);
/* Sends the bytes with fd attached (SCM_RIGHTS); 0 or -errno. */
int chd_send_with_fd(int sock, const void *buffer, size_t length, int fd);

/* ---- class device queues kept across crashes (class_queues.c) ----------- */

#define CHD_MAX_HANDED_FDS 16
/* pidfd_getfd(2): a copy of another process's descriptor; or -errno. */
int chd_pidfd_getfd(int pidfd, int target_fd);
/* Sends the bytes with up to CHD_MAX_HANDED_FDS descriptors attached
 * (SCM_RIGHTS), without waiting; 0 or -errno. */
int chd_send_with_fds(int sock, const void *buffer, size_t length, const int *fds, int count);
/* TUNSETCARRIER on a TAP queue; 0 or -errno. */
int chd_tap_set_carrier(int fd, int up);

/* ---- PCI ------------------------------------------------------------------ */

struct chd_pci_device {
	char bdf[16];                     /* dddd:bb:ss.f */
	uint16_t vendor, device, subvendor, subdevice;
	uint32_t class_code;              /* base << 16 | sub << 8 | prog-if */
	char vendor_name[128];            /* "" when pci.ids does not know it */
	char device_name[192];
	char class_name[128];
};

/* Scans the PCI bus through libpci: the system's (dump_file NULL) or an
 * `lspci -x` dump file. ids_file NULL: libpci's default pci.ids. Returns the
 * number of devices (at most cap are stored) or -1 with a message in error. */
int chd_pci_scan(const char *dump_file, const char *ids_file,
		 struct chd_pci_device *out, int cap, char *error, size_t error_len);

#endif
