# The dmesg judge of the VM tests: `. Tests/VM/judge.sh`, then
#
#   kernel_trouble [BDF...] <dmesg
#
# prints the lines of a guest's dmesg that show kernel trouble, and nothing
# when there is none. Tests/VM/judge-test.sh holds it to known logs.
#
# Two kinds of lines look like trouble and are not, and only these pass:
#  - the kernel's reports of user-space crashes: tests crash plugins and
#    driverhosts on purpose (`traps: prog[pid] general protection fault ip:...`,
#    `traps: prog[pid] trap invalid opcode ip:...`, `prog[pid]: segfault at ...`).
#    A general protection fault or invalid opcode in the kernel is an oops,
#    worded differently (`general protection fault, probably for ...: 0000
#    [#1]`, `Oops: ...`, `invalid opcode: 0000 [#1]`), with RIP: and a
#    Call Trace: it still fails.
#  - on an IOMMU boot, the Intel IOMMU's reports of DMA it blocked: a test makes
#    an edu device DMA outside its buffers on purpose. The BDF arguments
#    (bus:dev.fn, as the kernel prints them, e.g. 00:03.0) name the devices
#    allowed to fault; without them, every DMAR fault report is trouble. Only
#    blocked reads and writes of unmapped pages (fault reasons 5 and 6: PTE
#    Write/Read access is not set) pass; any other reason means the IOMMU
#    setup itself is wrong. Wording from drivers/iommu/intel/dmar.c, the same
#    in Debian's 6.1 and 6.12:
#      DMAR: DRHD: handling fault status reg %x
#      DMAR: [%s NO_PASID] Request device [%02x:%02x.%d] fault addr 0x%llx [fault reason 0x%02x] %s
#      dmar_fault: %d callbacks suppressed    (the rate limit of the line above)

# Lines as busybox dmesg prints them: an optional [seconds] stamp, then text.
_judge_stamp='^(\[ *[0-9]+\.[0-9]+\] )?'

# The kernel's user-space crash reports (arch/x86/kernel/traps.c show_signal,
# arch/x86/mm/fault.c show_signal_msg). comm is at most 15 characters. The
# mapping is file[start+size] in 6.1, file[offset,start+size] in 6.12.
_judge_user_report="${_judge_stamp}(traps: .{1,15}\\[[0-9]+\\] (general protection fault|trap [a-z0-9 ]+) ip:[0-9a-f]+ sp:[0-9a-f]+ error:[0-9a-f]+|.{1,15}\\[[0-9]+\\]: segfault at [0-9a-f]+ ip [0-9a-f]+ sp [0-9a-f]+ error [0-9a-f]+)( in [^ ]+\\[([0-9a-f]+,)?[0-9a-f]+\\+[0-9a-f]+\\])?( likely on CPU [0-9]+ \\(core [0-9]+, socket [0-9]+\\))?\$"

# What counts as trouble once the lines above are set aside.
_judge_trouble='Initramfs unpacking failed|WARNING:|BUG:|BUG at|Oops|Call Trace|RIP: |general protection fault|invalid opcode|Kernel panic|stack-protector|UBSAN|KASAN|KFENCE|kmemleak|refcount_t|list_(add|del) corruption|INFO: task .* blocked|soft lockup|hard LOCKUP|rcu: INFO|self-detected stall|nobody cared|Out of memory|segfault at|traps: |DRHD: handling fault|DMAR: \[|fault reason|dmar_fault|IOMMU fault|iommu fault|AMD-Vi: .*Event'

kernel_trouble() {
	local allowed='^$' dev devs=
	if [ $# -gt 0 ]; then
		for dev in "$@"; do
			devs="$devs${devs:+|}$(printf '%s' "$dev" | sed 's/\./\\./g')"
		done
		allowed="${_judge_stamp}(DMAR: DRHD: handling fault status reg [0-9a-f]+|DMAR: \\[DMA (Read|Write) NO_PASID\\] Request device \\[($devs)\\] fault addr 0x[0-9a-f]+ \\[fault reason 0x0[56]\\] PTE (Read|Write) access is not set|dmar_fault: [0-9]+ callbacks suppressed)\$"
	fi
	grep -v -E -e "$_judge_user_report" -e "$allowed" | grep -E "$_judge_trouble" || true
}
