#!/bin/sh
# A plugin upgraded under a mounted disk: the NVMe plugin's file is replaced
# (copied beside it, renamed over it, as README shows) twice while fio
# writes and verifies on the instance's ublk disk. hostd restarts the
# instance on the new file through its state machine, as after a crash
# but not counted as one: the same disk goes on (ublk's user recovery),
# fio sees no error, and the instance's history is unchanged. Before,
# hostd unloaded the instance and its disk, and programs got I/O errors.
# 6.12 boots with NVMe only.
. /suites/lib.sh
. /suites/hostd.sh

[ -n "$NVME_BDF" ] || { skip block_upgrade "this boot ($DRVHOST_BOOT) has no NVMe controllers"; exit 0; }
[ -f /lib/modules/ublk_drv.ko ] || { skip block_upgrade "this kernel has no ublk_drv"; exit 0; }
[ -d /sys/module/ublk_drv ] || insmod /lib/modules/ublk_drv.ko || { fail block_upgrade_modules "insmod ublk_drv"; exit 0; }

I=nvme@$NVME_BDF
served() { hostctl status $1 2>/dev/null | sed -n 's/^ *serves: *block //p'; }
restarts() { hostctl status $1 2>/dev/null | sed -n 's/^ *restarts: *//p'; }
last_exit() { hostctl status $1 2>/dev/null | sed -n 's/^ *last exit: *//p'; }
pid_of() { hostctl status $1 2>/dev/null | sed -n 's/^ *pid: *\([0-9][0-9]*\)$/\1/p'; }
running_again() { p=$(pid_of $1); [ -n "$p" ] && [ "$p" != "$2" ] && hostctl status $1 2>/dev/null | grep -q '^ *state: *running'; }
ublk_io_errors() { dmesg | grep -c "I/O error, dev ublkb"; }
within() {
	end=$(($(date +%s) + $1)); shift
	until "$@"; do [ $(date +%s) -lt $end ] || return 1; sleep 0.2; done
}

mkdir -p $PLUGINS && cp /plugins/nvme.so $PLUGINS/nvme.so
others=$(for d in $EDU_BDFS $NVME_KERNEL_BDF $NVME_REFUSED_BDF $NVME_FEW_VECTORS_BDF; do echo $d; done)
start_hostd "autoload = false" "[devices]" "ignore = $(toml_list $others)" ||
	{ fail block_upgrade_hostd_ready "see above"; exit 0; }
hostctl load nvme.so --device $NVME_BDF >/dev/null 2>&1
NAME=$(served $I)
DEV=/dev/$NAME
if [ -z "$NAME" ] || ! wait_until 20 [ -b $DEV ]; then
	fail block_upgrade_serves_a_disk "serves '$NAME': $(tail -n 5 $LOG | tr '\n' ' ')"
	stop_hostd; exit 0
fi

errors_before=$(ublk_io_errors)
r0=$(restarts $I) e0=$(last_exit $I)
fio --name=upgrade --filename=$DEV --rw=randwrite --bsrange=4k-64k --size=32M --ioengine=libaio \
	--iodepth=16 --direct=1 --verify=crc32c --do_verify=1 --verify_fatal=1 --rate_iops=300 \
	--output=/tmp/upgrade-fio.log >/dev/null 2>&1 &
FIO=$!
upgrades=0
for round in 1 2; do
	kill -0 $FIO 2>/dev/null || break
	old=$(pid_of $I)
	cp /plugins/nvme.so $PLUGINS/.nvme.so.new && mv $PLUGINS/.nvme.so.new $PLUGINS/nvme.so
	within 60 running_again $I $old && upgrades=$((upgrades + 1))
done
within 300 sh -c "! kill -0 $FIO 2>/dev/null"
wait $FIO; fio_rc=$?
io_errors=$(($(ublk_io_errors) - errors_before))
r1=$(restarts $I) e1=$(last_exit $I)
if [ $fio_rc = 0 ] && [ $upgrades = 2 ] && [ $io_errors = 0 ] && grep -q "err= 0" /tmp/upgrade-fio.log &&
	[ "$(served $I)" = "$NAME" ] && [ -b $DEV ]; then
	pass block_upgrade_keeps_the_disk_and_its_io
	echo "NOTE: block upgrade: across two upgrades fio saw $(grep -E '^ *clat .*max=' /tmp/upgrade-fio.log | sed 's/^ *//' | tr '\n' ' ')"
else
	fail block_upgrade_keeps_the_disk_and_its_io "fio exit $fio_rc, upgrades $upgrades, disk $NAME -> $(served $I), kernel I/O errors $io_errors; $(grep -E 'err=|verify|bad' /tmp/upgrade-fio.log | head -n 3 | tr '\n' ' ')"
	grep -E "instance=$I" $LOG | grep -E "replaced|class|ended|failed|started|unloaded" | tail -n 20 | sed 's/^/NOTE: hostd: /'
fi
if [ "$r1" = "$r0" ] && [ "$e1" = "$e0" ]; then
	pass block_upgrade_is_not_a_crash
else
	fail block_upgrade_is_not_a_crash "restarts $r0 -> $r1, last exit '$e0' -> '$e1'"
fi

hostctl unload $I >/dev/null 2>&1
wait_until 20 sh -c "[ ! -e $DEV ]" && pass block_upgrade_unload_ends_the_disk || fail block_upgrade_unload_ends_the_disk "$DEV is still there"
stop_hostd
cp $LOG /tmp/hostd-64.log
rm -rf $H
