#!/bin/sh
# Interrupt round trip raise -> plugin interrupt() -> next raise, through
# drvproxy + driverhost + the C edu plugin, against the uio_pci_generic C
# baseline (b_irq_roundtrip uio), alternating on one device in one boot.
# Each side reports per-run p50/p99; the figures are the medians over runs.
# So are the distributions (1st to 100th percentile) for make bench's plots.
. /suites/lib.sh

set -- $EDU_BDFS
dev=$1
per_run=2000
runs="1 2 3 4 5"
rm -f /tmp/rt.drv /tmp/rt.uio /tmp/rt.drv.cdf /tmp/rt.uio.cdf
percentiles=$(seq 1 100)

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

run_driverhost() {
	bind_drvproxy $dev || { echo "FAIL: bench_driverhost_roundtrip: cannot bind"; exit 1; }
	out=$(driverhost --device $dev --plugin /plugins/edu.so --log-level error \
		--call pingpong $per_run $(for p in $percentiles; do echo --call roundtrip_ns $p; done)) || exit 1
	echo "$out" | awk -F' = ' '/^pingpong/ { n = $2 } /^roundtrip_ns\(50\)/ { p50 = $2 }
		/^roundtrip_ns\(99\)/ { p99 = $2 } END { if (n > 0) print p50, p99 }' >>/tmp/rt.drv
	echo "$out" | awk -F' = ' '/^roundtrip_ns\(/ { printf "%s%.2f", sep, $2 / 1000; sep = " " } END { print "" }' >>/tmp/rt.drv.cdf
}

run_uio() {
	node=$(bind_uio $dev) || { echo "FAIL: bench_driverhost_roundtrip: cannot bind uio"; exit 1; }
	rm -f /tmp/rt.uio.samples
	b_irq_roundtrip uio $dev $per_run /tmp/rt.uio.samples $node || exit 1
	b_irq_roundtrip report /tmp/rt.uio.samples /tmp/rt.uio.samples |
		awk -F': ' '/^irq_roundtrip_uio_p50_us/ { p50 = $2 * 1000 } /^irq_roundtrip_uio_p99_us/ { p99 = $2 * 1000 }
			END { print p50, p99 }' >>/tmp/rt.uio
	b_irq_roundtrip cdf uio /tmp/rt.uio.samples | sed 's/^cdf: uio //' >>/tmp/rt.uio.cdf
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
# Per percentile, the median over runs.
column_medians() {
	awk '{ for (i = 1; i <= NF; i++) v[i, NR] = $i; n = NF } END {
		for (i = 1; i <= n; i++) {
			for (r = 1; r <= NR; r++) c[r] = v[i, r]
			for (a = 1; a <= NR; a++) for (b = a + 1; b <= NR; b++) if (c[b] < c[a]) { t = c[a]; c[a] = c[b]; c[b] = t }
			printf " %s", c[int((NR + 1) / 2)]
		}
		print ""
	}' "$1"
}
echo "cdf: plugin_roundtrip_driverhost$(column_medians /tmp/rt.drv.cdf)"
echo "cdf: plugin_roundtrip_uio$(column_medians /tmp/rt.uio.cdf)"
