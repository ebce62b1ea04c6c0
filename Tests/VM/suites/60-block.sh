#!/bin/sh
# The block class (drvhost.block/1 through ublk) with real programs on the
# disk: ramblock.so (Tests/Plugins/ramblock.c) on an edu device keeps the
# disk in /tmp/ramblock.img and completes each request from a real edu
# interrupt. Through driverhost directly, then through hostd: mkfs.ext4,
# mount, e2fsck; fio verifying its data while the driverhost is crashed
# (SIGSEGV inside the plugin, SIGSEGV and SIGKILL from outside); an orderly
# restart during I/O; unload during I/O; a plugin whose geometry changed.
# Linux 6.1 has no ublk_drv:
# there, only the clear refusal is checked.
. /suites/lib.sh
. /suites/hostd.sh

set -- $EDU_BDFS
A=$1
shift
OTHERS="$*"
IMG=/tmp/ramblock.img
MNT=/tmp/blk-mnt

# ---- without ublk_drv: a clear refusal ------------------------------------------
if [ ! -f /lib/modules/ublk_drv.ko ]; then
	bind_drvproxy $A || { fail block_refused_without_ublk "cannot bind $A to drvproxy"; exit 0; }
	out=$(driverhost --device $A --plugin /plugins/ramblock.so 2>&1); rc=$?
	unbind $A
	case "$rc:$out" in
	32:*"ublk_drv is not available: the block class needs Linux >= 6.x with ublk_drv loaded"*)
		pass block_refused_without_ublk ;;
	*) fail block_refused_without_ublk "exit $rc: $(echo "$out" | tail -n 2 | tr '\n' ' ')" ;;
	esac
	skip block "this kernel ($DRVHOST_BOOT) has no ublk_drv"
	rm -f $IMG
	exit 0
fi

for m in crc16 mbcache crc32c_generic jbd2 ext4 ublk_drv; do
	insmod /lib/modules/$m.ko || { fail block_modules "insmod $m"; exit 0; }
done

# The ublk disk's name from an instance's status ("serves: block ublkb0").
served() { hostctl status $1 2>/dev/null | sed -n 's/^ *serves: *block //p'; }
restarts() { hostctl status $1 2>/dev/null | sed -n 's/^ *restarts: *//p'; }
# The running driverhost's pid, empty while there is none.
pid_of() { hostctl status $1 2>/dev/null | sed -n 's/^ *pid: *\([0-9][0-9]*\)$/\1/p'; }
# A driverhost other than pid $2 runs instance $1.
replaced() { p=$(pid_of $1); [ -n "$p" ] && [ "$p" != "$2" ]; }
ublk_io_errors() { dmesg | grep -c "I/O error, dev ublkb"; }

# What justifies UBLK_F_USER_COPY: without an IOMMU, the driverhost's DMA
# mappings (mmap offsets from 16 << 40 on) are VM_PFNMAP ("pf"), pages the
# kernel cannot pin for ublk's own copy. Prints the VmFlags of each.
dma_vmflags() {
	awk '/\/dev\/drvproxy\// { dma = length($3) >= 12; next }
	     /^VmFlags:/ && dma { sub(/^VmFlags: */, ""); print; dma = 0 }' /proc/$1/smaps
}

# ---- driverhost alone, completing inside submit ---------------------------------
bind_drvproxy $A || { fail block_driverhost_setup "cannot bind $A to drvproxy"; exit 0; }
rm -f $IMG
DRVHOST_RAMBLOCK_MODE=inline DRVHOST_RAMBLOCK_MB=16 driverhost --device $A --plugin /plugins/ramblock.so \
	>/tmp/blk-dh.log 2>&1 &
