// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Helpers for the drvproxy VM tests; see vmtest.h. */
#define _GNU_SOURCE
#include "vmtest.h"
#include "regprog.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

/* ---- Verdicts ------------------------------------------------------------ */

static const char *test_name = "unnamed";
static char timeout_line[256];
static int child_report_fd = -1;
static int child_ready_fd = -1;

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void on_timeout(int sig)
{
	(void)sig;
	write_all(STDOUT_FILENO, timeout_line, strlen(timeout_line));
	_exit(1);
}

void vt_begin(const char *name, unsigned int timeout_s)
{
	test_name = name;
	snprintf(timeout_line, sizeof(timeout_line),
		 "FAIL: %s: timed out after %u s\n", name, timeout_s);
	signal(SIGALRM, on_timeout);
	alarm(timeout_s);
}

void vt_pass(void)
{
	char line[256];

	snprintf(line, sizeof(line), "PASS: %s\n", test_name);
	write_all(STDOUT_FILENO, line, strlen(line));
	exit(0);
}

void vt_fail(const char *fmt, ...)
{
	char reason[512], line[640];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (child_report_fd >= 0) {
		write_all(child_report_fd, reason, strlen(reason));
		_exit(1);
	}
	snprintf(line, sizeof(line), "FAIL: %s: %s\n", test_name, reason);
	write_all(STDOUT_FILENO, line, strlen(line));
	exit(1);
}

