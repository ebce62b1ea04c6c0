#!/bin/sh
# What an instance may take (hostd.toml [instance]), on a real cgroup v2, and
# liveness: a driverhost that outgrows its memory limit, or that is stopped,
# is ended by hostd with the reason and restarted; the kernel's OOM killer
# never has to act (the judge would see its reports in dmesg).
. /suites/lib.sh
. /suites/hostd.sh

set -- $EDU_BDFS
A=$1
shift
OTHERS="$*"
bind_uio $A >/dev/null || { fail hostd_limits_setup "cannot bind $A to uio_pci_generic"; exit 0; }
mkdir -p $PLUGINS && cp /plugins/hog.so $PLUGINS/hog.so
start_limited_hostd() {
	start_hostd "autoload = false" "[restart]" "backoff_initial_ms = 20" "warm_standby = false" \
		"[limits]" "max_callback_ms = 10000" "liveness_ms = 10100" \
		"[instance]" "memory_max_mb = 48" "pids_max = 16" "cpu_weight = 50" \
		"[devices]" "claim = $(toml_list $A)" "ignore = $(toml_list $OTHERS)"
}
start_limited_hostd || { fail hostd_limits_ready "see above"; exit 0; }
I=misbehave@$A

pid_of() { hostctl status $I | sed -n 's/^  pid: *\([0-9]*\)$/\1/p'; }
restarts_of() { hostctl status $I | sed -n 's/^  restarts: *\([0-9]*\)$/\1/p'; }
last_exit_of() { hostctl status $I | sed -n 's/^  last exit: *//p'; }

# The driverhost runs in its instance's cgroup, with the limits set.
hostctl load hog.so --device $A >/dev/null 2>&1
pid=$(pid_of)
group=$(sed -n 's/^0:://p' /proc/$pid/cgroup 2>/dev/null)
dir=/sys/fs/cgroup$group
if [ -n "$pid" ] && [ "$(cat $dir/memory.high 2>/dev/null)" = $((48 << 20)) ] &&
	[ "$(cat $dir/pids.max 2>/dev/null)" = 16 ] && [ "$(cat $dir/cpu.weight 2>/dev/null)" = 50 ]; then
	pass hostd_instance_runs_in_its_cgroup
else
	fail hostd_instance_runs_in_its_cgroup "pid '$pid' in '$group': high $(cat $dir/memory.high 2>/dev/null) pids $(cat $dir/pids.max 2>/dev/null)"
fi

# Past its memory limit: ended by hostd, with the reason, and restarted.
mark=$(log_mark)
got=$(hostctl call $I hog 1000 2>&1)
if wait_log "instance=$I .*instance attached" 60 $mark; then
	case "$(last_exit_of)" in
	*"killed by hostd: it used "*" MiB, more than its memory limit (memory_max_mb = 48)") pass hostd_memory_limit_ends_the_instance ;;
	*) fail hostd_memory_limit_ends_the_instance "call '$got', last exit '$(last_exit_of)'" ;;
	esac
else
	fail hostd_memory_limit_ends_the_instance "not restarted: $(tail -n 5 $LOG | tr '\n' ' ')"
fi

# Stopped: no heartbeat answered, killed, restarted.
pid=$(pid_of)
before=$(restarts_of)
mark=$(log_mark)
kill -STOP $pid
if wait_log "instance=$I .*instance attached" 60 $mark && [ "$(restarts_of)" = $((before + 1)) ]; then
	case "$(last_exit_of)" in
	*"killed by hostd: it answered no heartbeat for 10100 ms"*) pass hostd_stopped_driverhost_restarted ;;
	*) fail hostd_stopped_driverhost_restarted "last exit '$(last_exit_of)'" ;;
	esac
else
	fail hostd_stopped_driverhost_restarted "pid $pid, restarts $before -> $(restarts_of): $(tail -n 5 $LOG | tr '\n' ' ')"
fi

# A new hostd (the old one killed) adopts the driverhost and watches its
# memory limit as its own: past it, ended with the reason and restarted.
mark=$(log_mark)
kill -9 $HOSTD_PID
wait $SD_PID
HOSTD_PID=
why=
if ! start_limited_hostd; then
	why="the second hostd did not start"
elif ! wait_log "instance=$I .*driverhost adopted" 60 $mark; then
	why="not adopted: $(tail -n 5 $LOG | tr '\n' ' ')"
else
	before=$(restarts_of)
	mark=$(log_mark)
	got=$(hostctl call $I hog 1000 2>&1)
	if ! wait_log "instance=$I .*instance attached" 60 $mark || [ "$(restarts_of)" != $((before + 1)) ]; then
		why="not restarted (call '$got', restarts $before -> $(restarts_of)): $(tail -n 5 $LOG | tr '\n' ' ')"
	else
		case "$(last_exit_of)" in
		*"killed by hostd: it used "*" MiB, more than its memory limit (memory_max_mb = 48)") ;;
		*) why="call '$got', last exit '$(last_exit_of)'" ;;
		esac
	fi
