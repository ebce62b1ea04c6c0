/*
 * C shims for driverhost: what Swift cannot call directly (variadic ioctl,
 * packed epoll_event, volatile MMIO, libffi calls) and the watchdog thread.
 * Every function is prefixed cdh_. The kernel contract and the plugin ABI
 * are included from the repository so Swift sees exactly those layouts.
 */
#ifndef CDRVHOST_H
#define CDRVHOST_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "../../../Kernel/include/uapi/drvproxy.h"
#include "../../../Kernel/regprog.h"
#include "../../../SDK/include/drvhost/plugin.h"
#include "../../../SDK/include/drvhost/block.h"
#include "../../../SDK/include/drvhost/net.h"

/* ---- drvproxy ioctls: 0 or -1 with errno, like ioctl(2) ---- */
int cdh_proxy_info(int fd, struct drvproxy_info *info);
int cdh_proxy_set_prog(int fd, struct drvproxy_prog *prog);
int cdh_proxy_set_irq(int fd, const struct drvproxy_irq *irq);
int cdh_proxy_unmask(int fd);
int cdh_proxy_dma_mask(int fd, const struct drvproxy_dma_mask *mask);
int cdh_proxy_dma_alloc(int fd, struct drvproxy_dma_alloc *alloc);
int cdh_proxy_dma_free(int fd, const struct drvproxy_dma_free *release);
int cdh_proxy_bus_master(int fd, const struct drvproxy_bus_master *bus_master);

/* ---- epoll: the kernel's struct is packed on x86-64, so it stays in C ---- */
struct cdh_ready {
	uint64_t token;
	uint32_t events;
	uint32_t reserved;
};
int cdh_epoll_create(void);
int cdh_epoll_add(int epfd, int fd, uint32_t events, uint64_t token);
int cdh_epoll_del(int epfd, int fd);
/* Like epoll_wait(2), but reports (token, events) pairs. At most 64. */
int cdh_epoll_wait(int epfd, struct cdh_ready *ready, int max, int timeout_ms);
uint32_t cdh_epollin(void);

/* ---- signals: block SIGTERM/SIGINT/SIGHUP and read them from a signalfd ---- */
int cdh_signalfd_for_termination(void);
/* Read one signal from the signalfd: its number, 0 if none, -1 on error. */
int cdh_signalfd_read(int fd);

/* Bytes sent on a socket that its peer has not read yet (SIOCOUTQ), or -1. */
int cdh_socket_unread(int fd);

/* ---- the supervisor's channel (supervisor_link.c) ---- */
/* recvmsg without waiting (read on a pipe); a descriptor sent along lands in *fd (else -1).
 * Bytes read, or -errno. */
ssize_t cdh_recv_with_fd(int sock, void *buffer, size_t length, int *fd);
/* send(MSG_DONTWAIT | MSG_NOSIGNAL), write on a pipe: bytes sent or -errno; on a socket it never blocks nor raises SIGPIPE (SIGPIPE is ignored anyway). */
ssize_t cdh_send_nowait(int sock, const void *buffer, size_t length);
/* accept4 (non-blocking, close-on-exec) of a peer running as root or as us;
 * the descriptor, or -errno (-EPERM for another uid, whose uid is in *peer_uid). */
int cdh_accept_trusted(int listener, uid_t *peer_uid);
/* Makes fd (non-blocking) the new stderr, and closes fd. 0 or -errno. */
int cdh_replace_stderr(int fd);
/* O_NONBLOCK on stderr when it is a pipe (a supervisor's): 1 if set. */
int cdh_stderr_nonblocking_if_pipe(void);
/* Writes a log line to stderr, dropping (and counting) it rather than
 * waiting when the pipe is full or gone; the count is reported before the
 * next line that gets through. */
unsigned long cdh_log_write(const void *line, size_t length);
void cdh_ignore_sigpipe(void);

/* ---- timers and eventfds (non-blocking, close-on-exec) ---- */
int cdh_eventfd_create(void);
int cdh_timerfd_create(void);
int cdh_timerfd_set(int fd, uint64_t first_ns, uint64_t period_ns);
uint64_t cdh_monotonic_ns(void);

