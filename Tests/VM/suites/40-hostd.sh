#!/bin/sh
# hostd end to end on two edu devices that start on uio_pci_generic (so there
# is a previous driver to restore): readiness, autoload from the plugin
# directory, interrupts, calls, unload, crash -> release -> restart, crash
# loop -> failed, a plugin whose constructor crashes, replace and remove,
# SIGTERM. The other edu devices are left alone by configuration.
. /suites/lib.sh
. /suites/hostd.sh

set -- $EDU_BDFS
A=$1 B=$2
shift 2
OTHERS="$*"
for d in $A $B; do bind_uio $d >/dev/null || { fail hostd_setup "cannot bind $d to uio_pci_generic"; exit 0; }; done

# A bad configuration stops start-up with the line and the reason.
printf 'autoload = true\n[restart]\nwindow_ms = "soon"\n' >/tmp/bad.toml
out=$(hostd --config /tmp/bad.toml 2>&1); rc=$?
case "$rc:$out" in
2:*"/tmp/bad.toml:3: restart.window_ms must be an integer"*) pass hostd_bad_config_names_line ;;
*) fail hostd_bad_config_names_line "exit $rc: $out" ;;
esac

start_hostd "autoload = true" "[restart]" "max_crashes = 3" "window_ms = 20000" "backoff_initial_ms = 20" \
	"[devices]" "claim = $(toml_list $A $B)" "ignore = $(toml_list $OTHERS)" ||
	{ fail hostd_ready "see above"; exit 0; }
pass hostd_ready_over_notify_socket

# Autoload: edu.so copied in is loaded onto both devices (and no other).
mark=$(log_mark)
cp /plugins/edu.so $PLUGINS/edu.so
if wait_log "instance=edu@$A .*instance attached" 60 $mark && wait_log "instance=edu@$B .*instance attached" 60 $mark; then
	n=$(hostctl list | grep -c "edu@")
	others=$(for d in $OTHERS; do hostctl status edu@$d >/dev/null 2>&1 && echo $d; done)
	if [ "$(driver_of $A)$(driver_of $B)" = drvproxydrvproxy ] && [ -z "$others" ]; then
		pass hostd_autoload_onto_two_devices
	else
		fail hostd_autoload_onto_two_devices "drivers $(driver_of $A) $(driver_of $B), also on: $others"
	fi
else
	fail hostd_autoload_onto_two_devices "not attached: $(tail -n 5 $LOG | tr '\n' ' ')"
fi

# Both handle their interrupts (pingpong raises and waits for each one).
for d in $A $B; do
	before=$(cat $(sysdev $d)/drvproxy/interrupts)
	got=$(hostctl call edu@$d pingpong 200 2>&1)
	after=$(cat $(sysdev $d)/drvproxy/interrupts)
	if [ "$got" = 200 ] && [ $((after - before)) -ge 200 ]; then pass hostd_interrupts_$d
	else fail hostd_interrupts_$d "pingpong gave '$got', interrupts $before -> $after"; fi
done

got=$(hostctl call edu@$A factorial 10 2>&1)
[ "$got" = 3628800 ] && pass hostd_call_factorial_10 || fail hostd_call_factorial_10 "got '$got'"
got=$(hostctl call edu@$A factorial 1 2 2>&1); rc=$?
case "$rc:$got" in
1:*"takes 1 argument(s), 2 given"*) pass hostd_call_wrong_argument_count ;;
*) fail hostd_call_wrong_argument_count "exit $rc: $got" ;;
esac

# hostctl devices agrees with lspci -nn: class, ids and names, device by device.
bad=
lspci-pciutils -D -nn -i /usr/share/misc/pci.ids | sed 's/ (rev [0-9a-f]*)//; s/ (prog-if [^)]*)//' >/tmp/lspci.txt
hostctl devices >/tmp/hostctl-devices.txt
while read -r bdf rest; do
	grep -q -F "$bdf $rest" /tmp/hostctl-devices.txt || bad="$bad $bdf"
done </tmp/lspci.txt
if [ -z "$bad" ] && [ $(wc -l </tmp/lspci.txt) -gt 5 ]; then pass hostd_devices_agree_with_lspci
else
	first=$(echo $bad | cut -d' ' -f1)
	fail hostd_devices_agree_with_lspci "differ on:$bad (lspci: $(grep -m1 "^$first" /tmp/lspci.txt); hostctl: $(grep -m1 "^$first" /tmp/hostctl-devices.txt))"
fi

# Unload releases both devices and gives them back to uio_pci_generic.
rel_a=$(releases $A); rel_b=$(releases $B)
hostctl unload edu >/dev/null
if [ "$(driver_of $A) $(driver_of $B)" = "uio_pci_generic uio_pci_generic" ] && [ -e $(sysdev $A)/uio ]; then
	pass hostd_unload_restores_previous_driver
else
	fail hostd_unload_restores_previous_driver "drivers now $(driver_of $A) $(driver_of $B)"
fi

