#!/bin/sh
# The net class against the kernel's own driver, in the same boot: NIC A
# (drvhost's e1000e plugin through hostd) talks to B (the kernel's e1000e,
# netns peer); the baseline is the identical pair C (kernel e1000e) and D
# (kernel e1000e, netns base) on a hub of their own (Tests/VM/boots).
#
#   net_tcp_throughput_ratio   TCP, 32 MiB from the root namespace, drvhost / kernel
#   net_ping_rtt_p50_ratio     ping round trip, median of 200, drvhost / kernel
#   net_crash_tcp_resets       TCP connections reset across 5 driverhost SIGSEGVs (must be 0)
#   net_crash_outage_ms_max    the longest gap a crash made in that transfer (the
#                              receiver's waits between two reads over 50 ms, each
#                              put to the crash whose outage it overlaps)
# Boots without the NICs print nothing.
# bench-boot: 6.12/q35-iommu
. /suites/lib.sh
. /suites/hostd.sh
. /suites/net.sh

net_setup_peer >/dev/null || exit 0
is_e1000e $C && is_e1000e $D || exit 0
into_netns $D $MAC_D base $BASE.2 || exit 0
wait_until 20 iface_of_mac $MAC_C >/dev/null || { echo "FAIL: bench_net: no interface for $C"; exit 0; }
IF_C=$(iface_of_mac $MAC_C)
$IP addr add $BASE.1/24 dev $IF_C
$IP link set $IF_C up

mkdir -p $PLUGINS
cp /plugins/e1000e.so $PLUGINS/
start_hostd "autoload = false" "[restart]" "max_crashes = 1000" "window_ms = 1" \
	"[devices]" "claim = $(toml_list $A)" || { echo "FAIL: bench_net: hostd not ready"; exit 0; }
load_and_configure e1000e >/tmp/why || { echo "FAIL: bench_net: $(cat /tmp/why)"; exit 0; }
base_reaches() { $IP netns exec base ping -c 1 -W 1 $BASE.1 >/dev/null 2>&1; }
wait_until 20 base_reaches || { echo "FAIL: bench_net: the baseline pair does not talk"; exit 0; }

field() { echo "$1" | sed -n "s/.*$2=\([0-9.]*\).*/\1/p" | head -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "nan" }'; }

# System calls and wake-ups per frame through the interface, from the
# driverhost's /proc: read-like (syscr: TAP and device-event reads) and
# write-like (syscw: frames into the TAP) calls, and the times it slept
# (voluntary context switches: each a wake-up by the TAP or an interrupt),
# and its loop's epoll_waits (the net class's loop_waits counter).
frames_now() { echo $(($(stat_of tx_packets) + $(stat_of rx_packets))); }
loop_waits() { hostctl status e1000e@$A | sed -n 's/^ *counters: *//p' | tr ' ' '\n' | sed -n 's/^loop_waits=//p'; }
dh_sample() {
	pid=$(instance_pid e1000e)
	echo "$(frames_now) $(sed -n 's/^syscr: //p; s/^syscw: //p' /proc/$pid/io | tr '\n' ' ')$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' /proc/$pid/status) $(loop_waits | grep . || echo -)"
}
per_frame() {
	echo "$1 $2" | awk -v what="$3" '{ f = $6 - $1; if (f > 0) printf "NOTE: driverhost per frame, %s: %.2f reads, %.2f writes, %.2f wake-ups, %s epoll_waits (%d frames)\n", what, ($7 - $2) / f, ($8 - $3) / f, ($9 - $4) / f, ($10 != "-" && $5 != "-") ? sprintf("%.2f", ($10 - $5) / f) : "no count of", f }'
}

# Throughput: the receiver's figure, first byte to last.
bytes=33554432
before=$(dh_sample)
drv=$(field "$(transfer $bytes $NET.2 peer)" mbit_s)
per_frame "$before" "$(dh_sample)" "TCP transfer"
ker=$(field "$(transfer $bytes $BASE.2 base)" mbit_s)
echo "net_tcp_mbit_s_drvhost: $drv"
echo "net_tcp_mbit_s_kernel: $ker"
echo "net_tcp_throughput_ratio: $(ratio "$drv" "$ker")"

