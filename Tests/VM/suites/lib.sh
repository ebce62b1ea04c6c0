# Shell helpers for guest suites: `. /suites/lib.sh`.

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
