#!/bin/sh
# The block class on real NVMe: Plugins/nvme serves QEMU's NVMe controller
# ($NVME_BDF) as /dev/ublkbN through hostd, and real programs use it:
# mkfs.ext4, files, e2fsck, a remount with the same checksums; fio writing
# and verifying while the driverhost is crashed three times (SIGSEGV twice,
# SIGKILL): no I/O error, the data verifies, the restarts are counted;
# the same with kills back to back, each landing in the recovery from the
# one before. A controller that never becomes ready, and a namespace format
# the plugin cannot drive ($NVME_REFUSED_BDF), are refused with their
# reasons. 6.12 boots with NVMe only.
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
failed() { hostctl status $1 2>/dev/null | grep -q '^ *state: *failed'; }
# wait_until counts tries, and each hostctl call takes a while under TCG:
# these waits are bounded by the clock instead.
within() {
	end=$(($(date +%s) + $1)); shift
	until "$@"; do [ $(date +%s) -lt $end ] || return 1; sleep 0.2; done
}

mkdir -p $PLUGINS $MNT && cp /plugins/nvme.so $PLUGINS/nvme.so
others=$(for d in $EDU_BDFS $NVME_KERNEL_BDF $NVME_FEW_VECTORS_BDF; do echo $d; done)
# Refusals first, under a hostd that gives up on an instance's second
# failed attach (an attach failure is retried: a reset may cure a device).
start_hostd "autoload = false" "[restart]" "max_crashes = 2" "window_ms = 120000" "backoff_initial_ms = 20" \
	"[devices]" "ignore = $(toml_list $others)" || { fail block_nvme_hostd_ready "see above"; exit 0; }

# A controller that never becomes ready, both ways it shows (test builds of
# the plugin, Plugins/nvme/Makefile: variants): CSTS.RDY never comes (the
# wait runs out at CAP.TO), or the controller reports a fatal status
# (enabled with a misaligned admin queue, QEMU sets CSTS.CFS). Each attach ends
# with the reason, in bounded time; the instance fails, no disk is made,
# and the controller is left for the next driver (the real plugin below).
ublk_disks() { ls /sys/block | grep -c '^ublkb'; }
for variant in never-ready:"controller enable: not done after" fatal:"controller enable: controller fatal status"; do
	V=nvme-${variant%%:*}@$NVME_BDF want=${variant#*:}
	cp /plugins/nvme-${variant%%:*}.so $PLUGINS/
	disks=$(ublk_disks)
	hostctl load nvme-${variant%%:*}.so --device $NVME_BDF >/dev/null 2>&1
	if within 90 failed $V; then
		status=$(hostctl status $V 2>&1)
		reason=$(hostctl logs $V 2>&1 | grep -F "$want" | head -n 1)
		if echo "$status" | grep -q "exit 30 (attach failed)" && [ -n "$reason" ] && [ -z "$(served $V)" ] &&
			[ "$(ublk_disks)" = "$disks" ]; then
			pass block_nvme_${variant%%:*}_controller_fails_the_attach
			echo "NOTE: block nvme: ${variant%%:*}: $(echo "$reason" | sed 's/.*controller enable/controller enable/')"
		else
			fail block_nvme_${variant%%:*}_controller_fails_the_attach "reason '$reason', disks $disks -> $(ublk_disks), status: $(echo "$status" | tr '\n' ' ')"
		fi
	else
		fail block_nvme_${variant%%:*}_controller_fails_the_attach "not failed after 90 s: $(hostctl status $V 2>&1 | tr '\n' ' ')"
	fi
	hostctl unload $V >/dev/null 2>&1
	rm -f $PLUGINS/nvme-${variant%%:*}.so
done

# A namespace with metadata: refused, with the reason, nothing served.
hostctl load nvme.so --device $NVME_REFUSED_BDF >/dev/null 2>&1
within 60 failed $R
status=$(hostctl status $R 2>&1)
case "$status" in
*"exit 30 (attach failed)"*) [ -z "$(served $R)" ] && pass block_nvme_refuses_a_metadata_format ||
	fail block_nvme_refuses_a_metadata_format "serves $(served $R)" ;;
