#!/bin/sh
# Last drvproxy suite: unload (refused while a device is owned) and reload.
# A second device stays bound without an owner, so the unload also has to
# remove a bound, idle device. drvproxy is loaded again for later suites.
. /suites/lib.sh

module=/lib/modules/drvproxy.ko
set -- $EDU_BDFS
owned=$1 idle=$2
bind_drvproxy $owned || { echo "FAIL: drvproxy_bind: cannot bind $owned to drvproxy"; exit 1; }
[ -n "$idle" ] && bind_drvproxy $idle
vt_run drvproxy_unload 90 t_unload $owned $module
[ -d /sys/module/drvproxy ] || load_drvproxy || echo "FAIL: drvproxy_reload: insmod $module"
unbind $owned
[ -n "$idle" ] && unbind $idle
exit 0
