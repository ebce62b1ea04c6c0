#!/bin/sh
# kill -9 of hostd: every driverhost dies with it (PR_SET_PDEATHSIG), so the
# kernel releases every device; the next hostd starts cleanly, drives them
# again and still knows which driver to give them back to (state directory).
. /suites/lib.sh
. /suites/hostd.sh

set -- $EDU_BDFS
A=$1 B=$2
shift 2
OTHERS="$*"
for d in $A $B; do bind_uio $d >/dev/null || { fail hostd_kill9_setup "cannot bind $d to uio_pci_generic"; exit 0; }; done
mkdir -p $PLUGINS && cp /plugins/edu.so $PLUGINS/edu.so
settings() {
	start_hostd "autoload = true" "[devices]" "claim = $(toml_list $A $B)" "ignore = $(toml_list $OTHERS)"
}

settings || { fail hostd_kill9 "first hostd: see above"; exit 0; }
for d in $A $B; do
	wait_log "instance=edu@$d .*instance attached" 60 || { fail hostd_kill9 "edu@$d never attached"; exit 0; }
done
rel_a=$(releases $A); rel_b=$(releases $B)
kill -9 $HOSTD_PID
wait $SD_PID
HOSTD_PID=
# Nothing announces the end of a process that is not our child: wait for
# the kernel to show both devices without an owner.
if wait_until 10 sh -c "[ \$(cat $(sysdev $A)/drvproxy/owner_pid) = 0 ] && [ \$(cat $(sysdev $B)/drvproxy/owner_pid) = 0 ]" &&
	[ $(releases $A) -gt $rel_a ] && [ $(releases $B) -gt $rel_b ]; then
	pass hostd_kill9_releases_every_device
else
	fail hostd_kill9_releases_every_device "owners $(owner_pid $A) $(owner_pid $B), releases $rel_a->$(releases $A) $rel_b->$(releases $B)"
fi

settings || { fail hostd_restart_after_kill9 "second hostd: see above"; exit 0; }
got=
wait_log "instance=edu@$A .*instance attached" 60 && got=$(hostctl call edu@$A factorial 10 2>&1)
stop_hostd; rc=$HOSTD_STATUS
if [ "$got" = 3628800 ] && [ "$rc" = 0 ] && [ "$(driver_of $A) $(driver_of $B)" = "uio_pci_generic uio_pci_generic" ]; then
	pass hostd_starts_cleanly_after_kill9
else
	fail hostd_starts_cleanly_after_kill9 "factorial '$got', exit $rc, drivers $(driver_of $A) $(driver_of $B)"
fi
for d in $A $B; do unbind $d; done
cp $LOG /tmp/hostd-41.log
rm -rf $H