# Round trips: busybox ping's per-reply time=, median.
p50() { ping -c 200 -i 0.02 -W 2 $1 | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
before=$(dh_sample)
drv=$(p50 $NET.2)
per_frame "$before" "$(dh_sample)" "ping"
ker=$(p50 $BASE.2)
echo "net_ping_rtt_ms_p50_drvhost: $drv"
echo "net_ping_rtt_ms_p50_kernel: $ker"
echo "net_ping_rtt_p50_ratio: $(ratio "$drv" "$ker")"

# Where a round trip waits, from the kernel's tracepoints: the request
# entering the interface (net_dev_start_xmit) -> the reply's receive
# interrupt (the NIC's receive vectors: the driverhost's through drvproxy,
# or the kernel driver's rx vector) -> the reply entering the stack
# (netif_receive_skb). Medians in microseconds over 100 pings.
T=/sys/kernel/tracing
[ -e $T/trace ] || mount -t tracefs nodev $T 2>/dev/null
rtt_split() {
	[ -e $T/trace ] || { echo "NOTE: no tracefs: no round trip split"; return; }
	echo 0 >$T/tracing_on
	echo >$T/trace
	echo 8192 >$T/buffer_size_kb
	for e in net/net_dev_start_xmit net/netif_receive_skb; do
		echo "name == \"$1\"" >$T/events/$e/filter
		echo 1 >$T/events/$e/enable
	done
	echo 1 >$T/events/irq/irq_handler_entry/enable
	echo 1 >$T/tracing_on
	ping -c 100 -i 0.02 -W 2 $3 >/dev/null
	echo 0 >$T/tracing_on
	for e in net/net_dev_start_xmit net/netif_receive_skb irq/irq_handler_entry; do
		echo 0 >$T/events/$e/enable
	done
	echo 0 >$T/events/net/net_dev_start_xmit/filter
	echo 0 >$T/events/net/netif_receive_skb/filter
	awk -v irqs="$2" -v who="$4" '
		BEGIN { k = split(irqs, names, " "); for (i = 1; i <= k; i++) rx["name=" names[i]] = 1 }
		function stamp(   j) { for (j = 1; j <= NF; j++) if ($j ~ /^[0-9]+\.[0-9]+:$/) return substr($j, 1, length($j) - 1) * 1e6; return -1 }
		/net_dev_start_xmit:/ && / len=98 / { t0 = stamp(); t1 = -1; next }
		/irq_handler_entry:/ && t0 > 0 && t1 < 0 { for (i = 1; i <= NF; i++) if ($i in rx) t1 = stamp(); next }
		/netif_receive_skb:/ && / len=84$/ && t0 > 0 && t1 > 0 { n++; out[n] = t1 - t0; back[n] = stamp() - t1; t0 = -1 }
		function med(a,   i, j, x) { for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x } return a[int((n + 1) / 2)] }
		END { if (n) printf "NOTE: ping split, %s: request in -> reply interrupt %.0f us, interrupt -> reply in the stack %.0f us (medians of %d)\n", who, med(out), med(back), n
		      else print "NOTE: ping split, " who ": no complete round trip traced" }' $T/trace
	echo >$T/trace
}
# The receive vectors: the plugin's 0 and 1 (its two queues), the kernel
# driver's one.
rtt_split $IF "drvproxy[$A]-0 drvproxy[$A]-1" $NET.2 drvhost
rtt_split $IF_C "$IF_C-rx-0" $BASE.2 kernel

# Where a round trip's CPU goes, both sides: a system-wide profile
# (cpu-clock: TCG has no PMU) of 300 more pings each, apart from the
# measured ones. Needs perf in the guest (make bench-payload).
ping_profile() {  # $1: drvhost|kernel, $2: address
	timeout 60 perf record -N -q -a -g -F 2000 -e cpu-clock -o /tmp/perf.data -- 		ping -c 300 -i 0.01 -W 2 $2 >/dev/null 2>/tmp/perf.err ||
		{ echo "NOTE: profile ping $1: perf failed: $(tail -n 1 /tmp/perf.err)"; rm -f /tmp/perf.data; return; }
	timeout 60 perf report -i /tmp/perf.data --no-children --sort comm,dso,sym --stdio -g none --percent-limit 0.15 2>/dev/null |
		grep "%" | grep -v "^#\|safe_halt" | head -n ${PROFILE_TOP:-40} | sed -E "s/^ +/NOTE: profile ping $1: /; s/ +/ /g"
	rm -f /tmp/perf.data
}
if command -v perf >/dev/null 2>&1; then
	ping_profile drvhost $NET.2
	ping_profile kernel $BASE.2