# A SIGSEGV inside interrupt(): the kernel's release, then a new driverhost
# (its launch saw the releases counter already moved), which handles
# interrupts again. The new driverhost is the warm standby that hostd started
# after the first attach: it has waited, device untouched, and owns the
# device now. hostctl load takes the devices back from uio_pci_generic.
rm $PLUGINS/edu.so
mark=$(log_mark)
cp /plugins/crash-magic.so $PLUGINS/crash-magic.so
wait_log "instance=misbehave@$A .*instance attached" 60 $mark || fail hostd_crash_restart "crash-magic not loaded"
rel=$(releases $A)
standby=$(hostctl status misbehave@$A | sed -n 's/^ *standby: *//p')
owner=$(owner_pid $A)
mark=$(log_mark)
hostctl call misbehave@$A crash 0 >/tmp/crash.out 2>&1
if wait_log "instance=misbehave@$A .*restart=1 .*instance attached" 30 $mark; then
	launched=$(tail -n +$mark $LOG | grep "instance=misbehave@$A" | grep "driverhost started" | grep -o 'releases=[0-9]*' | tail -n 1)
	ended=$(tail -n +$mark $LOG | grep "instance=misbehave@$A" | grep -c "status=signal 11 (SIGSEGV)")
	got=$(hostctl call misbehave@$A raise 0x10000 2>&1)
	status=$(hostctl status misbehave@$A)
	if [ "$launched" != "releases=$((rel + 1))" ]; then
		fail hostd_crash_release_then_restart "new driverhost started at $launched, crash at releases=$rel"
	elif [ "$standby" = - ] || [ "$owner" = "$standby" ] || [ "$(owner_pid $A)" != "$standby" ]; then
		fail hostd_crash_release_then_restart "device owner $owner -> $(owner_pid $A), standby was $standby"
	elif [ "$ended" -lt 1 ]; then
		fail hostd_crash_release_then_restart "no SIGSEGV exit logged"
	elif [ "$got" != 65536 ]; then
		fail hostd_crash_release_then_restart "no interrupt handled after the restart: '$got'"
	elif ! echo "$status" | grep -q "signal 11 (SIGSEGV)"; then
		fail hostd_crash_release_then_restart "status lacks the last exit: $status"
	else
		pass hostd_crash_release_then_restart
	fi
else
	fail hostd_crash_release_then_restart "no restart: $(tail -n 5 $LOG | tr '\n' ' ')"
fi

# Removing the file unloads its instances.
mark=$(log_mark)
rm $PLUGINS/crash-magic.so
# (hostd unloads them one after the other, in no set order: wait for both.)
if wait_log "instance=misbehave@$A .*instance unloaded" 30 $mark && wait_log "instance=misbehave@$B .*instance unloaded" 30 $mark &&
	! hostctl status misbehave@$A >/dev/null 2>&1; then
	pass hostd_remove_plugin_unloads
else
	fail hostd_remove_plugin_unloads "still: $(hostctl list | tr '\n' ' ')"
fi

# A crash loop (attach fails every time) ends in failed, with the reason.
mark=$(log_mark)
cp /plugins/attach-fails.so $PLUGINS/attach-fails.so
if wait_log "instance=misbehave@$A .*instance failed" 60 $mark; then
	status=$(hostctl status misbehave@$A)
	case "$status" in
	*failed*"ended 3 times within 20000 ms; last: exit 30 (attach failed)"*) pass hostd_crash_loop_fails_with_reason ;;
	*) fail hostd_crash_loop_fails_with_reason "status: $(echo $status)" ;;
	esac
else
	fail hostd_crash_loop_fails_with_reason "never failed: $(tail -n 5 $LOG | tr '\n' ' ')"
fi
rm $PLUGINS/attach-fails.so

# A plugin whose constructor crashes is refused; hostd stays up.
mark=$(log_mark)
cp /plugins/ctor-crash.so $PLUGINS/ctor-crash.so
if wait_log "file=ctor-crash.so .*plugin refused" 30 $mark; then
	line=$(hostctl list | grep ctor-crash.so)
	if kill -0 $HOSTD_PID && echo "$line" | grep -q "refused.*crashed: signal 11 (SIGSEGV)"; then
		pass hostd_survives_crashing_constructor
	else
		fail hostd_survives_crashing_constructor "list: $line"
	fi
else
	fail hostd_survives_crashing_constructor "not refused: $(tail -n 5 $LOG | tr '\n' ' ')"
fi
rm $PLUGINS/ctor-crash.so

# Replacing a plugin (atomic rename) restarts its instances on the new file.
mark=$(log_mark)
cp /plugins/edu.so $PLUGINS/edu.so
wait_log "instance=edu@$A .*instance attached" 60 $mark
wait_log "instance=edu@$B .*instance attached" 60 $mark
old=$(hostctl status edu@$A | grep -o 'pid[^0-9]*[0-9]*' | grep -o '[0-9]*$')
mark=$(log_mark)
cp /plugins/edu.so $PLUGINS/.edu.so.new && mv $PLUGINS/.edu.so.new $PLUGINS/edu.so
if wait_log "instance=edu@$A .*instance attached" 60 $mark; then
	new=$(hostctl status edu@$A | grep -o 'pid[^0-9]*[0-9]*' | grep -o '[0-9]*$')
	got=$(hostctl call edu@$A factorial 5 2>&1)
	if [ -n "$old" ] && [ "$old" != "$new" ] && [ "$got" = 120 ]; then pass hostd_replace_restarts_instances
	else fail hostd_replace_restarts_instances "pid $old -> $new, factorial 5 = $got"; fi
else
	fail hostd_replace_restarts_instances "not restarted: $(tail -n 5 $LOG | tr '\n' ' ')"
fi

# SIGTERM: everything unloaded, previous drivers back, exit 0.
stop_hostd; rc=$HOSTD_STATUS
if [ "$rc" = 0 ] && [ "$(driver_of $A) $(driver_of $B)" = "uio_pci_generic uio_pci_generic" ] && ! pidof driverhost >/dev/null; then
	pass hostd_sigterm_restores_and_exits_0
else
	fail hostd_sigterm_restores_and_exits_0 "exit $rc, drivers $(driver_of $A) $(driver_of $B), driverhosts: $(pidof driverhost)"
fi
for d in $A $B; do unbind $d; done
cp $LOG /tmp/hostd-40.log
rm -rf $H
