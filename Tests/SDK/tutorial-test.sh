#!/bin/sh
# Runs the tutorial in SDK/README.md so that it cannot rot: every ```sh
# tutorial block, in order, in one shell, in a fresh directory, against a
# devsim serving edu0 (the tutorial's "second terminal"); then each ```text
# expected block must appear in the output, line by line, in order.
# Needs `swift build` (driverhost, devsim) first. Prints PASS:/FAIL: lines
# and a total; exits 1 on any failure.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
readme=$root/SDK/README.md
work=$(mktemp -d)
trap 'kill $devsim 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

# blocks FENCE: the bodies of the ``` blocks opened with exactly FENCE.
blocks() {
	awk -v fence="$1" '
		$0 == "```" fence { inside = 1; next }
		inside && $0 == "```" { inside = 0; next }
		inside { print }' "$readme"
}

export DRVHOST_SDK=$root/SDK
export PATH=$root/.build/debug:$PATH
export DRVHOST_SIM_DIR=$work/sim

# devsim's "ready" line comes through a FIFO: no sleeps.
mkfifo "$work/devsim.out"
devsim --device edu0=edu --runtime-dir "$DRVHOST_SIM_DIR" >"$work/devsim.out" 2>"$work/devsim.err" &
devsim=$!
exec 3<"$work/devsim.out"
while read -r line <&3; do [ "$line" = ready ] && break; done

blocks "sh tutorial" >"$work/tutorial.sh"
(cd "$work" && sh -e tutorial.sh) >"$work/output" 2>"$work/errors"
status=$?
exec 3<&-

passed=0 failed=0
verdict() { # ok? name detail
	if [ "$1" = yes ]; then echo "PASS: $2"; passed=$((passed + 1)); else echo "FAIL: $2: $3"; failed=$((failed + 1)); fi
}
verdict "$([ $status = 0 ] && echo yes)" tutorial_commands_succeed \
	"exit $status: $(tail -n 5 "$work/errors" | tr '\n' ' ')"

# Each expected line must come after the previous one in the output.
remaining=$work/remaining
cp "$work/output" "$remaining"
n=0
blocks "text expected" >"$work/expected"
while IFS= read -r want; do
	n=$((n + 1))
	at=$(grep -n -F -x -- "$want" "$remaining" | head -n 1 | cut -d: -f1)
	if [ -n "$at" ]; then
		tail -n +"$((at + 1))" "$remaining" >"$remaining.next" && mv "$remaining.next" "$remaining"
		verdict yes "tutorial_output_$n"
	else
		verdict no "tutorial_output_$n" "\"$want\" not in the output (in order)"
	fi
done <"$work/expected"
[ "$n" -gt 0 ] || verdict no tutorial_has_expectations "no \`\`\`text expected block in $readme"
echo "tutorial: $passed passed, $failed failed"
[ $failed = 0 ]
