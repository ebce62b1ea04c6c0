/* libpci (pciutils): PCI enumeration and the pci.ids name database. */
#include <pci/pci.h>
