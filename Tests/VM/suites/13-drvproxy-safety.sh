#!/bin/sh
# drvproxy's safety model: the owner alone, and only while it lives; DMA
# confined (or the explicit unsafe mode); reset before reuse; failing ioctls
# change nothing; DMA memory accounted; nobody stalls anybody; hot-unplug.
. /suites/lib.sh

set -- $EDU_BDFS
dev=$1 other=$2
[ -n "$other" ] || { echo "FAIL: drvproxy_safety_suite: needs two edu devices"; exit 1; }
bind_drvproxy $dev || { echo "FAIL: drvproxy_bind: cannot bind $dev to drvproxy"; exit 1; }
bind_drvproxy $other || { echo "FAIL: drvproxy_bind: cannot bind $other to drvproxy"; exit 1; }

vt_run drvproxy_owner_fork                    60 t_owner fork $dev
vt_run drvproxy_owner_exit_releases           60 t_owner orphan $dev
vt_run drvproxy_dma_confinement              120 t_confine $dev $other
vt_run drvproxy_reset_before_reuse            60 t_reset $dev
vt_run drvproxy_failed_ioctl_changes_nothing  60 t_hygiene efault $dev
vt_run drvproxy_dma_accounting                60 t_hygiene memlimit $dev
vt_run drvproxy_no_stall                      60 t_hygiene stall $dev

# A PCIe function with FLR, AER and MSI-X: boots that have one put a
# virtio device (aer=on) behind a PCIe root port.
pcie=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor)" = 0x1af4 ] && grep -qw flr $d/reset_method 2>/dev/null && pcie=${d##*/}
done
if [ -n "$pcie" ]; then
	bind_drvproxy $pcie || echo "FAIL: drvproxy_bind: cannot bind $pcie to drvproxy"
	vt_run drvproxy_reset_flr 120 t_reset $pcie
	vt_run drvproxy_msix_out_of_reach 60 t_msix $pcie
	if insmod /lib/modules/aer_inject.ko; then
		vt_run drvproxy_aer_event 60 t_aer $pcie
	else
		echo "FAIL: drvproxy_aer_event: cannot load aer_inject"
	fi
	unbind $pcie
	# Its root port is a bridge: drvproxy refuses to take it.
	port=$(basename $(readlink -f $(sysdev $pcie)/..))
	unbind $port
	echo drvproxy >$(sysdev $port)/driver_override
	if echo $port >/sys/bus/pci/drivers/drvproxy/bind 2>/dev/null; then
		echo "FAIL: drvproxy_refuses_bridges: drvproxy took the root port $port"
	else
		echo "PASS: drvproxy_refuses_bridges"
	fi
	echo >$(sysdev $port)/driver_override
	echo $port >/sys/bus/pci/drivers/pcieport/bind
else
	echo "SKIP: drvproxy_reset_flr: no PCIe device with FLR on this boot"
fi

# Hot-unplug under a running owner, then the device comes back and works.
unbind $other
vt_run drvproxy_hot_unplug 60 t_unplug $dev
echo 1 >/sys/bus/pci/rescan
bind_drvproxy $dev || echo "FAIL: drvproxy_rebind_after_rescan: cannot bind $dev"
vt_run drvproxy_dma_after_rescan 90 t_dma $dev
unbind $dev
