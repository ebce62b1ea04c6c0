#!/bin/sh
# driverhost when plugins misbehave: the device must always end up released
# (kernel release program ran: edu liveness register reads the marker
# ~0xD15EA5ED = 0x2ea15a12) and usable again.
. /suites/lib.sh

set -- $EDU_BDFS
dev=$1
marker=0x2ea15a12

releases() { cat $(sysdev $dev)/releases 2>/dev/null || echo unknown; }

reopens() { # the device can be opened and driven again
	out=$(driverhost --device $dev --plugin /plugins/edu.so --call factorial 5 2>/dev/null)
	[ "${out##* = }" = 120 ]
}

expect() { # name expected-exit command...
	name=$1; want=$2; shift 2
	SWIFT_BACKTRACE=enable=no "$@" >/tmp/out.txt 2>/tmp/err.txt
	rc=$?
	[ $rc = $want ] && return 0
	echo "FAIL: $name: exit $rc, expected $want: $(tail -n 2 /tmp/err.txt | tr '\n' ' ')"
	return 1
}

bind_drvproxy $dev || { echo "FAIL: driverhost_failures_bind: cannot bind $dev"; exit 0; }

# Another ABI major: refused with the message; the device was never opened.
before=$(releases)
if expect driverhost_abi_mismatch 11 driverhost --device $dev --plugin /plugins/abi2.so; then
	if ! grep -q "was built for drvhost plugin ABI 2.0" /tmp/err.txt; then
		echo "FAIL: driverhost_abi_mismatch: message missing: $(cat /tmp/err.txt)"
	elif [ "$(releases)" != "$before" ] || [ "$before" = unknown ]; then
		echo "FAIL: driverhost_abi_mismatch: releases counter $before -> $(releases): device was opened"
	else
		echo "PASS: driverhost_abi_mismatch"
	fi
fi

# attach fails: exit 30, device released (the release program ran).
bar_peek $dev 0x04 >/dev/null
if expect driverhost_attach_fails 30 driverhost --device $dev --plugin /plugins/attach-fails.so; then
	m=$(bar_peek $dev 0x04)
	if [ "$m" = $marker ] && reopens; then echo "PASS: driverhost_attach_fails"
	else echo "FAIL: driverhost_attach_fails: marker $m, reopen $(reopens && echo ok || echo failed)"; fi
fi

# Segfault in interrupt(): killed by SIGSEGV (shell: 128+11), released, reopens.
if expect driverhost_segfault_in_interrupt 139 driverhost --device $dev --plugin /plugins/crash-interrupt.so --call raise 0x10000; then
	m=$(bar_peek $dev 0x04)
	if [ "$m" = $marker ] && reopens; then echo "PASS: driverhost_segfault_in_interrupt"
	else echo "FAIL: driverhost_segfault_in_interrupt: marker $m, reopen $(reopens && echo ok || echo failed)"; fi
fi

# interrupt() never returns: the watchdog ends the process (exit 40), released.
if expect driverhost_watchdog 40 driverhost --device $dev --plugin /plugins/hang-interrupt.so --call raise 0x10000; then
	m=$(bar_peek $dev 0x04)
	if ! grep -q "watchdog" /tmp/err.txt; then echo "FAIL: driverhost_watchdog: no watchdog message"
	elif [ "$m" = $marker ] && reopens; then echo "PASS: driverhost_watchdog"
	else echo "FAIL: driverhost_watchdog: marker $m, reopen $(reopens && echo ok || echo failed)"; fi
fi
unbind $dev
