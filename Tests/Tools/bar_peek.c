/* SPDX-License-Identifier: MIT */
/*
 * bar_peek BDF OFFSET: print the 32-bit register at OFFSET of BAR0 as 0x%08x,
 * through sysfs resource0 (works whatever driver the device is bound to).
 * The VM tests read the edu release marker with it after a driverhost died.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[256];
	unsigned long offset;
	volatile uint32_t *bar;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: bar_peek BDF OFFSET\n");
		return 2;
	}
	offset = strtoul(argv[2], NULL, 0);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", argv[1]);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	bar = mmap(NULL, 4096 + (offset & ~4095ul), PROT_READ, MAP_SHARED, fd, 0);
	if (bar == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	printf("0x%08x\n", bar[offset / 4]);
	return 0;
}
