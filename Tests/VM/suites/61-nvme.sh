#!/bin/sh
# The nvme plugin on QEMU's NVMe controller behind drvproxy: attach (reset,
# admin queue, Identify, I/O queues), its figures against the kernel's own
# driver on an identical disk, a selftest of real I/O completed by real
# interrupts on every queue, the refusal of a format it cannot drive, and
# the release program after SIGKILL. Boots with NVMe name the controllers
# (Tests/VM/boots: NVME_BDF, NVME_KERNEL_BDF, NVME_REFUSED_BDF,
# NVME_FEW_VECTORS_BDF).
. /suites/lib.sh

if [ -z "$NVME_BDF" ]; then
	skip nvme "this boot has no NVMe controllers"
	exit 0
fi
nvme=/plugins/nvme.so
dev=$NVME_BDF

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
check() { # name expected actual (an empty one never matches)
	if [ -n "$2" ] && [ "$3" = "$2" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

# The value of call NAME in driverhost's --call output (NAME(ARGS) = VALUE).
value_of() { sed -n "s/^$1(.*) = //p" /tmp/nvme.out | head -n1; }

bind_drvproxy $dev || { fail nvme_bind "cannot bind $dev to drvproxy"; exit 0; }

# ---- attach, identify, selftest ------------------------------------------------

if driverhost --device $dev --plugin $nvme --no-device-class --call identify --call lba_size --call queues \
	--call selftest 12345 --call vectors_used >/tmp/nvme.out 2>/tmp/nvme.err; then
	pass nvme_attach
else
	fail nvme_attach "driverhost exited $?: $(tail -n 4 /tmp/nvme.err | tr '\n' ' ')"
fi
echo "NOTE: nvme: $(sed -n 's/.*identify: //p' /tmp/nvme.err | head -n1); reset method: $(cat $(sysdev $dev)/reset_method 2>/dev/null || echo none)"
bytes=$(value_of identify)
lba=$(value_of lba_size)
queues=$(value_of queues)

# The kernel's nvme driver drives a controller with an identical image:
# its disk's size is what ours must be.
kdisk=$(ls -d $(sysdev $NVME_KERNEL_BDF)/nvme/nvme*/nvme*n1 2>/dev/null | head -n1)
if [ -n "$kdisk" ]; then
	check nvme_identify_capacity_matches_kernel "$(( $(cat $kdisk/size) * 512 ))" "$bytes"
	check nvme_identify_lba_size_matches_kernel "$(cat $kdisk/queue/logical_block_size)" "$lba"
else
	fail nvme_identify_capacity_matches_kernel "the kernel's nvme driver has no disk on $NVME_KERNEL_BDF"
fi
check nvme_identify_capacity_is_image_size 67108864 "$bytes"

# One I/O queue pair and MSI-X vector per CPU, at most 16
# (DH_BLOCK_MAX_QUEUES): ublk serves no more queues than CPUs, and pairs
# and vectors nobody uses would only slow each restart. QEMU's controller
# grants 64 pairs and 65 vectors, so the CPUs decide (1 at VM_SMP=1).
possible=$(cat /sys/devices/system/cpu/possible)  # "0" or "0-N"
cpus=$((${possible##*-} + 1))
wanted=$((cpus < 16 ? cpus : 16))
check nvme_msix_one_queue_per_cpu $wanted "$queues"
check nvme_selftest_intact 0 "$(value_of selftest)"
echo "NOTE: nvme: $(sed -n 's/.*selftest: //p' /tmp/nvme.err | head -n1)"
# Every queue's completions came on its own vector.
check nvme_msix_one_vector_per_queue "$queues" "$(value_of vectors_used)"
grep -qE "identify: .* irq MSI-X vectors $wanted( |$)" /tmp/nvme.err &&
	pass nvme_irq_mode_msix || fail nvme_irq_mode_msix "$(grep identify: /tmp/nvme.err)"

# The selftest restores what it overwrote: the disk is still all zeros,
# as vm.sh made it, where the selftest wrote (the last 64 KiB).
if [ -n "$bytes" ]; then
	driverhost --device $dev --plugin $nvme --no-device-class --call selftest 99 >/tmp/nvme.out 2>/tmp/nvme.err
	check nvme_selftest_again 0 "$(value_of selftest)"
fi

# ---- one vector: the host's fallbacks, forced ---------------------------------------

# Without MSI-X the plugin gets one vector and so one queue. QEMU's NVMe has
# no MSI; INTx is forced both ways: with the INTx-disable bit (the kernel
# masks the function) and on a shared line with the plugin's ACK program
# (it masks vector 0 through INTMS and says "not mine" while masked).
for mode in intx-disable intx-shared; do
	case $mode in intx-disable) label="INTx disable" ;; *) label="INTx shared" ;; esac
	name=nvme_$(echo $mode | tr - _)
	if driverhost --device $dev --plugin $nvme --no-device-class --irq-mode $mode --call identify --call queues \
		--call selftest 4242 --call vectors_used >/tmp/nvme.out 2>/tmp/nvme.err &&
		grep -q "identify: .* irq $label vectors 1" /tmp/nvme.err; then
		check ${name}_one_queue 1 "$(value_of queues)"
		check ${name}_selftest_intact 0 "$(value_of selftest)"
		check ${name}_completions_by_interrupt 1 "$(value_of vectors_used)"
	else
		fail ${name}_attach "exit $?: $(grep -E 'identify:|error' /tmp/nvme.err | tail -n 3 | tr '\n' ' ')"
	fi
done

# ---- fewer MSI-X vectors than wanted ------------------------------------------------

# This controller has 2 MSI-X vectors (and grants 4 queue pairs): the host
# sets MSI-X with 2 vectors instead of the 16 the plugin asks for, and the
# plugin makes one queue per vector (a queue on a vector the device lacks
# would fail Create CQ). The plugin's test build that wants 16 whatever the
# CPU count (nvme-all-queues: the real one wants one per CPU, which this
# controller can give a guest of fewer than 3 CPUs).
if [ -n "$NVME_FEW_VECTORS_BDF" ]; then
	bind_drvproxy $NVME_FEW_VECTORS_BDF || fail nvme_bind "cannot bind $NVME_FEW_VECTORS_BDF"
	if driverhost --device $NVME_FEW_VECTORS_BDF --plugin /plugins/nvme-all-queues.so --no-device-class --call queues --call selftest 77 \
		--call vectors_used >/tmp/nvme.out 2>/tmp/nvme.err &&
		grep -q "interrupts msix with 2 vectors instead of msix" /tmp/nvme.err; then
		check nvme_few_vectors_one_queue_per_vector 2 "$(value_of queues)"
		check nvme_few_vectors_selftest_intact 0 "$(value_of selftest)"
		check nvme_few_vectors_each_vector_used 2 "$(value_of vectors_used)"
	else
		fail nvme_few_vectors_attach "exit $?: $(grep -E 'interrupts|error' /tmp/nvme.err | tail -n 3 | tr '\n' ' ')"
	fi
	unbind $NVME_FEW_VECTORS_BDF
else
	skip nvme_few_vectors "no controller with few MSI-X vectors on this boot"
fi

# ---- refusal --------------------------------------------------------------------

# Namespace 1 of this controller has 8 bytes of metadata per block.
if [ -n "$NVME_REFUSED_BDF" ]; then
	bind_drvproxy $NVME_REFUSED_BDF || fail nvme_bind "cannot bind $NVME_REFUSED_BDF"
	driverhost --device $NVME_REFUSED_BDF --plugin $nvme --no-device-class --call identify >/tmp/nvme.out 2>/tmp/nvme.err
	rc=$?
	if [ $rc = 30 ] && grep -q "refused: namespace 1 has 8 bytes of metadata per block" /tmp/nvme.err; then
		pass nvme_refuses_metadata_format
	else
		fail nvme_refuses_metadata_format "exit $rc: $(tail -n 3 /tmp/nvme.err | tr '\n' ' ')"
	fi
	unbind $NVME_REFUSED_BDF
else
	skip nvme_refuses_metadata_format "no controller with a metadata format on this boot"
fi

# ---- SIGKILL: the release program leaves the controller disabled ---------------------

# A register of BAR0, read through /dev/mem (drvproxy claims no regions).
bar0_read32() {
	base=$(head -n1 $(sysdev $dev)/resource | cut -d' ' -f1)
	devmem $(( base + $1 )) 32
}

releases_before=$(cat $(sysdev $dev)/drvproxy/releases)
rm -f /tmp/nvme.fifo && mkfifo /tmp/nvme.fifo
# Kill it while the selftest's I/O is in flight: the selftest starts right
# after the "attached" line.
driverhost --device $dev --plugin $nvme --no-device-class --call selftest 1 --call selftest 2 --call selftest 3 \
	>/dev/null 2>/tmp/nvme.fifo &
pid=$!
exec 3</tmp/nvme.fifo
attached=
while read -r line <&3; do
	case "$line" in *attached*) attached=1; break ;; esac
done
kill -KILL $pid
wait $pid
exec 3<&-
releases_after=$(cat $(sysdev $dev)/drvproxy/releases)
csts=$(bar0_read32 0x1c)
cc=$(bar0_read32 0x14)
if [ -n "$attached" ] && [ "$releases_after" -gt "$releases_before" ] &&
	[ $(( csts & 1 )) = 0 ] && [ $(( cc & 1 )) = 0 ] && [ "$csts" != 0xFFFFFFFF ]; then
	pass nvme_release_after_sigkill_disables
else
	fail nvme_release_after_sigkill_disables "attached '$attached', releases $releases_before -> $releases_after, CSTS $csts CC $cc"
fi
# The release program's POLL (not ready once disabled) was met:
# drvproxy warns when one times out.
if [ -z "$attached" ]; then
	fail nvme_release_program_polls_met "driverhost did not attach"
elif dmesg | grep "$dev" | grep -q "release program: .* timed out"; then
	fail nvme_release_program_polls_met "$(dmesg | grep "$dev" | grep 'release program' | tail -n1)"
else
	pass nvme_release_program_polls_met
fi

# And the next driverhost attaches to the released controller and works.
driverhost --device $dev --plugin $nvme --no-device-class --call selftest 5 >/tmp/nvme.out 2>/tmp/nvme.err
check nvme_attach_after_kill_selftest 0 "$(value_of selftest)"

unbind $dev
