#!/usr/bin/env bash
# Boots Debian's kernels in QEMU with several edu devices, the drvproxy module
# and the test payload, runs the guest's test suites (or benchmarks, or the
# demo) and judges each boot from its serial console.
#
#   Tests/VM/vm.sh test     run Tests/VM/suites/*.sh in every boot
#   Tests/VM/vm.sh bench    run Tests/VM/bench/*.sh, print their `name: value` lines
#   Tests/VM/vm.sh demo     run Tests/VM/demo/*.sh
#
# The boots are data: Tests/VM/boots, one a line (name, kernel series, QEMU
# machine and devices, guest kernel arguments, drvproxy parameters). Boots
# run two at a time, each TCG guest on a core of its own; their lines are
# shown as they come, prefixed with [boot] when there are several. Each boot
# has its own directory, build/vm/<name with / as -> (initramfs,
# console-<mode>.log), and says `vm[<boot>]: done after N s: ...` when it
# ends (the seconds include packing its initramfs). A test run ends with
# one line per boot, `vm[<boot>]: N passed, N failed`, and then the total,
# `vm: N passed, N failed`, which scripts/run-suites.sh reads.
#
# A boot fails on any FAIL: line, on a guest that does not finish in time,
# and on kernel trouble in its dmesg (Tests/VM/judge.sh).
#
# Inputs (environment):
#   VM_BOOTS    the boots to run, by name, space-separated; default: all of
#               them for test, the first (6.1/pc) for demo, and for bench
#               the boots the benchmarks name: a bench script says which
#               boot its figures are for with a line `# bench-boot: NAME`
#               (none: the first boot) and runs in that boot alone. With
#               VM_BOOTS, every selected script runs in every boot named.
#               E.g. VM_BOOTS=6.12/q35-iommu make test-vm
#   VM_SUITES   run only the scripts (suites, benchmarks) whose names start
#               with one of these words, each a shell pattern; default all.
#               E.g. VM_SUITES="10 4?" runs 10-drvproxy.sh, 40-*.sh and 41-*.sh
#   VM_JOBS     boots at the same time (default 2)
#   VM_TIMEOUT  seconds per boot (default 900)
#   VM_SMP      vCPUs (default 1, as the baseline was measured)
#   VM_EDU      edu devices (default 5)
#   VM_MEM      guest memory (default 1G: the initramfs holds the whole
#               payload, unpacked, and it no longer fits in 512M)
#   BUILD       build directory (default build)
# Expects $BUILD/kernel/<version>/drvproxy.ko for each boot's kernel and
# $BUILD/vm/payload/ (made by `make kernel vm-payload`).
set -euo pipefail

mode=${1:-test}
case "$mode" in test|bench|demo) ;; *) echo "usage: $0 test|bench|demo" >&2; exit 2 ;; esac

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BUILD:-$top/build}
timeout_s=${VM_TIMEOUT:-900}
jobs=${VM_JOBS:-2}
work=$build/vm

. "$here/judge.sh"

die() { echo "vm: $*" >&2; exit 1; }

case "$mode" in test) scripts=suites ;; *) scripts=$mode ;; esac

# ---- the boots ---------------------------------------------------------------

