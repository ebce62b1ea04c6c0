#!/usr/bin/env bash
# Boots Debian's kernel in QEMU with several edu devices, the drvproxy module
# and the test payload, runs the guest's test suites (or benchmarks) and
# judges the run from the serial console.
#
#   Tests/VM/vm.sh test     run Tests/VM/suites/*.sh, print `N passed, N failed`
#   Tests/VM/vm.sh bench    run Tests/VM/bench/*.sh, print their `name: value` lines
#   Tests/VM/vm.sh demo     run Tests/VM/demo/*.sh
#
# Inputs (environment): KVER (kernel version under /lib/modules), BUILD (build
# directory, default build), VM_TIMEOUT (seconds, default 900), VM_SMP (vCPUs,
# default 1, as in DESIGN.md's baseline), VM_EDU (edu devices, default 5),
# VM_MEM (guest memory, default 1G: the initramfs holds the whole payload,
# unpacked, and it no longer fits in 512M).
# Expects $BUILD/kernel/drvproxy.ko and $BUILD/vm/payload/ (made by `make`).
set -euo pipefail

mode=${1:-test}
case "$mode" in test|bench|demo) ;; *) echo "usage: $0 test|bench|demo" >&2; exit 2 ;; esac

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BUILD:-$top/build}
kver=${KVER:?set KVER to the guest kernel version}
timeout_s=${VM_TIMEOUT:-900}
work=$build/vm
root=$work/root-$mode
log=$work/console-$mode.log

die() { echo "vm: $*" >&2; exit 1; }
[ -f "/boot/vmlinuz-$kver" ] || die "no kernel image /boot/vmlinuz-$kver"
[ -f "$build/kernel/drvproxy.ko" ] || die "no $build/kernel/drvproxy.ko (run make)"

# Copy a module, decompressing it if the distribution ships it compressed.
copy_module() {
	local name=$1 src
	src=$(find "/lib/modules/$kver/kernel" -name "$name.ko*" | head -n1)
	[ -n "$src" ] || die "module $name not found for $kver"
	case "$src" in
	*.xz) xz -dc "$src" >"$root/lib/modules/$name.ko" ;;
	*.zst) zstd -qdc "$src" >"$root/lib/modules/$name.ko" ;;
	*) cp "$src" "$root/lib/modules/$name.ko" ;;
	esac
}

# Copy the shared libraries a binary needs (nothing for static ones).
copy_libraries() {
	local lib
	for lib in $(ldd "$1" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*' || true); do
		[ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
	done
}

build_initramfs() {
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,lib/modules,proc,sys,dev,tmp,run,etc}
	cp /bin/busybox "$root/bin/busybox"
	copy_module uio
	copy_module uio_pci_generic
	cp "$build/kernel/drvproxy.ko" "$root/lib/modules/"
	[ -d "$work/payload" ] && cp -a "$work/payload/." "$root/"
	local f
	for f in "$root"/bin/* "$root"/plugins/*; do
		[ -f "$f" ] && [ "$f" != "$root/bin/busybox" ] || continue
		copy_libraries "$f"
		# Symbols stay for backtraces; debug info only slows the boot.
		strip --strip-debug "$f" 2>/dev/null || true
	done
	install -m 0755 "$here/guest/init" "$root/init"
	mkdir -p "$root/suites" "$root/bench" "$root/demo"
	cp "$here"/suites/* "$root/suites/" 2>/dev/null || true
	cp "$here"/bench/* "$root/bench/" 2>/dev/null || true
	cp "$here"/demo/* "$root/demo/" 2>/dev/null || true
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs-$mode.cpio.gz"
}

boot() {
	local edu=() i
	for ((i = 0; i < ${VM_EDU:-5}; i++)); do edu+=(-device edu); done
	# -M pc routes the edu devices' INTx onto a few shared lines (DESIGN.md).
	timeout --foreground -k 5 "$timeout_s" \
		qemu-system-x86_64 -M pc -m ${VM_MEM:-1G} -smp "${VM_SMP:-1}" \
		-nographic -no-reboot -nic none -monitor none -serial stdio \
		-kernel "/boot/vmlinuz-$kver" -initrd "$work/initramfs-$mode.cpio.gz" \
		-append "console=ttyS0 quiet panic=-1 drvhost.mode=$mode" \
		"${edu[@]}" </dev/null 2>&1 | tr -d '\r' | tee "$log" | show_progress || true
}

# Tests and benchmarks show their verdicts and figures; the demo, its story.
show_progress() {
	if [ "$mode" = demo ]; then
		sed -u -n '/DRVHOST-GUEST-START$/,/^DRVHOST-DMESG-BEGIN$/{/^DRVHOST-/d;p}'
	else
		grep --line-buffered -E '^(PASS|FAIL|SKIP|[a-z0-9_]+: -?[0-9.]+$)'
	fi
}

# Kernel trouble the guest's dmesg must not contain.
kernel_trouble() {
	sed -n '/^DRVHOST-DMESG-BEGIN$/,/^DRVHOST-DMESG-END$/p' "$log" |
		grep -E 'Initramfs unpacking failed|WARNING:|BUG:|Oops|Call Trace|general protection|kernel BUG|UBSAN|KASAN|refcount_t|list_(add|del) corruption|INFO: task .* blocked|soft lockup|hard LOCKUP|nobody cared' || true
}

judge() {
	local passed failed trouble
	passed=$(grep -c '^PASS: ' "$log" || true)
	failed=$(grep -c '^FAIL: ' "$log" || true)
	if ! grep -q '^DRVHOST-GUEST-DONE$' "$log"; then
		echo "FAIL: vm: the guest did not finish (timeout, panic or hang); see $log"
		failed=$((failed + 1))
	fi
	trouble=$(kernel_trouble)
	if [ -n "$trouble" ]; then
		echo "FAIL: vm: kernel warnings in the guest's log:"
		echo "$trouble" | head -n 20 | sed 's/^/    /'
		failed=$((failed + 1))
	fi
	if [ "$mode" = test ]; then
		[ "$passed" -gt 0 ] || { echo "FAIL: vm: no test ran"; failed=$((failed + 1)); }
		echo "vm: $passed passed, $failed failed"
	fi
	[ "$failed" -eq 0 ]
}

build_initramfs
boot
judge
