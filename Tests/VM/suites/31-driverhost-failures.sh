#!/bin/sh
# driverhost when plugins misbehave: the device must always end up released
# (drvproxy's releases counter moved, and the edu liveness register reads the
# release program's marker ~0xD15EA5ED = 0x2ea15a12) and usable again.
# The marker is read back through driverhost with peek.so, whose attach
# touches no register.
. /suites/lib.sh

set -- $EDU_BDFS
dev=$1
marker=0x2ea15a12

releases() { cat $(sysdev $dev)/drvproxy/releases 2>/dev/null || echo unknown; }

# The liveness register as the release program left it.
liveness_now() {
	out=$(driverhost --device $dev --plugin /plugins/peek.so --call peek 4 2>/dev/null) || return 1
	printf '0x%08x' "${out##* = }"
}

released() { # name releases-before: verdict line for a crashed or failed run
	m=$(liveness_now)
	after=$(releases)
	if [ "$after" = "$2" ] || [ "$after" = unknown ]; then
		echo "FAIL: $1: releases counter $2 -> $after"
	elif [ "$m" != $marker ]; then
		echo "FAIL: $1: liveness register $m, not the release marker $marker"
	elif ! reopens; then
		echo "FAIL: $1: the device cannot be driven again"
	else
		echo "PASS: $1"
	fi
}

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
	if ! grep -qE "was built for drvhost plugin ABI 2\.[0-9]+; this driverhost implements ABI 1\." /tmp/err.txt; then
		echo "FAIL: driverhost_abi_mismatch: message missing: $(cat /tmp/err.txt)"
	elif [ "$(releases)" != "$before" ] || [ "$before" = unknown ]; then
		echo "FAIL: driverhost_abi_mismatch: releases counter $before -> $(releases): device was opened"
	else
		echo "PASS: driverhost_abi_mismatch"
	fi
fi

# Each case first sets the liveness register to something else, so that a
# marker seen afterwards was written by this release.
clobber() { driverhost --device $dev --plugin /plugins/edu.so --call liveness 0 >/dev/null 2>&1; }

# attach fails: exit 30, device released (the release program ran).
clobber; before=$(releases)
if expect driverhost_attach_fails 30 driverhost --device $dev --plugin /plugins/attach-fails.so; then
	released driverhost_attach_fails $before
fi

# Segfault in interrupt(): killed by SIGSEGV (shell: 128+11), released, reopens.
clobber; before=$(releases)
if expect driverhost_segfault_in_interrupt 139 driverhost --device $dev --plugin /plugins/crash-interrupt.so --call raise 0x10000; then
	released driverhost_segfault_in_interrupt $before
fi

# interrupt() never returns: the watchdog ends the process (exit 40), released.
clobber; before=$(releases)
if expect driverhost_watchdog 40 driverhost --device $dev --plugin /plugins/hang-interrupt.so --call raise 0x10000; then
	if grep -q "watchdog: plugin interrupt()" /tmp/err.txt; then released driverhost_watchdog $before
	else echo "FAIL: driverhost_watchdog: no watchdog message: $(cat /tmp/err.txt)"; fi
fi
unbind $dev
