#!/bin/sh
# Crash to recovery through hostd, over 60 crashes: crash-magic.so saves the
# time in its state and crashes in interrupt(); after the kernel's release
# hostd starts the next driverhost, whose attach raises an interrupt and
# whose interrupt() logs recovered_ns=N (crash to first interrupt handled).
# The restart window is 1 ms, so every crash takes the immediate-restart
# path: this measures the mechanism, not the backoff. Measured twice in this
# boot: as configured by default (a warm standby driverhost takes over) and,
# as the baseline, with warm_standby = false (a new process every time).
#
# Then memory: PSS (smaps_rollup) of 1 and of 16 driverhost --simulate
# instances; the marginal cost is (PSS(16) - PSS(1)) / 15. The same for
# standbys (plugin loaded, waiting for their start).
. /suites/lib.sh
. /suites/hostd.sh

set -- $EDU_BDFS
A=$1
shift
others=$(toml_list $*)  # left alone

now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }  # 10 ms steps
cpu_ticks() { awk '{ print $14 + $15 }' /proc/$1/stat 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)
ms() { echo $(($1 / 1000000)).$(printf '%03d' $((($1 / 1000) % 1000))); }
pct() { sed -n "$(( ($(wc -l <$1) * $2 + 99) / 100 ))p" $1; }  # FILE P: Pth percentile of sorted FILE
recovery() { # NAME STANDBY: 60 crashes; prints NAME_samples, NAME_ms_p50, NAME_ms_p99
	mkdir -p $PLUGINS && cp /plugins/crash-magic.so $PLUGINS/
	start_hostd "autoload = true" "[restart]" "max_crashes = 1000" "window_ms = 1" "warm_standby = $2" \
		"[devices]" "ignore = $others" || { echo "FAIL: bench_$1: hostd not ready"; return; }
	wait_log "instance=misbehave@$A .*instance attached" 60 || { echo "FAIL: bench_$1: not attached"; return; }
	# What hostd takes with nothing happening (heartbeats, memory samples),
	# over 5 s once the standby is there: the part of the CPU per crash
	# that is time, not crashes.
	[ "$2" = false ] || wait_log "standby driverhost started" 30 || { echo "FAIL: bench_$1: no standby"; return; }
	ticks=$(cpu_ticks $HOSTD_PID)
	sleep 5
	echo "$1_hostd_idle_cpu_ms_per_s: $(ms $((($(cpu_ticks $HOSTD_PID) - ticks) * 1000000000 / HZ / 5)))"
	crashes=60
	i=0
	ticks=$(cpu_ticks $HOSTD_PID)
	started=$(now_ms)
	while [ $i -lt $crashes ]; do
		mark=$(log_mark)
		hostctl call misbehave@$A crash 0 >/dev/null 2>&1
		wait_log "recovered_ns=" 30 $mark || { echo "FAIL: bench_$1: crash $i not recovered"; break; }
		i=$((i + 1))
	done
	# hostd's CPU time (user + system) per crash: what the supervisor takes
	# from the single vCPU that the restart itself needs.
	ticks=$(($(cpu_ticks $HOSTD_PID) - ticks))
	[ $i -gt 0 ] && echo "$1_hostd_cpu_ms_per_crash: $(ms $((ticks * 1000000000 / HZ / i)))"
	[ $i -gt 0 ] && echo "$1_wall_ms_per_crash: $((($(now_ms) - started) / i))"
	stop_hostd
	grep -o 'recovered_ns=[0-9]*' $LOG | cut -d= -f2 | sort -n >/tmp/$1.txt
	echo "$1_samples: $(wc -l </tmp/$1.txt)"
	echo "$1_warm_starts: $(grep -c 'standby=true .*driverhost started' $LOG)"
	if [ -s /tmp/$1.txt ]; then
		echo "$1_ms_p50: $(ms $(pct /tmp/$1.txt 50))"
		echo "$1_ms_p99: $(ms $(pct /tmp/$1.txt 99))"
		# The distribution in ms, for make bench's plots.
		echo "cdf: $1$(for p in $(seq 1 100); do printf ' %s' $(ms $(pct /tmp/$1.txt $p)); done)"
	fi
	unbind $A
	rm -rf $H
}
recovery recovery true
recovery recovery_cold false
[ -s /tmp/recovery.txt ] && [ -s /tmp/recovery_cold.txt ] &&
	echo "recovery_ratio_p50: $(awk "BEGIN { printf \"%.3f\", $(pct /tmp/recovery.txt 50) / $(pct /tmp/recovery_cold.txt 50) }")"

pss_kib() { # total PSS of the pids given
	t=0
	for p in "$@"; do
		v=$(grep '^Pss:' /proc/$p/smaps_rollup | tr -s ' ' | cut -d' ' -f2)
		t=$((t + v))
	done
	echo $t
}
start_sim() { # N PATTERN ARGS...: starts N driverhosts, waits for each to log PATTERN
	n=$1 pattern=$2
	shift 2
	pids=
	k=0
	while [ $k -lt $n ]; do
		rm -f /tmp/sim.$k /tmp/ctl.$k && mkfifo /tmp/sim.$k /tmp/ctl.$k
		# fd 3: a control channel that never speaks (a standby waits on it)
		driverhost --plugin /plugins/good.so "$@" 2>/tmp/sim.$k 3<>/tmp/ctl.$k &
		pids="$pids $!"
		grep -q -m1 "$pattern" </tmp/sim.$k  # the fifo then has no reader; logs stop
		k=$((k + 1))
	done
}
mib() { echo "$(($1 / 1024)).$(( ($1 % 1024) * 10 / 1024 ))"; }
marginal() { m=$(( ($2 - $1) * 100 / 15 / 1024 )); echo "$((m / 100)).$(printf '%02d' $((m % 100)))"; }
start_sim 1 attached --simulate; one=$(pss_kib $pids); kill $pids; wait
start_sim 16 attached --simulate; all=$(pss_kib $pids); kill $pids; wait
echo "driverhost_pss_mib_1: $(mib $one)"
echo "driverhost_pss_mib_16: $(mib $all)"
echo "driverhost_pss_mib_marginal: $(marginal $one $all)"
standby="--simulate --standby --control-fd 3 --log-level debug"
start_sim 1 "waiting for start" $standby; one=$(pss_kib $pids); kill $pids; wait
start_sim 16 "waiting for start" $standby; all=$(pss_kib $pids); kill $pids; wait
echo "standby_pss_mib_marginal: $(marginal $one $all)"
