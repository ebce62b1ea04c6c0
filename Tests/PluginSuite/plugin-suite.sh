#!/bin/sh
# The plugin suite: one edu plugin on one device, checked against the shared
# expectations file, then killed with SIGKILL to check the release sequence.
# The same script runs on the host against devsim and in the VM against a real
# edu device, so both must agree. POSIX sh (busybox in the guest).
#
# usage: plugin-suite.sh DEVICE PLUGIN PEEK_PLUGIN EXPECTATIONS LABEL
#   DEVICE       sim:NAME, or a BDF bound to drvproxy
#   PEEK_PLUGIN  Tests/Plugins' peek.so: reads a register and touches nothing
#   LABEL        prefix of the test names, e.g. plugin_edu
# driverhost is $DRIVERHOST, else the one in PATH. Prints PASS:/FAIL: lines.
set -u
dev=$1 plugin=$2 peek=$3 expectations=$4 label=$5
driverhost=${DRIVERHOST:-driverhost}
err=${TMPDIR:-/tmp}/plugin-suite.$$.err
fifo=${TMPDIR:-/tmp}/plugin-suite.$$.fifo
trap 'rm -f "$err" "$fifo"' EXIT

# Runs one --call; prints its result, or why there is none.
result() { # plugin command args...
	p=$1; shift
	out=$("$driverhost" --device "$dev" --plugin "$p" --call "$@" 2>"$err") ||
		{ echo "exit $?: $(tail -n 2 "$err" | tr '\n' ' ')"; return; }
	echo "${out##* = }"
}

# The proxy's release counter: devsim's status, or drvproxy's sysfs file.
releases() {
	case "$dev" in
	sim:*) ${DEVSIM:-devsim} status "$dev" | sed -n 's/^releases //p' ;;
	*) cat /sys/bus/pci/devices/$dev/drvproxy/releases 2>/dev/null || echo unknown ;;
	esac
}

check() { # name expected actual
	if [ "$3" = "$2" ]; then echo "PASS: ${label}_$1"; else echo "FAIL: ${label}_$1: expected $2, got $3"; fi
}

while read -r name expected command args; do
	case "$name" in ''|'#'*) continue ;; esac
	# $args unquoted on purpose: it is the argument list.
	check "$name" "$expected" "$(result "$plugin" "$command" $args)"
done <"$expectations"

# Crash: SIGKILL an attached driverhost. attach() leaves 0xa5a55a5a in edu's
# liveness register; the release program's last step writes 0xD15EA5ED, which
# then reads back as its complement 0x2EA15A12 = 782326290. The proxy counts
# one release, and the device can be opened again. The "attached" log line
# comes through a FIFO: no sleeps.
before=$(releases)
rm -f "$fifo" && mkfifo "$fifo"
"$driverhost" --device "$dev" --plugin "$plugin" 2>"$fifo" &
pid=$!
exec 3<"$fifo"
attached=no
while read -r line <&3; do
	case "$line" in *attached*) attached=yes; break ;; esac
done
kill -KILL $pid
wait $pid
status=$?
exec 3<&-
check crash_killed "yes 137" "$attached $status"
check release_counted_after_crash $((before + 1)) "$(releases)"
check release_marker_after_crash 782326290 "$(result "$peek" peek 4)"
check reopen_after_crash 4294967294 "$(result "$plugin" liveness 1)"
