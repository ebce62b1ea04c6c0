#!/bin/sh
# drvproxy and the other devices on its INTx line: storms masked at the
# device, a masked device claims nothing, the rules for sharing without the
# INTx-disable bit (drvproxy reloaded with nointxmask=1), unbound devices
# left unable to assert their line, PCI_COMMAND writes serialised with the
# top half's.
. /suites/lib.sh

module=/lib/modules/drvproxy.ko
set -- $EDU_BDFS
dev=$1
[ -n "$dev" ] || { echo "FAIL: drvproxy_intx_suite: no edu device (EDU_BDFS empty)"; exit 1; }

bind_drvproxy $dev || { echo "FAIL: drvproxy_bind: cannot bind $dev to drvproxy"; exit 1; }
vt_run drvproxy_intx_unbind   90 t_intx_neighbours unbind $dev
bind_drvproxy $dev || { echo "FAIL: drvproxy_bind: cannot bind $dev to drvproxy again"; exit 1; }
vt_run drvproxy_intx_command 240 t_intx_neighbours command $dev
unbind $dev

reload_drvproxy() {
	rmmod drvproxy || { echo "FAIL: drvproxy_intx_reload: rmmod drvproxy"; return 1; }
	insmod $module $DRVPROXY_PARAMS "$@" || { echo "FAIL: drvproxy_intx_reload: insmod $module $*"; return 1; }
}

if ! bind_shared_pair; then
	echo "FAIL: drvproxy_intx_shared: no two edu devices share an IRQ once bound"
	exit 1
fi
vt_run drvproxy_intx_storm  240 t_intx_neighbours storm $ours $sibling $uio
vt_run drvproxy_intx_masked 120 t_intx_neighbours masked $ours $sibling $uio
unbind $sibling
unbind $ours

# A device without the INTx-disable bit, as nointxmask=1 makes every device.
reload_drvproxy nointxmask=1 || exit 1
if bind_shared_pair; then
	vt_run drvproxy_intx_nobit 120 t_intx_neighbours nobit $ours $sibling $uio
	# The refusal says why, in the kernel log.
	if dmesg | grep -q "INTX_SHARED refused: no INTx-disable bit"; then
		echo "PASS: drvproxy_intx_nobit_logged"
	else
		echo "FAIL: drvproxy_intx_nobit_logged: no 'INTX_SHARED refused' line in dmesg"
	fi
	unbind $sibling
	unbind $ours
else
	echo "FAIL: drvproxy_intx_nobit: no two edu devices share an IRQ once bound"
fi
reload_drvproxy
exit 0