fi

# Five SIGSEGVs during one long transfer: each timed from the signal to the
# first frame in through the interface from the restarted driverhost (net_stream
# outage), each restart waited for.
rm -f /tmp/recv.out
$N net_stream recv $PORT 300 >/tmp/recv.out &
recv_pid=$!
wait_until 10 grep -q listening /tmp/recv.out
net_stream send $NET.2 $PORT 536870912 300 >/tmp/send.out &
send_pid=$!
max=0 all= splits=
# Where each outage went (net_stream outage): exit= the process gone and
# the kernel's release done, off= the carrier off (-1: it stayed on, hostd's
# carrier grace); then the first log line
# of each step: hostd saw the exit, told the standby to start, the device
# open, the plugin attached, the TAP queues taken over (kept by hostd) or
# attached again, the plugin's link up.
outage() {
	net_stream outage $IF $1 10000 $LOG "seen=driverhost ended" "started=driverhost started" \
		"open=device open:" "attach=82574L at" "tap=queue(s) of interface" "link=: link up"
}
# hostd's CPU time (user + system) across the crashes, against the same
# transfer without crashes: its share of the single vCPU that the restart
# also needs.
minor_faults() { awk '{ print $10 }' /proc/$1/stat 2>/dev/null || echo 0; }
cpu_ticks() { awk '{ print $14 + $15 }' /proc/$1/stat 2>/dev/null || echo 0; }
uptime_cs() { awk '{ printf "%d\n", $1 * 100 }' /proc/uptime; }
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)
wait_until 60 moved_since tx_bytes $(stat_of tx_bytes) 262144
quiet_ticks=$(cpu_ticks $HOSTD_PID) quiet_cs=$(uptime_cs)
sleep 3   # a window to measure over, not a wait for anything
quiet_ticks=$(($(cpu_ticks $HOSTD_PID) - quiet_ticks)) quiet_cs=$(($(uptime_cs) - quiet_cs))
echo "NOTE: net transfer without crashes: hostd used $((quiet_ticks * 100000 / HZ / quiet_cs)) ms of CPU per second"
# How TCP got over each crash, from the sender's side (the root namespace):
# retransmission timeouts (TCPTimeouts: a gap of its own, 200 ms or more)
# and segments sent again; and frames the TAP queue dropped while nobody
# read it.
tcp_counter() { awk -v name=$1 '$1 ~ /^Tcp(Ext)?:$/ { if (!($1 in keys)) { keys[$1] = $0; next } n = split(keys[$1], k); split($0, v); for (i = 2; i <= n; i++) if (k[i] == name) print v[i] }' /proc/net/netstat /proc/net/snmp; }
timeouts=$(tcp_counter TCPTimeouts) retrans=$(tcp_counter RetransSegs) tap_drops=$(stat_of tx_dropped)
hostd_ticks=$(cpu_ticks $HOSTD_PID) crash_cs=$(uptime_cs)
for round in 1 2 3 4 5; do
	base=$(stat_of tx_bytes)
	wait_until 60 moved_since tx_bytes $base 262144 || { echo "FAIL: bench_net: no traffic before crash $round"; break; }
	mark=$(log_mark)
	# The standby's page faults from here to its attach: the restart path's.
	standby=$(hostctl status e1000e@$A | sed -n 's/^ *standby: *//p')
	faults=$(minor_faults $standby)
	out=$(outage $(instance_pid e1000e) 2>/tmp/outage.log)
	ms=$(field "$out" ms)
	[ -n "$ms" ] || { echo "FAIL: bench_net: crash $round: $out"; break; }
	echo "NOTE: net crash $round split (ms after the signal): $out"
	splits="$splits
