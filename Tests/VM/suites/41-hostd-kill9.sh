#!/bin/sh
# kill -9 of hostd disturbs no instance: its driverhosts keep serving their
# devices' interrupts (irq-load.so raises them all the while), the next
# hostd adopts them (same owner pids, no release, nothing lost: the kernel's
# interrupt counter and the plugin's count move together), a driverhost
# killed while no hostd ran is restarted with its restart count +1, and a
# record whose pid now names another process is never adopted.
. /suites/lib.sh
. /suites/hostd.sh

set -- $EDU_BDFS
A=$1 B=$2 C=$3
shift 3
OTHERS="$*"
for d in $A $B $C; do bind_uio $d >/dev/null || { fail hostd_kill9_setup "cannot bind $d to uio_pci_generic"; exit 0; }; done
mkdir -p $PLUGINS && cp /plugins/irq-load.so $PLUGINS/irq-load.so
settings() {
	start_hostd "autoload = true" "[devices]" "claim = $(toml_list $A $B $C)" "ignore = $(toml_list $OTHERS)"
}
counter() { cat $(sysdev $1)/drvproxy/$2; }
field() { hostctl status irq-load@$1 --json | tr -d ' \n' | grep -o "\"$2\":[0-9]*" | cut -d: -f2; }
call() { hostctl call irq-load@$1 $2 $3 2>&1; }
# A quiet point: the load paused, the interrupt in flight arrived; prints
# "handled interrupts" (the plugin's count, the kernel's count).
quiet() {
	[ "$(call $1 pause 1)" = 0 ] || return 1
	echo "$(call $1 handled) $(counter $1 interrupts)"
	call $1 pause 0 >/dev/null
}
grown_by() { [ $(counter $1 interrupts) -ge $(($2 + $3)) ]; }

settings || { fail hostd_kill9 "first hostd: see above"; exit 0; }
for d in $A $B $C; do
	wait_log "instance=irq-load@$d .*instance attached" 60 || { fail hostd_kill9 "irq-load@$d never attached"; exit 0; }
done
for d in $A $B $C; do
	wait_until 20 sh -c "[ \"\$(hostctl call irq-load@$d handled 2>&1)\" -ge 20 ]" 2>/dev/null ||
		{ fail hostd_kill9 "no interrupt load on $d"; exit 0; }
done
for d in $A $B $C; do
	eval "q_$(echo $d | tr :. __)='$(quiet $d)'"
	eval "pid_$(echo $d | tr :. __)=$(owner_pid $d) rel_$(echo $d | tr :. __)=$(releases $d)"
done
var() { eval echo \$${1}_$(echo $2 | tr :. __); }

mark=$(log_mark)
kill -9 $HOSTD_PID
wait $SD_PID
HOSTD_PID=
# No hostd: every driverhost still owns its device and serves it.
ok=1 why=
for d in $A $B $C; do
	base=$(counter $d interrupts)
	if ! wait_until 20 grown_by $d $base 50 || [ "$(owner_pid $d)" != "$(var pid $d)" ] || [ "$(releases $d)" != "$(var rel $d)" ]; then
		ok=0 why="$why $d: owner $(var pid $d)->$(owner_pid $d), releases $(var rel $d)->$(releases $d), interrupts $base->$(counter $d interrupts);"
	fi
done
[ $ok = 1 ] && pass hostd_kill9_driverhosts_serve_on || fail hostd_kill9_driverhosts_serve_on "$why"

