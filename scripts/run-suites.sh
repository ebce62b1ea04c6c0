#!/usr/bin/env bash
# Runs each named make target as a test suite, keeps going when one fails,
# and closes with one line the CI reads: `total: N passed, N failed`.
# Each suite reports its own counts as `N passed, N failed` (our C and VM
# suites) or as XCTest/Swift Testing summaries (swift test).
set -uo pipefail

total_passed=0
total_failed=0
logdir=${BUILD:-build}/test-logs
mkdir -p "$logdir"

# Prints "passed failed" from a suite's log: our suites' own line, or else
# the sum of swift test's XCTest and Swift Testing summaries.
counts_of() {
	local log=$1 line n=0 f=0 found=
	line=$(grep -E '(^|: )[0-9]+ passed, [0-9]+ failed' "$log" | tail -n1)
	if [ -n "$line" ]; then
		echo "$line" | sed -E 's/^(.*[^0-9])?([0-9]+) passed, ([0-9]+) failed.*/\2 \3/'
		return
	fi
	line=$(grep -E 'Executed [0-9]+ tests?, with [0-9]+ failures?' "$log" | tail -n1)
	if [ -n "$line" ]; then
		found=1
		n=$(echo "$line" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
		f=$(echo "$line" | sed -E 's/.*with ([0-9]+) failures?.*/\1/')
	fi
	line=$(grep -E 'Test run with [0-9]+ tests?' "$log" | tail -n1)
	if [ -n "$line" ]; then
		found=1
		n=$((n + $(echo "$line" | sed -E 's/.*Test run with ([0-9]+) tests?.*/\1/')))
		# Each failed test has its own "✘ Test name() failed" line.
		if echo "$line" | grep -q ' failed '; then
			f=$((f + $(grep -E 'Test .+\(.*\) failed' "$log" | grep -vc 'Test run with')))
		fi
	fi
	[ -n "$found" ] && echo "$((n - f)) $f" || echo "0 0"
}

for suite in "$@"; do
	echo "=== $suite"
	log=$logdir/$suite.log
	make --no-print-directory "$suite" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	read -r p f < <(counts_of "$log")
	# A suite that failed without counting a failure (a build error, say)
	# counts as one failure; one that passed without counting, as one pass.
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $suite: exited with status $status"
		f=1
	elif [ "$status" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		p=1
	fi
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
done

echo "total: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