$out"
	# The restarted driverhost's and plugin's own timings, each crash.
	echo "NOTE: net crash $round own times: $(grep -o 'DMA memory [0-9]* us\|set-up [0-9.]* ms, attach [0-9.]* ms[^)]*\|queue(s) of interface [^ ]* ([0-9.]* ms)' /tmp/outage.log | tr '\n' ';')"
	# The first crash's log, stamped, for a closer look at the gaps.
	[ $round = 1 ] && sed 's/^/NOTE: net crash 1 log: /' /tmp/outage.log
	max=$(awk -v a="$ms" -v b="$max" 'BEGIN { print (a > b) ? a : b }')
	all="$all $ms"
	crashes="$crashes$(field "$out" at) $ms
"
	wait_log "instance=e1000e@$A .*restart=$round .*instance attached" 30 $mark || { echo "FAIL: bench_net: no restart $round"; break; }
	echo "NOTE: net crash $round: the standby took $(($(minor_faults $standby) - faults)) page faults from the signal to its attach"
done
hostd_ticks=$(($(cpu_ticks $HOSTD_PID) - hostd_ticks)) crash_cs=$(($(uptime_cs) - crash_cs))
echo "NOTE: net crashes, the sender's TCP: $(($(tcp_counter TCPTimeouts) - timeouts)) retransmission timeouts, $(($(tcp_counter RetransSegs) - retrans)) segments sent again; the TAP queue dropped $(($(stat_of tx_dropped) - tap_drops)) frames"
echo "NOTE: net crashes: hostd used $((hostd_ticks * 1000 / HZ / 5)) ms of CPU per crash, $((hostd_ticks * 100000 / HZ / crash_cs)) ms per second over the $((crash_cs / 100)) s of five crashes and restarts"
wait $send_pid
wait $recv_pid
resets=$(cat /tmp/recv.out /tmp/send.out | grep -c "error=")
same_data "$(grep -v listening /tmp/recv.out; cat /tmp/send.out)" || echo "NOTE: net crash transfer: $(cat /tmp/recv.out /tmp/send.out | tr '\n' ' ')"
echo "NOTE: net crashes, signal to frames in again (ms):$all, longest $max; $A resets by: $(cat $(sysdev $A)/reset_method 2>/dev/null || echo none)"
echo "net_crash_tcp_resets: $resets"
# Each crash's gap in the transfer: the receiver's waits over 50 ms (MS@END,
# the same monotonic clock as the signal's at=) that overlap the time from
# the signal to the frames coming in again. A wait elsewhere (the guest
# stalled by a busy host) is no crash's and is printed apart.
crash_gaps() {
	sed -n 's/.*gaps_ms=\([0-9@,-]*\).*/\1/p' /tmp/recv.out | tr ',' '\n' | awk -v crashes="$crashes" '
		BEGIN { n = split(crashes, c, "\n"); k = 0
			for (i = 1; i <= n; i++) if (split(c[i], f, " ") == 2) { k++; at[k] = f[1]; till[k] = f[1] + f[2]; worst[k] = 0 } }
		/@/ { split($0, g, "@"); mine = 0
			for (i = 1; i <= k; i++) if (g[2] - g[1] <= till[i] && g[2] >= at[i]) { mine = 1; if (g[1] + 0 > worst[i]) worst[i] = g[1] + 0 }
			if (!mine) other = other " " g[1] }
		END { for (i = 1; i <= k; i++) { line = line sprintf(" %s", worst[i] ? worst[i] : "<50"); if (worst[i] > max) max = worst[i] }
			printf "%d|%s|%s\n", max ? max : 50, line, other ? other : " none" }'
}
gaps=$(crash_gaps)
echo "NOTE: net crash gaps in the transfer (ms):${gaps#*|}" | sed 's/|/; elsewhere (ms):/'
echo "NOTE: net transfer's longest gap, crashes or not: $(field "$(cat /tmp/recv.out)" max_gap_ms) ms"
echo "net_crash_outage_ms_max: ${gaps%%|*}"
# Each step's median over the crashes, from the signal on.
for step in exit off seen started open attach tap link; do
	echo "$splits" | sed -n "s/.* $step=\([0-9][0-9.]*\).*/\1/p" | sort -n |
		awk -v s=$step '{ v[NR] = $1 } END { if (NR) printf "NOTE: net crash step %s: median %s ms after the signal (%d of 5)\n", s, v[int((NR + 1) / 2)], NR }'
done

hostctl unload e1000e >/dev/null 2>&1
net_teardown
