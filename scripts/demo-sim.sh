#!/bin/sh
# The drvhost demo on devsim (make demo-sim): the story of make demo
# (Tests/VM/demo/10-demo.sh) told on the host, without the VM or the kernel
# module, in seconds. devsim serves three simulated edu devices; hostd
# drives them (and no real PCI device: --no-pci) from a temporary plugin
# directory, socket and state directory. Each step checks what it shows; a
# step that does not happen ends the demo with a FAIL line and exit 1.
# Needs `make plugins` and `swift build` first; run as root (hostd only
# loads plugin files owned by root).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/.build/debug
export PATH=$bin:$PATH

work=$(mktemp -d /tmp/drvhost-demo-sim.XXXXXX)
sim=$work/sim
plugins=$work/plugins
export DRVHOST_SOCKET=$work/control.sock
devsim_pid= hostd_pid=

# Whatever happens, nothing is left running and the directory goes.
cleanup() {
	[ -n "$hostd_pid" ] && kill -TERM "$hostd_pid" 2>/dev/null && wait "$hostd_pid" 2>/dev/null
	[ -n "$devsim_pid" ] && kill -TERM "$devsim_pid" 2>/dev/null && wait "$devsim_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { echo "\$ $*"; "$@"; }
fail() {
	echo "FAIL: demo-sim: $*"
	[ -f "$work/hostd.log" ] && { echo "-- hostd's log:"; tail -n 20 "$work/hostd.log"; }
	exit 1
}

# Waits up to ~10 s for a condition hostd brings about asynchronously,
# checking it every 50 ms.
wait_for() {
	tries=200
	until eval "$1" >/dev/null 2>&1; do
		tries=$((tries - 1))
		[ $tries -gt 0 ] || fail "timed out waiting for: $2"
		sleep 0.05
	done
}

field() { hostctl status "$1" | sed -n "s/^  $2: *//p"; }
sim_counter() { devsim status "$1" --runtime-dir "$sim" | sed -n "s/^$2 //p"; }

# Plugins arrive by rename, as a package manager installs them: hostd sees
# one complete file (install -m 0644: hostd refuses group/other-writable files).
drop_plugin() { # source name
	echo "\$ install -m 0644 $1 $plugins/$2"
	install -m 0644 "$1" "$plugins/.$2.tmp" && mv "$plugins/.$2.tmp" "$plugins/$2" || fail "cannot install $2"
}

for f in "$bin/hostd" "$bin/hostctl" "$bin/devsim" "$bin/driverhost" "$root/build/plugins/edu.so" \
	"$root/Plugins/edu-swift/.build/debug/libedu-swift.so"; do
	[ -e "$f" ] || fail "$f is missing: run make plugins and swift build first"
done
[ "$(id -u)" = 0 ] || fail "run as root: hostd only loads plugin files owned by root"

say "devsim simulates three QEMU edu devices (no kernel module needed)."
mkfifo "$work/devsim.out" || fail "mkfifo"
echo "\$ devsim --device edu0=edu --device edu1=edu --device edu2=edu --runtime-dir $sim &"
devsim --device edu0=edu --device edu1=edu --device edu2=edu --runtime-dir "$sim" \
	>"$work/devsim.out" 2>"$work/devsim.log" &
devsim_pid=$!
# devsim's "ready" line says every socket listens: no guessing.
exec 3<"$work/devsim.out"
ready=
while read -r line <&3; do
	echo "$line"
	[ "$line" = ready ] && { ready=yes; break; }
done
[ -n "$ready" ] || fail "devsim did not start: $(cat "$work/devsim.log")"
first=sim:edu0
last=sim:edu2

say "Start hostd on devsim's devices (--no-pci: the host's real PCI devices are never touched)."
mkdir -p "$plugins" || fail "mkdir $plugins"
echo "\$ hostd --plugin-dir $plugins --sim-dir $sim --no-pci &"
hostd --plugin-dir "$plugins" --socket "$DRVHOST_SOCKET" --state-dir "$work/state" --intent-dir "$work/intent" \
	--sim-dir "$sim" --no-pci --log-level warning 2>"$work/hostd.log" &
hostd_pid=$!
wait_for "hostctl list" "hostd's control socket"
show hostctl devices || fail "hostctl devices"
[ "$(hostctl devices | grep -c '^sim:edu[0-2] .*\[1234:11e8\]')" = 3 ] || fail "hostctl devices does not list the three sim edu devices"

say "Drop the C edu plugin into the plugin directory: hostd loads it onto every edu device."
drop_plugin "$root/build/plugins/edu.so" edu.so
wait_for "[ \$(hostctl list | grep -c 'edu@sim:edu[0-2].*running') -eq 3 ]" "edu on every device"
show hostctl list

say "Give one device to the Swift plugin instead."
show hostctl unload edu@$last || fail "unload edu@$last"
drop_plugin "$root/Plugins/edu-swift/.build/debug/libedu-swift.so" edu-swift.so
wait_for "hostctl list | grep -q 'edu-swift@$last.*running'" "edu-swift on $last"
show hostctl list
show hostctl devices

say "Commands run inside each driverhost; factorial finishes with a (simulated) interrupt."
out=$(hostctl call edu@$first factorial 10) || fail "factorial on the C plugin"
echo "\$ hostctl call edu@$first factorial 10"; echo "$out"
[ "$out" = 3628800 ] || fail "factorial(10) printed $out"
out=$(hostctl call edu-swift@$last factorial 12) || fail "factorial on the Swift plugin"
echo "\$ hostctl call edu-swift@$last factorial 12"; echo "$out"
[ "$out" = 479001600 ] || fail "factorial(12) printed $out"
show hostctl call edu@$first dma_selftest 0 || fail "DMA self-test"

say "Crash the C plugin's driverhost (SIGSEGV). devsim runs the plugin's release program, then hostd restarts it."
pid=$(field edu@$first pid)
releases=$(sim_counter edu0 releases)
[ -n "$pid" ] && [ "$pid" != - ] || fail "edu@$first has no driverhost pid"
show hostctl status edu@$first
show kill -SEGV "$pid" || fail "kill -SEGV $pid"
wait_for "[ \"\$(field edu@$first restarts)\" = 1 ] && [ \"\$(field edu@$first state)\" = running ]" "the restart"
now=$(sim_counter edu0 releases)
echo "devsim releases for $first: $releases -> $now (the release program ran before the restart)"
[ "$now" -gt "$releases" ] || fail "devsim's release counter did not move"
[ "$(field edu@$first pid)" != "$pid" ] || fail "edu@$first still shows the crashed pid"
show hostctl status edu@$first
out=$(hostctl call edu@$first factorial 5) || fail "factorial after the restart"
echo "\$ hostctl call edu@$first factorial 5"; echo "$out"
[ "$out" = 120 ] || fail "factorial(5) printed $out after the restart"

say "Unload both plugins: every device is released."
show hostctl unload edu || fail "unload edu"
show hostctl unload edu-swift || fail "unload edu-swift"
show hostctl devices
[ -z "$(hostctl list | grep '@sim:')" ] || fail "instances left after unloading"
for n in 0 1 2; do
	[ "$(sim_counter edu$n owner_pid)" = 0 ] || fail "sim:edu$n still has an owner"
done

say "Stop hostd and devsim (SIGTERM): both exit cleanly."
show kill -TERM "$hostd_pid"
wait "$hostd_pid"; status=$?; hostd_pid=
[ $status = 0 ] || fail "hostd exited with status $status on SIGTERM"
show kill -TERM "$devsim_pid"
wait "$devsim_pid"; status=$?; devsim_pid=
[ $status = 0 ] || fail "devsim exited with status $status on SIGTERM"
exec 3<&-
echo "PASS: demo-sim"
