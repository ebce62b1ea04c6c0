#!/bin/sh
# drvproxy's release sequence: when the owner is SIGKILLed, and on RESET.
. /suites/lib.sh

set -- $EDU_BDFS
dev=$1
bind_drvproxy $dev || { echo "FAIL: drvproxy_bind: cannot bind $dev to drvproxy"; exit 1; }
vt_run drvproxy_release_on_kill 90 t_release kill $dev
vt_run drvproxy_reset_ioctl     90 t_release reset $dev
unbind $dev