DH=$!
wait_until 20 grep -q "block class: /dev/ublkb[0-9]* started" /tmp/blk-dh.log
DEV=/dev/$(sed -n 's/.*block class: \/dev\/\(ublkb[0-9]*\) started.*/\1/p' /tmp/blk-dh.log | head -n1)
if [ -b "$DEV" ]; then
	pattern=/tmp/blk-pattern
	dd if=/dev/urandom of=$pattern bs=64k count=16 2>/dev/null
	dd if=$pattern of=$DEV bs=64k oflag=direct 2>/dev/null
	got=$(dd if=$DEV bs=64k count=16 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
	want=$(sha256sum <$pattern | cut -d' ' -f1)
	# The data went through to the backing file, at the same offsets.
	file=$(dd if=$IMG bs=64k count=16 2>/dev/null | sha256sum | cut -d' ' -f1)
	if [ "$got" = "$want" ] && [ "$file" = "$want" ] && [ $(blockdev --getsize64 $DEV) = $((16 << 20)) ]; then
		pass block_driverhost_inline_roundtrip
	else
		fail block_driverhost_inline_roundtrip "read back $got, file $file, want $want, size $(blockdev --getsize64 $DEV)"
	fi
	# The class lets ublk copy straight into the DMA slots where the kernel
	# can pin their pages, and bounces where it cannot (VM_PFNMAP, "pf"):
	# measured, without an IOMMU dma_mmap_coherent gives PFNMAP, with one it
	# maps pages (Linux 6.12's ublk pins the server's pages even for
	# UBLK_F_USER_COPY).
	flags=$(dma_vmflags $DH)
	mode=$(grep -o 'block class: /dev/ublkb[0-9]*: .*' /tmp/blk-dh.log | head -n1)
	echo "NOTE: block: DMA buffer VmFlags (boot $DRVHOST_BOOT): $(echo "$flags" | sort -u | tr '\n' ';') $mode"
	if echo "$flags" | awk '{ for (i = 1; i <= NF; i++) if ($i == "pf") f = 1 } END { exit !f }'; then
		want="bounce copies"
	else
		want="no copy in user space"
	fi
	if [ -n "$flags" ] && echo "$mode" | grep -q "$want"; then pass block_user_copy_mode_follows_dma_mapping
	else fail block_user_copy_mode_follows_dma_mapping "VmFlags '$flags', wanted '$want': $mode"; fi
	if [ "$DRVHOST_IOMMU" != 1 ]; then
		[ "$want" = "bounce copies" ] && pass block_dma_buffers_are_pfnmap_without_iommu ||
			fail block_dma_buffers_are_pfnmap_without_iommu "VmFlags: $flags"
	fi
	kill -TERM $DH; wait $DH; rc=$?
	# The disk outlives its driverhost until it is ended.
	[ -b $DEV ] && outlived=yes || outlived=no
	out=$(driverhost --end-device block ${DEV#/dev/} 2>&1); end_rc=$?
	again=$(driverhost --end-device block ${DEV#/dev/} 2>&1); again_rc=$?
	if [ $rc = 0 ] && [ $outlived = yes ] && [ $end_rc = 0 ] && [ ! -e $DEV ] && [ $again_rc = 0 ]; then
		pass block_end_device_deletes_disk
	else
		fail block_end_device_deletes_disk "driverhost exit $rc, outlived $outlived, end $end_rc '$out', exists $([ -e $DEV ] && echo yes || echo no), again $again_rc '$again'"
	fi
else
	fail block_driverhost_inline_roundtrip "no disk: $(tail -n 5 /tmp/blk-dh.log | tr '\n' ' ')"
	kill -TERM $DH; wait $DH
fi
out=$(driverhost --end-device block sda 2>&1); rc=$?
case "$rc:$out" in
2:*"is not a ublk disk name"*) pass block_end_device_refuses_other_names ;;
*) fail block_end_device_refuses_other_names "exit $rc: $out" ;;
esac
unbind $A
rm -f $IMG

# ---- through hostd ---------------------------------------------------------------
mkdir -p $PLUGINS $MNT && cp /plugins/ramblock.so $PLUGINS/ramblock.so
start_hostd "autoload = false" "[restart]" "max_crashes = 10" "window_ms = 120000" "backoff_initial_ms = 20" \
	"[devices]" "claim = $(toml_list $A)" "ignore = $(toml_list $OTHERS)" ||
	{ fail block_hostd_ready "see above"; exit 0; }
I=ramblock@$A
mark=$(log_mark)
hostctl load ramblock.so >/dev/null 2>&1
wait_log "instance=$I .*instance attached" 60 $mark || { fail block_hostd_load "not attached: $(tail -n 5 $LOG | tr '\n' ' ')"; stop_hostd; exit 0; }
NAME=$(served $I)
DEV=/dev/$NAME
if [ -n "$NAME" ] && wait_until 20 [ -b $DEV ] && hostctl list | grep "$I" | grep -q "block $NAME"; then
	pass block_hostctl_status_and_list_show_disk
else
	fail block_hostctl_status_and_list_show_disk "serves '$NAME'; list: $(hostctl list | tr '\n' ' ')"
fi

# ext4 end to end: mkfs, files, e2fsck clean, the same files after a remount;
# ramblock completes each request from the edu device's interrupt.
irqs_before=$(cat $(sysdev $A)/drvproxy/interrupts)
mkfs=$(mkfs.ext4 -q -F $DEV 2>&1) && mount -t ext4 $DEV $MNT || fail block_ext4_mkfs_mount "$mkfs"
if grep -q " $MNT " /proc/mounts; then
	mkdir -p $MNT/a/b
	dd if=/dev/urandom of=$MNT/big bs=1M count=12 2>/dev/null
	dd if=/dev/urandom of=$MNT/a/small bs=1k count=3 2>/dev/null
	for i in 1 2 3 4 5 6 7 8; do dd if=/dev/urandom of=$MNT/a/b/f$i bs=4k count=$i 2>/dev/null; done
	(cd $MNT && find . -type f | sort | xargs sha256sum) >/tmp/blk-sums
	sync
	umount $MNT
	fsck=$(e2fsck -fn $DEV 2>&1); fsck_rc=$?
	mount -t ext4 $DEV $MNT && check=$(cd $MNT && sha256sum -c /tmp/blk-sums 2>&1); check_rc=$?
	umount $MNT
	irqs=$(($(cat $(sysdev $A)/drvproxy/interrupts) - irqs_before))
	if [ $fsck_rc = 0 ] && [ $check_rc = 0 ] && [ $(wc -l </tmp/blk-sums) = 10 ] && [ $irqs -gt 50 ]; then
		pass block_ext4_mkfs_fsck_remount_same_files
	else
		fail block_ext4_mkfs_fsck_remount_same_files "edu interrupts $irqs, e2fsck $fsck_rc: $(echo "$fsck" | tail -n 2 | tr '\n' ' '); sha256sum -c $check_rc: $(echo "$check" | grep -v OK | head -n 3 | tr '\n' ' ')"
	fi
fi

# fio writes and verifies while the driverhost dies three times: SIGSEGV
# inside the plugin (a command), SIGSEGV and SIGKILL from outside. Before
# each crash the plugin holds the requests it finished (`hold 1`), so that
# the crash finds I/O in flight and fio still waiting for it, however fast or
# slow the machine. The kernel holds and reissues the I/O to the next
# driverhost: no error, the data verifies.
errors_before=$(ublk_io_errors)
r0=$(restarts $I)
# The rate keeps fio going for 20 s at least between the crashes.
fio --name=crashverify --filename=$DEV --rw=randwrite --bsrange=4k-16k --size=40M --ioengine=libaio \
	--iodepth=16 --direct=1 --verify=crc32c --do_verify=1 --verify_fatal=1 --rate_iops=400 \
	--output=/tmp/blk-fio.log >/dev/null 2>&1 &
FIO=$!
in_flight() { hostctl call $I in_flight 0 2>/dev/null || echo 0; }
held() { [ "$(in_flight)" -gt 0 ]; }
# One crash with requests in flight, then the next driverhost running
# (restarts moved, a new pid).
crash_once() {
	n=$(restarts $I); old=$(pid_of $I)
	hostctl call $I hold 1 >/dev/null && wait_until 30 held || return 1
	kill -0 $FIO 2>/dev/null || running_during=no
	case $1 in
	plugin) hostctl call $I crash 0 ;;
	*) kill -$1 $old ;;
	esac
	wait_until 30 sh -c "[ \"\$(hostctl status $I 2>/dev/null | sed -n 's/^ *restarts: *//p')\" -gt $n ]" &&
		wait_until 30 replaced $I $old
}
running_during=yes
crashes=0
for how in plugin SEGV KILL; do
	crash_once $how >/dev/null 2>&1 && crashes=$((crashes + 1))
done
wait_until 300 sh -c "! kill -0 $FIO 2>/dev/null"
wait $FIO; fio_rc=$?
r1=$(restarts $I)
io_errors=$(($(ublk_io_errors) - errors_before))
if [ $fio_rc = 0 ] && [ $crashes = 3 ] && [ $running_during = yes ] && [ $((r1 - r0)) -ge 3 ] &&
	[ $io_errors = 0 ] && grep -q "err= 0" /tmp/blk-fio.log; then
	pass block_fio_verify_across_three_crashes
	# The longest a request waited (held, then across a crash), for orientation.
	echo "NOTE: block: across the crashes fio saw $(grep -E '^ *clat .*max=' /tmp/blk-fio.log | sed 's/^ *//' | tr '\n' ' ')"
else
	fail block_fio_verify_across_three_crashes "fio exit $fio_rc, crashes $crashes, fio running at each: $running_during, restarts $r0 -> $r1, kernel I/O errors $io_errors; $(grep -E 'err=|verify|bad' /tmp/blk-fio.log | head -n 3 | tr '\n' ' ')"
fi

# An orderly restart (hostctl restart) during I/O leaves the disk to the
# next driverhost too: the reader pauses, then reads what was written.
dd if=/dev/urandom of=/tmp/blk-pattern bs=64k count=32 2>/dev/null
dd if=/tmp/blk-pattern of=$DEV bs=64k oflag=direct 2>/dev/null
want=$(sha256sum </tmp/blk-pattern | cut -d' ' -f1)
old=$(pid_of $I)
(for i in 1 2 3 4 5 6 7 8; do dd if=$DEV bs=64k count=32 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1; done) >/tmp/blk-reads &
READER=$!
hostctl restart $I >/dev/null 2>&1; restart_rc=$?
wait $READER
if [ $restart_rc = 0 ] && wait_until 30 replaced $I $old &&
	[ $(grep -c "^$want$" /tmp/blk-reads) = 8 ]; then
	pass block_restart_during_io_keeps_disk
else
	fail block_restart_during_io_keeps_disk "restart exit $restart_rc, pid $old -> $(pid_of $I), good reads $(grep -c "^$want$" /tmp/blk-reads) of 8"
fi

# Unload during I/O: the driverhost stops, hostd ends the disk, the reader
# gets errors at once instead of hanging.
fio --name=unload --filename=$DEV --rw=randread --bs=4k --size=48M --ioengine=libaio --iodepth=8 \
	--direct=1 --time_based --runtime=120 --output=/tmp/blk-fio-unload.log >/dev/null 2>&1 &
FIO=$!
wait_until 20 sh -c "[ \$(hostctl call $I submitted 0 2>/dev/null || echo 0) -gt 50 ]"
mark=$(log_mark)
hostctl unload $I >/dev/null 2>&1; unload_rc=$?
if wait_until 30 sh -c "! kill -0 $FIO 2>/dev/null"; then
	wait $FIO; fio_rc=$?
	if [ $unload_rc = 0 ] && [ $fio_rc != 0 ] && wait_until 10 [ ! -e $DEV ] && ! hostctl status $I >/dev/null 2>&1; then
		pass block_unload_during_io_ends_with_errors
	else
		fail block_unload_during_io_ends_with_errors "unload exit $unload_rc, fio exit $fio_rc, disk $([ -e $DEV ] && echo still there || echo gone)"
	fi
else
	fail block_unload_during_io_ends_with_errors "fio still running 30 s after the unload: $(tail -n 3 $LOG | tr '\n' ' ')"
	kill -KILL $FIO
	wait $FIO
fi

# A plugin whose geometry changed since its disk was made: the next
# driverhost refuses to recover the disk and ends it; the instance fails.
rm -f $IMG
mark=$(log_mark)
hostctl load ramblock.so >/dev/null 2>&1
if wait_log "instance=$I .*instance attached" 60 $mark && NAME=$(served $I) && wait_until 20 [ -b /dev/$NAME ]; then
	truncate -s 80M $IMG
	kill -KILL $(pid_of $I)
	if wait_until 30 sh -c "hostctl status $I 2>/dev/null | grep -q '^ *state: *failed'" &&
		hostctl status $I | grep -q "device class cannot be served" && grep -q "geometry changed" $LOG &&
		wait_until 10 [ ! -e /dev/$NAME ]; then
		pass block_geometry_change_ends_disk
	else
		fail block_geometry_change_ends_disk "$(hostctl status $I 2>&1 | tr '\n' ' '); disk $([ -e /dev/$NAME ] && echo still there || echo gone)"
	fi
	hostctl unload $I >/dev/null 2>&1
else
	fail block_geometry_change_ends_disk "second load did not attach: $(tail -n 5 $LOG | tr '\n' ' ')"
fi

stop_hostd
cp $LOG /tmp/hostd-60.log
unbind $A
rm -rf $H $IMG $MNT
