#!/bin/sh
# drvproxy's event ring and register programs under stress: read() never
# loses records, whatever the buffer; a POLL's timeout is elapsed time.
. /suites/lib.sh

set -- $EDU_BDFS
dev=$1
[ -n "$dev" ] || { echo "FAIL: drvproxy_ring_suite: no edu device (EDU_BDFS empty)"; exit 1; }

bind_drvproxy $dev || { echo "FAIL: drvproxy_bind: cannot bind $dev to drvproxy"; exit 1; }
vt_run drvproxy_ring_fault 180 t_ring_fault $dev
vt_run drvproxy_poll_time   60 t_poll_time $dev
unbind $dev
