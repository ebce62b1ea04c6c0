#define _GNU_SOURCE
#include "CHostd.h"

#include <pci/pci.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * libpci reports fatal errors through pacc->error, which must not return.
 * The scan runs under setjmp so that such an error (a missing dump file, an
 * unreadable sysfs) becomes a message instead of exit(). One scan at a time.
 */
static jmp_buf scan_escape;
static char scan_error[256];
static pthread_mutex_t scan_lock = PTHREAD_MUTEX_INITIALIZER;

static void __attribute__((noreturn)) scan_fatal(char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	vsnprintf(scan_error, sizeof(scan_error), msg, ap);
	va_end(ap);
	longjmp(scan_escape, 1);
}

static void scan_quiet(char *msg, ...)
{
	(void)msg;
}

static void copy_name(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s", name ? name : "");
}

/*
 * When pci.ids knows a base class but not the subclass, libpci answers
 * PCI_LOOKUP_CLASS with "Base name [bbss]" even under PCI_LOOKUP_NO_NUMBERS;
 * the caller adds the number itself, as lspci does, so drop libpci's.
 */
static void drop_class_number(char *name, unsigned int cls)
{
	char suffix[16];
	size_t n = strlen(name), m;

	snprintf(suffix, sizeof(suffix), " [%04x]", cls);
	m = strlen(suffix);
	if (n >= m && strcmp(name + n - m, suffix) == 0)
		name[n - m] = 0;
}

static void describe(struct pci_access *pacc, struct pci_dev *dev, struct chd_pci_device *d)
{
	char buf[256];
	uint8_t prog_if = pci_read_byte(dev, PCI_CLASS_PROG);

	memset(d, 0, sizeof(*d));
	snprintf(d->bdf, sizeof(d->bdf), "%04x:%02x:%02x.%x", dev->domain, dev->bus, dev->dev, dev->func);
	d->vendor = dev->vendor_id;
	d->device = dev->device_id;
	d->class_code = (uint32_t)dev->device_class << 8 | prog_if;
	if ((pci_read_byte(dev, PCI_HEADER_TYPE) & 0x7f) == PCI_HEADER_TYPE_NORMAL) {
		d->subvendor = pci_read_word(dev, PCI_SUBSYSTEM_VENDOR_ID);
		d->subdevice = pci_read_word(dev, PCI_SUBSYSTEM_ID);
	}
	copy_name(d->vendor_name, sizeof(d->vendor_name),
		  pci_lookup_name(pacc, buf, sizeof(buf), PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS, d->vendor));
	copy_name(d->device_name, sizeof(d->device_name),
		  pci_lookup_name(pacc, buf, sizeof(buf), PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS,
				  d->vendor, d->device));
	copy_name(d->class_name, sizeof(d->class_name),
		  pci_lookup_name(pacc, buf, sizeof(buf), PCI_LOOKUP_CLASS | PCI_LOOKUP_NO_NUMBERS,
				  dev->device_class));
	drop_class_number(d->class_name, dev->device_class);
}

int chd_pci_scan(const char *dump_file, const char *ids_file,
		 struct chd_pci_device *out, int cap, char *error, size_t error_len)
{
	struct pci_access *volatile pacc = NULL;
	struct pci_dev *dev;
	volatile int count = 0;

	pthread_mutex_lock(&scan_lock);
	if (setjmp(scan_escape) != 0) {
		snprintf(error, error_len, "libpci: %s", scan_error);
		count = -1;
		goto out;
	}
	pacc = pci_alloc();
	pacc->error = scan_fatal;
	pacc->warning = scan_quiet;
	pacc->debug = scan_quiet;
	if (dump_file) {
		pacc->method = PCI_ACCESS_DUMP;
		pci_set_param(pacc, "dump.name", (char *)dump_file);
	}
	if (ids_file)
		pci_set_name_list_path(pacc, (char *)ids_file, 0);
	pci_init(pacc);
	pci_scan_bus(pacc);
	for (dev = pacc->devices; dev; dev = dev->next) {
		pci_fill_info(dev, PCI_FILL_IDENT | PCI_FILL_CLASS);
		if (count < cap)
			describe(pacc, dev, &out[count]);
		count++;
	}
out:
	if (pacc)
		pci_cleanup(pacc);
	pthread_mutex_unlock(&scan_lock);
	return count;
}
