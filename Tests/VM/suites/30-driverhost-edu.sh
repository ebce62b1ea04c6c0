#!/bin/sh
# driverhost with the edu plugin on a real edu device behind drvproxy:
# commands that need the device's interrupts (factorial, DMA, ping-pong).
. /suites/lib.sh

set -- $EDU_BDFS
dev=$1
edu=/plugins/edu.so

# Runs driverhost with --call arguments; prints the value of the last result.
call() {
	out=$(driverhost --device $dev --plugin $edu "$@" 2>/tmp/driverhost.err) || {
		echo "driverhost exited $?: $(tail -n 3 /tmp/driverhost.err | tr '\n' ' ')"
		return 1
	}
	echo "${out##* = }"
}

check() { # name expected actual
	if [ "$3" = "$2" ]; then echo "PASS: $1"; else echo "FAIL: $1: expected $2, got $3"; fi
}

bind_drvproxy $dev || { echo "FAIL: driverhost_edu_bind: cannot bind $dev to drvproxy"; exit 0; }

check driverhost_edu_factorial_10 3628800 "$(call --call factorial 10)"
check driverhost_edu_factorial_12 479001600 "$(call --call factorial 12)"
check driverhost_edu_liveness 0xedcba987 "$(printf '0x%08x' "$(call --call liveness 0x12345678)")"
check driverhost_edu_dma_roundtrip 0 "$(call --call dma_selftest 12345)"
check driverhost_edu_pingpong_no_loss_no_dup 2000 "$(call --call pingpong 2000)"

# SIGTERM: detach, close, exit 0; the device is free again afterwards.
# Wait for the "attached" log line through a FIFO (no sleeps); fd 3 stays
# open so that driverhost's later log lines do not hit a closed pipe.
rm -f /tmp/driverhost.fifo && mkfifo /tmp/driverhost.fifo
driverhost --device $dev --plugin $edu 2>/tmp/driverhost.fifo &
pid=$!
exec 3</tmp/driverhost.fifo
while read -r line <&3; do
	case "$line" in *attached*) break ;; esac
done
kill -TERM $pid
wait $pid
rc=$?
exec 3<&-
again=$(call --call liveness 1)
if [ $rc = 0 ] && [ "$again" = 4294967294 ]; then
	echo "PASS: driverhost_sigterm_clean_exit"
else
	echo "FAIL: driverhost_sigterm_clean_exit: exit $rc, reopen gave '$again'"
fi
unbind $dev
