/* drvproxy ioctls: ioctl(2) is variadic, which Swift cannot call. */
#include "CDrvHost.h"

#include <sys/ioctl.h>

int cdh_proxy_info(int fd, struct drvproxy_info *info)
{
	return ioctl(fd, DRVPROXY_IOC_INFO, info);
}

int cdh_proxy_set_prog(int fd, struct drvproxy_prog *prog)
{
	return ioctl(fd, DRVPROXY_IOC_SET_PROG, prog);
}

int cdh_proxy_set_irq(int fd, const struct drvproxy_irq *irq)
{
	return ioctl(fd, DRVPROXY_IOC_SET_IRQ, irq);
}

int cdh_proxy_unmask(int fd)
{
	return ioctl(fd, DRVPROXY_IOC_UNMASK);
}

int cdh_proxy_dma_mask(int fd, const struct drvproxy_dma_mask *mask)
{
	return ioctl(fd, DRVPROXY_IOC_DMA_MASK, mask);
}

int cdh_proxy_dma_alloc(int fd, struct drvproxy_dma_alloc *alloc)
{
	return ioctl(fd, DRVPROXY_IOC_DMA_ALLOC, alloc);
}

int cdh_proxy_dma_free(int fd, const struct drvproxy_dma_free *release)
{
	return ioctl(fd, DRVPROXY_IOC_DMA_FREE, release);
}

int cdh_proxy_bus_master(int fd, const struct drvproxy_bus_master *bus_master)
{
	return ioctl(fd, DRVPROXY_IOC_BUS_MASTER, bus_master);
}