/* ---- MMIO: volatile, exactly one access of the given width ---- */
static inline uint8_t cdh_mmio_read8(const volatile void *base, uint64_t off)
{ return *(const volatile uint8_t *)((const volatile char *)base + off); }
static inline uint16_t cdh_mmio_read16(const volatile void *base, uint64_t off)
{ return *(const volatile uint16_t *)((const volatile char *)base + off); }
static inline uint32_t cdh_mmio_read32(const volatile void *base, uint64_t off)
{ return *(const volatile uint32_t *)((const volatile char *)base + off); }
static inline uint64_t cdh_mmio_read64(const volatile void *base, uint64_t off)
{ return *(const volatile uint64_t *)((const volatile char *)base + off); }
static inline void cdh_mmio_write8(volatile void *base, uint64_t off, uint8_t v)
{ *(volatile uint8_t *)((volatile char *)base + off) = v; }
static inline void cdh_mmio_write16(volatile void *base, uint64_t off, uint16_t v)
{ *(volatile uint16_t *)((volatile char *)base + off) = v; }
static inline void cdh_mmio_write32(volatile void *base, uint64_t off, uint32_t v)
{ *(volatile uint32_t *)((volatile char *)base + off) = v; }
static inline void cdh_mmio_write64(volatile void *base, uint64_t off, uint64_t v)
{ *(volatile uint64_t *)((volatile char *)base + off) = v; }

/* ---- plugin calls ---- */
/*
 * Call a command through libffi. Argument and return types are
 * enum cdh_ffi_type; integer arguments are passed in args[] as their bit
 * pattern (sign-extended for signed types), f64 as its IEEE bits, pointers
 * (str, bytes and result buffers, ABI 1.2) as their address. The plugin
 * context is prepended. The result is returned the same way in *result.
 * Returns 0, or -1 if libffi refused the signature.
 */
enum cdh_ffi_type {
	CDH_FFI_VOID, CDH_FFI_U8, CDH_FFI_U16, CDH_FFI_U32, CDH_FFI_U64,
	CDH_FFI_I8, CDH_FFI_I16, CDH_FFI_I32, CDH_FFI_I64, CDH_FFI_F64,
	CDH_FFI_POINTER,
};
/* A command's C arguments: the context, its signature's, one result buffer. */
#define CDH_COMMAND_MAX_C_ARGS (DH_COMMAND_MAX_ARGS + 2)
int cdh_call_command(dh_command_fn fn, void *context, uint32_t ret_type,
		     const uint32_t *arg_types, const uint64_t *args, uint32_t nargs,
		     uint64_t *result);

/* ---- watchdog ---- */
/*
 * A thread that ends the process with `exit_code` when a plugin callback runs
 * longer than its bound. The loop thread only does atomic stores: arm before
 * calling into the plugin, disarm when it returns. what: a static string
 * naming the callback, for the message.
 */
int cdh_watchdog_start(int exit_code);
void cdh_watchdog_arm(uint64_t bound_ns, const char *what);
void cdh_watchdog_disarm(void);

/* ---- live instance handles ---- */
/*
 * The dh_instance handles the host gave out and has not taken back. A host
 * function checks its handle here before touching it, so that NULL or a
 * pointer the plugin made up answers an error instead of crashing the host.
 * Lock-free: any thread may check (log and register access allow any
 * thread). A driverhost has one instance; tests run a few at once.
 */
#define CDH_MAX_LIVE_HANDLES 64
int cdh_handle_register(const void *handle);    /* 0, or -1 when full */
void cdh_handle_unregister(const void *handle);
int cdh_handle_is_live(const void *handle);     /* 1 or 0; NULL is 0 */

/* ---- TAP interfaces (the net device class), tap.c ---- */
/* Attach a queue of TAP interface `name` (IFF_TAP|IFF_NO_PI|IFF_NO_CARRIER,
 * and IFF_MULTI_QUEUE if asked), creating it if it does not exist: a
 * non-blocking descriptor, or -1 with errno. */
int cdh_tap_attach(const char *name, int multi_queue);
int cdh_tap_set_persist(int fd, int persist);
int cdh_tap_set_carrier(int fd, int up);
int cdh_tap_set_mac(int fd, const uint8_t mac[6]);
int cdh_netif_set_mtu(const char *name, uint32_t mtu);
/* The interface's transmit queue length in frames (for a TAP: how many
 * frames the kernel queues for its reader). */
int cdh_netif_set_tx_queue_len(const char *name, uint32_t frames);
/* The flag bits /sys/class/net/<name>/tun_flags reports. */
int cdh_tap_flag_multi_queue(void);
int cdh_tap_flag_tap(void);

/* ---- descriptors from the supervisor, fdpass.c ---- */

/* recvmsg(2) of up to length bytes, retried on EINTR; descriptors that
 * came with them (SCM_RIGHTS, close-on-exec) go to fds, at most max (the
 * rest are closed), their number to *count. Bytes read, or -1 with errno. */
ssize_t cdh_recv_with_fds(int sock, void *buffer, size_t length, int *fds, int max, int *count);

/* ---- dynamic loading: RTLD_NOW | RTLD_LOCAL ---- */
void *cdh_dlopen_now_local(const char *path);

/* ---- ublk, for the block device class ---- */
#include "cdh_ublk.h"

/* ---- the trace ring (hostctl trace) ---- */
#include "cdh_trace.h"

#endif /* CDRVHOST_H */
