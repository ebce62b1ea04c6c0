#!/bin/sh
# Interrupt round trip on the same edu device, drvproxy against the
# uio_pci_generic baseline, alternating in one boot: 5 rounds of
# 2000 round trips each, rebinding between runs, the order flipped every
# round so that drift in the guest hurts both alike. Prints `name: value`.
. /suites/lib.sh

rounds="1 2 3 4 5"
per_run=2000
drv=/tmp/irq_roundtrip.drvproxy
uio=/tmp/irq_roundtrip.uio

set -- $EDU_BDFS
dev=$1
rm -f $drv $uio

run_drvproxy() {
	bind_drvproxy $dev || { echo "FAIL: bench_irq_roundtrip: cannot bind $dev to drvproxy"; exit 1; }
	b_irq_roundtrip drvproxy $dev $per_run $drv || exit 1
}

run_uio() {
	node=$(bind_uio $dev) || { echo "FAIL: bench_irq_roundtrip: cannot bind $dev to uio_pci_generic"; exit 1; }
	b_irq_roundtrip uio $dev $per_run $uio $node || exit 1
}

for round in $rounds; do
	if [ $((round % 2)) = 1 ]; then
		run_drvproxy; run_uio
	else
		run_uio; run_drvproxy
	fi
done
unbind $dev
b_irq_roundtrip report $drv $uio
# The distributions, for make bench's plots.
b_irq_roundtrip cdf irq_roundtrip_drvproxy $drv
b_irq_roundtrip cdf irq_roundtrip_uio $uio
