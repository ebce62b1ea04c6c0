/* TAP interfaces for the net device class: /dev/net/tun's ioctls take a
 * struct ifreq and are variadic, which Swift cannot call. Every function
 * answers 0 (or a descriptor) or -1 with errno, like the calls it wraps. */
#define _GNU_SOURCE
#include "CDrvHost.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int name_to_ifreq(const char *name, struct ifreq *ifr)
{
	memset(ifr, 0, sizeof(*ifr));
	if (!name || strlen(name) >= IFNAMSIZ) {
		errno = EINVAL;
		return -1;
	}
	strcpy(ifr->ifr_name, name);
	return 0;
}

/* Attaching a queue turns the carrier on, unless IFF_NO_CARRIER (Linux
 * 6.0; older kernels ignore the flag) says otherwise: the carrier is the
 * plugin's to turn on, when its link is up. Without it a restart would
 * flap the carrier on and off again before the device runs, two rounds of
 * the kernel's link handling on the way to the real one. */
#ifndef IFF_NO_CARRIER
#define IFF_NO_CARRIER 0x0040
#endif

int cdh_tap_attach(const char *name, int multi_queue)
{
	struct ifreq ifr;
	int fd, saved;

	if (name_to_ifreq(name, &ifr) != 0)
		return -1;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_NO_CARRIER | (multi_queue ? IFF_MULTI_QUEUE : 0);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int cdh_tap_set_persist(int fd, int persist)
{
	return ioctl(fd, TUNSETPERSIST, (unsigned long)(persist ? 1 : 0));
}

int cdh_tap_set_carrier(int fd, int up)
{
	int value = up ? 1 : 0;

	return ioctl(fd, TUNSETCARRIER, &value);
}

int cdh_tap_set_mac(int fd, const uint8_t mac[6])
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_hwaddr.sa_family = 1; /* ARPHRD_ETHER */
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
	/* tun handles SIOCSIFHWADDR on its own descriptor, no socket needed. */
	return ioctl(fd, SIOCSIFHWADDR, &ifr);
}

/*
 * Sets one int of the named interface (its MTU, its transmit queue length)
 * with an ioctl on a socket, not the tun descriptor. ifr_mtu and ifr_qlen
 * are both that int of ifr_ifru.
 */
static int netif_set_int(const char *name, unsigned long request, uint32_t value)
{
	struct ifreq ifr;
	int sock, result, saved;

	if (name_to_ifreq(name, &ifr) != 0)
		return -1;
	ifr.ifr_ifru.ifru_ivalue = (int)value;
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -1;
	result = ioctl(sock, request, &ifr);
	saved = errno;
	close(sock);
	errno = saved;
	return result;
}

int cdh_netif_set_mtu(const char *name, uint32_t mtu)
{
	return netif_set_int(name, SIOCSIFMTU, mtu);
}

int cdh_netif_set_tx_queue_len(const char *name, uint32_t frames)
{
	return netif_set_int(name, SIOCSIFTXQLEN, frames);
}

int cdh_tap_flag_multi_queue(void)
{
	return IFF_MULTI_QUEUE;
}

int cdh_tap_flag_tap(void)
{
	return IFF_TAP;
}
