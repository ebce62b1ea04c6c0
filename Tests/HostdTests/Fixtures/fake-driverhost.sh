#!/bin/sh
# A stand-in for driverhost, for the supervisor's tests: no device, no
# plugin code. It speaks driverhost's control protocol on fd 3 and does what
# the file .FILE.mode beside the plugin says ("run", "crash", or "exit N":
# release and exit N at once; in "run", the command "crash" releases and
# dies of SIGSEGV); --describe prints the JSON in .FILE.json; --standby
# waits for "start" on fd 3 first. Each exit counts a release in the fake
# sysfs (WORLD/sys, the plugin directory being WORLD/plugins), as drvproxy
# does when its last handle closes. With a file .FILE.orphan beside the
# plugin, --describe and every start first leave a `sleep` behind, which
# would outlive the fake, and append "FAKE_PID SLEEP_PID" to .FILE.children.
while [ $# -gt 0 ]; do
	case "$1" in
	--describe) describe=1 ;;
	--standby) standby=1 ;;
	--plugin) plugin=$2; shift ;;
	--device) device=$2; shift ;;
	esac
	shift
done
orphan() {
	if [ -e "$(dirname "$plugin")/.$(basename "$plugin").orphan" ]; then
		sleep 600 </dev/null >/dev/null 2>&1 3>&- &
		echo "$$ $!" >>"$(dirname "$plugin")/.$(basename "$plugin").children"
	fi
}
if [ -n "$describe" ]; then
	orphan
	cat "$(dirname "$plugin")/.$(basename "$plugin").json"
	exit
fi
if [ -n "$standby" ]; then
	while read -r verb rest <&3 && [ "$verb" != start ]; do
		[ "$verb" = stop ] && exit 0
	done
	[ "$verb" = start ] || exit 0
fi
orphan
world=$(dirname "$(dirname "$plugin")")
releases=$world/sys/bus/pci/devices/$device/drvproxy/releases
released() { echo $(($(cat "$releases") + 1)) >"$releases"; }
mode=$(cat "$(dirname "$plugin")/.$(basename "$plugin").mode" 2>/dev/null)
case "$mode" in
crash)
	released
	kill -SEGV $$
	;;
"exit "*)
	released
	exit "${mode#exit }"
	;;
esac
echo attached 0 >&3
while read -r verb id rest <&3; do
	case "$verb" in
	stop) break ;;
	call)
		if [ "$rest" = crash ]; then
			released
			kill -SEGV $$
		fi
		# The text is one field (DriverhostMessage): its fields, already
		# escaped, joined by escaped spaces.
		echo "result $id $(printf %s "$rest" | sed 's/ /%20/g')" >&3
		;;
	esac
done
released
exit 0
