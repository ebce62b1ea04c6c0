#!/usr/bin/env bash
# Installs the Debian packages drvhost needs to build and test, and only the
# missing ones, so a second run costs a second. Needs root (CI runs as root).
set -euo pipefail

packages=(
	build-essential pkg-config cpio xz-utils kmod pciutils
	libpci-dev libffi-dev
	# make test-install builds the installed drvproxy source with dkms.
	dkms
	busybox-static qemu-system-x86
	# The block class's VM suite runs these on /dev/ublkbN.
	e2fsprogs fio
	# The guest's `ip` with network namespaces (busybox's has none): the net
	# tests put the kernel's e1000e peer in a namespace of its own.
	iproute2
	# make bench's profiles of the block jobs (perf in the bench guest).
	linux-perf
	# make bench's latency plots (scripts/bench-plots.sh).
	gnuplot-nox
	# The guest kernels, one per series the VM boots test (Tests/VM/boots):
	# 6.1 from bookworm, 6.12 from bookworm-security.
	linux-image-amd64 linux-headers-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
[ "$(id -u)" -eq 0 ] || { echo "install-deps: run as root, or install: ${missing[*]}" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
