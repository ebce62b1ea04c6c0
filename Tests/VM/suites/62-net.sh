#!/bin/sh
# The net device class on QEMU's e1000e (Intel 82574L): drvhost's e1000e
# plugin, loaded through hostd, serves NIC A as a TAP interface; NIC B, on
# the same QEMU hub, is driven by the kernel's own e1000e in a network
# namespace of its own, as the peer. Real programs on the interface: ping
# both ways, TCP transfers checked end to end, SIGSEGVs of the driverhost
# during a long transfer (no reset, data intact, interface and address
# kept), a crash that keeps the TAP queues (hostd holds them, a new hostd
# too after adopting the driverhost), link down/up from QEMU's monitor seen as carrier, a malformed frame
# from the plugin dropped and counted, the MSI and shared-INTx variants,
# unload under traffic (the interface goes). Boots without the NICs skip.
. /suites/lib.sh
. /suites/hostd.sh
. /suites/net.sh

net_setup_peer || exit 0

# The e1000e plugin and its two interrupt variants; loaded by hand only.
mkdir -p $PLUGINS
cp /plugins/e1000e.so /plugins/e1000e-msi.so /plugins/e1000e-intx.so $PLUGINS/
start_hostd "autoload = false" "[restart]" "max_crashes = 20" "window_ms = 1" \
	"[devices]" "claim = $(toml_list $A)" ||
	{ fail net_setup "hostd: see above"; exit 0; }

if ! load_and_configure e1000e >/tmp/why; then
	fail net_load_through_hostd "$(cat /tmp/why)"
	net_teardown
	exit 0
fi
pass net_load_through_hostd

