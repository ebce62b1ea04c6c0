#!/bin/sh
# What the Swift SDK and ABI 1.2's commands add, on a real edu device behind
# drvproxy: a Swift command called through its real C signature (f64 and
# mixed widths), instance_info's BAR kinds and interrupt line as the kernel
# sees them, a timer, and a C command that returns a record.
. /suites/lib.sh

set -- $EDU_BDFS
dev=$1

check() { # NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then echo "PASS: $1"; else echo "FAIL: $1: expected \"$2\", got \"$3\""; fi
}
call() { # PLUGIN COMMAND ARG...: the result, or why there is none
	p=$1; shift
	out=$(driverhost --device $dev --plugin $p --log-level error --call "$@" 2>/tmp/sdk.err) ||
		{ echo "exit $?: $(tail -n 2 /tmp/sdk.err | tr '\n' ' ')"; return; }
	echo "${out#* = }"
}

bind_drvproxy $dev || { echo "FAIL: swift_sdk_bind: cannot bind $dev to drvproxy"; exit 0; }
check swift_sdk_f64_mixed_widths -13000065277.0 \
	"$(call /plugins/edu-swift.so mix 255 -2 0.25 4000000000 -5000000000 65535)"
irq=$(cat $(sysdev $dev)/irq)
check swift_sdk_instance_info "edu 1.0 at $dev, BAR0 1024 KiB memory, IRQ $irq" \
	"$(call /plugins/edu-swift.so describe)"
check swift_sdk_timer 3 "$(call /plugins/edu-swift.so heartbeat 2 3)"
check swift_sdk_hex 0x010000ed "$(call /plugins/edu-swift.so id)"
check swift_sdk_record "id=0x010000ed status=0x00000000 irq_status=0x00000000 restarts=0" \
	"$(call /plugins/edu-swift.so registers)"
check c_command_record "mac=525400123456 mtu=1500 name=eth0 speed=-1 flags=0xa5" \
	"$(call /plugins/good.so link 1500)"
unbind $dev
