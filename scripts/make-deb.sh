#!/usr/bin/env bash
# Builds drvhost's Debian packages with dpkg-deb from a `make install
# PREFIX=/usr` staged into a scratch root (what `make deb` runs once the
# release binaries are built):
#
#   drvhost_<version>_<arch>.deb         hostd, hostctl, driverhost, devsim,
#                                        the unit, config, udev and sysusers
#                                        files, completions, the SDK headers
#   drvproxy-dkms_<version>_all.deb      drvproxy's source under /usr/src,
#                                        built for each kernel by dkms
#
# The tools' Depends are the Debian packages that own the shared libraries
# the binaries link (found with ldd and dpkg -S), so they follow the build
# machine. Maintainer scripts honour DPKG_ROOT: installed into another root
# they touch nothing of the running system.
#
# Usage: scripts/make-deb.sh OUTDIR   (environment: RELEASE_DIR, as for install)
set -euo pipefail

out=${1:?usage: make-deb.sh OUTDIR}
cd "$(dirname "$0")/.."
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"$/\1/p' Kernel/dkms.conf)
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' Kernel/dkms.conf)
arch=$(dpkg --print-architecture)
maintainer="drvhost developers <drvhost@localhost>"

# ---- stage the whole install, then split it ------------------------------------
stage=$work/stage
make --no-print-directory install PREFIX=/usr DESTDIR="$stage" RELEASE_DIR="${RELEASE_DIR:-.build/release}" >/dev/null
tools=$work/drvhost
dkms=$work/dkms
mkdir -p "$tools" "$dkms/usr"
cp -a "$stage/." "$tools/"
mv "$tools/usr/src" "$dkms/usr/src"

# ---- drvhost ---------------------------------------------------------------------
# The packages that own the libraries the binaries need (usrmerge: a library
# may be known under /lib or /usr/lib).
owner_of() {
	dpkg -S "$1" 2>/dev/null || dpkg -S "/usr$1" 2>/dev/null || dpkg -S "${1#/usr}" 2>/dev/null
}
depends=$(
	for binary in "$tools"/usr/sbin/hostd "$tools"/usr/bin/* "$tools"/usr/libexec/drvhost/driverhost; do
		ldd "$binary" | grep -oE '/[^ ]+\.so[^ ]*'
	done | sort -u | while read -r lib; do
		owner_of "$(readlink -f "$lib")" || owner_of "$lib" || { echo "make-deb: no package owns $lib" >&2; exit 1; }
	done | cut -d: -f1 | sort -u | paste -sd, | sed 's/,/, /g'
)
mkdir -p "$tools/DEBIAN"
cat >"$tools/DEBIAN/control" <<EOF
Package: drvhost
Version: $version
Architecture: $arch
Maintainer: $maintainer
Depends: $depends
Recommends: drvproxy-dkms (= $version)
Section: admin
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$tools" | cut -f1)
Description: PCI device drivers as user-space plugins
 hostd supervises one driverhost process per device; each loads one
 driver plugin (a shared library built with the drvhost SDK) and handles
 the device's interrupts through the drvproxy kernel module. A crashed
 driver leaves its device quiet and is restarted. hostctl loads, unloads
 and inspects plugins and instances.
EOF
echo /etc/drvhost/hostd.toml >"$tools/DEBIAN/conffiles"
cat >"$tools/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
# Into another root (DPKG_ROOT), leave the running system alone.
[ -z "$DPKG_ROOT" ] || exit 0
if [ "$1" = configure ]; then
	command -v systemd-sysusers >/dev/null && systemd-sysusers drvhost.conf || true
	command -v udevadm >/dev/null && udevadm control --reload-rules 2>/dev/null || true
	[ -d /run/systemd/system ] && systemctl daemon-reload || true
fi
EOF
cat >"$tools/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
[ -z "$DPKG_ROOT" ] || exit 0
[ -d /run/systemd/system ] && systemctl daemon-reload || true
EOF

# ---- drvproxy-dkms ----------------------------------------------------------------
mkdir -p "$dkms/DEBIAN"
cat >"$dkms/DEBIAN/control" <<EOF
Package: drvproxy-dkms
Version: $version
Architecture: all
Maintainer: $maintainer
Depends: dkms
Section: kernel
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$dkms" | cut -f1)
Description: drvhost's kernel proxy (drvproxy), as DKMS source
 The kernel side of drvhost: runs a plugin's interrupt acknowledge program
 in the top half, confines its DMA, and quiets and resets the device when
 the driver process dies. dkms builds it for every installed kernel.
EOF
cat >"$dkms/DEBIAN/postinst" <<EOF
#!/bin/sh
set -e
[ -z "\$DPKG_ROOT" ] || exit 0
if [ "\$1" = configure ]; then
	dkms add -m $name -v $version 2>/dev/null || true
	dkms install -m $name -v $version || echo "drvproxy-dkms: dkms could not build drvproxy for \$(uname -r) (kernel headers installed?)" >&2
fi
EOF
cat >"$dkms/DEBIAN/prerm" <<EOF
#!/bin/sh
set -e
[ -z "\$DPKG_ROOT" ] || exit 0
dkms remove -m $name -v $version --all 2>/dev/null || true
EOF

chmod 0755 "$tools"/DEBIAN/post* "$dkms"/DEBIAN/p*
dpkg-deb --root-owner-group -Zxz --build "$tools" "$out/drvhost_${version}_$arch.deb" >/dev/null
dpkg-deb --root-owner-group -Zxz --build "$dkms" "$out/drvproxy-dkms_${version}_all.deb" >/dev/null
echo "make-deb: $out/drvhost_${version}_$arch.deb $out/drvproxy-dkms_${version}_all.deb"