trim() {
	local s=$1
	s=${s#"${s%%[![:space:]]*}"}
	printf '%s' "${s%"${s##*[![:space:]]}"}"
}

names=() series=() qemu_args=() guest_args=() params=()
while IFS= read -r line; do
	case "$line" in ''|'#'*) continue ;; esac
	IFS='|' read -r n s q a p extra <<<"$line"
	n=$(trim "$n") s=$(trim "$s")
	[ -n "$n" ] && [ -n "$s" ] && [ -z "$extra" ] || die "Tests/VM/boots: not name | series | qemu | guest args | params: $line"
	names+=("$n") series+=("$s") qemu_args+=("$(trim "$q")") guest_args+=("$(trim "$a")") params+=("$(trim "$p")")
done <"$here/boots"
[ ${#names[@]} -gt 0 ] || die "Tests/VM/boots lists no boot"

if [ -n "${VM_BOOTS:-}" ]; then
	selected=()
	read -r -a wanted <<<"$VM_BOOTS"
	for want in "${wanted[@]}"; do
		found=
		for i in "${!names[@]}"; do
			[ "${names[$i]}" = "$want" ] || continue
			found=1
			[[ " ${selected[*]} " == *" $i "* ]] || selected+=("$i")
		done
		[ -n "$found" ] || die "VM_BOOTS: no boot $want in Tests/VM/boots (there are: ${names[*]})"
	done
elif [ "$mode" = test ]; then
	selected=("${!names[@]}")
elif [ "$mode" = bench ]; then
	routed=1  # each bench script in its own boot; selected below
else
	selected=(0)
fi

# build/vm/<name>: / and anything unusual become -.
slug() { printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '-'; }

# An IOMMU boot is one whose QEMU arguments add an Intel IOMMU.
is_iommu() { [[ " ${qemu_args[$1]} " == *" -device intel-iommu"* ]]; }

# ---- the initramfs -----------------------------------------------------------

# The scripts of this mode VM_SUITES selects; the helpers always.
selected_script() {
	local name=${1##*/} word words
	[[ "$name" == [0-9]*.sh ]] || return 0
	[ -n "${VM_SUITES:-}" ] || return 0
	read -r -a words <<<"$VM_SUITES"
	for word in "${words[@]}"; do
		# shellcheck disable=SC2053 # a pattern on purpose
		[[ "$name" == $word* ]] && return 0
	done
	return 1
}

n=0
for f in "$here/$scripts"/[0-9]*.sh; do
	[ -f "$f" ] && selected_script "$f" && n=$((n + 1))
done
[ "$n" -gt 0 ] || die "VM_SUITES=${VM_SUITES:-} selects none of Tests/VM/$scripts/[0-9]*.sh"

# The boot a bench script's figures are for (its `# bench-boot:` line).
bench_boot() {
	local boot
	boot=$(sed -n 's/^# bench-boot: *//p' "$1" | head -n1)
	printf '%s' "${boot:-${names[0]}}"
}

# Does boot $1 run script $2? Routed benchmarks run in their own boot only.
boot_runs() {
	[ -n "${routed:-}" ] || return 0
	[ "$(bench_boot "$2")" = "${names[$1]}" ]
}

# Routed benchmarks: the boots their scripts name, in Tests/VM/boots' order.
if [ -n "${routed:-}" ]; then
	selected=()
	for f in "$here/$scripts"/[0-9]*.sh; do
		[ -f "$f" ] && selected_script "$f" || continue
		want=$(bench_boot "$f") found=
		for i in "${!names[@]}"; do
			[ "${names[$i]}" = "$want" ] && found=$i
		done
		[ -n "$found" ] || die "${f#"$top"/}: bench-boot $want is not in Tests/VM/boots (there are: ${names[*]})"
		[[ " ${selected[*]} " == *" $found "* ]] || selected+=("$found")
	done
	mapfile -t selected < <(printf '%s\n' "${selected[@]}" | sort -n)
fi

# Every boot's kernel, image and module, before anything boots.
kvers=()
for i in "${selected[@]}"; do
	kver=$("$here/kernel-version" "${series[$i]}") ||
		die "${names[$i]}: no Debian ${series[$i]} kernel (-amd64 image and headers) installed: run make deps"
	[ -f "$build/kernel/$kver/drvproxy.ko" ] || die "no $build/kernel/$kver/drvproxy.ko (run make kernel)"
	kvers[$i]=$kver
done

# Copy the shared libraries a binary needs (nothing for static ones).
copy_libraries() {
	local root=$1 lib
	for lib in $(ldd "$2" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*' || true); do
		[ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
	done
}

# What every boot shares: busybox, the payload, init, the scripts. Built once
# per run; each boot appends its kernel's modules (the kernel unpacks
# concatenated archives in turn).
build_common() {
	local root=$work/common-$mode f d
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,lib/modules,proc,sys,dev,tmp,run,etc}
	cp /bin/busybox "$root/bin/busybox"
	[ -d "$work/payload" ] && cp -a "$work/payload/." "$root/"
	# Profiling tools only for benchmarks (make bench-payload): test boots stay small.
	[ "$mode" = bench ] && [ -d "$work/payload-bench" ] && cp -a "$work/payload-bench/." "$root/"
	for f in "$root"/bin/* "$root"/usr/sbin/* "$root"/plugins/*; do
		[ -f "$f" ] && [ "$f" != "$root/bin/busybox" ] || continue
		copy_libraries "$root" "$f"
		# Symbols stay for backtraces; debug info only slows the boot.
		strip --strip-debug "$f" 2>/dev/null || true
	done
	install -m 0755 "$here/guest/init" "$root/init"
	for d in suites bench demo; do
		mkdir -p "$root/$d"
		for f in "$here/$d"/*; do
			[ -f "$f" ] || continue
			[ "$d" = "$scripts" ] && ! selected_script "$f" && continue
			# Routed benchmarks go into their boot's own archive.
			[ "$d" = "$scripts" ] && [ -n "${routed:-}" ] && [[ "${f##*/}" == [0-9]*.sh ]] && continue
			cp "$f" "$root/$d/"
		done
	done
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/common-$mode.cpio.gz"
}

# Copy a module of kernel $1, decompressing it if Debian ships it compressed.
copy_module() {
	local kver=$1 name=$2 to=$3 src
	src=$(find "/lib/modules/$kver/kernel" -name "$name.ko*" | head -n1)
	[ -n "$src" ] || { echo "FAIL: vm: module $name not found for $kver"; return 1; }
	case "$src" in
	*.xz) xz -dc "$src" >"$to/$name.ko" ;;
	*.zst) zstd -qdc "$src" >"$to/$name.ko" ;;
	*) cp "$src" "$to/$name.ko" ;;
	esac
}

# The kernel's own modules the guest gets in /lib/modules (init loads the
# first two, and on boots with NVMe controllers the NVMe driver's, in this
# order; suites load aer_inject when the boot has a PCIe device, tun and
# e1000e when it has e1000e NICs, the block suite ext4 and what it needs, in
# this order: `modinfo -F depends`, and crc32c_generic for metadata
# checksums, which the kernel would ask modprobe for). A name ending in ? is
# one a kernel may not have: nvme-auth and ublk_drv are 6.12's (the block
# suite skips on 6.1).
guest_modules=(uio uio_pci_generic aer_inject nvme-auth? nvme-core nvme tun e1000e
	crc16 mbcache crc32c_generic jbd2 ext4 ublk_drv?)

# The boot's own archive, its kernel's modules, after the common one.
build_initramfs() {
	local i=$1 dir=$2 root=$2/root-$mode m
	rm -rf "$root"
	mkdir -p "$root/lib/modules"
	for m in "${guest_modules[@]}"; do
		if [ "${m%\?}" != "$m" ]; then
			find "/lib/modules/${kvers[$i]}/kernel" -name "${m%\?}.ko*" | grep -q . || continue
		fi
		copy_module "${kvers[$i]}" "${m%\?}" "$root/lib/modules" || return 1
	done
	cp "$build/kernel/${kvers[$i]}/drvproxy.ko" "$root/lib/modules/"
	if [ -n "${routed:-}" ]; then
		mkdir -p "$root/$scripts"
		for f in "$here/$scripts"/[0-9]*.sh; do
			[ -f "$f" ] && selected_script "$f" && boot_runs "$i" "$f" && cp "$f" "$root/$scripts/"
		done
	fi
	{
		cat "$work/common-$mode.cpio.gz"
		(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1)
	} >"$dir/initramfs-$mode.cpio.gz"
}

# ---- one boot ----------------------------------------------------------------

# Tests and benchmarks show their verdicts and figures; the demo, its story.
show_progress() {
	if [ "$mode" = demo ]; then
		sed -u -n '/DRVHOST-GUEST-START$/,/^DRVHOST-DMESG-BEGIN$/{/^DRVHOST-/d;p}'
	else
		grep --line-buffered -E '^(PASS|FAIL|SKIP|NOTE|[a-z0-9_]+: -?[0-9.]+$)'
	fi
}

# With several boots, each line says whose it is.
prefix() {
	if [ ${#selected[@]} -gt 1 ]; then sed -u "s|^|[$1] |"; else cat; fi
}

# A boot's disk images: each file=@BOOT_DIR@/NAME in its QEMU arguments is
# made anew, empty (sparse) and 64 MiB, in the boot's directory; prints
# the arguments with @BOOT_DIR@ replaced.
disk_images() {
	local args=$1 dir=$2 image
	for image in $(grep -oE 'file=@BOOT_DIR@/[A-Za-z0-9._-]+' <<<"$args" | sed 's|^file=@BOOT_DIR@/||'); do
		rm -f "$dir/$image"
		truncate -s 64M "$dir/$image"
	done
	printf '%s' "${args//@BOOT_DIR@/$dir}"
}

# Types the monitor commands the guest asks for (console lines
# "DRVHOST-MONITOR: <command>") into QEMU $1's monitor FIFO $3, as they come
# in the console $2. Only set_link: the guest must not steer anything else.
monitor_relay() {
	tail -n +1 -f --pid="$1" "$2" | sed -u -n 's/\r$//; s/^DRVHOST-MONITOR: //p' |
		while read -r command; do
			case "$command" in
			"set_link "[a-z0-9]*" on" | "set_link "[a-z0-9]*" off") printf '%s\n' "$command" >"$3" ;;
			*) echo "vm: ignored monitor command from the guest: $command" >&2 ;;
			esac
		done
}

# Runs QEMU for boot $1 in $2; the console goes to $2/console-$mode.log and,
# filtered, to stdout as it comes.
boot() {
	local i=$1 dir=$2 edu=() k qemu_pid extra= qemu
	local raw=$dir/console-$mode.raw
	qemu=$(disk_images "${qemu_args[$i]}" "$dir")
	for ((k = 0; k < ${VM_EDU:-5}; k++)); do edu+=(-device edu); done
	for k in ${params[$i]}; do extra="$extra drvproxy.$k"; done
	[ -n "${guest_args[$i]}" ] && extra="$extra ${guest_args[$i]}"
	: >"$raw"
	# QEMU's monitor on a pair of FIFOs: the guest asks for a command by
	# printing "DRVHOST-MONITOR: <command>" (a cable pulled: set_link), and
	# monitor_relay types it; the monitor's answers go to monitor-<mode>.log.
	rm -f "$dir/monitor.in" "$dir/monitor.out"
	mkfifo "$dir/monitor.in" "$dir/monitor.out"
	# no_timer_check: under TCG on a loaded host the guest's IO-APIC timer
	# check can miss its window and panic the boot ("timer doesn't work
	# through Interrupt-remapped IO-APIC", seen on q35-iommu at load 8-9).
	# shellcheck disable=SC2086 # the boot's QEMU arguments are words
	timeout -k 5 "$timeout_s" \
		qemu-system-x86_64 $qemu -m "${VM_MEM:-1G}" -smp "${VM_SMP:-1}" \
		-nographic -no-reboot -nic none -serial stdio \
		-chardev pipe,id=monitor,path="$dir/monitor" -mon chardev=monitor,mode=readline \
		-kernel "/boot/vmlinuz-${kvers[$i]}" -initrd "$dir/initramfs-$mode.cpio.gz" \
		-append "console=ttyS0 quiet panic=-1 no_timer_check drvhost.mode=$mode drvhost.boot=${names[$i]} drvhost.iommu=$(is_iommu "$i" && echo 1 || echo 0)$extra" \
		"${edu[@]}" </dev/null >"$raw" 2>&1 &
	qemu_pid=$!
	echo "$qemu_pid" >"$dir/qemu-$mode.pid"
	cat "$dir/monitor.out" >"$dir/monitor-$mode.log" &
	monitor_relay "$qemu_pid" "$raw" "$dir/monitor.in" &
	tail -n +1 -f --pid="$qemu_pid" "$raw" | sed -u 's/\r//g' | show_progress | prefix "${names[$i]}" || true
	wait "$qemu_pid" || true
	rm -f "$dir/qemu-$mode.pid" "$dir/monitor.in" "$dir/monitor.out"
	tr -d '\r' <"$raw" >"$dir/console-$mode.log"
	rm -f "$raw"
}

# Judges boot $1 from its console log $2; prints its FAIL lines and leaves
# "passed failed skipped" in $3.
judge() {
	local i=$1 log=$2 name=${names[$1]} passed failed skipped trouble bdfs=()
	passed=$(grep -c '^PASS: ' "$log" || true)
	failed=$(grep -c '^FAIL: ' "$log" || true)
	skipped=$(grep -c '^SKIP: ' "$log" || true)
	if ! grep -q '^DRVHOST-GUEST-DONE$' "$log"; then
		echo "FAIL: vm[$name]: the guest did not finish (timeout, panic or hang); see $log"
		failed=$((failed + 1))
	fi
	# On an IOMMU boot the edu devices may fault, as bus:dev.fn.
	if is_iommu "$i"; then
		read -r -a bdfs < <(sed -n 's/^DRVHOST-EDU-BDFS: //p' "$log" | head -n1 |
			tr ' ' '\n' | sed 's/^[0-9a-f]*://' | tr '\n' ' ') || true
	fi
	trouble=$(sed -n '/^DRVHOST-DMESG-BEGIN$/,/^DRVHOST-DMESG-END$/p' "$log" | kernel_trouble "${bdfs[@]}")
	if [ -n "$trouble" ]; then
		echo "FAIL: vm[$name]: kernel trouble in the guest's log ($log):"
		echo "$trouble" | head -n 20 | sed 's/^/    /'
		failed=$((failed + 1))
	fi
	if [ "$mode" = test ] && [ "$passed" -eq 0 ]; then
		echo "FAIL: vm[$name]: no test ran"
		failed=$((failed + 1))
	fi
	echo "$passed $failed $skipped" >"$3"
}

# Boot $1 from start to verdict; its result in $dir/result-$mode.
run_boot() {
	local i=$1 name=${names[$1]} dir start
	dir=$work/$(slug "$name")
	mkdir -p "$dir"
	rm -f "$dir/result-$mode"
	start=$(date +%s)
	if build_initramfs "$i" "$dir"; then
		boot "$i" "$dir"
		judge "$i" "$dir/console-$mode.log" "$dir/result-$mode"
	else
		echo "0 1 0" >"$dir/result-$mode"
	fi
	echo "$(($(date +%s) - start))" >"$dir/seconds-$mode"
	read -r passed failed skipped <"$dir/result-$mode"
	if [ "$mode" = test ]; then
		echo "vm[$name]: done after $(cat "$dir/seconds-$mode") s: $passed passed, $failed failed, $skipped skipped"
	elif [ "$failed" -ne 0 ]; then
		echo "vm[$name]: failed"
	fi
}

# ---- all of them -------------------------------------------------------------

# Ctrl-C or a TERM from make: stop the guests too (their timeout passes the
# signal on to QEMU).
stop_guests() {
	local f
	for f in "$work"/*/"qemu-$mode.pid"; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	exit 130
}
trap stop_guests INT TERM

mkdir -p "$work"
build_common

running=0
for i in "${selected[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	run_boot "$i" &
	running=$((running + 1))
done
wait || true

total_passed=0
total_failed=0
for i in "${selected[@]}"; do
	dir=$work/$(slug "${names[$i]}")
	read -r passed failed skipped <"$dir/result-$mode" 2>/dev/null || { passed=0 failed=1; }
	total_passed=$((total_passed + passed))
	total_failed=$((total_failed + failed))
	[ "$mode" = test ] && echo "vm[${names[$i]}]: $passed passed, $failed failed"
done
[ "$mode" = test ] && echo "vm: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
