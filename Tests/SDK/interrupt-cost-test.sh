#!/bin/sh
# A Swift plugin costs the host what a C plugin costs: its interrupt path
# neither allocates nor retains/releases per event. Counts, with an
# LD_PRELOAD shim (count_calls.c), the Swift runtime's retain/release/
# allocObject calls and malloc calls of a release driverhost running
# `pingpong N` (N raise -> interrupt() -> raise round trips) on devsim, for
# N = 1000 and 3000, with Plugins/edu (C) and Plugins/edu-swift; the
# per-event difference between the two plugins must be zero for each
# counter. Needs: release driverhost (dynamically linked Swift runtime, so
# its calls can be counted), release edu-swift, debug devsim, build/plugins/edu.so.
# Prints PASS:/FAIL: lines and a total; exits 1 on any failure.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'kill $devsim 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
driverhost=$root/.build/release/driverhost
swift_plugin=$root/Plugins/edu-swift/.build/release/libedu-swift.so
c_plugin=$root/build/plugins/edu.so
${CC:-cc} -shared -fPIC -O2 -o "$work/count_calls.so" "$root/Tests/SDK/count_calls.c" -ldl || exit 1

export DRVHOST_SIM_DIR=$work/sim
mkfifo "$work/devsim.out"
"$root/.build/debug/devsim" --device edu0=edu --runtime-dir "$DRVHOST_SIM_DIR" >"$work/devsim.out" 2>"$work/devsim.err" &
devsim=$!
exec 3<"$work/devsim.out"
while read -r line <&3; do [ "$line" = ready ] && break; done

# count PLUGIN N: "retain R release R allocObject A malloc M" for one run.
count() {
	out=$(COUNT_CALLS_OUT=$work/counts LD_PRELOAD=$work/count_calls.so \
		"$driverhost" --device sim:edu0 --plugin "$1" --call pingpong "$2" 2>"$work/err")
	[ "$out" = "pingpong($2) = $2" ] || { echo "pingpong $2 with $1: $out $(tail -n 2 "$work/err")" >&2; return 1; }
	tr '\n' ' ' <"$work/counts"
}

passed=0 failed=0
verdict() { # ok? name detail
	if [ "$1" = yes ]; then echo "PASS: $2"; passed=$((passed + 1)); else echo "FAIL: $2: $3"; failed=$((failed + 1)); fi
}

# Counting needs the Swift runtime as a shared library (a driverhost
# linked with --static-swift-stdlib would count nothing and prove nothing).
ldd "$driverhost" | grep -q libswiftCore
verdict "$([ $? = 0 ] && echo yes)" swift_plugin_cost_counts_the_runtime "$driverhost does not load libswiftCore.so"

c1=$(count "$c_plugin" 1000) && c3=$(count "$c_plugin" 3000) &&
	s1=$(count "$swift_plugin" 1000) && s3=$(count "$swift_plugin" 3000)
verdict "$([ $? = 0 ] && echo yes)" swift_plugin_cost_runs "a pingpong run failed"
for counter in retain release allocObject malloc; do
	get() { echo "$1" | tr ' ' '\n' | sed -n "/^$counter\$/{n;p;}"; }
	c=$(( $(get "$c3") - $(get "$c1") )) s=$(( $(get "$s3") - $(get "$s1") ))
	echo "$counter per 2000 events: C plugin $c, Swift plugin $s (runs: $(get "$c1") and $(get "$s1") calls in all)"
	[ "$(get "$c1")" -gt 0 ] || verdict no "swift_plugin_${counter}_counted" "no $counter call was counted at all"
	verdict "$([ "$s" -le "$c" ] && echo yes)" "swift_plugin_no_${counter}_per_event" \
		"the Swift plugin adds $((s - c)) ${counter} calls over 2000 events"
done
echo "interrupt-cost: $passed passed, $failed failed"
[ $failed = 0 ]