void vt_note(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", test_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void make_pipe(int fds[2])
{
	vt_check(pipe2(fds, O_CLOEXEC) == 0, "pipe: %m");
}

bool vt_fork(struct vt_child *child)
{
	int report[2], ready[2];

	make_pipe(report);
	make_pipe(ready);
	fflush(NULL);
	child->pid = fork();
	vt_check(child->pid >= 0, "fork: %m");
	if (child->pid == 0) {
		close(report[0]);
		close(ready[0]);
		child_report_fd = report[1];
		child_ready_fd = ready[1];
		/* A failed or timed-out parent must not leave a device owner behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(0);
		return true;
	}
	close(report[1]);
	close(ready[1]);
	child->report_fd = report[0];
	child->ready_fd = ready[0];
	return false;
}

void vt_child_ready(void)
{
	vt_check(write(child_ready_fd, "!", 1) == 1, "signal readiness: %m");
}

void vt_wait_child_ready(struct vt_child *child, int timeout_ms, const char *what)
{
	struct pollfd pfd = { .fd = child->ready_fd, .events = POLLIN };
	char c;
	int n;

	n = poll(&pfd, 1, timeout_ms);
	vt_check(n >= 0, "poll for %s: %m", what);
	vt_check(n == 1, "%s: not ready within %d ms", what, timeout_ms);
	if (read(child->ready_fd, &c, 1) == 1)
		return;
	/* The child exited before it was ready: say why. */
	vt_join(child, what);
	vt_fail("%s: exited before it was ready", what);
}

void vt_join(struct vt_child *child, const char *what)
{
	char reason[512];
	ssize_t n;
	int status;

	n = read(child->report_fd, reason, sizeof(reason) - 1);
	reason[n > 0 ? n : 0] = '\0';
	while (waitpid(child->pid, &status, 0) < 0)
		vt_check(errno == EINTR, "waitpid %s: %m", what);
	if (WIFSIGNALED(status))
		vt_fail("%s: killed by signal %d (%s)", what, WTERMSIG(status),
			strsignal(WTERMSIG(status)));
	vt_check(WEXITSTATUS(status) == 0, "%s: %s", what,
		 reason[0] ? reason : "exited non-zero without a reason");
}

/* ---- edu ------------------------------------------------------------------- */

uint32_t edu_read(volatile uint8_t *bar0, uint32_t offset)
{
	return *(volatile uint32_t *)(bar0 + offset);
}

void edu_write(volatile uint8_t *bar0, uint32_t offset, uint32_t value)
{
	*(volatile uint32_t *)(bar0 + offset) = value;
}

void edu_write64(volatile uint8_t *bar0, uint32_t offset, uint64_t value)
{
	*(volatile uint64_t *)(bar0 + offset) = value;
}

void edu_quiesce(volatile uint8_t *bar0)
{
	edu_write(bar0, EDU_IRQ_ACK, 0xffffffffu);
}

bool edu_wait_status_clear(volatile uint8_t *bar0, int timeout_ms)
{
	uint64_t deadline = vt_now_ns() + (uint64_t)timeout_ms * 1000000u;

	while (edu_read(bar0, EDU_IRQ_STATUS) != 0) {
		if (vt_now_ns() > deadline)
			return false;
		sched_yield();
	}
	return true;
}

/* ---- drvproxy ------------------------------------------------------------ */

int vt_dev_try_open(const char *bdf)
{
	char path[128];

	snprintf(path, sizeof(path), "/dev/drvproxy/%s", bdf);
	return open(path, O_RDWR | O_CLOEXEC);
}

void vt_get_info(int fd, struct drvproxy_info *info)
{
	memset(info, 0, sizeof(*info));
	vt_check(ioctl(fd, DRVPROXY_IOC_INFO, info) == 0, "ioctl INFO: %m");
}

void vt_dev_open(struct vt_dev *dev, const char *bdf)
{
	void *map;

	dev->bdf = bdf;
	dev->fd = vt_dev_try_open(bdf);
	vt_check(dev->fd >= 0, "open /dev/drvproxy/%s: %m", bdf);
	vt_get_info(dev->fd, &dev->info);
	map = mmap(NULL, EDU_BAR0_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   dev->fd, DRVPROXY_MMAP_BAR(0));
	vt_check(map != MAP_FAILED, "mmap BAR0 of %s: %m", bdf);
	dev->bar0 = map;
	edu_quiesce(dev->bar0);
}

void vt_dev_close(struct vt_dev *dev)
{
	munmap((void *)dev->bar0, EDU_BAR0_SIZE);
	close(dev->fd);
	dev->fd = -1;
	dev->bar0 = NULL;
}

struct drvproxy_insn vt_insn_reg(enum drvproxy_op op, uint32_t offset)
{
	return (struct drvproxy_insn){ .op = op, .width = 4, .offset = offset };
}

struct drvproxy_insn vt_insn_write_imm(uint32_t offset, uint32_t value)
{
	return (struct drvproxy_insn){
		.op = DRVPROXY_OP_WRITE_IMM, .width = 4, .offset = offset, .imm = value,
	};
}

struct drvproxy_insn vt_insn(enum drvproxy_op op, uint64_t imm)
{
	return (struct drvproxy_insn){ .op = op, .imm = imm };
}

int vt_try_set_prog(int fd, struct drvproxy_prog *prog, uint32_t kind,
		    uint32_t flags, const struct drvproxy_insn *insns, uint32_t len)
{
	*prog = (struct drvproxy_prog){
		.abi_version = DRVPROXY_ABI_VERSION,
		.kind = kind,
		.flags = flags,
		.len = len,
		.insns = (uintptr_t)insns,
		.error = 0xdeadbeef,	/* must be overwritten on refusal */
	};
	return ioctl(fd, DRVPROXY_IOC_SET_PROG, prog);
}

void vt_set_prog(int fd, uint32_t kind, uint32_t flags,
		 const struct drvproxy_insn *insns, uint32_t len)
{
	struct drvproxy_prog prog;

	vt_check(vt_try_set_prog(fd, &prog, kind, flags, insns, len) == 0,
		 "SET_PROG kind %u: %m (error %u, %s, at insn %u)", kind,
		 prog.error, regprog_error_name(prog.error), prog.error_index);
}

void vt_set_edu_ack_prog(int fd)
{
	const struct drvproxy_insn ack[] = {
		vt_insn_reg(DRVPROXY_OP_READ, EDU_IRQ_STATUS),
		vt_insn(DRVPROXY_OP_NOT_MINE_IF_ZERO, 0),
		vt_insn(DRVPROXY_OP_SNAPSHOT, 0),
		vt_insn_reg(DRVPROXY_OP_WRITE, EDU_IRQ_ACK),
	};

	vt_set_prog(fd, DRVPROXY_PROG_ACK, 0, ack, 4);
}

int vt_try_set_irq(int fd, enum drvproxy_irq_mode mode)
{
	struct drvproxy_irq irq = {
		.abi_version = DRVPROXY_ABI_VERSION, .mode = mode, .nvec = 1,
	};

	return ioctl(fd, DRVPROXY_IOC_SET_IRQ, &irq);
}

void vt_set_irq(int fd, enum drvproxy_irq_mode mode)
{
	vt_check(vt_try_set_irq(fd, mode) == 0, "SET_IRQ mode %d: %m", mode);
}

void vt_unmask(int fd)
{
	vt_check(ioctl(fd, DRVPROXY_IOC_UNMASK) == 0, "ioctl UNMASK: %m");
}

size_t vt_read_events(int fd, struct drvproxy_event *ev, size_t max, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int ready;

	ready = poll(&pfd, 1, timeout_ms);
	vt_check(ready >= 0, "poll on the event ring: %m");
	if (ready == 0)
		return 0;
	vt_check(pfd.revents == POLLIN, "poll on the event ring: revents 0x%x",
		 pfd.revents);
	n = read(fd, ev, max * sizeof(*ev));
	vt_check(n >= 0, "read events: %m");
	vt_check(n > 0 && n % sizeof(*ev) == 0,
		 "read events returned %zd bytes, not whole records", n);
	return (size_t)n / sizeof(*ev);
}

void vt_wait_event(int fd, struct drvproxy_event *ev, int timeout_ms, const char *what)
{
	vt_check(vt_read_events(fd, ev, 1, timeout_ms) == 1,
		 "no event for %s within %d ms", what, timeout_ms);
}

void vt_roundtrip(struct vt_dev *dev, uint32_t value, uint64_t want_seq)
{
	struct drvproxy_event ev;

	edu_write(dev->bar0, EDU_IRQ_RAISE, value);
	vt_wait_event(dev->fd, &ev, 2000, "a raised interrupt");
	vt_check(ev.seq == want_seq && ev.flags == 0 && ev.nsnap == 1 &&
		 ev.snap[0] == value,
		 "event seq %llu flags 0x%x nsnap %u snap 0x%llx, want seq %llu "
		 "flags 0 nsnap 1 snap 0x%x", (unsigned long long)ev.seq, ev.flags,
		 ev.nsnap, (unsigned long long)ev.snap[0],
		 (unsigned long long)want_seq, value);
}

void vt_dma_alloc(int fd, struct vt_dma *dma, uint64_t size)
{
	void *map;

	dma->alloc = (struct drvproxy_dma_alloc){
		.abi_version = DRVPROXY_ABI_VERSION, .size = size,
	};
	vt_check(ioctl(fd, DRVPROXY_IOC_DMA_ALLOC, &dma->alloc) == 0,
		 "DMA_ALLOC %llu bytes: %m", (unsigned long long)size);
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   dma->alloc.mmap_offset);
	vt_check(map != MAP_FAILED, "mmap DMA buffer %u at offset 0x%llx: %m",
		 dma->alloc.id, (unsigned long long)dma->alloc.mmap_offset);
	dma->map = map;
}

/* ---- sysfs, procfs --------------------------------------------------------- */

void vt_read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	vt_check(fd >= 0, "open %s: %m", path);
	n = read(fd, buf, size - 1);
	vt_check(n >= 0, "read %s: %m", path);
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	close(fd);
}

