#!/usr/bin/env bash
# Holds the dmesg judge of Tests/VM/judge.sh (kernel_trouble) to kernel logs
# whose verdict is known: user-space crash reports and, on an IOMMU boot, the
# edu devices' DMAR faults pass; kernel trouble of every kind, and DMAR faults
# anywhere else, fail. Prints `PASS:`/`FAIL:` per case and `N passed, N failed`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/judge.sh"

passed=0
failed=0

# expect pass|fail NAME [BDF...] <log: judges the log as vm.sh would.
expect() {
	local want=$1 name=$2 out got
	shift 2
	out=$(kernel_trouble "$@")
	[ -z "$out" ] && got=pass || got=fail
	if [ "$got" = "$want" ]; then
		echo "PASS: judge_$name"
		passed=$((passed + 1))
	else
		echo "FAIL: judge_$name: expected $want, judged $got${out:+: $out}"
		failed=$((failed + 1))
	fi
}

# Lines every boot prints; the judge must not mind them.
boot='[    0.000000] Linux version 6.12.117+deb12-amd64 (debian-kernel@lists.debian.org)
[    0.412345] DMAR: IOMMU enabled
[    0.008000] DMAR: DRHD base: 0x000000fed90000 flags: 0x0
[    0.012000] DMAR-IR: IOAPIC id 0 under DRHD base  0xfed90000 IOMMU 0
[    0.523456] DMAR-IR: Enabled IRQ remapping in x2apic mode
[    1.234567] drvproxy: loading out-of-tree module taints kernel.
[    1.234568] drvproxy: module verification failed: signature and/or required key missing - tainting kernel
[    1.450170] iommu: DMA domain TLB invalidation policy: strict mode (set via kernel command line)
[    2.000000] pci 0000:00:03.0: Adding to iommu group 3
[    6.626065] RAS: Correctable Errors collector initialized.'

# ---- must pass --------------------------------------------------------------

expect pass clean_boot <<<"$boot"
expect pass empty </dev/null

expect pass user_gpf <<'EOF'
[   12.345678] traps: driverhost[123] general protection fault ip:7f3a1c2d3e4f sp:7ffd1234abc0 error:0 in ld-linux-x86-64.so.2[7f3a1c2b0000+2a000]
EOF
expect pass user_gpf_anonymous <<'EOF'
[   12.345678] traps: driverhost[123] general protection fault ip:7f3a1c2d3e4f sp:7ffd1234abc0 error:0
EOF
expect pass user_segfault <<'EOF'
[   13.000001] driverhost[124]: segfault at 0 ip 00007f3a1c2d3e4f sp 00007ffd1234abc0 error 4 in crash.so[7f3a1c2d3000+1000]
[   13.000002] Code: 48 89 e5 48 83 ec 10 c7 45 fc 00 00 00 00 b8 00 00 00 00 <8b> 00 89 45 fc 90 c9 c3
EOF
expect pass user_segfault_cpu <<'EOF'
[   13.000001] driverhost[124]: segfault at 0 ip 00007f3a1c2d3e4f sp 00007ffd1234abc0 error 4 in crash.so[7f3a1c2d3000+1000] likely on CPU 0 (core 0, socket 0)
EOF
expect pass user_segfault_612 <<'EOF'
[   16.343852] driverhost[588]: segfault at 0 ip 00007fd65252b13e sp 00007fff968b13c8 error 6 in crash-interrupt.so[113e,7fd65252b000+1000] likely on CPU 0 (core 0, socket 0)
[   16.346514] Code: 00 48 89 02 31 c0 c3 0f 1f 44 00 00 c3 66 66 2e 0f 1f 84 00 00 00 00 00 0f 1f 40 00 48 8b 46 20 48 8b 15 e5 2e 00 00 89 47 10 <89> 02 c3 66 66 2e 0f 1f 84
EOF
expect pass user_gpf_612 <<'EOF'
[   12.345678] traps: driverhost[123] general protection fault ip:7f3a1c2d3e4f sp:7ffd1234abc0 error:0 in ld-linux-x86-64.so.2[1e4f,7f3a1c2b0000+2a000]
EOF
expect pass user_invalid_opcode <<'EOF'
[   14.500000] traps: driverhost[125] trap invalid opcode ip:7f3a1c2d3e4f sp:7ffd1234abc0 error:0 in abort.so[7f3a1c2d3000+1000]
EOF
expect pass user_thread_name <<'EOF'
[   14.600000] traps: NIO-ELT-0-#0[126] trap int3 ip:55d0c0de0000 sp:7ffd1234abc0 error:0 in driverhost[55d0c0d00000+200000]
EOF

dmar='[   20.100000] DMAR: DRHD: handling fault status reg 2
[   20.100001] DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0xfff000 [fault reason 0x05] PTE Write access is not set
[   20.200000] DMAR: DRHD: handling fault status reg 3
[   20.200001] DMAR: [DMA Read NO_PASID] Request device [00:04.0] fault addr 0x1000 [fault reason 0x06] PTE Read access is not set
[   25.300000] dmar_fault: 7 callbacks suppressed'
expect pass dmar_edu_faults_on_iommu_boot 00:02.0 00:03.0 00:04.0 <<<"$boot
$dmar"