settings || { fail hostd_kill9_adopts "second hostd: see above"; exit 0; }
ok=1 why=
for d in $A $B $C; do
	wait_log "instance=irq-load@$d .*driverhost adopted" 60 $mark && wait_log "instance=irq-load@$d .*instance attached" 30 $mark ||
		{ ok=0 why="$why $d not adopted;"; continue; }
	now=$(quiet $d); then=$(var q $d)
	set -- $then $now
	if [ "$(field $d pid)" != "$(var pid $d)" ] || [ "$(owner_pid $d)" != "$(var pid $d)" ] || [ "$(releases $d)" != "$(var rel $d)" ] ||
		[ "$(field $d restarts)" != 0 ] || [ $3 -le $1 ] || [ $(($3 - $1)) != $(($4 - $2)) ] || [ "$(call $d lost)" != 0 ]; then
		ok=0 why="$why $d: pid $(var pid $d)->$(field $d pid) owner $(owner_pid $d), releases $(var rel $d)->$(releases $d), restarts $(field $d restarts), handled $1->$3, kernel interrupts $2->$4, lost $(call $d lost);"
	fi
done
[ $ok = 1 ] && pass hostd_kill9_adopts_with_no_interrupt_lost || fail hostd_kill9_adopts_with_no_interrupt_lost "$why"

# Again, and meanwhile A's driverhost is killed and B's record is made to
# name a live process that is not its driverhost (a reused pid).
mark=$(log_mark)
kill -9 $HOSTD_PID
wait $SD_PID
HOSTD_PID=
pid_a=$(owner_pid $A) pid_b=$(owner_pid $B) pid_c=$(owner_pid $C) rel_a=$(releases $A) rel_b=$(releases $B)
kill -9 $pid_a $pid_b
wait_until 10 sh -c "[ \$(cat $(sysdev $A)/drvproxy/owner_pid) = 0 ] && [ \$(cat $(sysdev $B)/drvproxy/owner_pid) = 0 ]" ||
	fail hostd_kill9_setup "A and B not released"
sleep 600 &
stranger=$!
record=$H/state/driverhosts/irq-load@$B.json
sed -i "s/\"pid\":$pid_b,/\"pid\":$stranger,/" $record
settings || { fail hostd_kill9_recovers "third hostd: see above"; exit 0; }
for d in $A $B $C; do wait_log "instance=irq-load@$d .*instance attached" 60 $mark || fail hostd_kill9_recovers "irq-load@$d never attached"; done
if [ "$(field $A restarts)" = 1 ] && [ "$(field $A pid)" != "$pid_a" ] && [ $(releases $A) -gt $rel_a ] &&
	hostctl status irq-load@$A | grep -q "ended while hostd was not running"; then
	pass hostd_kill9_restarts_what_died_meanwhile
else
	fail hostd_kill9_restarts_what_died_meanwhile "restarts $(field $A restarts), pid $pid_a->$(field $A pid), releases $rel_a->$(releases $A): $(hostctl status irq-load@$A | tr '\n' ' ')"
fi
if [ "$(field $B restarts)" = 1 ] && [ "$(field $B pid)" != "$stranger" ] && kill -0 $stranger 2>/dev/null &&
	hostctl status irq-load@$B | grep -q "another process now"; then
	pass hostd_kill9_never_adopts_a_reused_pid
else
	fail hostd_kill9_never_adopts_a_reused_pid "restarts $(field $B restarts), pid $(field $B pid), stranger $stranger alive: $(kill -0 $stranger 2>/dev/null && echo yes || echo no): $(hostctl status irq-load@$B | tr '\n' ' ')"
fi
[ "$(field $C pid)" = "$pid_c" ] && [ "$(field $C restarts)" = 0 ] && pass hostd_kill9_adopts_the_others ||
	fail hostd_kill9_adopts_the_others "C pid $pid_c->$(field $C pid), restarts $(field $C restarts)"
kill $stranger

stop_hostd; rc=$HOSTD_STATUS
if [ "$rc" = 0 ] && [ "$(driver_of $A) $(driver_of $B) $(driver_of $C)" = "uio_pci_generic uio_pci_generic uio_pci_generic" ]; then
	pass hostd_kill9_sigterm_still_unloads
else
	fail hostd_kill9_sigterm_still_unloads "exit $rc, drivers $(driver_of $A) $(driver_of $B) $(driver_of $C)"
fi
for d in $A $B $C; do unbind $d; done
cp $LOG /tmp/hostd-41.log
rm -rf $H
