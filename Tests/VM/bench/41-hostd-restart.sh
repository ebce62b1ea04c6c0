#!/bin/sh
# hostd's restart under load: five instances of irq-load.so (each raising
# and counting interrupts all the while), hostd killed (kill -9: a crash; an
# orderly SIGTERM unloads everything by design) and started again on the
# same directories. Prints hostd_restart_disruptions: driverhost pids that
# changed plus interrupts lost (the plugins' own count of raised but not
# received, and the kernel's interrupt counter against the plugins' handled
# count across the restart); it must be 0. Also how long the new hostd took
# from its start to every instance adopted and running.
. /suites/lib.sh
. /suites/hostd.sh

DEVS=$(echo $EDU_BDFS | cut -d' ' -f1-5)
for d in $DEVS; do bind_uio $d >/dev/null || { echo "FAIL: bench_hostd_restart: cannot bind $d"; exit 0; }; done
mkdir -p $PLUGINS && cp /plugins/irq-load.so $PLUGINS/irq-load.so
settings() { start_hostd "autoload = true" "[devices]" "claim = $(toml_list $DEVS)"; }
call() { hostctl call irq-load@$1 $2 $3 2>/dev/null; }
quiet() { # the plugin's handled count and the kernel's interrupts, at a pause
	call $1 pause 1 >/dev/null
	echo "$(call $1 handled) $(cat $(sysdev $1)/drvproxy/interrupts)"
	call $1 pause 0 >/dev/null
}
key() { echo $1 | tr :. __; }
now_ms() { cut -d' ' -f1 /proc/uptime | tr -d . | sed 's/$/0/'; }

settings || { echo "FAIL: bench_hostd_restart: hostd not ready"; exit 0; }
for d in $DEVS; do
	wait_log "instance=irq-load@$d .*instance attached" 60 || { echo "FAIL: bench_hostd_restart: $d not attached"; exit 0; }
done
for d in $DEVS; do
	eval "q_$(key $d)='$(quiet $d)' pid_$(key $d)=$(cat $(sysdev $d)/drvproxy/owner_pid)"
done
mark=$(log_mark)
kill -9 $HOSTD_PID
wait $SD_PID
HOSTD_PID=
started=$(now_ms)
settings || { echo "FAIL: bench_hostd_restart: second hostd not ready"; exit 0; }
for d in $DEVS; do
	wait_log "instance=irq-load@$d .*instance attached" 60 $mark || echo "FAIL: bench_hostd_restart: $d not running again"
done
ready=$(now_ms)
disruptions=0
for d in $DEVS; do
	eval "then=\$q_$(key $d) pid=\$pid_$(key $d)"
	set -- $then $(quiet $d)
	[ "$(cat $(sysdev $d)/drvproxy/owner_pid)" = "$pid" ] || disruptions=$((disruptions + 1))
	lost=$(call $d lost)
	disruptions=$((disruptions + ${lost:-1}))
	gap=$(( ($4 - $2) - ($3 - $1) ))
	[ $gap -ge 0 ] || gap=$((-gap))
	disruptions=$((disruptions + gap))
done
echo "hostd_restart_disruptions: $disruptions"
echo "hostd_restart_adopt_ms: $((ready - started))"
stop_hostd
for d in $DEVS; do unbind $d; done
rm -rf $H
