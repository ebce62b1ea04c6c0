#!/bin/sh
# The Swift edu plugin against the C edu plugin, same device, same boot:
# the interrupt round trip (pingpong through driverhost; alternating runs,
# per-run p50, median over runs), the time driverhost takes to load and
# check each plugin, and each one's marginal PSS as a warm standby (plugin
# loaded, waiting for its start), 1 against 16 standbys.
. /suites/lib.sh

set -- $EDU_BDFS
dev=$1
per_run=2000
runs="1 2 3 4 5"
rm -f /tmp/swift.rt /tmp/c.rt

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

run() { # LABEL PLUGIN: one pingpong run, its p50 appended to /tmp/LABEL.rt
	out=$(driverhost --device $dev --plugin $2 --log-level error \
		--call pingpong $per_run --call roundtrip_ns 50) || { echo "FAIL: bench_swift_plugin: $1 run failed"; exit 1; }
	echo "$out" | awk -F' = ' -v n=$per_run '/^pingpong/ { ok = ($2 == n) } /^roundtrip_ns\(50\)/ { p50 = $2 }
		END { if (ok) print p50 }' >>/tmp/$1.rt
}

bind_drvproxy $dev || { echo "FAIL: bench_swift_plugin: cannot bind"; exit 1; }
for r in $runs; do
	if [ $((r % 2)) = 1 ]; then run c /plugins/edu.so; run swift /plugins/edu-swift.so
	else run swift /plugins/edu-swift.so; run c /plugins/edu.so; fi
done
unbind $dev
c50=$(median </tmp/c.rt) s50=$(median </tmp/swift.rt)
awk -v c=$c50 -v s=$s50 'BEGIN {
	printf "swift_plugin_roundtrip_p50_us: %.2f\n", s / 1000
	printf "c_plugin_roundtrip_p50_us: %.2f\n", c / 1000
	printf "swift_plugin_roundtrip_ratio_p50: %.3f\n", s / c
}'

b_plugin_load 21 c=/plugins/edu.so swift=/plugins/edu-swift.so

pss_kib() { # total PSS of the pids given
	t=0
	for p in "$@"; do
		v=$(grep '^Pss:' /proc/$p/smaps_rollup | tr -s ' ' | cut -d' ' -f2)
		t=$((t + v))
	done
	echo $t
}
standbys() { # N PLUGIN: starts N standbys of PLUGIN, waits until each waits for its start
	n=$1 pids= k=0
	while [ $k -lt $n ]; do
		rm -f /tmp/sb.$k /tmp/sbctl.$k && mkfifo /tmp/sb.$k /tmp/sbctl.$k
		# fd 3: a control channel that never speaks: the standby waits on it
		driverhost --plugin $2 --simulate --standby --control-fd 3 --log-level debug 2>/tmp/sb.$k 3<>/tmp/sbctl.$k &
		pids="$pids $!"
		grep -q -m1 "waiting for start" </tmp/sb.$k
		k=$((k + 1))
	done
}
marginal() { m=$(( ($2 - $1) * 100 / 15 / 1024 )); echo "$((m / 100)).$(printf '%02d' $((m % 100)))"; }
for p in c:/plugins/edu.so swift:/plugins/edu-swift.so; do
	label=${p%%:*} plugin=${p#*:}
	standbys 1 $plugin; one=$(pss_kib $pids); kill $pids; wait
	standbys 16 $plugin; all=$(pss_kib $pids); kill $pids; wait
	echo "${label}_plugin_standby_pss_mib_marginal: $(marginal $one $all)"
done
