# Helpers for the net class suite and benchmark (62): `. /suites/net.sh`
# after lib.sh and hostd.sh. Tests/VM/boots gives the IOMMU boot two pairs
# of e1000e NICs, each pair on a QEMU hub of its own:
#   A 00:10.0 (drvhost's e1000e plugin)  <->  B 00:11.0 (kernel, netns peer)
#   C 00:12.0 (kernel)                   <->  D 00:13.0 (kernel, netns base)

# iproute2's ip (network namespaces; busybox's ip has none), by its path:
# busybox's shell runs its own applets before looking at PATH.
IP=/usr/sbin/ip

A=0000:00:10.0 B=0000:00:11.0 C=0000:00:12.0 D=0000:00:13.0
MAC_A=52:54:00:d4:00:01 MAC_B=52:54:00:d4:00:02 MAC_C=52:54:00:d4:00:03 MAC_D=52:54:00:d4:00:04
NET=10.77.0 BASE=10.78.0 PORT=5001
N="$IP netns exec peer"
IF=

is_e1000e() { [ "$(cat $(sysdev $1)/vendor 2>/dev/null):$(cat $(sysdev $1)/device 2>/dev/null)" = 0x8086:0x10d3 ]; }

# The kernel's interface on a NIC, by its MAC.
iface_of_mac() {
	for f in /sys/class/net/*/address; do
		[ "$(cat $f)" = "$1" ] && { basename ${f%/address}; return 0; }
	done
	return 1
}

# Interface $1 (kernel e1000e, MAC $2) into namespace $3 as $4/24.
into_netns() {
	wait_until 20 iface_of_mac $2 >/dev/null || { fail net_setup "the kernel's e1000e made no interface for $1"; return 1; }
	dev=$(iface_of_mac $2)
	$IP netns add $3
	$IP link set $dev netns $3
	$IP netns exec $3 $IP link set lo up
	$IP netns exec $3 $IP addr add $4/24 dev $dev
	$IP netns exec $3 $IP link set $dev up
}

# tun and the kernel's e1000e loaded, B in namespace peer. Skips (and
# fails) unless the boot has the pair.
net_setup_peer() {
	is_e1000e $A && is_e1000e $B || { skip net_class "this boot has no e1000e pair at $A and $B"; return 1; }
	[ -d /sys/module/tun ] || insmod /lib/modules/tun.ko || { fail net_setup "insmod tun"; return 1; }
	[ -d /sys/module/e1000e ] || insmod /lib/modules/e1000e.ko || { fail net_setup "insmod e1000e"; return 1; }
	into_netns $B $MAC_B peer $NET.2
}

carrier() { [ "$(cat /sys/class/net/$IF/carrier 2>/dev/null)" = "$1" ]; }
iface_gone() { [ ! -e /sys/class/net/$IF ]; }
peer_reaches_us() { $N ping -c 1 -W 1 $NET.1 >/dev/null 2>&1; }
instance_pid() { hostctl status $1@$A | sed -n 's/^ *pid: *//p'; }
stat_of() { cat /sys/class/net/$IF/statistics/$1 2>/dev/null || echo 0; }
# Whether counter $1 grew by at least $3 since it was $2 (traffic flows).
moved_since() { [ $(($(stat_of $1) - $2)) -ge $3 ]; }

# Loads plugin $1 onto A through hostd and configures its interface: sets
# IF; on failure prints why.
load_and_configure() {
	mark=$(log_mark)
	out=$(hostctl load $1 --device $A 2>&1) || { echo "hostctl load: $out"; return 1; }
	wait_log "instance=$1@$A .*instance attached" 60 $mark || { echo "not attached: $(tail -n 3 $LOG | tr '\n' ' ')"; return 1; }
	IF=$(hostctl status $1@$A | sed -n 's/^ *serves: *net //p')
	[ -n "$IF" ] && [ -e /sys/class/net/$IF ] || { echo "no interface: $(hostctl status $1@$A | tr '\n' ' ')"; return 1; }
	$IP addr add $NET.1/24 dev $IF 2>/dev/null
	$IP link set $IF up
	wait_until 20 carrier 1 || { echo "no carrier on $IF"; return 1; }
	wait_until 20 peer_reaches_us || { echo "the peer cannot reach $NET.1"; return 1; }
}

# One TCP transfer of $1 bytes to $2 from the root namespace, the receiver
# in namespace $3 (or, with $4 = back, the other way round); prints the
# receiver's and the sender's result lines.
transfer() {
	rm -f /tmp/recv.out
	if [ "$4" = back ]; then
		net_stream recv $PORT 120 >/tmp/recv.out &
		recv_pid=$!
		wait_until 10 grep -q listening /tmp/recv.out
		sent=$($IP netns exec $3 net_stream send ${2%.*}.1 $PORT $1 120)
	else
		$IP netns exec $3 net_stream recv $PORT 120 >/tmp/recv.out &
		recv_pid=$!
		wait_until 10 grep -q listening /tmp/recv.out
		sent=$(net_stream send $2 $PORT $1 120)
	fi
	wait $recv_pid
	grep -v listening /tmp/recv.out
	echo "$sent"
}

# Same bytes and hash at both ends, no error at either.
same_data() {
	r=$(echo "$1" | sed -n 1p) s=$(echo "$1" | sed -n 2p)
	case "$r$s" in *error*) return 1 ;; esac
	[ -n "$s" ] && [ "${r%% ms=*}" = "${s%% ms=*}" ]
}

# Leaves the boot as the suite found it: hostd stopped, namespaces gone,
# the kernel's e1000e unloaded (it drives every NIC the suite did not).
net_teardown() {
	stop_hostd
	for ns in peer base; do $IP netns del $ns 2>/dev/null; done
	rmmod e1000e 2>/dev/null
}
