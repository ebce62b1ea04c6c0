#!/bin/sh
# The block class against the kernel's own driver for an identical device:
# two QEMU NVMe controllers, one on the kernel's nvme driver, one driven by
# Plugins/nvme through hostd and served as /dev/ublkbN. fio runs the same
# jobs on both, alternating, 3 rounds, the order flipped each round; then
# fio verifies its data on the ublk disk while the driverhost is SIGKILLed
# five times, 3 s after each recovery. Prints, as `name: value`:
#   block_randread_qd32_iops_ratio    ublk / kernel, 4 KiB random reads, QD 32 (goal >= 0.8)
#   block_randread_qd1_lat_p50_ratio  ublk / kernel, median latency (submission included), QD 1 (goal <= 1.5)
#   block_seqwrite_mibs_ratio         ublk / kernel, 128 KiB sequential writes (goal >= 0.8)
#   block_crash_io_errors             I/O and verify errors fio saw across the crashes (must be 0)
#   block_crash_stall_ms_max          the longest a request waited across them (target < 200)
# and, for reading the ratios, each side's medians (block_kernel_*, block_ublk_*):
# IOPS, the guest's busy CPU time per I/O at QD 32 (and the driverhost's
# part of it, user and system, and its read/write-like system calls and
# sleeps per I/O), median latency, KiB/s.
# Skips without ublk_drv, the nvme plugin or two NVMe controllers.
# bench-boot: 6.12/pc
. /suites/lib.sh
. /suites/hostd.sh

nvmes=
for dev in /sys/bus/pci/devices/*; do
	[ "$(cat $dev/class)" = 0x010802 ] && nvmes="$nvmes ${dev##*/}"