static uint64_t read_number(const char *path)
{
	char buf[64], *end;
	unsigned long long v;

	vt_read_text(path, buf, sizeof(buf));
	errno = 0;
	v = strtoull(buf, &end, 0);
	vt_check(errno == 0 && end != buf, "%s: not a number: '%s'", path, buf);
	return v;
}

uint64_t vt_counter(const char *bdf, const char *name)
{
	char path[160];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/drvproxy/%s", bdf, name);
	return read_number(path);
}

unsigned int vt_irq_of(const char *bdf)
{
	char path[160];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/irq", bdf);
	return (unsigned int)read_number(path);
}

int vt_config_open(const char *bdf)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDWR | O_CLOEXEC);
	vt_check(fd >= 0, "open %s: %m", path);
	return fd;
}

uint16_t vt_config_read16(int cfg, off_t offset)
{
	uint16_t v;

	vt_check(pread(cfg, &v, 2, offset) == 2, "read config at 0x%lx: %m",
		 (long)offset);
	return v;
}

void vt_config_write8(int cfg, off_t offset, uint8_t value)
{
	vt_check(pwrite(cfg, &value, 1, offset) == 1, "write config at 0x%lx: %m",
		 (long)offset);
}

static long long sum_counts(const char *line)
{
	const char *p = strchr(line, ':');
	long long sum = 0;
	char *end;

	if (!p)
		return 0;
	for (p++;; p = end) {
		long long v = strtoll(p, &end, 10);

		if (end == p)
			return sum;
		sum += v;
	}
}

