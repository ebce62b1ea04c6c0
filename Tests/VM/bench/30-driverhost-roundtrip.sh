#!/bin/sh
# Interrupt round trip raise -> plugin interrupt() -> next raise, through
# drvproxy + driverhost + the C edu plugin, against the uio_pci_generic C
# baseline (b_irq_roundtrip uio), alternating on one device in one boot.
# Each side reports per-run p50/p99; the figures are the medians over runs.
. /suites/lib.sh

set -- $EDU_BDFS
dev=$1
per_run=2000
runs="1 2 3 4 5"
rm -f /tmp/rt.drv /tmp/rt.uio

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

run_driverhost() {
	bind_drvproxy $dev || { echo "FAIL: bench_driverhost_roundtrip: cannot bind"; exit 1; }
	out=$(driverhost --device $dev --plugin /plugins/edu.so --log-level error \
		--call pingpong $per_run --call roundtrip_ns 50 --call roundtrip_ns 99) || exit 1
	echo "$out" | awk -F' = ' '/^pingpong/ { n = $2 } /^roundtrip_ns\(50\)/ { p50 = $2 }
		/^roundtrip_ns\(99\)/ { p99 = $2 } END { if (n > 0) print p50, p99 }' >>/tmp/rt.drv
}

run_uio() {
	node=$(bind_uio $dev) || { echo "FAIL: bench_driverhost_roundtrip: cannot bind uio"; exit 1; }
	rm -f /tmp/rt.uio.samples
	b_irq_roundtrip uio $dev $per_run /tmp/rt.uio.samples $node || exit 1
	b_irq_roundtrip report /tmp/rt.uio.samples /tmp/rt.uio.samples |
		awk -F': ' '/^irq_roundtrip_uio_p50_us/ { p50 = $2 * 1000 } /^irq_roundtrip_uio_p99_us/ { p99 = $2 * 1000 }
			END { print p50, p99 }' >>/tmp/rt.uio
}

for r in $runs; do
	if [ $((r % 2)) = 1 ]; then run_driverhost; run_uio; else run_uio; run_driverhost; fi
done
unbind $dev

d50=$(cut -d' ' -f1 /tmp/rt.drv | median); d99=$(cut -d' ' -f2 /tmp/rt.drv | median)
u50=$(cut -d' ' -f1 /tmp/rt.uio | median); u99=$(cut -d' ' -f2 /tmp/rt.uio | median)
awk -v d50=$d50 -v d99=$d99 -v u50=$u50 -v u99=$u99 'BEGIN {
	printf "plugin_roundtrip_driverhost_p50_us: %.2f\n", d50 / 1000
	printf "plugin_roundtrip_driverhost_p99_us: %.2f\n", d99 / 1000
	printf "plugin_roundtrip_uio_p50_us: %.2f\n", u50 / 1000
	printf "plugin_roundtrip_uio_p99_us: %.2f\n", u99 / 1000
	printf "plugin_roundtrip_ratio_p50: %.3f\n", d50 / u50
	printf "plugin_roundtrip_ratio_p99: %.3f\n", d99 / u99
}'