*) fail block_nvme_refuses_a_metadata_format "$(echo "$status" | tr '\n' ' ')" ;;
esac
hostctl unload $R >/dev/null 2>&1
stop_hostd

# The disk, under a hostd that restarts through the many crashes below.
start_hostd "autoload = false" "[restart]" "max_crashes = 40" "window_ms = 120000" "backoff_initial_ms = 20" "backoff_max_ms = 200" \
	"[devices]" "ignore = $(toml_list $others)" || { fail block_nvme_hostd_ready "see above"; exit 0; }
mark=$(log_mark)
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

# Crashes back to back: each replacement driverhost is killed at a later
# moment of its start (plugin attach, START_USER_RECOVERY, the I/O buffers,
# the tags' fetch, END_USER_RECOVERY, serving), before the previous crash's
# recovery is over, while fio writes and verifies. Programs must see none
# of it: no I/O error, the data verifies, the instance is not given up.
# The delays place the kills; the waits between them are on hostd's log.
started_pid() { tail -n +$1 $LOG | grep "instance=$I" | grep '\] driverhost started' | grep -o 'pid=[0-9]*' | tail -n 1 | cut -d= -f2; }
errors_before=$(ublk_io_errors)
r0=$(restarts $I)
fio --name=nvmekills --filename=$DEV --rw=randwrite --bs=4k --size=48M --ioengine=libaio \
	--iodepth=16 --direct=1 --verify=crc32c --do_verify=1 --verify_fatal=1 --rate_iops=,400 \
	--output=/tmp/nvme-kills.log >/dev/null 2>&1 &
FIO=$!
kills=0
victim=$(pid_of $I)
for delay in 0 0.05 0.1 0.15 0.2 0.3 0.4 0.5 0.6 0.8 1.0 1.2 1.5; do
	kill -0 $FIO 2>/dev/null || break
	mark=$(log_mark)
	kill -KILL $victim 2>/dev/null || break
	kills=$((kills + 1))
	wait_log "instance=$I .*\] driverhost started" 30 $mark || break
	victim=$(started_pid $mark)
	sleep $delay  # where in the replacement's start the next kill lands, not a synchronisation
done
within 120 sh -c "hostctl status $I 2>/dev/null | grep -q '^ *state: *running'"
within 300 sh -c "! kill -0 $FIO 2>/dev/null"
wait $FIO; fio_rc=$?
io_errors=$(($(ublk_io_errors) - errors_before))
r1=$(restarts $I)
state=$(hostctl status $I 2>/dev/null | sed -n 's/^ *state: *//p')
if [ $fio_rc = 0 ] && [ $kills = 13 ] && [ $((r1 - r0)) -ge 13 ] && [ $io_errors = 0 ] && [ "$state" = running ] &&
	grep -q "err= 0" /tmp/nvme-kills.log; then
	pass block_nvme_kills_during_recovery_invisible
	echo "NOTE: block nvme: $kills kills back to back, fio saw $(grep -E '^ *clat .*max=' /tmp/nvme-kills.log | sed 's/^ *//' | tr '\n' ' ')"
else
	fail block_nvme_kills_during_recovery_invisible "fio exit $fio_rc, kills $kills, restarts $r0 -> $r1, state $state, kernel I/O errors $io_errors; $(grep -E 'err=|verify|bad' /tmp/nvme-kills.log | head -n 3 | tr '\n' ' ')"
	grep -E "instance=$I" $LOG | grep -E "block class|ended|failed|started|recover" | tail -n 25 | sed 's/^/NOTE: hostd: /'
fi

# Unload: the disk goes with the instance.
hostctl unload $I >/dev/null 2>&1
wait_until 20 sh -c "[ ! -e $DEV ]" && pass block_nvme_unload_ends_the_disk || fail block_nvme_unload_ends_the_disk "$DEV is still there"

stop_hostd
cp $LOG /tmp/hostd-63.log
rm -rf $H