bool vt_irq_line(unsigned int irq, long long *count, char *text, size_t size)
{
	char line[1024];
	bool found = false;
	FILE *f;

	f = fopen("/proc/interrupts", "re");
	vt_check(f != NULL, "open /proc/interrupts: %m");
	while (!found && fgets(line, sizeof(line), f)) {
		char *end;
		unsigned long n = strtoul(line, &end, 10);

		if (end == line || *end != ':' || n != irq)
			continue;
		found = true;
		*count = sum_counts(line);
		snprintf(text, size, "%s", line);
	}
	fclose(f);
	return found;
}

volatile uint8_t *vt_map_resource0(const char *bdf)
{
	char path[160];
	void *map;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", bdf);
	fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	vt_check(fd >= 0, "open %s: %m", path);
	map = mmap(NULL, EDU_BAR0_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	vt_check(map != MAP_FAILED, "mmap %s: %m", path);
	close(fd);
	return map;
}

/* ---- uio_pci_generic -------------------------------------------------------- */

void vt_uio_open(struct vt_uio *uio, const char *bdf, const char *uio_dev)
{
	uio->fd = open(uio_dev, O_RDWR | O_CLOEXEC);
	vt_check(uio->fd >= 0, "open %s: %m", uio_dev);
	uio->cfg = vt_config_open(bdf);
	uio->cmd_hi = (uint8_t)((vt_config_read16(uio->cfg, 4) >> 8) & ~0x04u);
	uio->bar0 = vt_map_resource0(bdf);
	edu_quiesce(uio->bar0);
	/* The disable bit must be clear before the first raise (docs/ARCHITECTURE.md). */
	vt_uio_reenable(uio);
}

uint32_t vt_uio_wait(struct vt_uio *uio, int timeout_ms)
{
	struct pollfd pfd = { .fd = uio->fd, .events = POLLIN };
	uint32_t count;
	int ready;

	ready = poll(&pfd, 1, timeout_ms);
	vt_check(ready >= 0, "poll uio: %m");
	vt_check(ready == 1, "no uio interrupt within %d ms", timeout_ms);
	vt_check(read(uio->fd, &count, 4) == 4, "read uio: %m");
	return count;
}

void vt_uio_reenable(struct vt_uio *uio)
{
	vt_config_write8(uio->cfg, 5, uio->cmd_hi);
}

/* ---- Time and statistics ------------------------------------------------------ */

uint64_t vt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

void vt_sort_u64(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), compare_u64);
}

uint64_t vt_percentile(const uint64_t *sorted, size_t n, double p)
{
	double exact = p / 100.0 * (double)n;
	size_t rank = (size_t)exact;

	if (n == 0)
		return 0;
	if ((double)rank < exact)
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}