fi
[ -z "$why" ] && pass hostd_adopted_driverhost_keeps_its_memory_limit || fail hostd_adopted_driverhost_keeps_its_memory_limit "$why"
[ -n "$HOSTD_PID" ] || exit 0

# Unload: the instance's cgroup goes with it.
hostctl unload $I >/dev/null 2>&1
[ ! -d "$dir" ] && pass hostd_unload_removes_the_cgroup || fail hostd_unload_removes_the_cgroup "$dir is still there"

# A plugin's child that left the process group (setsid) and sleeps holding
# every descriptor, the device's too: killed with its driverhost (it is still
# in the instance's cgroup), the instance's last exit says so, and hostd's
# control plane answers all the while: list and status are timed without
# pause from the load to the unload, on a prober of their own.
holder_after() { tail -n +$1 $LOG | sed -n 's/.*holder pid \([0-9]*\).*/\1/p' | head -n 1; }
gone() { ! kill -0 $1 2>/dev/null; }
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
BOUND_MS=3000
# Until $H/probe.stop appears: hostctl list and status, each timed; writes
# "calls slowest_ms failures" to $1. status may say "no such instance" while
# unloading; only a list that fails (or any call over the bound) counts.
probe_control() {
	calls=0 slowest=0 failures=0
	while [ ! -e $H/probe.stop ]; do
		t0=$(now_ms)
		timeout 10 hostctl list >/dev/null 2>&1 || failures=$((failures + 1))
		t1=$(now_ms)
		timeout 10 hostctl status $I >/dev/null 2>&1
		t2=$(now_ms)
		for t in $((t1 - t0)) $((t2 - t1)); do [ $t -gt $slowest ] && slowest=$t; done
		calls=$((calls + 2))
	done
	echo "$calls $slowest $failures" >$1
}
# (It is plugin "misbehave" too: hog.so goes first.)
mark=$(log_mark)
rm $PLUGINS/hog.so
wait_log "file=hog.so .*plugin removed" 30 $mark
cp /plugins/escape-hold.so $PLUGINS/escape-hold.so
wait_log "file=escape-hold.so .*plugin available" 30 $mark
rm -f $H/probe.stop $H/probe.out
probe_control $H/probe.out &
prober=$!
mark=$(log_mark)
loaded=$(hostctl load escape-hold.so --device $A 2>&1)
holder=$(holder_after $mark) pid=$(pid_of)
mark=$(log_mark)
kill -SEGV $pid
exit_names_holder() { case "$(last_exit_of)" in *"signal"*"; hostd killed what it left in its cgroup (pid $holder)") true ;; *) false ;; esac; }
if [ -n "$holder" ] && wait_log "instance=$I .*instance attached" 60 $mark && wait_until 5 gone $holder; then
	pass hostd_kills_what_a_driverhost_left_behind
else
	fail hostd_kills_what_a_driverhost_left_behind "load: $loaded; holder '$holder' $(gone "$holder" && echo gone || echo alive), driverhost $pid: $(tail -n 5 $LOG | tr '\n' ' ')"
fi
[ -n "$holder" ] && wait_until 5 exit_names_holder && pass hostd_last_exit_names_the_killed_holder ||
	fail hostd_last_exit_names_the_killed_holder "holder '$holder', last exit '$(last_exit_of)'"
second=$(holder_after $mark)
hostctl unload $I >/dev/null 2>&1
[ -n "$second" ] && wait_until 5 gone $second && [ ! -d "$dir" ] && pass hostd_unload_kills_what_a_driverhost_left_behind ||
	fail hostd_unload_kills_what_a_driverhost_left_behind "holder '$second' $(gone "$second" && echo gone || echo alive), cgroup $([ -d "$dir" ] && echo kept || echo removed)"
touch $H/probe.stop
wait $prober
read -r calls slowest failures <$H/probe.out
echo "hostd_control_while_device_held: $calls calls, slowest ${slowest} ms, $failures failed lists"
[ "$calls" -ge 4 ] && [ "$slowest" -lt $BOUND_MS ] && [ "$failures" = 0 ] &&
	pass hostd_answers_while_a_child_holds_the_device ||
	fail hostd_answers_while_a_child_holds_the_device "$calls calls, slowest $slowest ms (bound $BOUND_MS), $failures failed lists"
stop_hostd
unbind $A
cp $LOG /tmp/hostd-42.log
rm -rf $H
