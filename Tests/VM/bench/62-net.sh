#!/bin/sh
# The net class against the kernel's own driver, in the same boot: NIC A
# (drvhost's e1000e plugin through hostd) talks to B (the kernel's e1000e,
# netns peer); the baseline is the identical pair C (kernel e1000e) and D
# (kernel e1000e, netns base) on a hub of their own (Tests/VM/boots).
#
#   net_tcp_throughput_ratio   TCP, 32 MiB from the root namespace, drvhost / kernel
#   net_ping_rtt_p50_ratio     ping round trip, median of 200, drvhost / kernel
#   net_crash_tcp_resets       TCP connections reset across 5 driverhost SIGSEGVs (must be 0)
#   net_crash_outage_ms_max    SIGSEGV to carrier on again, the longest of the 5
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

# Throughput: the receiver's figure, first byte to last.
bytes=33554432
drv=$(field "$(transfer $bytes $NET.2 peer)" mbit_s)
ker=$(field "$(transfer $bytes $BASE.2 base)" mbit_s)
echo "net_tcp_mbit_s_drvhost: $drv"
echo "net_tcp_mbit_s_kernel: $ker"
echo "net_tcp_throughput_ratio: $(ratio "$drv" "$ker")"

# Round trips: busybox ping's per-reply time=, median.
p50() { ping -c 200 -i 0.02 -W 2 $1 | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
drv=$(p50 $NET.2)
ker=$(p50 $BASE.2)
echo "net_ping_rtt_ms_p50_drvhost: $drv"
echo "net_ping_rtt_ms_p50_kernel: $ker"
echo "net_ping_rtt_p50_ratio: $(ratio "$drv" "$ker")"

# Five SIGSEGVs during one long transfer: each timed from the signal to the
# carrier coming back (net_stream outage), each restart waited for.
rm -f /tmp/recv.out
$N net_stream recv $PORT 300 >/tmp/recv.out &
recv_pid=$!
wait_until 10 grep -q listening /tmp/recv.out
net_stream send $NET.2 $PORT 268435456 300 >/tmp/send.out &
send_pid=$!
max=0 all=
for round in 1 2 3 4 5; do
	base=$(stat_of tx_bytes)
	wait_until 60 moved_since tx_bytes $base 262144 || { echo "FAIL: bench_net: no traffic before crash $round"; break; }
	mark=$(log_lines)
	out=$(net_stream outage $IF $(instance_pid e1000e) 10000)
	ms=$(field "$out" ms)
	[ -n "$ms" ] || { echo "FAIL: bench_net: crash $round: $out"; break; }
	max=$(awk -v a="$ms" -v b="$max" 'BEGIN { print (a > b) ? a : b }')
	all="$all $ms"
	wait_log "instance=e1000e@$A .*restart=$round .*instance attached" 30 $mark || { echo "FAIL: bench_net: no restart $round"; break; }
done
wait $send_pid
wait $recv_pid
resets=$(cat /tmp/recv.out /tmp/send.out | grep -c "error=")
same_data "$(grep -v listening /tmp/recv.out; cat /tmp/send.out)" || echo "NOTE: net crash transfer: $(cat /tmp/recv.out /tmp/send.out | tr '\n' ' ')"
echo "NOTE: net crash outages (ms):$all; $A resets by: $(cat $(sysdev $A)/reset_method 2>/dev/null || echo none)"
echo "net_crash_tcp_resets: $resets"
echo "net_crash_outage_ms_max: $max"
echo "net_crash_tcp_max_gap_ms: $(field "$(cat /tmp/recv.out)" max_gap_ms)"

hostctl unload e1000e >/dev/null 2>&1
net_teardown