done
set -- $nvmes
if [ ! -f /lib/modules/ublk_drv.ko ] || [ ! -f /plugins/nvme.so ] || [ $# -lt 2 ]; then
	skip bench_block "needs ublk_drv, /plugins/nvme.so and two NVMe controllers (have: ${nvmes:-none})"
	exit 0
fi
# The boot names them (Tests/VM/boots); else the first two found.
KERNEL_BDF=${NVME_KERNEL_BDF:-$1} PLUGIN_BDF=${NVME_BDF:-$2}
insmod /lib/modules/ublk_drv.ko 2>/dev/null
for m in nvme-auth nvme-core nvme; do [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko 2>/dev/null; done
bind_to nvme $KERNEL_BDF || { skip bench_block "cannot bind $KERNEL_BDF to the kernel's nvme driver"; exit 0; }

# The kernel's disk for that controller. Without native multipath it is the
# controller's namespace itself (nvme0n1); with it (Debian's 6.12) the
# controller holds a hidden path (nvme0c0n1), and the disk programs use is
# the namespace head that lists the path in its multipath/ directory.
kernel_disk() {
	for ns in $(sysdev $KERNEL_BDF)/nvme/nvme*/nvme*n1; do
		[ -e "$ns" ] || continue
		name=${ns##*/}
		case $name in
		nvme*c*n1)
			for head in /sys/block/nvme*n1; do
				[ -e $head/multipath/$name ] && { echo /dev/${head##*/}; return 0; }
			done ;;
		*) echo /dev/$name; return 0 ;;
		esac
	done
	return 1
}
has_kernel_disk() { KDEV=$(kernel_disk) && [ -b "$KDEV" ]; }
wait_until 20 has_kernel_disk || { echo "FAIL: bench_block: no block device for the kernel's $KERNEL_BDF ($(ls $(sysdev $KERNEL_BDF)/nvme/*/ 2>&1 | tr '\n' ' '))"; exit 0; }

mkdir -p $PLUGINS && cp /plugins/nvme.so $PLUGINS/nvme.so
others=$(for d in /sys/bus/pci/devices/*; do b=${d##*/}; [ $b != $PLUGIN_BDF ] && echo $b; done)
# A restart window of 1 ms: every crash takes the immediate-restart path, so
# the stall measures the mechanism, not the backoff (with a long window the
# fifth crash waited 160 ms of backoff before its restart began).
start_hostd "[restart]" "max_crashes = 100" "window_ms = 1" \
	"[devices]" "claim = $(toml_list $PLUGIN_BDF)" "ignore = $(toml_list $others)" ||
	{ echo "FAIL: bench_block: hostd did not start"; exit 0; }
I=nvme@$PLUGIN_BDF
hostctl load nvme.so >/dev/null 2>&1
wait_log "instance=$I .*instance attached" 60 || { echo "FAIL: bench_block: $I did not attach"; stop_hostd; exit 0; }
UDEV=/dev/$(hostctl status $I | sed -n 's/^ *serves: *block //p')
wait_until 20 [ -b $UDEV ] || { echo "FAIL: bench_block: no ublk disk for $I"; stop_hostd; exit 0; }

# One fio job in terse form (v3): reads at fields 6.., writes at 47...
job() {
	fio --name=b --filename=$1 --direct=1 --ioengine=libaio --minimal --time_based --runtime=${RUNTIME:-10} \
		--size=48M $2
}
field() { echo "$1" | cut -d';' -f$2; }
p50() { echo "$1" | tr ';' '\n' | sed -n '18,37{s/^50\.000000%=//p}'; }
sum=/tmp/bench-block.sums
: >$sum
# Where the time goes, for the QD 32 job: the guest's busy CPU time per I/O
# (/proc/stat, all but idle and iowait) and, on the ublk side, the
# driverhost's own share of it (its utime and stime). In jiffies (USER_HZ).
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
dh_ticks() { [ -n "$DH" ] && awk -v f=$1 '{ print $f }' /proc/$DH/stat 2>/dev/null || echo 0; }
# The driverhost's read/write-like system calls and its sleeps (voluntary
# context switches): counts, so they do not move with the host's load.
dh_calls() { [ -n "$DH" ] && awk '/^sysc[rw]:/ { n += $2 } END { print n + 0 }' /proc/$DH/io 2>/dev/null || echo 0; }
dh_sleeps() { [ -n "$DH" ] && awk '/^voluntary_ctxt_switches:/ { print $2 }' /proc/$DH/status 2>/dev/null || echo 0; }
per_io() { awk -v d="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.2f\n", d / n }'; }
us_per_io() { awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK 2>/dev/null || echo 100)" 'BEGIN { if (n > 0) printf "%.1f\n", t * 1e6 / hz / n }'; }
measure() {  # $1: kernel|ublk, $2: device
	DH=$(hostctl status $I | sed -n 's/^ *pid: *\([0-9]*\)$/\1/p')
	b0=$(busy) u0=$(dh_ticks 14) s0=$(dh_ticks 15) c0=$(dh_calls) w0=$(dh_sleeps)
	r=$(job $2 "--rw=randread --bs=4k --iodepth=32")
	ios=$(field "$r" 8 | awk -v t=${RUNTIME:-10} '{ printf "%d", $1 * t }')
	echo "$1 qd32_iops $(field "$r" 8)" >>$sum
	echo "$1 qd32_cpu_us $(us_per_io $(($(busy) - b0)) $ios)" >>$sum
	# The driverhost while the kernel's disk is measured: an idle
	# driverhost must cost nothing (a loop that spins would show here).
	if [ $1 = kernel ]; then
		echo "$1 qd32_idle_driverhost_us $(us_per_io $(($(dh_ticks 14) + $(dh_ticks 15) - u0 - s0)) $ios)" >>$sum
	fi
	if [ $1 = ublk ]; then
		echo "$1 qd32_driverhost_user_us $(us_per_io $(($(dh_ticks 14) - u0)) $ios)" >>$sum
		echo "$1 qd32_driverhost_sys_us $(us_per_io $(($(dh_ticks 15) - s0)) $ios)" >>$sum
		echo "$1 qd32_driverhost_rw_calls_per_io $(per_io $(($(dh_calls) - c0)) $ios)" >>$sum
		echo "$1 qd32_driverhost_sleeps_per_io $(per_io $(($(dh_sleeps) - w0)) $ios)" >>$sum
	fi
	# Total latency (submission included): the kernel's driver under TCG
	# completes much of a request inside io_submit, where clat misses it.
	r=$(job $2 "--rw=randread --bs=4k --iodepth=1 --lat_percentiles=1 --clat_percentiles=0")
	echo "$1 qd1_p50 $(p50 "$r")" >>$sum
	r=$(job $2 "--rw=write --bs=128k --iodepth=8")
	echo "$1 seq_kibs $(field "$r" 48)" >>$sum
}
for round in 1 2 3; do
	if [ $((round % 2)) = 1 ]; then measure kernel $KDEV; measure ublk $UDEV
	else measure ublk $UDEV; measure kernel $KDEV; fi
done
# Medians of the three rounds; a side with a failed job has no median.
median() { awk -v w="$1 $2" '$1" "$2 == w && $3 != "" { print $3 }' $sum | sort -n | sed -n 2p; }
ratio() {
	awk -v u="$(median ublk $1)" -v k="$(median kernel $1)" \
		'BEGIN { if (u != "" && k > 0) printf "%.2f\n", u / k; else print "none (a job failed)" }'
}
for m in qd32_iops qd32_cpu_us qd1_p50 seq_kibs; do
	echo "block_kernel_$m: $(median kernel $m)"
	echo "block_ublk_$m: $(median ublk $m)"
done
echo "block_ublk_qd32_driverhost_user_us: $(median ublk qd32_driverhost_user_us)"
echo "block_ublk_qd32_driverhost_sys_us: $(median ublk qd32_driverhost_sys_us)"
echo "block_ublk_qd32_driverhost_rw_calls_per_io: $(median ublk qd32_driverhost_rw_calls_per_io)"
echo "block_ublk_qd32_driverhost_sleeps_per_io: $(median ublk qd32_driverhost_sleeps_per_io)"
echo "block_kernel_qd32_idle_driverhost_us: $(median kernel qd32_idle_driverhost_us)"
echo "block_randread_qd32_iops_ratio: $(ratio qd32_iops)"
echo "block_randread_qd1_lat_p50_ratio: $(ratio qd1_p50)"
echo "block_seqwrite_mibs_ratio: $(ratio seq_kibs)"

# Where the CPU goes in each job, both sides: a system-wide profile
# (cpu-clock: TCG has no PMU) of one more, 3 s run of each job, apart
# from the measured rounds so that sampling does not move their figures.
# Top entries by command, object and symbol, as NOTE lines. Needs perf
# in the guest (make bench-payload); skipped without it.
profile() {  # $1: kernel|ublk, $2: job name, $3: device, $4: fio arguments
	# Bounded: the guest runs this script for at most 600 s, and a run
	# whose kernel side collapses (see README) made one profile hang.
	timeout 60 perf record -N -q -a -g -F 1000 -e cpu-clock -o /tmp/perf.data -- \
		fio --name=p --filename=$3 --direct=1 --ioengine=libaio --time_based --runtime=3 --size=48M $4 \
		>/dev/null 2>/tmp/perf.err || { echo "NOTE: profile $1 $2: perf failed or ran over 60 s: $(tail -n 1 /tmp/perf.err)"; rm -f /tmp/perf.data; return; }
	timeout 60 perf report -i /tmp/perf.data --no-children --sort comm,dso,sym --stdio -g none --percent-limit 1 2>/dev/null |
		grep '%' | grep -v '^#' | head -n ${PROFILE_TOP:-12} |
		sed -E "s/^ +/NOTE: profile $1 $2: /; s/ +/ /g"
	rm -f /tmp/perf.data
}
if command -v perf >/dev/null 2>&1; then
	for side in kernel:$KDEV ublk:$UDEV; do
		profile ${side%%:*} qd32 ${side#*:} "--rw=randread --bs=4k --iodepth=32"
		profile ${side%%:*} qd1 ${side#*:} "--rw=randread --bs=4k --iodepth=1"
		profile ${side%%:*} write128k ${side#*:} "--rw=write --bs=128k --iodepth=8"
	done
else
	echo "NOTE: bench_block: no perf in the guest (make bench-payload): no profiles"
fi

# Crashes: five SIGKILLs while fio writes and verifies, each 3 s after the
# disk was recovered from the one before (so each stall is one crash's;
# kills in each other's recovery are suite 63's). fio counts every I/O and
# verify error (continue_on_error) instead of stopping at the first, and
# reports the longest total latency, read and write.
# Where each crash's time goes inside the kernel: tracefs's function graph
# of the steps between the kill and the standby's recovery (the
# driverhost's exit: its io_uring and ublk queues, its files, among them
# drvproxy's release program and the function's reset; then the standby's
# open, interrupts and DMA memory, and ublk's recovery), with a marker at
# each kill. Printed per crash, in ms after the kill: name@end(duration),
# exit_start where the process's exit reached its files, do_notify_parent
# where its end was told (hostd's pidfd wakes), __x64_sys_waitid where
# hostd reaped it, start where the standby read "start" (its log says when, on the monotonic clock: the
# trace runs on that clock too).
T=/sys/kernel/tracing
[ -e $T/trace ] || mount -t tracefs nodev $T 2>/dev/null
CRASH_FUNCS="exit_mm exit_files drvproxy_flush drvproxy_release_sequence regprog_run drvproxy_irq_teardown
	free_irq pci_free_irq_vectors synchronize_rcu
	drvproxy_dma_release_all pci_try_reset_function pcie_flr pci_pm_reset pci_dev_wait drvproxy_open
	drvproxy_set_irq pci_alloc_irq_vectors_affinity drvproxy_dma_alloc do_notify_parent __x64_sys_waitid
	io_uring_cancel_generic io_ring_exit_work ublk_ch_release ublk_uring_cmd_cancel_fn ublk_ch_open
	ublk_ctrl_uring_cmd"
crash_trace_on() {
	[ -e $T/trace ] || return 0
	echo 0 >$T/tracing_on
	echo nop >$T/current_tracer
	: >$T/set_ftrace_filter
	# One at a time: a name the kernel does not have (inlined, renamed)
	# would make the whole write fail.
	for f in $CRASH_FUNCS; do echo $f >>$T/set_ftrace_filter 2>/dev/null; done
	echo 4096 >$T/buffer_size_kb
	echo mono >$T/trace_clock 2>/dev/null
	echo function_graph >$T/current_tracer
	for o in funcgraph-abstime funcgraph-proc funcgraph-tail nofuncgraph-irqs; do echo $o >$T/trace_options 2>/dev/null; done
	echo 1 >$T/events/sched/sched_process_exit/enable
	echo >$T/trace
}
# Before each kill: an empty buffer, tracing on (crash_split stops it).
crash_trace_clear() {
	[ -e $T/trace ] || return 0
	echo >$T/trace
	echo 1 >$T/tracing_on
}
crash_trace_off() {
	[ -e $T/trace ] || return 0
	echo 0 >$T/tracing_on
	echo 0 >$T/events/sched/sched_process_exit/enable
	echo nop >$T/current_tracer
	: >$T/set_ftrace_filter
	echo local >$T/trace_clock 2>/dev/null
}
# $1: the killed driverhost's pid, $2: the log line where its crash
# began. Its own exit steps, and every other traced step (the release,
# the standby, ublk's kernel side).
crash_split() {
	[ -e $T/trace ] || { echo "NOTE: bench_block: no tracefs: no kernel split"; return 0; }
	echo 0 >$T/tracing_on
	local start_ms=0
	grep -q '\[mono\]' $T/trace_clock 2>/dev/null &&
		start_ms=$(tail -n +$2 $LOG | sed -n 's/.* recovered .*, at \([0-9]*\) ms on the monotonic clock.*/\1/p' | head -n 1)
	awk -v pid=$1 -v start_ms=${start_ms:-0} '
		function ms(t) { return sprintf("%.1f", (t - t0) * 1000) }
		# In time order: the start goes before the first step that ended after it.
		function add(text, end) {
			if (start_ms > 0 && !started && end * 1000 > start_ms) { out = out " start@" ms(start_ms / 1000); started = 1 }
			out = out text
		}
		$1 ~ /^[0-9]+\.[0-9]+$/ { t = $1 } !t { next }
		/\/\* kill [0-9]+ \*\// {
			t0 = t; out = ""; next
		}
		!t0 { next }
		/sched_process_exit:/ && $0 ~ "pid=" pid " " { add(" exit_start@" ms(t), t); next }
		# A function that returned: its duration (us) and its name (the
		# tail option names it after the closing brace, stamped when it
		# returned; a leaf, "name();", is stamped when it was called).
		/ us +\|/ {
			line = $0
			if (line ~ /(exit_mm|exit_files)/ && line !~ "-" pid " ") next
			# The exit told (pidfd) and reaped: only the driverhost and hostd.
			if (line ~ /do_notify_parent/ && line !~ /driverh/) next
			if (line ~ /sys_waitid/ && line !~ /hostd/) next
			d = line; sub(/ us +\|.*/, "", d); sub(/.*[|!#@*$+ ]/, "", d)
			n = line; sub(/.*\} \/\* /, "", n); sub(/ \*\/.*/, "", n); sub(/.*\| +/, "", n)
			end = t
			if (n ~ /\(\);/) { sub(/\(\);.*/, "", n); end = t + d / 1e6 }
			sub(/ \[.*/, "", n)
			add(" " n "@" ms(end) "(" sprintf("%.1f", d / 1000) ")", end)
		}
		END { if (t0) print "NOTE: bench_block: kernel split (ms after the kill):" out }' $T/trace
	echo >$T/trace
}

fio --name=c --filename=$UDEV --direct=1 --ioengine=libaio --rw=randwrite --bs=4k --iodepth=16 \
	--size=60M --loops=2 --verify=crc32c --do_verify=1 --rate_iops=1000 --continue_on_error=all \
	--output-format=json --output=/tmp/bench-block-crash.json >/dev/null 2>&1 &
FIO=$!
# Set up once: switching the tracer patches every traced call site, which
# the TCG guest pays for in seconds.
crash_trace_on
kills=0
while kill -0 $FIO 2>/dev/null && [ $kills -lt 5 ]; do
	sleep 3  # a pause between crashes, not a synchronisation: the workload runs meanwhile
	mark=$(log_mark)
	pid=$(hostctl status $I | sed -n 's/^ *pid: *\([0-9]*\)$/\1/p')
	now=$(cut -d' ' -f1 /proc/uptime)  # ~ the monotonic clock, in 10 ms steps
	crash_trace_clear
	[ -e $T/trace_marker ] && echo "kill $((kills + 1))" >$T/trace_marker
	kill -KILL $pid 2>/dev/null || continue
	kills=$((kills + 1))
	echo "NOTE: bench_block: kill $kills at $now s (uptime)"
	wait_log "instance=$I .*block class: /dev/ublkb[0-9]* recovered" 60 $mark || break
	crash_split $pid $mark
done
crash_trace_off
wait $FIO; fio_rc=$?
# Where each recovery's time went, as the driverhost tells it: with the
# kill's time above, kill to start is the kernel's release and hostd.
grep -E "block class: /dev/ublkb[0-9]* recovered|attached in [0-9]+ us|attached \(set-up .* after the start came" $LOG |
	sed -E 's/^.*(block class: |attached in |attached \(set-up)/NOTE: bench_block: \1/'
# total_err counts I/O and verify errors; a fio that failed otherwise counts as one.
errors=$(sed -n 's/.*"total_err" *: *\([0-9]*\).*/\1/p' /tmp/bench-block-crash.json | head -n 1)
[ $fio_rc = 0 ] || [ "${errors:-0}" -gt 0 ] || errors=1
echo "block_crash_kills: $kills"
echo "block_crash_io_errors: ${errors:-1}"
# The largest total latency (ns) of the read and write sections.
echo "block_crash_stall_ms_max: $(awk '/"lat_ns"/ { c = 1 } c && /"max"/ { gsub(/[^0-9.]/, "", $NF); if ($NF + 0 > m) m = $NF + 0; c = 0 }
	END { printf "%.1f\n", m / 1e6 }' /tmp/bench-block-crash.json)"

hostctl unload $I >/dev/null 2>&1
stop_hostd
unbind $KERNEL_BDF
rm -rf $H
