# Shell helpers for guest suites: `. /suites/lib.sh`.
#
# The guest's init tells each suite about its boot (Tests/VM/boots):
#   DRVHOST_BOOT     the boot's name, e.g. 6.1/pc or 6.12/q35-iommu
#   DRVHOST_IOMMU    1 when an IOMMU translates the edu devices' DMA, else 0
#   DRVPROXY_PARAMS  drvproxy's module parameters in this boot (param=value ...);
#                    init restores them before each suite
#   EDU_BDFS         the edu devices, unbound
# A test that does not apply to a boot says so instead of passing:
#   [ "$DRVHOST_IOMMU" = 1 ] || skip drvproxy_dma_fault "needs an IOMMU"

skip() { echo "SKIP: $1: $2"; }

# Loads drvproxy as the boot does.
load_drvproxy() { insmod /lib/modules/drvproxy.ko $DRVPROXY_PARAMS; }

sysdev() { echo /sys/bus/pci/devices/$1; }

unbind() {
	[ -e $(sysdev $1)/driver ] && echo $1 >$(sysdev $1)/driver/unbind
	echo >$(sysdev $1)/driver_override
}

# Bind through driver_override, as an administrator (or hostd) would.
bind_to() {
	unbind $2
	echo $1 >$(sysdev $2)/driver_override
	echo $2 >/sys/bus/pci/drivers/$1/bind
}

bind_drvproxy() { bind_to drvproxy $1; }

# Prints the device's /dev/uioN.
bind_uio() {
	bind_to uio_pci_generic $1 || return 1
	echo /dev/$(ls $(sysdev $1)/uio)
}

# The IRQ of an enabled device: ACPI picks a line's IRQ when the device is
# enabled (bound), so compare IRQs only after binding.
irq_of() { cat $(sysdev $1)/irq; }

# Binds an edu to drvproxy and another to uio_pci_generic so that they share
# an INTx line: sets ours, sibling and uio (the sibling's /dev/uioN). An INTx
# line's IRQ is chosen when the device is enabled (ACPI PCI links take the
# least loaded IRQ), so whether two devices share a line is only known once
# both are bound: try pairs until one does.
bind_shared_pair() {
	for a in $EDU_BDFS; do
		for b in $EDU_BDFS; do
			[ $a = $b ] && continue
			bind_drvproxy $a || continue
			uio=$(bind_uio $b) || { unbind $a; continue; }
			[ "$(irq_of $a)" = "$(irq_of $b)" ] && { ours=$a sibling=$b; return 0; }
			unbind $b
			unbind $a
		done
	done
	return 1
}
