#!/bin/sh
# Crash to recovery through hostd, over 60 crashes: crash-magic.so saves the
# time in its state and crashes in interrupt(); after the kernel's release
# hostd starts the next driverhost, whose attach raises an interrupt and
# whose interrupt() logs recovered_ns=N (crash to first interrupt handled).
# The restart window is 1 ms, so every crash takes the immediate-restart
# path: this measures the mechanism, not the backoff.
#
# Then memory: PSS (smaps_rollup) of 1 and of 16 driverhost --simulate
# instances; the marginal cost is (PSS(16) - PSS(1)) / 15.
. /suites/lib.sh
. /suites/hostd.sh

set -- $EDU_BDFS
A=$1
shift
mkdir -p $PLUGINS && cp /plugins/crash-magic.so $PLUGINS/
start_hostd "autoload = true" "[restart]" "max_crashes = 1000" "window_ms = 1" \
	"[devices]" "ignore = $(toml_list $*)" || { echo "FAIL: bench_recovery: hostd not ready"; exit 0; }
wait_log "instance=misbehave@$A .*instance attached" 60 || { echo "FAIL: bench_recovery: not attached"; exit 0; }
crashes=60
i=0
while [ $i -lt $crashes ]; do
	mark=$(log_lines)
	hostctl call misbehave@$A crash 0 >/dev/null 2>&1
	wait_log "recovered_ns=" 30 $mark || { echo "FAIL: bench_recovery: crash $i not recovered"; break; }
	i=$((i + 1))
done
stop_hostd
grep -o 'recovered_ns=[0-9]*' $LOG | cut -d= -f2 | sort -n >/tmp/recovery.txt
n=$(wc -l </tmp/recovery.txt)
pick() { sed -n "$(( ($n * $1 + 99) / 100 ))p" /tmp/recovery.txt; }
ms() { echo $(($1 / 1000000)).$(printf '%03d' $((($1 / 1000) % 1000))); }
echo "recovery_samples: $n"
[ $n -gt 0 ] && echo "recovery_ms_p50: $(ms $(pick 50))" && echo "recovery_ms_p99: $(ms $(pick 99))"
unbind $A
rm -rf $H

pss_kib() { # total PSS of the pids given
	t=0
	for p in "$@"; do
		v=$(grep '^Pss:' /proc/$p/smaps_rollup | tr -s ' ' | cut -d' ' -f2)
		t=$((t + v))
	done
	echo $t
}
start_sim() { # N: starts N simulated driverhosts, waits for each to attach
	pids=
	k=0
	while [ $k -lt $1 ]; do
		rm -f /tmp/sim.$k && mkfifo /tmp/sim.$k
		driverhost --simulate --plugin /plugins/good.so 2>/tmp/sim.$k &
		pids="$pids $!"
		read -r line </tmp/sim.$k  # first log line: attached (the fifo then has no reader; logs stop)
		k=$((k + 1))
	done
}
start_sim 1; one=$(pss_kib $pids); kill $pids; wait
start_sim 16; all=$(pss_kib $pids); kill $pids; wait
echo "driverhost_pss_mib_1: $((one / 1024)).$(( (one % 1024) * 10 / 1024 ))"
echo "driverhost_pss_mib_16: $((all / 1024)).$(( (all % 1024) * 10 / 1024 ))"
m=$(( (all - one) * 100 / 15 / 1024 ))
echo "driverhost_pss_mib_marginal: $((m / 100)).$(printf '%02d' $((m % 100)))"
