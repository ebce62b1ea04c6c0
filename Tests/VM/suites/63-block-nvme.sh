#!/bin/sh
# The block class on real NVMe: Plugins/nvme serves QEMU's NVMe controller
# ($NVME_BDF) as /dev/ublkbN through hostd, and real programs use it:
# mkfs.ext4, files, e2fsck, a remount with the same checksums; fio writing
# and verifying while the driverhost is crashed three times (SIGSEGV twice,
# SIGKILL): no I/O error, the data verifies, the restarts are counted.
# A namespace format the plugin cannot drive ($NVME_REFUSED_BDF) is refused
# with its reason. 6.12 boots with NVMe only.
. /suites/lib.sh
. /suites/hostd.sh

[ -n "$NVME_BDF" ] || { skip block_nvme "this boot ($DRVHOST_BOOT) has no NVMe controllers"; exit 0; }
[ -f /lib/modules/ublk_drv.ko ] || { skip block_nvme "this kernel has no ublk_drv"; exit 0; }
for m in crc16 mbcache crc32c_generic jbd2 ext4 ublk_drv; do
	[ -d /sys/module/$m ] || insmod /lib/modules/$m.ko 2>/dev/null || [ -d /sys/module/$m ] ||
		{ fail block_nvme_modules "insmod $m"; exit 0; }
done

MNT=/tmp/nvme-mnt
I=nvme@$NVME_BDF
R=nvme@$NVME_REFUSED_BDF
served() { hostctl status $1 2>/dev/null | sed -n 's/^ *serves: *block //p'; }
restarts() { hostctl status $1 2>/dev/null | sed -n 's/^ *restarts: *//p'; }
pid_of() { hostctl status $1 2>/dev/null | sed -n 's/^ *pid: *\([0-9][0-9]*\)$/\1/p'; }
replaced() { p=$(pid_of $1); [ -n "$p" ] && [ "$p" != "$2" ]; }
ublk_io_errors() { dmesg | grep -c "I/O error, dev ublkb"; }

mkdir -p $PLUGINS $MNT && cp /plugins/nvme.so $PLUGINS/nvme.so
others=$(for d in $EDU_BDFS $NVME_KERNEL_BDF $NVME_FEW_VECTORS_BDF; do echo $d; done)
start_hostd "autoload = false" "[restart]" "max_crashes = 10" "window_ms = 120000" "backoff_initial_ms = 20" \
	"[devices]" "ignore = $(toml_list $others)" || { fail block_nvme_hostd_ready "see above"; exit 0; }

mark=$(($(log_lines) + 1))
hostctl load nvme.so --device $NVME_BDF >/dev/null 2>&1
NAME=$(served $I)
DEV=/dev/$NAME
if [ -n "$NAME" ] && wait_until 20 [ -b $DEV ]; then
	pass block_nvme_serves_a_disk
else
	fail block_nvme_serves_a_disk "serves '$NAME': $(tail -n 5 $LOG | tr '\n' ' ')"
	stop_hostd; exit 0
fi

# ext4 end to end.
if mkfs.ext4 -q -F $DEV >/tmp/nvme-mkfs.log 2>&1 && mount -t ext4 $DEV $MNT; then
	mkdir -p $MNT/d
	dd if=/dev/urandom of=$MNT/big bs=1M count=16 2>/dev/null
	for i in 1 2 3 4 5 6; do dd if=/dev/urandom of=$MNT/d/f$i bs=4k count=$((i * 3)) 2>/dev/null; done
	(cd $MNT && find . -type f | sort | xargs sha256sum) >/tmp/nvme-sums
	sync
	umount $MNT
	fsck=$(e2fsck -fn $DEV 2>&1); fsck_rc=$?
	mount -t ext4 $DEV $MNT && check=$(cd $MNT && sha256sum -c /tmp/nvme-sums 2>&1); check_rc=$?
	umount $MNT
	if [ $fsck_rc = 0 ] && [ $check_rc = 0 ] && [ $(wc -l </tmp/nvme-sums) = 7 ]; then
		pass block_nvme_ext4_mkfs_fsck_remount_same_files
	else
		fail block_nvme_ext4_mkfs_fsck_remount_same_files "e2fsck $fsck_rc: $(echo "$fsck" | tail -n 2 | tr '\n' ' '); sha256sum -c $check_rc"
	fi
else
	fail block_nvme_ext4_mkfs_fsck_remount_same_files "mkfs or mount: $(tail -n 3 /tmp/nvme-mkfs.log | tr '\n' ' ')"
fi

# fio verifies what it wrote while the driverhost dies three times; each
# kill comes once fio has I/O going (its rate keeps it going for 15 s).
errors_before=$(ublk_io_errors)
r0=$(restarts $I)
fio --name=nvmecrash --filename=$DEV --rw=randwrite --bsrange=4k-64k --size=48M --ioengine=libaio \
	--iodepth=16 --direct=1 --verify=crc32c --do_verify=1 --verify_fatal=1 --rate_iops=300 \
	--output=/tmp/nvme-fio.log >/dev/null 2>&1 &
FIO=$!
crashes=0
for sig in SEGV SEGV KILL; do
	n=$(restarts $I); old=$(pid_of $I)
	kill -0 $FIO 2>/dev/null || break
	kill -$sig $old &&
		wait_until 30 sh -c "[ \"\$(hostctl status $I 2>/dev/null | sed -n 's/^ *restarts: *//p')\" -gt $n ]" &&
		wait_until 30 replaced $I $old && crashes=$((crashes + 1))
done
wait_until 300 sh -c "! kill -0 $FIO 2>/dev/null"
wait $FIO; fio_rc=$?
io_errors=$(($(ublk_io_errors) - errors_before))
r1=$(restarts $I)
if [ $fio_rc = 0 ] && [ $crashes = 3 ] && [ $((r1 - r0)) -ge 3 ] && [ $io_errors = 0 ] && grep -q "err= 0" /tmp/nvme-fio.log; then
	pass block_nvme_fio_verify_across_three_crashes
	echo "NOTE: block nvme: across the crashes fio saw $(grep -E '^ *clat .*max=' /tmp/nvme-fio.log | sed 's/^ *//' | tr '\n' ' ')"
else
	fail block_nvme_fio_verify_across_three_crashes "fio exit $fio_rc, crashes $crashes, restarts $r0 -> $r1, kernel I/O errors $io_errors; $(grep -E 'err=|verify|bad' /tmp/nvme-fio.log | head -n 3 | tr '\n' ' ')"
fi

# Unload: the disk goes with the instance.
hostctl unload $I >/dev/null 2>&1
wait_until 20 sh -c "[ ! -e $DEV ]" && pass block_nvme_unload_ends_the_disk || fail block_nvme_unload_ends_the_disk "$DEV is still there"

# A namespace with metadata: refused, with the reason, nothing served.
hostctl load nvme.so --device $NVME_REFUSED_BDF >/dev/null 2>&1
wait_until 30 sh -c "hostctl status $R 2>/dev/null | grep -q '^ *state: *failed'"
status=$(hostctl status $R 2>&1)
case "$status" in
*"exit 30 (attach failed)"*) [ -z "$(served $R)" ] && pass block_nvme_refuses_a_metadata_format ||
	fail block_nvme_refuses_a_metadata_format "serves $(served $R)" ;;
*) fail block_nvme_refuses_a_metadata_format "$(echo "$status" | tr '\n' ' ')" ;;
esac
hostctl unload $R >/dev/null 2>&1
stop_hostd
cp $LOG /tmp/hostd-63.log
rm -rf $H
