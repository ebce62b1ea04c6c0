#!/bin/sh
# The drvhost demo, told inside the QEMU guest (make demo): hostd, the C and
# Swift edu plugins dropped into the plugin directory, a command answered
# through a real interrupt, a crash, the kernel's release, hostd's restart,
# and the unload. Each step says what it shows; any step that does not
# happen ends the demo with a FAIL line.

PLUGINS=/var/lib/drvhost/plugins
export DRVHOST_SOCKET=/run/drvhost/control.sock

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { echo "\$ $*"; "$@"; }
fail() { echo "FAIL: demo: $*"; [ -f /tmp/hostd.log ] && tail -n 20 /tmp/hostd.log; exit 1; }

# Waits up to ~10 s for a condition that hostd brings about asynchronously.
wait_for() {
	tries=100
	until eval "$1" >/dev/null 2>&1; do
		tries=$((tries - 1))
		[ $tries -gt 0 ] || fail "timed out waiting for: $2"
		usleep 100000
	done
}

field() { hostctl status "$1" | sed -n "s/^  $2: *//p"; }

set -- $EDU_BDFS
first=$1
last=$(echo $EDU_BDFS | awk '{ print $NF }')

say "A machine with $(echo $EDU_BDFS | wc -w) QEMU edu devices, drvproxy.ko loaded. Start hostd."
mkdir -p $PLUGINS
echo "\$ hostd --plugin-dir $PLUGINS &"
hostd --plugin-dir $PLUGINS --pci-ids /usr/share/misc/pci.ids --log-level warning 2>/tmp/hostd.log &
hostd_pid=$!
wait_for "hostctl list" "hostd's control socket"
show hostctl devices

say "Drop the C edu plugin into the plugin directory: hostd loads it onto every edu device."
show cp /plugins/edu.so $PLUGINS/
wait_for "[ \$(hostctl list | grep -c 'edu@.*running') -eq $# ]" "edu on every device"
show hostctl list
case "$(cat /sys/bus/pci/devices/$first/drvproxy/dma_mode 2>/dev/null)" in
confined) echo "DMA: an IOMMU confines each device's DMA to the buffers its owner allocated." ;;
unsafe) echo "DMA: this boot has no IOMMU, so drvproxy runs in its explicit unsafe mode" \
	"(allow_unsafe_dma=1, root with CAP_SYS_RAWIO, kernel tainted): a driver could DMA anywhere." ;;
*) fail "drvproxy would refuse to open $first (no IOMMU, unsafe mode off)" ;;
esac

say "Give one device to the Swift plugin instead."
show hostctl unload edu@$last
show cp /plugins/edu-swift.so $PLUGINS/
wait_for "hostctl list | grep -q 'edu-swift@$last.*running'" "edu-swift on $last"
show hostctl list
show hostctl devices

say "Commands run inside each driverhost; factorial finishes with a real interrupt."
out=$(hostctl call edu@$first factorial 10) || fail "factorial on the C plugin"
echo "\$ hostctl call edu@$first factorial 10"; echo "$out"
[ "$out" = 3628800 ] || fail "factorial(10) printed $out"
out=$(hostctl call edu-swift@$last factorial 12) || fail "factorial on the Swift plugin"
echo "\$ hostctl call edu-swift@$last factorial 12"; echo "$out"
[ "$out" = 479001600 ] || fail "factorial(12) printed $out"
show hostctl call edu@$first dma_selftest 0 || fail "DMA self-test"

say "Crash the C plugin's driverhost (SIGSEGV). The kernel runs the plugin's release program; then hostd tells the instance's warm standby (a driverhost waiting with the plugin loaded, device untouched) to start."
pid=$(field edu@$first pid)
standby=$(field edu@$first standby)
releases=$(cat /sys/bus/pci/devices/$first/drvproxy/releases)
show hostctl status edu@$first
show kill -SEGV $pid
wait_for "[ \"\$(field edu@$first restarts)\" = 1 ] && [ \"\$(field edu@$first state)\" = running ]" "the restart"
now=$(cat /sys/bus/pci/devices/$first/drvproxy/releases)
echo "drvproxy releases for $first: $releases -> $now (the release program ran before the restart)"
[ "$now" -gt "$releases" ] || fail "the kernel's release counter did not move"
[ "$(field edu@$first pid)" = "$standby" ] || fail "the new driverhost is $(field edu@$first pid), not the standby $standby"
show hostctl status edu@$first
out=$(hostctl call edu@$first factorial 5) || fail "factorial after the restart"
echo "\$ hostctl call edu@$first factorial 5"; echo "$out"
[ "$out" = 120 ] || fail "factorial(5) printed $out after the restart"

say "Unload both plugins: every device is released and handed back."
show hostctl unload edu
show hostctl unload edu-swift
show hostctl devices
show kill -TERM $hostd_pid
wait $hostd_pid || fail "hostd did not stop cleanly on SIGTERM"
echo "PASS: demo"
