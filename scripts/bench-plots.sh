#!/usr/bin/env bash
# Latency distribution plots for `make bench`: reads the "cdf: NAME p1..p100"
# lines the VM benchmarks print (1st to 100th percentile of each series) from
# each boot's console log, and draws drvproxy against its baseline with
# gnuplot, one PNG per pair and boot, into OUT_DIR.
#
#   scripts/bench-plots.sh OUT_DIR build/vm/<boot>/console-bench.log...
set -euo pipefail

out=${1:?usage: $0 OUT_DIR CONSOLE_LOG...}
shift
command -v gnuplot >/dev/null || { echo "bench-plots: gnuplot is missing (make deps)" >&2; exit 1; }
mkdir -p "$out"

# Each plot: file name, title, x axis, then the series drawn (name=label).
plots=(
	"irq-roundtrip|Interrupt round trip: raise to event read|µs|irq_roundtrip_drvproxy=drvproxy irq_roundtrip_uio=uio_pci_generic (baseline)"
	"plugin-roundtrip|Round trip through driverhost and the C edu plugin|µs|plugin_roundtrip_driverhost=drvproxy + driverhost plugin_roundtrip_uio=uio_pci_generic (baseline)"
	"recovery|Plugin crash to next interrupt handled, through hostd|ms|recovery=warm standby recovery_cold=new process (baseline)"
)

for log in "$@"; do
	[ -f "$log" ] || continue
	boot=$(basename "$(dirname "$log")")
	data=$out/$boot
	mkdir -p "$data"
	# One file per series: "percentile value" lines.
	tr -d '\r' <"$log" | sed -n 's/^cdf: //p' | while read -r name values; do
		echo "$values" | tr ' ' '\n' | awk 'NF { print NR, $1 }' >"$data/$name.dat"
	done
	for plot in "${plots[@]}"; do
		IFS='|' read -r file title unit series <<<"$plot"
		lines=()
		# Series are "name=label words..."; split on the names.
		while read -r name label; do
			[ -s "$data/$name.dat" ] && lines+=("'$data/$name.dat' using 2:1 with lines linewidth 2 title '$label'")
		done < <(sed 's/ \([a-z_]*=\)/\n\1/g' <<<"$series" | tr '=' ' ')
		[ ${#lines[@]} -gt 0 ] || continue
		png=$out/$boot-$file.png
		joined=$(printf ', %s' "${lines[@]}")
		gnuplot <<-EOT
			set terminal pngcairo size 900,560 font ',10' noenhanced
			set output '$png'
			set title "$title ($boot)"
			set xlabel '$unit (log scale)'
			set ylabel 'percentile'
			set logscale x
			set yrange [0:100]
			set key bottom right
			set grid
			plot ${joined#, }
		EOT
		echo "bench-plots: $png"
	done
done
