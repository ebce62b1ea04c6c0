#!/bin/sh
# drvproxy in the guest: INFO and mmap, bad input, interrupt modes, the event
# ring, DMA, storms, and a shared INTx line with a uio_pci_generic sibling.
# Each test binary prints its own PASS/FAIL line; vt_run adds a FAIL line if
# it crashes, hangs or ends without a verdict.
. /suites/lib.sh

set -- $EDU_BDFS
dev=$1
[ -n "$dev" ] || { echo "FAIL: drvproxy_suite: no edu device (EDU_BDFS empty)"; exit 1; }

bind_drvproxy $dev || { echo "FAIL: drvproxy_bind: cannot bind $dev to drvproxy"; exit 1; }
vt_run drvproxy_info_mmap      60 t_info $dev
vt_run drvproxy_bad_input      90 t_badinput $dev
vt_run drvproxy_intx_disable  150 t_modes intx-disable $dev
vt_run drvproxy_msi           150 t_modes msi $dev
vt_run drvproxy_coalesce      270 t_ring coalesce $dev
vt_run drvproxy_ring_overflow 270 t_ring overflow $dev
vt_run drvproxy_dma            90 t_dma $dev
vt_run drvproxy_storm          90 t_storm $dev
unbind $dev

if bind_shared_pair; then
	vt_run drvproxy_shared_intx 330 t_shared_intx $ours $sibling $uio
	unbind $sibling
	unbind $ours
else
	echo "FAIL: drvproxy_shared_intx: no two edu devices share an IRQ once bound"
fi
