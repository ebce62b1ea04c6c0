#!/bin/sh
# The block class against the kernel's own driver for an identical device:
# two QEMU NVMe controllers, one on the kernel's nvme driver (/dev/nvmeXn1),
# one driven by Plugins/nvme through hostd and served as /dev/ublkbN. fio
# runs the same jobs on both, alternating, 3 rounds, the order flipped each
# round; then fio verifies its data on the ublk disk while the driverhost is
# SIGKILLed three times. Prints, as `name: value`:
#   block_randread_qd32_iops_ratio    ublk / kernel, 4 KiB random reads, QD 32
#   block_randread_qd1_lat_p50_ratio  ublk / kernel, median completion latency, QD 1
#   block_seqwrite_mibs_ratio         ublk / kernel, 128 KiB sequential writes
#   block_crash_io_errors             errors fio and the kernel saw across the crashes
#   block_crash_stall_ms_max          the longest a request waited across them
# Skips without ublk_drv, the nvme plugin or two NVMe controllers.
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
wait_until 20 sh -c "ls /sys/bus/pci/devices/$KERNEL_BDF/nvme/*/ 2>/dev/null | grep -q 'n1$'"
KDEV=/dev/$(ls /sys/bus/pci/devices/$KERNEL_BDF/nvme/*/ | grep 'n1$' | head -n1)

mkdir -p $PLUGINS && cp /plugins/nvme.so $PLUGINS/nvme.so
others=$(for d in /sys/bus/pci/devices/*; do b=${d##*/}; [ $b != $PLUGIN_BDF ] && echo $b; done)
start_hostd "[restart]" "max_crashes = 10" "window_ms = 120000" "backoff_initial_ms = 20" \
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
		--size=256M $2
}
field() { echo "$1" | cut -d';' -f$2; }
p50() { echo "$1" | tr ';' '\n' | sed -n '18,37{s/^50\.000000%=//p}'; }
sum=/tmp/bench-block.sums
: >$sum
measure() {  # $1: kernel|ublk, $2: device
	r=$(job $2 "--rw=randread --bs=4k --iodepth=32")
	echo "$1 qd32_iops $(field "$r" 8)" >>$sum
	r=$(job $2 "--rw=randread --bs=4k --iodepth=1")
	echo "$1 qd1_p50 $(p50 "$r")" >>$sum
	r=$(job $2 "--rw=write --bs=128k --iodepth=8")
	echo "$1 seq_kibs $(field "$r" 48)" >>$sum
}
for round in 1 2 3; do
	if [ $((round % 2)) = 1 ]; then measure kernel $KDEV; measure ublk $UDEV
	else measure ublk $UDEV; measure kernel $KDEV; fi
done
# Medians of the three rounds, ublk over kernel.
ratio() {
	u=$(awk -v w="ublk $1" '$1" "$2 == w { print $3 }' $sum | sort -n | sed -n 2p)
	k=$(awk -v w="kernel $1" '$1" "$2 == w { print $3 }' $sum | sort -n | sed -n 2p)
	awk -v u="$u" -v k="$k" 'BEGIN { if (k > 0) printf "%.2f\n", u / k; else print "-1" }'
}
echo "block_randread_qd32_iops_ratio: $(ratio qd32_iops)"
echo "block_randread_qd1_lat_p50_ratio: $(ratio qd1_p50)"
echo "block_seqwrite_mibs_ratio: $(ratio seq_kibs)"

# Crashes: three SIGKILLs 3 s apart while fio writes and verifies.
errors_before=$(dmesg | grep -c "I/O error, dev ublkb")
fio --name=c --filename=$UDEV --direct=1 --ioengine=libaio --minimal --rw=randwrite --bs=4k --iodepth=16 \
	--size=128M --verify=crc32c --do_verify=1 --rate_iops=2000 >/tmp/bench-block-crash.out 2>&1 &
FIO=$!
for n in 1 2 3; do
	sleep 3  # a pause between crashes, not a synchronisation: the workload runs meanwhile
	kill -KILL $(hostctl status $I | sed -n 's/^ *pid: *\([0-9]*\)$/\1/p') 2>/dev/null
done
wait $FIO; fio_rc=$?
r=$(tail -n 1 /tmp/bench-block-crash.out)
kernel_errors=$(($(dmesg | grep -c "I/O error, dev ublkb") - errors_before))
fio_errors=$(field "$r" 5)
[ $fio_rc = 0 ] || fio_errors=$((${fio_errors:-0} + 1))
echo "block_crash_io_errors: $((kernel_errors + ${fio_errors:-1}))"
# Completion latency maxima (usec), reads (verify) and writes.
echo "block_crash_stall_ms_max: $(awk -v a="$(field "$r" 15)" -v b="$(field "$r" 56)" 'BEGIN { m = a > b ? a : b; printf "%.1f\n", m / 1000 }')"

hostctl unload $I >/dev/null 2>&1
stop_hostd
unbind $KERNEL_BDF
rm -rf $H