# ---- must fail --------------------------------------------------------------

expect fail dmar_faults_without_iommu_allowance <<<"$dmar"
expect fail dmar_fault_of_other_device 00:03.0 <<'EOF'
[   20.100001] DMAR: [DMA Write NO_PASID] Request device [00:1f.2] fault addr 0xfff000 [fault reason 0x05] PTE Write access is not set
EOF
expect fail dmar_bdf_is_not_a_pattern 00:03.0 <<'EOF'
[   20.100001] DMAR: [DMA Write NO_PASID] Request device [00:0310] fault addr 0xfff000 [fault reason 0x05] PTE Write access is not set
EOF
expect fail dmar_context_fault 00:03.0 <<'EOF'
[   20.100001] DMAR: [DMA Read NO_PASID] Request device [00:03.0] fault addr 0x1000 [fault reason 0x02] Present bit in context entry is clear
EOF
expect fail dmar_pasid_fault 00:03.0 <<'EOF'
[   20.100001] DMAR: [DMA Write PASID 0x1] Request device [00:03.0] fault addr 0xfff000 [fault reason 0x05] PTE Write access is not set
EOF
expect fail dmar_interrupt_remapping_fault 00:03.0 <<'EOF'
[   20.100001] DMAR: [INTR-REMAP] Request device [00:03.0] fault index 0x4 [fault reason 0x25] Blocked a compatibility format interrupt request
EOF
expect fail dmar_fault_line_with_trailer 00:03.0 <<'EOF'
[   20.100001] DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0xfff000 [fault reason 0x05] PTE Write access is not set; Call Trace
EOF

expect fail kernel_gpf <<'EOF'
[   30.000000] general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] PREEMPT SMP NOPTI
EOF
expect fail kernel_gpf_612 <<'EOF'
[   30.000000] Oops: general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI
EOF
expect fail kernel_gpf_plain <<'EOF'
[   30.000000] general protection fault: 0000 [#1] SMP PTI
EOF
expect fail kernel_gpf_among_user_reports <<'EOF'
[   12.345678] traps: driverhost[123] general protection fault ip:7f3a1c2d3e4f sp:7ffd1234abc0 error:0 in ld-linux-x86-64.so.2[7f3a1c2b0000+2a000]
[   30.000001] CPU: 0 PID: 123 Comm: driverhost Tainted: G           OE      6.1.0-57-amd64 #1  Debian 6.1.192-3
[   30.000002] RIP: 0010:drvproxy_release+0x5a/0x120 [drvproxy]
[   30.000003] Call Trace:
EOF
expect fail user_report_with_kernel_text_appended <<'EOF'
[   12.345678] traps: driverhost[123] general protection fault ip:7f3a1c2d3e4f sp:7ffd1234abc0 error:0 in x.so[7f3a1c2b0000+2a000] Call Trace:
EOF
expect fail kernel_invalid_opcode <<'EOF'
[   31.000000] invalid opcode: 0000 [#1] PREEMPT SMP NOPTI
EOF
expect fail kernel_bug_at <<'EOF'
[   31.000000] kernel BUG at drivers/pci/msi/msi.c:123!
EOF
expect fail null_deref <<'EOF'
[   32.000000] BUG: kernel NULL pointer dereference, address: 0000000000000008
EOF
expect fail warning <<'EOF'
[   33.000000] WARNING: CPU: 0 PID: 211 at kernel/irq/manage.c:1893 free_irq+0x32/0x70
EOF
expect fail missing_endbr <<'EOF'
[   33.000000] traps: Missing ENDBR: drvproxy_irq+0x0/0x40 [drvproxy]
EOF
expect fail nobody_cared <<'EOF'
[   34.000000] irq 11: nobody cared (try booting with the "irqpoll" option)
EOF
expect fail soft_lockup <<'EOF'
[   35.000000] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [t_storm:300]
EOF
expect fail hung_task <<'EOF'
[   36.000000] INFO: task hostd:301 blocked for more than 120 seconds.
EOF
expect fail rcu_stall <<'EOF'
[   37.000000] rcu: INFO: rcu_preempt self-detected stall on CPU
EOF
expect fail refcount <<'EOF'
[   38.000000] refcount_t: underflow; use-after-free.
EOF
expect fail list_corruption <<'EOF'
[   38.000000] list_del corruption. prev->next should be ffff888003a1c000, but was dead000000000100
EOF
expect fail ubsan <<'EOF'
[   39.000000] UBSAN: array-index-out-of-bounds in /tmp/drvproxy/regprog.c:88:5
EOF
expect fail panic <<'EOF'
[   40.000000] Kernel panic - not syncing: Fatal exception in interrupt
EOF
expect fail oom <<'EOF'
[   41.000000] Out of memory: Killed process 300 (t_dma) total-vm:10000kB
EOF
expect fail initramfs <<'EOF'
[    0.900000] Initramfs unpacking failed: write error
EOF
expect fail user_report_unknown_shape <<'EOF'
[   12.345678] driverhost[123]: segfault at 0 in a way nobody prints
EOF

echo "judge: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