# The net class's counters as hostctl status shows them (the driverhost
# reports them every half second while they change).
status_counters() { hostctl status e1000e@$A | sed -n 's/^ *counters: *//p'; }
counter() { status_counters | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# The interface: named after the instance, shown by hostctl, the NIC's MAC.
list=$(hostctl list | grep "e1000e@$A")
if [ "$IF" = dh-e1000e-p0s16 ] && echo "$list" | grep -q "net $IF" &&
	[ "$(cat /sys/class/net/$IF/address)" = $MAC_A ] && [ "$(cat /sys/class/net/$IF/tun_flags)" != "" ]; then
	pass net_interface_named_shown_mac_from_device
else
	fail net_interface_named_shown_mac_from_device "$IF, list: $list, MAC $(cat /sys/class/net/$IF/address)"
fi

# ping both ways.
if ping -c 5 -i 0.2 -W 5 $NET.2 >/tmp/ping.out 2>&1 && $N ping -c 5 -i 0.2 -W 5 $NET.1 >>/tmp/ping.out 2>&1; then
	pass net_ping_both_ways
else
	fail net_ping_both_ways "$(tail -n 4 /tmp/ping.out | tr '\n' ' ')"
fi

# A few MiB each way, the same data at both ends.
for dir in root peer; do
	out=$(transfer 4194304 $NET.2 peer $([ $dir = peer ] && echo back))
	if same_data "$out"; then pass net_tcp_4MiB_from_$dir
	else fail net_tcp_4MiB_from_$dir "$(echo $out)"; fi
done

# Both queue pairs: the NIC spreads flows over its two receive queues (RSS
# on addresses and ports), and the kernel sends a flow out on the TAP
# queue its frames came in on. Four connections at once, on ports of
# their own, until every queue has carried frames both ways (at most three
# rounds: which queue a flow takes depends on its random source port);
# each connection's data intact.
queue_counts() { for c in rxq0_frames rxq1_frames txq0_frames txq1_frames; do echo "$c=$(counter $c)"; done | tr '\n' ' '; }
base_counts=$(queue_counts)
grown() { for c in rxq0_frames rxq1_frames txq0_frames txq1_frames; do
	was=$(echo "$base_counts" | tr ' ' '\n' | sed -n "s/^$c=//p")
	[ "$(counter $c)" -gt "${was:-0}" ] 2>/dev/null || return 1
done; }
rounds=0 bad=
while [ $rounds -lt 3 ] && ! grown; do
	rounds=$((rounds + 1))
	flows=
	for i in 1 2 3 4; do
		$N net_stream recv $((PORT + 10 + i)) 120 >/tmp/mq-recv.$i &
		flows="$flows $!"
	done
	for i in 1 2 3 4; do wait_until 10 grep -q listening /tmp/mq-recv.$i; done
	for i in 1 2 3 4; do
		net_stream send $NET.2 $((PORT + 10 + i)) 262144 120 >/tmp/mq-send.$i &
		flows="$flows $!"
	done
	for pid in $flows; do wait $pid; done
	for i in 1 2 3 4; do
		same_data "$(grep -v listening /tmp/mq-recv.$i; cat /tmp/mq-send.$i)" || bad="$bad flow $i of round $rounds;"
	done
	wait_until 5 grown
done
if [ "$(cat /sys/class/net/$IF/tun_flags)" != "" ] && [ $(( $(cat /sys/class/net/$IF/tun_flags) & 0x100 )) -ne 0 ] &&
	grown && [ -z "$bad" ]; then
	pass net_two_queues_carry_flows_both_ways
else
	fail net_two_queues_carry_flows_both_ways "rounds $rounds, before: $base_counts, after: $(queue_counts), tun_flags $(cat /sys/class/net/$IF/tun_flags), bad:$bad"
fi

# SIGSEGV of the driverhost, three times, during one long transfer: the
# connection lives on, the data arrive intact, the interface keeps its
# address. Each crash is waited for (hostd restarts the instance) before
# the next.
rm -f /tmp/recv.out
$N net_stream recv $PORT 180 >/tmp/recv.out &
recv_pid=$!
wait_until 10 grep -q listening /tmp/recv.out
net_stream send $NET.2 $PORT 100663296 180 >/tmp/send.out &
send_pid=$!
crashes=0 why=
for round in 1 2 3; do
	# Crash only while data flow: 256 KiB more sent since the last round.
	base=$(stat_of tx_bytes)
	wait_until 60 moved_since tx_bytes $base 262144 || { why="no traffic before crash $round"; break; }
	kill -0 $send_pid 2>/dev/null || { why="the transfer ended before crash $round"; break; }
	pid=$(instance_pid e1000e)
	mark=$(log_mark)
	kill -SEGV $pid
	if wait_log "instance=e1000e@$A .*restart=$round .*instance attached" 30 $mark; then
		crashes=$round
	else
		why="no restart after crash $round: $(tail -n 3 $LOG | tr '\n' ' ')"
		break
	fi
done
wait $send_pid
wait $recv_pid
out="$(grep -v listening /tmp/recv.out)
$(cat /tmp/send.out)"
addr=$($IP -4 addr show dev $IF 2>/dev/null | grep -c "inet $NET.1/24")
if [ $crashes -eq 3 ] && same_data "$out" && [ "$addr" = 1 ]; then
	pass net_tcp_survives_3_driver_crashes
else
	fail net_tcp_survives_3_driver_crashes "crashes $crashes ${why:+($why)}, address $addr, $(echo $out)"
fi

# A crash neither detaches nor re-attaches a queue: hostd keeps the
# interface's queues open (the kernel's fdinfo of a tun file names the
# interface while the file is attached) and hands them to the next
# driverhost; the interface is the same one (ifindex), and the carrier stays
# on across the restart (hostd's carrier grace: no carrier change).
tun_files_of() { grep -l "^iff:[[:space:]]*$IF\$" /proc/$1/fdinfo/* 2>/dev/null | wc -l; }
index=$(cat /sys/class/net/$IF/ifindex)
changes=$(cat /sys/class/net/$IF/carrier_changes)
kept=$(tun_files_of $HOSTD_PID)
pid=$(instance_pid e1000e)
mark=$(log_mark)
kill -SEGV $pid
restarted=no
wait_log "instance=e1000e@$A .*restart=4 .*instance attached" 30 $mark && restarted=yes
wait_log ": $IF: link up" 10 $mark
new_pid=$(instance_pid e1000e)
if [ $restarted = yes ] && [ "$kept" = 2 ] && [ "$(tun_files_of $HOSTD_PID)" = 2 ] &&
	[ "$(tun_files_of $new_pid)" = 2 ] && [ "$(cat /sys/class/net/$IF/ifindex)" = "$index" ] &&
	[ "$(cat /sys/class/net/$IF/carrier_changes)" = $changes ] && carrier 1 &&
	tail -n +$mark $LOG | grep -q "took over the 2 queue(s) of interface $IF" &&
	ping -c 2 -W 5 $NET.2 >/dev/null 2>&1; then
	pass net_crash_keeps_tap_queues
else
	fail net_crash_keeps_tap_queues "restarted $restarted, hostd kept $kept then $(tun_files_of $HOSTD_PID), driverhost $new_pid has $(tun_files_of $new_pid), ifindex $index -> $(cat /sys/class/net/$IF/ifindex), carrier changes $changes -> $(cat /sys/class/net/$IF/carrier_changes)"
fi

# hostd's kill -9 and a new hostd: the adopted driverhost says its queues
# again, the new hostd keeps them, and hands them over at the next crash.
mark=$(log_mark)
kill -9 $HOSTD_PID
wait $SD_PID
HOSTD_PID=
hostd_keeps_queues() { [ "$(tun_files_of $HOSTD_PID)" = 2 ]; }
why=
if ! start_hostd "autoload = false" "[restart]" "max_crashes = 20" "window_ms = 1" \
	"[devices]" "claim = $(toml_list $A)"; then
	why="second hostd did not start"
elif ! wait_log "instance=e1000e@$A .*driverhost adopted" 60 $mark || ! wait_until 20 hostd_keeps_queues; then
	why="not adopted, or its queues not kept: hostd has $(tun_files_of $HOSTD_PID)"
else
	pid=$(instance_pid e1000e)
	mark=$(log_mark)
	kill -SEGV $pid
	wait_log "took over the 2 queue.s. of interface $IF" 30 $mark && wait_until 20 carrier 1 &&
		ping -c 2 -W 5 $NET.2 >/dev/null 2>&1 || why="no take-over after the crash: $(tail -n 3 $LOG | tr '\n' ' ')"
fi
[ -z "$why" ] && pass net_new_hostd_keeps_adopted_queues || fail net_new_hostd_keeps_adopted_queues "$why"
[ -n "$HOSTD_PID" ] || exit 0

# Link down and up from QEMU's monitor: the carrier follows.
echo "DRVHOST-MONITOR: set_link dhn0 off"
if wait_until 20 carrier 0 && $IP link show $IF | grep -q NO-CARRIER; then
	echo "DRVHOST-MONITOR: set_link dhn0 on"
	if wait_until 20 carrier 1 && wait_until 20 peer_reaches_us; then pass net_carrier_follows_qemu_link
	else fail net_carrier_follows_qemu_link "carrier did not come back"; fi
else
	echo "DRVHOST-MONITOR: set_link dhn0 on"
	fail net_carrier_follows_qemu_link "carrier stayed $(cat /sys/class/net/$IF/carrier) after set_link off"
fi

# The class's counters in hostctl status (reported by the driverhost over
# its control channel every half second while they change): frames went
# both ways since the last restart, the carrier is on; --json has them too.
frames_both_ways() { [ "$(counter rx_frames)" -gt 0 ] 2>/dev/null && [ "$(counter tx_frames)" -gt 0 ]; }
ping -c 3 -W 5 $NET.2 >/dev/null 2>&1
if wait_until 5 frames_both_ways && [ "$(counter carrier)" = 1 ] &&
	hostctl status --json e1000e@$A | grep -q '"rx_malformed"'; then
	pass net_counters_in_hostctl_status
else
	fail net_counters_in_hostctl_status "status: $(status_counters); json: $(hostctl status --json e1000e@$A | grep -c '"name"') names"
fi

# Malformed frames from the plugin (zero length, short, oversized): none
# delivered, all three counted, and the interface still carries traffic.
before=$(counter rx_malformed)
got=$(hostctl call e1000e@$A receive_malformed 2>&1)
three_more() { [ "$(counter rx_malformed)" = $((before + 3)) ]; }
if [ -n "$before" ] && [ "$got" = 0 ] && wait_until 5 three_more && ping -c 2 -W 5 $NET.2 >/dev/null 2>&1; then
	pass net_malformed_frames_dropped_counted
else
	fail net_malformed_frames_dropped_counted "delivered '$got', rx_malformed $before -> $(counter rx_malformed)"
fi

# Unload under traffic: the driverhost goes, hostd ends the interface, the
# NIC is released.
$N ping -i 0.01 -W 1 $NET.1 >/dev/null 2>&1 &
flood=$!
base=$(stat_of rx_packets)
wait_until 30 moved_since rx_packets $base 100 || fail net_unload_under_traffic_removes_interface "no flood"
mark=$(log_mark)
hostctl unload e1000e >/dev/null 2>&1
if wait_log "instance=e1000e@$A .*instance unloaded" 30 $mark && wait_until 20 iface_gone; then
	pass net_unload_under_traffic_removes_interface
else
	fail net_unload_under_traffic_removes_interface "interface $IF: $(ls /sys/class/net | tr '\n' ' ')"
fi
kill $flood 2>/dev/null
wait $flood 2>/dev/null

# The same driver on MSI and on a shared INTx line.
for v in msi intx; do
	out=
	if load_and_configure e1000e-$v >/tmp/why && out=$(transfer 1048576 $NET.2 peer) && same_data "$out" &&
		ping -c 3 -W 5 $NET.2 >/dev/null 2>&1; then
		pass net_e1000e_${v}_ping_and_tcp
	else
		fail net_e1000e_${v}_ping_and_tcp "$(cat /tmp/why) $(echo $out)"
	fi
	hostctl unload e1000e-$v >/dev/null 2>&1
	wait_until 20 iface_gone
done

net_teardown
